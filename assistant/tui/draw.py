"""Text-drawing helpers the widgets share: bars, pips, a level meter and a call clock."""

from __future__ import annotations

from textual.content import Content

TRACK = "$panel"
SHOWN_CHARS = 80
"""How much of a command's text the panels show, so one long command never covers them."""
METER_FLOOR_DBFS = -60.0


def bar(fraction: float, width: int, style: str) -> Content:
    """A slim bar ``width`` cells long, filled to ``fraction`` with half-cell precision: ━━━╸──."""
    halves = round(min(max(fraction, 0.0), 1.0) * width * 2)
    full, half = divmod(halves, 2)
    filled = "━" * full + ("╸" if half else "")
    return Content.assemble((filled, style), ("━" * (width - len(filled)), TRACK))


def pips(level: int, total: int, style: str) -> Content:
    """``level`` lit pips out of ``total``: ■■■□□."""
    level = min(max(level, 0), total)
    return Content.assemble(("■" * level, style), ("□" * (total - level), "$foreground-muted"))


def level_meter(dbfs: float, width: int) -> Content:
    """A microphone level from -60 dBFS (empty) to 0 (full): green, then amber, then red cells."""
    fraction = (max(dbfs, METER_FLOOR_DBFS) - METER_FLOOR_DBFS) / -METER_FLOOR_DBFS
    lit = round(fraction * width)
    cells = []
    for index in range(width):
        zone = "$success" if index < width * 0.7 else "$warning" if index < width * 0.9 else "$error"
        cells.append(("▮", zone) if index < lit else ("▯", "$foreground-muted"))
    return Content.assemble(*cells)


def call_clock(seconds: float) -> str:
    """Elapsed call time as m:ss, or h:mm:ss past an hour."""
    minutes, secs = divmod(int(max(seconds, 0)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


def on_off(on: bool, label: str) -> Content:
    """A telltale: a lit dot and the label when on, a hollow one when off."""
    return Content.assemble(("● " if on else "○ ", "$success" if on else "$foreground-muted"), label)


def shorten(text: str, limit: int = SHOWN_CHARS) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with '…'."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
