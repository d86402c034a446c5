"""Fine-tune the joint intent + slot model: one Trainer set-up, two ways to build the encoder.

``bert``  — the whole encoder and both heads are trained in fp32.
``qlora`` — the encoder is loaded in 4-bit NF4 with LoRA adapters; adapters and heads are trained.
How each is built lives in :mod:`assistant.classifier`; everything here is shared.

Read top to bottom: configuration, data, metrics, training, saving.
"""

from __future__ import annotations

import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import psutil
import torch
from transformers import AutoTokenizer, PrinterCallback, Trainer, TrainerCallback, TrainingArguments

from assistant.classifier import (
    BUNDLED_BASE,
    BUNDLED_BASE_HUB_ID,
    HEAD_NAMES,
    IGNORED,
    joint_model,
    load_encoder,
    quiet_model_libraries,
    save_model,
    tag_names,
    with_lora,
)
from assistant.intents import IntentLibrary, words
from training.config import TrainConfig
from training.dataset import Example
from training.folders import MB


class JointDataset(torch.utils.data.Dataset):
    """Sentences as sub-tokens, with the intent and a tag on the first sub-token of every word."""

    def __init__(
        self, examples: list[Example], tokenizer, labels: list[str], tags: list[str], max_length: int
    ):
        label_ids, tag_ids = (
            {label: i for i, label in enumerate(labels)},
            {tag: i for i, tag in enumerate(tags)},
        )
        sentences = [words(e.text) for e in examples]
        self.encodings = tokenizer(
            sentences, is_split_into_words=True, truncation=True, max_length=max_length
        )
        self.intents = [label_ids[e.intent] for e in examples]
        self.tags = [
            _first_token_tags(self.encodings.word_ids(i), [tag_ids[t] for t in e.tags])
            for i, e in enumerate(examples)
        ]

    def __len__(self) -> int:
        return len(self.intents)

    def __getitem__(self, i: int) -> dict:
        return {
            **{key: values[i] for key, values in self.encodings.items()},
            "intent_labels": self.intents[i],
            "tag_labels": self.tags[i],
        }


def _first_token_tags(word_ids: list[int | None], word_tags: list[int]) -> list[int]:
    """A word's tag on its first sub-token; the rest, and the special tokens, are ignored."""
    labels, previous = [], None
    for word in word_ids:
        labels.append(word_tags[word] if word is not None and word != previous else IGNORED)
        previous = word
    return labels


