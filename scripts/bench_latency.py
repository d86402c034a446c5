"""Latency from end of speech to the car's state change, through the virtual microphone.

Thirty commands (phrased here, none from the dev set) are spoken by the Piper voice en_US-joe-medium,
played into PulseAudio's ``cabin`` null sink with ``paplay`` one at a time, and captured by
``MicrophoneSource`` while ``Assistant.listen`` runs (Silero VAD endpointing, Whisper tiny.en, the
shipped QLoRA classifier, the simulated car). Each event's ``timings_ms`` gives the stages:
endpoint (silence waited after the last voiced frame), asr (Whisper's time, mostly spent on the
endpointer's draft while it waited out the silence), asr_wait (from the endpointer's decision to the
transcript), nlu, action and total (endpoint + the time from the endpointer's decision to the car's
change). As a check on those self-reported times,
the total is also timed from outside: from when ``paplay`` finished, less the clip's trailing
silence, to the event's arrival. The commands run in an order where each one
changes the car's state; a command that leaves the state unchanged or wrong counts as a miss.

Bar (issue): total p50 ≤ 500 ms and p95 ≤ 1 s on 2 CPU cores. Prints the table and the load average,
and writes docs/latency.md. About 2 minutes.

    HF_HUB_OFFLINE=1 scripts/virtual-mic.sh .venv/bin/python scripts/bench_latency.py [--voice en-us]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from paths import DOCS
from speech import (
    MIC_DEVICE,
    PIPER_VOICE,
    VOICES,
    LiveListener,
    Played,
    Renderer,
    add_speech_options,
    load_average,
    mix_at_snr,
    model_label,
    percentile,
    play_and_collect,
    renderer_from,
    trailing_silence_s,
    write_wav,
)

from assistant.audio import MicrophoneSource
from assistant.events import Event, Status
from assistant.pipeline import Assistant, AssistantConfig
from assistant.vehicle import VehicleState
from training.evaluate import Labelled, command_correct

STAGES = ("endpoint", "asr", "asr_wait", "nlu", "action", "total")
TARGET_P50_MS = 500.0
TARGET_P95_MS = 1000.0


@dataclass(frozen=True)
class LiveCommand:
    """A spoken command, what it should be understood as, and what the car must look like after it."""

    text: str
    intent: str
    slots: dict = field(default_factory=dict)
    check: Callable[[VehicleState], bool] = lambda state: True

    def understood(self, event: Event) -> bool:
        """Done with the expected intent and every expected slot."""
        intent = event.intent if event.status is Status.DONE else "out_of_scope"
        return command_correct(Labelled(self.text, self.intent, self.slots), intent, dict(event.slots))


# In this order, from a new car, every command changes the state (so "no change" means a miss).
COMMANDS = [
    LiveCommand("turn on the high beams", "lights", {"light": "high_beams", "state": "on"},
                lambda s: s.lights.high_beams),
    LiveCommand("switch on the fog lights", "lights", {"light": "fog_lights", "state": "on"},
                lambda s: s.lights.fog_lights),
    LiveCommand("turn the high beams off", "lights", {"light": "high_beams", "state": "off"},
                lambda s: not s.lights.high_beams),
    LiveCommand("put the hazard lights on", "lights", {"light": "hazards", "state": "on"},
                lambda s: s.lights.hazards),
    LiveCommand("turn on the interior light", "lights", {"light": "interior", "state": "on"},
                lambda s: s.lights.interior),
    LiveCommand("set the temperature to 23 degrees", "climate", {"temperature": 23},
                lambda s: s.climate.target_c == 23),
    LiveCommand("make it 19 degrees in here", "climate", {"temperature": 19},
                lambda s: s.climate.target_c == 19),
    LiveCommand("turn on the air conditioning", "climate", {"feature": "ac"}, lambda s: s.climate.ac),
    LiveCommand("switch on the defrost", "climate", {"feature": "defrost"}, lambda s: s.climate.defrost),
    LiveCommand("turn the fan up", "climate", {"feature": "fan", "change": "up"},
                lambda s: s.climate.fan == 3),
    LiveCommand("make it a bit warmer", "climate", {"change": "up"}, lambda s: s.climate.target_c == 20),
    LiveCommand("navigate to the airport", "navigation", {"destination": "airport"},
                lambda s: s.navigation.active and s.navigation.destination == "airport"),
    LiveCommand("take me to the train station", "navigation", {"destination": "train station"},
                lambda s: s.navigation.destination == "train station"),
    LiveCommand("cancel the navigation", "navigation", {"action": "cancel"},
                lambda s: not s.navigation.active),
    LiveCommand("play the radio", "media", {"source": "radio"},
                lambda s: s.media.playing and s.media.source == "radio"),
    LiveCommand("skip to the next track", "media", {"action": "next"}, lambda s: s.media.index == 1),
    LiveCommand("turn the volume up", "media", {"action": "volume_up"}, lambda s: s.media.volume == 50),
    LiveCommand("pause the music", "media", {"action": "pause"}, lambda s: not s.media.playing),
    LiveCommand("call mom", "phone", {"action": "call", "contact": "mom"},
                lambda s: s.phone.status == "in_call" and s.phone.contact == "mom"),
    LiveCommand("hang up the call", "phone", {"action": "hang_up"}, lambda s: s.phone.status == "idle"),
    LiveCommand("open the driver window", "windows", {"window": "driver", "state": "open"},
                lambda s: s.windows.driver == 100),
    LiveCommand("close the driver window", "windows", {"window": "driver", "state": "closed"},
                lambda s: s.windows.driver == 0),
    LiveCommand("open the sunroof", "windows", {"window": "sunroof", "state": "open"},
                lambda s: s.windows.sunroof == 100),
    LiveCommand("open the passenger window halfway", "windows",
                {"window": "passenger", "state": "open", "amount": 50}, lambda s: s.windows.passenger == 50),
    LiveCommand("close all the windows", "windows", {"window": "all", "state": "closed"},
                lambda s: s.windows.sunroof == 0 and s.windows.passenger == 0),
    LiveCommand("turn off the fog lights", "lights", {"light": "fog_lights", "state": "off"},
                lambda s: not s.lights.fog_lights),
    LiveCommand("switch the hazards off", "lights", {"light": "hazards", "state": "off"},
                lambda s: not s.lights.hazards),
    LiveCommand("please call james", "phone", {"action": "call", "contact": "james"},
                lambda s: s.phone.contact == "james"),
    LiveCommand("end the call", "phone", {"action": "hang_up"}, lambda s: s.phone.status == "idle"),
    LiveCommand("drive me to the hospital", "navigation", {"destination": "hospital"},
                lambda s: s.navigation.destination == "hospital"),
]  # fmt: skip


@dataclass(frozen=True)
class Trial:
    command: LiveCommand
    played: Played
    changed: bool
    """The car's state differs from before and passes the command's check."""
    outside_ms: float | None
    """End of speech to the event, timed from outside: see :func:`outside_latency_ms`."""

    @property
    def events(self) -> list[Event]:
        return self.played.events

    @property
    def event(self) -> Event | None:
        return self.events[0] if self.events else None


@dataclass(frozen=True)
class Clip:
    command: LiveCommand
    path: Path
    trailing_s: float
    """Silence after the speech's last active frame, to the end of the file."""


