"""The help screen: every key, and a few things to say."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("space", "push-to-talk: press to start talking, again to stop"),
    ("F2", "switch hands-free (voice activity) ↔ push-to-talk"),
    ("F3", "switch the intent model, QLoRA ↔ BERT"),
    ("F4", "simulate an incoming call"),
    ("+ / -", "speed up / slow down by 10 km/h"),
    ("F5", "reset the car"),
    ("F6", "the car's spoken replies on / off"),
    ("^Y / ^N", "yes / no to the car's question (or say or type it)"),
    ("/ · Esc", "type a command · leave the text box"),
    ("F1 or ?", "this help"),
    ("Ctrl+Q", "quit"),
)
MUTED = "$foreground-muted"
EXAMPLES = (
    "turn on the high beams",
    "open the sunroof halfway",
    "set the temperature to 22 degrees",
    "navigate to the airport",
    "answer the call",
)


def help_text() -> Content:
    lines = [Content.styled("Keys", "bold $primary")]
    lines += [Content.assemble((f"  {key:<9}", "bold $accent"), text) for key, text in KEYS]
    lines += [Content.styled("  (space, ?, + and - type themselves once the text box holds text)", MUTED)]
    lines += [Content(""), Content.styled("Things to say", "bold $primary")]
    lines += [Content.styled(f"  “{example}”", MUTED) for example in EXAMPLES]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """A modal card over the dashboard; any of Esc, F1, ? or q closes it."""

    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help") as card:
            card.border_title = "Help"
            card.border_subtitle = "Esc to close"
            yield Static(help_text())
