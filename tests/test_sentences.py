"""The shipped model on sentences a driver says, in hassil's test format: YAML files of sentences
with the intent and slots each must be understood as (``tests/sentences/*.yaml``).

Each block names the intent and the slots the text itself says; ``out_of_scope`` blocks list
talk that must be refused. Many sentences are worded unlike any template, so these test the
model's reading, not only hassil's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.intents import OUT_OF_SCOPE, load_intents
from assistant.nlu import DEFAULT_MODEL_DIR, Understander, load_classifier
from assistant.policy import Policy

SENTENCES = Path(__file__).parent / "sentences"


def cases() -> list:
    found = []
    for path in sorted(SENTENCES.glob("*.yaml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            expected = block["intent"]
            for sentence in block["sentences"]:
                found.append(
                    pytest.param(
                        sentence, expected["name"], expected.get("slots", {}), id=f"{path.stem}:{sentence}"
                    )
                )
    return found


@pytest.fixture(scope="module")
def judge():
    library = load_intents()
    return Understander(load_classifier(DEFAULT_MODEL_DIR, library), library), Policy(library)


@pytest.mark.parametrize(("sentence", "intent", "slots"), cases())
def test_the_shipped_model_understands(judge, sentence, intent, slots):
    understander, policy = judge
    evidence = understander.understand(sentence)
    verdict, reason = policy.verdict(evidence)
    if intent == OUT_OF_SCOPE:
        assert verdict != "act", (reason, evidence.prediction.ranking[:2])
        return
    assert verdict != "refuse" and evidence.prediction.intent == intent, (reason, evidence.prediction.ranking[:2])
    said = {slot: evidence.command.slots[slot] for slot in evidence.slot_confidence}
    assert said == slots, evidence.prediction.spans
