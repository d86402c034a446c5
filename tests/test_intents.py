"""The intents YAML: parsing, synonyms, and every validation error with its file and line."""

from __future__ import annotations

import sys
import textwrap
import types

import pytest

from assistant.check import CheckOptions, check_intents, failed, render
from assistant.cli import main
from assistant.intents import (
    MIN_WORDINGS,
    OUT_OF_SCOPE,
    IntentsError,
    check_responses,
    find_warnings,
    load_intents,
    respond,
)
from assistant.pipeline import CONVERSATION_OUTCOMES
from assistant.vehicle import OUTCOMES, VehicleState, apply

VALID = """\
language: en
intents:
  lights:
    action: set_light
    data:
      - sentences:
          - "(turn|switch) {state} [the] {light}"
lists:
  light:
    values:
      - in: "(brights|high beams|full beam)"
        out: high_beams
  state:
    values: ["on", "off"]
"""


def write(tmp_path, text: str):
    path = tmp_path / "intents.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path, text: str) -> str:
    with pytest.raises(IntentsError) as caught:
        load_intents(write(tmp_path, text))
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_bundled_intents_load_with_six_intents_and_out_of_scope():
    library = load_intents()
    assert list(library.intents) == ["lights", "climate", "navigation", "media", "phone", "windows"]
    assert library.labels[-1] == OUT_OF_SCOPE
    assert library.out_of_scope
    assert all(intent.action for intent in library.intents.values())


def test_synonyms_expand_to_every_phrase(tmp_path):
    library = load_intents(write(tmp_path, VALID))
    (high_beams,) = library.lists["light"].values
    assert high_beams.out == "high_beams"
    assert set(high_beams.phrases) == {"brights", "high beams", "full beam"}
    assert set(library.slot_lists("lights")) == {"state", "light"}


def test_fingerprint_ignores_comments_but_not_content(tmp_path):
    base = load_intents(write(tmp_path, VALID)).fingerprint
    assert load_intents(write(tmp_path, "# a comment\n" + VALID)).fingerprint == base
    changed = VALID.replace("full beam", "main beam")
    assert load_intents(write(tmp_path, changed)).fingerprint != base


def test_fingerprint_ignores_what_is_read_only_at_run_time(tmp_path):
    """Describing an intent or naming its action needs no retraining; a new sentence does."""
    base = load_intents(write(tmp_path, VALID)).fingerprint
    described = VALID.replace("    action: set_light\n", "    action: toggle_light\n    description: Lamps\n")
    assert load_intents(write(tmp_path, described)).fingerprint == base
    more = VALID.replace('          - "(turn|switch)', '          - "{state} [the] {light}"\n          - "(turn|switch)')
    assert load_intents(write(tmp_path, more)).fingerprint != base


REQUIRED = VALID.replace("    action: set_light\n", "    action: set_light\n    required:\n      light: {ask: 'Which light?', unless: [state=off]}\n")


def test_required_slots_are_read_with_their_question_and_what_makes_them_unneeded(tmp_path):
    intent = load_intents(write(tmp_path, REQUIRED)).intents["lights"]
    (required,) = intent.required
    assert (required.slot, required.question) == ("light", "Which light?")
    assert intent.missing({"state": "on"}) == (required,)
    assert intent.missing({"state": "off"}) == intent.missing({"light": "high_beams"}) == ()
    short = REQUIRED.replace("{ask: 'Which light?', unless: [state=off]}", "Which light?")
    assert load_intents(write(tmp_path, short)).intents["lights"].missing({"state": "off"})


def test_required_slots_need_no_retraining(tmp_path):
    assert load_intents(write(tmp_path, REQUIRED)).fingerprint == load_intents(write(tmp_path, VALID)).fingerprint


def test_the_shipped_intents_ask_for_a_contact_a_destination_and_a_temperature():
    library = load_intents()
    asks = {name: [r.question for r in intent.missing({})] for name, intent in library.intents.items()}
    assert asks["phone"] == ["Who should I call?"] and asks["navigation"] == ["Where to?"]
    assert asks["climate"] and not asks["lights"]
    assert library.intents["phone"].missing({"action": "answer"}) == ()


