"""Shared helpers for the benchmarks: the voices and noise of :mod:`training.speech`, statistics, and
playing clips into the virtual microphone while the assistant listens.

Not run on its own; the ``bench_*.py`` scripts next to it import it (``python scripts/bench_x.py``
puts ``scripts/`` on ``sys.path``). The benchmark voices are :data:`VOICES`: the Piper voice and the
espeak-ng voices ``en-us`` and ``en-gb`` at their own speed.
"""

from __future__ import annotations

import hashlib
import queue
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.audio import MicrophoneSource
from assistant.events import Event
from assistant.nlu import normalize
from assistant.numbers import number_to_words
from assistant.pipeline import Assistant
from training.speech import (  # noqa: F401  (re-exported for the bench_*.py scripts)
    ESPEAK_VOICES,
    PIPER_VOICE,
    VOICES,
    active_power,
    mix_at_snr,
    noise_at,
    speech_audio,
    trailing_silence_s,
    write_wav,
)

VIRTUAL_SINK = "cabin"


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
    spelled = re.sub(r"\b\d{1,3}\b", lambda m: number_to_words(int(m.group())), normalize(text))
    return spelled.split()


def edit_distance(a: list[str], b: list[str]) -> int:
    """Word-level Levenshtein distance: the errors in a word error rate."""
    row = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, y in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (x != y))
    return row[-1]
