"""Quick real training runs of both variants, the saved folders, and the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from assistant.intents import load_intents
from assistant.nlu import DEFAULT_MODEL_DIR, IntentClassifier, NluError
from training.run import train_variants

pytestmark = pytest.mark.slow


SEVENTH_INTENT = """
  massage:
    description: The seat massage, which this car's simulator has no action for
    action: seat_massage
    data:
      - sentences:
          - "(start|stop|turn on|turn off) [the|my] [seat|back] massage"
          - "massage [mode] (on|off) [please]"
          - "i (want|need|would like) a [back|seat] massage"
          - "(massage|knead) my (back|shoulders)"
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Both variants trained for three epochs on 40 sentences per intent, as `car-assistant train` does,
    on the shipped intents plus a seventh one that only the YAML knows about."""
    root = tmp_path_factory.mktemp("train")
    intents = root / "intents.yaml"
    intents.write_text(
        load_intents().path.read_text().replace("\nintents:\n", "\nintents:\n" + SEVENTH_INTENT, 1)
    )
    library = load_intents(intents)
    metrics = train_variants(
        intents, ["bert", "qlora"], root / "models", root / "data", per_intent=40, seed=3, epochs=3
    )
    return root, library, metrics


@pytest.mark.parametrize("variant", ["bert", "qlora"])
def test_a_seventh_intent_added_to_the_yaml_is_learned(trained, variant):
    root, library, _ = trained
    assert library.labels[0] == "massage"
    classifier = IntentClassifier(root / "models" / variant, library)
    predictions = classifier.predict(["please turn on my seat massage", "massage on", "call mom"])
    assert [p.intent for p in predictions] == ["massage", "massage", "phone"]


@pytest.mark.parametrize("variant", ["bert", "qlora"])
def test_loss_falls_and_accuracy_beats_chance(trained, variant):
    root, library, metrics = trained
    folder = root / "models" / variant
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(json.dumps(metrics[variant]))
    chance = 1 / len(library.labels)
    assert metrics[variant]["test"]["accuracy"] > chance + 0.3


@pytest.mark.parametrize("variant", ["bert", "qlora"])
def test_saved_folder_has_safetensors_report_and_fingerprint(trained, variant):
    root, library, _ = trained
    folder = root / "models" / variant
    names = {p.name for p in folder.iterdir()}
    assert {
        "training.json",
        "metrics.json",
        "report.md",
        "confusion.png",
        "curves.png",
        "tokenizer.json",
    } <= names
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in names)
    weights = "model.safetensors" if variant == "bert" else "adapter_model.safetensors"
    assert weights in names
    if variant == "qlora":  # no path of the training machine in what gets shipped
        adapter = json.loads((folder / "adapter_config.json").read_text())
        assert adapter["base_model_name_or_path"] == "sentence-transformers/all-MiniLM-L6-v2"
    manifest = json.loads((folder / "training.json").read_text())
    assert manifest["intents_fingerprint"] == library.fingerprint
    assert manifest["labels"] == library.labels
    assert (root / "models" / "comparison.md").read_text().count("|") > 20


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


@pytest.mark.parametrize("variant", ["bert", "qlora"])
def test_save_and_load_round_trip_predicts_the_same(trained, variant):
    root, library, _ = trained
    first = IntentClassifier(root / "models" / variant, library)
    second = IntentClassifier(root / "models" / variant, library)
    texts = ["turn on the high beams", "call mom", "what time is it"]
    assert [p.ranking[:2] for p in first.predict(texts)] == pytest.approx(
        [p.ranking[:2] for p in second.predict(texts)]
    )


def test_model_trained_on_other_intents_is_refused(trained, tmp_path):
    root, library, _ = trained
    changed = tmp_path / "intents.yaml"
    changed.write_text(library.path.read_text().replace("flick", "flip"))
    with pytest.raises(NluError, match="trained on other intents"):
        IntentClassifier(root / "models" / "qlora", load_intents(changed))


def test_failed_training_leaves_no_half_written_folder(tmp_path):
    library = load_intents()
    with pytest.raises(Exception):  # noqa: B017 - any failure will do: this base model does not exist
        train_variants(
            library.path,
            ["bert"],
            tmp_path / "models",
            tmp_path / "data",
            per_intent=10,
            base_model=str(tmp_path / "no-such-model"),
        )
    assert not (tmp_path / "models" / "bert").exists()
    assert not [p for p in (tmp_path / "models").iterdir() if p.name.startswith(".")]


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
        assert set(record) == {"text", "intent", "confidence", "slots"}
        assert 0 <= record["confidence"] <= 1
    assert records[0]["intent"] == "climate" and records[0]["slots"]["temperature"] == 21
    assert records[1]["intent"] == "out_of_scope" and records[1]["slots"] == {}
    assert records[2]["slots"] == {"contact": "dad", "action": "call"}


def test_classify_with_bad_jsonl_says_file_and_line(tmp_path):
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"text": "ok"}\nnot json\n')
    result = run_cli("classify", "--jsonl", str(jsonl))
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"car-assistant: {jsonl}:2: not valid JSON")
    assert "Traceback" not in result.stderr


def test_classify_refuses_missing_model_in_one_line(tmp_path):
    result = run_cli("classify", "hello", "--model", str(tmp_path))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "No trained model" in result.stderr


def test_shipped_model_matches_shipped_intents():
    manifest = json.loads((DEFAULT_MODEL_DIR / "training.json").read_text())
    assert manifest["intents_fingerprint"] == load_intents().fingerprint
    assert (DEFAULT_MODEL_DIR / "adapter_model.safetensors").stat().st_size < 10_000_000
