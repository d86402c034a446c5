"""The conversation: the microphone, what the car heard and understood, what it did, and how fast."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input

from assistant.events import Event, Status
from assistant.tui.draw import bar, level_meter, shorten

MUTED = "$foreground-muted"
LABEL = 8
NAME = 13
METER_WIDTH = 12
"""The level meter's cells where there is room; fewer on a narrow screen, down to ``MIN_METER_WIDTH``."""
MIN_METER_WIDTH = 4
MODES = {"hands_free": "HANDS-FREE", "push_to_talk": "PUSH-TO-TALK"}
STAGES = (("endpoint", "endpoint"), ("asr", "ASR"), ("nlu", "NLU"), ("action", "action"), ("total", "total"))
SHORTCUT_CHARACTERS = frozenset(" ?+-/")
WELCOME_EXAMPLES = 3
STATUS_STYLES = {Status.DONE: "$success", Status.ASKED: "$warning", Status.REFUSED: "$error"}
"""The chosen intent's bar: the colour of what came of it."""
RUNNER_UP_STYLES = ("$secondary-muted", "$primary-muted")
"""The second and the third intent's bars, each its own colour, none a status colour."""
RANKED = 1 + len(RUNNER_UP_STYLES)


def _label(text: str) -> Content:
    return Content.styled(f"{text:<{LABEL}}", MUTED)


def _said(event: Event) -> str:
    return "Typed" if event.source == "typed" else "Heard"


class MicMeter(Widget):
    """The live input level and the listening mode; ``mic_status`` replaces them when there is no audio."""

    level: reactive[float] = reactive(-120.0)
    voice_mode: reactive[str] = reactive("hands_free")
    talking: reactive[bool] = reactive(False)
    mic_status: reactive[str] = reactive("opening the microphone…")
    """Empty while audio flows; otherwise why there is none (yet)."""

    def render(self) -> Content:
        if self.mic_status and not self.talking:
            return Content.assemble(_label("Mic"), (self.mic_status, MUTED))
        if self.talking:
            badge = (" ● TALKING ", "bold $text on $error")
        else:
            badge = (f" {MODES.get(self.voice_mode, self.voice_mode)} ", "bold $background on $secondary")
        level = f" {self.level:4.0f} dB "
        room = self.size.width - LABEL - len(level) - len(badge[0])
        meter = level_meter(self.level, min(max(room, MIN_METER_WIDTH), METER_WIDTH))
        return Content.assemble(_label("Mic"), meter, (level, MUTED), badge)


@dataclass(frozen=True)
class Pending:
    """A command on its way: what was said or typed (if known yet) and what is happening to it."""

    text: str
    status: str


