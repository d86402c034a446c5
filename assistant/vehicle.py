"""The simulated car: its state, the actions the assistant can ask for, and the rules.

Pure and synchronous. :func:`apply` maps a state and an action name to a new state and an
:class:`Outcome`, one sentence for the driver; :class:`Vehicle` is a thin mutable wrapper
for the pipeline and the dashboard. The intents YAML names the action each intent runs, so
nothing here knows intent names.
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
    """What the car did: ``done`` is False when it changed nothing; ``message`` is for the driver."""

    done: bool
    message: str


Result = tuple[VehicleState, Outcome]


class _SlotError(ValueError):
    """A slot value the car cannot use; its message is said to the driver."""


def _done(state: VehicleState, message: str) -> Result:
    return state, Outcome(True, message)


def _refuse(state: VehicleState, message: str) -> Result:
    return state, Outcome(False, message)


def _either(options: tuple[str, ...]) -> str:
    words = [option.replace("_", " ") for option in options]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


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
        raise _SlotError(f"I can't use '{text}' as the {name}; try {_either(options)}.")
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
        raise _SlotError(f"'{value}' is not a number I can use for the {name}.")
    return number


LIGHT_NAMES = {
    "headlights": "Headlights",
    "high_beams": "High beams",
    "fog_lights": "Fog lights",
    "hazards": "Hazard lights",
    "interior": "Interior light",
}
NEEDS_HEADLIGHTS = ("high_beams", "fog_lights")
"""As in most cars, high beams and front fog lights only work with the headlights on."""


def _set_light(state: VehicleState, slots: Slots, now: float | None) -> Result:
    """Switch one light; high beams and fog lights pull the headlights along."""
    light = _choice(slots, "light", tuple(LIGHT_NAMES)) or "headlights"
    on = (_choice(slots, "state", ("on", "off")) or "on") == "on"
    lights = state.lights
    changes = {light: on}
    extra = ""
    if on and light in NEEDS_HEADLIGHTS and not lights.headlights:
        changes["headlights"] = True
        extra = ", headlights on too"
    if not on and light == "headlights":
        dependents = [name for name in NEEDS_HEADLIGHTS if getattr(lights, name)]
        changes.update(dict.fromkeys(dependents, False))
        if dependents:
            extra = f", {' and '.join(LIGHT_NAMES[name].lower() for name in dependents)} off too"
    message = f"{LIGHT_NAMES[light]} {'on' if on else 'off'}{extra}."
    return _done(replace(state, lights=replace(lights, **changes)), message)


def _celsius(value: float) -> str:
    return f"{value:g} °C"


def _with_climate(state: VehicleState, **changes: float | int | bool) -> VehicleState:
    return replace(state, climate=replace(state.climate, **changes))


def _set_temperature(state: VehicleState, value: float) -> Result:
    """Set the target; numbers from FAHRENHEIT_FROM up are °F, clamped to the car's range.

    A number below zero is no setting a driver means (in either scale): it is refused, not clamped.
    """
    if value < 0:
        return _refuse(
            state,
            f"{value:g} degrees is out of range; the cabin goes from {MIN_TEMP_C:g} to {MAX_TEMP_C:g} °C.",
        )
    fahrenheit = value >= FAHRENHEIT_FROM
    wanted = round(((value - 32) * 5 / 9 if fahrenheit else value) * 2) / 2
    target = min(max(wanted, MIN_TEMP_C), MAX_TEMP_C)
    new = _with_climate(state, target_c=target)
    if target != wanted:
        limit = "warmest" if target == MAX_TEMP_C else "coolest"
        asked = f" instead of {value:g} °F" if fahrenheit else ""
        return _done(new, f"{_celsius(target)} is the {limit} setting; set to {_celsius(target)}{asked}.")
    said = f" ({value:g} °F)" if fahrenheit else ""
    return _done(new, f"Cabin set to {_celsius(target)}{said}.")


def _step_temperature(state: VehicleState, step: float) -> Result:
    current = state.climate.target_c
    target = min(max(current + step, MIN_TEMP_C), MAX_TEMP_C)
    if target == current:
        limit = "warmest" if step > 0 else "coolest"
        return _refuse(state, f"The cabin is already at the {limit} setting, {_celsius(current)}.")
    return _done(_with_climate(state, target_c=target), f"Cabin set to {_celsius(target)}.")


def _set_fan(state: VehicleState, change: str | None, switch: str | None) -> Result:
    fan = state.climate.fan
    if change is not None:
        level = min(max(fan + (1 if change == "up" else -1), 0), FAN_MAX)
        if level == fan:
            return _refuse(state, "The fan is already at full speed." if fan else "The fan is already off.")
    else:
        level = 0 if switch == "off" else fan or FAN_DEFAULT
    return _done(_with_climate(state, fan=level), f"Fan at speed {level}." if level else "Fan off.")


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
        label = "Air conditioning" if feature == "ac" else "Defrost"
        return _done(_with_climate(state, **{feature: on}), f"{label} {'on' if on else 'off'}.")
    if feature == "heat" and change is None:
        return _step_temperature(state, -HEAT_STEP_C if switch == "off" else HEAT_STEP_C)
    if change is not None:
        return _step_temperature(state, 1.0 if change == "up" else -1.0)
    return _refuse(state, "Which climate setting? Try 'set 21 degrees'.")


def _navigate(state: VehicleState, slots: Slots, now: float | None) -> Result:
    cancel = _choice(slots, "action", ("cancel",)) == "cancel"
    destination = _text(slots, "destination")
    route = state.navigation
    if cancel:
        if not route.active:
            return _refuse(state, "There is no active route.")
        return _done(replace(state, navigation=Navigation()), f"Route to {route.destination} cancelled.")
    if destination is None:
        return _refuse(state, "Where to? Try 'navigate to the airport'.")
    return _done(replace(state, navigation=Navigation(destination, True)), f"Route to {destination} started.")


MEDIA_ACTIONS = ("play", "pause", "stop", "next", "previous", "volume_up", "volume_down", "mute", "unmute")


def _control_media(state: VehicleState, slots: Slots, now: float | None) -> Result:
    """Play, pause or stop, skip through the source's playlist, step the volume, mute; a source alone
    plays it. Music asked for by name ('play some jazz', 'play the beatles') switches the radio off
    and starts from that music's first track."""
    source = _choice(slots, "source", tuple(PLAYLISTS))
    query = (_text(slots, "query") or "").lower() or None
    action = _choice(slots, "action", MEDIA_ACTIONS) or ("play" if source or query else None)
    if action is None:
        return _refuse(state, "What should the media do? Try 'play music' or 'next track'.")
    if action in ("mute", "unmute", "volume_up", "volume_down"):
        return _sound(state, action)
    media = state.media
    if query is not None and source is None:
        source = "music"
    if source is not None and source != media.source:
        if action in ("pause", "stop"):  # 'stop the radio' while music plays: nothing of it to stop
            return _refuse(state, f"The {source} isn't playing.")
        media = replace(media, source=source, index=0, query=None)
    if query is not None and media.source == "music" and query != media.query:
        media = replace(media, query=query, index=0)
    if action in ("pause", "stop"):
        if not media.playing:
            return _refuse(state, "Nothing is playing.")
        verb = "Paused" if action == "pause" else "Stopped"
        return _done(replace(state, media=replace(media, playing=False)), f"{verb} {media.track}.")
    skip = {"play": 0, "next": 1, "previous": -1}[action]
    media = replace(media, playing=True, index=(media.index + skip) % len(PLAYLISTS[media.source]))
    what = f"{media.query}: {media.track}" if media.query else media.track
    return _done(replace(state, media=media), f"Playing {what}.")


