"""Does the runtime's vocabulary prompt help Whisper on car commands? Word error rate with and without it.

Each in-scope line of the dev set (``--dev``; ``--limit N`` takes the first N) is spoken by every voice
of ``scripts/speech.py`` (rendered deterministically into ``--speech-dir``) and transcribed by the
runtime's own Transcriber, built by ``assistant.pipeline.load_transcriber`` as the car builds it (the
20 s encoder window), in three set-ups:

* no prompt, no grammar (``--no-bias-asr --no-grammar``);
* the runtime's prompt, ``vocabulary_prompt(library)`` (``--no-grammar``);
* the runtime's prompt and grammar rescoring: what the car runs.

Prints word error rate and median ASR time per voice and set-up. The dev set was looked at during
development: these are not held-out figures.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_asr_bias.py [--limit 12] [--voices en-us]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from statistics import median

from paths import DEV_NOT_HELD_OUT, DEV_SET
from speech import VOICES, add_speech_options, edit_distance, renderer_from, words

from assistant.intents import OUT_OF_SCOPE, load_intents
from assistant.pipeline import AssistantConfig, load_transcriber
from training.evaluate import read_jsonl

SETUPS = {
    "no prompt": AssistantConfig(bias_asr=False, grammar=False),
    "runtime prompt": AssistantConfig(grammar=False),
    "runtime prompt + grammar (the car)": AssistantConfig(),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dev", type=Path, default=DEV_SET)
    parser.add_argument("--limit", type=int, help="only the first N in-scope lines")
    parser.add_argument("--voices", nargs="+", choices=VOICES, default=list(VOICES))
    add_speech_options(parser)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    texts = [row.text for row in read_jsonl(args.dev, need_labels=True) if row.intent != OUT_OF_SCOPE]
    texts = texts[: args.limit]
    renderer = renderer_from(args)
    library = load_intents(AssistantConfig().intents)
    transcribers = {name: load_transcriber(config, library) for name, config in SETUPS.items()}
    print(f"{len(texts)} in-scope lines of {args.dev.name}. {DEV_NOT_HELD_OUT}\n")
    print(f"{'voice':18} {'setup':36} {'WER':>6} {'ASR ms (median)':>16}")
    for voice in args.voices:
        clips = [(text, renderer.audio(text, voice)) for text in texts]
        for name, transcriber in transcribers.items():
            errors = total = 0
            times = []
            for text, audio in clips:
                transcript = transcriber.transcribe(audio)
                errors += edit_distance(words(text), words(transcript.text))
                total += len(words(text))
                times.append(transcript.asr_ms)
            print(f"{voice:18} {name:36} {errors / total:6.1%} {median(times):16.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
