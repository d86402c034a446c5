"""How long the microphone takes to come back after its audio server restarts (the bar: 3 s).

    python scripts/bench_mic_reconnect.py [--rounds 5] [--down-s 1.0]

Starts a PulseAudio server of its own (``scripts/virtual-mic.sh`` with ``PULSE_RUNTIME_PATH`` set to a
temporary folder: the "cabin" null sink, nobody else's server touched), records its ALSA ``pulse``
device with :class:`MicrophoneSource` as the dashboard does, and in each round stops the server
(``pulseaudio --kill``), leaves it down for ``--down-s``, starts it again, and times from the moment
the restarted server answers with its sink loaded to

* **reopened**: the source has a running stream again (``reconnecting`` turns false);
* **audio**: the first block of audio arrives from it.

About 2 s pass between the two in every round here, as often between opening and the first block of a
first stream on the null sink: the likely cause is the null sink rendering in blocks of up to 2 s
until a client asks for less (not something this program can change).
Exits 1 if any round's audio came back later than the bar.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VIRTUAL_MIC_SH = REPO / "scripts" / "virtual-mic.sh"
BAR_S = 3.0


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"bench_mic_reconnect: {what} did not happen within {timeout} s")
        time.sleep(0.005)
    return time.monotonic()


def server_answers() -> bool:
    return subprocess.run(["pactl", "info"], capture_output=True).returncode == 0


def start_server() -> None:
    subprocess.run([str(VIRTUAL_MIC_SH), "true"], check=True, capture_output=True)
    if not server_answers():
        raise SystemExit("bench_mic_reconnect: PulseAudio did not start (see scripts/virtual-mic.sh)")


def stop_server() -> None:
    subprocess.run(["pulseaudio", "--kill"], capture_output=True)
    wait_until(lambda: not server_answers(), 5, "stopping PulseAudio")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--down-s", type=float, default=1.0, help="how long the server stays down")
    args = parser.parse_args()

    runtime = Path(tempfile.mkdtemp(prefix="bench-pulse-"))
    os.environ.update(  # before PortAudio starts: its "pulse" device connects to this server
        PULSE_RUNTIME_PATH=str(runtime),
        PULSE_SERVER=f"unix:{runtime}/native",
        PULSE_SINK="cabin",
        PULSE_SOURCE="cabin.monitor",
    )
    sys.path.insert(0, str(REPO))
    from assistant.audio import RECONNECT_EVERY_S, MicrophoneSource

    start_server()
    rows: list[tuple[float, float]] = []
    try:
        with MicrophoneSource("pulse") as mic:
            threading.Thread(target=lambda: list(mic.utterances()), daemon=True).start()
            wait_until(lambda: mic.blocks_received > 0, 10, "the first block")
            for round_ in range(1, args.rounds + 1):
                stop_server()
                wait_until(lambda: mic.reconnecting, 10, "noticing the server went away")
                time.sleep(args.down_s)
                before = mic.blocks_received
                start_server()
                back = time.monotonic()
                reopened = wait_until(lambda: not mic.reconnecting, 10, "reopening")
                audio = wait_until(lambda n=before: mic.blocks_received > n, 10, "audio after the restart")
                rows.append((reopened - back, audio - back))
                print(
                    f"round {round_}: reopened after {reopened - back:.2f} s, audio after {audio - back:.2f} s"
                )
                time.sleep(1.0)
    finally:
        subprocess.run(["pulseaudio", "--kill"], capture_output=True)

    reopen, audio = zip(*rows, strict=True)
    print(
        f"\n{len(rows)} restarts (server down {args.down_s:g} s, retry every {RECONNECT_EVERY_S:g} s): "
        f"reopened after median {statistics.median(reopen):.2f} s, max {max(reopen):.2f} s; "
        f"audio after median {statistics.median(audio):.2f} s, max {max(audio):.2f} s (bar {BAR_S:g} s)"
    )
    return 0 if max(audio) <= BAR_S else 1


if __name__ == "__main__":
    sys.exit(main())
