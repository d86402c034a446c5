"""The simulated car: every rule, read through the new state and the driver's sentence (the outcome
the car reports, worded by the bundled intents YAML's ``responses:``)."""

from dataclasses import FrozenInstanceError, replace

import pytest

from assistant.intents import load_intents, respond
from assistant.vehicle import (
    ACTIONS,
    FAN_MAX,
    MAX_SPEED_KMH,
    MAX_TEMP_C,
    MIN_TEMP_C,
    OUTCOMES,
    PLAYLISTS,
    SUNROOF_MAX_SPEED_KMH,
    Climate,
    Lights,
    Media,
    Outcome,
    Phone,
    Vehicle,
    VehicleState,
    Windows,
    apply,
    likely_actions,
    likely_commands,
)

BASE = VehicleState()
LIBRARY = load_intents()


def run(action, slots, state=BASE, now=None):
    state, outcome = apply(state, action, "some_intent", slots, now)
    assert set(outcome.values) == set(OUTCOMES[outcome.key]), "the car reports what OUTCOMES says"
    return state, outcome


def said(outcome: Outcome) -> str:
    """What the driver hears."""
    return respond(LIBRARY, outcome.key, outcome.values)


def heard(outcome: Outcome) -> tuple[bool, str]:
    return outcome.done, said(outcome)


# -- dispatch and robustness ----------------------------------------------------------------


@pytest.mark.parametrize("action", [None, "wipers"])
def test_unknown_or_missing_action_changes_nothing(action):
    state, outcome = apply(BASE, action, "wipers", {"state": "on"})
    assert state is BASE
    assert heard(outcome) == (False, "Understood wipers: state on; the car has no action for it yet.")


GARBAGE = [
    {},
    {"state": "sideways", "temperature": "abc"},
    {"light": "laser", "window": "trunk", "action": "dance", "source": "tape", "change": 7},
    {"temperature": float("nan"), "amount": "lots", "feature": None, "contact": ""},
    {"amount": 0, "destination": "   ", "temperature": float("inf")},
    {"amount": [1, 2], "change": ["up"], "contact": {"x": 1}},
]


@pytest.mark.parametrize("slots", GARBAGE)
@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_bad_or_missing_slots_never_raise(action, slots):
    state, outcome = run(action, slots)
    assert isinstance(outcome, Outcome) and said(outcome).endswith((".", "?"))
    if not outcome.done:
        assert state == BASE


@pytest.mark.parametrize(
    ("action", "slots", "words"),
    [
        ("adjust_climate", {"state": "sideways", "temperature": "abc"}, "'abc' is not a number"),
        ("set_light", {"state": "sideways"}, "try on or off"),
        ("move_window", {"window": "trunk"}, "rear left"),
        ("control_media", {"action": "dance"}, "volume up"),
        ("move_window", {"amount": 150}, "1 to 100 percent"),
    ],
)
def test_bad_slot_values_are_explained(action, slots, words):
    state, outcome = run(action, slots)
    assert state == BASE
    assert not outcome.done and words in said(outcome)


def test_apply_never_mutates_and_state_is_frozen():
    before = VehicleState()
    state, outcome = run("set_light", {"light": "high_beams"}, state=before)
    assert outcome.done and state.lights.high_beams
    assert before == VehicleState() and not before.lights.high_beams
    with pytest.raises(FrozenInstanceError):
        state.lights.headlights = False  # type: ignore[misc]


# -- lights ---------------------------------------------------------------------------------


def test_light_defaults_to_headlights_on():
    state, outcome = run("set_light", {})
    assert state.lights == Lights(headlights=True)
    assert heard(outcome) == (True, "Headlights on.")


@pytest.mark.parametrize(("light", "name"), [("high_beams", "High beams"), ("fog_lights", "Fog lights")])
def test_high_beams_and_fog_lights_switch_headlights_on(light, name):
    state, outcome = run("set_light", {"light": light, "state": "on"})
    assert state.lights.headlights and getattr(state.lights, light)
    assert heard(outcome) == (True, f"{name} on, headlights on too.")
    again, outcome = run("set_light", {"light": light}, state=state)
    assert said(outcome) == f"{name} on."


