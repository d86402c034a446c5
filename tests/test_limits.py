"""What counts as a command: long text and control characters are refused with one line, on every path."""

from __future__ import annotations

import json

import pytest

from assistant.cli import main
from assistant.limits import MAX_COMMAND_CHARS, TextError, check_command

TOO_LONG = "turn on the lights " * 30
BAD = [
    (TOO_LONG[:501], "501 characters long; a command is at most 500"),
    ("x" * 100_000, "100000 characters long"),
    ("call\x07 mom", r"control character (\x07) at character 5"),
    ("call mom\x1b[31m red", r"control character (\x1b) at character 9"),
    ("lights\x00 on", r"control character (\x00) at character 7"),
]


@pytest.mark.parametrize(("text", "words"), BAD)
def test_long_or_control_text_is_refused_saying_why(text, words):
    with pytest.raises(TextError) as refused:
        check_command(text)
    assert words in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "text", ["x" * MAX_COMMAND_CHARS, "set it to 21°C, please!", "lights\ton\n", "café ☕ on"]
)
def test_plain_text_up_to_the_limit_is_a_command(text):
    assert check_command(text) == text


@pytest.mark.parametrize("command", ["say", "classify"])
@pytest.mark.parametrize(("text", "words"), BAD[::2])
def test_the_cli_refuses_bad_text_in_one_line_before_loading_models(command, text, words, capsys, tmp_path):
    missing_model = tmp_path / "no-model"  # loading it would fail: the check must come first
    assert main([command, "lights on", text, "--model", str(missing_model)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("car-assistant: TEXT argument 2: ") and words in err


def test_a_jsonl_line_with_bad_text_is_refused_with_file_and_line(capsys, tmp_path):
    lines = tmp_path / "commands.jsonl"
    lines.write_text(
        json.dumps({"text": "lights on"}) + "\n" + json.dumps({"text": "call\x1b[31m mom"}) + "\n"
    )
    assert main(["classify", "--jsonl", str(lines), "--model", str(tmp_path / "no-model")]) == 2
    err = capsys.readouterr().err
    assert err == f"car-assistant: {lines}:2: the text has a control character (\\x1b) at character 5\n"
