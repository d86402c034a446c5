"""Understanding: the joint model's intent and slot tags, read through the YAML, then the decision.

The :class:`Understander` joins the stages of understanding one text: the words are tagged by
the joint model (:mod:`assistant.classifier`), the slots are read from a template that says the
text or from the tagged spans (:mod:`assistant.slots`), and the decision says whether to act.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assistant.classifier import DEFAULT_MODEL_DIR, IntentClassifier
from assistant.events import Command, Decision, Prediction
from assistant.intents import OUT_OF_SCOPE, IntentLibrary, words
from assistant.slots import SlotReading, SlotResolver

__all__ = ["DEFAULT_MODEL_DIR", "NluOptions", "Understander", "Understanding", "load_classifier"]

HALLUCINATIONS = frozenset(
    {
        "",
        "you",
        "thank you",
        "thanks for watching",
        "thank you for watching",
        "bye",
        "bye bye",
        "okay",
        "so",
        "oh",
        "uh",
        "um",
        "hmm",
        "the end",
        "subtitles by the amara org community",
        "music",
    }
)
"""What Whisper says on silence or noise: never a command."""


@dataclass(frozen=True)
class NluOptions:
    threshold: float = 0.7
    """Below this confidence the input is rejected as out of scope."""
    margin: float = 0.2
    """Below this gap between the top two intents the input is rejected as ambiguous."""


def load_classifier(model_dir: str | Path, library: IntentLibrary) -> IntentClassifier:
    """The joint model in ``model_dir``, refused unless it was trained on ``library``'s intents."""
    return IntentClassifier(model_dir, library.fingerprint, library.path)


def decide(prediction: Prediction, reading: SlotReading, options: NluOptions) -> Decision:
    """Act only on a confident, unambiguous, in-scope prediction with evidence for it."""
    if prediction.text in HALLUCINATIONS:
        return Decision(False, "heard nothing that sounds like a command")
    if prediction.intent == OUT_OF_SCOPE:
        return Decision(False, "not something this car can do")
    if prediction.confidence < options.threshold:
        return Decision(False, f"not sure enough ({prediction.confidence:.0%} < {options.threshold:.0%})")
    if prediction.margin < options.margin:
        return Decision(False, f"could be {prediction.intent} or {prediction.ranking[1][0]}")
    if not reading.template_matched and not any(reading.confidence.values()):
        return Decision(False, "heard nothing that says what to do")
    return Decision(True)


@dataclass(frozen=True)
class Understanding:
    prediction: Prediction
    command: Command
    decision: Decision
    reading: SlotReading

    @property
    def intent(self) -> str:
        """The intent to report: out_of_scope whenever the input is rejected."""
        return self.command.intent if self.decision.accept else OUT_OF_SCOPE


class Understander:
    """Text in, :class:`Understanding` out: the joint model, the slots read through the YAML, the decision."""

    def __init__(self, classifier: IntentClassifier, library: IntentLibrary, options: NluOptions | None = None):
        self.classifier = classifier
        self.library = library
        self.slots = SlotResolver(library)
        self.options = options or NluOptions()

    def understand_many(self, texts: list[str]) -> list[Understanding]:
        predictions = self.classifier.predict([words(text) for text in texts])
        return [self._understand(text, p) for text, p in zip(texts, predictions, strict=True)]

    def understand(self, text: str) -> Understanding:
        return self.understand_many([text])[0]

    def _understand(self, text: str, prediction: Prediction) -> Understanding:
        intent = self.library.intents.get(prediction.intent)
        reading = self.slots.read(prediction.intent, text, prediction.spans)
        decision = decide(prediction, reading, self.options)
        slots = {**intent.defaults, **reading.values} if intent and decision.accept else reading.values
        command = Command(intent=prediction.intent, slots=slots, action=intent.action if intent else None)
        return Understanding(prediction, command, decision, reading)
