"""Wiring: audio → ASR → NLU → policy → dialogue → vehicle, timed per stage, one :class:`Event` per utterance.

The stages never import each other; they meet here. Audio is read on its own thread (the
source's ``utterances()``), so endpointing keeps up while Whisper works on the previous
utterance; transcription, understanding and the vehicle run on the caller's thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.audio import MicrophoneSource
from assistant.dialogue import Dialogue, Reply
from assistant.events import STATUS, Command, Decision, Event, Evidence, Transcript, Utterance
from assistant.intents import DEFAULT_INTENTS, IntentLibrary, check_responses, load_intents, respond
from assistant.nlu import DEFAULT_MODEL_DIR, Understander, load_classifier
from assistant.policy import Policy, PolicyOptions, refuse
from assistant.vehicle import OUTCOMES, Outcome, Vehicle

if TYPE_CHECKING:
    from assistant.voice import Voice

MODELS_DIR = DEFAULT_MODEL_DIR.parent
CONVERSATION_OUTCOMES: dict[str, tuple[str, ...]] = {
    "asked": ("question",),
    "refused": ("reason",),
    "cancelled": (),
}
"""What the conversation itself reports, beside the car's :data:`~assistant.vehicle.OUTCOMES`: the car's
question, a refusal and its reason, and "no" to a question."""
RESPONDED = {**OUTCOMES, **CONVERSATION_OUTCOMES}
"""Every outcome the intents YAML's ``responses:`` may word."""


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
    policy: PolicyOptions = PolicyOptions()
    bias_asr: bool = True
    grammar: bool = True
    """Recognition guided by the intents grammar (see :mod:`assistant.grammar`)."""
    voice: bool = False
    """Speak each reply (:func:`load_voice`; the CLI's ``listen`` and dashboard do unless ``--no-voice``)."""


@dataclass(frozen=True)
class Turn:
    """What one utterance came to before the car: the decision, and the evidence it was taken on."""

    decision: Decision
    evidence: Evidence | None = None
    """What the understander found; None when the utterance answered the car's question."""


