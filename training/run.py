"""`car-assistant train`: YAML → dataset → one or both fine-tunes → reports, each folder written whole."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path

from assistant.classifier import VARIANTS
from assistant.intents import load_intents
from assistant.nlu import load_classifier
from training.dataset import DatasetConfig, build_dataset, write_dataset
from training.finetune import TrainConfig, train
from training.report import write_comparison, write_variant_report


def train_variants(
    intents_path: Path,
    variants: list[str],
    models_dir: Path,
    data_dir: Path,
    dataset_config: DatasetConfig | None = None,
    **overrides,
) -> dict[str, dict]:
    """Train each variant on the same dataset; ``overrides`` are :class:`TrainConfig` fields.
    Returns the metrics by variant."""
    library = load_intents(intents_path)
    configs = [TrainConfig(variant, **overrides) for variant in variants]  # bad options fail before any work
    dataset_config = dataset_config or DatasetConfig()
    splits = build_dataset(library, dataset_config)
    write_dataset(splits, library, data_dir)
    print(f"dataset: {', '.join(f'{len(v)} {k}' for k, v in splits.items())} sentences in {data_dir}")
    all_metrics = {}
    for config in configs:
        variant = config.variant
        models_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{variant}-", dir=models_dir))
        try:
            result = train(config, library, splits, staging, asdict(dataset_config))
            classifier = load_classifier(staging, library)  # read back from disk: the round trip the runtime makes
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
