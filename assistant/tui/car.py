"""The car seen from above: lights, windows, sunroof and speed, drawn in box-drawing characters.

A :class:`Shape` is a drawing (``art``) and a same-sized ``mask`` that says what each cell shows, so
:func:`draw_car` only has to look the cell's part up in the :class:`VehicleState`. Mask codes:

====  ==================================  ====  ======================================
``.`` body                                ``w`` wheel
``b`` high-beam ray (drawn when on)       ``h`` headlight
``f`` fog light                           ``z`` hazard light (blinks)
``t`` tail light (on with the headlights) ``i`` interior light
``d`` ``p`` ``l`` ``r``: the edge of the driver's, passenger's, rear-left and rear-right window
``D`` ``P`` ``L`` ``R``: that window's opening in percent, written over the run of cells
``s`` sunroof glass, blue for the open share; ``S`` the same with the opening written in it
====  ==================================  ====  ======================================

The front of the car is at the top; the driver sits on the left.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from assistant.vehicle import Lights, VehicleState

MUTED = "$foreground-muted"
BODY = "$foreground-darken-1"
GLASS = "$secondary bold"
SUNROOF_OPEN = "bold $background on $secondary"
SUNROOF_SHUT = "$foreground on $surface-lighten-1"


@dataclass(frozen=True)
class Shape:
    art: tuple[str, ...]
    mask: tuple[str, ...]


SMALL = Shape(
    art=(
        "      ╲│╱             ╲│╱      ",
        "    ◆╭─●───────────────●─╮◆    ",
        "     │ ≋ ╲───────────╱ ≋ │     ",
        "     ┃                   ┃     ",
        "     ┃    ┌─────────┐    ┃     ",
        "     │    │         │    │     ",
        "     ┃    └─────────┘    ┃     ",
        "     ┃         ✦         ┃     ",
        "     │  ╱─────────────╲  │     ",
        "    ◆╰─▬───────────────▬─╯◆    ",
    ),
    mask=(
        "      bbb             bbb      ",
        "    z..h...............h..z    ",
        "     . f ............. f .     ",
        "DDDD d                   p PPPP",
        "     d    ...........    p     ",
        "     .    .SSSSSSSSS.    .     ",
        "     l    ...........    r     ",
        "LLLL l         i         r RRRR",
        "     .  ...............  .     ",
        "    z..t...............t..z    ",
    ),
)

LARGE = Shape(
    art=(
        "         ╲││╱               ╲││╱         ",
        "      ◆╭──●●─────────────────●●──╮◆      ",
        "       │  ≋≋                 ≋≋  │       ",
        "     ▐█│                         │█▌     ",
        "     ▐█│  ╲━━━━━━━━━━━━━━━━━━━╱  │█▌     ",
        "       ┃                         ┃       ",
        "       ┃     ┌─────────────┐     ┃       ",
        "       │     │             │     │       ",
        "       │     │             │     │       ",
        "       │     │             │     │       ",
        "       ┃     └─────────────┘     ┃       ",
        "       ┃            ✦            ┃       ",
        "     ▐█│                         │█▌     ",
        "     ▐█│  ╱━━━━━━━━━━━━━━━━━━━╲  │█▌     ",
        "       │                         │       ",
        "      ◆╰──▬▬─────────────────▬▬──╯◆      ",
    ),
    mask=(
        "         bbbb               bbbb         ",
        "      z...hh.................hh...z      ",
        "       .  ff                 ff  .       ",
        "     ww.                         .ww     ",
        "     ww.  .....................  .ww     ",
        "DDDDDD d                         p PPPPPP",
        "       d     ...............     p       ",
        "       .     .sssssssssssss.     .       ",
        "       .     .SSSSSSSSSSSSS.     .       ",
        "       .     .sssssssssssss.     .       ",
        "       l     ...............     r       ",
        "LLLLLL l            i            r RRRRRR",
        "     ww.                         .ww     ",
        "     ww.  .....................  .ww     ",
        "       .                         .       ",
        "      z...tt.................tt...z      ",
    ),
)

WINDOWS = {"d": "driver", "p": "passenger", "l": "rear_left", "r": "rear_right"}
RIGHT_ALIGNED = "DL"
"""Labels left of the car end next to it; the others start next to it."""


def _window(state: VehicleState, code: str, art: str) -> tuple[str, str]:
    """A window's edge: solid when closed, dashed (open air) when open."""
    if getattr(state.windows, WINDOWS[code]):
        return "┊" * len(art), GLASS
    return art, BODY