def test_headlights_off_switches_dependents_off():
    lit = replace(BASE, lights=Lights(headlights=True, high_beams=True, fog_lights=True, interior=True))
    state, outcome = run("set_light", {"light": "headlights", "state": "off"}, state=lit)
    assert state.lights == Lights(interior=True)
    assert heard(outcome) == (True, "Headlights off, high beams and fog lights off too.")


def test_high_beams_off_keeps_headlights():
    lit = replace(BASE, lights=Lights(headlights=True, high_beams=True))
    state, outcome = run("set_light", {"light": "high_beams", "state": "off"}, state=lit)
    assert state.lights == Lights(headlights=True)
    assert said(outcome) == "High beams off."


def test_hazards_and_forgiving_spelling():
    state, outcome = run("set_light", {"light": "Hazards", "state": "ON"})
    assert state.lights == Lights(hazards=True)
    assert said(outcome) == "Hazards on."


# -- climate --------------------------------------------------------------------------------


def test_set_celsius():
    state, outcome = run("adjust_climate", {"temperature": 22.5})
    assert state.climate.target_c == 22.5
    assert heard(outcome) == (True, "Cabin set to 22.5 °C.")


@pytest.mark.parametrize(("fahrenheit", "celsius"), [(70, 21.0), ("72", 22.0), (75, 24.0), (66.5, 19.0)])
def test_fahrenheit_converted_to_half_degrees(fahrenheit, celsius):
    state, outcome = run("adjust_climate", {"temperature": fahrenheit})
    assert state.climate.target_c == celsius
    assert outcome.done and f"{celsius:g} °C ({float(fahrenheit):g} °F)" in said(outcome)


def test_seventy_fahrenheit_message():
    _, outcome = run("adjust_climate", {"temperature": 70})
    assert said(outcome) == "Cabin set to 21 °C (70 °F)."


@pytest.mark.parametrize(
    ("value", "target", "message"),
    [
        (35, MAX_TEMP_C, "30 °C is the warmest setting; set to 30 °C."),
        (10, MIN_TEMP_C, "16 °C is the coolest setting; set to 16 °C."),
        (44, MAX_TEMP_C, "30 °C is the warmest setting; set to 30 °C."),
        (45, MIN_TEMP_C, "16 °C is the coolest setting; set to 16 °C instead of 45 °F."),
        (95, MAX_TEMP_C, "30 °C is the warmest setting; set to 30 °C instead of 95 °F."),
        (50, MIN_TEMP_C, "16 °C is the coolest setting; set to 16 °C instead of 50 °F."),
    ],
)
def test_temperature_clamped_both_ends_in_c_and_f(value, target, message):
    state, outcome = run("adjust_climate", {"temperature": value})
    assert state.climate.target_c == target
    assert heard(outcome) == (True, message)


@pytest.mark.parametrize("value", [-5, -0.5, "-30"])
def test_a_temperature_below_zero_is_refused_not_clamped(value):
    state, outcome = run("adjust_climate", {"temperature": value})
    assert state == BASE and not outcome.done
    assert said(outcome) == f"{float(value):g} degrees is out of range; the cabin goes from 16 to 30 °C."


def test_exact_limits_are_not_clamped():
    _, outcome = run("adjust_climate", {"temperature": 30})
    assert said(outcome) == "Cabin set to 30 °C."


@pytest.mark.parametrize(
    ("slots", "target"),
    [({"change": "up"}, 22.0), ({"change": "down"}, 20.0), ({"feature": "heat", "change": "up"}, 22.0)],
)
def test_change_steps_one_degree(slots, target):
    state, outcome = run("adjust_climate", slots)
    assert state.climate.target_c == target
    assert heard(outcome) == (True, f"Cabin set to {target:g} °C.")


@pytest.mark.parametrize(
    ("target", "change", "limit"), [(MAX_TEMP_C, "up", "warmest"), (MIN_TEMP_C, "down", "coolest")]
)
def test_change_at_limit_says_so(target, change, limit):
    at_limit = replace(BASE, climate=Climate(target_c=target))
    state, outcome = run("adjust_climate", {"change": change}, state=at_limit)
    assert state == at_limit
    assert not outcome.done and limit in said(outcome)


