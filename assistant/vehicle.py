"""The simulated car: its state, the actions the assistant can ask for, and the rules.

Pure and synchronous. :func:`apply` maps a state and an action name to a new state and an
:class:`Outcome`: what happened, as a key and the values that go with it (:data:`OUTCOMES`);
the intents YAML's ``responses:`` word it for the driver. :class:`Vehicle` is a thin mutable
wrapper for the pipeline and the dashboard. The intents YAML names the action each intent runs,
so nothing here knows intent names or wording.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

SUNROOF_MAX_SPEED_KMH = 80
MAX_SPEED_KMH = 250.0
MIN_TEMP_C = 16.0
MAX_TEMP_C = 30.0
FAHRENHEIT_FROM = 45
"""A spoken temperature at or above this is understood as Fahrenheit."""
HEAT_STEP_C = 2.0
FAN_MAX = 5
FAN_DEFAULT = 3
VOLUME_STEP = 10
PLAYLISTS: dict[str, tuple[str, ...]] = {
    "music": ("Highway Lights", "Northern Drive", "Slow Rain", "Open Road"),
    "radio": ("City FM", "Jazz 101", "News Radio"),
}

SlotValue = str | int | float
Slots = Mapping[str, SlotValue]
Reported = str | int | float | tuple[str, ...] | Mapping[str, SlotValue]
"""A value the car reports with an outcome: a word ('high_beams'), a number, several words, or slots."""

OUTCOMES: dict[str, tuple[str, ...]] = {
    # any action
    "no_action": ("intent",),
    "no_action_with_slots": ("intent", "slots"),
    "bad_choice": ("value", "slot", "options"),
    "not_a_number": ("value", "slot"),
    # set_light
    "light_switched": ("light", "state"),
    "light_on_with_headlights": ("light",),
    "headlights_off_with": ("lights",),
    # adjust_climate
    "temperature_set": ("target",),
    "temperature_set_fahrenheit": ("target", "fahrenheit"),
    "temperature_at_limit": ("target", "limit"),
    "temperature_at_limit_fahrenheit": ("target", "limit", "fahrenheit"),
    "temperature_out_of_range": ("value", "low", "high"),
    "temperature_already_at_limit": ("target", "limit"),
    "fan_speed": ("level",),
    "fan_off": (),
    "fan_already_full": (),
    "fan_already_off": (),
    "ac_switched": ("state",),
    "defrost_switched": ("state",),
    "which_climate_setting": (),
    # navigate
    "route_started": ("destination",),
    "route_cancelled": ("destination",),
    "no_route": (),
    "where_to": (),
    # control_media
    "what_media": (),
    "playing": ("track",),
    "playing_query": ("query", "track"),
    "paused": ("track",),
    "stopped": ("track",),
    "nothing_playing": (),
    "source_not_playing": ("source",),
    "muted": (),
    "already_muted": (),
    "unmuted": ("volume",),
    "not_muted": (),
    "volume": ("volume",),
    "volume_at_limit": ("volume", "limit"),
    # control_phone
    "calling": ("contact",),
    "call_answered": ("contact",),
    "call_declined": ("contact",),
    "call_ended": ("contact",),
    "no_one_calling": (),
    "no_call": (),
    "who_to_call": (),
    "caller_waiting": ("contact",),
    "already_in_call": ("contact",),
    # move_window
    "window_opened": ("window",),
    "window_opened_to": ("window", "percent"),
    "window_closed": ("window",),
    "windows_partly_closed": ("window",),
    "bad_amount": ("low", "high"),
    "sunroof_stays_closed": ("speed",),
    "sunroof_stays_open": ("percent", "speed"),
    # the dashboard's controls
    "incoming_call": ("contact",),
    "line_busy": ("contact",),
    "speed_set": ("speed",),
    "not_a_speed": (),
}
"""Every outcome the car reports, with the names of the values that come with it."""


@dataclass(frozen=True)
class Lights:
    headlights: bool = False
    high_beams: bool = False
    fog_lights: bool = False
    hazards: bool = False
    interior: bool = False


@dataclass(frozen=True)
class Climate:
    target_c: float = 21.0
    fan: int = 2
    ac: bool = False
    defrost: bool = False


@dataclass(frozen=True)
class Windows:
    """How far each opening is open, in percent (0 is closed)."""

    driver: int = 0
    passenger: int = 0
    rear_left: int = 0
    rear_right: int = 0
    sunroof: int = 0


@dataclass(frozen=True)
class Media:
    playing: bool = False
    source: str = "music"
    index: int = 0
    volume: int = 40
    query: str | None = None
    """What music was asked for by name ('jazz', 'the beatles'); None for any music, and always for the radio."""
    muted: bool = False

    @property
    def track(self) -> str:
        """The current track (music) or station (radio)."""
        playlist = PLAYLISTS[self.source]
        return playlist[self.index % len(playlist)]


@dataclass(frozen=True)
class Navigation:
    destination: str | None = None
    active: bool = False


@dataclass(frozen=True)
class Phone:
    status: str = "idle"
    """``idle``, ``ringing`` or ``in_call``."""
    contact: str | None = None
    call_started_at: float | None = None
    """The caller's clock when the call began (``now`` as passed to :func:`apply`)."""


