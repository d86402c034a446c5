"""Scoring behind every accuracy figure, and the JSONL files it reads: shapes, encodings, one-line errors."""

from __future__ import annotations

import codecs
import json

import pytest

from assistant.cli import main
from assistant.intents import OUT_OF_SCOPE
from training.evaluate import JsonlError, Labelled, Verdicts, command_correct, read_jsonl, score, slots_match

# -- scoring ----------------------------------------------------------------------------------------

EXAMPLES = [
    Labelled("turn on the high beams", "lights", {"light": "high_beams", "state": "on"}),
    Labelled("set it to 21 degrees", "climate", {"temperature": 21}),
    Labelled("call mom", "phone", {"contact": "mom"}),
    Labelled("next song", "media", {}),
    Labelled("tell me a joke", OUT_OF_SCOPE, {}),
    Labelled("what's the weather", OUT_OF_SCOPE, {}),
]
INTENTS = ["lights", "climate", "phone", "windows", OUT_OF_SCOPE, "media"]
SLOTS = [
    {"light": "high_beams", "state": "on", "extra": 1},  # extra slots are fine
    {"temperature": 21.0},  # numbers compare as numbers
    {"contact": "dad"},  # right intent, wrong slot
    {},
    {},
    {},
]


def test_scores_intent_accuracy_rejection_and_slots_separately():
    result = score(EXAMPLES, INTENTS, SLOTS)
    assert result["intent_accuracy"] == pytest.approx(3 / 4)
    assert result["oos_rejection"] == pytest.approx(1 / 2)
    assert result["slot_exact_match"] == pytest.approx(2 / 3)
    assert result["command_accuracy"] == pytest.approx(3 / 6)
    assert result["counts"] == {"in_scope": 4, "out_of_scope": 2, "with_slots": 3}
    assert [miss["text"] for miss in result["misses"]] == ["call mom", "next song", "what's the weather"]


def test_a_miss_says_what_was_expected_and_what_came():
    [first, *_] = score(EXAMPLES, INTENTS, SLOTS)["misses"]
    assert first == {
        "text": "call mom",
        "expected": "phone",
        "expected_slots": {"contact": "mom"},
        "got": "phone",
        "got_slots": {"contact": "dad"},
    }


@pytest.mark.parametrize(
    ("expected", "predicted", "match"),
    [
        ({"contact": "mom"}, {"contact": "Mom "}, True),
        ({"temperature": 21}, {"temperature": 21.0000001}, True),
        ({"contact": "mom"}, {"contact": "dad"}, False),
        ({"temperature": 21}, {"temperature": 22}, False),
        ({"contact": "mom"}, {}, False),
        ({"light": "high_beams", "state": "on"}, {"light": "high_beams"}, False),
        ({}, {"anything": 1}, True),
        ({"temperature": 21}, {"temperature": "21"}, True),  # a number read as text
        ({"amount": 0}, {"amount": 1e-6}, False),  # a millionth apart is apart
    ],
)
def test_slots_match_needs_every_expected_slot_with_its_value(expected, predicted, match):
    assert slots_match(expected, predicted) is match


def test_a_command_is_correct_only_with_the_right_intent_and_slots():
    example = Labelled("call mom", "phone", {"contact": "mom"})
    assert command_correct(example, "phone", {"contact": "mom"})
    assert not command_correct(example, "phone", {"contact": "dad"})
    assert not command_correct(example, "media", {"contact": "mom"})


def test_out_of_scope_rejection_is_the_share_of_out_of_scope_lines_refused():
    lines = [Labelled(text, OUT_OF_SCOPE, {}) for text in ("tell me a joke", "sing", "hello")]
    assert score(lines, [OUT_OF_SCOPE, OUT_OF_SCOPE, "media"], [{}, {}, {}])[
        "oos_rejection"
    ] == pytest.approx(2 / 3)


def test_nothing_to_score_is_none_not_a_division_by_zero():
    result = score([Labelled("call mom", "phone", {})], ["phone"], [{}])
    assert result["oos_rejection"] is None and result["slot_exact_match"] is None
    assert result["intent_accuracy"] == 1.0


def row(intent: str, status: str, got: str, slots: dict | None = None, expected: dict | None = None) -> tuple:
    """A verdict on one line: the intent and slots it should have, the status, and what was reported."""
    return (Labelled(f"a line for {intent}", intent, expected or {}), status, got, slots or {})


MOM, DAD = {"contact": "mom"}, {"contact": "dad"}
VERDICTS = Verdicts(
    [
        *[row("phone", "done", "phone", MOM, MOM)] * 3,  # done right
        row("phone", "done", "phone", DAD, MOM),  # done with the wrong contact
        row("climate", "done", "lights"),  # done as the wrong intent
        *[row("navigation", "asked", "navigation", DAD, MOM)] * 2,  # a yes would do the wrong thing
        row("windows", "asked", "windows", MOM, MOM),  # asked, and right
        row("lights", "refused", OUT_OF_SCOPE),
        *[row(OUT_OF_SCOPE, "refused", OUT_OF_SCOPE)] * 2,
        row(OUT_OF_SCOPE, "asked", "navigation"),
        row(OUT_OF_SCOPE, "done", "media"),
    ]
)


