"""The top bar: what is loaded and what is still loading; and a notice line for what is missing."""

from __future__ import annotations

from typing import Literal

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
MUTED = "$foreground-muted"

ModelStatus = Literal["loading", "ready", "switching", "failed"]
"""The intent classifier: loading, ready, switching to the other variant, or not loaded."""
SpeechStatus = Literal["waiting", "loading", "ready", "failed", "off"]
"""Whisper: waiting for the classifier and the audio, loading, ready, not loaded, or off (no audio)."""


class StatusBar(Widget):
    """What is loaded and what is still loading; ``spinner`` is the frame of the loading animation."""

    nlu_status: reactive[ModelStatus] = reactive("loading")
    asr_status: reactive[SpeechStatus] = reactive("waiting")
    model_name: reactive[str] = reactive("")
    spinner: reactive[int] = reactive(0)

    def render(self) -> Content:
        return Content.assemble(
            (" ◆ CAR ASSISTANT ", "bold $background on $primary"),
            ("  intents ", MUTED),
            self._nlu(),
            ("   speech ", MUTED),
            self._asr(),
        )

    def _busy(self, text: str) -> Content:
        return Content.styled(f"{SPINNER[self.spinner % len(SPINNER)]} {text}", "$warning")

    def _nlu(self) -> Content:
        match self.nlu_status:
            case "ready":
                return Content.styled(f"✔ {self.model_name}", "bold $success")
            case "switching":
                return self._busy(f"switching to {self.model_name}…")
            case "failed":
                return Content.styled("✘ not loaded", "bold $error")
        return self._busy("loading classifier…")

    def _asr(self) -> Content:
        match self.asr_status:
            case "ready":
                return Content.styled("✔ Whisper", "bold $success")
            case "loading":
                return self._busy("loading Whisper…")
            case "failed":
                return Content.styled("✘ not loaded", "bold $error")
            case "off":
                return Content.styled("off (no audio)", MUTED)
        return Content.styled("waiting", MUTED)


class Notice(Widget):
    """Warning lines under the status bar (no microphone, no model), hidden when there are none."""

    text: reactive[str] = reactive("")

    def render(self) -> Content:
        return Content("\n").join(Content.assemble(("⚠ ", "bold"), line) for line in self.text.splitlines())

    def watch_text(self, text: str) -> None:
        self.display = bool(text)
