"""`car-assistant train`: YAML → dataset → one or both fine-tunes → reports.

Nothing is replaced until it is complete: the dataset and each model are written into staging
folders and published together, model by model (:mod:`training.folders`), so an error, a full
disk or Ctrl-C keeps the previous model and the dataset it was trained on.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from pathlib import Path

from assistant.classifier import VARIANTS
from assistant.intents import load_intents
from assistant.nlu import load_classifier
from training.config import TrainConfig
from training.dataset import DatasetConfig, build_dataset, write_dataset
from training.finetune import train
from training.folders import FolderError, check_room, publish, staging_folder
from training.report import write_comparison, write_variant_report

ROOM_MB = {"bert": 200, "qlora": 30, "dataset": 20}
"""Disk a variant's model (and the dataset) takes while staged beside the one it replaces, with room to spare."""


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
    check_room(models_dir, sum(ROOM_MB[c.variant] for c in configs))
    check_room(data_dir, ROOM_MB["dataset"])
    all_metrics = {}
    with ExitStack() as stack:  # the staging folders first: one that can't be made fails before any work
        dataset = stack.enter_context(staging_folder(data_dir))
        staged = {
            config.variant: stack.enter_context(staging_folder(models_dir / config.variant))
            for config in configs
        }
        splits = build_dataset(library, dataset_config)
        with _writing(data_dir):
            write_dataset(splits, library, dataset)
        print(f"dataset: {', '.join(f'{len(v)} {k}' for k, v in splits.items())} sentences")
        for config in configs:
            folder = staged[config.variant]
            with _writing(models_dir):  # save_pretrained meeting a full disk
                result = train(config, library, splits, folder, asdict(dataset_config))
            classifier = load_classifier(
                folder, library
            )  # read back from disk: the round trip the runtime makes
            with _writing(models_dir):
                metrics = write_variant_report(result, classifier, splits["test"], folder)
                if dataset.exists():  # the dataset goes live with the first model trained on it
                    publish(dataset, data_dir)
                publish(folder, models_dir / config.variant)
            all_metrics[config.variant] = metrics
            print(_summary(config.variant, metrics, models_dir / config.variant))
    comparison = write_comparison(models_dir, list(VARIANTS))
    if comparison:
        print(f"comparison: {comparison}")
    return all_metrics


WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
"""What the disk says when a write fails (other OS errors, such as a base model not found, are not about writing)."""


@contextmanager
def _writing(where: Path) -> Iterator[None]:
    """An OS error while writing (a full disk, a read-only folder) becomes one line naming the folder."""
    try:
        yield
    except OSError as error:
        if isinstance(error, FolderError) or error.errno not in WRITE_ERRORS:
            raise
        raise FolderError(
            f"{where}: cannot write ({error.strerror or error}); the previous model and dataset are kept"
        ) from None


def _summary(variant: str, metrics: dict, folder: Path) -> str:
    test = metrics["test"]
    return (
        f"{variant}: test intent accuracy {test['accuracy']:.3f}, frame accuracy {test['frame_accuracy']:.3f}, "
        f"{metrics['train_wall_time_s'] / 60:.1f} min → {folder}"
    )
