"""The policy alone: each verdict, act, ask or refuse, with its reason (no model needed)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.events import Command, Evidence, Expectation, Prediction, Transcript
from assistant.intents import OUT_OF_SCOPE, load_intents
from assistant.nlu import grammar_first
from assistant.policy import Policy, PolicyOptions, question_for

LIGHTS_OFF = Command("lights", {"light": "high_beams", "state": "off"}, "set_light")


@pytest.fixture(scope="module")
def policy() -> Policy:
    options = PolicyOptions(act_threshold=0.8, ask_threshold=0.5, margin=0.2, act_without_template=0.8)
    return Policy(load_intents(), options)


def evidence(
    *ranking: tuple[str, float],
    text: str = "high beams off",
    command: Command = LIGHTS_OFF,
    slots: dict[str, float] | None = None,
    template: bool = True,
    missing: tuple[str, ...] = (),
    transcript: Transcript | None = None,
) -> Evidence:
    prediction = Prediction(text, ranking[0][0], ranking[0][1], tuple(ranking))
    return Evidence(
        prediction=prediction,
        command=command,
        slot_confidence={"light": 1.0, "state": 1.0} if slots is None else slots,
        template_matched=template,
        missing_required=missing,
        transcript=transcript,
    )


def speech(no_speech: float, logprob: float) -> Transcript:
    return Transcript("high beams off", asr_ms=100.0, no_speech_prob=no_speech, avg_logprob=logprob)


CONFIDENT = (("lights", 0.95), ("climate", 0.03))


def test_confident_with_a_template_acts_and_says_why(policy):
    decision = policy.decide(evidence(*CONFIDENT))
    assert decision.verdict == "act" and decision.command == LIGHTS_OFF
    assert decision.reason == "95% sure, a template says it"
    assert decision.question == ""


def test_confident_with_slots_but_no_template_acts_on_the_slots(policy):
    decision = policy.decide(evidence(*CONFIDENT, template=False))
    assert decision.verdict == "act" and decision.reason == "95% sure, heard light=high_beams, state=off"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        (evidence(("lights", 0.65), ("climate", 0.2)), "leaning to lights (65% < 80%)"),
        (evidence(("lights", 0.85), ("windows", 0.7)), "could be lights or windows"),
        (evidence(*CONFIDENT, slots={}, template=False), "heard nothing that says what to do"),
        (evidence(*CONFIDENT, slots={"light": 1.0, "state": 0.5}), "not sure 'off' is a state"),
        (evidence(*CONFIDENT, missing=("light",)), "no light heard"),
        (evidence(*CONFIDENT, missing=("light", "state")), "no light, state heard"),
        (
            evidence(*CONFIDENT, transcript=speech(0.1, -1.4)),
            "unclear speech (average log-probability -1.40)",
        ),
    ],
    ids=[
        "between thresholds",
        "ambiguous",
        "no evidence",
        "doubtful slot",
        "missing slot",
        "missing slots",
        "unclear speech",
    ],
)
def test_weak_evidence_asks_what_it_would_do(policy, case, reason):
    decision = policy.decide(case)
    assert decision.verdict == "ask" and decision.command == LIGHTS_OFF
    assert decision.reason == reason
    assert decision.question == "Turn off high beams?"


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        (evidence((OUT_OF_SCOPE, 0.9), ("media", 0.05)), "not something this car can do"),
        (
            evidence(("media", 0.9), ("phone", 0.05), text="Thank you."),
            "heard nothing that sounds like a command",
        ),
        (evidence(("lights", 0.9), ("phone", 0.05), text=""), "heard nothing that sounds like a command"),
        (evidence(("lights", 0.4), ("media", 0.3)), "not sure enough (40% < 50%)"),
        (evidence(*CONFIDENT, slots={"light": 1.0, "state": 0.0}), "'off' doesn't sound like a state"),
        (
            evidence(*CONFIDENT, transcript=speech(0.9, -1.5)),
            "probably not speech (no-speech probability 90%)",
        ),
    ],
    ids=["out of scope", "hallucination", "empty", "unsure", "talk as a slot", "no speech"],
)
def test_no_command_is_refused_as_out_of_scope(policy, case, reason):
    decision = policy.decide(case)
    assert decision.verdict == "refuse" and decision.command == Command(OUT_OF_SCOPE, {})
    assert decision.reason == reason and decision.question == ""


def test_slots_without_a_template_need_the_surer_intent_to_be_acted_on():
    never = Policy(load_intents(), PolicyOptions(act_threshold=0.8, act_without_template=1.01))
    decision = never.decide(evidence(*CONFIDENT, template=False))
    assert decision.verdict == "ask" and decision.reason == "no template says it that way (95% < 101%)"
    assert never.decide(evidence(*CONFIDENT, template=True)).verdict == "act"
    surer = Policy(load_intents(), PolicyOptions(act_threshold=0.5, act_without_template=0.9))
    assert surer.decide(evidence(*CONFIDENT, template=False)).verdict == "act"  # 95 %
    leaning = evidence(("lights", 0.85), ("climate", 0.03), template=False)
    assert (
        surer.decide(leaning).verdict == "ask"
        and surer.decide(replace(leaning, template_matched=True)).verdict == "act"
    )


def test_clear_speech_acts_like_typed_text(policy):
    assert policy.decide(evidence(*CONFIDENT, transcript=speech(0.3, -0.2))).verdict == "act"


def test_unclear_speech_the_car_was_waiting_for_is_acted_on(policy):
    """Whisper's decoder found the audio saying an expected sentence: its low average is no doubt."""
    muffled = speech(0.1, -1.4)
    expected = replace(muffled, expected_match=True)
    assert policy.decide(evidence(*CONFIDENT, transcript=muffled)).verdict == "ask"
    assert policy.decide(evidence(*CONFIDENT, transcript=expected)).verdict == "act"


