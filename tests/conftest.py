"""Shared audio fixtures: commands spoken by espeak-ng, WAV writing, the virtual microphone, Whisper."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from assistant.events import SAMPLE_RATE

VIRTUAL_SINK = "cabin"


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


@pytest.fixture(scope="session")
def transcriber():
    """The default Whisper model (tiny.en, bundled), loaded and warmed up once."""
    from assistant.asr import Transcriber

    model = Transcriber()
    model.warm_up()
    return model
