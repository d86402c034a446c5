"""The help screen: every key, from the app's own bindings, and one thing to say per intent, from the
intents YAML, so a new key or a new intent shows up here without an edit."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable

from hassil.intents import TextSlotList
from hassil.sample import sample_expression
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from assistant.intents import IntentLibrary, SlotList
from assistant.tui.conversation import SHORTCUT_CHARACTERS

MUTED = "$foreground-muted"
KEY_WIDTH = 9
CHARACTER_NAMES = {" ": "space"}

KeyDisplay = Callable[[Binding], str]


def key_lines(bindings: Iterable[Binding], display: KeyDisplay) -> list[tuple[str, str]]:
    """(keys, what they do) per action, in the bindings' order: the keys of one action (``help``) or
    of one action with different arguments (``speed(1)``, ``speed(-1)``) share a line, which says the
    first binding's ``tooltip`` (else its ``description``). System bindings and ones with neither are
    left out."""
    lines: dict[str, tuple[list[str], str]] = {}
    for binding in bindings:
        text = binding.tooltip or binding.description
        if binding.system or not text:
            continue
        shown, _ = lines.setdefault(binding.action.split("(")[0], ([], text))
        shown.append(key_name(binding, display))
    return [(" / ".join(shown), text) for shown, text in lines.values()]


def key_name(binding: Binding, display: KeyDisplay) -> str:
    """The key itself, not the footer's label for it (``+``, not ``+/-``): ``F1``, ``^Y``, ``Esc``."""
    name = display(dataclasses.replace(binding, key_display=None))
    if name.startswith("^"):
        return name.upper()
    return name[0].upper() + name[1:] if re.fullmatch(r"[a-z]\w+", name) else name


def example(library: IntentLibrary, intent: str) -> str:
    """What the intent's first template says with its optional words left out and each list's first
    value: ``turn on headlights`` for lights."""
    lists = {name: _first_value(slot_list) for name, slot_list in library.lists.items()}
    expression = library.intents[intent].templates[0].sentence.expression
    sentence = next(iter(sample_expression(expression, lists, library.rules, skip_optionals=True)), "")
    return " ".join(sentence.split())


def _first_value(slot_list: SlotList) -> TextSlotList:
    if slot_list.number_range:
        phrase = str(slot_list.number_range[0])
    else:
        phrase = slot_list.values[0].phrases[0] if slot_list.values else slot_list.name
    return TextSlotList.from_strings([phrase], allow_template=False, name=slot_list.name)


def help_text(key_lines: list[tuple[str, str]], library: IntentLibrary | None) -> Content:
    typed = sorted(CHARACTER_NAMES.get(char, char) for char in SHORTCUT_CHARACTERS)
    lines = [Content.styled("Keys", "bold $primary")]
    lines += [Content.assemble((f"  {key:<{KEY_WIDTH}}", "bold $accent"), text) for key, text in key_lines]
    lines += [
        Content.styled(
            f"  ({', '.join(typed[:-1])} and {typed[-1]} type themselves once the text box holds text)", MUTED
        )
    ]
    lines += [Content.styled("Things to say", "bold $primary")]
    if library is None:
        lines += [Content.styled("  (once the intents are loaded)", MUTED)]
    else:
        width = max(map(len, library.intents), default=0) + 1
        lines += [
            Content.assemble((f"  {name:<{width}}", MUTED), f"“{example(library, name)}”")
            for name in library.intents
        ]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """A modal card over the dashboard; any of Esc, F1, ? or q closes it."""

    BINDINGS = [Binding("escape,f1,question_mark,q", "dismiss", "Close")]

    def __init__(self, key_lines: list[tuple[str, str]], library: IntentLibrary | None) -> None:
        super().__init__()
        self.text = help_text(key_lines, library)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help") as card:
            card.border_title = "Help"
            card.border_subtitle = "Esc to close"
            yield Static(self.text)
