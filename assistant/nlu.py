"""Understanding: the joint model's intent and slot tags, read through the YAML, as evidence.

The :class:`Understander` joins the stages of understanding one text: the words are tagged by
the joint model (:mod:`assistant.classifier`), the slots are read from a template that says the
text or from the tagged spans (:mod:`assistant.slots`), and what the policy needs to judge it
comes out as :class:`~assistant.events.Evidence` (:mod:`assistant.policy` decides).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from assistant.classifier import DEFAULT_MODEL_DIR, IntentClassifier, one_thread_per_utterance
from assistant.events import Command, Evidence, Prediction, Transcript
from assistant.intents import IntentLibrary, words
from assistant.slots import SlotResolver

__all__ = ["DEFAULT_MODEL_DIR", "Understander", "load_classifier"]


def load_classifier(model_dir: str | Path, library: IntentLibrary) -> IntentClassifier:
    """The joint model in ``model_dir``, refused unless it was trained on ``library``'s intents."""
    return IntentClassifier(model_dir, library.fingerprint, library.path)


class Understander:
    """Text in, :class:`Evidence` out: the model's ranking, the slots, and what vouches for them."""

    def __init__(self, classifier: IntentClassifier, library: IntentLibrary):
        one_thread_per_utterance()
        self.classifier = classifier
        self.library = library
        self.slots = SlotResolver(library)

    def understand_many(self, texts: list[str]) -> list[Evidence]:
        predictions = self.classifier.predict([words(text) for text in texts])
        return [self.evidence(text, p) for text, p in zip(texts, predictions, strict=True)]

    def understand(self, text: str, transcript: Transcript | None = None) -> Evidence:
        return self.evidence(text, self.predict(text), transcript)

    def predict(self, text: str) -> Prediction:
        """The joint model's reading alone (the policy may weigh it before the slots are read)."""
        return self.classifier.predict([words(text)])[0]

    def evidence(self, text: str, prediction: Prediction, transcript: Transcript | None = None) -> Evidence:
        """The slots of ``prediction``'s top intent read from ``text``, with what vouches for them.

        A sentence of the car's grammar (a template with no free text says it) puts the template's
        intent first, with the model's own score for it: 'hazards on', read by the model as talk,
        is asked about rather than refused."""
        grammar = self.slots.templates.closed_intents(text)
        if grammar and prediction.intent not in grammar:
            prediction = grammar_first(prediction, grammar)
        known = self.library.intents.get(prediction.intent)
        reading = self.slots.read(prediction.intent, text, prediction.spans)
        slots = {**known.defaults, **reading.values} if known else reading.values
        return Evidence(
            prediction=prediction,
            command=Command(prediction.intent, slots, known.action if known else None),
            slot_confidence=reading.confidence,
            template_matched=reading.template_matched,
            grammar_says=prediction.intent in grammar,
            missing_required=tuple(required.slot for required in known.missing(slots)) if known else (),
            transcript=transcript,
        )


def grammar_first(prediction: Prediction, intents: frozenset[str]) -> Prediction:
    """``prediction`` with the best ranked of ``intents`` first, each score kept."""
    first = next((rank for rank in prediction.ranking if rank[0] in intents), None)
    if first is None:
        return prediction
    ranking = (first, *(rank for rank in prediction.ranking if rank != first))
    return replace(prediction, intent=first[0], confidence=first[1], ranking=ranking)