@pytest.mark.parametrize(("switch", "target"), [("on", 23.0), (None, 23.0), ("off", 19.0)])
def test_heat_on_and_off_move_the_target(switch, target):
    slots = {"feature": "heat"} | ({"state": switch} if switch else {})
    state, outcome = run("adjust_climate", slots)
    assert state.climate.target_c == target and outcome.done


def test_fan_steps_and_limits():
    state, outcome = run("adjust_climate", {"feature": "fan", "change": "up"})
    assert state.climate.fan == 3 and said(outcome) == "Fan at speed 3."
    full = replace(BASE, climate=Climate(fan=FAN_MAX))
    state, outcome = run("adjust_climate", {"feature": "fan", "change": "up"}, state=full)
    assert state.climate.fan == FAN_MAX and not outcome.done and "full speed" in said(outcome)
    off = replace(BASE, climate=Climate(fan=0))
    state, outcome = run("adjust_climate", {"feature": "fan", "change": "down"}, state=off)
    assert state.climate.fan == 0 and not outcome.done and "already off" in said(outcome)


def test_fan_on_and_off():
    state, outcome = run("adjust_climate", {"feature": "fan", "state": "off"})
    assert state.climate.fan == 0 and said(outcome) == "Fan off."
    state, outcome = run("adjust_climate", {"feature": "fan", "state": "on"}, state=state)
    assert state.climate.fan == 3 and said(outcome) == "Fan at speed 3."


@pytest.mark.parametrize(("feature", "label"), [("ac", "Air conditioning"), ("defrost", "Defrost")])
def test_ac_and_defrost_switch(feature, label):
    state, outcome = run("adjust_climate", {"feature": feature, "state": "on"})
    assert getattr(state.climate, feature) and said(outcome) == f"{label} on."
    state, outcome = run("adjust_climate", {"feature": feature, "state": "off"}, state=state)
    assert not getattr(state.climate, feature) and said(outcome) == f"{label} off."


def test_climate_without_anything_actionable_asks():
    state, outcome = run("adjust_climate", {"state": "on"})
    assert state == BASE
    assert heard(outcome) == (False, "Which climate setting? Try 'set 21 degrees'.")


# -- navigation -----------------------------------------------------------------------------


def test_route_started_and_cancelled():
    state, outcome = run("navigate", {"destination": "the library"})
    assert state.navigation.active and state.navigation.destination == "the library"
    assert heard(outcome) == (True, "Route to the library started.")
    state, outcome = run("navigate", {"action": "cancel"}, state=state)
    assert not state.navigation.active and state.navigation.destination is None
    assert outcome.done and "cancelled" in said(outcome)


def test_cancel_without_route_and_nowhere_to_go():
    _, outcome = run("navigate", {"action": "cancel"})
    assert heard(outcome) == (False, "There is no active route.")
    _, outcome = run("navigate", {})
    assert not outcome.done and "Where to?" in said(outcome)


# -- media ----------------------------------------------------------------------------------


def test_play_pause_and_tracks_cycle():
    music = PLAYLISTS["music"]
    state, outcome = run("control_media", {"action": "play"})
    assert state.media.playing and said(outcome) == f"Playing {music[0]}."
    state, outcome = run("control_media", {"action": "previous"}, state=state)
    assert state.media.track == music[-1] and said(outcome) == f"Playing {music[-1]}."
    state, _ = run("control_media", {"action": "next"}, state=state)
    assert state.media.track == music[0]
    state, outcome = run("control_media", {"action": "pause"}, state=state)
    assert not state.media.playing and outcome.done
    _, outcome = run("control_media", {"action": "pause"}, state=state)
    assert heard(outcome) == (False, "Nothing is playing.")


def test_source_switches_to_radio():
    state, outcome = run("control_media", {"source": "radio"})
    assert state.media.source == "radio" and state.media.playing
    assert said(outcome) == f"Playing {PLAYLISTS['radio'][0]}."


