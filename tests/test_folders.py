"""Folders written whole or not at all (training/folders.py), and train's one-line refusals."""

from __future__ import annotations

import os
import shutil
from collections import namedtuple

import pytest

from assistant.cli import main
from training.folders import FolderError, check_room, publish, staging_folder


def test_a_published_folder_replaces_the_old_one_with_the_usual_modes(tmp_path):
    destination = tmp_path / "model"
    destination.mkdir()
    (destination / "old.txt").write_text("old")
    old_umask = os.umask(0o022)
    try:
        with staging_folder(destination) as staging:
            (staging / "sub").mkdir()
            (staging / "sub" / "new.txt").write_text("new")
            publish(staging, destination)
    finally:
        os.umask(old_umask)
    assert sorted(p.name for p in destination.rglob("*")) == ["new.txt", "sub"]
    assert oct(destination.stat().st_mode & 0o777) == "0o755"
    assert oct((destination / "sub" / "new.txt").stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no staging or retired folder left


def test_a_failure_before_publishing_keeps_the_old_folder_and_leaves_nothing_behind(tmp_path):
    destination = tmp_path / "model"
    destination.mkdir()
    (destination / "old.txt").write_text("old")
    with pytest.raises(KeyboardInterrupt), staging_folder(destination) as staging:
        (staging / "half.txt").write_text("half")
        raise KeyboardInterrupt
    assert [p.name for p in destination.iterdir()] == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_a_folder_that_cannot_be_made_is_one_line_naming_it(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with (
        pytest.raises(FolderError, match=f"{blocker}: cannot write here"),
        staging_folder(blocker / "models"),
    ):
        pass


def test_too_little_room_is_refused_before_any_work(tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(
        shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 5 * 1024 * 1024, 5 * 1024 * 1024)
    )
    with pytest.raises(FolderError, match=r"only 5 MB free, training needs about 30 MB"):
        check_room(tmp_path / "models" / "not-yet", 30)


def train(capsys, *args: str) -> tuple[int, list[str]]:
    """``car-assistant train ARGS`` in this process: its exit status and its lines on stderr."""
    status = main(["train", *args])
    return status, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (["--per-intent", "0"], "--per-intent must be at least 20"),
        (["--learning-rate", "-1"], "--learning-rate must be more than 0"),
        (["--dropout", "1.5"], "--dropout must be from 0 to below 1"),
    ],
)
def test_nonsense_training_options_are_one_line_before_any_work(capsys, tmp_path, options, problem):
    status, errors = train(
        capsys, *options, "--out", str(tmp_path / "models"), "--data", str(tmp_path / "data")
    )
    assert status == 2
    assert len(errors) == 1 and errors[0].startswith(f"car-assistant: {problem}")
    assert not list(tmp_path.iterdir())


def test_an_unwritable_models_folder_is_one_line_and_the_dataset_is_untouched(capsys, tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the models folder should be")
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("kept\n")
    status, errors = train(
        capsys, "--variant", "qlora", "--out", str(blocker / "inside"), "--data", str(data)
    )
    assert status == 2
    assert len(errors) == 1 and "cannot write here" in errors[0]
    assert [p.name for p in data.iterdir()] == ["train.jsonl"] and (
        data / "train.jsonl"
    ).read_text() == "kept\n"
