"""The car's voice: Piper really speaking a reply, the switches that silence it, and the microphone
not taking the car's own voice for a command (through the PulseAudio virtual microphone)."""

from __future__ import annotations

import queue
import threading
import time

import numpy as np
import pytest

from assistant.audio import MicrophoneSource
from assistant.cli import build_parser
from assistant.events import Utterance
from assistant.voice import Voice, pieces


class Recorder:
    """An output that keeps what it is given, at no latency, as fast as it comes."""

    latency_s = 0.0

    def __init__(self) -> None:
        self.written: list[np.ndarray] = []

    def write(self, samples: np.ndarray) -> None:
        self.written.append(samples)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def voice_on_recorder() -> tuple[Voice, Recorder]:
    recorder = Recorder()
    return Voice(output=recorder, tail_s=0.0), recorder


def test_a_reply_is_spoken_as_audio_about_as_long_as_its_words(voice_on_recorder):
    voice, recorder = voice_on_recorder
    recorder.written.clear()
    spoken = voice.say("Route to the airport started.").result(timeout=60)
    audio = np.concatenate(recorder.written)
    assert 0.8 < spoken.audio_s == len(audio) / voice.sample_rate < 4.0
    assert np.sqrt(np.mean(np.square(audio))) > 0.01, "silence, not speech"
    assert spoken.asked_at <= spoken.first_audio_at <= spoken.done_at
    assert len(recorder.written) >= 2, "a short first piece, then the rest"


def test_a_silenced_voice_plays_nothing(voice_on_recorder):
    voice, recorder = voice_on_recorder
    recorder.written.clear()
    voice.enabled = False
    try:
        spoken = voice.say("Calling mom.").result(timeout=60)
    finally:
        voice.enabled = True
    assert spoken.first_audio_at is None and recorder.written == []


def test_the_microphone_is_deaf_only_while_the_car_speaks_and_its_tail():
    recorder = Recorder()
    voice = Voice(output=recorder, tail_s=0.3)
    before = time.monotonic()
    spoken = voice.say("Fan off.").result(timeout=60)
    assert not voice.audible(before)
    assert voice.audible(spoken.first_audio_at) and voice.audible(spoken.done_at + 0.2)
    assert not voice.audible(spoken.done_at + 0.4)
    voice.close()


def test_a_reply_is_cut_into_a_short_first_piece_then_clauses_with_symbols_said():
    assert pieces("High beams on, headlights on too.") == ["High beams on,", "headlights on too."]
    assert pieces("Route to the airport started.") == ["Route to the", "airport started."]
    assert pieces("Cabin set to 21 °C (70 °F).")[-1].endswith("degrees (70 degrees Fahrenheit).")


@pytest.mark.parametrize(
    ("argv", "voice"),
    [
        (["listen"], True),
        (["listen", "--no-voice"], False),
        (["tui", "--no-voice"], False),
        (["tui"], True),
        (["say", "hi"], False),
        (["say", "--voice", "hi"], True),
    ],
)
def test_no_voice_keeps_the_car_silent(argv, voice):
    from assistant.cli import _assistant_config

    args = build_parser().parse_args(argv)
    assert _assistant_config(args).voice is voice


# -- echo, through the virtual microphone --------------------------------------------------------


def utterances_while_speaking(voice: Voice, mic: MicrophoneSource, text: str) -> list[Utterance]:
    """What the endpointer cuts from the microphone while the car says ``text`` and a second after."""
    found: queue.Queue[Utterance] = queue.Queue()

    def consume() -> None:
        for utterance in mic.utterances():
            found.put(utterance)

    threading.Thread(target=consume, daemon=True).start()
    voice.say(text).result(timeout=60)
    time.sleep(1.5)
    return [found.get() for _ in range(found.qsize())]


@pytest.mark.audio
def test_the_cars_voice_through_the_virtual_microphone_is_no_command(virtual_mic):
    """The car's voice goes to the default sink, whose monitor is the microphone: muted, the endpointer
    cuts nothing from it; not muted, the same reply is an utterance (so the test can fail)."""
    voice = Voice()
    try:
        for muted in (True, False):
            with MicrophoneSource(virtual_mic.device) as mic:
                deadline = time.monotonic() + 10
                while mic.blocks_received == 0 and time.monotonic() < deadline:
                    time.sleep(0.02)
                if muted:
                    mic.mute_while(voice.audible)
                heard = utterances_while_speaking(voice, mic, "Turn on the high beams?")
                mic.close()
            assert (heard == []) is muted, f"muted={muted}: {len(heard)} utterances"
    finally:
        voice.close()
