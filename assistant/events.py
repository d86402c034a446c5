"""The frozen dataclasses that travel between pipeline stages.

Every stage stamps the time it finished (``time.monotonic()``) so an
:class:`Event` can say how long each stage took, from end of speech to the
vehicle's state change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SAMPLE_RATE = 16_000

SlotValue = str | int | float


@dataclass(frozen=True)
class Utterance:
    """One stretch of speech, as the endpointer cut it (16 kHz mono float32)."""

    audio: np.ndarray = field(repr=False)
    source: str
    speech_end: float
    """Monotonic time at which the speaker stopped (last voiced sample)."""
    detected_at: float
    """Monotonic time at which the endpointer decided the utterance was over."""

    @property
    def duration_s(self) -> float:
        return len(self.audio) / SAMPLE_RATE

    @property
    def endpoint_ms(self) -> float:
        return (self.detected_at - self.speech_end) * 1000


@dataclass(frozen=True)
class Transcript:
    text: str
    asr_ms: float
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0
    free_text: str = ""
    """What Whisper wrote on its own, before the grammar had a say ("" when not grammar-guided)."""
    grammar_match: bool = False
    """``text`` is a sentence the intents grammar says."""
    grammar_text: str = ""
    """The grammar sentence that scored best against the audio ("" when none was near)."""
    grammar_score: float | None = None
    """How much likelier (log-probability, nats) Whisper finds ``grammar_text`` than ``free_text``."""


@dataclass(frozen=True)
class Prediction:
    """Classifier scores for one text: the top intent and the ranked alternatives."""

    text: str
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    nlu_ms: float = 0.0

    @property
    def margin(self) -> float:
        """Gap between the best and the second-best score."""
        if len(self.ranking) < 2:
            return self.confidence
        return self.ranking[0][1] - self.ranking[1][1]


@dataclass(frozen=True)
class Command:
    """What the driver asked for: an intent and its filled slots."""

    intent: str
    slots: dict[str, SlotValue]
    action: str | None = None
    """The vehicle action the intent's YAML names (``None``: the car has none)."""


@dataclass(frozen=True)
class Decision:
    """The policy's verdict on a command: act, or reject and say why."""

    accept: bool
    reason: str = ""


@dataclass(frozen=True)
class Event:
    """Everything about one utterance, for the dashboard and JSON lines."""

    transcript: str
    intent: str
    confidence: float
    slots: dict[str, SlotValue]
    accepted: bool
    outcome: str
    done: bool = False
    """Whether the car carried the command out (an accepted command can still be refused by the car)."""
    ranking: tuple[tuple[str, float], ...] = ()
    reason: str = ""
    source: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "transcript": self.transcript,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "slots": self.slots,
            "accepted": self.accepted,
            "done": self.done,
            "outcome": self.outcome,
            "reason": self.reason,
            "source": self.source,
            "top": [{"intent": name, "score": round(score, 4)} for name, score in self.ranking[:3]],
            "timings_ms": {stage: round(ms, 1) for stage, ms in self.timings_ms.items()},
        }
