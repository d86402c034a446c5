"""Wiring: audio → ASR → NLU → policy → dialogue → vehicle, timed per stage, one :class:`Event` per utterance
(with one part per command when an utterance says several).

The stages never import each other; they meet here. Audio is read on its own thread (the
source's ``utterances()``), so endpointing keeps up while Whisper works on the previous
utterance; transcription, understanding and the vehicle run on the caller's thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.audio import MicrophoneSource
from assistant.compounds import compound_splits
from assistant.dialogue import (
    Dialogue,
    Question,
    Reply,
    answer_words,
    corrected,
    correction,
    correction_split,
    stand_in_readings,
    takes_back,
)
from assistant.events import (
    STATUS,
    Command,
    Decision,
    Event,
    Evidence,
    Expectation,
    SlotValue,
    Transcript,
    Utterance,
)
from assistant.intents import (
    DEFAULT_INTENTS,
    IntentLibrary,
    check_responses,
    load_intents,
    normalize,
    respond,
    sayings,
)
from assistant.nlu import DEFAULT_MODEL_DIR, Understander, load_classifier
from assistant.phonebook import DEFAULT_PHONEBOOK, load_phonebook, with_phonebook
from assistant.policy import Policy, PolicyOptions, refuse
from assistant.vehicle import OUTCOMES, Outcome, Vehicle, VehicleState, likely_actions, likely_commands

if TYPE_CHECKING:
    from assistant.voice import Voice

MODELS_DIR = DEFAULT_MODEL_DIR.parent
CONVERSATION_OUTCOMES: dict[str, tuple[str, ...]] = {
    "asked": ("question",),
    "refused": ("reason",),
    "cancelled": (),
    "instead": (),
}
"""What the conversation itself reports, beside the car's :data:`~assistant.vehicle.OUTCOMES`: the car's
question, a refusal and its reason, "no" to a question, and "no" alone to what the car just did (undone)."""
RESPONDED = {**OUTCOMES, **CONVERSATION_OUTCOMES}
"""Every outcome the intents YAML's ``responses:`` may word."""


def vocabulary_prompt(library: IntentLibrary, names: Sequence[str] = ()) -> str:
    """A Whisper initial prompt that names the intents' vocabulary, most useful words first.

    The first phrase of every closed slot value, in the YAML's order, skipping a phrase whose words
    are all already named ("a bit of soy milk" after "soy milk" and "a little bit of milk"): the
    words are what biases Whisper, and the Transcriber keeps only as many as its prompt holds.
    ``names`` (the phone book's contacts and places, as written there) come first: a name is the
    hardest word to guess.
    """
    named: set[str] = set()
    phrases = list(dict.fromkeys(names))
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
    phonebook: Path = DEFAULT_PHONEBOOK
    """The car's contacts and places (see :mod:`assistant.phonebook`); read at start, no retraining."""
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
    """What one command came to before the car: the decision, and the evidence it was taken on."""

    decision: Decision
    evidence: Evidence | None = None
    """What the understander found; None when the utterance answered the car's question."""
    text: str = ""
    """The words this command was said in, where they are not the transcript's: a part of a compound
    utterance, or Whisper's own words taken over the grammar sentence ("" when the transcript says it)."""
    undo: bool = False
    """A correction ("no, dad"): the car goes back to before the last command, then does this one."""
    takes_back: bool = False
    """A "no" alone to the last command: the car goes back to before it, and the next words may say
    what to do instead."""


