"""`car-assistant train`: YAML → dataset → one or both fine-tunes → reports, each folder written whole."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from assistant.intents import load_intents
from assistant.nlu import IntentClassifier
from training.dataset import build_dataset, write_dataset
from training.finetune import TrainConfig, train
from training.report import write_comparison, write_variant_report

VARIANTS = ("bert", "qlora")


def train_variants(
    intents_path: Path,
    variants: list[str],
    models_dir: Path,
    data_dir: Path,
    per_intent: int = 200,
    seed: int = 13,
    chatter: int = 0,
    **overrides,
) -> dict[str, dict]:
    """Train each variant on the same dataset; returns its metrics by variant."""
    library = load_intents(intents_path)
    splits = build_dataset(library, per_intent=per_intent, seed=seed, chatter=chatter)
    write_dataset(splits, library, data_dir)
    print(f"dataset: {', '.join(f'{len(v)} {k}' for k, v in splits.items())} sentences in {data_dir}")
    all_metrics = {}
    for variant in variants:
        models_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{variant}-", dir=models_dir))
        try:
            result = train(TrainConfig(variant, seed=seed, **overrides), library, splits, staging)
            classifier = IntentClassifier(staging, library)  # read back from disk: the round trip the runtime makes
            all_metrics[variant] = write_variant_report(result, classifier, splits["test"], staging)
            _publish(staging, models_dir / variant)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        print(f"{variant}: test accuracy {all_metrics[variant]['test']['accuracy']:.3f} → {models_dir / variant}")
    comparison = write_comparison(models_dir, list(VARIANTS))
    if comparison:
        print(f"comparison: {comparison}")
    return all_metrics


def _publish(staging: Path, destination: Path) -> None:
    """Swap the finished folder into place, so a failed run never leaves a half-written model."""
    if destination.exists():
        shutil.rmtree(destination)
    staging.rename(destination)
