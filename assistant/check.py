"""``car-assistant check``: what to run when something is wrong, one report of everything found.

Each check is a function from :class:`CheckOptions` to a list of :class:`CheckResult`; :data:`CHECKS`
runs them in order. A new check (the model folder, Whisper, the audio devices) is one more function
in that list, and one more option if it needs one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from assistant.intents import (
    DEFAULT_INTENTS,
    IntentsError,
    check_responses,
    find_warnings,
    load_intents,
)
from assistant.pipeline import RESPONDED

Level = Literal["ok", "warning", "error"]


@dataclass(frozen=True)
class CheckResult:
    level: Level
    message: str
    """One line: what and where (``file:line`` for the YAML), and what to do when it is not ok."""


@dataclass(frozen=True)
class CheckOptions:
    intents: Path = DEFAULT_INTENTS


def check_intents(options: CheckOptions) -> list[CheckResult]:
    """The intents YAML: the first error that stops it loading, else every warning about it."""
    try:
        library = load_intents(options.intents)
        check_responses(library, RESPONDED)
    except IntentsError as error:
        return [CheckResult("error", str(error))]
    found = [CheckResult("warning", message) for message in find_warnings(library)]
    summary = f"{library.path}: {len(library.intents)} intents and {len(library.out_of_scope)} out-of-scope templates load"
    return [CheckResult("ok", summary), *found]


Check = Callable[[CheckOptions], list[CheckResult]]
CHECKS: list[Check] = [check_intents]


def run_checks(options: CheckOptions, checks: list[Check] = CHECKS) -> list[CheckResult]:
    return [result for check in checks for result in check(options)]


def report_line(result: CheckResult) -> str:
    """``warning  intents/driver.yaml:12: ...``: the level in a fixed column, then the message."""
    return f"{result.level:<8} {result.message}"
