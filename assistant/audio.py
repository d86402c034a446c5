"""Capture and endpointing: microphone or WAV replay in, one :class:`Utterance` per command out.

A source turns audio into 32 ms frames (512 samples at 16 kHz) stamped with the monotonic time of their
last sample. In hands-free mode the :class:`Endpointer` runs Silero VAD over them and cuts an utterance
once the speaker has been silent for ``silence_ms``; in push-to-talk mode ``start_talking()`` and
``stop_talking()`` bracket the utterance instead.

The microphone callback only copies the block into a bounded queue: VAD and everything else run in
the thread that iterates :meth:`AudioSource.utterances`. A microphone whose stream dies (the audio
server restarted, the device was unplugged) is reopened every ``RECONNECT_EVERY_S`` until it answers.

PortAudio and ALSA print debug lines (``Expression '…' failed in 'src/hostapi/alsa/…'``, ``ALSA lib …``)
on C's ``stderr`` whenever a device fails, from their own threads too. The first use of the microphone
routes C's ``stderr`` through a filter that drops those lines and passes every other line on to file
descriptor 2; Python's ``sys.stderr`` (and Textual, which draws on it) writes to that descriptor
directly and is untouched.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import queue
import re
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from math import gcd
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar, Literal, Protocol, Self, runtime_checkable

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
"""A started microphone that delivers nothing for this long is taken for gone."""
RECONNECT_EVERY_S = 0.5
"""How often a lost microphone is tried again."""
POLL_S = 0.1
"""How long the reader waits for a block before it checks the stream and yields an idle frame."""
CLOSE_WAIT_S = 1.0
"""How long closing a stream may hold up the reader. PortAudio 19.6's ALSA thread sometimes spins
forever after its audio server dies, and closing that stream then never returns; it is left behind."""
NOISE_BACKOFF_S = 0.01
"""Pause of the C-stderr filter after a read that held only noise, so a PortAudio thread stuck printing
the same failure waits on the full pipe instead of spinning."""
SILENCE_DBFS = -120.0

Mode = Literal["hands_free", "push_to_talk"]
MODES: tuple[Mode, ...] = ("hands_free", "push_to_talk")
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


C_LIBRARY_NOISE = re.compile(
    rb"Expression '.*' failed in '.*', line: \d+|ALSA lib .*|Jack\w*::.*"
    rb"|jack server is not running or cannot be started|Cannot connect to server .*|\s*"
)
"""Lines PortAudio's ALSA host API, ALSA and JACK print on C's stderr; the errors we raise say it once."""


@cache
def _filter_c_stderr() -> None:
    """Point C's ``stderr`` at a pipe whose reader drops :data:`C_LIBRARY_NOISE` (once per process).

    The lines it passes on arrive a moment late, so they may land between two writes of a Python line.
    """
    libc = ctypes.CDLL(None)
    libc.fdopen.restype = ctypes.c_void_p
    libc.fdopen.argtypes = [ctypes.c_int, ctypes.c_char_p]
    libc.fflush.argtypes = [ctypes.c_void_p]
    c_stderr = ctypes.c_void_p.in_dll(libc, "stderr")
    read_end, write_end = os.pipe()
    piped = libc.fdopen(write_end, b"w")
    silent = libc.fdopen(os.open(os.devnull, os.O_WRONLY), b"w")
    if not piped or not silent:
        os.close(read_end)
        os.close(write_end)
        return
    c_stderr.value = piped
    forwarder = threading.Thread(target=_forward_c_stderr, args=(read_end,), name="c-stderr", daemon=True)
    forwarder.start()

    def take_down() -> None:
        """At exit: what is still in the pipe passed on, and C's stderr on /dev/null from then on.

        Not back on the terminal: a PortAudio thread left spinning (:data:`CLOSE_WAIT_S`) prints its
        failed assertion until the process is gone, hundreds of thousands of lines. The pipe's
        ``FILE`` is never closed, as such a thread may be writing to it."""
        c_stderr.value = silent
        libc.fflush(piped)
        os.close(write_end)
        forwarder.join(timeout=1.0)

    atexit.register(take_down)


def _forward_c_stderr(read_end: int) -> None:
    pending = b""
    while chunk := os.read(read_end, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        kept = [line for line in lines if not C_LIBRARY_NOISE.fullmatch(line)]
        if kept:
            os.write(2, b"\n".join(kept) + b"\n")
        else:
            time.sleep(NOISE_BACKOFF_S)
    if pending and not C_LIBRARY_NOISE.fullmatch(pending):
        os.write(2, pending + b"\n")
    os.close(read_end)


def _sounddevice() -> ModuleType:
    """Import sounddevice late, so WAV replay works on a machine without PortAudio.

    The import initialises PortAudio with file descriptor 2 on /dev/null (sounddevice's own way of
    silencing its probing). The filter on C's stderr starts before it, so that at exit it is taken
    down after sounddevice's own exit handler has terminated PortAudio (exit handlers run last
    registered first).
    """
    _filter_c_stderr()
    try:
        import sounddevice
    except OSError as err:
        raise AudioError(
            "No microphone support: the PortAudio library is missing (apt install libportaudio2). "
            "Use --wav FILE meanwhile."
        ) from err
    return sounddevice


def open_output(sample_rate: int, callback: Callable[..., None]) -> Any:
    """A started mono float32 ``OutputStream`` on the default output device, fed by ``callback``
    (sounddevice's signature); raises :class:`AudioError` (one line) when there is none."""
    sd = _sounddevice()
    try:
        stream = sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32", callback=callback)
        stream.start()
    except sd.PortAudioError as err:
        raise AudioError(f"Cannot play audio on the default output: {err}.") from err
    return stream


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
            f"No microphone {'found' if spec is None else repr(str(spec))}: PortAudio reports no input "
            "devices (is the audio server running?). Use --wav FILE, plug one in, or start the "
            "assistant under scripts/virtual-mic.sh for a virtual one."
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
    try:
        with path.open("rb") as file:
            audio, rate = sf.read(file, dtype="float32", always_2d=True)
    except sf.SoundFileError as err:
        raise AudioError(f"Cannot read '{path}': not a WAV file.") from err
    except OSError as err:
        raise AudioError(f"Cannot read '{path}': {_why_unreadable(err)}.") from err
    if len(audio) == 0:
        raise AudioError(f"Cannot read '{path}': it holds no audio.")
    return resample(audio.mean(axis=1), rate)


def _why_unreadable(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "no such file"
    if isinstance(error, IsADirectoryError):
        return "it is a folder, not a file"
    return (error.strerror or str(error)).lower()


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """Polyphase resampling from ``rate`` to 16 kHz (scipy is imported only when a file needs it)."""
    if rate == SAMPLE_RATE:
        return audio.astype(np.float32)
    from scipy.signal import resample_poly

    g = gcd(rate, SAMPLE_RATE)
    return resample_poly(audio, SAMPLE_RATE // g, rate // g).astype(np.float32)


# -- endpointing --------------------------------------------------------------------------------


def limits(low: float, high: float) -> dict[str, tuple[float, float]]:
    """Field metadata: the closed range an option's value must lie in (checked on construction; the
    CLI builds its argument validators from it)."""
    return {"range": (low, high)}


@dataclass(frozen=True)
class EndpointerOptions:
    threshold: float = field(default=0.5, metadata=limits(0.05, 0.95))
    """Speech probability at which a frame starts (or continues) speech."""
    hysteresis: float = field(default=0.15, metadata=limits(0.0, 0.5))
    """Once speaking, frames stay voiced down to ``threshold - hysteresis`` (Silero's own rule)."""
    min_speech_ms: int = field(default=150, metadata=limits(0, 2_000))
    """Shorter bursts (clicks, bumps) are dropped."""
    silence_ms: int = field(default=300, metadata=limits(100, 5_000))
    """Silence after the last voiced frame that ends an utterance: the endpointing delay. Speech still
    going when the audio ends (the end of a file) ends there."""
    draft_ms: int = field(default=100, metadata=limits(0, 5_000))
    """Silence after which the speech so far goes on as a draft (:attr:`Utterance.final` false), so
    Whisper starts while the endpointer waits out ``silence_ms``; 0, or not below ``silence_ms``: no
    drafts."""
    pre_roll_ms: int = field(default=400, metadata=limits(0, 1_000))
    """Audio kept from before the first voiced frame, so onsets are not clipped: Silero marks speech
    late on soft onsets ('home', 'hang up') in noise. 400 ms is faster-whisper's own padding
    (``VadOptions.speech_pad_ms``); 200 ms cut 'call home' to 'Call, boom.' and 'give anna a ring' to
    'Give and a ring.' (spoken commands in noise: 72 → 79 % on three voice and noise pairs)."""
    max_utterance_s: float = field(default=10.0, metadata=limits(1.0, 30.0))
    """An utterance is cut here even if the speaker goes on."""

    def __post_init__(self) -> None:
        for option in fields(self):
            try:
                check_limits(getattr(self, option.name), option.metadata["range"])
            except ValueError as error:
                raise ValueError(f"EndpointerOptions.{option.name} {error}") from None

    def frames(self, ms: float) -> int:
        return max(1, round(ms / 1000 / FRAME_S))


def check_limits(value: float, bounds: tuple[float, float]) -> None:
    """Raise ValueError ("must be between …") unless ``bounds[0] <= value <= bounds[1]``."""
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}, not {value:g}")


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
        if self.options.draft_ms and self._silent == self.options.frames(self.options.draft_ms):
            return self._utterance(at, final=False)
        return None

    def flush(self, at: float) -> Utterance | None:
        """The audio ended at time ``at``: speech still going is an utterance, without waiting for silence."""
        return self._finish(at) if self._speech else None

    def reset(self) -> None:
        """Forget the speech so far and the VAD's state: the audio before and after a gap don't join."""
        self._end_speech()
        self._pre_roll.clear()
        self._vad = StreamingVad()

    def _add(self, frame: np.ndarray, at: float, voiced: bool) -> None:
        self._speech.append(frame)
        if voiced:
            self._voiced += 1
            self._silent = 0
            self._last_voiced_at = at
        else:
            self._silent += 1

    def _finish(self, at: float) -> Utterance | None:
        utterance = self._utterance(at, final=True)
        self._end_speech()
        return utterance

    def _utterance(self, at: float, final: bool) -> Utterance | None:
        """The speech so far, unless it is too short to be any (a click, a bump)."""
        if self._voiced < self.options.frames(self.options.min_speech_ms):
            return None
        return Utterance(
            audio=np.concatenate(self._speech),
            source=self.source,
            speech_end=self._last_voiced_at,
            detected_at=self._clock() if self._clock else at,
            final=final,
        )

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


@runtime_checkable
class VoiceSource(Protocol):
    """What a front end uses of an audio source: the voice loop reads ``utterances()``, the dashboard
    also drives push-to-talk, switches ``mode`` among ``modes``, shows ``level_dbfs`` and ``note``.

    Every source here implements it: :class:`WavFileSource`, :class:`MicrophoneSource` and
    :class:`WavPushToTalk`.
    """

    mode: Mode
    modes: ClassVar[tuple[Mode, ...]]
    """The modes the source can run in; the first is the one it starts in when it has no choice."""

    @property
    def level_dbfs(self) -> float:
        """The input level now, for a level meter (``SILENCE_DBFS`` when there is none)."""
        ...

    @property
    def reconnecting(self) -> bool:
        """The source was lost and is being reopened."""
        ...

    @property
    def note(self) -> str:
        """What to show the driver instead of the level meter ("" while live audio flows)."""
        ...

    def utterances(self, drafts: bool = False) -> Iterator[Utterance]:
        """One utterance per command, as each ends, until the source runs out or is closed; with
        ``drafts``, hands-free, also each draft before it (:attr:`Utterance.final`)."""
        ...

    def start_talking(self) -> None: ...

    def stop_talking(self) -> None: ...

    def close(self) -> None: ...


def _never(at: float) -> bool:
    return False


class AudioSource(ABC):
    """What every source offers: ``utterances()``, the two modes, push-to-talk keys, ``close()``.

    Subclasses supply ``now()`` and ``_frames()``: 512-sample frames with the time of their last sample,
    or ``(None, now)`` when no audio came for a while (so a released talk key is still honoured).
    ``clock`` stamps decisions (``detected_at``); ``None`` means virtual time, the frames' own.
    """

    modes: ClassVar[tuple[Mode, ...]] = MODES
    note = ""
    reconnecting = False
    level_dbfs = SILENCE_DBFS

    def __init__(self, name: str, options: EndpointerOptions, mode: Mode, clock: Clock | None) -> None:
        self.mode: Mode = mode
        self._closed = threading.Event()
        self._endpointer = Endpointer(options, name, clock)
        self._talk = PushToTalk(name, clock)
        self._muted: Callable[[float], bool] = _never

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

    def utterances(self, drafts: bool = False) -> Iterator[Utterance]:
        """Yield utterances as they end, until the source runs out (the speech it ends on is the last
        utterance) or is closed; with ``drafts``, also the endpointer's drafts."""
        at = self.now()
        for frame, at in self._frames():
            if self.mode == "push_to_talk":
                utterance = self._talk.push(frame, at)
            elif frame is not None and self._muted(at):
                self._endpointer.reset()  # what it hears now is no command, nor part of one
                continue
            elif frame is not None:
                utterance = self._endpointer.push(frame, at)
            else:
                continue
            if utterance is not None and (utterance.final or drafts):
                yield utterance
        if self.mode == "hands_free" and not self._closed.is_set():
            last = self._endpointer.flush(at)
            if last is not None:
                yield last

    def mute_while(self, muted: Callable[[float], bool]) -> None:
        """Hands-free: ignore the audio captured at a time ``muted(at)`` holds (the car's own voice)."""
        self._muted = muted

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

    When the stream dies, or delivers nothing for ``MIC_STALL_S``, the reader closes it and reopens the
    device every ``RECONNECT_EVERY_S`` (``reconnecting`` is true meanwhile, and ``on_change`` hears one
    line when the microphone is lost and one when it is back); with ``reconnect=False`` it raises
    :class:`AudioError` instead.
    """

    def __init__(
        self,
        device: str | int | None = None,
        options: EndpointerOptions | None = None,
        *,
        mode: Mode = "hands_free",
        queue_size: int = 64,
        reconnect: bool = True,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__("mic", options or EndpointerOptions(), mode, time.monotonic)
        self.device_spec = device
        self.reconnect = reconnect
        self._on_change = on_change or (lambda line: None)
        self._queue: queue.Queue[tuple[np.ndarray, float]] = queue.Queue(maxsize=queue_size)
        self._stream: Any = None
        self._stream_lock = threading.Lock()
        self._stream_ended = threading.Event()
        self._lost_at: float | None = None
        self._next_try = 0.0
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

    @property
    def reconnecting(self) -> bool:
        """The stream died and the device is being reopened."""
        return self._lost_at is not None

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
        with self._stream_lock:
            if self._stream is None:
                self._stream = self._open()
        return self

    def _open(self) -> Any:
        sd = _sounddevice()
        device = resolve_device(self.device_spec)
        self.name = f"mic:{device.name}"
        self._stream_ended.clear()
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
        return stream

    def close(self) -> None:
        super().close()
        with self._stream_lock:  # PortAudio calls on one stream from two threads can deadlock
            self._close_stream()

    def _close_stream(self) -> None:
        """Close the stream, waiting at most ``CLOSE_WAIT_S`` (see there) for PortAudio to let it go."""
        stream, self._stream = self._stream, None
        if stream is not None:
            closing = threading.Thread(
                target=stream.close, kwargs={"ignore_errors": True}, name="mic-close", daemon=True
            )
            closing.start()
            closing.join(CLOSE_WAIT_S)

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
                block, at = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                if self._recover(time.monotonic() - last_block):
                    last_block = time.monotonic()
                    framer = _Framer()
                    self._endpointer.reset()
                yield None, time.monotonic()
                continue
            last_block = time.monotonic()
            yield from framer.split(block, at)

    def _recover(self, silent_for: float) -> bool:
        """Notice a dead stream and reopen it; True once a new stream is running."""
        if self._lost_at is None:
            problem = self._problem(silent_for)
            if problem is not None:
                self._lose(problem)
            return False
        if time.monotonic() < self._next_try:
            return False
        with self._stream_lock:
            if self._closed.is_set():
                return False
            try:
                self._stream = self._open()
            except AudioError:
                self._next_try = time.monotonic() + RECONNECT_EVERY_S
                return False
        lost_for = time.monotonic() - self._lost_at
        self._lost_at = None
        self._on_change(f"{self.name}: back after {lost_for:.1f} s")
        return True

    def _problem(self, silent_for: float) -> str | None:
        """Why the stream is no good (it stopped, or went silent), or None while it delivers."""
        with self._stream_lock:
            if self._stream is None:
                return None
            stopped = self._stream_ended.is_set() or not self._stream.active
        if self._closed.is_set():  # checked after the stream: close() sets it before closing the stream
            return None
        if stopped:
            return f"Microphone '{self.name}' stopped (unplugged, or the audio server went away)"
        if silent_for > MIC_STALL_S:
            return f"Microphone '{self.name}' delivered no audio for {MIC_STALL_S:.0f} s (unplugged?)"
        return None

    def _lose(self, problem: str) -> None:
        if not self.reconnect:
            raise AudioError(f"{problem}. Reconnect it or use --wav FILE.")
        with self._stream_lock:
            self._close_stream()
        self._lost_at = time.monotonic()
        self._next_try = self._lost_at + RECONNECT_EVERY_S
        self._on_change(f"{problem}; reconnecting every {RECONNECT_EVERY_S:g} s…")


# -- the dashboard's source ---------------------------------------------------------------------


class WavPushToTalk:
    """``--wav`` replay driven by the talk key: each press and release plays the next file.

    A :class:`WavFileSource` in push-to-talk mode cuts one utterance per file; this class hands them out
    one release at a time, so the dashboard's voice loop serves files and microphone alike.
    """

    modes: ClassVar[tuple[Mode, ...]] = ("push_to_talk",)
    level_dbfs = SILENCE_DBFS
    reconnecting = False

    def __init__(self, paths: Sequence[Path]) -> None:
        self.mode: Mode = "push_to_talk"
        self._files = WavFileSource(paths, mode="push_to_talk")
        self.name = f"wav:{self._files.name}"
        self.remaining = len(paths)
        self._released = threading.Semaphore(0)
        self._closed = threading.Event()

    @property
    def note(self) -> str:
        left = self.remaining
        return f"WAV replay: {left} file(s) to go, space plays one" if left else "all WAV files played"

    def start_talking(self) -> None:
        """Nothing to do: the file is the speech."""

    def stop_talking(self) -> None:
        self._released.release()

    def utterances(self, drafts: bool = False) -> Iterator[Utterance]:
        """One file per press of the talk key (whole clips: no drafts)."""
        clips = self._files.utterances()
        while True:
            self._released.acquire()
            utterance = None if self._closed.is_set() else next(clips, None)
            if utterance is None:
                return
            self.remaining -= 1
            yield utterance

    def close(self) -> None:
        self._closed.set()
        self._released.release()
        self._files.close()


def open_source(device: str | None, wav: Sequence[Path] | None) -> VoiceSource:
    """The dashboard's source: the WAV files on the talk key when given, else the microphone
    hands-free; raises :class:`AudioError`."""
    if wav:
        return WavPushToTalk(wav)
    return MicrophoneSource(device, mode="hands_free").start()
