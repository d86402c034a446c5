"""What the dashboard runs off the UI thread: loading the assistant and its jobs.

Heavy modules (torch, transformers, faster-whisper, sounddevice) are imported inside these functions,
which only workers call, so the first frame never waits for them.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual.message import Message

from assistant.tui.messages import (
    Heard,
    ListeningStopped,
    ModelSwitched,
    ModelSwitchFailed,
    SpeechFailed,
    SpeechLoaded,
    VoiceLoaded,
)
from assistant.vehicle import Outcome, Slots, Vehicle, VehicleState

if TYPE_CHECKING:
    from assistant.events import Utterance
    from assistant.pipeline import Assistant, AssistantConfig

VARIANTS = ("qlora", "bert")
WAIT_S = 0.1

T = TypeVar("T")


class Abandoned(Exception):
    """The app quit while :func:`abandonable` was waiting."""


def abandonable(work: Callable[[], T], cancelled: Callable[[], bool]) -> T:
    """Run ``work`` on a daemon thread and wait for it, giving up once ``cancelled()`` (the app quit).

    Loading a model cannot be interrupted, and Python joins the threads Textual runs thread workers on
    before it exits; on a daemon thread the load cannot keep the driver waiting after Ctrl+Q.
    """
    future: Future[T] = Future()

    def run() -> None:
        try:
            future.set_result(work())
        except BaseException as error:  # handed to the waiting worker, which reports it
            future.set_exception(error)

    threading.Thread(target=run, name="dashboard-load", daemon=True).start()
    while True:
        try:
            return future.result(timeout=WAIT_S)
        except TimeoutError:
            if cancelled():
                raise Abandoned from None


def settle_heap(unfreeze: bool = False) -> None:
    """Collect once, then hide what survived (the models) from the cyclic garbage collector.

    A loaded model is millions of Python objects: every later full collection would walk them all,
    holding the GIL for about 0.4 s, and the dashboard would freeze mid-utterance. ``unfreeze`` first
    when a model was replaced, so the old one can be collected.
    """
    if unfreeze:
        gc.unfreeze()
    gc.collect()
    gc.freeze()


class SharedVehicle(Vehicle):
    """The dashboard's car, changed from the UI thread (keys) and the assistant's threads (commands).

    A lock keeps a speed change from being lost to a command applied at the same moment, and calls
    are stamped with ``clock`` (the dashboard's) so the phone panel can show how long a call has lasted.
    """

    def __init__(
        self, state: VehicleState | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(state)
        self._lock = threading.Lock()
        self._clock = clock

    def execute(self, action: str | None, intent: str, slots: Slots, now: float | None = None) -> Outcome:
        with self._lock:
            return super().execute(action, intent, slots, self._clock() if now is None else now)

    def simulate_incoming_call(self, contact: str) -> Outcome:
        with self._lock:
            return super().simulate_incoming_call(contact)

    def set_speed(self, kmh: float) -> Outcome:
        with self._lock:
            return super().set_speed(kmh)

    def change_speed(self, step_kmh: float) -> Outcome:
        """Speed up or slow down by ``step_kmh`` in one step (read and write under the lock)."""
        with self._lock:
            return super().set_speed(self.state.speed_kmh + step_kmh)

    def reset(self) -> None:
        with self._lock:
            super().reset()

    def restore(self, state: VehicleState) -> None:
        with self._lock:
            super().restore(state)


def load_assistant(config: AssistantConfig) -> Assistant:
    """The intent classifier only: typing works as soon as this returns; Whisper comes later."""
    from assistant.pipeline import Assistant

    return Assistant.from_config(config, with_speech=False)


def load_voice() -> Any:
    from assistant.pipeline import load_voice

    return load_voice()


def load_transcriber(config: AssistantConfig, library: Any) -> Any:
    from assistant.pipeline import load_transcriber

    return load_transcriber(config, library)


def other_variant(model_dir: Path) -> str:
    """The variant F3 switches to: BERT from QLoRA (or anything else), QLoRA from BERT."""
    return VARIANTS[0] if model_dir.name == VARIANTS[1] else VARIANTS[1]


def is_model_dir(path: Path) -> bool:
    return (path / "training.json").is_file()


@dataclass(frozen=True)
class TypedCommand:
    text: str

    def run(self, assistant: Assistant) -> Message:
        return Heard(assistant.handle_text(self.text))


@dataclass(frozen=True)
class Answer:
    """The driver's yes or no to the car's question, by key."""

    yes: bool

    def run(self, assistant: Assistant) -> Message:
        return Heard(assistant.answer(self.yes))


@dataclass(frozen=True)
class SwitchModel:
    model_dir: Path

    def run(self, assistant: Assistant) -> Message:
        try:
            assistant.use_model(self.model_dir)
        except Exception as error:  # a model that cannot load is reported, the old one stays
            return ModelSwitchFailed(self.model_dir, str(error))
        settle_heap(unfreeze=True)
        return ModelSwitched(self.model_dir)


@dataclass(frozen=True)
class Spoken:
    """An utterance the voice loop cut; ``received_at``: when it left the endpointer."""

    utterance: Utterance
    received_at: float

    def run(self, assistant: Assistant) -> Message | None:
        try:
            event = assistant.hear(self.utterance, self.received_at)
            return None if event is None else Heard(event)
        except Exception as error:  # Whisper failing mid-run: voice goes off, typing still works
            return SpeechFailed(str(error))


@dataclass(frozen=True)
class UseTranscriber:
    """Whisper, loaded beside the assistant, put to use between two commands."""

    transcriber: Any

    def run(self, assistant: Assistant) -> Message:
        assistant.transcriber = self.transcriber
        return SpeechLoaded()


@dataclass(frozen=True)
class UseVoice:
    """The car's voice (Piper), loaded beside the assistant, speaking the replies from the next command on."""

    voice: Any

    def run(self, assistant: Assistant) -> Message:
        assistant.voice = self.voice
        return VoiceLoaded(self.voice)


@dataclass(frozen=True)
class VoiceEnded:
    """The voice loop ended: the source ran out, or failed (``error``); said after its last utterance."""

    error: str = ""

    def run(self, assistant: Assistant) -> Message:
        return ListeningStopped(self.error)


Job = TypedCommand | Answer | SwitchModel | Spoken | UseTranscriber | UseVoice | VoiceEnded
