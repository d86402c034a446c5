"""Folders written whole or not at all, with the modes a user expects.

Everything ``train`` writes (the dataset, each model) is built in a hidden staging folder beside
its destination and swapped into place only once it is complete, so a failure, a full disk or
Ctrl-C leaves the previous dataset and model as they were. Staging folders are made private
(``mkdtemp``); published ones get the usual modes under the user's umask (0755 / 0644).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MB = 1024 * 1024


class FolderError(OSError):
    """A folder that cannot be written; the message names it and says what is kept."""


@contextmanager
def staging_folder(destination: Path) -> Iterator[Path]:
    """A fresh hidden folder beside ``destination``, removed again unless it was published."""
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}-", dir=destination.parent))
    except OSError as error:
        raise FolderError(f"{destination.parent}: cannot write here ({error.strerror})") from None
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, destination: Path) -> None:
    """Swap a finished staging folder into place: the old folder goes only once the new one is there."""
    _usual_modes(staging)
    retired = destination.with_name(f".{destination.name}-old")
    shutil.rmtree(retired, ignore_errors=True)
    if destination.exists():
        destination.rename(retired)
    staging.rename(destination)
    shutil.rmtree(retired, ignore_errors=True)


def _usual_modes(folder: Path) -> None:
    """0777 / 0666 less the umask, as ``mkdir`` and ``open`` would have made them."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def check_room(folder: Path, need_mb: float) -> None:
    """Refuse before any work when ``folder``'s disk has less than ``need_mb`` free."""
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    free_mb = shutil.disk_usage(existing).free / MB
    if free_mb < need_mb:
        raise FolderError(
            f"{folder}: only {free_mb:.0f} MB free, training needs about {need_mb:.0f} MB there"
        )