def test_changing_the_source_starts_its_first_track():
    third_song = replace(BASE, media=Media(playing=True, index=2))
    state, outcome = run("control_media", {"source": "radio"}, state=third_song)
    assert state.media.track == PLAYLISTS["radio"][0] and said(outcome) == f"Playing {PLAYLISTS['radio'][0]}."


def test_music_asked_for_by_name_is_played_remembered_and_said():
    on_the_radio = replace(BASE, media=Media(source="radio", index=1))
    state, outcome = run("control_media", {"action": "play", "query": "Jazz"}, state=on_the_radio)
    assert state.media == Media(playing=True, source="music", index=0, query="jazz")
    assert heard(outcome) == (True, f"Playing jazz: {PLAYLISTS['music'][0]}.")
    state, outcome = run("control_media", {"action": "next"}, state=state)
    assert state.media.query == "jazz" and said(outcome) == f"Playing jazz: {PLAYLISTS['music'][1]}."
    state, _ = run("control_media", {"query": "pop"}, state=state)
    assert state.media.query == "pop" and state.media.index == 0 and state.media.playing
    state, _ = run("control_media", {"source": "radio"}, state=state)
    assert state.media.query is None


@pytest.mark.parametrize(
    ("volume", "action", "expected", "done"),
    [
        (40, "volume_up", 50, True),
        (40, "volume_down", 30, True),
        (100, "volume_up", 100, False),
        (0, "volume_down", 0, False),
    ],
)
def test_volume_steps_and_limits(volume, action, expected, done):
    start = replace(BASE, media=Media(volume=volume))
    state, outcome = run("control_media", {"action": action}, state=start)
    assert state.media.volume == expected and outcome.done is done
    assert str(expected) in said(outcome)


def test_media_without_action_asks():
    state, outcome = run("control_media", {})
    assert state == BASE and not outcome.done


# -- phone ----------------------------------------------------------------------------------


def test_hang_up_and_answer_without_a_call():
    _, outcome = run("control_phone", {"action": "hang_up"})
    assert heard(outcome) == (False, "There is no call to hang up.")
    _, outcome = run("control_phone", {"action": "answer"})
    assert heard(outcome) == (False, "No one is calling.")


def test_answer_incoming_call_then_hang_up():
    car = Vehicle()
    assert heard(car.simulate_incoming_call("Mom")) == (True, "Mom is calling.")
    assert car.state.phone.status == "ringing"
    outcome = car.execute("control_phone", "answer_call", {"action": "answer"}, now=12.5)
    assert car.state.phone == Phone("in_call", "Mom", 12.5)
    assert outcome.done and "Mom" in said(outcome)
    outcome = car.execute("control_phone", "hang_up", {"action": "hang_up"})
    assert car.state.phone == Phone() and said(outcome) == "Ended the call with Mom."


def test_hang_up_while_ringing_declines():
    car = Vehicle()
    car.simulate_incoming_call("Dentist")
    outcome = car.execute("control_phone", "hang_up", {"action": "hang_up"})
    assert car.state.phone == Phone()
    assert heard(outcome) == (True, "Declined the call from Dentist.")


def test_call_with_contact_and_implicit_action():
    state, outcome = run("control_phone", {"contact": "Alex"}, now=3.0)
    assert state.phone == Phone("in_call", "Alex", 3.0)
    assert heard(outcome) == (True, "Calling Alex.")


def test_call_refused_while_busy_or_without_contact():
    busy = replace(BASE, phone=Phone("in_call", "Alex", 1.0))
    state, outcome = run("control_phone", {"action": "call", "contact": "Sam"}, state=busy)
    assert state == busy and not outcome.done and "already on a call with Alex" in said(outcome)
    ringing = replace(BASE, phone=Phone("ringing", "Sam"))
    _, outcome = run("control_phone", {"contact": "Alex"}, state=ringing)
    assert not outcome.done and "Sam is calling" in said(outcome)
    _, outcome = run("control_phone", {"action": "call"})
    assert heard(outcome) == (False, "Who should I call?")