@pytest.mark.parametrize(
    ("required", "words"),
    [
        ("colour: 'Which colour?'", "requires 'colour', a slot none of its templates fill"),
        ("light: {unless: [state]}", "needs a question to ask"),
        ("light: {ask: 'Which?', unless: [colour=red]}", "names 'colour'"),
        ("light: {ask: 'Which?', unless: state}", "must be a list"),
        ("[light]", "must map slots to questions"),
    ],
)
def test_a_bad_required_slot_is_one_line_with_its_place(tmp_path, required, words):
    text = VALID.replace("    action: set_light\n", f"    action: set_light\n    required:\n      {required}\n")
    if required.startswith("["):
        text = VALID.replace("    action: set_light\n", f"    action: set_light\n    required: {required}\n")
    message = error_for(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'intents.yaml'}:"), message
    assert words in message and ":1:" not in message


@pytest.mark.parametrize(
    ("change", "line", "words"),
    [
        (("[the] {light}", "[the {light}"), 7, "unbalanced brackets"),
        (("[the] {light}", "[the] {light})"), 7, "unbalanced brackets"),
        (("{state} [the] {light}", "{state} [the] {lamp}"), 7, "unknown slot list {lamp}"),
        (('"(turn|switch) {state} [the] {light}"', '"[please] [now]"'), 7, "expand to nothing"),
        (('"(turn|switch) {state} [the] {light}"', '""'), 7, "empty template"),
        (("intents:\n", "intents:\n  lights:\n    data: []\n"), 5, "duplicate key 'lights'"),
        (('full beam)"', 'full beam"'), 11, "unbalanced brackets in '(brights|high beams|full beam'"),
        (
            ("  state:\n    values", "  state:\n    wildcard: true\n    values: []\n    x"),
            13,
            "free-text list 'state' has no values",
        ),
        (("(turn|switch) {state}", "(turn|switch) <how> {state}"), 7, "unknown rule <how>"),
    ],
)
def test_validation_errors_name_file_line_and_problem(tmp_path, change, line, words):
    message = error_for(tmp_path, VALID.replace(*change, 1))
    assert message.startswith(f"{tmp_path / 'intents.yaml'}:{line}: "), message
    assert words in message


def test_yaml_syntax_error_has_line(tmp_path):
    message = error_for(tmp_path, VALID.replace("    action: set_light", "    action: [set_light"))
    assert ":5: YAML syntax error" in message or ":6: YAML syntax error" in message


def test_empty_intent_is_rejected(tmp_path):
    message = error_for(tmp_path, VALID.replace("intents:\n", "intents:\n  climate:\n    data: []\n", 1))
    assert message.endswith(":3: intent 'climate' is empty: it has no sentences")


def test_no_intents_and_unreadable_file(tmp_path):
    assert "no intents" in error_for(tmp_path, "language: en\nintents: {}\n")
    with pytest.raises(IntentsError, match="cannot read"):
        load_intents(tmp_path / "missing.yaml")


def test_reserved_name_and_bad_default(tmp_path):
    assert "reserved" in error_for(tmp_path, VALID.replace("  lights:", f"  {OUT_OF_SCOPE}:"))
    bad_default = VALID.replace(
        "    action: set_light", "    action: set_light\n    defaults:\n      colour: red"
    )
    assert "colour" in error_for(tmp_path, bad_default)


def test_range_list_must_not_be_empty(tmp_path):
    text = VALID.replace('  state:\n    values: ["on", "off"]', "  state:\n    range: {from: 30, to: 16}")
    assert "is empty" in error_for(tmp_path, text)


