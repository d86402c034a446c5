"""Quick real training runs of both variants, the saved folders, and the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.classifier import HEADS
from assistant.intents import load_intents
from assistant.nlu import DEFAULT_MODEL_DIR, Understander, load_classifier
from training.dataset import DatasetConfig
from training.run import train_variants

pytestmark = pytest.mark.slow


SEVENTH_INTENT = """
  massage:
    description: The seat massage, which this car's simulator has no action for
    action: seat_massage
    data:
      - sentences:
          - "(start|turn on|give me) [the|my|a] {massage_style:style} [seat|back] massage"
          - "[a] {massage_style:style} massage [please]"
          - "i (want|need|would like) a {massage_style:style} [back|seat] massage"
          - "(massage|knead) my (back|shoulders) [with] [the] {massage_style:style} [setting|program]"
"""
MASSAGE_LIST = """
  massage_style:
    values:
      - in: "(wave|waves|rolling)"
        out: wave
      - in: "(shiatsu|deep|deep tissue)"
        out: shiatsu
      - in: "(gentle|soft|relaxing)"
        out: gentle
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Both variants trained for three epochs on 40 sentences per intent, as `car-assistant train` does,
    on the shipped intents plus a seventh one that only the YAML knows about."""
    root = tmp_path_factory.mktemp("train")
    intents = root / "intents.yaml"
    shipped = load_intents().path.read_text()
    intents.write_text(
        shipped.replace("\nintents:\n", "\nintents:\n" + SEVENTH_INTENT, 1).replace(
            "\nlists:\n", "\nlists:\n" + MASSAGE_LIST, 1
        )
    )
    library = load_intents(intents)
    metrics = train_variants(
        intents, ["bert", "qlora"], root / "models", root / "data", DatasetConfig(60, 3, chatter=0), epochs=6
    )
    return root, library, metrics


@pytest.mark.parametrize("variant", ["bert", "qlora"])
def test_a_seventh_intent_added_to_the_yaml_is_learned_with_its_slot(trained, variant):
    root, library, _ = trained
    assert library.labels[0] == "massage"
    understander = Understander(load_classifier(root / "models" / variant, library), library)
    said = understander.understand_many(
        ["please give me a shiatsu seat massage", "a gentle massage", "call mom"]
    )
    assert [u.prediction.intent for u in said] == ["massage", "massage", "phone"]
    assert [u.command.slots.get("style") for u in said[:2]] == ["shiatsu", "gentle"]
    tagged = understander.classifier.predict([["the", "wave", "massage", "would", "be", "lovely"]])[0]
    assert [(span.slot, span.text) for span in tagged.spans] == [("style", "wave")]  # no template says it


@pytest.mark.parametrize("variant", ["bert", "qlora"])
def test_loss_falls_and_accuracy_beats_chance(trained, variant):
    root, library, metrics = trained
    folder = root / "models" / variant
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(json.dumps(metrics[variant]))
    chance = 1 / len(library.labels)
    assert metrics[variant]["test"]["accuracy"] > chance + 0.3


def test_qlora_trains_only_adapters_and_head_on_a_4bit_base(trained):
    _, _, metrics = trained
    qlora, bert = metrics["qlora"], metrics["bert"]
    assert qlora["trainable_params"] < bert["trainable_params"] / 10
    assert qlora["quantized_linear_ratio"] <= 0.20
    assert bert["quantized_linear_fp32_mb"] == 0


@pytest.mark.parametrize("variant", ["bert", "qlora"])
def test_training_loss_falls(trained, variant):
    losses = [loss for _, loss in trained[2][variant]["loss_curve"]]
    assert len(losses) >= 2
    assert losses[-1] < losses[0] * 0.9


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_classify_prints_one_json_object_per_input(tmp_path):
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text('{"text": "call dad", "intent": "ignored"}\n{"text": "open the sunroof"}\n')
    result = run_cli("classify", "make it 21 degrees", "tell me a joke", "--jsonl", str(jsonl))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == [
        "make it 21 degrees",
        "tell me a joke",
        "call dad",
        "open the sunroof",
    ]
    for record in records:
        assert {"text", "status", "intent", "confidence", "slots", "reason"} <= set(record)
        assert 0 <= record["confidence"] <= 1
    assert records[0]["intent"] == "climate" and records[0]["slots"]["temperature"] == 21
    assert records[1]["intent"] == "out_of_scope" and records[1]["slots"] == {}
    assert records[2]["slots"] == {"contact": "dad", "action": "call"}


def test_shipped_model_matches_shipped_intents():
    manifest = json.loads((DEFAULT_MODEL_DIR / "training.json").read_text())
    assert manifest["intents_fingerprint"] == load_intents().fingerprint
    assert (DEFAULT_MODEL_DIR / "adapter_model.safetensors").stat().st_size < 10_000_000
    assert (DEFAULT_MODEL_DIR / HEADS).is_file()