def render_commands(commands: list[LiveCommand], voice: str, renderer: Renderer) -> list[Clip]:
    """Each command as a 16 kHz WAV with a short silence on each side (the sink is silent between)."""
    clips = []
    for i, command in enumerate(commands):
        audio = mix_at_snr(renderer.audio(command.text, voice), None, lead_s=0.2, tail_s=0.3)
        path = write_wav(renderer.clip_path(f"command-{voice}-{i}.wav"), audio)
        clips.append(Clip(command, path, trailing_silence_s(audio)))
    return clips


def outside_latency_ms(clip: Clip, played: Played) -> float | None:
    """From the speech's end (when ``paplay`` returned, less the clip's trailing silence) to the first
    event's arrival: a check on the pipeline's own ``total``, which trusts PortAudio's capture times.
    It includes the listener's queue hop and errs by the sink's drain timing (tens of ms)."""
    if not played.arrivals:
        return None
    return (played.arrivals[0] - (played.ended_at - clip.trailing_s)) * 1000


def start_listening(device: str = MIC_DEVICE) -> tuple[Assistant, LiveListener]:
    """The assistant as shipped, listening on the virtual microphone once it delivers audio."""
    assistant = Assistant.from_config(AssistantConfig())
    return assistant, LiveListener(assistant, MicrophoneSource(device)).start()