def test_thresholds_come_from_the_options():
    lenient = Policy(load_intents(), PolicyOptions(act_threshold=0.6, ask_threshold=0.3))
    assert lenient.decide(evidence(("lights", 0.65), ("climate", 0.2))).verdict == "act"
    assert lenient.decide(evidence(("lights", 0.4), ("climate", 0.2))).verdict == "ask"


EXACT = PolicyOptions(
    act_threshold=0.75, ask_threshold=0.5, margin=0.25, slot_act=0.75, slot_refuse=0.25, no_speech=0.5
)
"""Thresholds a float says exactly, so a case can sit right on each."""


@pytest.mark.parametrize(
    ("case", "verdict"),
    [
        (evidence(("lights", 0.75), ("climate", 0.5)), "act"),
        (evidence(("lights", 0.5), ("climate", 0.0)), "ask"),
        (evidence(*CONFIDENT, slots={"light": 0.75}), "act"),
        (evidence(*CONFIDENT, slots={"light": 0.25}), "ask"),
        (evidence(*CONFIDENT, transcript=speech(0.5, -1.5)), "refuse"),
        (evidence(*CONFIDENT, transcript=speech(0.9, -1.0)), "act"),
    ],
    ids=[
        "confidence and margin at the act threshold",
        "confidence at the ask threshold",
        "slot at the act threshold",
        "slot at the refuse threshold",
        "no-speech probability at its threshold",
        "log-probability at its threshold",
    ],
)
def test_a_value_right_on_a_threshold_counts_as_reaching_it(case, verdict):
    assert Policy(load_intents(), EXACT).decide(case).verdict == verdict


