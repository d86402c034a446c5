"""Wiring: audio → ASR → NLU → policy → vehicle, timed per stage, one :class:`Event` per utterance.

The stages never import each other; they meet here. Audio is read on its own thread (the
source's ``utterances()``), so endpointing keeps up while Whisper works on the previous
utterance; transcription, understanding and the vehicle run on the caller's thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from assistant.events import Event, Transcript, Utterance
from assistant.intents import DEFAULT_INTENTS, IntentLibrary, load_intents
from assistant.nlu import DEFAULT_MODEL_DIR, IntentClassifier, NluOptions, Understander, Understanding
from assistant.vehicle import Outcome, Vehicle

MODELS_DIR = DEFAULT_MODEL_DIR.parent


def vocabulary_prompt(library: IntentLibrary) -> str:
    """A Whisper initial prompt that names the intents' vocabulary, most useful words first.

    The first phrase of every closed slot value, in the YAML's order, skipping a phrase whose words
    are all already named ("a bit of soy milk" after "soy milk" and "a little bit of milk"): the
    words are what biases Whisper, and the Transcriber keeps only as many as its prompt holds.
    """
    named: set[str] = set()
    phrases = []
    for slot_list in library.lists.values():
        if slot_list.free_text or slot_list.number_range:
            continue
        for value in slot_list.values:
            words = set(value.phrases[0].split())
            if isinstance(value.out, str) and len(value.phrases[0]) > 2 and not words <= named:
                phrases.append(value.phrases[0])
                named |= words
    return "Voice commands: " + ", ".join(phrases) + "."


@dataclass(frozen=True)
class AssistantConfig:
    intents: Path = DEFAULT_INTENTS
    model: Path = DEFAULT_MODEL_DIR
    whisper: str | None = None
    """A faster-whisper model folder or name; None: the bundled tiny.en."""
    nlu: NluOptions = NluOptions()
    bias_asr: bool = True
    grammar: bool = True
    """Recognition guided by the intents grammar (see :mod:`assistant.grammar`)."""


class Assistant:
    """Text or speech in, an :class:`Event` out; owns the simulated car."""

    def __init__(
        self,
        library: IntentLibrary,
        understander: Understander,
        vehicle: Vehicle | None = None,
        transcriber=None,
    ):
        self.library = library
        self.understander = understander
        self.vehicle = vehicle or Vehicle()
        self.transcriber = transcriber

    @classmethod
    def from_config(cls, config: AssistantConfig, with_speech: bool = True) -> Assistant:
        library = load_intents(config.intents)
        assistant = cls(library, Understander(IntentClassifier(config.model, library), library, config.nlu))
        if with_speech:
            assistant.transcriber = load_transcriber(config, library)
        return assistant

    def use_model(self, model_dir: Path) -> None:
        """Switch classifier (say QLoRA ↔ BERT) without touching the car or the transcriber."""
        classifier = IntentClassifier(model_dir, self.library)
        self.understander = Understander(classifier, self.library, self.understander.options)

    def handle_text(self, text: str, source: str = "typed") -> Event:
        """The path from the text onwards: NLU, policy, vehicle."""
        return self._act(Transcript(text=text, asr_ms=0.0), source, endpoint_ms=0.0, started=time.monotonic())

    def handle_utterance(self, utterance: Utterance, received_at: float | None = None) -> Event:
        """Transcribe, then act; ``received_at`` is when the utterance left the endpointer (real time)."""
        received_at = received_at or time.monotonic()
        if self.transcriber is None:
            raise RuntimeError("this assistant was built without speech recognition")
        transcript = self.transcriber.transcribe(utterance)
        return self._act(transcript, utterance.source, utterance.endpoint_ms, received_at)

    def handle_transcript(self, transcript: Transcript, source: str = "speech") -> Event:
        """Act on what a transcriber heard (benchmarks that look at the transcript first)."""
        return self._act(transcript, source, endpoint_ms=0.0, started=time.monotonic())

    def _act(self, transcript: Transcript, source: str, endpoint_ms: float, started: float) -> Event:
        understood = self.understander.understand(transcript.text)
        action_started = time.monotonic()
        outcome = self._execute(understood)
        done = time.monotonic()
        return _event(
            understood,
            transcript,
            source,
            outcome,
            {
                "endpoint": endpoint_ms,
                "asr": transcript.asr_ms,
                "nlu": understood.prediction.nlu_ms,
                "action": (done - action_started) * 1000,
                "total": endpoint_ms + (done - started) * 1000,
            },
        )

    def _execute(self, understood: Understanding) -> Outcome:
        if not understood.decision.accept:
            return Outcome(False, f"Sorry, I didn't act on that: {understood.decision.reason}.")
        command = understood.command
        return self.vehicle.execute(command.action, command.intent, command.slots, now=time.monotonic())

    def listen(self, source, stop: threading.Event | None = None) -> Iterator[Event]:
        """One event per utterance from ``source`` until it ends or ``stop`` is set."""
        for utterance, received_at in _read_in_background(source, stop or threading.Event()):
            yield self.handle_utterance(utterance, received_at)


def _event(
    understood: Understanding, transcript: Transcript, source: str, outcome: Outcome, timings: dict
) -> Event:
    accepted = understood.decision.accept
    return Event(
        transcript=transcript.text,
        intent=understood.intent,
        confidence=understood.prediction.confidence,
        slots=understood.command.slots,
        accepted=accepted,
        outcome=outcome.message,
        done=outcome.done,
        ranking=understood.prediction.ranking,
        reason=understood.decision.reason,
        source=source,
        timings_ms=timings,
    )


def load_transcriber(config: AssistantConfig, library: IntentLibrary):
    from assistant.asr import Transcriber
    from assistant.grammar import Grammar

    transcriber = Transcriber(
        config.whisper,
        initial_prompt=vocabulary_prompt(library) if config.bias_asr else None,
        grammar=Grammar(library) if config.grammar else None,
    )
    transcriber.warm_up()
    return transcriber


_END = object()


def _read_in_background(source, stop: threading.Event) -> Iterator[tuple[Utterance, float]]:
    """Run the source's endpointing on a reader thread; hand over utterances with their arrival time.

    Errors on the reader thread (a microphone unplugged) are re-raised here, on the caller's thread.
    """
    handoff: queue.Queue = queue.Queue(maxsize=32)

    def read() -> None:
        try:
            for utterance in source.utterances():
                handoff.put((utterance, time.monotonic()))
                if stop.is_set():
                    break
        except Exception as error:  # handed to the consumer, which decides how to report it
            handoff.put(error)
        finally:
            handoff.put(_END)

    reader = threading.Thread(target=read, name="audio-reader", daemon=True)
    reader.start()
    while not stop.is_set():
        try:
            item = handoff.get(timeout=0.1)
        except queue.Empty:
            continue
        if item is _END:
            return
        if isinstance(item, Exception):
            raise item
        yield item
    source.close()
