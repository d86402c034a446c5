"""Where the benchmarks find their inputs and keep their outputs, relative to the repository.

The evaluation sets live beside the checkout, in ``../shared/eval`` (never inside it: they are not
trained on). Every script takes options to point elsewhere; these are only the defaults.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EVAL_DIR = REPO.parent / "shared" / "eval"
DEV_SET = EVAL_DIR / "dev.jsonl"
REAL_DEV_SET = EVAL_DIR / "real_dev.jsonl"
SPEECH_DIR = REPO / "data" / "speech"
"""Rendered speech (git-ignored, like all of ``data/``)."""
DOCS = REPO / "docs"

DEV_NOT_HELD_OUT = (
    "dev.jsonl was looked at while the models and templates were developed, and many of its lines "
    "are sentences the templates can say (`scripts/check_dev_overlap.py`): its figures are not held-out "
    "figures."
)
"""What every report of a dev-set figure says beside it."""