def test_incoming_call_refused_while_busy():
    car = Vehicle(replace(BASE, phone=Phone("in_call", "Alex")))
    outcome = car.simulate_incoming_call("Sam")
    assert not outcome.done and car.state.phone.contact == "Alex"


# -- windows --------------------------------------------------------------------------------


def test_window_defaults_to_driver_fully_open():
    state, outcome = run("move_window", {})
    assert state.windows == Windows(driver=100)
    assert heard(outcome) == (True, "Driver window open.")


def test_window_open_by_amount_then_close():
    state, outcome = run("move_window", {"window": "rear_left", "amount": "30"})
    assert state.windows == Windows(rear_left=30) and said(outcome) == "Rear left window open to 30%."
    state, outcome = run("move_window", {"window": "rear_left", "state": "closed"}, state=state)
    assert state.windows == Windows() and said(outcome) == "Rear left window closed."


@pytest.mark.parametrize(
    ("start", "amount", "left", "message"),
    [
        (100, 50, 50, "Sunroof open to 50%."),
        (100, 25, 75, "Sunroof open to 75%."),
        (60, 50, 10, "Sunroof open to 10%."),
        (30, 50, 0, "Sunroof closed."),
        (100, 100, 0, "Sunroof closed."),
    ],
)
def test_closing_by_an_amount_moves_toward_closed_by_that_share(start, amount, left, message):
    state, outcome = run(
        "move_window",
        {"window": "sunroof", "state": "closed", "amount": amount},
        state=replace(BASE, windows=Windows(sunroof=start)),
    )
    assert state.windows == Windows(sunroof=left) and heard(outcome) == (True, message)


def test_an_amount_opens_only_the_window_named_only_that_far():
    state, outcome = run("move_window", {"window": "passenger", "state": "open", "amount": 25})
    assert state.windows == Windows(passenger=25) and said(outcome) == "Passenger window open to 25%."
    state, outcome = run("move_window", {"window": "all", "amount": 25})
    assert state.windows == Windows(25, 25, 25, 25, 0) and said(outcome) == "All side windows open to 25%."


def test_closing_all_by_an_amount_keeps_each_windows_own_position():
    start = replace(BASE, windows=Windows(100, 100, 30, 0, 80))
    state, outcome = run("move_window", {"window": "all", "state": "closed", "amount": 50}, state=start)
    assert state.windows == Windows(50, 50, 0, 0, 30)
    assert heard(outcome) == (True, "All windows and the sunroof partly closed.")


def test_all_opens_side_windows_but_not_sunroof_and_closes_everything():
    state, outcome = run("move_window", {"window": "all"})
    assert state.windows == Windows(100, 100, 100, 100, 0)
    assert said(outcome) == "All side windows open."
    state = replace(state, windows=replace(state.windows, sunroof=50))
    state, outcome = run("move_window", {"window": "all", "state": "closed"}, state=state)
    assert state.windows == Windows() and "sunroof" in said(outcome)


@pytest.mark.parametrize("speed", [SUNROOF_MAX_SPEED_KMH + 1, 130])
def test_sunroof_refused_above_speed_limit(speed):
    fast = replace(BASE, speed_kmh=speed)
    state, outcome = run("move_window", {"window": "sunroof", "state": "open"}, state=fast)
    assert state == fast and state.windows.sunroof == 0
    assert heard(outcome) == (False, "Sunroof stays closed above 80 km/h.")


def test_a_half_open_sunroof_at_speed_is_said_to_stay_half_open():
    fast_half_open = replace(BASE, speed_kmh=120, windows=Windows(sunroof=50))
    state, outcome = run("move_window", {"window": "sunroof", "state": "open"}, state=fast_half_open)
    assert state == fast_half_open
    assert heard(outcome) == (False, "Sunroof stays 50% open above 80 km/h.")
    state, outcome = run(
        "move_window", {"window": "sunroof", "amount": 20}, state=fast_half_open
    )  # less open is allowed at any speed
    assert state.windows.sunroof == 20 and outcome.done


