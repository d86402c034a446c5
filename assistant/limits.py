"""What text the assistant accepts: commands (CLI, JSONL, dashboard) and the files people write.

A command is a short line of plain text. Anything longer, or with control characters (ANSI escape
sequences, bells), is no command a driver said or typed: it is refused with one line saying why,
before it reaches the classifier, a slot or the screen.

Files (intents YAML, JSONL) are UTF-8; a byte-order mark is honoured, so UTF-8 with a BOM and
UTF-16 with a BOM (what Windows editors write) read correctly; anything else that is not UTF-8
(UTF-16 without a BOM shows as NUL bytes) is refused naming the line and byte.
"""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

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


_BOMS = {
    codecs.BOM_UTF8: ("utf-8", "UTF-8"),
    codecs.BOM_UTF16_LE: ("utf-16-le", "UTF-16"),
    codecs.BOM_UTF16_BE: ("utf-16-be", "UTF-16"),
}
"""Byte-order mark → (codec, the name said in errors)."""


def read_text(path: Path) -> str:
    """A text file's contents, decoded as its BOM says, else as UTF-8; :class:`TextError` when it can't be.

    ``OSError`` (missing, unreadable) is the caller's to report.
    """
    data = Path(path).read_bytes()
    bom = next((bom for bom in _BOMS if data.startswith(bom)), b"")
    encoding, name = _BOMS.get(bom, ("utf-8", "UTF-8"))
    body = data[len(bom) :]
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as error:
        line = body[: error.start].decode(encoding).count("\n") + 1
        raise TextError(f"{path}:{line}: not valid {name} (byte {len(bom) + error.start})") from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise TextError(
            f"{path}:{line}: NUL bytes in a text file: UTF-16 without a byte-order mark? Save it as UTF-8"
        )
    return text