class JointCollator:
    """Pads a batch: the tokenizer pads the sub-tokens, tag labels are padded with ``IGNORED``."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        tag_labels = [f.pop("tag_labels") for f in features]
        batch = self.tokenizer.pad(features, return_tensors="pt")
        width = batch["input_ids"].shape[1]
        batch["tag_labels"] = torch.tensor([t + [IGNORED] * (width - len(t)) for t in tag_labels])
        return batch


def compute_metrics(eval_prediction) -> dict[str, float]:
    """Intent accuracy and macro-F1, tag accuracy over words, and frame accuracy: the intent and
    every word's tag right (JointBERT's sentence-level figure, the one the best epoch is chosen by)."""
    (intent_logits, tag_logits), (intents, tags) = eval_prediction.predictions, eval_prediction.label_ids
    predicted_intents = np.argmax(intent_logits, axis=-1)
    predicted_tags = np.argmax(tag_logits, axis=-1)
    scored = tags != IGNORED
    tags_right = np.all((predicted_tags == tags) | ~scored, axis=-1)
    return {
        "accuracy": float((predicted_intents == intents).mean()),
        "macro_f1": macro_f1(intents, predicted_intents),
        "tag_accuracy": float((predicted_tags == tags)[scored].mean()),
        "frame_accuracy": float(((predicted_intents == intents) & tags_right).mean()),
    }


def macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    scores = []
    for label in np.unique(np.concatenate([truth, predicted])):
        tp = np.sum((predicted == label) & (truth == label))
        precision = tp / max(np.sum(predicted == label), 1)
        recall = tp / max(np.sum(truth == label), 1)
        scores.append(0.0 if tp == 0 else 2 * precision * recall / (precision + recall))
    return float(np.mean(scores))


BEST_METRIC = "eval_frame_accuracy"


class KeepBest(TrainerCallback):
    """Early stopping that keeps the best epoch's trainable weights in memory and puts them back at
    the end: no checkpoints on disk (a 4-bit encoder has no use for them; only its adapters train)."""

    def __init__(self, patience: int):
        self.patience = patience
        self.best_score = -1.0
        self.best_state: dict[str, torch.Tensor] = {}
        self.waited = 0

    def on_evaluate(self, args, state, control, metrics=None, model=None, **kwargs):
        score = (metrics or {}).get(BEST_METRIC, -1.0)
        if score > self.best_score:
            self.best_score, self.waited = score, 0
            self.best_state = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        else:
            self.waited += 1
            control.should_training_stop = self.waited >= self.patience

    def on_train_end(self, args, state, control, model=None, **kwargs):
        if self.best_state:
            model.load_state_dict(self.best_state, strict=False)


class EpochReport(TrainerCallback):
    """One line per epoch, what a user of ``rasa train`` expects: the loss, the validation scores
    and the time left at most (early stopping may end it sooner)."""

    def __init__(self, variant: str):
        self.variant = variant
        self.started = time.perf_counter()

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        metrics = metrics or {}
        epoch, total = round(state.epoch or 0), round(args.num_train_epochs)
        losses = [h["loss"] for h in state.log_history if "loss" in h]
        per_epoch = (time.perf_counter() - self.started) / max(epoch, 1)
        print(
            f"{self.variant} epoch {epoch}/{total}: loss {losses[-1] if losses else float('nan'):.3f}, "
            f"validation intent {metrics.get('eval_accuracy', 0):.3f}, "
            f"frame {metrics.get('eval_frame_accuracy', 0):.3f}, "
            f"at most {per_epoch * (total - epoch) / 60:.1f} min left",
            flush=True,
        )


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
    weights: dict[str, float]
    """What the trained model's weights take in memory (:func:`weight_memory`)."""


def tensor_bytes(*tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors if isinstance(t, torch.Tensor))


def quant_state_bytes(state) -> int:
    if state is None:
        return 0
    return tensor_bytes(state.absmax, state.code, state.offset) + quant_state_bytes(
        getattr(state, "state2", None)
    )


def weight_memory(model) -> dict[str, float]:
    """Megabytes the model's weights take in memory, and for 4-bit linear layers, against their fp32
    size. Measured on the model as trained: the runtime expands a QLoRA model's NF4 weights at load."""
    quantized, quantized_fp32 = 0, 0
    for module in model.modules():
        state = getattr(getattr(module, "weight", None), "quant_state", None)
        if state is not None:
            quantized += tensor_bytes(module.weight) + quant_state_bytes(state)
            quantized_fp32 += int(np.prod(state.shape)) * 4
    total = sum(tensor_bytes(p) for p in model.parameters()) + sum(
        quant_state_bytes(getattr(p, "quant_state", None)) for p in model.parameters()
    )
    return {
        "weights_mb": total / MB,
        "quantized_linear_mb": quantized / MB,
        "quantized_linear_fp32_mb": quantized_fp32 / MB,
        "quantized_linear_ratio": quantized / quantized_fp32 if quantized_fp32 else 1.0,
    }


def _without_cpu_repacking(encoder):
    """The 4-bit layers kept in the layout they train in.

    On CPUs with AVX512-BF16, bitsandbytes repacks a 4-bit layer's weights for inference the first
    time it runs outside training (the Trainer's evaluation after epoch 1) and never back, and the next
    training step fails ('a view of a leaf Variable that requires grad is being used in an in-place
    operation'). Other CPUs never repack, so training is the same everywhere.
    """
    from bitsandbytes.nn import Linear4bit

    for module in encoder.modules():
        if isinstance(module, Linear4bit):
            module.support_avx512bf16_for_cpu = False
    return encoder


