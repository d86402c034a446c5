"""The conversation's rules alone, each on its own (pure: no model, no car, the time given)."""

from __future__ import annotations

import pytest

from assistant.compounds import compound_splits
from assistant.dialogue import (
    EXPIRY_S,
    Dialogue,
    answer_words,
    correction,
    correction_split,
    reply_kind,
    stand_in_readings,
    takes_back,
)
from assistant.events import Command, Expectation

NAVIGATE = Command("navigation", {"destination": "phoenix"}, "navigate")
CALL = Command("phone", {"action": "call"}, "control_phone")
WINDOW = Command("windows", {"window": "driver", "state": "open"}, "move_window")
WARMER = Command("climate", {"change": "up"}, "adjust_climate")
LOUDER = Command("media", {"action": "volume_up"}, "control_media")


def asked(at: float = 100.0) -> Dialogue:
    return Dialogue().asked(NAVIGATE, "Navigate to phoenix?", now=at)


def asked_who(at: float = 100.0) -> Dialogue:
    return Dialogue().asked(CALL, "Who should I call?", now=at, slot="contact")


def after(command: Command, at: float = 100.0) -> Dialogue:
    return Dialogue().acted(command, now=at)


# -- a yes-or-no question ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["yes", "Yes.", "yeah", "yep", "do it", "sure", "please do", "ok", "Yes, please.", "yeah do it"]
)
def test_yes_words_confirm(text):
    assert reply_kind(text) == "yes"


@pytest.mark.parametrize("text", ["no", "Cancel.", "never mind", "nope", "stop", "no thanks", "No, thank you."])
def test_no_words_cancel(text):
    assert reply_kind(text) == "no"


@pytest.mark.parametrize(
    "text", ["stop the radio", "yes turn on the lights", "please", "", "navigate to tucson", "yes no"]
)
def test_anything_else_is_a_new_command(text):
    assert reply_kind(text) == "other"


def test_yes_carries_out_the_question_and_settles_it():
    dialogue, reply = asked().hear("yeah", now=103.0)
    assert reply.kind == "yes" and reply.command == NAVIGATE and reply.question.question == "Navigate to phoenix?"
    assert dialogue.waiting(103.0) is None


def test_no_drops_the_question():
    dialogue, reply = asked().hear("never mind", now=103.0)
    assert reply.kind == "no" and reply.command is None
    assert dialogue.pending is None


def test_a_new_command_replaces_the_question():
    dialogue, reply = asked().hear("turn on the radio", now=101.0)
    assert reply.kind == "other" and reply.question is None
    assert dialogue.pending is None


def test_the_question_lapses_after_ten_seconds():
    dialogue = asked(at=100.0)
    assert dialogue.waiting(100.0 + EXPIRY_S - 0.1) is not None
    assert dialogue.waiting(100.0 + EXPIRY_S) is None
    _, reply = dialogue.hear("yes", now=100.0 + EXPIRY_S + 1)
    assert reply.kind == "other" and reply.question is None


def test_yes_with_no_question_is_nothing_to_confirm():
    _, reply = Dialogue().hear("yes", now=0.0)
    assert reply.kind == "other"


# -- a question for a slot --------------------------------------------------------------------------


def test_the_value_of_the_reply_completes_the_asked_command():
    dialogue, reply = asked_who().hear("mom", now=103.0, value="mom")
    assert reply.kind == "fill"
    assert reply.command == Command("phone", {"action": "call", "contact": "mom"}, "control_phone")
    assert dialogue.waiting(103.0) is None


def test_a_reply_that_is_no_value_is_a_new_command_and_no_drops_the_question():
    assert asked_who().hear("turn on the radio", now=101.0, value=None)[1].kind == "other"
    dialogue, reply = asked_who().hear("never mind", now=101.0, value=None)
    assert reply.kind == "no" and dialogue.pending is None


def test_yes_to_a_slot_question_is_no_value():
    _, reply = asked_who().hear("yes", now=101.0, value="yes")
    assert reply.kind == "other" and reply.command is None


def test_a_slot_question_lapses_too():
    _, reply = asked_who(at=100.0).hear("mom", now=100.0 + EXPIRY_S, value="mom")
    assert reply.kind == "other"


@pytest.mark.parametrize(
    ("text", "answer"),
    [("mom", "mom"), ("to the airport", "the airport"), ("No, dad.", "dad"), ("make it 21", "21")],
)
def test_words_before_an_answer_are_not_the_answer(text, answer):
    assert answer_words(text) == answer


# -- what is expected next --------------------------------------------------------------------------


def test_a_question_expects_its_intent_and_slot_else_what_the_car_makes_likely():
    assert asked_who().expecting(101.0, likely=("phone",)) == Expectation(("phone",), "contact")
    assert asked().expecting(101.0) == Expectation(("navigation",), "")
    assert Dialogue().expecting(0.0, likely=("phone",)) == Expectation(("phone",))
    assert asked_who(at=100.0).expecting(100.0 + EXPIRY_S) == Expectation()


# -- referring back to the last command ---------------------------------------------------------------


def test_acting_settles_the_question_and_is_remembered_for_ten_seconds():
    dialogue = asked_who().acted(WINDOW, now=102.0)
    assert dialogue.waiting(102.0) is None
    assert dialogue.recent(102.0 + EXPIRY_S - 0.1) == WINDOW
    assert dialogue.recent(102.0 + EXPIRY_S) is None


def test_a_question_keeps_the_last_command():
    assert after(WINDOW).asked(CALL, "Who should I call?", now=101.0, slot="contact").recent(101.0) == WINDOW