class Assistant:
    """Text or speech in, an :class:`Event` out; owns the simulated car and the conversation.

    ``clock`` is what the conversation's expiry reads (the dashboard passes its own). A lock keeps
    the typed and the spoken path from taking turns in the conversation at the same moment.
    ``names``: the phone book's names as written there ('Alex Chen'), how the recognizer scores an
    answer to "Who should I call?" (Whisper writes 'Alex Chen.', and finds 'Alex chen.' 10 nats less
    likely).
    """

    def __init__(
        self,
        library: IntentLibrary,
        understander: Understander,
        vehicle: Vehicle | None = None,
        transcriber=None,
        policy: Policy | None = None,
        clock: Callable[[], float] = time.monotonic,
        names: Sequence[str] = (),
    ):
        self.library = library
        self._written = {normalize(name): name for name in names}
        self.understander = understander
        self.vehicle = vehicle or Vehicle()
        self.transcriber = transcriber
        self.policy = policy or Policy(library)
        check_responses(library, RESPONDED)
        self.dialogue = Dialogue()
        self.clock = clock
        self._before_last: VehicleState | None = None
        """The car before the last command carried out (what a correction goes back to)."""
        self.voice: Voice | None = None
        """Speaks each event's outcome when set; the microphone is deaf to it meanwhile."""
        self._turns = threading.Lock()
        self._draft: tuple[tuple, Transcript] | None = None
        """The last draft's transcript, under the key its final utterance must have to use it."""

    @classmethod
    def from_config(cls, config: AssistantConfig, with_speech: bool = True) -> Assistant:
        book = load_phonebook(config.phonebook)
        library = with_phonebook(load_intents(config.intents), book)
        understander = Understander(load_classifier(config.model, library), library)
        names = book.spoken_names()
        assistant = cls(library, understander, policy=Policy(library, config.policy), names=names)
        if with_speech:
            assistant.transcriber = load_transcriber(config, library, names)
        return assistant

    def use_model(self, model_dir: Path) -> None:
        """Switch classifier (say QLoRA ↔ BERT) without touching the car or the transcriber."""
        self.understander = Understander(load_classifier(model_dir, self.library), self.library)

    def reset(self) -> None:
        """The car as it was created and no conversation under way (benchmarks judge each clip alone)."""
        with self._turns:
            self.vehicle.reset()
            self.dialogue = Dialogue()

    def handle_text(self, text: str, source: str = "typed") -> Event:
        """The path from the text onwards: NLU, policy, dialogue, vehicle."""
        transcript = Transcript(text=text, asr_ms=0.0)
        return self._act(transcript, source, endpoint_ms=0.0, started=time.monotonic(), spoken=False)

    def answer(self, yes: bool) -> Event:
        """The driver's answer by key (the dashboard's Y and N): the same as saying yes or no."""
        return self.handle_text("yes" if yes else "no", source="key")

    def hear(self, utterance: Utterance, received_at: float | None = None) -> Event | None:
        """What the endpointer hands on: a draft is transcribed ahead and kept (no event yet), a final
        utterance is acted on (:meth:`handle_utterance`)."""
        if utterance.final:
            return self.handle_utterance(utterance, received_at)
        expected = self.expected_sentences()
        self._draft = (_draft_key(utterance, expected), self._transcribe(utterance, expected))
        return None

    def handle_utterance(self, utterance: Utterance, received_at: float | None = None) -> Event:
        """Transcribe, then act; ``received_at`` is when the utterance left the endpointer (real time).

        The transcript of the last draft stands in when no voice came after it (the same speech end)
        and the car expects the same sentences as then.
        """
        received_at = received_at or time.monotonic()
        expected = self.expected_sentences()
        draft, self._draft = self._draft, None
        if draft is not None and draft[0] == _draft_key(utterance, expected):
            transcript = draft[1]
        else:
            transcript = self._transcribe(utterance, expected)
        return self._act(
            transcript, utterance.source, utterance.endpoint_ms, received_at, spoken=True, heard_at=time.monotonic()
        )

    def _transcribe(self, utterance: Utterance, expected: list[str]) -> Transcript:
        if self.transcriber is None:
            raise RuntimeError("this assistant was built without speech recognition")
        return self.transcriber.transcribe(utterance, expected=expected)

    def expected_sentences(self) -> list[str]:
        """What the driver most likely says next, for the recognizer: after "Who should I call?", a
        name the car knows (the phone book's first, as written there); to a ringing phone, answer or
        decline it (the shortest ways the YAML says each)."""
        expectation = self.expecting()
        if expectation.slot:
            return [
                self._written.get(phrase, phrase)
                for intent in expectation.intents
                for slot_list in self.library.slot_lists(intent).get(expectation.slot, [])
                if slot_list.free_text
                for value in slot_list.values
                for phrase in value.phrases
            ][:EXPECTED_NAMES]
        return [
            sentence
            for action, slots in likely_commands(self.vehicle.state)
            for name, intent in self.library.intents.items()
            if intent.action == action
            for sentence in sorted(sayings(self.library, name, slots), key=len)[:EXPECTED_PER_COMMAND]
        ]

    def handle_transcript(self, transcript: Transcript, source: str = "speech") -> Event:
        """Act on what a transcriber heard (benchmarks that look at the transcript first)."""
        return self._act(transcript, source, endpoint_ms=0.0, started=time.monotonic(), spoken=True)

    def expecting(self) -> Expectation:
        """What the driver's next words likely are (for the policy now, and for recognition)."""
        likely = likely_actions(self.vehicle.state)
        intents = tuple(name for name, intent in self.library.intents.items() if intent.action in likely)
        return self.dialogue.expecting(self.clock(), intents)

    def _act(
        self,
        transcript: Transcript,
        source: str,
        endpoint_ms: float,
        started: float,
        spoken: bool,
        heard_at: float | None = None,
    ) -> Event:
        """``started``: when the endpointer decided (or the text came); ``heard_at``: when the
        transcript was there (the same for text)."""
        with self._turns:
            turns = self._take_turns(transcript, spoken)
            action_started = time.monotonic()
            outcomes = [self._execute(turn) for turn in turns]
        done = time.monotonic()
        timings = {
            "endpoint": endpoint_ms,
            "asr": transcript.asr_ms,
            "asr_wait": ((heard_at or started) - started) * 1000,
            "nlu": sum(turn.evidence.prediction.nlu_ms for turn in turns if turn.evidence),
            "action": (done - action_started) * 1000,
            "total": endpoint_ms + (done - started) * 1000,
        }
        said = [
            self.words_for(outcome, turn.decision.command)
            for turn, outcome in zip(turns, outcomes, strict=True)
        ]
        if len(turns) == 1:
            event = _event(turns[0], turns[0].text or transcript.text, source, outcomes[0], said[0], timings)
        else:
            parts = tuple(
                _event(
                    turn,
                    turn.text,
                    source,
                    outcome,
                    words,
                    {"nlu": turn.evidence.prediction.nlu_ms if turn.evidence else 0},
                )
                for turn, outcome, words in zip(turns, outcomes, said, strict=True)
            )
            event = _compound_event(transcript.text, source, parts, timings)
        if self.voice is not None:
            self.voice.say(event.outcome)
        return event

    def _take_turns(self, transcript: Transcript, spoken: bool) -> list[Turn]:
        """The commands an utterance comes to, in order: an answer to the car's question, several
        commands said as one, a correction, a reference back to the last command, or a new command.

        What Whisper makes of silence leaves the question standing (the policy refuses it).
        """
        now, text = self.clock(), transcript.text
        heard = transcript if spoken else None
        if heard is not None and not self.policy.sounds_like_speech(heard):
            return [self._judged(text, heard, now)]
        question = self.dialogue.waiting(now)
        if question is not None and not question.slot:
            self.dialogue, reply = self.dialogue.hear(text, now)
            if reply.kind != "other":
                return [self._answered(reply)]
        last = self.dialogue.recent(now)
        if question is None and last is not None and takes_back(text):
            return [Turn(Decision("ask", last, f"you said no to {_said_as(last)}"), takes_back=True)]
        text, turn = self._likelier_reading(text, self._judged(text, heard, now), heard, now)
        several = [] if self._one_listed_command(turn) else self._several(text, heard, now)
        if several:
            return several
        if question is not None and question.slot:
            value = (
                None
                if _new_command(turn, question)
                else self._answer(question, text) or _said_slot(turn, question)
            )
            self.dialogue, reply = self.dialogue.hear(text, now, value)
            if reply.kind != "other":
                return [self._answered(reply)]
        return [self._referred(text, turn, heard, now) or turn]

    def _likelier_reading(
        self, text: str, turn: Turn, heard: Transcript | None, now: float
    ) -> tuple[str, Turn]:
        """Whisper's own words instead of the grammar sentence that replaced them, where Whisper
        found its own words the likelier of the two and they mean something the grammar sentence
        does not: a command the policy acts on where it would not act on the grammar sentence
        ('pause the radio', which no template says, is not lost to 'Buzz the radio.': the wildcard
        of 'buzz {contact}' takes any words, a call the car would not make), or a reply to the last
        command ('Turn it off.' after 'play the radio' is not lost to the template 'Turn it up.')."""
        free = heard.free_text if heard is not None else ""
        if (
            not free
            or free == text
            or not heard.grammar_match
            or heard.expected_match
            or (heard.grammar_score or 0.0) >= 0.0
        ):
            return text, turn
        own = replace(self._judged(free, heard, now), text=free)
        acts_instead = own.decision.verdict == "act" and turn.decision.verdict != "act"
        return (free, own) if acts_instead or self._referred(free, own, heard, now) else (text, turn)

    def _answer(self, question: Question, text: str) -> SlotValue | None:
        """``text`` read as the value of the slot ``question`` asks for. A value the YAML does not list
        (a new name) is taken only when the model, too, ranks the asked intent first or second for
        the reply: a name and a bit of talk ('well, look') read alike as free text. A listed value
        (a number of the range included) needs no such vouching."""
        intent, slot, words = question.command.intent, question.slot, answer_words(text)
        slots = self.understander.slots
        listed = slots.listed_value(intent, slot, words)
        if listed is not None:
            return listed
        value = slots.free_value(intent, slot, words)
        if value is None or slots.phrase(intent, slot, value) is not None:
            return value
        ranking = self.understander.predict(words).ranking
        return value if intent in [name for name, _ in ranking[:2]] else None

    def _judged(self, text: str, heard: Transcript | None, now: float) -> Turn:
        """The policy's decision on ``text`` as a command of its own, weighed by what is expected now."""
        prediction = self.policy.favour(self.understander.predict(text), self.expecting())
        evidence = self.understander.evidence(text, prediction, heard)
        return Turn(self.policy.decide(evidence), evidence)

    def _answered(self, reply: Reply) -> Turn:
        """Yes, no or a slot's value to the car's question; a yes to a command still missing a
        required slot asks for it."""
        asked, command = reply.question.question if reply.question else "", reply.command
        if command is None:
            return Turn(refuse(f"you said no to “{asked}”"))
        intent = self.library.intents.get(command.intent)
        missing = intent.missing(command.slots) if intent else ()
        if missing:
            return Turn(
                Decision("ask", command, f"no {missing[0].slot} heard", missing[0].question, missing[0].slot)
            )
        how = "you said yes to" if reply.kind == "yes" else "you answered"
        return Turn(Decision("act", command, f"{how} “{asked}”"))

    def _several(self, text: str, heard: Transcript | None, now: float) -> list[Turn]:
        """Several commands in one utterance, each understood as a command of its own ('turn on the
        high beams and open the sunroof'), or one taken back ('call mom, no, call dad'); [] when the
        utterance is one command. A cut is made only where every part is a command the policy acts on,
        so 'rock and roll' and 'play simon and garfunkel' stay whole."""
        judged: dict[str, Turn] = {}

        def judge(part: str) -> Turn:
            if part not in judged:
                judged[part] = self._judged(part, heard, now)
            return judged[part]

        taken_back = correction_split(text)
        if taken_back is not None:
            begun, rest = taken_back
            first = judge(begun)
            if first.decision.verdict == "act":
                instead = self._instead(first.decision.command, rest, heard, now)
                return [instead] if instead is not None else []
        for parts in compound_splits(text):
            turns = [judge(part) for part in parts]
            if all(turn.decision.verdict == "act" for turn in turns):
                return [replace(turn, text=part) for turn, part in zip(turns, parts, strict=True)]
        return []

    def _one_listed_command(self, turn: Turn) -> bool:
        """A command a template says word for word, every value from a list: not cut at its commas
        ('a triple shot, light roast, iced coffee'). A free-text value may have swallowed a second
        command ('navigate to the airport and turn on the A/C'), so such a command can still be cut."""
        if not _template_command(turn):
            return False
        command = turn.decision.command
        return not any(self.understander.slots.free_text(command.intent, slot) for slot in command.slots)

    def _referred(self, text: str, turn: Turn, heard: Transcript | None, now: float) -> Turn | None:
        """``text`` read against the last command: a correction of it ("no, dad") or a reference back
        to it ("turn it off", "the passenger one too", "a bit more"); None when it is neither, when
        the text is a confident command for something else, or a command a template says word for
        word ("make it a bit warmer" after "turn the fan up": the 'it' is the cabin's)."""
        last = self.dialogue.recent(now)
        decided = turn.decision
        if last is None or (decided.verdict == "act" and decided.command.intent != last.intent):
            return None
        rest = correction(text) or (text if self.dialogue.taking_back(now) else None)
        if rest:
            return self._instead(last, rest, heard, now, undo=True)
        if _template_command(turn):
            return None
        slots = self.understander.slots
        nouns = tuple(
            phrase.split()[-1]
            for slot, value in last.slots.items()
            if (phrase := slots.phrase(last.intent, slot, value))
        )
        readings = [slots.values_in(last.intent, reading) for reading in stand_in_readings(text, nouns)]
        said = max(readings, key=lambda read: sum(last.slots.get(k) != v for k, v in read.values.items()))
        command = self.dialogue.refer(text, said.values, now, said.unread)
        if command is None:
            return None
        return Turn(Decision("act", command, f"you referred back to {_said_as(last)}"), turn.evidence, text=turn.text)

    def _instead(
        self, command: Command, rest: str, heard: Transcript | None, now: float, undo: bool = False
    ) -> Turn | None:
        """What replaces ``command`` when the driver takes it back: ``rest`` as a command of its own
        (the car first taken back to before ``command`` when ``undo`` and it is the same intent), or
        ``command`` with the values ``rest`` says ('dad' for the contact); None when it says none."""
        alone = self._judged(rest, heard, now)
        if alone.decision.verdict == "act":
            return replace(alone, undo=undo and alone.decision.command.intent == command.intent)
        said = {
            slot: value
            for slot in command.slots
            if (value := self.understander.slots.value(command.intent, slot, rest)) is not None
        }
        changed = corrected(command, said)
        if changed is None:
            return None
        return Turn(Decision("act", changed, f"you corrected {_said_as(command)}"), alone.evidence, undo=undo)

    def _execute(self, turn: Turn) -> Outcome:
        """Carry the turn out and remember it in the conversation."""
        decision, command, now = turn.decision, turn.decision.command, self.clock()
        if turn.takes_back:  # the car goes back to before it; the next words may say what instead
            undone = self._before_last is not None
            if undone:
                self.vehicle.restore(self._before_last)
            self.dialogue = self.dialogue.took_back(now)
            return Outcome(undone, "instead")
        if decision.verdict == "ask":
            self.dialogue = self.dialogue.asked(command, decision.question, now, decision.slot)
            return Outcome(False, "asked", {"question": decision.question})
        if decision.verdict == "refuse":
            if turn.evidence is None:
                return Outcome(False, "cancelled")
            return Outcome(False, "refused", {"reason": decision.reason})
        if turn.undo and self._before_last is not None:
            self.vehicle.restore(self._before_last)
        self._before_last = self.vehicle.state
        self.dialogue = self.dialogue.acted(command, now)
        return self.vehicle.execute(command.action, command.intent, command.slots, now=now)

    def words_for(self, outcome: Outcome, command: Command | None = None) -> str:
        """The outcome in the intents YAML's words, with the command's slots and the car's values put in
        (a booked name as the phone book writes it: "Calling Alex Chen.")."""
        slots = command.slots if command else {}
        values = {
            name: self._written.get(value, value) if isinstance(value, str) else value
            for name, value in {**slots, **outcome.values}.items()
        }
        return respond(self.library, outcome.key, values, command.intent if command else None)

    def _car_audible(self, at: float) -> bool:
        """Whether the microphone may hear the car's own voice at ``at`` (the voice may come later)."""
        return self.voice is not None and self.voice.audible(at)

    def listen(self, source, stop: threading.Event | None = None) -> Iterator[Event]:
        """One event per utterance from ``source`` until it ends or ``stop`` is set; what the car says
        meanwhile is no utterance."""
        if isinstance(source, MicrophoneSource):  # a replayed file never hears the car
            source.mute_while(self._car_audible)
        for utterance, received_at in _read_in_background(source, stop or threading.Event()):
            event = self.hear(utterance, received_at)
            if event is not None:
                yield event


