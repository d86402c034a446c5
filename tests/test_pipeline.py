"""The pipeline from text onwards, with the shipped model and the simulated car."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.audio import AudioError
from assistant.events import Transcript, Utterance
from assistant.intents import load_intents
from assistant.pipeline import Assistant, AssistantConfig, vocabulary_prompt


@pytest.fixture(scope="module")
def assistant():
    return Assistant.from_config(AssistantConfig(), with_speech=False)


def test_typed_command_changes_the_car_and_reports_every_stage(assistant):
    event = assistant.handle_text("turn on the high beams")
    assert event.accepted and event.intent == "lights"
    assert assistant.vehicle.state.lights.high_beams and assistant.vehicle.state.lights.headlights
    assert "High beams on" in event.outcome
    assert set(event.timings_ms) == {"endpoint", "asr", "nlu", "action", "total"}
    assert event.timings_ms["total"] >= event.timings_ms["nlu"] > 0
    assert [name for name, _ in event.ranking[:1]] == ["lights"]


def test_rejected_input_never_reaches_the_car(assistant):
    before = assistant.vehicle.state
    for text in ["Thank you.", "", "you", "what's the weather like tomorrow", "lock the doors"]:
        event = assistant.handle_text(text)
        assert not event.accepted and event.intent == "out_of_scope", text
        assert event.reason and event.outcome.startswith("Sorry")
    assert assistant.vehicle.state == before


def test_an_intent_the_car_has_no_action_for_gets_an_outcome_not_a_crash(assistant):
    from assistant.events import Command

    outcome = assistant.vehicle.execute(Command("wipers", {}).action, "wipers", {})
    assert not outcome.done and "wipers" in outcome.message


class FakeTranscriber:
    """Stands in for Whisper: the utterance's source name is what was 'said'."""

    def transcribe(self, utterance: Utterance) -> Transcript:
        return Transcript(text=utterance.source, asr_ms=123.0)


def test_utterance_timings_run_from_end_of_speech(assistant):
    import numpy as np

    assistant.transcriber = FakeTranscriber()
    utterance = Utterance(
        np.zeros(1600, dtype=np.float32), "open the sunroof", speech_end=10.0, detected_at=10.3
    )
    event = assistant.handle_utterance(utterance)
    assert event.accepted and assistant.vehicle.state.windows.sunroof == 100
    assert event.timings_ms["endpoint"] == pytest.approx(300)
    assert event.timings_ms["asr"] == 123.0
    assert event.timings_ms["total"] >= 300 + event.timings_ms["nlu"]


class MicrophoneUnpluggedAfterOneCommand:
    """A voice source whose reader fails mid-stream, as a microphone pulled out does."""

    def utterances(self):
        import numpy as np

        yield Utterance(np.zeros(1600, dtype=np.float32), "open the sunroof", speech_end=1.0, detected_at=1.3)
        raise AudioError("The microphone stopped: device unplugged.")

    def close(self) -> None: ...


def test_a_source_that_fails_mid_stream_ends_listen_with_its_error(assistant):
    listener = Assistant(assistant.library, assistant.understander, transcriber=FakeTranscriber())
    events = listener.listen(MicrophoneUnpluggedAfterOneCommand())
    assert next(events).transcript == "open the sunroof"
    with pytest.raises(AudioError, match="device unplugged"):
        next(events)


def test_vocabulary_prompt_names_the_cars_words():
    prompt = vocabulary_prompt(load_intents())
    assert "high beams" in prompt and "sunroof" in prompt and "defrost" in prompt


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_say_prints_one_json_event_per_text():
    result = run_cli("say", "make it 95 degrees", "call mom")
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["intent"] == "climate" and "warmest" in first["outcome"]
    assert second["slots"] == {"contact": "mom", "action": "call"} and "mom" in second["outcome"].lower()
    assert {"transcript", "intent", "confidence", "slots", "outcome", "timings_ms"} <= set(first)


def test_say_with_missing_model_is_one_line(tmp_path):
    result = run_cli("say", "lights on", "--model", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "No trained model" in result.stderr


def test_a_command_the_car_refuses_is_accepted_but_not_done(assistant):
    assistant.vehicle.reset()  # a sunroof opened by an earlier test may stay open at speed
    assistant.vehicle.set_speed(120)
    event = assistant.handle_text("open the sunroof")
    assert event.accepted and not event.done
    assert "80 km/h" in event.outcome
    assert event.to_json()["done"] is False
    assistant.vehicle.reset()
