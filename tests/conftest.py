"""Shared audio fixtures: commands spoken by espeak-ng, WAV writing, the virtual microphone, Whisper."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from assistant.events import SAMPLE_RATE

VIRTUAL_SINK = "cabin"
VIRTUAL_MIC_SH = Path(__file__).resolve().parent.parent / "scripts" / "virtual-mic.sh"


@pytest.fixture(scope="session")
def spoken_wav(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """``spoken_wav("turn on the high beams")``: that sentence as a WAV (espeak-ng, 22.05 kHz), cached."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is not installed (apt install espeak-ng): the audio tests need it to speak.")
    folder = tmp_path_factory.mktemp("spoken")
    cache: dict[str, Path] = {}

    def speak(text: str) -> Path:
        if text not in cache:
            path = folder / f"{len(cache)}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
            cache[text] = path
        return cache[text]

    return speak


@pytest.fixture
def wav_file(tmp_path: Path) -> Callable[..., Path]:
    """``wav_file(audio, rate=16000)``: write float audio (mono, or frames x channels) to a fresh WAV."""
    count = 0

    def write(audio: np.ndarray, rate: int = SAMPLE_RATE) -> Path:
        nonlocal count
        count += 1
        path = tmp_path / f"audio{count}.wav"
        sf.write(path, audio, rate, subtype="PCM_16")
        return path

    return write


@dataclass(frozen=True)
class VirtualMic:
    """PulseAudio's null sink "cabin": what ``play`` sends to it, the ALSA ``device`` records."""

    device: str = "pulse"

    def play(self, path: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["paplay", "-d", VIRTUAL_SINK, str(path)])


@pytest.fixture(scope="session")
def virtual_mic() -> VirtualMic:
    """The virtual microphone of ``scripts/virtual-mic.sh``; fails (never skips) when it is missing."""
    try:
        info = subprocess.run(["pactl", "info"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"No virtual microphone: pactl failed ({err}). Run the tests via scripts/virtual-mic.sh.")
    if info.returncode != 0 or f"Default Source: {VIRTUAL_SINK}.monitor" not in info.stdout:
        pytest.fail(
            "No virtual microphone: PulseAudio is not running with the 'cabin' sink. "
            f"Run the tests via scripts/virtual-mic.sh (PULSE_SERVER={os.environ.get('PULSE_SERVER')})."
        )
    return VirtualMic()


class PrivatePulse:
    """A PulseAudio server of the test's own, with the "cabin" null sink, started the way
    ``scripts/virtual-mic.sh`` starts the shared one; stopping it disturbs no other test or user.

    ``env`` points a child process at it; ``server`` is its address, for ``PULSE_SERVER``.
    """

    def __init__(self, runtime: Path) -> None:
        self.runtime = runtime
        self.server = f"unix:{runtime}/native"
        self.env = {
            **os.environ,
            "PULSE_RUNTIME_PATH": str(runtime),
            "PULSE_SERVER": self.server,
            "PULSE_SINK": VIRTUAL_SINK,
            "PULSE_SOURCE": f"{VIRTUAL_SINK}.monitor",
        }

    def answers(self) -> bool:
        return subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode == 0

    def start(self) -> None:
        subprocess.run([str(VIRTUAL_MIC_SH), "true"], env=self.env, check=True, capture_output=True)
        if not self.answers():
            pytest.fail(
                f"Could not start a PulseAudio server in {self.runtime} (see scripts/virtual-mic.sh)."
            )

    def stop(self) -> None:
        """What a restarting audio server looks like to its clients: the socket goes away."""
        subprocess.run(["pulseaudio", "--kill"], env=self.env, capture_output=True)
        deadline = time.monotonic() + 5
        while self.answers():
            assert time.monotonic() < deadline, "PulseAudio did not stop within 5 s"
            time.sleep(0.05)

    def play(self, path: Path) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["paplay", "-d", VIRTUAL_SINK, str(path)], env=self.env)


@pytest.fixture
def private_pulse(
    virtual_mic: VirtualMic, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrivatePulse]:
    """A PulseAudio server that the test may stop and start (needs the virtual microphone's tools)."""
    pulse = PrivatePulse(tmp_path_factory.mktemp("pulse"))
    pulse.start()
    yield pulse
    subprocess.run(["pulseaudio", "--kill"], env=pulse.env, capture_output=True)


@pytest.fixture(scope="session")
def transcriber():
    """The default Whisper model (tiny.en, bundled), loaded and warmed up once."""
    from assistant.asr import Transcriber

    model = Transcriber()
    model.warm_up()
    return model
