"""The benchmarks' own machinery: the exact overlap check."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import pytest

from assistant.intents import load_intents

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture
def script(monkeypatch):
    """``script("speech")``: a module of ``scripts/``, imported as the benchmarks import each other."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    return importlib.import_module


# -- the exact overlap check ------------------------------------------------------------------------

TINY = """\
language: en
intents:
  lights:
    action: set_light
    data:
      - sentences:
          - "(turn|switch) {state} [the] <lamp>"
  navigation:
    action: navigate
    data:
      - sentences:
          - "take me to {destination}"
out_of_scope:
  sentences:
    - "what time is it"
fillers:
  prefix: ["hey car"]
  suffix: ["please"]
expansion_rules:
  lamp: "{light}"
lists:
  light:
    values:
      - in: "(high beams|brights)"
        out: high_beams
  state:
    values: ["on", "off"]
  destination:
    wildcard: true
    values: ["the airport"]
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text(textwrap.dedent(TINY))
    return load_intents(path)


def test_overlap_finds_what_the_templates_say_with_rules_fillers_and_out_of_scope(script, tiny):
    overlap = script("check_dev_overlap")
    texts = [
        "Turn on the brights.",  # through the rule, any case and punctuation
        "hey car switch off high beams please",  # both fillers
        "What time is it?",  # an out-of-scope template
        "take me to the airport",  # a free-text sample value
        "take me to the zoo",  # not a sample value
        "turn on the brights now",  # 'now' is no filler here
        "please turn on the brights hey car",  # fillers on the wrong ends
        "turn up the brights",
    ]
    found = overlap.reachable(tiny, texts, wildcards=False)
    assert [(r.text, r.intent) for r in found] == [
        (texts[0], "lights"),
        (texts[1], "lights"),
        (texts[2], "out_of_scope"),
        (texts[3], "navigation"),
    ]
    assert found[0].template.text == "(turn|switch) {state} [the] <lamp>"
    assert found[0].template.line == 7


def test_overlap_with_wildcards_takes_any_free_text_value(script, tiny):
    overlap = script("check_dev_overlap")
    found = overlap.reachable(tiny, ["take me to the zoo", "take me"], wildcards=True)
    assert [r.text for r in found] == ["take me to the zoo"]