def run_trial(assistant: Assistant, listener: LiveListener, clip: Clip) -> Trial:
    before = assistant.vehicle.state
    played = play_and_collect(listener, clip.path)
    after = assistant.vehicle.state
    changed = after != before and clip.command.check(after)
    return Trial(clip.command, played, changed, outside_latency_ms(clip, played))


def stage_table(trials: list[Trial]) -> str:
    """p50, p95, mean and max per stage, over the first event of every trial that had one."""
    columns = {stage: [t.event.timings_ms[stage] for t in trials if t.event] for stage in STAGES}
    columns["total, timed from outside"] = [t.outside_ms for t in trials if t.outside_ms is not None]
    lines = ["| stage | p50 ms | p95 ms | mean ms | max ms |", "|---|---|---|---|---|"]
    for stage, values in columns.items():
        mean = sum(values) / len(values) if values else float("nan")
        lines.append(
            f"| {stage} | {percentile(values, 50):.0f} | {percentile(values, 95):.0f} | {mean:.0f} | "
            f"{max(values, default=float('nan')):.0f} |"
        )
    return "\n".join(lines)


def miss_lines(trials: list[Trial]) -> list[str]:
    lines = []
    for trial in trials:
        if trial.changed and len(trial.events) == 1:
            continue
        heard = "; ".join(f"{e.transcript!r} → {e.intent} {e.slots}" for e in trial.events) or "nothing"
        problem = "state unchanged or wrong" if not trial.changed else "split into several utterances"
        lines.append(f"- {trial.command.text!r}: {problem}; heard {heard}")
    return lines


def report(trials: list[Trial], voice: str, load_before: str, mic: MicrophoneSource, model: str) -> str:
    totals = [t.event.timings_ms["total"] for t in trials if t.event]
    p50, p95 = percentile(totals, 50), percentile(totals, 95)
    misses = miss_lines(trials)
    verdict = "met" if p50 <= TARGET_P50_MS and p95 <= TARGET_P95_MS else "MISSED"
    parts = [
        "# Latency: end of speech to the car's state change",
        "",
        f"{len(trials)} commands spoken by {voice}, played into the virtual microphone (PulseAudio null "
        f"sink `cabin` → `MicrophoneSource('{MIC_DEVICE}')`) while `Assistant.listen` ran ({model}). "
        f"Load average before {load_before}, after {load_average()}. Generated by `scripts/bench_latency.py`.",
        "",
        stage_table(trials),
        "",
        f"Bar: total p50 ≤ {TARGET_P50_MS:.0f} ms and p95 ≤ {TARGET_P95_MS:.0f} ms: "
        f"p50 {p50:.0f} ms, p95 {p95:.0f} ms ({verdict}).",
        "",
        f"State changed as expected: {sum(t.changed for t in trials)}/{len(trials)}; "
        f"no utterance: {sum(not t.events for t in trials)}; "
        f"dropped microphone blocks: {mic.dropped_blocks}.",
    ]
    if misses:
        parts += ["", "Misses:", *misses]
    return "\n".join(parts) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--voice", choices=VOICES, default=PIPER_VOICE)
    parser.add_argument("--limit", type=int, help="only the first N commands (a quick look)")
    parser.add_argument("--out", type=Path, default=DOCS / "latency.md")
    add_speech_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clips = render_commands(COMMANDS[: args.limit], args.voice, renderer_from(args))
    assistant, listener = start_listening()
    load_before = load_average()
    try:
        trials = []
        for clip in clips:
            trials.append(run_trial(assistant, listener, clip))
            print(f"{clip.command.text:40} {_summary(trials[-1])}", file=sys.stderr, flush=True)
    finally:
        listener.close()
    text = report(trials, args.voice, load_before, listener.mic, model_label(assistant))
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


def _summary(trial: Trial) -> str:
    if not trial.event:
        return "no utterance"
    ok = "ok  " if trial.changed else "MISS"
    return f"{ok} {trial.event.timings_ms['total']:5.0f} ms  {trial.event.transcript!r}"


if __name__ == "__main__":
    sys.exit(main())