@dataclass(frozen=True)
class VehicleState:
    speed_kmh: float = 0.0
    lights: Lights = field(default_factory=Lights)
    climate: Climate = field(default_factory=Climate)
    windows: Windows = field(default_factory=Windows)
    media: Media = field(default_factory=Media)
    navigation: Navigation = field(default_factory=Navigation)
    phone: Phone = field(default_factory=Phone)


@dataclass(frozen=True)
class Outcome:
    """What the car did: ``done`` is False when it changed nothing; ``key`` (one of :data:`OUTCOMES`)
    says what happened and ``values`` what came of it, for the intents YAML to put in words."""

    done: bool
    key: str
    values: Mapping[str, Reported] = field(default_factory=dict)


Result = tuple[VehicleState, Outcome]


class _SlotError(ValueError):
    """A slot value the car cannot use; :attr:`outcome` tells the driver why."""

    def __init__(self, key: str, **values: Reported):
        super().__init__(key)
        self.outcome = Outcome(False, key, values)


def _done(state: VehicleState, key: str, /, **values: Reported) -> Result:
    return state, Outcome(True, key, values)


def _refuse(state: VehicleState, key: str, /, **values: Reported) -> Result:
    return state, Outcome(False, key, values)


def _text(slots: Slots, name: str) -> str | None:
    """The slot as stripped text; None when missing or blank."""
    value = slots.get(name)
    return (str(value).strip() or None) if value is not None else None


def _choice(slots: Slots, name: str, options: tuple[str, ...]) -> str | None:
    """One of ``options`` (case and spaces forgiven), None when missing; anything else is an error."""
    text = _text(slots, name)
    if text is None:
        return None
    key = text.lower().replace(" ", "_").replace("-", "_")
    if key not in options:
        raise _SlotError("bad_choice", value=text, slot=name, options=options)
    return key


def _number(slots: Slots, name: str) -> float | None:
    """The slot as a finite number, None when missing or blank."""
    value = slots.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise _SlotError("not_a_number", value=str(value), slot=name)
    return number


LIGHTS = ("headlights", "high_beams", "fog_lights", "hazards", "interior")
NEEDS_HEADLIGHTS = ("high_beams", "fog_lights")
"""As in most cars, high beams and front fog lights only work with the headlights on."""


def _set_light(state: VehicleState, slots: Slots, now: float | None) -> Result:
    """Switch one light; high beams and fog lights pull the headlights along."""
    light = _choice(slots, "light", LIGHTS) or "headlights"
    on = (_choice(slots, "state", ("on", "off")) or "on") == "on"
    lights = state.lights
    if on and light in NEEDS_HEADLIGHTS and not lights.headlights:
        new = replace(lights, headlights=True, **{light: True})
        return _done(replace(state, lights=new), "light_on_with_headlights", light=light)
    if not on and light == "headlights":
        dependents = tuple(name for name in NEEDS_HEADLIGHTS if getattr(lights, name))
        if dependents:
            new = replace(lights, headlights=False, **dict.fromkeys(dependents, False))
            return _done(replace(state, lights=new), "headlights_off_with", lights=dependents)
    new = replace(lights, **{light: on})
    return _done(replace(state, lights=new), "light_switched", light=light, state="on" if on else "off")


def _with_climate(state: VehicleState, **changes: float | int | bool) -> VehicleState:
    return replace(state, climate=replace(state.climate, **changes))


