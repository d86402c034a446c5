"""The history: every command so far, newest at the bottom, with what the car made of it."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import Static

from assistant.events import Event, Status
from assistant.tui.draw import shorten

MAX_ENTRIES = 200
MUTED = "$foreground-muted"


MARKS = {
    Status.DONE: ("✔", "bold $success"),
    Status.ASKED: ("?", "bold $warning"),
    Status.REFUSED: ("✘", "bold $error"),
}


def history_line(number: int, event: Event) -> Content:
    """``3 ✔ “open the sunroof” → Sunroof open.`` (or the car's question, or why it did nothing)."""
    mark = MARKS[event.status]
    if event.status is Status.DONE and not event.carried_out:
        mark = ("⚠", "bold $warning")
    refused = event.status is Status.REFUSED
    return Content.assemble(
        (f"{number:>3} ", MUTED),
        mark,
        (f" “{shorten(event.transcript)}”", "bold"),
        (" → ", MUTED),
        (f"refused: {event.reason}" if refused else event.outcome, "$error" if refused else ""),
    )


class HistoryLog(VerticalScroll):
    """A scrolling log of commands; keeps the last ``MAX_ENTRIES``."""

    can_focus = False

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.count = 0

    def on_mount(self) -> None:
        self.border_title = "History"
        self.mount(Static(Content.styled("Nothing yet.", MUTED), classes="placeholder"))

    def add(self, event: Event) -> None:
        self.count += 1
        self.query(".placeholder").remove()
        if len(self.children) >= MAX_ENTRIES:
            self.children[0].remove()
        entry = Static(history_line(self.count, event), classes=f"-{event.status}")
        self.mount(entry)
        self.call_after_refresh(self.scroll_end, animate=False)