@pytest.mark.parametrize("speed", [0, 50, SUNROOF_MAX_SPEED_KMH])
def test_sunroof_allowed_at_or_below_speed_limit(speed):
    state, outcome = run("move_window", {"window": "sunroof"}, state=replace(BASE, speed_kmh=speed))
    assert state.windows.sunroof == 100 and heard(outcome) == (True, "Sunroof open.")


def test_closing_sunroof_always_allowed_at_speed():
    fast_open = replace(BASE, speed_kmh=200, windows=Windows(sunroof=100))
    state, outcome = run("move_window", {"window": "sunroof", "state": "closed"}, state=fast_open)
    assert state.windows.sunroof == 0 and heard(outcome) == (True, "Sunroof closed.")


# -- the Vehicle wrapper --------------------------------------------------------------------


def test_vehicle_execute_keeps_state_and_reset_restores():
    car = Vehicle()
    car.execute("set_light", "lights_on", {"light": "fog_lights"})
    car.execute("adjust_climate", "set_temperature", {"temperature": 70})
    car.set_speed(90)
    assert car.state.lights.fog_lights and car.state.climate.target_c == 21.0
    car.reset()
    assert car.state == VehicleState()


def test_reset_returns_to_initial_state_given():
    start = replace(BASE, speed_kmh=30)
    car = Vehicle(start)
    car.execute("move_window", "open_window", {"window": "passenger"})
    car.reset()
    assert car.state is start


@pytest.mark.parametrize(("kmh", "expected"), [(90, 90.0), (-10, 0.0), (400, MAX_SPEED_KMH)])
def test_set_speed_clamps(kmh, expected):
    car = Vehicle()
    outcome = car.set_speed(kmh)
    assert car.state.speed_kmh == expected and outcome.done and f"{expected:g} km/h" in said(outcome)


def test_set_speed_rejects_nan():
    car = Vehicle()
    assert not car.set_speed(float("nan")).done and car.state.speed_kmh == 0


def test_stop_stops_what_plays_and_never_starts_another_source():
    playing_radio = VehicleState(media=Media(playing=True, source="radio"))
    state, outcome = run("control_media", {"action": "stop", "source": "radio"}, state=playing_radio)
    assert not state.media.playing and state.media.source == "radio" and said(outcome).startswith("Stopped")
    playing_music = VehicleState(media=Media(playing=True, source="music"))
    state, outcome = run("control_media", {"action": "stop", "source": "radio"}, state=playing_music)
    assert state == playing_music and not outcome.done and said(outcome) == "The radio isn't playing."


def test_mute_and_unmute_keep_the_volume_and_a_volume_step_unmutes():
    state, outcome = run("control_media", {"action": "mute"})
    assert state.media.muted and state.media.volume == Media().volume and outcome.done
    assert not run("control_media", {"action": "mute"}, state=state)[1].done
    unmuted, outcome = run("control_media", {"action": "unmute"}, state=state)
    assert not unmuted.media.muted and said(outcome) == f"Sound back on, volume {Media().volume}."
    louder, _ = run("control_media", {"action": "volume_up"}, state=state)
    assert not louder.media.muted and louder.media.volume > Media().volume
    assert not run("control_media", {"action": "unmute"})[1].done


# -- what the driver hears when the car says no -----------------------------------------------

MUSIC_PLAYING = replace(BASE, media=Media(playing=True))
MUTED = replace(BASE, media=Media(muted=True))
RINGING = replace(BASE, phone=Phone("ringing", "Sam"))
FAN_FULL = replace(BASE, climate=Climate(fan=FAN_MAX))
FAN_OFF = replace(BASE, climate=Climate(fan=0))


