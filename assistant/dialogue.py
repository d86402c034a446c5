"""The conversation's state: the question the car asked and the command it last carried out, each
standing for ten seconds, and the rules that read a reply against them.

Pure, no I/O, no clock, no model: every transition is given the time (``now``, in seconds on any
monotonic clock) and what the pipeline read from the words (``value``, ``said``). The rules:

- a yes-or-no question ("Navigate to phoenix?"): a reply made only of yes-words ("yeah, do it")
  carries the command out, one of no-words ("never mind") drops it, anything else is a new command;
- a question for a slot ("Who should I call?"): a reply read as that slot's value ("mom") completes
  the command, no-words drop it, anything else is a new command;
- the last command: a short reply that refers back to it ("turn it off", "close it again", "the
  passenger one too") is that command with what the reply changes; "a bit more" repeats a relative
  change ("a bit warmer", "louder") and "less" reverses it; a correction ("no, dad") is the last
  command with the corrected value, carried out instead of it; a "no" alone ("No." … "the passenger
  window", a correction the endpointer cut in two) takes it back, and the next words say what instead;
- what is expected next (:class:`Expectation`): the asked intent and slot while a question stands,
  else what the car's state makes likely (the phone while it rings);
- several commands in one utterance: :func:`compound_splits` says where it may be cut, and
  :func:`correction_split` where a driver took back what they began ("call mom, no, call dad").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from assistant.events import Command, Expectation, SlotValue
from assistant.intents import spoken_words

EXPIRY_S = 10.0
"""How long a question stands, and how long the last command can be referred back to."""
YES = ("yes", "yeah", "yep", "yup", "do it", "sure", "please do", "ok", "okay", "go ahead", "correct")
NO = ("no", "cancel", "never mind", "nevermind", "nope", "stop", "don't", "no thanks")
TAKE_BACK = ("no", "nope", "not that", "that's wrong", "wrong")
"""What a driver says alone to take back what the car just did ("No." … "the passenger window")."""
POLITE = ("please", "thanks", "thank you")
"""Words that may come with a yes or a no without changing it ("yes please", "no thank you")."""
REFERRING = frozenset({"it", "them", "that", "this", "one", "ones", "too", "also", "again"})
"""Words by which a reply points back at the last command ("turn it off", "the passenger one too")."""
GLUE = frozenset({"turn", "switch", "put", "make", "set", "the", "a", "an", "and", "now", "for", "me", "to", "of"})
"""Words that frame a reply without saying what it changes ("turn it off": 'turn')."""
MAX_UNEXPLAINED_WORDS = 1
"""How many other words a reply that refers back may have."""
STAND_INS = frozenset({"one", "ones"})
"""Words that stand for the last command's device ("the passenger one": the passenger window)."""
MAX_REFERRING_WORDS = 8
"""A reply longer than this is talk about something, not a pointer back at the last command."""
DEGREE = ("a bit", "a little", "a little bit", "a tad", "slightly", "just", "even", "some", "much", "a lot")
MORE = ("more", "again", "do it again", "once more", "one more time", "same again", "further", "do that again")
LESS = ("less", "not so much", "too much", "back", "go back", "the other way")
OPPOSITE = {
    "up": "down",
    "down": "up",
    "volume_up": "volume_down",
    "volume_down": "volume_up",
    "next": "previous",
    "previous": "next",
}
"""Relative slot values, and what "less" makes of them."""
CORRECTIONS = ("no", "no wait", "wait", "sorry", "i mean", "i meant", "actually", "i said", "not that")
"""Words that take back what was just said ("no, dad"; "navigate to boston, i mean berlin")."""
ANSWER_LEAD_INS = ("to", "it's", "it is", "call", "make it", "set it to", "at", "the name is")
"""Words a driver may put before the answer to a slot question ("to the airport", "make it 21")."""

ReplyKind = Literal["yes", "no", "fill", "other"]


@dataclass(frozen=True)
class Question:
    """A question the car asked about ``command``, and until when it stands."""

    command: Command
    question: str
    expires_at: float
    slot: str = ""
    """The slot asked for ("Who should I call?": contact); "" for a yes-or-no question."""


