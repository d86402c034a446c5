"""Write docs/dashboard.svg: the dashboard at 120×40 after typed commands, a spoken one and a call.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/screenshot.py [--out docs/dashboard.svg]

Runs the real app headless with the trained model and Whisper; the spoken command is rendered by
espeak-ng and played through push-to-talk, as ``car-assistant --wav FILE`` would.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from textual.pilot import Pilot  # noqa: E402

from assistant.pipeline import AssistantConfig  # noqa: E402
from assistant.tui.app import CarDashboard  # noqa: E402
from assistant.tui.conversation import Exchange  # noqa: E402

TYPED = ("turn on the high beams", "set the temperature to 22 degrees", "play some music")
SPOKEN = "open the sunroof halfway"
SPEED_STEPS = 5
SIZE = (120, 40)


def speak(text: str, folder: Path) -> Path:
    path = folder / "command.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
    return path


async def until(pilot: Pilot, condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("screenshot: the dashboard did not get there in time")
        await pilot.pause(0.1)


async def command_done(pilot: Pilot, count: int) -> None:
    """Wait until ``count`` commands are in the history."""
    await until(pilot, lambda: pilot.app.query_one("#history").count >= count)


async def take(out: Path, wav: Path) -> None:
    app = CarDashboard(AssistantConfig(), wav=[wav])
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await until(pilot, lambda: app.listening)
        for number, text in enumerate(TYPED, 1):
            await pilot.press(*["space" if char == " " else char for char in text], "enter")
            await command_done(pilot, number)
        await pilot.press(*["plus"] * SPEED_STEPS)
        await pilot.press("space", "space")
        await command_done(pilot, len(TYPED) + 1)
        await until(pilot, lambda: app.query_one(Exchange).pending is None)
        await pilot.press("f4")  # an incoming call: the phone panel rings and a notification shows
        app.query_one("#command").cursor_blink = False
        await pilot.pause(0.3)
        app.save_screenshot(filename=out.name, path=str(out.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "dashboard.svg")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(take(args.out, speak(SPOKEN, Path(folder))))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
