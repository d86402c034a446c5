"""Small bordered panels for the rest of the car: climate, media, navigation and phone."""

from __future__ import annotations

from typing import ClassVar

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from assistant.tui.draw import bar, call_clock, on_off, pips
from assistant.vehicle import FAN_MAX, VehicleState

MUTED = "$foreground-muted"


class StatePanel(Widget):
    """A panel that renders one part of a :class:`VehicleState`; subclasses say which in ``lines``."""

    TITLE: ClassVar[str] = ""
    state: reactive[VehicleState] = reactive(VehicleState)

    def on_mount(self) -> None:
        self.border_title = self.TITLE

    def render(self) -> Content:
        return Content("\n").join(self.lines(self.state))

    def lines(self, state: VehicleState) -> list[Content]:
        raise NotImplementedError


class ClimatePanel(StatePanel):
    TITLE = "Climate"

    def lines(self, state: VehicleState) -> list[Content]:
        climate = state.climate
        return [
            Content.assemble(
                (f"{climate.target_c:.1f} °C", "bold"), ("  fan ", MUTED), (str(climate.fan), "bold")
            ),
            Content.assemble(on_off(climate.ac, "A/C"), " ", on_off(climate.defrost, "Defrost")),
            Content.assemble(("Fan ", MUTED), pips(climate.fan, FAN_MAX, "$secondary")),
        ]


class MediaPanel(StatePanel):
    TITLE = "Media"
    VOLUME_WIDTH = 8

    def lines(self, state: VehicleState) -> list[Content]:
        media = state.media
        status = ("▶ ", "bold $success") if media.playing else ("‖ ", MUTED)
        return [
            Content.assemble(status, (media.track, "bold" if media.playing else "")),
            Content.assemble(
                ("Vol ", MUTED), bar(media.volume / 100, self.VOLUME_WIDTH, "$secondary"), f" {media.volume}"
            ),
            Content.styled(
                " · ".join(
                    filter(None, (media.source, media.query, "playing" if media.playing else "paused", "muted" if media.muted else None))
                ),
                MUTED,
            ),
        ]

    def watch_state(self, state: VehicleState) -> None:
        self.set_class(state.media.playing, "-active")


class NavigationPanel(StatePanel):
    TITLE = "Navigation"

    def lines(self, state: VehicleState) -> list[Content]:
        route = state.navigation
        if not route.active:
            return [Content.styled("No route", MUTED)]
        return [
            Content.assemble(("⚑ ", "$accent"), (route.destination or "", "bold")),
            on_off(True, "Route active"),
        ]

    def watch_state(self, state: VehicleState) -> None:
        self.set_class(state.navigation.active, "-active")


class PhonePanel(StatePanel):
    """The phone; ``clock_s`` (whole seconds on the monotonic clock) ticks the call timer."""

    TITLE = "Phone"
    clock_s: reactive[int] = reactive(0)

    def lines(self, state: VehicleState) -> list[Content]:
        phone = state.phone
        contact = Content.styled(phone.contact or "", "bold")
        if phone.status == "ringing":
            return [
                Content.styled("☏ Ringing", "bold $warning"),
                contact,
                Content.styled("Say “answer”", MUTED),
            ]
        if phone.status == "in_call":
            started = phone.call_started_at
            elapsed = call_clock(self.clock_s - started) if started is not None else "--:--"
            return [Content.assemble(("☏ In call ", "bold $success"), elapsed), contact]
        return [Content.styled("☏ Idle", MUTED)]

    def watch_state(self, state: VehicleState) -> None:
        self.set_class(state.phone.status == "ringing", "-ringing")
        self.set_class(state.phone.status == "in_call", "-active")