@dataclass(frozen=True)
class Recent:
    """The command the car last carried out, and until when a reply may refer back to it."""

    command: Command
    expires_at: float


@dataclass(frozen=True)
class Reply:
    """What an utterance was to the car's question: yes, no, the slot's value (fill), or something else."""

    kind: ReplyKind
    question: Question | None = None
    """The question answered (yes, no, fill)."""
    command: Command | None = None
    """What to carry out: the asked command (yes), completed with the value (fill)."""


@dataclass(frozen=True)
class Dialogue:
    """What the car is waiting for and what it last did: each None, or standing until its expiry."""

    pending: Question | None = None
    last: Recent | None = None
    taken_back: float | None = None
    """Until when the next words say what to do instead of the last command (after a "no" alone)."""

    def waiting(self, now: float) -> Question | None:
        """The question still standing at ``now`` (None once it has lapsed)."""
        return self.pending if self.pending and now < self.pending.expires_at else None

    def recent(self, now: float) -> Command | None:
        """The last command carried out, while a reply may still refer back to it."""
        return self.last.command if self.last and now < self.last.expires_at else None

    def taking_back(self, now: float) -> bool:
        """Whether the driver said "no" to the last command and the next words say what instead."""
        return self.taken_back is not None and now < self.taken_back and self.recent(now) is not None

    def took_back(self, now: float, expiry_s: float = EXPIRY_S) -> Dialogue:
        """A "no" alone to the last command: the next words, within ``expiry_s``, correct it."""
        return replace(self, taken_back=now + expiry_s)

    def expecting(self, now: float, likely: tuple[str, ...] = ()) -> Expectation:
        """What the next words likely are: the asked intent (and slot) while a question stands, else
        the intents ``likely`` names (what the car's state makes likely, such as the phone ringing)."""
        question = self.waiting(now)
        if question is not None:
            return Expectation((question.command.intent,), question.slot)
        return Expectation(likely)

    def asked(
        self, command: Command, question: str, now: float, slot: str = "", expiry_s: float = EXPIRY_S
    ) -> Dialogue:
        return replace(self, pending=Question(command, question, now + expiry_s, slot))

    def acted(self, command: Command, now: float, expiry_s: float = EXPIRY_S) -> Dialogue:
        """Carrying ``command`` out settles any question and makes it the one to refer back to."""
        return Dialogue(last=Recent(command, now + expiry_s))

    def hear(self, text: str, now: float, value: SlotValue | None = None) -> tuple[Dialogue, Reply]:
        """The reply ``text`` makes to the standing question, and the state after it: any reply
        settles the question. ``value``: the text read as the asked slot's value (None: it says none)."""
        question = self.waiting(now)
        settled = replace(self, pending=None)
        if question is None:
            return settled, Reply("other")
        kind = reply_kind(text)
        if kind == "no":
            return settled, Reply("no", question)
        if kind == "yes" and not question.slot:
            return settled, Reply("yes", question, question.command)
        if kind == "other" and question.slot and value is not None:
            filled = replace(question.command, slots={**question.command.slots, question.slot: value})
            return settled, Reply("fill", question, filled)
        return settled, Reply("other")  # "yes" to "Who should I call?" says no one

    def refer(
        self, text: str, said: Mapping[str, SlotValue], now: float, unread: tuple[str, ...] = ()
    ) -> Command | None:
        """The last command as a reply that refers back to it changes it (None: the reply doesn't).

        ``said``: the values the last command's intent's lists say in ``text`` ("turn it off":
        state off); ``unread``: the words they leave. "a bit more" repeats a relative change, "less"
        reverses it; otherwise the reply needs a referring word ("it", "one", "too", "again"), a value
        that differs, and hardly a word besides (talk that happens to say "it" and "on" is no reply),
        or it is a fragment that borrows the rest from the last command: values of some of its slots,
        not all, and no other word ("the rear right" after "open the rear left window").
        """
        last = self.recent(now)
        words = spoken_words(text)
        if last is None or not words or len(words.split()) > MAX_REFERRING_WORDS:
            return None
        relative = {slot: value for slot, value in last.slots.items() if value in OPPOSITE}
        if _made_of(words, (*MORE, *DEGREE, *POLITE)) and not _made_of(words, (*DEGREE, *POLITE)):
            return last if relative else None
        if _made_of(words, (*LESS, *DEGREE, *POLITE)) and not _made_of(words, (*DEGREE, *POLITE)):
            flipped = {slot: OPPOSITE[str(value)] for slot, value in relative.items()}
            return replace(last, slots={**last.slots, **flipped}) if flipped else None
        if REFERRING & set(words.split()):
            return corrected(last, said) if len(_unexplained(unread)) <= MAX_UNEXPLAINED_WORDS else None
        fragment = bool(said) and not set(last.slots) <= set(said) and not _unexplained(unread)
        return corrected(last, said) if fragment else None

    def correct(self, said: Mapping[str, SlotValue], now: float) -> Command | None:
        """The last command with the values a correction says ("no, dad": contact dad); None when
        there is no last command or the correction changes nothing of it."""
        last = self.recent(now)
        return corrected(last, said) if last is not None else None


