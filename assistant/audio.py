"""Capture and endpointing: microphone or WAV replay in, one :class:`Utterance` per command out.

A source turns audio into 32 ms frames (512 samples at 16 kHz) stamped with the monotonic time of their
last sample. In hands-free mode the :class:`Endpointer` runs Silero VAD over them and cuts an utterance
once the speaker has been silent for ``silence_ms``; in push-to-talk mode ``start_talking()`` and
``stop_talking()`` bracket the utterance instead.

The microphone callback only copies the block into a bounded queue: VAD and everything else run in
the thread that iterates :meth:`AudioSource.utterances`.
"""

from __future__ import annotations

import queue
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from math import gcd
from pathlib import Path
from types import ModuleType
from typing import Any, Literal, Self

import numpy as np
import soundfile as sf

from assistant.events import SAMPLE_RATE, Utterance

FRAME = 512
"""Samples per VAD frame (32 ms at 16 kHz): the unit the endpointer works in."""
FRAME_S = FRAME / SAMPLE_RATE
CONTEXT = 64
"""Samples of the previous frame that Silero VAD sees in front of each frame."""
WAV_TRAILING_SILENCE_S = 1.0
"""Silence appended to each replayed file so its last command ends."""
MIC_STALL_S = 5.0
"""A started microphone that delivers nothing for this long is reported as gone."""
SILENCE_DBFS = -120.0

Mode = Literal["hands_free", "push_to_talk"]
Clock = Callable[[], float]


class AudioError(Exception):
    """A capture or file problem, with a one-line message that says what to do."""


# -- devices ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    channels: int
    default_samplerate: float


def _sounddevice() -> ModuleType:
    """Import sounddevice late, so WAV replay works on a machine without PortAudio."""
    try:
        import sounddevice
    except OSError as err:
        raise AudioError(
            "No microphone support: the PortAudio library is missing (apt install libportaudio2). "
            "Use --wav FILE meanwhile."
        ) from err
    return sounddevice


def list_devices() -> list[InputDevice]:
    """Every input-capable device PortAudio knows, in its own order."""
    sd = _sounddevice()
    try:
        devices = sd.query_devices()
    except sd.PortAudioError as err:
        raise AudioError(f"Cannot list audio devices: {err}. Use --wav FILE instead.") from err
    return [
        InputDevice(d["index"], d["name"], d["max_input_channels"], d["default_samplerate"])
        for d in devices
        if d["max_input_channels"] > 0
    ]


def resolve_device(spec: str | int | None) -> InputDevice:
    """Find an input device by index or by a case-insensitive part of its name (None: the default)."""
    devices = list_devices()
    if not devices:
        raise AudioError(
            "No microphone found: PortAudio reports no input devices. Use --wav FILE or plug one in."
        )
    if spec is None:
        return _default_device(devices)
    if isinstance(spec, int) or spec.strip().isdigit():
        by_index = [d for d in devices if d.index == int(spec)]
        if not by_index:
            raise AudioError(f"No input device with index {spec}. Inputs: {_describe(devices)}.")
        return by_index[0]
    wanted = spec.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    matches = exact or [d for d in devices if wanted in d.name.lower()]
    if len(matches) != 1:
        problem = "matches several input devices" if matches else "matches no input device"
        raise AudioError(f"Microphone '{spec}' {problem}. Inputs: {_describe(matches or devices)}.")
    return matches[0]


def _default_device(devices: list[InputDevice]) -> InputDevice:
    default_index = _sounddevice().default.device[0]
    return next((d for d in devices if d.index == default_index), devices[0])


def _describe(devices: list[InputDevice]) -> str:
    return ", ".join(f"{d.index}: {d.name}" for d in devices)


# -- WAV files ----------------------------------------------------------------------------------