@pytest.mark.parametrize(
    ("command", "question"),
    [
        (Command("navigation", {"destination": "phoenix"}), "Navigate to phoenix?"),
        (Command("phone", {"contact": "mom", "action": "call"}), "Call mom?"),
        (Command("climate", {"temperature": 22}), "Set temperature to 22?"),
        (Command("windows", {"state": "open", "window": "sunroof"}), "Open sunroof?"),
        (
            Command("media", {}),
            "Did you mean media (play, pause, stop, next or previous track, volume up or down, mute, radio, music by name)?",
        ),
    ],
)
def test_questions_are_worded_from_the_yaml_templates(command, question):
    assert question_for(command, load_intents()) == question


CALL = Command("phone", {"action": "call"}, "control_phone")


def test_a_sure_intent_missing_a_required_slot_asks_the_yamls_question_for_it(policy):
    decision = policy.decide(evidence(("phone", 0.95), ("media", 0.02), command=CALL, missing=("contact",)))
    assert decision.verdict == "ask" and decision.reason == "no contact heard"
    assert (decision.question, decision.slot) == ("Who should I call?", "contact")
    assert decision.command == CALL  # what the answer will complete


def test_an_unsure_intent_missing_a_slot_asks_yes_or_no_first(policy):
    decision = policy.decide(evidence(("phone", 0.6), ("media", 0.3), command=CALL, missing=("contact",)))
    assert decision.verdict == "ask" and decision.slot == "" and decision.question.endswith("?")


def test_an_expected_intent_is_favoured_whether_or_not_it_led(policy):
    decline = Prediction("decline", "media", 0.74, (("media", 0.74), ("phone", 0.12), (OUT_OF_SCOPE, 0.14)))
    favoured = policy.favour(decline, Expectation(("phone",)))
    assert favoured.intent == "phone" and favoured.confidence > 0.5
    assert favoured.ranking[0] == ("phone", favoured.confidence)  # 1.2 of 1.2 + 0.74 + 0.14
    assert abs(favoured.confidence - 1.2 / 2.08) < 1e-9
    assert abs(sum(score for _, score in favoured.ranking) - 1.0) < 1e-9
    assert policy.favour(decline, Expectation()) == decline
    surer = policy.favour(decline, Expectation(("media",)))
    assert surer.intent == "media" and abs(surer.confidence - 7.4 / 7.66) < 1e-9


def test_a_command_no_template_can_say_is_asked_about_in_its_values():
    unsayable = Command("lights", {"light": "laser", "state": "sideways"})
    assert question_for(unsayable, load_intents()) == "Lights: laser, sideways?"


def test_a_ranking_of_one_intent_is_never_ambiguous():
    low_bar = Policy(load_intents(), PolicyOptions(act_threshold=0.1, ask_threshold=0.05, margin=0.2))
    assert low_bar.decide(evidence(("lights", 0.15))).verdict == "act"


def test_what_no_template_says_is_acted_on_right_at_its_threshold():
    at_bar = Policy(load_intents(), PolicyOptions(act_threshold=0.5, act_without_template=0.7))
    assert at_bar.decide(evidence(("lights", 0.7), ("climate", 0.03), template=False)).verdict == "act"


def test_a_sentence_of_the_grammar_is_asked_about_however_unsure_the_model(policy):
    read_as_talk = evidence(("lights", 0.1), (OUT_OF_SCOPE, 0.85))
    decision = policy.decide(replace(read_as_talk, grammar_says=True))
    assert decision.verdict == "ask" and decision.command == LIGHTS_OFF
    assert policy.decide(read_as_talk).verdict == "refuse"


def test_the_grammars_intent_goes_first_with_the_models_own_score():
    ranking = ((OUT_OF_SCOPE, 0.8), ("media", 0.15), ("lights", 0.05))
    prediction = Prediction("hazards on", OUT_OF_SCOPE, 0.8, ranking)
    first = grammar_first(prediction, frozenset({"lights", "windows"}))
    assert (first.intent, first.confidence) == ("lights", 0.05)
    assert first.ranking == (("lights", 0.05), (OUT_OF_SCOPE, 0.8), ("media", 0.15))
    assert grammar_first(prediction, frozenset({"phone"})) == prediction