def _unexplained(words: tuple[str, ...]) -> list[str]:
    """Words of a reply that neither refer back nor frame a command ('turn', 'the', 'please')."""
    known = {word for phrase in (*DEGREE, *MORE, *LESS, *POLITE) for word in phrase.split()}
    return [word for word in words if word not in REFERRING | GLUE | known]


def corrected(command: Command, said: Mapping[str, SlotValue]) -> Command | None:
    """``command`` with the values of ``said`` that differ from its own; None when none does."""
    changed = {slot: value for slot, value in said.items() if command.slots.get(slot) != value}
    return replace(command, slots={**command.slots, **changed}) if changed else None


def reply_kind(text: str) -> Literal["yes", "no", "other"]:
    """'yes' when the text says nothing but yes-words (and politeness), 'no' likewise, else 'other'."""
    for kind, phrases in (("yes", YES), ("no", NO)):
        if _only(text, phrases):
            return kind  # type: ignore[return-value]
    return "other"


def takes_back(text: str) -> bool:
    """Whether the text only takes back what the car just did ("No."; not "stop", a media command)."""
    return _only(text, TAKE_BACK)


def _only(text: str, phrases: tuple[str, ...]) -> bool:
    """Whether the text says one or more of ``phrases``, perhaps politely, and nothing else."""
    words = spoken_words(text)
    return bool(words) and _made_of(words, (*phrases, *POLITE)) and not _made_of(words, POLITE)


def answer_words(text: str) -> str:
    """The answer to a slot question without the words put before it: 'to the airport' → 'the
    airport', 'no, dad' → 'dad'."""
    words = correction(text) or spoken_words(text)
    for lead_in in sorted(ANSWER_LEAD_INS, key=len, reverse=True):
        if words.startswith(lead_in + " "):
            return words[len(lead_in) :].strip()
    return words


def correction(text: str) -> str | None:
    """What follows a leading correction ('no, dad' → 'dad'); None when the text starts with none."""
    words = spoken_words(text)
    for marker in sorted(CORRECTIONS, key=len, reverse=True):
        if words.startswith(marker + " "):
            return words[len(marker) :].strip()
    return None


def correction_split(text: str) -> tuple[str, str] | None:
    """('call mom', 'call dad') for 'call mom, no, call dad': what was begun and what replaces it;
    None when no correction follows the first word."""
    words = spoken_words(text).split()
    for index in range(1, len(words) - 1):
        rest = correction(" ".join(words[index:]))
        if rest:
            return " ".join(words[:index]), rest
    return None


def stand_in_readings(text: str, nouns: tuple[str, ...]) -> list[str]:
    """``text``, then ``text`` with 'one' put as each of ``nouns`` ('the passenger one too' →
    'the passenger window too'): what a reply that refers back may mean."""
    words = spoken_words(text).split()
    if not STAND_INS & set(words):
        return [text]
    return [text, *(" ".join(noun if w in STAND_INS else w for w in words) for noun in nouns)]


def _made_of(words: str, phrases: tuple[str, ...]) -> bool:
    """Whether ``words`` is a run of ``phrases`` and nothing else."""
    if not words:
        return True
    return any(
        _made_of(words[len(phrase) :].lstrip(), phrases)
        for phrase in phrases
        if words == phrase or words.startswith(phrase + " ")
    )
