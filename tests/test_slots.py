"""Slot filling from the YAML lists, number parsing, and the rejection policy (no model needed)."""

from __future__ import annotations

import pytest

from assistant.events import Prediction
from assistant.intents import OUT_OF_SCOPE, load_intents
from assistant.nlu import NluOptions, SlotFiller, decide, normalize
from assistant.numbers import find_number, number_to_words


@pytest.fixture(scope="module")
def filler():
    return SlotFiller(load_intents())


def fill(filler: SlotFiller, intent: str, text: str) -> dict:
    """The slots the car would act on: what the text says, on top of the intent's defaults."""
    return filler.with_defaults(intent, filler.heard(intent, text))


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        ("lights", "Switch on the full beam.", {"light": "high_beams", "state": "on"}),
        ("lights", "reading lights off please", {"light": "interior", "state": "off"}),
        ("lights", "I want my fog lamps", {"light": "fog_lights"}),
        ("climate", "Set the temperature to 23.", {"temperature": 23}),
        ("climate", "set it to twenty one degrees", {"temperature": 21}),
        ("climate", "Make it 68°F.", {"temperature": 68}),
        ("climate", "it's way too hot", {"change": "down"}),
        ("climate", "switch the air conditioning off", {"feature": "ac", "state": "off"}),
        ("navigation", "Take me to the Ferry Terminal.", {"destination": "ferry terminal"}),
        ("navigation", "navigate to 221 baker street please", {"destination": "221 baker street"}),
        ("navigation", "is there a charging station nearby", {"destination": "charging station"}),
        ("navigation", "take me back home", {"destination": "home"}),
        ("navigation", "stop the navigation", {"action": "cancel"}),
        ("media", "skip this track", {"action": "next"}),
        ("media", "turn the volume down", {"action": "volume_down"}),
        ("phone", "Call Doctor Patel.", {"contact": "doctor patel", "action": "call"}),
        ("phone", "could you ring my brother", {"contact": "brother", "action": "call"}),
        ("phone", "hang up the call", {"action": "hang_up"}),
        (
            "windows",
            "roll the passenger window down halfway",
            {"window": "passenger", "state": "open", "amount": 50},
        ),
        ("windows", "shut the moonroof", {"window": "sunroof", "state": "closed"}),
    ],
)
def test_fills_slots_from_yaml_lists(filler, intent, text, expected):
    assert fill(filler, intent, text) == expected


def test_longest_phrase_wins_over_its_parts(filler):
    assert fill(filler, "lights", "cabin lights on")["light"] == "interior"  # not 'lights' → headlights
    assert fill(filler, "climate", "warm it up")["change"] == "up"  # not 'warm' → down


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        ("lights", "Hi beams on.", {"light": "high_beams", "state": "on"}),
        ("lights", "Turn of the lights.", {"light": "headlights", "state": "off"}),
        ("windows", "close the passanger window", {"window": "passenger", "state": "closed"}),
        ("windows", "Open the sun ruf.", {"window": "sunroof", "state": "open"}),
    ],
)
def test_misheard_words_fill_slots_by_sound_alike(filler, intent, text, expected):
    assert fill(filler, intent, text) == expected


def test_exact_words_win_over_sound_alikes(filler):
    assert fill(filler, "lights", "turn on the lights of the car")["state"] == "on"


def test_unknown_intent_has_no_slots(filler):
    assert fill(filler, "wipers", "wipers on") == {}


def test_normalize_handles_transcript_punctuation():
    assert normalize("Set it to 21.5°C, please!") == "set it to 21.5 degrees c please"
    assert normalize("A/C on.") == "a c on"


@pytest.mark.parametrize(
    ("words", "value"),
    [("twenty two", 22), ("seventy", 70), ("one hundred and five", 105), ("21.5", 21.5), ("nine", 9)],
)
def test_numbers_read_from_words_or_digits(words, value):
    assert find_number(f"set it to {words} degrees".split()) == value


def test_numbers_round_trip_through_words():
    assert all(find_number(number_to_words(n).split()) == n for n in range(0, 200))


def prediction(text, *ranking):
    return Prediction(text=text, intent=ranking[0][0], confidence=ranking[0][1], ranking=tuple(ranking))


def test_policy_accepts_a_confident_in_scope_prediction():
    assert decide(prediction("lights on", ("lights", 0.95), ("climate", 0.02)), NluOptions()).accept


@pytest.mark.parametrize(
    ("pred", "reason"),
    [
        (prediction("Thank you.", ("media", 0.9), ("phone", 0.05)), "nothing that sounds like a command"),
        (prediction("", ("lights", 0.9), ("phone", 0.05)), "nothing that sounds like a command"),
        (prediction("tell me a joke", (OUT_OF_SCOPE, 0.9), ("media", 0.05)), "not something this car can do"),
        (prediction("hmm the thing", ("lights", 0.4), ("media", 0.3)), "not sure enough"),
        (prediction("open it", ("windows", 0.55), ("media", 0.5)), "could be windows or media"),
    ],
)
def test_policy_rejects_hallucinations_out_of_scope_unsure_and_ambiguous(pred, reason):
    decision = decide(pred, NluOptions(threshold=0.5, margin=0.1))
    assert not decision.accept
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("intent", "text", "slots"),
    [
        ("navigation", "Take me to the museum of modern art.", {"destination": "museum of modern art"}),
        ("navigation", "route to 10 downing street please", {"destination": "10 downing street"}),
        ("navigation", "I really need a vacation.", {"destination": "museum of modern art"}),
        ("phone", "Could you dial Tom?", {"contact": "tom"}),
        ("lights", "headlights on", {"light": "headlights"}),
        ("navigation", "stop navigating", {}),
        ("navigation", "Okay, stop navigating please.", {}),
    ],
)
def test_free_text_in_a_template_or_from_the_samples_is_accepted(filler, intent, text, slots):
    assert filler.vouch(intent, text, slots).accept


@pytest.mark.parametrize(
    ("intent", "text", "slots", "reason"),
    [
        (
            "navigation",
            "I really need a vacation.",
            {"destination": "really need a vacation"},
            "wasn't asked",
        ),
        ("navigation", "ride me to the market", {"destination": "ride me to the market"}, "wasn't asked"),
        (
            "phone",
            "Call now and get 50% off your first order.",
            {"contact": "50 off your first order"},
            "doesn't sound like a contact",
        ),
        (
            "phone",
            "call the next guest who is on the line from the east side",
            {"contact": "next guest who is on the line from the east side"},
            "doesn't sound like a contact",
        ),
    ],
)
def test_free_text_outside_any_template_or_far_too_long_is_talk(filler, intent, text, slots, reason):
    decision = filler.vouch(intent, text, slots)
    assert not decision.accept and reason in decision.reason