def _set_temperature(state: VehicleState, value: float) -> Result:
    """Set the target; numbers from FAHRENHEIT_FROM up are °F, clamped to the car's range.

    A number below zero is no setting a driver means (in either scale): it is refused, not clamped.
    """
    if value < 0:
        return _refuse(state, "temperature_out_of_range", value=value, low=MIN_TEMP_C, high=MAX_TEMP_C)
    fahrenheit = value >= FAHRENHEIT_FROM
    wanted = round(((value - 32) * 5 / 9 if fahrenheit else value) * 2) / 2
    target = min(max(wanted, MIN_TEMP_C), MAX_TEMP_C)
    new = _with_climate(state, target_c=target)
    said_in_f = {"fahrenheit": value} if fahrenheit else {}
    suffix = "_fahrenheit" if fahrenheit else ""
    if target != wanted:
        limit = "warmest" if target == MAX_TEMP_C else "coolest"
        return _done(new, f"temperature_at_limit{suffix}", target=target, limit=limit, **said_in_f)
    return _done(new, f"temperature_set{suffix}", target=target, **said_in_f)


def _step_temperature(state: VehicleState, step: float) -> Result:
    current = state.climate.target_c
    target = min(max(current + step, MIN_TEMP_C), MAX_TEMP_C)
    if target == current:
        limit = "warmest" if step > 0 else "coolest"
        return _refuse(state, "temperature_already_at_limit", target=current, limit=limit)
    return _done(_with_climate(state, target_c=target), "temperature_set", target=target)


def _set_fan(state: VehicleState, change: str | None, switch: str | None) -> Result:
    fan = state.climate.fan
    if change is not None:
        level = min(max(fan + (1 if change == "up" else -1), 0), FAN_MAX)
        if level == fan:
            return _refuse(state, "fan_already_full" if fan else "fan_already_off")
    else:
        level = 0 if switch == "off" else fan or FAN_DEFAULT
    new = _with_climate(state, fan=level)
    return _done(new, "fan_speed", level=level) if level else _done(new, "fan_off")


def _adjust_climate(state: VehicleState, slots: Slots, now: float | None) -> Result:
    """A temperature wins; else a feature (fan, ac, defrost, heat); else a step up or down."""
    temperature = _number(slots, "temperature")
    change = _choice(slots, "change", ("up", "down"))
    feature = _choice(slots, "feature", ("ac", "fan", "defrost", "heat"))
    switch = _choice(slots, "state", ("on", "off"))
    if temperature is not None:
        return _set_temperature(state, temperature)
    if feature == "fan":
        return _set_fan(state, change, switch)
    if feature in ("ac", "defrost"):
        on = switch != "off"
        return _done(
            _with_climate(state, **{feature: on}), f"{feature}_switched", state="on" if on else "off"
        )
    if feature == "heat" and change is None:
        return _step_temperature(state, -HEAT_STEP_C if switch == "off" else HEAT_STEP_C)
    if change is not None:
        return _step_temperature(state, 1.0 if change == "up" else -1.0)
    return _refuse(state, "which_climate_setting")


def _navigate(state: VehicleState, slots: Slots, now: float | None) -> Result:
    cancel = _choice(slots, "action", ("cancel",)) == "cancel"
    destination = _text(slots, "destination")
    route = state.navigation
    if cancel:
        if not route.active:
            return _refuse(state, "no_route")
        return _done(
            replace(state, navigation=Navigation()), "route_cancelled", destination=route.destination or ""
        )
    if destination is None:
        return _refuse(state, "where_to")
    return _done(
        replace(state, navigation=Navigation(destination, True)), "route_started", destination=destination
    )


MEDIA_ACTIONS = ("play", "pause", "stop", "next", "previous", "volume_up", "volume_down", "mute", "unmute")


