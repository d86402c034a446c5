"""Fine-tune an intent classifier: one Trainer set-up, two ways to build the model.

``bert``  — the whole encoder and a sequence-classification head are trained in fp32.
``qlora`` — the encoder's linear layers are loaded in 4-bit NF4 with double quantization
            (bitsandbytes); only LoRA adapters (peft), the pooler and the head are trained and saved.

Read top to bottom: configuration, data, model, training, saving.
"""

from __future__ import annotations

import json
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psutil
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    EarlyStoppingCallback,
    Trainer,
    TrainingArguments,
)

from assistant.intents import IntentLibrary
from assistant.nlu import BUNDLED_BASE, UNQUANTIZED_MODULES, quantization_config, resolve_base_model
from training.dataset import Example

BUNDLED_BASE_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
HEAD_MODULES = ["classifier", "pooler"]
"""Trained in full and saved by peft beside the adapters (and kept out of 4-bit)."""

VARIANT_DEFAULTS = {
    "bert": {"learning_rate": 1e-4, "epochs": 10},
    "qlora": {"learning_rate": 1e-3, "epochs": 15},
}


@dataclass
class TrainConfig:
    variant: str
    base_model: str = ""
    """A local HF folder or hub id; empty means the bundled MiniLM."""
    learning_rate: float | None = None
    epochs: float | None = None
    batch_size: int = 16
    seed: int = 13
    patience: int = 4
    label_smoothing: float = 0.1
    """Softer targets keep confidences honest, which the rejection threshold relies on."""
    max_length: int = 32
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "dense"])

    def __post_init__(self) -> None:
        defaults = VARIANT_DEFAULTS[self.variant]
        self.learning_rate = self.learning_rate or defaults["learning_rate"]
        self.epochs = self.epochs or defaults["epochs"]

    @property
    def resolved_base_model(self) -> str:
        return resolve_base_model(self.base_model)


class TextDataset(torch.utils.data.Dataset):
    def __init__(self, examples: list[Example], tokenizer, label2id: dict[str, int], max_length: int):
        self.encodings = tokenizer([e.text for e in examples], truncation=True, max_length=max_length)
        self.labels = [label2id[e.intent] for e in examples]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> dict:
        return {**{k: v[i] for k, v in self.encodings.items()}, "labels": self.labels[i]}


def build_model(config: TrainConfig, labels: list[str]):
    """The only place the two variants differ."""
    label_kwargs = {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }
    if config.variant == "bert":
        return AutoModelForSequenceClassification.from_pretrained(config.resolved_base_model, **label_kwargs)
    from peft import LoraConfig, TaskType, get_peft_model

    base = AutoModelForSequenceClassification.from_pretrained(
        config.resolved_base_model,
        quantization_config=quantization_config(UNQUANTIZED_MODULES),
        dtype=torch.float32,
        **label_kwargs,
    )
    lora = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules,
        modules_to_save=HEAD_MODULES,
    )
    return get_peft_model(base, lora)


def compute_metrics(eval_prediction) -> dict[str, float]:
    logits, labels = eval_prediction
    predicted = np.argmax(logits, axis=-1)
    return {"accuracy": float((predicted == labels).mean()), "macro_f1": macro_f1(labels, predicted)}


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    scores = []
    for label in np.unique(np.concatenate([truth, predicted])):
        tp = np.sum((predicted == label) & (truth == label))
        precision = tp / max(np.sum(predicted == label), 1)
        recall = tp / max(np.sum(truth == label), 1)
        scores.append(0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(scores))


class PeakMemory:
    """Samples this process's resident memory in the background and keeps the peak."""

    def __init__(self, interval_s: float = 0.2):
        self.interval_s = interval_s
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        process = psutil.Process()
        while not self._stop.is_set():
            self.peak_bytes = max(self.peak_bytes, process.memory_info().rss)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class TrainResult:
    variant: str
    log_history: list[dict]
    wall_time_s: float
    peak_ram_bytes: int
    trainable_params: int
    total_params: int


def train(
    config: TrainConfig,
    library: IntentLibrary,
    splits: dict[str, list[Example]],
    out_dir: Path,
) -> TrainResult:
    """Train one variant and save it into ``out_dir`` (a staging folder the caller publishes)."""
    torch.manual_seed(config.seed)
    labels = library.labels
    label2id = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(config.resolved_base_model)
    train_set, eval_set = (
        TextDataset(splits[s], tokenizer, label2id, config.max_length) for s in ("train", "validation")
    )
    started = time.perf_counter()
    with PeakMemory() as memory, tempfile.TemporaryDirectory(prefix="car-assistant-train-") as scratch:
        model = build_model(config, labels)
        trainer = Trainer(
            model=model,
            args=_training_arguments(config, scratch),
            train_dataset=train_set,
            eval_dataset=eval_set,
            data_collator=DataCollatorWithPadding(tokenizer),
            compute_metrics=compute_metrics,
            callbacks=[EarlyStoppingCallback(early_stopping_patience=config.patience)],
        )
        trainer.train()
    wall_time = time.perf_counter() - started
    model = trainer.model.eval()
    _save(model, tokenizer, config, library, out_dir)
    return TrainResult(
        variant=config.variant,
        log_history=trainer.state.log_history,
        wall_time_s=wall_time,
        peak_ram_bytes=memory.peak_bytes,
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        total_params=sum(p.numel() for p in model.parameters()),
    )


def _training_arguments(config: TrainConfig, scratch: str) -> TrainingArguments:
    return TrainingArguments(
        output_dir=scratch,
        num_train_epochs=config.epochs,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=64,
        warmup_steps=0.1,
        weight_decay=0.01,
        label_smoothing_factor=config.label_smoothing,
        eval_strategy="epoch",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=True,
        metric_for_best_model="macro_f1",
        logging_strategy="steps",
        logging_steps=10,
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=True,
        report_to=[],
        dataloader_num_workers=0,
    )


def _save(model, tokenizer, config: TrainConfig, library: IntentLibrary, out_dir: Path) -> None:
    """save_pretrained (safetensors) + tokenizer + what the runtime needs to trust the model."""
    for peft_config in getattr(model, "peft_config", {}).values():
        # the hub id, not this machine's site-packages path, for anyone loading the adapter elsewhere
        peft_config.base_model_name_or_path = config.base_model or BUNDLED_BASE_HUB_ID
    model.save_pretrained(out_dir, safe_serialization=True)
    tokenizer.save_pretrained(out_dir)
    (out_dir / "README.md").unlink(missing_ok=True)  # peft's empty model-card template
    manifest = {
        "variant": config.variant,
        "labels": library.labels,
        "intents_fingerprint": library.fingerprint,
        "intents_file": library.path.name,
        "base_model": config.base_model or BUNDLED_BASE,
        "config": asdict(config),
    }
    (out_dir / "training.json").write_text(json.dumps(manifest, indent=2) + "\n")
