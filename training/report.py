"""Measure a trained variant and write its report: metrics, confusion matrix, curves, comparison."""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from assistant.classifier import IntentClassifier  # noqa: E402
from assistant.events import TaggedSpan  # noqa: E402
from assistant.intents import words  # noqa: E402
from training.dataset import Example  # noqa: E402
from training.finetune import TrainResult, macro_f1  # noqa: E402
from training.folders import MB  # noqa: E402


def per_label_scores(
    truth: list[str], predicted: list[str], labels: list[str]
) -> dict[str, dict[str, float]]:
    scores = {}
    for label in labels:
        tp = sum(t == p == label for t, p in zip(truth, predicted, strict=True))
        scores[label] = {
            "precision": tp / max(predicted.count(label), 1),
            "recall": tp / max(truth.count(label), 1),
            "support": truth.count(label),
        }
    return scores


def confusion(truth: list[str], predicted: list[str], labels: list[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t], index[p]] += 1
    return matrix


def latency_p50_ms(classifier: IntentClassifier, texts: list[str], warmup: int = 5) -> float:
    """Median time to classify one utterance (batch of one), model load excluded."""
    for text in texts[:warmup]:
        classifier.predict([words(text)])
    timings = []
    for text in texts:
        started = time.perf_counter()
        classifier.predict([words(text)])
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / MB


def evaluate_split(classifier: IntentClassifier, examples: list[Example]) -> dict:
    predictions = classifier.predict([words(e.text) for e in examples])
    truth, predicted = [e.intent for e in examples], [p.intent for p in predictions]
    labels = classifier.labels
    ids = {label: i for i, label in enumerate(labels)}
    tags_right = [
        list(e.tags) == word_tags(p.spans, len(e.tags)) for e, p in zip(examples, predictions, strict=True)
    ]
    return {
        "accuracy": float(np.mean([t == p for t, p in zip(truth, predicted, strict=True)])),
        "macro_f1": macro_f1(np.array([ids[t] for t in truth]), np.array([ids[p] for p in predicted])),
        "frame_accuracy": float(
            np.mean([t == p and right for t, p, right in zip(truth, predicted, tags_right, strict=True)])
        ),
        "per_intent": per_label_scores(truth, predicted, labels),
        "confusion": confusion(truth, predicted, labels).tolist(),
    }


def word_tags(spans: tuple[TaggedSpan, ...], length: int) -> list[str]:
    """The BIO tag of every word, from the spans the model found."""
    tags = ["O"] * length
    for span in spans:
        for offset in range(len(span.words)):
            tags[span.start + offset] = f"{'B' if offset == 0 else 'I'}-{span.slot}"
    return tags