@pytest.mark.parametrize(
    ("action", "slots", "state", "message"),
    [
        ("control_media", {"action": "pause"}, BASE, "Nothing is playing."),
        ("control_media", {"action": "pause", "source": "radio"}, MUSIC_PLAYING, "The radio isn't playing."),
        ("control_media", {}, BASE, "What should the media do? Try 'play music' or 'next track'."),
        ("control_media", {"action": "mute"}, MUTED, "The sound is already muted."),
        ("control_media", {"action": "unmute"}, BASE, "The sound isn't muted."),
        (
            "control_media",
            {"action": "volume_up"},
            replace(BASE, media=Media(volume=100)),
            "The volume is already at its maximum, 100.",
        ),
        (
            "control_media",
            {"action": "volume_down"},
            replace(BASE, media=Media(volume=0)),
            "The volume is already at its minimum, 0.",
        ),
        ("control_phone", {"action": "answer"}, BASE, "No one is calling."),
        ("control_phone", {"action": "hang_up"}, BASE, "There is no call to hang up."),
        ("control_phone", {"contact": "Alex"}, RINGING, "Sam is calling; answer or decline first."),
        ("navigate", {"action": "cancel"}, BASE, "There is no active route."),
        ("navigate", {"action": "stop"}, BASE, "I can't use 'stop' as the action; try cancel."),
        ("adjust_climate", {"feature": "fan", "change": "up"}, FAN_FULL, "The fan is already at full speed."),
        ("adjust_climate", {"feature": "fan", "change": "down"}, FAN_OFF, "The fan is already off."),
        (
            "adjust_climate",
            {"change": "up"},
            replace(BASE, climate=Climate(target_c=MAX_TEMP_C)),
            "The cabin is already at the warmest setting, 30 °C.",
        ),
        (
            "adjust_climate",
            {"change": "down"},
            replace(BASE, climate=Climate(target_c=MIN_TEMP_C)),
            "The cabin is already at the coolest setting, 16 °C.",
        ),
        (
            "move_window",
            {"window": "trunk"},
            BASE,
            "I can't use 'trunk' as the window; try driver, passenger, rear left, rear right, all or sunroof.",
        ),
        ("move_window", {"amount": 101}, BASE, "Windows open from 1 to 100 percent."),
    ],
)
def test_a_refusal_keeps_the_state_and_says_exactly_why(action, slots, state, message):
    after, outcome = run(action, slots, state=state)
    assert after == state and not outcome.done and said(outcome) == message


def test_what_the_car_has_no_action_for_is_said_with_every_slot_heard():
    car = Vehicle()
    outcome = car.execute("wipers", "wipers_on", {})
    assert not outcome.done and said(outcome) == "Understood wipers on; the car has no action for it yet."
    _, outcome = apply(BASE, None, "order_drink", {"size": "large", "drink": "latte"})
    assert said(outcome) == (
        "Understood order drink: size large, drink latte; the car has no action for it yet."
    )


@pytest.mark.parametrize(("light", "window"), [("High Beams", "Rear Left"), ("high-beams", "rear-left")])
def test_spaces_and_hyphens_in_a_value_read_as_its_name(light, window):
    state, _ = run("set_light", {"light": light})
    assert state.lights.high_beams
    state, _ = run("move_window", {"window": window})
    assert state.windows == Windows(rear_left=100)


def test_pausing_says_what_was_paused_and_keeps_the_rest_of_the_media():
    state, outcome = run("control_media", {"action": "pause"}, state=MUSIC_PLAYING)
    assert state.media == Media(playing=False) and outcome.done
    assert said(outcome) == f"Paused {PLAYLISTS['music'][0]}."


def test_mute_unmute_and_volume_leave_the_media_exactly_as_said():
    state, outcome = run("control_media", {"action": "mute"})
    assert state.media == Media(muted=True) and outcome.done and said(outcome) == "Sound muted."
    state, _ = run("control_media", {"action": "unmute"}, state=state)
    assert state.media == Media(muted=False)
    state, outcome = run("control_media", {"action": "volume_down"}, state=MUTED)
    assert state.media == Media(volume=30, muted=False) and outcome.done and said(outcome) == "Volume 30."


def test_skipping_on_the_radio_stays_on_the_radio():
    radio = replace(BASE, media=Media(playing=True, source="radio"))
    state, outcome = run("control_media", {"action": "next"}, state=radio)
    assert state.media == Media(playing=True, source="radio", index=1)
    assert said(outcome) == f"Playing {PLAYLISTS['radio'][1]}."


def test_the_fan_steps_down_one_speed_at_a_time():
    state, outcome = run(
        "adjust_climate", {"feature": "fan", "change": "down"}, state=replace(BASE, climate=Climate(fan=3))
    )
    assert state.climate.fan == 2 and said(outcome) == "Fan at speed 2."