def test_a_byte_that_is_not_utf8_is_named_with_its_line(tmp_path):
    path = tmp_path / "intents.yaml"
    data = VALID.encode()
    at = data.index(b"full beam")
    path.write_bytes(data[:at] + b"\xff" + data[at:])
    with pytest.raises(IntentsError) as caught:
        load_intents(path)
    assert str(caught.value) == f"{path}:11: not valid UTF-8 (byte {at})"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_byte_order_mark_is_honoured(tmp_path, encoding):
    text = VALID.replace("full beam", "full beam|plein phare")
    marked = tmp_path / "marked.yaml"
    marked.write_bytes(text.encode(encoding))
    library = load_intents(marked)
    assert "plein phare" in library.lists["light"].values[0].phrases
    assert library.fingerprint == load_intents(write(tmp_path, text)).fingerprint


CONTRADICTING = (
    VALID
    + """\
out_of_scope:
  sentences:
    - "tell me a joke"
    - "(turn|switch) on the (brights|radio)"
"""
)


def test_an_out_of_scope_sentence_an_intent_also_says_is_a_warning_naming_both_places(tmp_path):
    library = load_intents(write(tmp_path, CONTRADICTING))
    path = tmp_path / "intents.yaml"
    found = [message for message in find_warnings(library) if "out-of-scope" in message]
    assert found == [
        f"{path}:18: out-of-scope 'turn on the brights' is also said by intent 'lights' at {path}:7 "
        "('(turn|switch) {state} [the] {light}'); the model is taught both: remove one"
    ]


def test_a_file_that_does_not_contradict_itself_has_no_such_warning(tmp_path):
    text = CONTRADICTING.replace("(brights|radio)", "radio")
    assert not [m for m in find_warnings(load_intents(write(tmp_path, text))) if "out-of-scope" in m]


def test_an_intent_with_too_few_wordings_is_a_warning(tmp_path):
    few = find_warnings(load_intents(write(tmp_path, VALID)))
    assert few == [
        f"{tmp_path / 'intents.yaml'}:7: intent 'lights' has only 4 wordings; the validation and test splits "
        f"are drawn by wording and may get none of it: add templates or alternatives (at least {MIN_WORDINGS} wordings)"
    ]
    many = VALID.replace(
        '"(turn|switch) {state} [the] {light}"',
        '"(turn|switch|put|flip|set) {state} [the|my|our|those] {light}"',
    )
    assert find_warnings(load_intents(write(tmp_path, many))) == []


def test_check_reports_warnings_one_line_each_and_fails_only_on_errors(tmp_path):
    path = write(tmp_path, CONTRADICTING)
    results = check_intents(CheckOptions(intents=path))
    lines = render(results).splitlines()
    assert not failed(results)
    assert [line.split()[0] for line in lines] == ["ok", "warning", "warning"]
    assert f"{path}:18: out-of-scope 'turn on the brights'" in lines[1] and "has only 4 wordings" in lines[2]

    broken = write(tmp_path, VALID.replace("[the] {light}", "[the {light}"))
    results = check_intents(CheckOptions(intents=broken))
    assert failed(results)
    (line,) = render(results).splitlines()
    assert line.startswith(f"error    {broken}:7: unbalanced brackets")


def test_train_says_the_warnings_before_training(tmp_path, capsys, monkeypatch):
    calls = []
    trainer = types.SimpleNamespace(
        VARIANTS=("bert", "qlora"),
        train_variants=lambda *args, **kwargs: calls.append(capsys.readouterr().err),
    )
    monkeypatch.setitem(sys.modules, "training.run", trainer)  # stands in for minutes of training
    path = write(tmp_path, CONTRADICTING)
    assert main(["train", "--intents", str(path), "--out", str(tmp_path / "models")]) == 0
    (said_before_training,) = calls
    lines = said_before_training.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"car-assistant: warning: {path}:") for line in lines)
    assert "out-of-scope 'turn on the brights'" in lines[0]


# -- responses ------------------------------------------------------------------------------------

RESPONSES = """\
responses:
  light_switched: "{light} {state}."
  bad_choice: "I can't use '{value}' as the {slot}; try {options:or}."
  no_action: "Understood {intent}; the car has no action for it yet."
  no_action_with_slots: "Understood {intent}: {slots}; the car has no action for it yet."
"""
WIPERS = """\
  wipers:
    data:
      - sentences:
          - "wipers {state}"
"""
CAR = {**OUTCOMES, **CONVERSATION_OUTCOMES}


