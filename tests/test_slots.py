"""Slot filling from the YAML lists, number parsing, and how far free text is vouched for (no model needed)."""

from __future__ import annotations

import pytest

from assistant.intents import load_intents
from assistant.nlu import TALK, UNVOUCHED, SlotFiller, normalize
from assistant.numbers import find_number, number_to_words


@pytest.fixture(scope="module")
def filler():
    return SlotFiller(load_intents())


def fill(filler: SlotFiller, intent: str, text: str) -> dict:
    """The slots the car would act on: what the text says, on top of the intent's defaults."""
    heard = {slot: value for slot, (value, _) in filler.read(intent, text).items()}
    return filler.with_defaults(intent, heard)


@pytest.mark.parametrize(
    ("intent", "text", "expected"),
    [
        ("lights", "Switch on the full beam.", {"light": "high_beams", "state": "on"}),
        ("lights", "reading lights off please", {"light": "interior", "state": "off"}),
        ("lights", "I want my fog lamps", {"light": "fog_lights", "state": "on"}),
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


def confidence(filler: SlotFiller, intent: str, text: str) -> dict[str, float]:
    return {slot: sure for slot, (_, sure) in filler.read(intent, text).items()}


@pytest.mark.parametrize(
    ("intent", "text", "slot"),
    [
        ("navigation", "Take me to the museum of modern art.", "destination"),
        ("navigation", "route to 10 downing street please", "destination"),
        ("phone", "Could you dial Tom?", "contact"),
        ("lights", "headlights on", "light"),
    ],
)
def test_free_text_in_a_template_or_from_the_samples_is_vouched_for(filler, intent, text, slot):
    assert confidence(filler, intent, text)[slot] == 1.0


def test_a_sound_alike_is_less_sure_than_the_phrase_itself(filler):
    assert 0.8 <= confidence(filler, "lights", "hi beams on")["light"] < 1.0


@pytest.mark.parametrize(
    ("intent", "text", "slot", "sure"),
    [
        ("navigation", "I really need a vacation.", "destination", UNVOUCHED),
        ("navigation", "ride me to the market", "destination", UNVOUCHED),
        ("phone", "Call now and get 50% off your first order.", "contact", TALK),
        ("phone", "call the next guest who is on the line from the east side", "contact", TALK),
    ],
)
def test_free_text_outside_any_template_or_far_too_long_is_doubted(filler, intent, text, slot, sure):
    assert confidence(filler, intent, text)[slot] == sure
