"""What the workers tell the app; posted from their threads, handled on the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from assistant.events import Event

if TYPE_CHECKING:
    from assistant.audio import VoiceSource


@dataclass
class AssistantLoaded(Message):
    """The intent classifier is ready: typed commands work from now on."""

    assistant: Any


@dataclass
class AssistantFailed(Message):
    error: str


class SpeechLoaded(Message):
    """Whisper is ready: voice commands work once a microphone (or WAV files) is open."""


@dataclass
class SpeechFailed(Message):
    error: str


@dataclass
class AudioOpened(Message):
    source: VoiceSource


@dataclass
class AudioFailed(Message):
    error: str


@dataclass
class Heard(Message):
    """One command went through the pipeline (typed or spoken)."""

    event: Event


@dataclass
class ModelSwitched(Message):
    model_dir: Path


@dataclass
class ModelSwitchFailed(Message):
    model_dir: Path
    error: str


@dataclass
class ListeningStopped(Message):
    """The voice loop ended: the WAV files ran out (``error`` empty) or the microphone failed."""

    error: str = ""


@dataclass
class VoiceLoaded(Message):
    """The car's voice (Piper) is ready: replies are spoken from now on."""

    voice: Any


@dataclass
class VoiceFailed(Message):
    error: str