@pytest.mark.parametrize(
    ("text", "said", "slots"),
    [
        ("close it again", {"state": "closed"}, {"window": "driver", "state": "closed"}),
        ("the passenger window too", {"window": "passenger"}, {"window": "passenger", "state": "open"}),
        ("that one halfway", {"amount": 50}, {"window": "driver", "state": "open", "amount": 50}),
        ("the passenger window", {"window": "passenger"}, {"window": "passenger", "state": "open"}),  # a fragment
    ],
)
def test_a_reply_that_refers_back_changes_the_last_command(text, said, slots):
    assert after(WINDOW).refer(text, said, now=103.0) == Command("windows", slots, "move_window")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("close the passenger window", {"window": "passenger", "state": "closed"}),  # says no 'it', nor borrows
        ("open it", {"state": "open"}),  # changes nothing
        ("turn it off", {}),  # the last intent's lists say nothing in it
        ("i really think it is going to rain on the way home tonight", {"state": "closed"}),  # talk
    ],
)
def test_a_reply_that_does_not_refer_back_is_left_alone(text, said):
    assert after(WINDOW).refer(text, said, now=103.0) is None


def test_nothing_is_referred_back_to_once_it_lapsed():
    assert after(WINDOW, at=100.0).refer("close it", {"state": "closed"}, now=100.0 + EXPIRY_S) is None


@pytest.mark.parametrize("text", ["a bit more", "more", "again", "a little more please", "do it again"])
def test_more_repeats_a_relative_change(text):
    assert after(WARMER).refer(text, {}, now=101.0) == WARMER
    assert after(WINDOW).refer(text, {}, now=101.0) is None  # opening is not a step


@pytest.mark.parametrize("text", ["less", "a bit less", "go back"])
def test_less_reverses_a_relative_change(text):
    assert after(LOUDER).refer(text, {}, now=101.0).slots == {"action": "volume_down"}
    assert after(WARMER).refer(text, {}, now=101.0).slots == {"change": "down"}


def test_one_stands_for_the_last_device():
    assert stand_in_readings("the passenger one too", ("window", "open")) == [
        "the passenger one too",
        "the passenger window too",
        "the passenger open too",
    ]
    assert stand_in_readings("turn it off", ("light",)) == ["turn it off"]


# -- corrections ------------------------------------------------------------------------------------


def test_a_correction_changes_the_last_command():
    call_mom = Command("phone", {"action": "call", "contact": "mom"}, "control_phone")
    assert after(call_mom).correct({"contact": "dad"}, now=104.0).slots == {"action": "call", "contact": "dad"}
    assert after(call_mom).correct({"contact": "mom"}, now=104.0) is None  # nothing corrected
    assert after(call_mom, at=100.0).correct({"contact": "dad"}, now=100.0 + EXPIRY_S) is None


@pytest.mark.parametrize(
    ("text", "taking"),
    [("No.", True), ("nope", True), ("No, no.", True), ("stop", False), ("cancel", False), ("no, dad", False)],
)
def test_only_a_no_alone_takes_back_what_the_car_did(text, taking):
    assert takes_back(text) is taking


def test_a_no_alone_stands_while_the_last_command_does_and_acting_settles_it():
    dialogue = after(WINDOW).took_back(now=103.0)
    assert dialogue.taking_back(103.0 + EXPIRY_S - 3.1)
    assert not dialogue.taking_back(100.0 + EXPIRY_S)  # the command it takes back lapsed first
    assert not dialogue.acted(CALL, now=104.0).taking_back(104.0)
    assert not Dialogue().took_back(now=100.0).taking_back(100.0)


@pytest.mark.parametrize(
    ("text", "rest"),
    [("no, dad", "dad"), ("No wait, the passenger window.", "the passenger window"), ("I mean berlin", "berlin")],
)
def test_a_leading_correction_is_found(text, rest):
    assert correction(text) == rest


@pytest.mark.parametrize("text", ["no", "north", "nobody called", "turn off the radio"])
def test_no_correction_without_its_marker_and_something_after_it(text):
    assert correction(text) is None


def test_a_correction_inside_an_utterance_splits_what_was_begun_from_what_replaces_it():
    assert correction_split("call mom, no, call dad") == ("call mom", "call dad")
    assert correction_split("navigate to boston I mean berlin") == ("navigate to boston", "berlin")
    assert correction_split("no more high beams") is None


# -- several commands in one utterance --------------------------------------------------------------


def test_an_utterance_is_cut_at_its_conjunctions_most_parts_first():
    splits = compound_splits("turn on the lights, open the sunroof and then play jazz")
    assert splits[0] == ("turn on the lights", "open the sunroof", "play jazz")
    assert ("turn on the lights, open the sunroof", "play jazz") in splits
    assert ("turn on the lights", "open the sunroof and then play jazz") in splits
    assert compound_splits("rock and roll") == [("rock", "roll")]


def test_no_cut_without_a_conjunction_or_with_too_many():
    assert compound_splits("turn on the high beams") == []
    assert compound_splits("and") == []
    assert compound_splits("a and b and c and d and e") == []


def test_a_fragment_with_any_word_no_list_reads_is_no_reference_back():
    assert after(WINDOW).refer("the passenger window", {"window": "passenger"}, 103.0, ("the",)) is not None
    assert after(WINDOW).refer("the passenger seat", {"window": "passenger"}, 103.0, ("the", "seat")) is None


def test_talk_that_happens_to_say_it_and_a_value_is_no_reference_back():
    louder = after(LOUDER)
    unread = ("come", "on", "come", "change", "all", "rev", "it")
    assert louder.refer("come on come on change all rev it", {"action": "play"}, 101.0, unread) is None
    assert after(WINDOW).refer("close it please", {"state": "closed"}, 101.0, ("it", "please"))
