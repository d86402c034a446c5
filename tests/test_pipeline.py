"""The pipeline from text onwards, with the shipped model and the simulated car."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Sequence

import pytest

from assistant.audio import AudioError
from assistant.dialogue import Dialogue
from assistant.events import Event, Transcript, Utterance
from assistant.intents import load_intents
from assistant.pipeline import Assistant, AssistantConfig, vocabulary_prompt
from assistant.policy import Policy, PolicyOptions


@pytest.fixture(scope="module")
def assistant():
    return Assistant.from_config(AssistantConfig(), with_speech=False)


def test_typed_command_changes_the_car_and_reports_every_stage(assistant):
    event = assistant.handle_text("turn on the high beams")
    assert event.status == "done" and event.intent == "lights"
    assert assistant.vehicle.state.lights.high_beams and assistant.vehicle.state.lights.headlights
    assert "High beams on" in event.outcome
    assert set(event.timings_ms) == {"endpoint", "asr", "asr_wait", "nlu", "action", "total"}
    assert event.timings_ms["asr_wait"] == 0
    assert event.timings_ms["total"] >= event.timings_ms["nlu"] > 0
    assert [name for name, _ in event.ranking[:1]] == ["lights"]


def test_a_light_named_alone_is_understood_as_wanted_on_as_the_car_switches_it(assistant):
    event = assistant.handle_text("fog lights please")
    assert event.status == "done" and event.slots == {"light": "fog_lights", "state": "on"}
    assert assistant.vehicle.state.lights.fog_lights


def test_refused_input_never_reaches_the_car(assistant):
    before = assistant.vehicle.state
    for text in ["Thank you.", "", "you", "what's the weather like tomorrow", "lock the doors"]:
        event = assistant.handle_text(text)
        assert event.status == "refused" and event.intent == "out_of_scope", text
        assert event.reason and event.outcome.startswith("Sorry")
    assert assistant.vehicle.state == before


def test_an_intent_the_car_has_no_action_for_gets_an_outcome_not_a_crash(assistant):
    from assistant.events import Command

    command = Command("wipers", {})
    outcome = assistant.vehicle.execute(command.action, command.intent, command.slots)
    assert not outcome.done and "wipers" in assistant.words_for(outcome, command)


def heard(grammar_sentence: str, whisper_said: str, lead: float) -> Transcript:
    """A stand-in transcript: the grammar's sentence taken over Whisper's own words, ``lead`` nats
    likelier than them (negative: Whisper's words were the likelier)."""
    return Transcript(
        text=grammar_sentence,
        asr_ms=100.0,
        free_text=whisper_said,
        grammar_match=True,
        grammar_text=grammar_sentence,
        grammar_score=lead,
    )


def test_whisper_s_own_words_win_where_they_were_likelier_and_only_they_are_acted_on(assistant):
    assistant.reset()
    event = assistant.handle_transcript(heard("Buzz the radio.", "pause the radio", lead=-5.0))
    assert event.status == "done" and event.intent == "media" and event.slots == {"action": "pause"}
    assert event.transcript == "pause the radio"


@pytest.mark.parametrize(
    ("grammar_sentence", "whisper_said", "lead", "done"),
    [
        ("Buzz the radio.", "pause the radio", 2.0, False),  # the grammar's was the likelier
        ("Buzz the radio.", "what a lovely day it is", -5.0, False),  # talk: not acted on
        ("Turn off the brights.", "turn off the brakes", -2.0, True),  # the grammar's is acted on
    ],
)
def test_the_grammar_sentence_stands_otherwise(assistant, grammar_sentence, whisper_said, lead, done):
    assistant.reset()
    event = assistant.handle_transcript(heard(grammar_sentence, whisper_said, lead))
    assert (event.status == "done") == done and event.transcript == grammar_sentence


def test_whisper_s_own_words_win_where_they_refer_back_to_the_last_command(assistant):
    """'turn it off' is no template, so the grammar put 'Turn it up.' (one) in its place: after
    'play the radio' Whisper's own words mean something, and they were the likelier."""
    assistant.reset()
    assistant.handle_text("play the radio")
    event = assistant.handle_transcript(heard("Turn it up.", "Turn it off.", lead=-3.0))
    assert event.status == "done" and not assistant.vehicle.state.media.playing
    assert event.transcript == "Turn it off."


def test_with_nothing_to_refer_back_to_the_grammar_sentence_stands(assistant):
    assistant.reset()
    event = assistant.handle_transcript(heard("Turn it up.", "Turn it off.", lead=-3.0))
    assert event.transcript == "Turn it up." and event.slots == {"action": "volume_up"}


class FakeTranscriber:
    """Stands in for Whisper: the utterance's source name is what was 'said'."""

    def transcribe(self, utterance: Utterance, expected: Sequence[str] = ()) -> Transcript:
        return Transcript(text=utterance.source, asr_ms=123.0)


def test_utterance_timings_run_from_end_of_speech(assistant):
    import numpy as np

    assistant.transcriber = FakeTranscriber()
    utterance = Utterance(
        np.zeros(1600, dtype=np.float32), "open the sunroof", speech_end=10.0, detected_at=10.3
    )
    event = assistant.handle_utterance(utterance)
    assert event.status == "done" and assistant.vehicle.state.windows.sunroof == 100
    assert event.timings_ms["endpoint"] == pytest.approx(300)
    assert event.timings_ms["asr"] == 123.0
    assert event.timings_ms["total"] >= 300 + event.timings_ms["nlu"]


class CountingTranscriber(FakeTranscriber):
    def __init__(self) -> None:
        self.heard: list[Utterance] = []

    def transcribe(self, utterance: Utterance, expected: Sequence[str] = ()) -> Transcript:
        self.heard.append(utterance)
        return super().transcribe(utterance, expected)


def test_a_draft_is_transcribed_ahead_and_serves_its_final_utterance(assistant):
    import numpy as np

    assistant.reset()
    assistant.transcriber = whisper = CountingTranscriber()
    audio = np.zeros(3200, dtype=np.float32)
    draft = Utterance(audio[:1600], "open the sunroof", speech_end=20.0, detected_at=20.1, final=False)
    assert assistant.hear(draft) is None and assistant.vehicle.state.windows.sunroof == 0
    event = assistant.hear(Utterance(audio, "open the sunroof", speech_end=20.0, detected_at=20.3))
    assert event.status == "done" and assistant.vehicle.state.windows.sunroof == 100
    assert whisper.heard == [draft]  # the final utterance was not transcribed again


def test_a_draft_the_speaker_went_on_after_is_not_used(assistant):
    import numpy as np

    assistant.reset()
    assistant.transcriber = whisper = CountingTranscriber()
    audio = np.zeros(3200, dtype=np.float32)
    assistant.hear(Utterance(audio[:1600], "open the", speech_end=30.0, detected_at=30.1, final=False))
    event = assistant.hear(Utterance(audio, "open the sunroof", speech_end=30.8, detected_at=31.1))
    assert event.transcript == "open the sunroof" and assistant.vehicle.state.windows.sunroof == 100
    assert len(whisper.heard) == 2


class MicrophoneUnpluggedAfterOneCommand:
    """A voice source whose reader fails mid-stream, as a microphone pulled out does."""

    def utterances(self, drafts: bool = False):
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
    result = run_cli("say", "set the temperature to 22 degrees", "call mom")
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["intent"] == "climate" and "22" in first["outcome"] and first["carried_out"]
    assert second["slots"] == {"contact": "mom", "action": "call"} and "mom" in second["outcome"].lower()
    assert {"transcript", "status", "intent", "confidence", "slots", "outcome", "timings_ms"} <= set(first)
    assert first["status"] == second["status"] == "done"


def test_say_with_missing_model_is_one_line(tmp_path):
    result = run_cli("say", "lights on", "--model", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "No trained model" in result.stderr


def test_a_command_the_car_declines_is_done_but_not_carried_out(assistant):
    assistant.vehicle.reset()  # a sunroof opened by an earlier test may stay open at speed
    assistant.vehicle.set_speed(120)
    event = assistant.handle_text("open the sunroof")
    assert event.status == "done" and not event.carried_out
    assert "80 km/h" in event.outcome
    assert event.to_json()["carried_out"] is False
    assistant.vehicle.reset()


# -- the car asks, the driver answers -------------------------------------------------------------

ASKED = "navigate to phoenix"
ASK_ALL = PolicyOptions(act_threshold=1.0)
"""No confidence reaches 1: the car asks before every command (whatever the model's scores)."""


class Clock:
    """A hand-wound clock for the conversation's expiry."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def conversation(assistant):
    """The shared assistant asking before every command, with a fresh car and a clock the test moves."""
    policy = assistant.policy
    assistant.vehicle.reset()
    assistant.dialogue = Dialogue()
    assistant.clock = Clock()
    assistant.policy = Policy(assistant.library, ASK_ALL)
    yield assistant
    assistant.clock, assistant.policy = time.monotonic, policy
    assistant.vehicle.reset()


def ask(assistant) -> None:
    event = assistant.handle_text(ASKED)
    assert event.status == "asked" and event.intent == "navigation", event
    assert event.outcome == "Navigate to phoenix?"
    assert assistant.vehicle.state.navigation.destination is None


@pytest.mark.parametrize("answer", ["yes", "Yeah, do it.", "sure"])
def test_yes_carries_out_what_the_car_asked(conversation, answer):
    ask(conversation)
    conversation.clock.now += 4
    event = conversation.handle_text(answer)
    assert event.status == "done" and event.intent == "navigation" and event.carried_out
    assert conversation.vehicle.state.navigation.destination == "phoenix"
    assert "you said yes" in event.reason


@pytest.mark.parametrize("answer", ["no", "never mind", "cancel"])
def test_no_drops_it(conversation, answer):
    ask(conversation)
    event = conversation.handle_text(answer)
    assert event.status == "refused" and event.outcome == "Okay, I won't."
    assert conversation.vehicle.state.navigation.destination is None
    assert conversation.handle_text("yes").status == "refused"  # nothing left to say yes to


def test_anything_else_is_a_new_command(conversation):
    ask(conversation)
    event = conversation.handle_text("turn on the high beams")
    assert event.status == "asked" and event.intent == "lights"
    assert conversation.handle_text("yes").intent == "lights"
    assert conversation.vehicle.state.lights.high_beams
    assert conversation.vehicle.state.navigation.destination is None


def test_the_question_lapses_after_ten_seconds(conversation):
    ask(conversation)
    conversation.clock.now += 10.5
    event = conversation.handle_text("yes")
    assert event.status == "refused"
    assert conversation.vehicle.state.navigation.destination is None


def test_say_handles_its_texts_as_one_conversation():
    texts = [
        ASKED,
        "yes",
        "turn on the high beams",
        "no",
        "open the sunroof",
        "what's the weather like",
        "yes",
    ]
    result = run_cli("say", *texts, "--act-threshold", "1")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["status"] for e in events] == [
        "asked",
        "done",
        "asked",
        "refused",
        "asked",
        "refused",
        "refused",
    ]
    assert events[1]["intent"] == "navigation" and "phoenix" in events[1]["outcome"].lower()
    assert events[3]["outcome"] == "Okay, I won't." and events[3]["intent"] == "out_of_scope"
    assert events[6]["intent"] == "out_of_scope"  # the weather replaced the sunroof question


class ScriptedSpeech:
    """Stands in for Whisper: each utterance's source is what was 'said', with Whisper's confidence."""

    def __init__(self, no_speech_prob: float = 0.05, avg_logprob: float = -0.2) -> None:
        self.no_speech_prob, self.avg_logprob = no_speech_prob, avg_logprob

    def transcribe(self, utterance: Utterance, expected: Sequence[str] = ()) -> Transcript:
        return Transcript(utterance.source, 100.0, self.no_speech_prob, self.avg_logprob)


def spoken(assistant, text: str, speech: ScriptedSpeech) -> Event:
    import numpy as np

    assistant.transcriber = speech
    return assistant.handle_utterance(Utterance(np.zeros(1600, dtype=np.float32), text, 1.0, 1.3))


def test_a_spoken_yes_answers_and_whispers_silence_neither_answers_nor_drops_the_question(conversation):
    assert spoken(conversation, ASKED, ScriptedSpeech()).status == "asked"
    silence = spoken(conversation, "Yes.", ScriptedSpeech(no_speech_prob=0.9, avg_logprob=-1.5))
    assert silence.status == "refused" and "not speech" in silence.reason
    assert conversation.vehicle.state.navigation.destination is None
    event = spoken(conversation, "Yes.", ScriptedSpeech())  # the question still stands
    assert event.status == "done" and conversation.vehicle.state.navigation.destination == "phoenix"


# -- the conversation: follow-up slots, references back, corrections, several commands -------------


def say(*texts: str) -> list[dict]:
    result = run_cli("say", *texts)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_say_asks_for_a_missing_slot_and_the_next_text_fills_it():
    call, mom, navigate, airport, warm, degrees = say(
        "call", "mom", "navigate", "the airport", "set the temperature", "twenty-one"
    )
    assert call["status"] == "asked" and call["outcome"] == "Who should I call?"
    assert mom["status"] == "done" and mom["slots"]["contact"] == "mom" and "Calling Mom" in mom["outcome"]
    assert navigate["outcome"] == "Where to?" and airport["slots"] == {"destination": "airport"}
    assert warm["status"] == "asked" and degrees["carried_out"] and "21 °C" in degrees["outcome"]


def test_an_answer_is_read_whole_through_the_asked_slots_list():
    """The tagger may read only 'twenty' as the temperature; the asked slot's list reads both words."""
    asked, answered = say("set the temperature", "twenty three")
    assert asked["outcome"] == "What temperature?" and answered["slots"]["temperature"] == 23


def test_a_command_a_template_says_whole_stands_alone_after_another_of_its_intent():
    """'make it a bit warmer': the 'it' is the cabin, not the fan just switched on."""
    fan, warmer = say("switch the fan on", "make it a bit warmer")
    assert fan["slots"]["feature"] == "fan" and warmer["slots"] == {"change": "up"}
    assert "referred back" not in warmer["reason"]


def test_another_command_missing_its_own_slot_is_no_answer_to_the_question():
    call, navigate, airport = say("call", "navigate", "the airport")
    assert call["outcome"] == "Who should I call?" and navigate["outcome"] == "Where to?"
    assert airport["intent"] == "navigation" and airport["slots"] == {"destination": "airport"}


def test_say_refers_back_to_the_last_command_and_steps_from_the_cars_state():
    events = say(
        "play the radio", "turn it off", "open the driver window", "the passenger one too", "a bit warmer", "a bit more"
    )
    assert events[1]["intent"] == "media" and "Stopped City FM" in events[1]["outcome"]
    assert events[3]["slots"]["window"] == "passenger" and "Passenger window open" in events[3]["outcome"]
    assert "22 °C" in events[4]["outcome"] and "23 °C" in events[5]["outcome"]
    assert "referred back" in events[1]["reason"] and "referred back" in events[5]["reason"]


def test_say_carries_out_each_command_of_an_utterance_in_order_and_keeps_phrases_whole():
    both, again, rock, simon = say(
        "turn on the high beams and open the sunroof", "close it again", "rock and roll", "play simon and garfunkel"
    )
    first, second = both["parts"]
    assert (first["intent"], second["intent"]) == ("lights", "windows") and both["carried_out"]
    assert first["transcript"] == "turn on the high beams" and "Sunroof open" in second["outcome"]
    assert again["slots"] == {"window": "sunroof", "state": "closed"}
    assert "parts" not in rock and rock["status"] == "refused"
    assert "parts" not in simon and simon["slots"]["query"] == "simon and garfunkel"


def test_say_takes_a_correction_instead_of_what_it_corrects():
    corrected, hang_up, call, instead = say("call mom, no, call dad", "hang up", "call mom", "no, james")
    assert corrected["slots"]["contact"] == "dad" and "parts" not in corrected
    assert instead["slots"]["contact"] == "james" and instead["outcome"] == "Calling james."


def test_a_no_alone_takes_the_last_command_back_and_the_next_words_say_what_instead():
    """A correction the endpointer cut in two: 'No.' … 'the passenger window'."""
    opened, no, instead = say("open the driver window", "No.", "the passenger window")
    assert opened["status"] == "done" and no["status"] == "asked" and no["carried_out"]
    assert no["outcome"] == "Okay, undone. What should I do instead?"
    assert instead["status"] == "done" and instead["slots"] == {"window": "passenger", "state": "open"}
    assert "corrected" in instead["reason"] and "Passenger window open" in instead["outcome"]


def test_a_no_alone_undoes_the_last_command_and_nothing_once_that_lapsed(conversation):
    conversation.policy = Policy(conversation.library)
    conversation.handle_text("open the driver window")
    conversation.handle_text("no")
    assert conversation.vehicle.state.windows.driver == 0  # undone at once
    conversation.handle_text("the passenger window")
    windows = conversation.vehicle.state.windows
    assert (windows.driver, windows.passenger) == (0, 100)
    conversation.clock.now += 10.5
    assert conversation.handle_text("open the driver window").status == "done"
    conversation.clock.now += 10.5
    assert conversation.handle_text("no").status != "asked"  # nothing left to take back
    assert conversation.vehicle.state.windows.driver == 100


def test_a_slot_question_lapses_and_the_last_command_is_forgotten_after_ten_seconds(conversation):
    conversation.policy = Policy(conversation.library)
    assert conversation.handle_text("call").outcome == "Who should I call?"
    conversation.clock.now += 10.5
    assert conversation.handle_text("mom").status == "refused"
    assert conversation.handle_text("open the sunroof").status == "done"
    conversation.clock.now += 10.5
    assert conversation.handle_text("close it again").status != "done"
    assert conversation.vehicle.state.windows.sunroof == 100


def test_while_the_phone_rings_answer_and_decline_are_what_is_expected(conversation):
    conversation.policy = Policy(conversation.library)
    conversation.vehicle.simulate_incoming_call("mom")
    assert conversation.expecting().intents == ("phone",)
    event = conversation.handle_text("decline")
    assert event.intent == "phone" and "Declined the call from Mom" in event.outcome
    assert conversation.expecting().intents == ()


def test_reset_gives_the_car_back_as_created_and_drops_the_question(conversation):
    ask(conversation)
    conversation.policy = Policy(conversation.library)
    assert conversation.handle_text("turn on the high beams").status == "done"
    conversation.reset()
    assert conversation.vehicle.state == type(conversation.vehicle)().state
    assert conversation.dialogue.waiting(conversation.clock()) is None
    assert conversation.handle_text("yes").status == "refused"  # the question went with the reset


class SpeakingRecorder:
    """Stands in for the car's voice: keeps what it is asked to say."""

    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, text: str) -> None:
        self.said.append(text)


def test_every_reply_is_spoken_as_shown(assistant):
    voice = SpeakingRecorder()
    assistant.voice = voice
    try:
        events = [assistant.handle_text(text) for text in ("turn on the fog lights", "what's the weather like")]
    finally:
        assistant.voice = None
    assert voice.said == [event.outcome for event in events]
    assert voice.said[0].startswith("Fog lights on") and voice.said[1].startswith("Sorry")


def test_a_question_and_several_commands_in_one_utterance_are_each_spoken_once(conversation):
    conversation.policy = Policy(conversation.library)
    voice = SpeakingRecorder()
    conversation.voice = voice
    try:
        events = [
            conversation.handle_text(text)
            for text in ("call", "mom", "hang up", "turn on the high beams and open the sunroof")
        ]
    finally:
        conversation.voice = None
    question, calling, _, both = events
    assert voice.said == [event.outcome for event in events]
    assert question.outcome == "Who should I call?" and calling.outcome == "Calling Mom."
    first, second = both.parts
    assert both.outcome == f"{first.outcome} {second.outcome}"
    assert first.outcome.startswith("High beams on") and "Sunroof open" in second.outcome


def test_talk_after_a_slot_question_is_no_answer(conversation):
    conversation.policy = Policy(conversation.library)
    assert conversation.handle_text("call").outcome == "Who should I call?"
    assert conversation.handle_text("well, look").status == "refused"
    assert conversation.vehicle.state.phone.status == "idle"


def test_a_command_a_template_says_with_listed_values_is_never_cut_at_its_commas(assistant):
    """'a triple shot, light roast, iced coffee' is one order: a whole that a template says, every
    value from a list, stays whole; a free-text value may hide a second command, so it may be cut."""
    from assistant.pipeline import Turn

    def turn(text: str) -> Turn:
        evidence = assistant.understander.understand(text)
        return Turn(assistant.policy.decide(evidence), evidence)

    assert assistant._one_listed_command(turn("turn on the headlights"))
    assert not assistant._one_listed_command(turn("navigate to the airport"))  # free text
    assert not assistant._one_listed_command(turn("lights on the sunroof please"))  # no template
