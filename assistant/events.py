"""The frozen dataclasses that travel between pipeline stages.

Every stage stamps the time it finished (``time.monotonic()``) so an
:class:`Event` can say how long each stage took, from end of speech to the
vehicle's state change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

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
    final: bool = True
    """False for a draft: the speech so far, handed on after a short silence so that transcription
    starts while the endpointer waits out the rest; the final utterance of the same speech (the same
    ``speech_end``) follows unless the speaker goes on."""

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
    expected_match: bool = False
    """``text`` is one of the sentences the car expected now (a ringing phone's 'answer'), chosen by
    Whisper's decoder against the audio."""


@dataclass(frozen=True)
class TaggedSpan:
    """Words the model tagged as one slot, where they start, and how sure it was (its least sure word)."""

    slot: str
    words: tuple[str, ...]
    start: int
    confidence: float

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass(frozen=True)
class Prediction:
    """The joint model's reading of one text: the ranked intents and the slot spans it tagged."""

    text: str
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]
    spans: tuple[TaggedSpan, ...] = ()
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
class Evidence:
    """What understanding found in one text, for the policy to judge.

    Model-agnostic: a classifier with a slot filler fills it today, a joint intent + slot model can
    fill the same fields.
    """

    prediction: Prediction
    """The intent distribution (``ranking``) over the text."""
    command: Command
    """What acting would do: the top intent, its slots with the YAML's defaults, its action."""
    slot_confidence: dict[str, float]
    """The slots the text itself says (defaults excluded), each with how sure the tagger is (0-1)."""
    template_matched: bool
    """A template of the top intent says the text word for word (hassil's recognizer)."""
    grammar_says: bool = False
    """A template of the top intent with no free-text slot says the text word for word."""
    missing_required: tuple[str, ...] = ()
    """Slots the intent needs that neither the text nor a default gives."""
    transcript: Transcript | None = None
    """Whisper's transcript with its own confidence; None for typed text."""


Verdict = Literal["act", "ask", "refuse"]


@dataclass(frozen=True)
class Decision:
    """The policy's verdict on one utterance, and why."""

    verdict: Verdict
    command: Command
    """What to carry out (act), to offer (ask), or to report (refuse: out_of_scope, no slots)."""
    reason: str
    question: str = ""
    """What the car asks before acting ("Navigate to phoenix?"); only with ``ask``."""
    slot: str = ""
    """The slot ``question`` asks for ("Who should I call?": contact); "" when it asks yes or no."""


@dataclass(frozen=True)
class Expectation:
    """What makes sense as the driver's next words: for the policy to favour, for recognition to expect."""

    intents: tuple[str, ...] = ()
    """Intents likely now ("phone" while it rings, the asked intent after a question); () when any is."""
    slot: str = ""
    """The slot the car asked for ("contact" after "Who should I call?"); "" when none."""


class Status(StrEnum):
    """An utterance's status, once the policy's verdict has been carried out.

    A ``str``: JSON lines, reports and comparisons with ``"done"`` see the plain word.
    """

    DONE = "done"
    """Acted on (the car may still have declined: see ``Event.carried_out``)."""
    ASKED = "asked"
    """The car asked before acting."""
    REFUSED = "refused"
    """Not acted on."""


STATUS: dict[Verdict, Status] = {"act": Status.DONE, "ask": Status.ASKED, "refuse": Status.REFUSED}
"""The status each policy verdict comes to."""


@dataclass(frozen=True)
class Event:
    """Everything about one utterance, for the dashboard and JSON lines."""

    transcript: str
    status: Status
    """What came of it; a plain ``"done"`` is taken too, a word that is no status is refused."""
    intent: str
    """The understood intent when done or asked, out_of_scope when refused; for several commands in
    one utterance their intents joined by " + " ("lights + windows", each in ``parts``)."""
    confidence: float
    slots: dict[str, SlotValue]
    outcome: str
    """What the car says: what it did, its question, or why it did nothing."""
    carried_out: bool = False
    """Whether the car did it: a done command can still be declined ("Sunroof stays closed above 80 km/h")."""
    ranking: tuple[tuple[str, float], ...] = ()
    reason: str = ""
    source: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    parts: tuple[Event, ...] = ()
    """The commands of a compound utterance ("… and …"), one event each, in order; () for one command."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", Status(self.status))

    def to_json(self) -> dict[str, Any]:
        return {
            "transcript": self.transcript,
            "status": self.status.value,
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "slots": self.slots,
            "carried_out": self.carried_out,
            "outcome": self.outcome,
            "reason": self.reason,
            "source": self.source,
            "top": [{"intent": name, "score": round(score, 4)} for name, score in self.ranking[:3]],
            "timings_ms": {stage: round(ms, 1) for stage, ms in self.timings_ms.items()},
            **({"parts": [part.to_json() for part in self.parts]} if self.parts else {}),
        }