def plot_confusion(matrix: list[list[int]], labels: list[str], title: str, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(6.5, 5.5))
    image = axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    for (row, col), count in np.ndenumerate(np.array(matrix)):
        axes.text(
            col,
            row,
            count,
            ha="center",
            va="center",
            color="white" if count > np.max(matrix) / 2 else "black",
        )
    axes.set_title(title)
    figure.colorbar(image)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def plot_curves(log_history: list[dict], title: str, path: Path) -> None:
    train = [(h["epoch"], h["loss"]) for h in log_history if "loss" in h] or [(0, float("nan"))]
    evals = [(h["epoch"], h["eval_loss"], h["eval_accuracy"]) for h in log_history if "eval_loss" in h]
    figure, loss_axes = plt.subplots(figsize=(6.5, 4))
    loss_axes.plot(*zip(*train, strict=True), label="training loss", color="tab:blue")
    loss_axes.plot(
        [e[0] for e in evals], [e[1] for e in evals], "o-", label="validation loss", color="tab:orange"
    )
    loss_axes.set_xlabel("epoch")
    loss_axes.set_ylabel("loss")
    accuracy_axes = loss_axes.twinx()
    accuracy_axes.plot(
        [e[0] for e in evals], [e[2] for e in evals], "s--", color="tab:green", label="validation accuracy"
    )
    accuracy_axes.set_ylabel("accuracy")
    accuracy_axes.set_ylim(0, 1.02)
    figure.legend(loc="center right")
    loss_axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_variant_report(
    result: TrainResult, classifier: IntentClassifier, test: list[Example], folder: Path
) -> dict:
    """metrics.json, report.md, confusion.png and curves.png in the variant's folder; returns the metrics."""
    scores = evaluate_split(classifier, test)
    metrics = {
        "variant": result.variant,
        "test": scores,
        "train_wall_time_s": result.wall_time_s,
        "peak_ram_mb": result.peak_ram_bytes / MB,
        "trainable_params": result.trainable_params,
        "total_params": result.total_params,
        **result.weights,
        "latency_p50_ms": latency_p50_ms(classifier, [e.text for e in test[:100]]),
        "loss_curve": [[h["epoch"], h["loss"]] for h in result.log_history if "loss" in h],
    }
    plot_confusion(
        scores["confusion"], classifier.labels, f"{result.variant}: test split", folder / "confusion.png"
    )
    plot_curves(result.log_history, f"{result.variant}: training", folder / "curves.png")
    metrics["disk_mb"] = disk_mb(folder)
    (folder / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    (folder / "report.md").write_text(variant_markdown(metrics, classifier.labels))
    return metrics


def variant_markdown(metrics: dict, labels: list[str]) -> str:
    test = metrics["test"]
    rows = [
        f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['support']} |"
        for label, s in test["per_intent"].items()
    ]
    return "\n".join(
        [
            f"# {metrics['variant']} intent classifier",
            "",
            f"Test split (phrasings never seen in training): accuracy **{test['accuracy']:.3f}**, "
            f"macro-F1 **{test['macro_f1']:.3f}**; frame accuracy (the intent and every word's slot tag "
            f"right) **{test['frame_accuracy']:.3f}**.",
            "",
            "| intent | precision | recall | support |",
            "|---|---|---|---|",
            *rows,
            "",
            "![confusion matrix](confusion.png)",
            "",
            "![training curves](curves.png)",
            "",
        ]
    )


COMPARISON_ROWS = [
    ("test accuracy", lambda m: f"{m['test']['accuracy']:.3f}"),
    ("test macro-F1", lambda m: f"{m['test']['macro_f1']:.3f}"),
    ("test frame accuracy (intent and every slot tag)", lambda m: f"{m['test']['frame_accuracy']:.3f}"),
    ("training wall time", lambda m: f"{m['train_wall_time_s']:.0f} s"),
    ("peak RAM while training", lambda m: f"{m['peak_ram_mb']:.0f} MB"),
    ("trainable parameters", lambda m: f"{m['trainable_params']:,}"),
    ("weights in memory", lambda m: f"{m['weights_mb']:.1f} MB"),
    (
        "quantized linear layers vs fp32",
        lambda m: (
            f"{m['quantized_linear_mb']:.1f} / {m['quantized_linear_fp32_mb']:.1f} MB "
            f"({m['quantized_linear_ratio']:.1%})"
            if m["quantized_linear_fp32_mb"]
            else "not quantized"
        ),
    ),
    ("size on disk", lambda m: f"{m['disk_mb']:.1f} MB"),
    ("classify latency p50", lambda m: f"{m['latency_p50_ms']:.1f} ms"),
]


def write_comparison(models_dir: Path, variants: list[str]) -> Path | None:
    """A table across the variants whose metrics.json is in ``models_dir``."""
    metrics = {
        v: json.loads((models_dir / v / "metrics.json").read_text())
        for v in variants
        if (models_dir / v / "metrics.json").is_file()
    }
    if not metrics:
        return None
    header = "| | " + " | ".join(metrics) + " |"
    lines = [header, "|---" * (len(metrics) + 1) + "|"]
    lines += [
        f"| {name} | " + " | ".join(cell(m) for m in metrics.values()) + " |"
        for name, cell in COMPARISON_ROWS
    ]
    path = models_dir / "comparison.md"
    path.write_text("# BERT vs QLoRA\n\n" + "\n".join(lines) + "\n")
    return path
