"""The joint model: built, saved and loaded back exactly, for both variants (damaged folders: the fault
table, tests/test_faults.py)."""

from __future__ import annotations

import pytest
import torch

from assistant.classifier import (
    HEADS,
    MANIFEST,
    IntentClassifier,
    read_manifest,
    save_model,
    tag_names,
)
from assistant.intents import load_intents, words
from training.config import TrainConfig
from training.finetune import _manifest, build_model

TEXTS = ["turn on the high beams", "take me to the airport", "what time is it"]


@pytest.fixture(scope="module")
def library():
    return load_intents()


def scrambled(model) -> None:
    """Random trainable weights, so a round trip that loses any of them shows."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.requires_grad:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)


def outputs(model, tokenizer, max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
    batch = tokenizer(
        [words(t) for t in TEXTS],
        is_split_into_words=True,
        padding=True,
        truncation=True,
        max_length=max_length,
        return_tensors="pt",
    )
    with torch.inference_mode():
        result = model.eval()(**batch)
    return result["intent_logits"], result["tag_logits"]


@pytest.fixture(scope="module", params=["bert", "qlora"])
def saved(request, library, tmp_path_factory):
    """A freshly built model of each variant with scrambled weights, its outputs, and its saved folder."""
    from transformers import AutoTokenizer

    config = TrainConfig(request.param)
    tags = tag_names(library.slot_names)
    model = build_model(config, library.labels, tags)
    scrambled(model)
    tokenizer = AutoTokenizer.from_pretrained(config.resolved_base_model)
    folder = tmp_path_factory.mktemp(request.param)
    save_model(model, tokenizer, folder, _manifest(config, library, tags, {}))
    return folder, outputs(model, tokenizer, config.max_length)


def test_a_saved_model_loads_back_with_the_same_outputs(saved, library):
    folder, (intents_before, tags_before) = saved
    loaded = IntentClassifier(folder, library.fingerprint, library.path)
    intents_after, tags_after = outputs(loaded.model, loaded.tokenizer, loaded.max_length)
    assert torch.allclose(intents_before, intents_after, atol=1e-5)
    assert torch.allclose(tags_before, tags_after, atol=1e-5)


def test_what_is_saved_is_safetensors_the_tokenizer_and_a_manifest(saved, library):
    folder, _ = saved
    names = {p.name for p in folder.iterdir()}
    manifest = read_manifest(folder)
    weights = "adapter_model.safetensors" if manifest["variant"] == "qlora" else "model.safetensors"
    assert {weights, HEADS, MANIFEST, "tokenizer.json"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in names)
    assert manifest["labels"] == library.labels and manifest["tags"][0] == "O"
    assert manifest["max_length"] == TrainConfig(manifest["variant"]).max_length
