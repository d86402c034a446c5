"""Does the car take its own voice for a command? Replies spoken into the virtual microphone, counted.

The assistant listens hands-free on the ``pulse`` microphone (Silero VAD, Whisper tiny.en, the shipped
classifier, the simulated car), with its voice on the default output: under ``scripts/virtual-mic.sh``
that is the ``cabin`` sink whose monitor *is* the microphone, so every reply feeds straight back in,
louder and cleaner than a car's cabin would. The replies are the car's own (bench_voice's run of
commands, worded by the intents YAML) and, worst of all, its questions, which say a command word for
word ("Turn on high beams?"). Each reply is spoken, then the assistant has the reply's tail and one
more second to make an event of it; every event is a command triggered by the car's own voice.

Bar (issue 9): 0 over 200 replies. ``--no-mute`` speaks the same replies with the microphone left
open (the voice not given to the assistant), to show what the gate prevents. About 4 s a reply.

    PULSE_RUNTIME_PATH=/tmp/own-pulse HF_HUB_OFFLINE=1 scripts/virtual-mic.sh \\
        .venv/bin/python scripts/bench_self_trigger.py [--replies 200] [--no-mute]

(A PulseAudio server of one's own keeps other programs' sounds out of the cabin, and these out of theirs.)
"""

from __future__ import annotations

import argparse
import itertools
import time

from bench_voice import COMMANDS, replies
from speech import MIC_DEVICE, LiveListener, load_average

from assistant.audio import MicrophoneSource
from assistant.events import Command
from assistant.intents import load_intents
from assistant.pipeline import Assistant, AssistantConfig, load_voice
from assistant.policy import question_for

LISTEN_AFTER_S = 1.0
"""How long after a reply's tail an event still counts as triggered by it."""


def questions() -> list[str]:
    """The car's questions about the benchmark's commands: each one says a command aloud."""
    library = load_intents()
    intent_of = {intent.action: name for name, intent in library.intents.items()}
    return [question_for(Command(intent_of[action], slots, action), library) for action, slots in COMMANDS]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--replies", type=int, default=200, help="how many replies to speak (default: 200)")
    parser.add_argument(
        "--no-mute", action="store_true", help="leave the microphone open while the car speaks"
    )
    args = parser.parse_args()

    assistant = Assistant.from_config(AssistantConfig())
    voice = load_voice()
    if not args.no_mute:
        assistant.voice = voice  # the assistant speaks through it, and its microphone is deaf to it
    listener = LiveListener(assistant, MicrophoneSource(MIC_DEVICE)).start()
    said = [text for pair in zip(replies(), questions(), strict=False) for text in pair]
    triggered: list[tuple[str, str, str]] = []
    started = time.monotonic()
    try:
        for count, text in enumerate(itertools.islice(itertools.cycle(said), args.replies), 1):
            voice.say(text).result(timeout=60)
            for event, _ in listener.collect(wait_s=voice.tail_s + LISTEN_AFTER_S, quiet_s=0.5):
                triggered.append((text, event.transcript, event.status))
                print(f"  triggered by {text!r}: heard {event.transcript!r} → {event.status}", flush=True)
            if count % 25 == 0:
                print(
                    f"{count} replies, {len(triggered)} triggered, {time.monotonic() - started:.0f} s",
                    flush=True,
                )
        for event, _ in listener.collect(wait_s=3.0, quiet_s=1.0):  # what Whisper was still working on
            triggered.append(("(the last replies)", event.transcript, event.status))
    finally:
        listener.close()
        voice.close()

    acted = sum(status == "done" for _, _, status in triggered)
    mode = "microphone open (--no-mute)" if args.no_mute else "microphone deaf while the car speaks"
    print(f"\n{args.replies} replies spoken into the virtual microphone, {mode}:")
    print(f"  {len(triggered)} events triggered by the car's own voice, {acted} of them carried out")
    print(f"  {time.monotonic() - started:.0f} s; load average {load_average()}")
    print(f"  {'PASS' if not triggered else 'FAIL'} (bar: 0)")


if __name__ == "__main__":
    main()
