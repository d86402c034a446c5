"""What text the assistant accepts as a command: the one check every path (CLI, JSONL, dashboard) runs.

A command is a short line of plain text. Anything longer, or with control characters (ANSI escape
sequences, bells), is no command a driver said or typed: it is refused with one line saying why,
before it reaches the classifier, a slot or the screen.
"""

from __future__ import annotations

import unicodedata

MAX_COMMAND_CHARS = 500
ALLOWED_CONTROLS = frozenset("\t\n\r")
"""Whitespace controls are only spacing; every other control character is refused."""


class TextError(ValueError):
    """Text that is no command; the message says why, in one line."""


def check_command(text: str) -> str:
    """``text`` unchanged when it may be a command; else raise :class:`TextError` saying why."""
    if len(text) > MAX_COMMAND_CHARS:
        raise TextError(f"the text is {len(text)} characters long; a command is at most {MAX_COMMAND_CHARS}")
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) == "Cc" and char not in ALLOWED_CONTROLS:
            shown = char.encode("unicode_escape").decode("ascii")
            raise TextError(f"the text has a control character ({shown}) at character {position}")
    return text