def _sound(state: VehicleState, action: str) -> Result:
    """Mute, unmute, or step the volume (which unmutes, as a car's volume knob does)."""
    media = state.media
    if action == "mute":
        if media.muted:
            return _refuse(state, "The sound is already muted.")
        return _done(replace(state, media=replace(media, muted=True)), "Sound muted.")
    if action == "unmute":
        if not media.muted:
            return _refuse(state, "The sound isn't muted.")
        return _done(
            replace(state, media=replace(media, muted=False)), f"Sound back on, volume {media.volume}."
        )
    step = VOLUME_STEP if action == "volume_up" else -VOLUME_STEP
    volume = min(max(media.volume + step, 0), 100)
    if volume == media.volume and not media.muted:
        limit = "maximum" if step > 0 else "minimum"
        return _refuse(state, f"The volume is already at its {limit}, {volume}.")
    return _done(replace(state, media=replace(media, volume=volume, muted=False)), f"Volume {volume}.")


def _control_phone(state: VehicleState, slots: Slots, now: float | None) -> Result:
    """Call, answer or hang up; hanging up while it rings declines the call. A contact alone is a call."""
    contact = _text(slots, "contact")
    action = _choice(slots, "action", ("call", "answer", "hang_up"))
    phone = state.phone
    if action == "answer":
        if phone.status != "ringing":
            return _refuse(state, "No one is calling.")
        answered = replace(phone, status="in_call", call_started_at=now)
        return _done(replace(state, phone=answered), f"Call with {phone.contact} started.")
    if action == "hang_up":
        if phone.status == "idle":
            return _refuse(state, "There is no call to hang up.")
        verb = "Declined the call from" if phone.status == "ringing" else "Ended the call with"
        return _done(replace(state, phone=Phone()), f"{verb} {phone.contact}.")
    if contact is None:
        return _refuse(state, "Who should I call?")
    if phone.status == "ringing":
        return _refuse(state, f"{phone.contact} is calling; answer or decline first.")
    if phone.status == "in_call":
        return _refuse(state, f"You are already on a call with {phone.contact}; hang up first.")
    return _done(replace(state, phone=Phone("in_call", contact, now)), f"Calling {contact}.")


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
        raise _SlotError("Windows open from 1 to 100 percent.")
    if window == "all":
        names = SIDE_WINDOWS if opening else (*SIDE_WINDOWS, "sunroof")
        label = "All side windows" if opening else "All windows and the sunroof"
    else:
        names = (window,)
        label = "Sunroof" if window == "sunroof" else f"{window.replace('_', ' ').capitalize()} window"
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
        where = f"{before['sunroof']}% open" if before["sunroof"] else "closed"
        return _refuse(state, f"Sunroof stays {where} above {SUNROOF_MAX_SPEED_KMH} km/h.")
    windows = replace(state.windows, **after)
    return _done(replace(state, windows=windows), f"{label} {_how_open(set(after.values()))}.")