class Assistant:
    """Text or speech in, an :class:`Event` out; owns the simulated car and the conversation.

    ``clock`` is what the conversation's expiry reads (the dashboard passes its own). A lock keeps
    the typed and the spoken path from taking turns in the conversation at the same moment.
    """

    def __init__(
        self,
        library: IntentLibrary,
        understander: Understander,
        vehicle: Vehicle | None = None,
        transcriber=None,
        policy: Policy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.library = library
        self.understander = understander
        self.vehicle = vehicle or Vehicle()
        self.transcriber = transcriber
        self.policy = policy or Policy(library)
        check_responses(library, RESPONDED)
        self.dialogue = Dialogue()
        self.clock = clock
        self.voice: Voice | None = None
        """Speaks each event's outcome when set; the microphone is deaf to it meanwhile."""
        self._turns = threading.Lock()

    @classmethod
    def from_config(cls, config: AssistantConfig, with_speech: bool = True) -> Assistant:
        library = load_intents(config.intents)
        understander = Understander(load_classifier(config.model, library), library)
        assistant = cls(library, understander, policy=Policy(library, config.policy))
        if with_speech:
            assistant.transcriber = load_transcriber(config, library)
        return assistant

    def use_model(self, model_dir: Path) -> None:
        """Switch classifier (say QLoRA ↔ BERT) without touching the car or the transcriber."""
        self.understander = Understander(load_classifier(model_dir, self.library), self.library)

    def handle_text(self, text: str, source: str = "typed") -> Event:
        """The path from the text onwards: NLU, policy, dialogue, vehicle."""
        transcript = Transcript(text=text, asr_ms=0.0)
        return self._act(transcript, source, endpoint_ms=0.0, started=time.monotonic(), spoken=False)

    def answer(self, yes: bool) -> Event:
        """The driver's answer by key (the dashboard's Y and N): the same as saying yes or no."""
        return self.handle_text("yes" if yes else "no", source="key")

    def handle_utterance(self, utterance: Utterance, received_at: float | None = None) -> Event:
        """Transcribe, then act; ``received_at`` is when the utterance left the endpointer (real time)."""
        received_at = received_at or time.monotonic()
        if self.transcriber is None:
            raise RuntimeError("this assistant was built without speech recognition")
        transcript = self.transcriber.transcribe(utterance)
        return self._act(transcript, utterance.source, utterance.endpoint_ms, received_at, spoken=True)

    def handle_transcript(self, transcript: Transcript, source: str = "speech") -> Event:
        """Act on what a transcriber heard (benchmarks that look at the transcript first)."""
        return self._act(transcript, source, endpoint_ms=0.0, started=time.monotonic(), spoken=True)

    def _act(
        self, transcript: Transcript, source: str, endpoint_ms: float, started: float, spoken: bool
    ) -> Event:
        with self._turns:
            turn = self._take_turn(transcript, spoken)
            action_started = time.monotonic()
            outcome = self._execute(turn)
        done = time.monotonic()
        nlu_ms = turn.evidence.prediction.nlu_ms if turn.evidence else 0.0
        event = _event(
            turn,
            transcript,
            source,
            outcome,
            self.words_for(outcome, turn.decision.command),
            {
                "endpoint": endpoint_ms,
                "asr": transcript.asr_ms,
                "nlu": nlu_ms,
                "action": (done - action_started) * 1000,
                "total": endpoint_ms + (done - started) * 1000,
            },
        )
        if self.voice is not None:
            self.voice.say(event.outcome)
        return event

    def _take_turn(self, transcript: Transcript, spoken: bool) -> Turn:
        """A yes or a no to the car's question, else a new command for the policy to judge.

        What Whisper makes of silence leaves the question standing (the policy refuses it).
        """
        now = self.clock()
        if not spoken or self.policy.sounds_like_speech(transcript):
            self.dialogue, reply = self.dialogue.hear(transcript.text, now)
        else:
            reply = Reply("other")
        if reply.confirmation is not None:
            asked = reply.confirmation
            if reply.kind == "yes":
                return Turn(Decision("act", asked.command, f"you said yes to “{asked.question}”"))
            return Turn(refuse(f"you said no to “{asked.question}”"))
        evidence = self.understander.understand(transcript.text, transcript if spoken else None)
        decision = self.policy.decide(evidence)
        if decision.verdict == "ask":
            self.dialogue = self.dialogue.asked(decision.command, decision.question, now)
        return Turn(decision, evidence)

    def _execute(self, turn: Turn) -> Outcome:
        decision, command = turn.decision, turn.decision.command
        if decision.verdict == "ask":
            return Outcome(False, "asked", {"question": decision.question})
        if decision.verdict == "refuse":
            if turn.evidence is None:
                return Outcome(False, "cancelled")
            return Outcome(False, "refused", {"reason": decision.reason})
        return self.vehicle.execute(command.action, command.intent, command.slots, now=self.clock())

    def words_for(self, outcome: Outcome, command: Command | None = None) -> str:
        """The outcome in the intents YAML's words, with the command's slots and the car's values put in."""
        slots = command.slots if command else {}
        return respond(self.library, outcome.key, {**slots, **outcome.values}, command.intent if command else None)

    def _car_audible(self, at: float) -> bool:
        """Whether the microphone may hear the car's own voice at ``at`` (the voice may come later)."""
        return self.voice is not None and self.voice.audible(at)

    def listen(self, source, stop: threading.Event | None = None) -> Iterator[Event]:
        """One event per utterance from ``source`` until it ends or ``stop`` is set; what the car says
        meanwhile is no utterance."""
        if isinstance(source, MicrophoneSource):  # a replayed file never hears the car
            source.mute_while(self._car_audible)
        for utterance, received_at in _read_in_background(source, stop or threading.Event()):
            yield self.handle_utterance(utterance, received_at)


def _event(
    turn: Turn, transcript: Transcript, source: str, outcome: Outcome, said: str, timings: dict
) -> Event:
    decision, evidence = turn.decision, turn.evidence
    return Event(
        transcript=transcript.text,
        status=STATUS[decision.verdict],
        intent=decision.command.intent,
        confidence=evidence.prediction.confidence if evidence else 1.0,  # an answer: the driver's own word
        slots=decision.command.slots,
        outcome=said,
        carried_out=outcome.done,
        ranking=evidence.prediction.ranking if evidence else (),
        reason=decision.reason,
        source=source,
        timings_ms=timings,
    )


def load_voice() -> Voice:
    """The car's voice, warmed up, on the default output; raises AudioError when there is none."""
    from assistant.voice import Voice

    return Voice()


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
