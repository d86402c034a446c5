"""The conversation's rules alone: a question waits for yes or no, anything else is new, it lapses."""

from __future__ import annotations

import pytest

from assistant.dialogue import EXPIRY_S, Dialogue, reply_kind
from assistant.events import Command

NAVIGATE = Command("navigation", {"destination": "phoenix"}, "navigate")


def asked(at: float = 100.0) -> Dialogue:
    return Dialogue().asked(NAVIGATE, "Navigate to phoenix?", now=at)


@pytest.mark.parametrize(
    "text", ["yes", "Yes.", "yeah", "yep", "do it", "sure", "please do", "ok", "Yes, please.", "yeah do it"]
)
def test_yes_words_confirm(text):
    assert reply_kind(text) == "yes"


@pytest.mark.parametrize(
    "text", ["no", "Cancel.", "never mind", "nope", "stop", "no thanks", "No, thank you."]
)
def test_no_words_cancel(text):
    assert reply_kind(text) == "no"


@pytest.mark.parametrize(
    "text", ["stop the radio", "yes turn on the lights", "please", "", "navigate to tucson", "yes no"]
)
def test_anything_else_is_a_new_command(text):
    assert reply_kind(text) == "other"


def test_yes_carries_out_the_question_and_settles_it():
    dialogue, reply = asked().hear("yeah", now=103.0)
    assert reply.kind == "yes" and reply.confirmation.command == NAVIGATE
    assert dialogue.waiting(103.0) is None


def test_no_drops_the_question():
    dialogue, reply = asked().hear("never mind", now=103.0)
    assert reply.kind == "no" and reply.confirmation.question == "Navigate to phoenix?"
    assert dialogue.pending is None


def test_a_new_command_replaces_the_question():
    dialogue, reply = asked().hear("turn on the radio", now=101.0)
    assert reply.kind == "other" and reply.confirmation is None
    assert dialogue.pending is None


def test_the_question_lapses_after_ten_seconds():
    dialogue = asked(at=100.0)
    assert dialogue.waiting(100.0 + EXPIRY_S - 0.1) is not None
    assert dialogue.waiting(100.0 + EXPIRY_S) is None
    _, reply = dialogue.hear("yes", now=100.0 + EXPIRY_S + 1)
    assert reply.kind == "other" and reply.confirmation is None


def test_yes_with_no_question_is_nothing_to_confirm():
    _, reply = Dialogue().hear("yes", now=0.0)
    assert reply.kind == "other"