def _how_open(percents: set[int]) -> str:
    """'open', 'closed' or 'open to 30%' when all agree; else 'partly closed'."""
    if len(percents) > 1:
        return "partly closed"
    (percent,) = percents
    return {0: "closed", 100: "open"}.get(percent, f"open to {percent}%")


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
        missing = f"the car has no action for '{action or intent}' yet"
        return _refuse(state, f"{_understood(intent, slots)}; {missing}.")
    try:
        return handler(state, slots, now)
    except _SlotError as error:
        return _refuse(state, str(error))


def likely_actions(state: VehicleState) -> tuple[str, ...]:
    """The actions the car's state invites now: the phone's while it rings ("answer", "decline")."""
    return ("control_phone",) if state.phone.status == "ringing" else ()


def _understood(intent: str, slots: Slots) -> str:
    """'Understood orderDrink: size=large, coffeeDrink=latte': what a car without that action heard."""
    said = ", ".join(f"{name}={value}" for name, value in slots.items())
    return f"Understood {intent}: {said}" if said else f"Understood {intent}"


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
            return Outcome(False, f"The line is busy with {phone.contact}.")
        caller = contact.strip() or "Unknown caller"
        self._state = replace(self._state, phone=Phone("ringing", caller))
        return Outcome(True, f"{caller} is calling.")

    def set_speed(self, kmh: float) -> Outcome:
        """Set the speed, clamped to 0..MAX_SPEED_KMH."""
        if not math.isfinite(kmh):
            return Outcome(False, "The speed must be a number.")
        speed = min(max(float(kmh), 0.0), MAX_SPEED_KMH)
        self._state = replace(self._state, speed_kmh=speed)
        return Outcome(True, f"Speed {speed:g} km/h.")

    def reset(self) -> None:
        """Back to the state the vehicle was created with."""
        self._state = self._initial