def _label(state: VehicleState, code: str, width: int) -> tuple[str, str]:
    percent = getattr(state.windows, WINDOWS[code.lower()])
    text = f"{percent}%".rjust(width) if code in RIGHT_ALIGNED else f"{percent}%".ljust(width)
    return text, GLASS if percent else MUTED


def _sunroof(percent: int, width: int, with_text: bool) -> Content:
    """One row of sunroof glass: blue for the open share, the opening written on the middle row."""
    text = ("closed" if percent == 0 else "open" if percent == 100 else f"{percent}%") if with_text else ""
    text = text.center(width)
    opened = round(width * percent / 100)
    return Content.assemble((text[:opened], SUNROOF_OPEN), (text[opened:], SUNROOF_SHUT))


def _lamp(on: bool, art: str, style: str) -> tuple[str, str]:
    return art, style if on else MUTED


def _cells(state: VehicleState, blink_on: bool, code: str, art: str) -> Content | tuple[str, str]:
    """What a run of cells with the same mask code shows."""
    lights: Lights = state.lights
    match code:
        case ".":
            return art, BODY
        case "w":
            return art, "$panel-lighten-1"
        case "b":
            return (art, "$secondary bold") if lights.high_beams else (" " * len(art), "")
        case "h":
            return _lamp(lights.headlights, ("●" if lights.headlights else "○") * len(art), "$warning bold")
        case "f":
            return _lamp(lights.fog_lights, art, "$warning bold")
        case "t":
            return _lamp(lights.headlights, art, "$error bold")
        case "z":
            return ("◆", "$accent bold") if lights.hazards and blink_on else ("◇", MUTED)
        case "i":
            return ("✦", "$warning bold") if lights.interior else ("✧", MUTED)
        case "d" | "p" | "l" | "r":
            return _window(state, code, art)
        case "D" | "P" | "L" | "R":
            return _label(state, code, len(art))
        case "s" | "S":
            return _sunroof(state.windows.sunroof, len(art), with_text=code == "S")
    return art, ""


def _line(state: VehicleState, blink_on: bool, art: str, mask: str) -> Content:
    parts = []
    for code, cells in groupby(zip(art, mask, strict=True), key=lambda cell: cell[1]):
        part = _cells(state, blink_on, code, "".join(char for char, _ in cells))
        parts.append(part if isinstance(part, Content) else Content.styled(*part))
    return Content.assemble(*parts)


def _badge(label: str, on: bool, style: str) -> Content:
    """A dashboard telltale: lit (reversed) when on, faint when off."""
    return Content.styled(f" {label} ", f"bold $background on {style}" if on else MUTED)


def telltales(lights: Lights, blink_on: bool) -> Content:
    """A row of lit/unlit telltales naming every light."""
    return Content.assemble(
        _badge("HEAD", lights.headlights, "$warning"),
        _badge("HIGH", lights.high_beams, "$secondary"),
        _badge("FOG", lights.fog_lights, "$warning"),
        _badge("HAZ", lights.hazards and blink_on, "$accent"),
        _badge("CABIN", lights.interior, "$warning"),
    )


def _centered(line: Content, width: int) -> Content:
    spare = width - line.cell_length
    return line.pad_left(spare // 2).pad_right(spare - spare // 2)


def draw_car(state: VehicleState, blink_on: bool, shape: Shape = SMALL) -> Content:
    """The car, then its speed and telltales: lines of equal width, to be centred as a block."""
    lines = [_line(state, blink_on, art, mask) for art, mask in zip(shape.art, shape.mask, strict=True)]
    speed = Content.assemble((f"{state.speed_kmh:g}", "bold $text"), (" km/h", MUTED))
    lines += [speed, telltales(state.lights, blink_on)]
    width = max(line.cell_length for line in lines)
    return Content("\n").join(_centered(line, width) for line in lines)


class CarDiagram(Widget):
    """The car, redrawn from a :class:`VehicleState`; ``blink_on`` is the hazard lights' phase."""

    state: reactive[VehicleState] = reactive(VehicleState)
    blink_on: reactive[bool] = reactive(True)

    def __init__(self, shape: Shape = SMALL, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.shape = shape

    def render(self) -> Content:
        return draw_car(self.state, self.blink_on, self.shape)

    def watch_state(self, state: VehicleState) -> None:
        """A class per light that is on (``-high_beams``…), for styles and tests."""
        for light, on in vars(state.lights).items():
            self.set_class(on, f"-{light}")