def build_model(config: TrainConfig, labels: list[str], tags: list[str]):
    """The only place the two variants differ: a 4-bit encoder with LoRA adapters, or a plain one."""
    encoder = load_encoder(config.variant, config.resolved_base_model)
    if config.variant == "qlora":
        encoder = with_lora(_without_cpu_repacking(encoder), config.lora)
    return joint_model(encoder, len(labels), len(tags), config.dropout, config.label_smoothing)


def train(
    config: TrainConfig,
    library: IntentLibrary,
    splits: dict[str, list[Example]],
    out_dir: Path,
    dataset_config: dict | None = None,
) -> TrainResult:
    """Train one variant and save it into ``out_dir`` (a staging folder the caller publishes)."""
    quiet_model_libraries()
    torch.manual_seed(config.seed)
    labels, tags = library.labels, tag_names(library.slot_names)
    tokenizer = AutoTokenizer.from_pretrained(config.resolved_base_model)
    train_set, eval_set = (
        JointDataset(splits[s], tokenizer, labels, tags, config.max_length) for s in ("train", "validation")
    )
    started = time.perf_counter()
    with PeakMemory() as memory, tempfile.TemporaryDirectory(prefix="car-assistant-train-") as scratch:
        model = build_model(config, labels, tags)
        trainer = Trainer(
            model=model,
            args=_training_arguments(config, scratch),
            train_dataset=train_set,
            eval_dataset=eval_set,
            data_collator=JointCollator(tokenizer),
            optimizers=(_optimizer(model, config), None),
            compute_metrics=compute_metrics,
            callbacks=[KeepBest(config.patience), EpochReport(config.variant)],
        )
        trainer.remove_callback(PrinterCallback)  # the raw log dicts; EpochReport says what matters
        trainer.train()
    wall_time = time.perf_counter() - started
    model.eval()
    for peft_config in getattr(model.encoder, "peft_config", {}).values():
        # the hub id, not this machine's site-packages path, for anyone loading the adapter elsewhere
        peft_config.base_model_name_or_path = config.base_model or BUNDLED_BASE_HUB_ID
    save_model(model, tokenizer, out_dir, _manifest(config, library, tags, dataset_config or {}))
    return TrainResult(
        variant=config.variant,
        log_history=trainer.state.log_history,
        wall_time_s=wall_time,
        peak_ram_bytes=memory.peak_bytes,
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        total_params=sum(p.numel() for p in model.parameters()),
        weights=weight_memory(model),
    )


def _optimizer(model, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW with two rates: the encoder's (or its adapters') and the heads'. The Trainer adds its
    linear schedule with warm-up on top."""
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    heads = [p for name, p in trainable if name.split(".", 1)[0] in HEAD_NAMES]
    encoder = [p for name, p in trainable if name.split(".", 1)[0] not in HEAD_NAMES]
    return torch.optim.AdamW(
        [{"params": encoder, "lr": config.learning_rate}, {"params": heads, "lr": config.head_learning_rate}],
        weight_decay=config.weight_decay,
    )


def _training_arguments(config: TrainConfig, scratch: str) -> TrainingArguments:
    return TrainingArguments(
        output_dir=scratch,
        num_train_epochs=config.epochs,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.eval_batch_size,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="epoch",
        disable_tqdm=True,
        label_names=["intent_labels", "tag_labels"],
        remove_unused_columns=False,
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=True,
        report_to=[],
        dataloader_num_workers=0,
    )


def _manifest(config: TrainConfig, library: IntentLibrary, tags: list[str], dataset_config: dict) -> dict:
    """What the runtime needs to trust and rebuild the model, and how it was made."""
    return {
        "variant": config.variant,
        "labels": library.labels,
        "tags": tags,
        "intents_fingerprint": library.fingerprint,
        "intents_file": library.path.name,
        "base_model": config.base_model or BUNDLED_BASE,
        "max_length": config.max_length,
        "config": asdict(config),
        "dataset": dataset_config,
    }
