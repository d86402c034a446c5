"""Every hyper-parameter of a fine-tune, apart from the libraries that train: the CLI builds its
``train`` flags from :class:`TrainConfig` without loading torch."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.classifier import LoraSettings, resolve_base_model
from training.dataset import ConfigError

VARIANT_DEFAULTS = {
    "bert": {"learning_rate": 5e-5, "epochs": 8},
    "qlora": {"learning_rate": 5e-4, "epochs": 10},
}
"""Learning rates low enough to keep what the sentence-transformer knows about meaning."""


@dataclass
class TrainConfig:
    """Every hyper-parameter of a fine-tune; saved whole in the model's ``training.json``."""

    variant: str
    base_model: str = field(
        default="", metadata={"help": "a local HF folder or hub id (default: the bundled all-MiniLM-L6-v2)"}
    )
    learning_rate: float | None = field(
        default=None, metadata={"help": "default: 5e-5 for bert, 5e-4 for qlora"}
    )
    head_learning_rate: float = 3e-3
    """The heads start from nothing: they learn at their own, higher rate."""
    epochs: float | None = field(
        default=None, metadata={"help": "at most this many; stops early when validation stops improving"}
    )
    batch_size: int = 32
    eval_batch_size: int = 64
    seed: int = 13
    patience: int = 3
    """Epochs without a better validation score before training stops."""
    label_smoothing: float = 0.1
    """Softer intent targets keep confidences honest, which the policy's thresholds rely on."""
    dropout: float = 0.1
    weight_decay: float = 0.01
    warmup_steps: float = 0.1
    """Below 1: a fraction of all training steps (transformers reads it so)."""
    max_length: int = 32
    """Sub-tokens per sentence, in training and at run time (saved with the model)."""
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])

    def __post_init__(self) -> None:
        if self.variant not in VARIANT_DEFAULTS:
            raise ConfigError(
                f"unknown variant '{self.variant}': choose one of {', '.join(VARIANT_DEFAULTS)}"
            )
        if self.base_model.startswith(("/", "~", ".")) and not Path(self.base_model).expanduser().is_dir():
            raise ConfigError(
                f"--base-model: no model folder at '{self.base_model}' (give a Hugging Face model folder, "
                "or leave it out for the bundled MiniLM)"
            )
        if _offline_and_not_cached(resolve_base_model(self.base_model)):
            raise ConfigError(
                f"--base-model: '{self.base_model}' is no model folder and not in the Hugging Face cache, "
                "and the hub is offline (HF_HUB_OFFLINE): give a model folder, or download it first"
            )
        defaults = VARIANT_DEFAULTS[self.variant]
        self.learning_rate = defaults["learning_rate"] if self.learning_rate is None else self.learning_rate
        self.epochs = defaults["epochs"] if self.epochs is None else self.epochs
        for name in (
            "learning_rate",
            "head_learning_rate",
            "epochs",
            "batch_size",
            "eval_batch_size",
            "max_length",
            "lora_r",
            "lora_alpha",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(
                    f"--{name.replace('_', '-')} must be more than 0, not {getattr(self, name)}"
                )
        for name in ("label_smoothing", "dropout", "lora_dropout"):
            if not 0 <= getattr(self, name) < 1:
                raise ConfigError(
                    f"--{name.replace('_', '-')} must be from 0 to below 1, not {getattr(self, name)}"
                )

    @property
    def resolved_base_model(self) -> str:
        return resolve_base_model(self.base_model)

    @property
    def lora(self) -> LoraSettings:
        return LoraSettings(self.lora_r, self.lora_alpha, self.lora_dropout, tuple(self.lora_target_modules))


def _offline_and_not_cached(source: str) -> bool:
    """A hub id that cannot be loaded here: the hub is offline and the id's config isn't cached."""
    if Path(source).expanduser().is_dir():
        return False
    from huggingface_hub import constants, try_to_load_from_cache

    return constants.HF_HUB_OFFLINE and not isinstance(try_to_load_from_cache(source, "config.json"), str)