def _template_command(turn: Turn) -> bool:
    """The policy acts on it, and a template says it word for word."""
    return turn.decision.verdict == "act" and turn.evidence is not None and turn.evidence.template_matched


def _draft_key(utterance: Utterance, expected: list[str]) -> tuple:
    """A draft serves the final utterance of the same speech (no voice since), heard with the same
    expectations."""
    return utterance.source, utterance.speech_end, tuple(expected)


EXPECTED_PER_COMMAND = 8
"""Sentences per expected command the recognizer scores against the audio (each costs decoder time)."""
EXPECTED_NAMES = 16
"""Known names (the phone book's first) the recognizer scores against an answer to a slot question."""


def _event(turn: Turn, text: str, source: str, outcome: Outcome, said: str, timings: dict) -> Event:
    decision, evidence = turn.decision, turn.evidence
    return Event(
        transcript=text,
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


def _compound_event(text: str, source: str, parts: tuple[Event, ...], timings: dict) -> Event:
    """One utterance, several commands: each part its own event, the whole their sum."""
    return Event(
        transcript=text,
        status="done",
        intent=" + ".join(part.intent for part in parts),
        confidence=min(part.confidence for part in parts),
        slots={},
        outcome=" ".join(part.outcome for part in parts),
        carried_out=all(part.carried_out for part in parts),
        reason=f"{len(parts)} commands in one utterance",
        source=source,
        timings_ms=timings,
        parts=parts,
    )


def _new_command(turn: Turn, question: Question) -> bool:
    """Whether a reply to a slot question is a command of another intent: one the policy acts on
    ('turn on the radio' after "Who should I call?"), or one asking for its own missing slot
    ('navigate'). A reply of the asked intent answers the question ('set it to 23')."""
    decision = turn.decision
    if decision.command.intent == question.command.intent:
        return False
    return decision.verdict == "act" or (decision.verdict == "ask" and bool(decision.slot))


def _said_slot(turn: Turn, question: Question) -> SlotValue | None:
    """The asked slot's value in a reply the policy acts on as the asked intent ('set it to 23')."""
    acted = turn.decision.verdict == "act" and turn.decision.command.intent == question.command.intent
    return turn.decision.command.slots.get(question.slot) if acted else None


def _said_as(command: Command) -> str:
    """'windows (window=driver, state=open)': a command as the reasons name it."""
    return f"{command.intent} ({', '.join(f'{slot}={value}' for slot, value in command.slots.items())})"


def load_voice() -> Voice:
    """The car's voice, warmed up, on the default output; raises AudioError when there is none."""
    from assistant.voice import Voice

    return Voice()


def load_transcriber(config: AssistantConfig, library: IntentLibrary, names: Sequence[str] = ()):
    """Whisper, prompted with the car's vocabulary and ``names`` (the phone book's), and guided by
    the intents grammar, as ``config`` asks."""
    from assistant.asr import Transcriber
    from assistant.grammar import Grammar

    transcriber = Transcriber(
        config.whisper,
        initial_prompt=vocabulary_prompt(library, names) if config.bias_asr else None,
        grammar=Grammar(library) if config.grammar else None,
    )
    transcriber.warm_up()
    return transcriber


_END = object()


def _read_in_background(source, stop: threading.Event) -> Iterator[tuple[Utterance, float]]:
    """Run the source's endpointing on a reader thread; hand over utterances, drafts included, with
    their arrival time. A draft with anything behind it is skipped: it is too late to save time.

    Errors on the reader thread (a microphone unplugged) are re-raised here, on the caller's thread.
    """
    handoff: queue.Queue = queue.Queue(maxsize=32)

    def read() -> None:
        try:
            for utterance in source.utterances(drafts=True):
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
        if item[0].final or handoff.empty():
            yield item
    source.close()
