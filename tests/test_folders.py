"""Folders published whole with the usual modes (training/folders.py); what happens when writing fails
(refusals, a full disk, Ctrl-C) is in the fault table, tests/test_faults.py."""

from __future__ import annotations

import os

from training.folders import publish, staging_folder


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
