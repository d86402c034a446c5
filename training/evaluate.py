"""Score understood commands against expected intents and slots (the dev set's JSONL format)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistant.events import Status
from assistant.intents import OUT_OF_SCOPE
from assistant.limits import TextError, check_command, read_text


class JsonlError(ValueError):
    """A line of a JSONL file that cannot be used, phrased as ``file:line: problem``."""


@dataclass(frozen=True)
class Labelled:
    text: str
    intent: str | None = None
    slots: dict | None = None


def read_jsonl(path: Path, need_labels: bool = False) -> list[Labelled]:
    """Lines with a "text" field (and "intent"/"slots" when ``need_labels``); other fields ignored.

    Raises :class:`JsonlError` naming the file and line for anything it cannot use, and for a file
    with no lines at all.
    """
    rows = []
    try:
        lines = read_text(path).split("\n")  # not splitlines(): JSON strings may hold U+2028 and the like
    except OSError as error:
        raise JsonlError(f"{path}: cannot read ({error.strerror})") from None
    except TextError as error:
        raise JsonlError(str(error)) from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise JsonlError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise JsonlError(f'{path}:{number}: expected an object with a "text" string')
        try:
            check_command(record["text"])
        except TextError as error:
            raise JsonlError(f"{path}:{number}: {error}") from None
        if need_labels and not isinstance(record.get("intent"), str):
            raise JsonlError(f'{path}:{number}: expected an "intent" field to evaluate against')
        slots = record.get("slots") or {}
        if not isinstance(slots, dict):
            raise JsonlError(f'{path}:{number}: "slots" must be an object of slot names and values')
        rows.append(Labelled(record["text"], record.get("intent"), slots))
    if not rows:
        raise JsonlError(f'{path}: no lines to read: expected one JSON object with a "text" per line')
    return rows


def slots_match(expected: dict, predicted: dict) -> bool:
    """Every expected slot is there with the same value (numbers compared as numbers)."""
    return all(_same(value, predicted.get(name)) for name, value in expected.items())


def _same(expected, predicted) -> bool:
    if isinstance(expected, int | float) and isinstance(predicted, int | float):
        return abs(expected - predicted) < 1e-6
    return str(expected).strip().lower() == str(predicted).strip().lower()


def command_correct(expected: Labelled, intent: str, slots: dict) -> bool:
    """The intent and every given slot match: how a spoken command is counted correct."""
    return intent == expected.intent and slots_match(expected.slots or {}, slots)


def score(examples: list[Labelled], intents: list[str], slots: list[dict]) -> dict:
    """In-scope intent accuracy, out-of-scope rejection, slot exact-match where slots are given."""
    in_scope = [i for i, e in enumerate(examples) if e.intent != OUT_OF_SCOPE]
    out_of_scope = [i for i, e in enumerate(examples) if e.intent == OUT_OF_SCOPE]
    with_slots = [i for i in in_scope if examples[i].slots]
    misses = [
        {
            "text": examples[i].text,
            "expected": examples[i].intent,
            "expected_slots": examples[i].slots,
            "got": intents[i],
            "got_slots": slots[i],
        }
        for i in range(len(examples))
        if not command_correct(examples[i], intents[i], slots[i])
    ]
    return {
        "intent_accuracy": _share(in_scope, lambda i: intents[i] == examples[i].intent),
        "oos_rejection": _share(out_of_scope, lambda i: intents[i] == OUT_OF_SCOPE),
        "slot_exact_match": _share(with_slots, lambda i: command_correct(examples[i], intents[i], slots[i])),
        "command_accuracy": _share(
            range(len(examples)), lambda i: command_correct(examples[i], intents[i], slots[i])
        ),
        "counts": {
            "in_scope": len(in_scope),
            "out_of_scope": len(out_of_scope),
            "with_slots": len(with_slots),
        },
        "misses": misses,
    }


def _share(indices, correct) -> float | None:
    indices = list(indices)
    return sum(map(correct, indices)) / len(indices) if indices else None


@dataclass(frozen=True)
class Verdicts:
    """A policy's verdicts on labelled lines, measured the way the understanding bars are.

    ``rows`` pairs each line with its status (done, asked or refused) and the command reported
    (out_of_scope when refused).
    """

    rows: list[tuple[Labelled, Status, str, dict]]
    """(line, status, intent, slots) for every line."""

    def intents(self) -> list[str]:
        return list(dict.fromkeys(line.intent for line, *_ in self.rows if line.intent != OUT_OF_SCOPE))

    def statuses(self, intent: str) -> dict[str, int]:
        """How many of ``intent``'s lines were done, asked and refused."""
        statuses = [status for line, status, *_ in self.rows if line.intent == intent]
        return {status: statuses.count(status) for status in Status}

    def intent_right(self, intent: str | None = None) -> float | None:
        """In-scope lines (of ``intent``, or all) done or asked with the right intent."""
        lines = [
            row for row in self.rows if row[0].intent != OUT_OF_SCOPE and intent in (None, row[0].intent)
        ]
        return _share(lines, lambda row: row[1] != Status.REFUSED and row[2] == row[0].intent)

    def macro_intent_right(self) -> float | None:
        shares = [self.intent_right(intent) for intent in self.intents()]
        return sum(shares) / len(shares) if shares else None

    def out_of_scope_taken(self) -> float | None:
        """Out-of-scope lines done or asked about (should be refused)."""
        return _share(self._out_of_scope(), lambda row: row[1] != Status.REFUSED)

    def out_of_scope_done(self) -> float | None:
        """Out-of-scope lines done: talk that moved the car (a false action)."""
        return _share(self._out_of_scope(), lambda row: row[1] == Status.DONE)

    def _out_of_scope(self) -> list[tuple[Labelled, Status, str, dict]]:
        return [row for row in self.rows if row[0].intent == OUT_OF_SCOPE]

    def done_wrong(self) -> float | None:
        """In-scope lines done with the wrong intent or wrong slots: the car did the wrong thing."""
        lines = [row for row in self.rows if row[0].intent != OUT_OF_SCOPE]
        return _share(lines, lambda row: row[1] == Status.DONE and not command_correct(row[0], row[2], row[3]))

    def asked_wrong_slots(self) -> float | None:
        """In-scope lines asked about with the right intent but wrong slots: a yes would do the wrong thing."""
        lines = [row for row in self.rows if row[0].intent != OUT_OF_SCOPE]
        return _share(lines, _asked_with_wrong_slots)

    def done_right(self) -> float | None:
        """In-scope lines done with the right intent and slots: no question needed."""
        lines = [row for row in self.rows if row[0].intent != OUT_OF_SCOPE]
        return _share(lines, lambda row: row[1] == Status.DONE and command_correct(row[0], row[2], row[3]))


def _asked_with_wrong_slots(row: tuple[Labelled, Status, str, dict]) -> bool:
    line, status, intent, slots = row
    return status == Status.ASKED and intent == line.intent and not command_correct(line, intent, slots)
