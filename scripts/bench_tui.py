"""How fast the dashboard is usable, and whether it keeps rendering while Whisper works.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_tui.py [--runs 3] [--utterances 3]

(a) Start-up: the real ``car-assistant`` in a 120×40 tmux terminal, timed from the moment the process
    is spawned to the first screen with the dashboard and its text box (typing works from then on:
    commands typed early are queued), then to the classifier and to Whisper being ready.
(b) Stalls: the app runs headless with a 20 ms timer recording its ticks, while push-to-talk plays
    espeak-ng WAV files through Whisper; the largest gap between ticks is the longest the UI froze.
    The same is measured while the models load, for reference (no target there).

Prints a table; writes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

STARTUP_TARGET_S = 3.0
STALL_TARGET_MS = 100.0
TICK_S = 0.02
COMMANDS = ("turn on the high beams", "open the sunroof halfway", "set the temperature to 22 degrees")


# -- (a) start-up in a real terminal --------------------------------------------------------------


def _screen(session: str) -> str:
    result = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True)
    return result.stdout


def _time_until(session: str, started: float, condition: Callable[[str], bool], timeout: float) -> float:
    while time.monotonic() - started < timeout:
        if condition(_screen(session)):
            return time.monotonic() - started
        time.sleep(0.02)
    raise SystemExit(f"bench: timed out; the screen was:\n{_screen(session)}")


def startup_once() -> tuple[float, float, float]:
    """Seconds from spawn to: the dashboard with its text box, the classifier ready, Whisper ready."""
    session = f"bench-tui-{os.getpid()}"
    script = Path(sys.executable).parent / "car-assistant"
    command = f"cd {REPO} && HF_HUB_OFFLINE=1 exec {script if script.exists() else 'python -m assistant.cli'}"
    started = time.monotonic()
    subprocess.run(["tmux", "new-session", "-d", "-x", "120", "-y", "40", "-s", session, command], check=True)
    try:
        usable = _time_until(session, started, lambda s: "CAR ASSISTANT" in s and "type a command" in s, 30)
        classifier = _time_until(session, started, lambda s: "intents ✔" in s, 120)
        speech = _time_until(session, started, lambda s: "speech ✔" in s or "off (no audio)" in s, 120)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    return usable, classifier, speech


def cli_import_s() -> float:
    """Seconds to import ``assistant.cli`` in a fresh interpreter: spent before the dashboard's code runs."""
    code = "import time; t = time.perf_counter(); import assistant.cli; print(time.perf_counter() - t)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return float(result.stdout)


# -- (b) stalls while Whisper transcribes --------------------------------------------------------


class TickRecorder:
    def __init__(self) -> None:
        self.ticks: list[float] = []

    def __call__(self) -> None:
        self.ticks.append(time.monotonic())

    def max_gap_ms(self, start: float, end: float) -> float:
        window = [tick for tick in self.ticks if start <= tick <= end]
        return max((b - a for a, b in zip(window, window[1:], strict=False)), default=0.0) * 1000


async def stalls(wavs: list[Path]) -> tuple[float, list[tuple[float, float]]]:
    """Max tick gap while the models load, and (max gap, ASR ms) for each push-to-talk utterance."""
    from assistant.pipeline import AssistantConfig
    from assistant.tui.app import CarDashboard

    app = CarDashboard(AssistantConfig(), wav=wavs)
    recorder = TickRecorder()
    results = []
    async with app.run_test(size=(120, 40)) as pilot:
        app.set_interval(TICK_S, recorder)
        loading_started = time.monotonic()
        while not app.listening:
            await pilot.pause(0.05)
        loading = recorder.max_gap_ms(loading_started, time.monotonic())
        history = app.query_one("#history")
        for count in range(1, len(wavs) + 1):
            await pilot.pause(0.3)
            started = time.monotonic()
            await pilot.press("space", "space")
            while history.count < count:
                await pilot.pause(0.01)
            event = app.query_one("#exchange").event
            results.append((recorder.max_gap_ms(started, time.monotonic()), event.timings_ms["asr"]))
    return loading, results


def speak(texts: tuple[str, ...], folder: Path) -> list[Path]:
    paths = []
    for number, text in enumerate(texts):
        path = folder / f"{number}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
        paths.append(path)
    return paths


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="start-ups to time (default: %(default)s)")
    parser.add_argument("--utterances", type=int, default=len(COMMANDS), choices=range(1, len(COMMANDS) + 1))
    args = parser.parse_args()

    runs = [startup_once() for _ in range(args.runs)]
    usable, classifier, speech = (sorted(column) for column in zip(*runs, strict=True))
    imports = sorted(cli_import_s() for _ in range(args.runs))
    with tempfile.TemporaryDirectory() as folder:
        loading, utterances = asyncio.run(stalls(speak(COMMANDS[: args.utterances], Path(folder))))
    worst = max(gap for gap, _ in utterances)

    print(f"\n{'measure':<44}{'median':>10}{'worst':>10}{'target':>10}  result")
    rows = [
        ("start-up to a usable dashboard (s)", statistics.median(usable), usable[-1], STARTUP_TARGET_S),
        ("  of which importing assistant.cli (s)", statistics.median(imports), imports[-1], None),
        ("start-up to the classifier ready (s)", statistics.median(classifier), classifier[-1], None),
        ("start-up to Whisper ready (s)", statistics.median(speech), speech[-1], None),
        (
            "UI stall while transcribing (ms)",
            statistics.median(g for g, _ in utterances),
            worst,
            STALL_TARGET_MS,
        ),
        (
            "Whisper time per utterance (ms)",
            statistics.median(a for _, a in utterances),
            max(a for _, a in utterances),
            None,
        ),
        ("UI stall while the models load (ms)", loading, loading, None),
    ]
    for name, median, worst_value, target in rows:
        result = verdict(worst_value <= target) if target else ""
        print(f"{name:<44}{median:>10.2f}{worst_value:>10.2f}{target or '':>10}  {result}")
    print(f"\n{args.runs} start-ups, {len(utterances)} push-to-talk utterances; {os.cpu_count()} CPU cores")


if __name__ == "__main__":
    main()