def _control_media(state: VehicleState, slots: Slots, now: float | None) -> Result:
    """Play, pause or stop, skip through the source's playlist, step the volume, mute; a source alone
    plays it. Music asked for by name ('play some jazz', 'play the beatles') switches the radio off
    and starts from that music's first track."""
    source = _choice(slots, "source", tuple(PLAYLISTS))
    query = (_text(slots, "query") or "").lower() or None
    action = _choice(slots, "action", MEDIA_ACTIONS) or ("play" if source or query else None)
    if action is None:
        return _refuse(state, "what_media")
    if action in ("mute", "unmute", "volume_up", "volume_down"):
        return _sound(state, action)
    media = state.media
    if query is not None and source is None:
        source = "music"
    if source is not None and source != media.source:
        if action in ("pause", "stop"):  # 'stop the radio' while music plays: nothing of it to stop
            return _refuse(state, "source_not_playing", source=source)
        media = replace(media, source=source, index=0, query=None)
    if query is not None and media.source == "music" and query != media.query:
        media = replace(media, query=query, index=0)
    if action in ("pause", "stop"):
        if not media.playing:
            return _refuse(state, "nothing_playing")
        key = "paused" if action == "pause" else "stopped"
        return _done(replace(state, media=replace(media, playing=False)), key, track=media.track)
    skip = {"play": 0, "next": 1, "previous": -1}[action]
    media = replace(media, playing=True, index=(media.index + skip) % len(PLAYLISTS[media.source]))
    if media.query:
        return _done(replace(state, media=media), "playing_query", query=media.query, track=media.track)
    return _done(replace(state, media=media), "playing", track=media.track)


def _sound(state: VehicleState, action: str) -> Result:
    """Mute, unmute, or step the volume (which unmutes, as a car's volume knob does)."""
    media = state.media
    if action == "mute":
        if media.muted:
            return _refuse(state, "already_muted")
        return _done(replace(state, media=replace(media, muted=True)), "muted")
    if action == "unmute":
        if not media.muted:
            return _refuse(state, "not_muted")
        return _done(replace(state, media=replace(media, muted=False)), "unmuted", volume=media.volume)
    step = VOLUME_STEP if action == "volume_up" else -VOLUME_STEP
    volume = min(max(media.volume + step, 0), 100)
    if volume == media.volume and not media.muted:
        limit = "maximum" if step > 0 else "minimum"
        return _refuse(state, "volume_at_limit", volume=volume, limit=limit)
    return _done(replace(state, media=replace(media, volume=volume, muted=False)), "volume", volume=volume)


def _control_phone(state: VehicleState, slots: Slots, now: float | None) -> Result:
    """Call, answer or hang up; hanging up while it rings declines the call. A contact alone is a call."""
    contact = _text(slots, "contact")
    action = _choice(slots, "action", ("call", "answer", "hang_up"))
    phone = state.phone
    caller = phone.contact or ""
    if action == "answer":
        if phone.status != "ringing":
            return _refuse(state, "no_one_calling")
        answered = replace(phone, status="in_call", call_started_at=now)
        return _done(replace(state, phone=answered), "call_answered", contact=caller)
    if action == "hang_up":
        if phone.status == "idle":
            return _refuse(state, "no_call")
        key = "call_declined" if phone.status == "ringing" else "call_ended"
        return _done(replace(state, phone=Phone()), key, contact=caller)
    if contact is None:
        return _refuse(state, "who_to_call")
    if phone.status == "ringing":
        return _refuse(state, "caller_waiting", contact=caller)
    if phone.status == "in_call":
        return _refuse(state, "already_in_call", contact=caller)
    return _done(replace(state, phone=Phone("in_call", contact, now)), "calling", contact=contact)


SIDE_WINDOWS = ("driver", "passenger", "rear_left", "rear_right")