def with_intent(text: str, intent: str) -> str:
    return text.replace("intents:\n", "intents:\n" + intent, 1)


def test_responses_word_the_cars_outcome_with_its_values_and_the_lists_phrases(tmp_path):
    library = load_intents(write(tmp_path, VALID + RESPONSES))
    check_responses(library, CAR)
    assert respond(library, "light_switched", {"light": "high_beams", "state": "on"}) == "Brights on."
    options = {"value": "purple", "slot": "light", "options": ("headlights", "fog_lights", "hazards")}
    assert (
        respond(library, "bad_choice", options)
        == "I can't use 'purple' as the light; try headlights, fog lights or hazards."
    )


def test_an_intents_own_response_wins_and_may_name_its_slots(tmp_path):
    own = '    responses:\n      light_switched: "Okay, the {light} are {state} now."\n'
    library = load_intents(
        write(tmp_path, VALID.replace("    action: set_light\n", "    action: set_light\n" + own) + RESPONSES)
    )
    check_responses(library, CAR)
    values = {"light": "high_beams", "state": "off"}
    assert respond(library, "light_switched", values, intent="lights") == "Okay, the brights are off now."
    assert respond(library, "light_switched", values) == "Brights off."


def test_responses_are_read_at_run_time_only(tmp_path):
    base = load_intents(write(tmp_path, VALID)).fingerprint
    own = '    responses:\n      light_switched: "Done."\n'
    worded = VALID.replace("    action: set_light\n", "    action: set_light\n" + own) + RESPONSES
    assert load_intents(write(tmp_path, worded)).fingerprint == base


def test_a_new_intent_in_the_yaml_only_gets_a_spoken_reply(tmp_path):
    """No action in the car: the file's default reply, or the intent's own with its slots put in."""
    library = load_intents(write(tmp_path, with_intent(VALID, WIPERS) + RESPONSES))
    _, outcome = apply(VehicleState(), None, "wipers", {"state": "on"})
    assert (
        respond(library, outcome.key, outcome.values)
        == "Understood wipers: state on; the car has no action for it yet."
    )
    own = (
        WIPERS
        + '    responses:\n      no_action_with_slots: "Wipers {state}, as soon as the car has them."\n'
    )
    library = load_intents(write(tmp_path, with_intent(VALID, own) + RESPONSES))
    check_responses(library, CAR)
    said = respond(library, outcome.key, {"state": "on", **outcome.values}, intent="wipers")
    assert said == "Wipers on, as soon as the car has them."


def test_a_response_naming_a_slot_the_intent_lacks_is_one_line_with_its_place(tmp_path):
    own = WIPERS + '    responses:\n      no_action_with_slots: "Wipers at {speed}."\n'
    path = write(tmp_path, with_intent(VALID, own))
    with pytest.raises(IntentsError) as caught:
        check_responses(load_intents(path), CAR)
    message = str(caught.value)
    assert message.startswith(f"{path}:8: response 'no_action_with_slots' of intent 'wipers' names {{speed}}")
    assert "state" in message and "\n" not in message


@pytest.mark.parametrize(
    ("response", "words"),
    [
        ('  calling: "Calling {contact."', "cannot read response 'calling'"),
        ('  calling: "Calling {0}."', "write a slot's name"),
        ('  dancing: "Dancing."', "answers no outcome the car reports"),
        ('  calling: "Calling {who}."', "names {who}, which it does not have (it has: contact)"),
    ],
)
def test_bad_responses_name_file_and_line(tmp_path, response, words):
    path = write(tmp_path, VALID + "responses:\n" + response + "\n")
    with pytest.raises(IntentsError) as caught:
        check_responses(load_intents(path), CAR)
    assert str(caught.value).startswith(f"{path}:16: ") and words in str(caught.value)


def test_the_bundled_responses_word_every_outcome():
    library = load_intents()
    check_responses(library, CAR)
    assert set(library.responses) == set(CAR)
