"""How soon the car starts answering aloud: from the outcome to its reply's first samples handed to the output.

Replies are what the car says after a run of commands on the simulated car (worded by the intents
YAML's ``responses:``), plus a question and a refusal of the conversation. Each is given to
:meth:`Voice.say` the moment it exists (the outcome), and the voice reports when it handed the first
samples to the default output (a running sounddevice stream: under ``scripts/virtual-mic.sh``, the
``cabin`` sink). The next reply waits until the previous one has been played. The device's own
output latency (printed) comes on top, the same for every reply.

Bar (issue 9): the spoken reply starts ≤ 300 ms after the outcome on 2 CPU cores. Prints p50, p95
and max, the slowest replies, and the load average. About 2 minutes for 30 replies.

    scripts/virtual-mic.sh .venv/bin/python scripts/bench_voice.py [--replies 30]
"""

from __future__ import annotations

import argparse
import itertools
import time

from speech import load_average, percentile

from assistant.audio import AudioError
from assistant.intents import load_intents, respond
from assistant.pipeline import load_voice
from assistant.vehicle import Vehicle

TARGET_MS = 300.0
COMMANDS: list[tuple[str, dict[str, str | int | float]]] = [
    ("set_light", {"light": "high_beams", "state": "on"}),
    ("adjust_climate", {"temperature": 22}),
    ("navigate", {"destination": "the airport"}),
    ("control_media", {"action": "play", "source": "radio"}),
    ("control_phone", {"contact": "mom"}),
    ("move_window", {"window": "rear_left", "amount": 30}),
    ("set_light", {"light": "headlights", "state": "off"}),
    ("adjust_climate", {"feature": "fan", "change": "up"}),
    ("control_media", {"action": "next"}),
    ("control_phone", {"action": "hang_up"}),
    ("move_window", {"window": "sunroof", "state": "open"}),
    ("adjust_climate", {"temperature": 75}),
    ("control_media", {"action": "volume_up"}),
    ("navigate", {"action": "cancel"}),
    ("set_light", {"light": "hazards", "state": "on"}),
    ("adjust_climate", {"feature": "ac", "state": "on"}),
    ("control_media", {"action": "mute"}),
    ("move_window", {"window": "all", "state": "closed"}),
    ("control_phone", {"contact": "the dentist"}),
    ("adjust_climate", {"change": "down"}),
    ("control_media", {"query": "jazz"}),
    ("set_light", {"light": "fog_lights", "state": "on"}),
    ("navigate", {"destination": "the nearest gas station"}),
    ("control_phone", {"action": "answer"}),
    ("move_window", {"window": "passenger", "state": "open", "amount": 50}),
    ("adjust_climate", {"temperature": -5}),
    ("control_media", {"action": "pause"}),
    ("set_light", {"light": "interior", "state": "on"}),
]
CONVERSATION = [
    ("asked", {"question": "Navigate to phoenix?"}),
    ("refused", {"reason": "not sure enough (41% < 60%)"}),
    ("cancelled", {}),
]


def replies() -> list[str]:
    """What the car says after each command (the car changes as it goes), then the conversation's replies."""
    library = load_intents()
    car = Vehicle()
    said = []
    for action, slots in COMMANDS:
        outcome = car.execute(action, "bench", slots)
        said.append(respond(library, outcome.key, {**slots, **outcome.values}))
    said += [respond(library, key, values) for key, values in CONVERSATION]
    return said


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replies", type=int, default=30, help="how many replies to time (default: 30)")
    args = parser.parse_args()

    started = time.monotonic()
    voice = load_voice()
    print(
        f"voice loaded and warmed up in {time.monotonic() - started:.1f} s; sample rate {voice.sample_rate} Hz"
    )
    texts = list(itertools.islice(itertools.cycle(replies()), args.replies))
    delays: list[tuple[float, str]] = []
    lost: list[str] = []
    for text in texts:
        try:
            spoken = voice.say(text).result(timeout=60)
        except AudioError as error:  # the audio server fell too far behind: said, and counted
            print(f"  not played: {text!r} ({error})")
            lost.append(text)
            continue
        if spoken.first_audio_at is None:
            raise SystemExit(f"nothing was played for {text!r}")
        delays.append(((spoken.first_audio_at - spoken.asked_at) * 1000, text))
        time.sleep(0.2)
    voice.close()

    ms = [delay for delay, _ in delays]
    p50, p95 = percentile(ms, 50), percentile(ms, 95)
    print(f"\noutcome → first audio handed to the output, {len(ms)} replies (bar: ≤ {TARGET_MS:.0f} ms)")
    print(
        f"  p50 {p50:.0f} ms   p95 {p95:.0f} ms   max {max(ms):.0f} ms   output latency {voice.output_latency_s * 1000:.0f} ms"
    )
    print("  slowest:")
    for delay, text in sorted(delays, reverse=True)[:5]:
        print(f"    {delay:4.0f} ms  {text}")
    print(f"  {len(lost)} replies not played; load average {load_average()}")
    print(f"  {'PASS' if p95 <= TARGET_MS and not lost else 'FAIL'} on p95")


if __name__ == "__main__":
    main()