@pytest.mark.parametrize("value", [0, 0.5])
def test_zero_degrees_is_the_coolest_setting_not_refused(value):
    state, outcome = run("adjust_climate", {"temperature": value})
    assert state.climate.target_c == MIN_TEMP_C
    assert outcome.done and said(outcome) == "16 °C is the coolest setting; set to 16 °C."


@pytest.mark.parametrize("amount", [1, 100])
def test_a_window_opens_by_one_to_a_hundred_percent(amount):
    state, outcome = run("move_window", {"window": "passenger", "amount": amount})
    assert state.windows == Windows(passenger=amount) and outcome.done


def test_windows_left_at_different_heights_are_said_to_be_partly_closed():
    start = replace(BASE, windows=Windows(100, 40, 0, 0, 0))
    state, outcome = run("move_window", {"window": "all", "state": "closed", "amount": 50}, state=start)
    assert state.windows == Windows(50, 0, 0, 0, 0)
    assert outcome.done and said(outcome) == "All windows and the sunroof partly closed."


@pytest.mark.parametrize(
    ("sunroof", "slots", "message"),
    [
        (100, {"window": "sunroof"}, "Sunroof open."),
        (0, {"window": "sunroof", "state": "closed"}, "Sunroof closed."),
    ],
)
def test_at_speed_a_sunroof_already_where_asked_is_no_refusal(sunroof, slots, message):
    fast = replace(BASE, speed_kmh=130, windows=Windows(sunroof=sunroof))
    after, outcome = run("move_window", slots, state=fast)
    assert after == fast and outcome.done and said(outcome) == message


def test_a_speed_that_is_no_number_is_refused_exactly():
    outcome = Vehicle().set_speed(float("nan"))
    assert not outcome.done and said(outcome) == "The speed must be a number."


def test_a_call_without_a_name_is_from_an_unknown_caller_and_a_busy_line_says_so():
    car = Vehicle()
    ringing = car.simulate_incoming_call("  ")
    assert ringing.done and said(ringing) == "Unknown caller is calling."
    busy = car.simulate_incoming_call("Sam")
    assert not busy.done and said(busy) == "The line is busy with Unknown caller."


def test_a_ringing_phone_invites_the_phones_action_and_nothing_else_does():
    car = Vehicle()
    assert likely_actions(car.state) == ()
    assert likely_commands(car.state) == ()
    car.simulate_incoming_call("mom")
    assert likely_actions(car.state) == ("control_phone",)
    assert likely_commands(car.state) == (
        ("control_phone", {"action": "answer"}),
        ("control_phone", {"action": "hang_up"}),
    )


def test_restore_goes_back_to_an_earlier_state_at_todays_speed():
    car = Vehicle()
    before = car.state
    car.execute("move_window", "windows", {"window": "driver", "state": "open"})
    car.set_speed(90)
    car.restore(before)
    assert car.state.windows.driver == 0 and car.state.speed_kmh == 90


def test_answering_and_cancelling_report_what_they_ended_with_its_name():
    state, answered = run("control_phone", {"action": "answer"}, state=RINGING, now=5.0)
    assert answered.done is True and (answered.key, answered.values) == ("call_answered", {"contact": "Sam"})
    assert state.phone.status == "in_call"
    routed, _ = run("navigate", {"destination": "airport"})
    _, cancelled = run("navigate", {"action": "cancel"}, state=routed)
    assert cancelled.done is True and (cancelled.key, cancelled.values) == (
        "route_cancelled",
        {"destination": "airport"},
    )


def test_what_the_car_cannot_do_is_reported_as_not_done_not_as_unknown():
    assert Vehicle().set_speed(float("nan")).done is False
    assert apply(BASE, None, "order_drink", {}) == (BASE, apply(BASE, None, "order_drink", {})[1])
    assert apply(BASE, None, "order_drink", {})[1].done is False
    assert run("move_window", {"window": "trunk"})[1].done is False
    busy = Vehicle(RINGING)
    assert busy.simulate_incoming_call("Alex").done is False