def load_wav(path: str | Path) -> np.ndarray:
    """Read an audio file as 16 kHz mono float32, resampling and mixing down as needed."""
    path = Path(path)
    if not path.is_file():
        raise AudioError(f"Cannot read '{path}': no such file.")
    try:
        audio, rate = sf.read(path, dtype="float32", always_2d=True)
    except sf.SoundFileError as err:
        raise AudioError(f"Cannot read '{path}': not a WAV file.") from err
    if len(audio) == 0:
        raise AudioError(f"Cannot read '{path}': it holds no audio.")
    return resample(audio.mean(axis=1), rate)


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """Polyphase resampling from ``rate`` to 16 kHz (scipy is imported only when a file needs it)."""
    if rate == SAMPLE_RATE:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    g = gcd(rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, rate // g).astype(np.float32)


# -- endpointing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointerOptions:
    threshold: float = 0.5
    """Speech probability at which a frame starts (or continues) speech."""
    hysteresis: float = 0.15
    """Once speaking, frames stay voiced down to ``threshold - hysteresis`` (Silero's own rule)."""
    min_speech_ms: int = 150
    """Shorter bursts (clicks, bumps) are dropped."""
    silence_ms: int = 300
    """Silence after the last voiced frame that ends an utterance: the endpointing delay."""
    pre_roll_ms: int = 200
    """Audio kept from before the first voiced frame, so onsets are not clipped."""
    max_utterance_s: float = 10.0
    """An utterance is cut here even if the speaker goes on."""

    def frames(self, ms: float) -> int:
        return max(1, round(ms / 1000 / FRAME_S))


@cache
def _vad_session() -> Any:
    """The Silero VAD onnxruntime session that faster-whisper ships (loaded once, shared)."""
    from faster_whisper.vad import get_vad_model

    return get_vad_model().session


class StreamingVad:
    """Silero VAD fed one frame at a time, carrying the LSTM state and context between frames."""

    def __init__(self) -> None:
        self._session = _vad_session()
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        """Probability that this 512-sample frame is speech."""
        window = np.concatenate([self._context, frame])[None, :]
        prob, self._h, self._c = self._session.run(None, {"input": window, "h": self._h, "c": self._c})
        self._context = frame[-CONTEXT:]
        return float(prob.ravel()[0])


class Endpointer:
    """Cuts a stream of frames into utterances with VAD.

    ``clock`` stamps ``detected_at``; without one, the frame's own time is used (virtual time for
    replays, so ``endpoint_ms`` is exactly the silence waited).
    """

    def __init__(self, options: EndpointerOptions, source: str, clock: Clock | None = None) -> None:
        self.options = options
        self.source = source
        self._clock = clock
        self._vad = StreamingVad()
        self._pre_roll: deque[np.ndarray] = deque(maxlen=options.frames(options.pre_roll_ms))
        self._speech: list[np.ndarray] = []
        self._voiced = 0
        self._silent = 0
        self._last_voiced_at = 0.0

    def push(self, frame: np.ndarray, at: float) -> Utterance | None:
        """Feed one frame whose last sample was captured at monotonic time ``at``."""
        prob = self._vad(frame)
        if not self._speech:
            if prob >= self.options.threshold:
                self._speech = [*self._pre_roll]
                self._pre_roll.clear()
                self._add(frame, at, voiced=True)
            else:
                self._pre_roll.append(frame)
            return None
        self._add(frame, at, voiced=prob >= self.options.threshold - self.options.hysteresis)
        too_long = len(self._speech) >= self.options.frames(self.options.max_utterance_s * 1000)
        if self._silent >= self.options.frames(self.options.silence_ms) or too_long:
            return self._finish(at)
        return None

    def _add(self, frame: np.ndarray, at: float, voiced: bool) -> None:
        self._speech.append(frame)
        if voiced:
            self._voiced += 1
            self._silent = 0
            self._last_voiced_at = at
        else:
            self._silent += 1

    def _finish(self, at: float) -> Utterance | None:
        long_enough = self._voiced >= self.options.frames(self.options.min_speech_ms)
        utterance = Utterance(
            audio=np.concatenate(self._speech),
            source=self.source,
            speech_end=self._last_voiced_at,
            detected_at=self._clock() if self._clock else at,
        )
        self._end_speech()
        return utterance if long_enough else None

    def _end_speech(self) -> None:
        self._speech = []
        self._voiced = 0
        self._silent = 0


class PushToTalk:
    """Collects the frames between a press and a release of the talk key into one utterance.

    ``clock`` stamps ``detected_at``; without one, the time of the frame that closed the bracket is used.
    """

    def __init__(self, source: str, clock: Clock | None = None) -> None:
        self.source = source
        self._clock = clock
        self._lock = threading.Lock()
        self._pressed_at: float | None = None
        self._released_at: float | None = None
        self._frames: list[np.ndarray] = []

    def press(self, at: float) -> None:
        with self._lock:
            self._pressed_at, self._released_at, self._frames = at, None, []

    def release(self, at: float) -> None:
        with self._lock:
            if self._pressed_at is not None:
                self._released_at = at

    def push(self, frame: np.ndarray | None, at: float) -> Utterance | None:
        """Feed one frame (``None`` while the stream is idle) whose last sample came at time ``at``."""
        with self._lock:
            if self._pressed_at is None or at <= self._pressed_at:
                return None
            released = self._released_at
            if frame is not None and (released is None or at - FRAME_S < released):
                self._frames.append(frame)
            if released is None or at < released:
                return None
            frames = self._frames
            self._pressed_at, self._released_at, self._frames = None, None, []
        if not frames:
            return None
        detected_at = self._clock() if self._clock else at
        return Utterance(np.concatenate(frames), self.source, released, detected_at)


# -- sources ------------------------------------------------------------------------------------


class AudioSource(ABC):
    """What every source offers: ``utterances()``, the two modes, push-to-talk keys, ``close()``.

    Subclasses supply ``now()`` and ``_frames()``: 512-sample frames with the time of their last sample,
    or ``(None, now)`` when no audio came for a while (so a released talk key is still honoured).
    ``clock`` stamps decisions (``detected_at``); ``None`` means virtual time, the frames' own.
    """

    def __init__(self, name: str, options: EndpointerOptions, mode: Mode, clock: Clock | None) -> None:
        self.mode: Mode = mode
        self._closed = threading.Event()
        self._endpointer = Endpointer(options, name, clock)
        self._talk = PushToTalk(name, clock)

    @property
    def name(self) -> str:
        """What utterances from this source carry as their ``source``."""
        return self._endpointer.source

    @name.setter
    def name(self, value: str) -> None:
        self._endpointer.source = self._talk.source = value

    @abstractmethod
    def now(self) -> float:
        """The time ``start_talking`` and ``stop_talking`` stamp, on the frames' clock."""

    @abstractmethod
    def _frames(self) -> Iterator[tuple[np.ndarray | None, float]]: ...

    def utterances(self) -> Iterator[Utterance]:
        """Yield utterances as they end, until the source runs out or is closed."""
        for frame, at in self._frames():
            if self.mode == "push_to_talk":
                utterance = self._talk.push(frame, at)
            elif frame is not None:
                utterance = self._endpointer.push(frame, at)
            else:
                continue
            if utterance is not None:
                yield utterance

    def start_talking(self) -> None:
        """Push-to-talk: the key went down; audio from now on belongs to the next utterance."""
        self._talk.press(self.now())

    def stop_talking(self) -> None:
        """Push-to-talk: the key came up; the bracketed audio becomes one utterance."""
        self._talk.release(self.now())

    def close(self) -> None:
        """Stop: ``utterances()`` returns at its next frame."""
        self._closed.set()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class WavFileSource(AudioSource):
    """Replays audio files through the same endpointing as the microphone.

    Time is virtual: the replay starts at the monotonic time ``utterances()`` is first iterated and
    advances 32 ms per frame (at real speed with ``realtime=True``, else as fast as VAD runs), so
    ``endpoint_ms`` is the silence actually waited. Each file is followed by 1 s of silence so its last
    command ends. In push-to-talk mode each file is one press of the talk key: exactly one utterance.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        options: EndpointerOptions | None = None,
        *,
        mode: Mode = "hands_free",
        realtime: bool = False,
    ) -> None:
        self.paths = [Path(p) for p in paths]
        self._clips = [load_wav(p) for p in self.paths]
        super().__init__(", ".join(p.name for p in self.paths), options or EndpointerOptions(), mode, None)
        self.realtime = realtime
        self._position = time.monotonic()

    def now(self) -> float:
        """The replay's virtual time: the time of the last sample fed so far."""
        return self._position

    def _frames(self) -> Iterator[tuple[np.ndarray | None, float]]:
        start = self._position = time.monotonic()
        gap = np.zeros(round(WAV_TRAILING_SILENCE_S * SAMPLE_RATE), dtype=np.float32)
        sent = 0
        for clip in self._clips:
            if self.mode == "push_to_talk":
                self._talk.press(self._position)
                self._talk.release(self._position + len(clip) / SAMPLE_RATE)
            audio = np.concatenate([clip, gap])
            for frame in np.pad(audio, (0, -len(audio) % FRAME)).reshape(-1, FRAME):
                sent += 1
                self._position = start + sent * FRAME_S
                if self.realtime:
                    time.sleep(max(0.0, self._position - time.monotonic()))
                if self._closed.is_set():
                    return
                yield frame, self._position


class _Framer:
    """Re-chunks blocks of any length into 512-sample frames stamped with their last sample's time."""

    def __init__(self) -> None:
        self._pending = np.zeros(0, dtype=np.float32)

    def split(self, block: np.ndarray, at: float) -> Iterator[tuple[np.ndarray, float]]:
        """``at``: the monotonic time of the block's last sample."""
        buffer = np.concatenate([self._pending, block])
        count = len(buffer) // FRAME
        for i in range(count):
            yield buffer[i * FRAME : (i + 1) * FRAME], at - (len(buffer) - (i + 1) * FRAME) / SAMPLE_RATE
        self._pending = buffer[count * FRAME :]


def _capture_time(time_info: Any, frames: int) -> float:
    """Monotonic time of a block's last sample: arrival time, less the delay PortAudio reports."""
    now = time.monotonic()
    lag = time_info.currentTime - time_info.inputBufferAdcTime - frames / SAMPLE_RATE
    return now - lag if 0 < lag < 1 else now


def _dbfs(block: np.ndarray) -> float:
    rms = float(np.sqrt(np.mean(np.square(block)))) if len(block) else 0.0
    return max(SILENCE_DBFS, 20 * np.log10(rms + 1e-12))


class MicrophoneSource(AudioSource):
    """Live capture: 16 kHz mono float32 from a sounddevice ``InputStream``.

    The callback never blocks: it puts each block into a bounded queue and counts what did not fit
    (``dropped_blocks``). Endpointing runs in the thread iterating ``utterances()``. Use it as a context
    manager, or call ``start()`` and ``close()``.
    """

    def __init__(
        self,
        device: str | int | None = None,
        options: EndpointerOptions | None = None,
        *,
        mode: Mode = "hands_free",
        queue_size: int = 64,
    ) -> None:
        super().__init__("mic", options or EndpointerOptions(), mode, time.monotonic)
        self.device_spec = device
        self._queue: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(maxsize=queue_size)
        self._stream: Any = None
        self._stream_lock = threading.Lock()
        self._stream_ended = threading.Event()
        self._received = 0
        self._dropped = 0
        self._flagged = 0
        self._level = SILENCE_DBFS

    @property
    def blocks_received(self) -> int:
        return self._received

    @property
    def dropped_blocks(self) -> int:
        """Blocks lost because the consumer fell behind and the queue was full."""
        return self._dropped

    @property
    def flagged_blocks(self) -> int:
        """Blocks PortAudio flagged (input overflow or underflow)."""
        return self._flagged

    def report(self) -> str:
        """One line on how capture went, for the end of a session."""
        return (
            f"{self.name}: {self._received} blocks, {self._dropped} dropped because the "
            f"assistant fell behind, {self._flagged} flagged by PortAudio (overflow or underflow)"
        )

    @property
    def level_dbfs(self) -> float:
        """RMS level of the latest block, for a level meter (-120 before any audio)."""
        return self._level

    def now(self) -> float:
        return time.monotonic()

    def start(self) -> Self:
        """Open the device and start capturing (idempotent)."""
        if self._stream is not None:
            return self
        sd = _sounddevice()
        device = resolve_device(self.device_spec)
        self.name = f"mic:{device.name}"
        stream = None
        try:
            sd.check_input_settings(device.index, channels=1, dtype="float32", samplerate=SAMPLE_RATE)
            stream = sd.InputStream(
                samplerate=SAMPLE_RATE,
                blocksize=FRAME,
                device=device.index,
                channels=1,
                dtype="float32",
                callback=self._callback,
                finished_callback=self._stream_ended.set,
            )
            stream.start()
        except sd.PortAudioError as err:
            if stream is not None:
                stream.close(ignore_errors=True)
            raise AudioError(
                f"Cannot record 16 kHz mono from '{device.name}': {err}. "
                "Pick another input (e.g. 'pulse' or 'default', which resample)."
            ) from err
        self._stream = stream
        return self

    def close(self) -> None:
        super().close()
        with self._stream_lock:  # PortAudio calls on one stream from two threads can deadlock
            if self._stream is not None:
                self._stream.close(ignore_errors=True)
                self._stream = None

    def __enter__(self) -> Self:
        return self.start()

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's thread: copy and enqueue, never block, never raise."""
        at = _capture_time(time_info, frames)
        block = indata[:, 0].copy()
        self._received += 1
        self._flagged += bool(status)
        self._level = _dbfs(block)
        try:
            self._queue.put_nowait((block, at))
        except queue.Full:
            self._dropped += 1

    def _frames(self) -> Iterator[tuple[np.ndarray | None, float]]:
        framer = _Framer()
        last_block = time.monotonic()
        while not self._closed.is_set():
            try:
                block, at = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._check_alive(time.monotonic() - last_block)
                yield None, time.monotonic()
                continue
            last_block = time.monotonic()
            yield from framer.split(block, at)

    def _check_alive(self, silent_for: float) -> None:
        with self._stream_lock:
            if self._stream is None:
                return
            stopped = self._stream_ended.is_set() or not self._stream.active
        if self._closed.is_set():  # checked after the stream: close() sets it before closing the stream
            return
        if stopped:
            raise AudioError(
                f"Microphone '{self.name}' stopped (unplugged?). Reconnect it or use --wav FILE."
            )
        if silent_for > MIC_STALL_S:
            raise AudioError(
                f"Microphone '{self.name}' delivered no audio for {MIC_STALL_S:.0f} s (unplugged?). "
                "Reconnect it or use --wav FILE."
            )
