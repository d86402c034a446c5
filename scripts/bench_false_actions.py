"""No false actions: silence, cabin noise and talk that is not a command must never move the car.

100 clips through the real hands-free path (``WavFileSource`` with the microphone's Silero VAD
endpointer → ``Assistant.listen``: Whisper tiny.en, the shipped QLoRA classifier, rejection):

* silence (10): 2-6 s of digital zeros, or of a -70 dBFS hiss like a microphone's own floor;
* cabin noise (20): 6 s of the synthesized car noise of ``scripts/speech.py`` at -50, -40, -32 and
  -25 dBFS (speech is rendered at -26 dBFS active level), five seeds each;
* non-command speech (70): forty sentences of chatter, questions and radio-like talk written for this
  benchmark, all forty spoken by the Piper voice en_US-joe-medium (clean), and the first thirty by
  espeak-ng en-us / en-gb in turn, under cabin noise at 12 dB SNR.

The bar: no event is ``done`` (asked or refused only) and the vehicle's state never changes. The car
and the conversation are reset before every clip, so each clip is judged alone. Prints counts per
category and every false action, and writes docs/false_actions.md. About 1 minute. Speech is rendered
deterministically into ``--speech-dir`` (default data/speech; see ``scripts/speech.py``).

The built-in forty have been seen while writing the out-of-scope templates, so they flatter the
model. ``--sentences scripts/data/unseen_talk.txt`` speaks 100 lines that nobody tuned anything on
instead (written by someone who had not seen the intents YAML): 160 clips, docs/false_actions_unseen_talk.md.
``--recordings DIR`` takes real people's recordings instead, each file as it was recorded: with
``../shared/rhino_benchmark/clips``, 200 people ordering coffee ("a large light roast"), which the
car must hear as talk not meant for it.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_false_actions.py [--sentences FILE | --recordings DIR]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from paths import DOCS
from speech import (
    ESPEAK_VOICES,
    PIPER_VOICE,
    Renderer,
    add_speech_options,
    load_average,
    mix_at_snr,
    model_label,
    noise_at,
    renderer_from,
    write_wav,
)

from assistant.audio import WavFileSource, load_wav
from assistant.events import SAMPLE_RATE, Event, Status
from assistant.pipeline import Assistant, AssistantConfig

NOISE_LEVELS_DBFS = (-50.0, -40.0, -32.0, -25.0)
NOISE_SEEDS = 5
SPEECH_NOISE_SNR_DB = 12.0
ESPEAK_SENTENCES = 30
RECORDING_SUFFIXES = (".wav", ".flac")

NON_COMMANDS = [
    # chatter
    "my sister is coming over for dinner on saturday",
    "that restaurant had the best pancakes i've ever eaten",
    "can you believe how expensive gas has gotten",
    "the kids fell asleep in the back seat",
    "i have a meeting at nine thirty tomorrow morning",
    "we should visit grandma next weekend",
    "this song reminds me of our road trip last summer",
    "i really need a vacation",
    "the weather was lovely at the beach yesterday",
    "i can't believe she said that to him at the wedding",
    "the dog needs to go to the vet next week",
    "let me tell you about the funniest thing that happened at work",
    "i'm thinking about painting the kitchen yellow",
    "our neighbors just got a new puppy",
    "remember when we got lost on the way to the lake",
    "the game starts at seven so we have plenty of time",
    # questions to a passenger
    "how long have you been working at the hospital",
    "what did the doctor say about your knee",
    "what are we having for dinner tonight",
    "why is the traffic so slow on a sunday",
    "how many people are coming to the party",
    "what was the name of that little italian place",
    "do you know when the museum closes on fridays",
    "have you finished reading that book yet",
    "did you enjoy the movie last night",
    # radio-like talk
    "and that was the latest from the newsroom, stay tuned for sports after the break",
    "traffic on the interstate is backed up for about three miles near exit twelve",
    "tomorrow expect sunny skies with a high of seventy two degrees",
    "coming up next, an interview with the mayor about the new bridge",
    "the stock market closed higher today, led by technology shares",
    "you're listening to the morning show, the time is eight fifteen",
    "the home team won last night's game in overtime",
    "scattered showers are moving in from the west this afternoon",
    "call now and get fifty percent off your first order",
    "a new study finds that drivers spend forty hours a year stuck in traffic",
    "police are asking drivers to avoid the downtown area this evening",
    "that was a brand new single from the band everyone is talking about",
    "our next caller is on the line from chicago, go ahead",
    "stay with us, more music is coming right after these messages",
    "the festival runs all weekend at the fairgrounds, tickets are still available",
]


@dataclass(frozen=True)
class Clip:
    category: str
    label: str
    audio: np.ndarray


@dataclass(frozen=True)
class Outcome:
    clip: Clip
    events: list[Event]
    state_changed: bool

    @property
    def false_actions(self) -> list[Event]:
        return [e for e in self.events if e.status is Status.DONE]


def silence_clips() -> list[Clip]:
    """Digital silence and a microphone's self-noise, 2-6 s: nothing for the VAD to find."""
    rng = np.random.default_rng(7)
    clips = []
    for seconds in (2, 3, 4, 5, 6):
        n = seconds * SAMPLE_RATE
        clips.append(Clip("silence", f"{seconds} s digital zeros", np.zeros(n, dtype=np.float32)))
        hiss = (rng.standard_normal(n) * 10 ** (-70 / 20)).astype(np.float32)
        clips.append(Clip("silence", f"{seconds} s hiss at -70 dBFS", hiss))
    return clips


