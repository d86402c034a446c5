"""English numbers as drivers say them and Whisper writes them: words ↔ values."""

from __future__ import annotations

import re

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_WORD_VALUES = {word: i for i, word in enumerate(_UNITS)} | {
    word: 20 + 10 * i for i, word in enumerate(_TENS)
}
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_NEGATIVE = {"minus", "negative", "-"}
"""A word before a number that makes it negative: 'minus five' is -5, never 5."""


def number_to_words(value: int) -> str:
    """0–999 as words: 21 → 'twenty one', 105 → 'one hundred five'."""
    if value < 20:
        return _UNITS[value]
    if value < 100:
        tens, units = divmod(value, 10)
        return _TENS[tens - 2] + (f" {_UNITS[units]}" if units else "")
    hundreds, rest = divmod(value, 100)
    return f"{_UNITS[hundreds]} hundred" + (f" {number_to_words(rest)}" if rest else "")


def find_number(tokens: list[str]) -> int | float | None:
    """The first number in a list of lower-case tokens, written as digits or words, with its sign."""
    for start, token in enumerate(tokens):
        value: int | float
        if _NUMBER.match(token):
            number = float(token)
            value = int(number) if number.is_integer() else number
        elif token in _WORD_VALUES:
            value = _read_words(tokens[start:])
        else:
            continue
        return -value if start and tokens[start - 1] in _NEGATIVE else value
    return None


def _read_words(tokens: list[str]) -> int:
    total = 0
    for token in tokens:
        if token == "hundred" and total:
            total *= 100
        elif token in _WORD_VALUES and (
            total == 0 or total % 10 == 0 and _WORD_VALUES[token] < 10 or total % 100 == 0
        ):
            total += _WORD_VALUES[token]
        elif token != "and":
            break
    return total
