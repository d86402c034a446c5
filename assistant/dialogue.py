"""The conversation's state: a question the car asked, waiting for yes or no until it lapses.

Pure, no I/O, no clock: every transition is given the time (``now``, in seconds on any monotonic
clock). After "Navigate to phoenix?", a reply made only of yes-words ("yes", "yeah, do it") carries
the command out, one made only of no-words ("no", "never mind") drops it, and anything else is a new
command; ten seconds on, the question has lapsed and every reply is a new command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.events import Command
from assistant.policy import spoken_words

EXPIRY_S = 10.0
YES = ("yes", "yeah", "yep", "yup", "do it", "sure", "please do", "ok", "okay", "go ahead", "correct")
NO = ("no", "cancel", "never mind", "nevermind", "nope", "stop", "don't", "no thanks")
POLITE = ("please", "thanks", "thank you")
"""Words that may come with a yes or a no without changing it ("yes please", "no thank you")."""

ReplyKind = Literal["yes", "no", "other"]


@dataclass(frozen=True)
class Confirmation:
    """A command the car asked about, and until when the question stands."""

    command: Command
    question: str
    expires_at: float


@dataclass(frozen=True)
class Reply:
    """What an utterance was to the dialogue: a yes or a no to ``confirmation``, or something else."""

    kind: ReplyKind
    confirmation: Confirmation | None = None


@dataclass(frozen=True)
class Dialogue:
    """What the car is waiting for: nothing, or a yes or no to one question."""

    pending: Confirmation | None = None

    def waiting(self, now: float) -> Confirmation | None:
        """The question still standing at ``now`` (None once it has lapsed)."""
        return self.pending if self.pending and now < self.pending.expires_at else None

    def asked(self, command: Command, question: str, now: float, expiry_s: float = EXPIRY_S) -> Dialogue:
        return Dialogue(Confirmation(command, question, now + expiry_s))

    def hear(self, text: str, now: float) -> tuple[Dialogue, Reply]:
        """The reply ``text`` makes, and the state after it: any reply settles the question."""
        pending = self.waiting(now)
        kind = reply_kind(text) if pending else "other"
        return Dialogue(), Reply(kind, pending if kind != "other" else None)


def reply_kind(text: str) -> ReplyKind:
    """'yes' when the text says nothing but yes-words (and politeness), 'no' likewise, else 'other'."""
    words = spoken_words(text)
    for kind, phrases in (("yes", YES), ("no", NO)):
        if words and _made_of(words, (*phrases, *POLITE)) and not _made_of(words, POLITE):
            return kind
    return "other"


def _made_of(words: str, phrases: tuple[str, ...]) -> bool:
    """Whether ``words`` is a run of ``phrases`` and nothing else."""
    if not words:
        return True
    return any(
        _made_of(words[len(phrase) :].lstrip(), phrases)
        for phrase in phrases
        if words == phrase or words.startswith(phrase + " ")
    )