def _move_window(state: VehicleState, slots: Slots, now: float | None) -> Result:
    """Open or close one window, the side windows ('all') or the sunroof, fully or by ``amount`` percent.

    Opening by an amount opens *to* it ('open it halfway': 50 % open). Closing by an amount moves
    toward closed by that share of the full travel ('close it halfway' from fully open: 50 % open;
    from 30 % open: closed). 'all' opens the side windows only, and closes the sunroof too. Above
    SUNROOF_MAX_SPEED_KMH the sunroof may close but never open further.
    """
    window = _choice(slots, "window", (*SIDE_WINDOWS, "all", "sunroof")) or "driver"
    opening = (_choice(slots, "state", ("open", "closed")) or "open") == "open"
    amount = _number(slots, "amount")
    if amount is not None and not 1 <= amount <= 100:
        raise _SlotError("bad_amount", low=1, high=100)
    if window == "all":
        names = SIDE_WINDOWS if opening else (*SIDE_WINDOWS, "sunroof")
        window = "all_side_windows" if opening else "all_windows_and_the_sunroof"
    else:
        names = (window,)
    before = {name: getattr(state.windows, name) for name in names}
    if opening:
        after = dict.fromkeys(names, round(amount) if amount is not None else 100)
    else:
        after = {name: max(now_open - round(amount or 100), 0) for name, now_open in before.items()}
    if (
        "sunroof" in names
        and after["sunroof"] > before["sunroof"]
        and state.speed_kmh > SUNROOF_MAX_SPEED_KMH
    ):
        if before["sunroof"]:
            return _refuse(
                state, "sunroof_stays_open", percent=before["sunroof"], speed=SUNROOF_MAX_SPEED_KMH
            )
        return _refuse(state, "sunroof_stays_closed", speed=SUNROOF_MAX_SPEED_KMH)
    new = replace(state, windows=replace(state.windows, **after))
    percents = set(after.values())
    if len(percents) > 1:
        return _done(new, "windows_partly_closed", window=window)
    (percent,) = percents
    if percent in (0, 100):
        return _done(new, "window_closed" if percent == 0 else "window_opened", window=window)
    return _done(new, "window_opened_to", window=window, percent=percent)


Handler = Callable[[VehicleState, Slots, float | None], Result]

ACTIONS: dict[str, Handler] = {
    "set_light": _set_light,
    "adjust_climate": _adjust_climate,
    "navigate": _navigate,
    "control_media": _control_media,
    "control_phone": _control_phone,
    "move_window": _move_window,
}


def apply(
    state: VehicleState, action: str | None, intent: str, slots: Slots, now: float | None = None
) -> Result:
    """Run ``action`` with ``slots`` on ``state``; never raises, never mutates ``state``.

    ``intent`` only names the request when the car has no such action; ``now`` stamps a call's start.
    """
    handler = ACTIONS.get(action or "")
    if handler is None:
        if slots:
            return _refuse(state, "no_action_with_slots", intent=intent, slots=dict(slots))
        return _refuse(state, "no_action", intent=intent)
    try:
        return handler(state, slots, now)
    except _SlotError as error:
        return state, error.outcome


def likely_commands(state: VehicleState) -> tuple[tuple[str, Slots], ...]:
    """The commands the car's state invites now, as (action, slots): a ringing phone's answer and
    decline."""
    if state.phone.status == "ringing":
        return (("control_phone", {"action": "answer"}), ("control_phone", {"action": "hang_up"}))
    return ()


def likely_actions(state: VehicleState) -> tuple[str, ...]:
    """The actions the car's state invites now ("control_phone" while it rings)."""
    return tuple(dict.fromkeys(action for action, _ in likely_commands(state)))


class Vehicle:
    """The car's current state, for the pipeline and the dashboard (which reads :attr:`state`)."""

    def __init__(self, state: VehicleState | None = None) -> None:
        self._initial = state if state is not None else VehicleState()
        self._state = self._initial

    @property
    def state(self) -> VehicleState:
        return self._state

    def execute(self, action: str | None, intent: str, slots: Slots, now: float | None = None) -> Outcome:
        """Apply an action to the current state and keep the result."""
        self._state, outcome = apply(self._state, action, intent, slots, now)
        return outcome

    def restore(self, state: VehicleState) -> None:
        """Back to an earlier state, at today's speed: a correction takes back the command it corrects."""
        self._state = replace(state, speed_kmh=self._state.speed_kmh)

    def simulate_incoming_call(self, contact: str) -> Outcome:
        """Make the phone ring, unless it is already busy."""
        phone = self._state.phone
        if phone.status != "idle":
            return Outcome(False, "line_busy", {"contact": phone.contact or ""})
        caller = contact.strip() or "Unknown caller"
        self._state = replace(self._state, phone=Phone("ringing", caller))
        return Outcome(True, "incoming_call", {"contact": caller})

    def set_speed(self, kmh: float) -> Outcome:
        """Set the speed, clamped to 0..MAX_SPEED_KMH."""
        if not math.isfinite(kmh):
            return Outcome(False, "not_a_speed")
        speed = min(max(float(kmh), 0.0), MAX_SPEED_KMH)
        self._state = replace(self._state, speed_kmh=speed)
        return Outcome(True, "speed_set", {"speed": speed})

    def reset(self) -> None:
        """Back to the state the vehicle was created with."""
        self._state = self._initial