def noise_clips() -> list[Clip]:
    return [
        Clip("cabin noise", f"{level:g} dBFS, seed {seed}", noise_at(6.0, level, seed=100 + seed))
        for level in NOISE_LEVELS_DBFS
        for seed in range(NOISE_SEEDS)
    ]


def speech_clips(sentences: list[str], renderer: Renderer) -> list[Clip]:
    """Every sentence by Piper, clean; the first thirty by espeak (voices in turn) under cabin noise."""
    clips = [
        Clip(
            "non-command speech",
            f"{PIPER_VOICE}: {text}",
            mix_at_snr(renderer.audio(text, PIPER_VOICE), None),
        )
        for text in sentences
    ]
    for i, text in enumerate(sentences[:ESPEAK_SENTENCES]):
        voice = ESPEAK_VOICES[i % len(ESPEAK_VOICES)]
        audio = mix_at_snr(renderer.audio(text, voice), SPEECH_NOISE_SNR_DB, seed=200 + i)
        clips.append(Clip("non-command speech", f"{voice} @ {SPEECH_NOISE_SNR_DB:g} dB: {text}", audio))
    return clips


def recorded_clips(folder: Path) -> list[Clip]:
    """Every WAV or FLAC recording in ``folder``, by name, as it was recorded."""
    paths = sorted(path for path in folder.iterdir() if path.suffix.lower() in RECORDING_SUFFIXES)
    return [Clip("recorded talk", path.name, load_wav(path)) for path in paths]


def run_clip(assistant: Assistant, clip: Clip, path: Path) -> Outcome:
    """One clip through the hands-free path, on a fresh car with no question pending: no clip's
    outcome depends on what an earlier one did."""
    assistant.reset()
    before = assistant.vehicle.state
    events = list(assistant.listen(WavFileSource([write_wav(path, clip.audio)])))
    return Outcome(clip, events, assistant.vehicle.state != before)


def run(assistant: Assistant, clips: list[Clip], renderer: Renderer) -> list[Outcome]:
    return [
        run_clip(assistant, clip, renderer.clip_path(f"false-action-{i}.wav")) for i, clip in enumerate(clips)
    ]


def report(outcomes: list[Outcome], model: str, source: str) -> str:
    lines = [
        "# No false actions",
        "",
        f"{len(outcomes)} clips through WavFileSource (VAD) → Whisper → NLU ({model}) → car; load average "
        f"{load_average()}. Non-command speech: {source}. Generated by `scripts/bench_false_actions.py`.",
        "",
        "| category | clips | clips with an utterance | events | done (false actions) | asked | state changes |",
        "|---|---|---|---|---|---|---|",
    ]
    categories = list(dict.fromkeys(o.clip.category for o in outcomes))
    for category in [*categories, "all"]:
        chosen = [o for o in outcomes if category in ("all", o.clip.category)]
        lines.append(
            f"| {category} | {len(chosen)} | {sum(bool(o.events) for o in chosen)} | "
            f"{sum(len(o.events) for o in chosen)} | {sum(len(o.false_actions) for o in chosen)} | "
            f"{sum(e.status is Status.ASKED for o in chosen for e in o.events)} | {sum(o.state_changed for o in chosen)} |"
        )
    failures = [o for o in outcomes if o.false_actions or o.state_changed]
    verdict = "met" if not failures else f"MISSED ({len(failures)} clips)"
    lines += ["", f"Bar: zero done events and zero state changes: {verdict}."]
    if failures:
        lines += ["", "False actions:"]
        for outcome in failures:
            for event in outcome.false_actions:
                lines.append(
                    f"- {outcome.clip.label!r}: heard {event.transcript!r} → {event.intent} {event.slots} "
                    f"({event.confidence:.0%}): {event.outcome}"
                )
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    talk = parser.add_mutually_exclusive_group()
    talk.add_argument(
        "--sentences",
        type=Path,
        help="non-command lines to speak instead of the built-in forty, one per line ('#' comments), "
        "e.g. scripts/data/unseen_talk.txt",
    )
    talk.add_argument(
        "--recordings",
        type=Path,
        help="a folder of real recordings (WAV or FLAC) of talk not meant for the car, instead of "
        "rendered sentences, e.g. ../shared/rhino_benchmark/clips",
    )
    parser.add_argument(
        "--out", type=Path, help="default: docs/false_actions.md, or _<file or folder name>.md"
    )
    parser.add_argument("--limit", type=int, help="only the first N clips of each category (a quick look)")
    add_speech_options(parser)
    return parser.parse_args(argv)


def default_name(given: Path) -> str:
    """'unseen_talk' for a sentences file; 'rhino_benchmark_clips' for a recordings folder."""
    return given.stem if given.is_file() else "_".join(given.resolve().parts[-2:])


def read_sentences(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    given = args.sentences or args.recordings
    source = f"`{given}`" if given else "the forty sentences built into the script"
    out = args.out or DOCS / (f"false_actions_{default_name(given)}.md" if given else "false_actions.md")
    renderer = renderer_from(args)
    limit = args.limit
    if args.recordings:
        talk = recorded_clips(args.recordings)[:limit]
    else:
        sentences = read_sentences(args.sentences) if args.sentences else NON_COMMANDS
        talk = speech_clips(sentences[:limit], renderer)
    clips = silence_clips()[:limit] + noise_clips()[:limit] + talk
    assistant = Assistant.from_config(AssistantConfig())
    outcomes = run(assistant, clips, renderer)
    text = report(outcomes, model_label(assistant), source)
    print(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return 0 if "MISSED" not in text else 1


if __name__ == "__main__":
    sys.exit(main())