def test_verdicts_count_each_intents_lines_by_status():
    assert VERDICTS.intents() == ["phone", "climate", "navigation", "windows", "lights"]
    assert VERDICTS.statuses("phone") == {"done": 4, "asked": 0, "refused": 0}
    assert VERDICTS.statuses("navigation") == {"done": 0, "asked": 2, "refused": 0}
    assert VERDICTS.statuses(OUT_OF_SCOPE) == {"done": 1, "asked": 1, "refused": 2}


def test_verdicts_measure_what_the_understanding_bars_name():
    assert VERDICTS.intent_right() == pytest.approx(7 / 9)  # done or asked with the right intent
    assert VERDICTS.intent_right("phone") == 1.0 and VERDICTS.intent_right("climate") == 0.0
    assert VERDICTS.macro_intent_right() == pytest.approx(3 / 5)  # phone, navigation, windows
    assert VERDICTS.out_of_scope_taken() == pytest.approx(2 / 4)
    assert VERDICTS.out_of_scope_done() == pytest.approx(1 / 4)  # talk that moved the car
    assert VERDICTS.done_wrong() == pytest.approx(2 / 9)
    assert VERDICTS.asked_wrong_slots() == pytest.approx(2 / 9)
    assert VERDICTS.done_right() == pytest.approx(3 / 9)


def test_a_refused_line_is_never_right_whatever_intent_it_carries():
    assert Verdicts([row("lights", "refused", "lights")]).intent_right() == 0.0


def test_verdicts_on_no_lines_are_none_not_a_division_by_zero():
    empty = Verdicts([])
    assert empty.intents() == [] and empty.macro_intent_right() is None
    assert empty.intent_right() is None and empty.out_of_scope_taken() is None and empty.out_of_scope_done() is None
    assert empty.done_wrong() is None and empty.asked_wrong_slots() is None and empty.done_right() is None


# -- reading JSONL ----------------------------------------------------------------------------------

LINES = [
    {"text": "call mom", "intent": "phone", "slots": {"contact": "mom"}},
    {"text": "hello", "intent": OUT_OF_SCOPE},
]


def jsonl(records) -> str:
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)


FIRST_LINE = jsonl(LINES[:1]).encode()
BAD_BYTE_LINE = b'{"text": "caf\xe9", "intent": "media"}\n'  # Latin-1, not UTF-8


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: text.encode("utf-16"),  # with its BOM, as Windows tools write it
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    ],
    ids=["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_utf8_and_files_with_a_byte_order_mark_read_the_same(tmp_path, encode):
    path = tmp_path / "dev.jsonl"
    path.write_bytes(encode(jsonl(LINES)))
    assert read_jsonl(path, need_labels=True) == [
        Labelled("call mom", "phone", {"contact": "mom"}),
        Labelled("hello", OUT_OF_SCOPE, {}),
    ]


def test_a_line_separator_inside_a_text_is_not_a_line_break(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text(jsonl([{"text": "call mom\u2028now", "intent": "phone"}]), encoding="utf-8")
    assert [row.text for row in read_jsonl(path)] == ["call mom\u2028now"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (jsonl(LINES).encode("utf-16-le"), ":1: NUL bytes in a text file: UTF-16 without a byte-order mark?"),
        (
            FIRST_LINE + BAD_BYTE_LINE,
            f":2: not valid UTF-8 (byte {len(FIRST_LINE) + BAD_BYTE_LINE.index(0xE9)})",
        ),
        (
            jsonl([*LINES, {"text": "open it", "intent": "windows", "slots": "x"}]).encode(),
            ':3: "slots" must be an object',
        ),
        (
            jsonl([*LINES, {"text": "open it", "intent": "windows", "slots": [1]}]).encode(),
            ':3: "slots" must be an object',
        ),
        (jsonl([{"text": "open it"}]).encode(), ':1: expected an "intent" field'),
        (b"", ': no lines to read: expected one JSON object with a "text" per line'),
        (b"\n\n  \n", ": no lines to read"),
        (b"{not json}\n", ":1: not valid JSON"),
    ],
    ids=[
        "utf-16-without-bom",
        "latin-1-byte",
        "slots-string",
        "slots-list",
        "no-intent",
        "empty",
        "blank",
        "bad-json",
    ],
)
def test_a_file_that_cannot_be_scored_is_one_line_naming_file_and_line(tmp_path, capsys, content, problem):
    path = tmp_path / "dev.jsonl"
    path.write_bytes(content)
    with pytest.raises(JsonlError) as caught:
        read_jsonl(path, need_labels=True)
    assert str(caught.value).startswith(f"{path}{problem}"), str(caught.value)
    assert main(["evaluate", str(path), "--model", str(tmp_path / "no-model")]) == 2
    err = capsys.readouterr().err
    assert err == f"car-assistant: {caught.value}\n"


def test_out_of_scope_lines_taken_count_the_done_and_asked_not_the_refused():
    rows = [row(OUT_OF_SCOPE, "done", "lights"), *[row(OUT_OF_SCOPE, "refused", OUT_OF_SCOPE)] * 3]
    assert Verdicts(rows).out_of_scope_taken() == pytest.approx(1 / 4)
