"""End to end: the real ``car-assistant`` in a tmux terminal, driven as a driver would: a typed command,
then a spoken one through push-to-talk (a WAV file, so the shared virtual microphone cannot interfere)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def car_assistant() -> str:
    """The console script next to this interpreter, else the module (same code, same start-up)."""
    script = Path(sys.executable).parent / "car-assistant"
    return str(script) if script.exists() else f"{sys.executable} -m assistant.cli"


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=True).stdout


def wait_for_screen(session: str, condition: Callable[[str], bool], timeout: float) -> str:
    """Poll the pane until ``condition(screen)``; the last screen goes into the failure message."""
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if condition(screen):
            return screen
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s; the screen was:\n{screen}")


def wait_for_exit(session: str, timeout: float) -> None:
    """The app quits, and with it the session (its only pane ran the app)."""
    deadline = time.monotonic() + timeout
    while subprocess.run(["tmux", "has-session", "-t", session], capture_output=True).returncode == 0:
        if time.monotonic() > deadline:
            raise AssertionError(f"the app did not quit within {timeout:.0f} s")
        time.sleep(0.2)


def test_typed_and_spoken_commands_in_a_real_terminal(spoken_wav: Callable[[str], Path]) -> None:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed (apt install tmux): the end-to-end test drives the app with it.")
    session = f"car-assistant-e2e-{os.getpid()}"
    wav = spoken_wav("open the sunroof halfway")
    command = f"cd {REPO} && HF_HUB_OFFLINE=1 exec {car_assistant()} tui --wav {wav}"
    tmux("new-session", "-d", "-x", "120", "-y", "40", "-s", session, command)
    try:
        wait_for_screen(session, lambda screen: "CAR ASSISTANT" in screen, timeout=20)
        wait_for_screen(session, lambda screen: "Type a command and press Enter" in screen, timeout=60)
        tmux("send-keys", "-t", session, "turn on the high beams", "Enter")
        screen = wait_for_screen(session, lambda screen: "High beams on" in screen, timeout=60)
        assert "“turn on the high beams”" in screen
        assert "lights" in screen
        wait_for_screen(session, lambda screen: "speech ✔ Whisper" in screen, timeout=60)
        tmux("send-keys", "-t", session, "Space")
        wait_for_screen(session, lambda screen: "TALKING" in screen, timeout=10)
        tmux("send-keys", "-t", session, "Space")
        screen = wait_for_screen(session, lambda screen: "Sunroof open to 50%" in screen, timeout=60)
        assert "Heard" in screen
        tmux("send-keys", "-t", session, "C-q")
        wait_for_exit(session, timeout=20)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