class Exchange(Widget):
    """The last command: transcript, top intents with confidence bars, slots, outcome, latency."""

    event: reactive[Event | None] = reactive(None, layout=True)
    pending: reactive[Pending | None] = reactive(None, layout=True)
    question_left_s: reactive[int | None] = reactive(None)
    """Seconds until the car's question lapses (0: it lapsed; None: no question was asked), counted
    down by the app."""
    examples: reactive[tuple[str, ...]] = reactive(tuple, layout=True)
    """Things to say (one per intent, from the intents YAML); the first few show until the first command."""

    def render(self) -> Content:
        if self.pending is not None:
            return self._pending(self.pending)
        if self.event is None:
            return self._welcome()
        return Content("\n").join(self._event_lines(self.event))

    def _welcome(self) -> Content:
        lines = [Content.styled("Say a command, or type one below.", MUTED)]
        if self.examples:
            *first, last = (f"“{example}”" for example in self.examples[:WELCOME_EXAMPLES])
            lines.append(Content.styled(f"Try {', '.join(first)} or {last}." if first else f"Try {last}.", MUTED))
        lines.append(Content.styled("F1: every key, and more to say.", MUTED))
        return Content("\n").join(lines)

    def _pending(self, pending: Pending) -> Content:
        said = (
            Content.assemble(_label("Typed"), (f"“{shorten(pending.text)}”", "bold"))
            if pending.text
            else _label("Heard")
        )
        status = Content.assemble(_label("Status"), (f"⋯ {pending.status}", "$warning"))
        return Content("\n").join([said, status])

    def _event_lines(self, event: Event) -> list[Content]:
        return [
            Content.assemble(_label(_said(event)), (f"“{shorten(event.transcript)}”", "bold")),
            *self._ranking(event),
            Content.assemble(_label("Slots"), self._slots(event)),
            Content.assemble(_label("Result"), self._result(event)),
            *self._answer_keys(event),
            *self._latency(event),
        ]

    def _ranking(self, event: Event) -> list[Content]:
        """The top intents, each with a confidence bar; the chosen one highlighted."""
        width = max(self.size.width - LABEL - NAME - 5, 6)
        if not event.ranking:  # an answer to the car's question: no classifier involved
            return [Content.assemble(_label("Intent"), (event.intent, "bold"))]
        lines = []
        for index, (name, score) in enumerate(event.ranking[:RANKED]):
            chosen = index == 0
            style = STATUS_STYLES[event.status] if chosen else RUNNER_UP_STYLES[index - 1]
            lines.append(
                Content.assemble(
                    _label("Intent" if chosen else ""),
                    (f"{name:<{NAME}}", "bold" if chosen else MUTED),
                    bar(score, width, style),
                    (f"{score:>5.0%}", "bold" if chosen else MUTED),
                )
            )
        return lines

    @staticmethod
    def _slots(event: Event) -> Content:
        if not event.slots:
            return Content.styled("—", MUTED)
        return Content(" · ").join(
            Content.assemble((f"{name}=", MUTED), (str(value), "$accent"))
            for name, value in event.slots.items()
        )

    @staticmethod
    def _result(event: Event) -> Content:
        if event.status is Status.REFUSED:
            return Content.assemble(("✘ Refused: ", "bold $error"), (event.reason, "$error"))
        if event.status is Status.ASKED:
            return Content.assemble(("? ", "bold $warning"), (event.outcome, "bold"))
        if not event.carried_out:  # understood, but the car said no ("Sunroof stays closed above 80 km/h")
            return Content.assemble(("⚠ ", "bold $warning"), (event.outcome, "bold $warning"))
        return Content.assemble(("✔ ", "bold $success"), (event.outcome, "bold"))

    def _answer_keys(self, event: Event) -> list[Content]:
        """Under a question: the keys that answer it and how long it stands, or that it lapsed."""
        if event.status is not Status.ASKED or self.question_left_s is None:
            return []
        if self.question_left_s <= 0:
            return [Content.assemble(_label(""), ("the question lapsed", MUTED))]
        keys = Content.assemble(
            _label(""),
            ("^Y", "bold $accent"),
            (" yes · ", MUTED),
            ("^N", "bold $accent"),
            (" no · ", MUTED),
            (f"{self.question_left_s} s left", "bold"),
        )
        return [keys]

    @staticmethod
    def _latency(event: Event) -> list[Content]:
        """Two lines: the stage names, and under each its milliseconds (total in bold)."""
        names, values = [_label("Latency")], [_label("(ms)")]
        for key, name in STAGES:
            width = max(len(name), 4) + 1
            names.append(Content.styled(name.rjust(width), MUTED))
            ms = event.timings_ms.get(key)
            value = "—" if ms is None else f"{ms:.0f}"
            values.append(Content.styled(value.rjust(width), "bold" if key == "total" else ""))
        return [Content.assemble(*names), Content.assemble(*values)]


class CommandInput(Input):
    """The text box. While it is empty, space, ?, +, - and / are the app's keys (talk, help, speed, type)."""

    def check_consume_key(self, key: str, character: str | None) -> bool:
        return character not in SHORTCUT_CHARACTERS and super().check_consume_key(key, character)

    async def _on_key(self, event: events.Key) -> None:
        if event.character in SHORTCUT_CHARACTERS and not self.value:
            event.prevent_default()  # skip Input's handler: the key bubbles up to the app's bindings
