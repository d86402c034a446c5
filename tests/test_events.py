"""The statuses an utterance comes to: one enum, plain words in JSON, no stray spelling accepted."""

from __future__ import annotations

import json
import typing

import pytest

from assistant.events import STATUS, Event, Status, Verdict
from assistant.tui.conversation import STATUS_STYLES
from assistant.tui.history import MARKS


def event(status: str) -> Event:
    return Event(transcript="open the sunroof", status=status, intent="windows", confidence=0.9, slots={}, outcome="")


def test_every_verdict_comes_to_a_status_and_every_status_is_drawn() -> None:
    assert set(STATUS) == set(typing.get_args(Verdict))
    assert set(STATUS.values()) == set(Status) == set(MARKS) == set(STATUS_STYLES)


@pytest.mark.parametrize("status", list(Status))
def test_json_lines_carry_the_plain_word(status: Status) -> None:
    line = json.loads(json.dumps(event(status.value).to_json()))
    assert line["status"] == status.value and type(event(status.value).to_json()["status"]) is str
    assert event(status.value).status is status


def test_a_word_that_is_no_status_is_refused() -> None:
    with pytest.raises(ValueError, match="dne"):
        event("dne")
