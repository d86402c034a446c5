"""The ``car-assistant`` command: the dashboard by default, and headless subcommands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

# Whisper (CTranslate2) and torch each keep an OpenMP pool; spinning pools on 2 cores starve each other.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from assistant.intents import DEFAULT_INTENTS, IntentsError, load_intents
from assistant.nlu import DEFAULT_MODEL_DIR, NluError, NluOptions

REPO = Path(__file__).resolve().parent.parent


def _error_types() -> tuple[type[BaseException], ...]:
    """Errors whose message is the whole story: printed as one line, no traceback."""
    from assistant.asr import AsrError
    from assistant.audio import AudioError
    from training.chatter import ChatterError
    from training.evaluate import JsonlError

    return (
        IntentsError,
        NluError,
        JsonlError,
        ChatterError,
        AudioError,
        AsrError,
        FileNotFoundError,
        PermissionError,
    )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--intents", type=Path, default=DEFAULT_INTENTS, help="intents YAML (default: %(default)s)"
    )
    parser.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL_DIR, help="trained model folder (default: %(default)s)"
    )
    parser.add_argument(
        "--threshold", type=float, default=NluOptions.threshold, help="reject below this confidence"
    )
    parser.add_argument(
        "--margin", type=float, default=NluOptions.margin, help="reject below this top-two gap"
    )


def load_understander(args: argparse.Namespace):
    from assistant.nlu import IntentClassifier, Understander

    library = load_intents(args.intents)
    classifier = IntentClassifier(args.model, library)
    return Understander(classifier, library, NluOptions(args.threshold, args.margin))


def cmd_train(args: argparse.Namespace) -> int:
    from training.run import VARIANTS, train_variants

    variants = list(VARIANTS) if args.variant == "all" else [args.variant]
    overrides = {
        key: value
        for key, value in {
            "base_model": args.base_model,
            "learning_rate": args.learning_rate,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lora_r": args.lora_r,
            "lora_alpha": args.lora_alpha,
            "lora_dropout": args.lora_dropout,
            "lora_target_modules": args.lora_target_modules,
        }.items()
        if value is not None
    }
    train_variants(
        args.intents,
        variants,
        args.out,
        args.data,
        per_intent=args.per_intent,
        seed=args.seed,
        chatter=args.chatter,
        **overrides,
    )
    return 0


def cmd_classify(args: argparse.Namespace) -> int:
    from training.evaluate import read_jsonl

    texts = list(args.text) + ([row.text for row in read_jsonl(args.jsonl)] if args.jsonl else [])
    if not texts:
        raise SystemExit("car-assistant classify: give TEXT arguments or --jsonl FILE")
    understander = load_understander(args)
    for understood in understander.understand_many(texts):
        record = {
            "text": understood.prediction.text,
            "intent": understood.intent,
            "confidence": round(understood.prediction.confidence, 4),
            "slots": understood.command.slots,
        }
        print(json.dumps(record, ensure_ascii=False))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import read_jsonl, score

    examples = read_jsonl(args.jsonl, need_labels=True)
    understood = load_understander(args).understand_many([e.text for e in examples])
    result = score(examples, [u.intent for u in understood], [u.command.slots for u in understood])
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for miss in result["misses"]:
        print(
            f"  miss: {miss['text']!r}: expected {miss['expected']} {miss['expected_slots']}, "
            f"got {miss['got']} {miss['got_slots']}"
        )
    counts = result["counts"]
    print(f"intent accuracy (in scope):   {_percent(result['intent_accuracy'])}  of {counts['in_scope']}")
    print(f"out-of-scope rejection:       {_percent(result['oos_rejection'])}  of {counts['out_of_scope']}")
    print(f"slot exact-match (given):     {_percent(result['slot_exact_match'])}  of {counts['with_slots']}")
    return 0


def _add_runtime_options(parser: argparse.ArgumentParser) -> None:
    _add_model_options(parser)
    parser.add_argument("--whisper", help="faster-whisper model folder or name (default: bundled tiny.en)")
    parser.add_argument(
        "--no-asr-bias", action="store_true", help="don't prompt Whisper with the car's vocabulary"
    )
    parser.add_argument(
        "--no-grammar", action="store_true", help="keep Whisper's own text: no correction towards the intents"
    )


def _assistant_config(args: argparse.Namespace):
    from assistant.pipeline import AssistantConfig

    return AssistantConfig(
        intents=args.intents,
        model=args.model,
        whisper=getattr(args, "whisper", None),
        nlu=NluOptions(args.threshold, args.margin),
        bias_asr=not getattr(args, "no_asr_bias", False),
        grammar=not getattr(args, "no_grammar", False),
    )


def _print_event(event) -> None:
    print(json.dumps(event.to_json(), ensure_ascii=False), flush=True)


def cmd_say(args: argparse.Namespace) -> int:
    from assistant.pipeline import Assistant

    assistant = Assistant.from_config(_assistant_config(args), with_speech=False)
    for text in args.text:
        _print_event(assistant.handle_text(text))
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    from assistant.audio import WavFileSource
    from assistant.pipeline import Assistant

    sources = [WavFileSource([path], mode="push_to_talk") for path in args.wav]  # each file read up front
    assistant = Assistant.from_config(_assistant_config(args))
    for source in sources:
        for event in assistant.listen(source):
            _print_event(event)
    return 0


def cmd_listen(args: argparse.Namespace) -> int:
    from assistant.audio import AudioError, EndpointerOptions, MicrophoneSource, WavFileSource, resolve_device
    from assistant.pipeline import Assistant

    if not args.wav:
        resolve_device(args.device)  # no microphone: say so before spending seconds loading models
    options = EndpointerOptions(silence_ms=args.silence_ms)
    source = (
        WavFileSource(args.wav, options, realtime=True)
        if args.wav
        else MicrophoneSource(args.device, options)
    )
    assistant = Assistant.from_config(_assistant_config(args))
    if isinstance(source, MicrophoneSource):
        source.start()
        print(f"listening on {source.name} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    try:
        for event in assistant.listen(source):
            _print_event(event)
    except AudioError as error:
        print(f"car-assistant: {error}", file=sys.stderr)
        return 1
    finally:
        source.close()
        if isinstance(source, MicrophoneSource):
            print(source.report(), file=sys.stderr)
    return 0


def cmd_devices(args: argparse.Namespace) -> int:
    from assistant.audio import list_devices

    devices = list_devices()
    for device in devices:
        print(f"{device.index:3d}  {device.name}  ({device.channels} ch, {device.default_samplerate:.0f} Hz)")
    if not devices:
        print(
            "car-assistant: no audio input devices found (is PulseAudio or a sound card there?)",
            file=sys.stderr,
        )
    return 0 if devices else 1


def cmd_tui(args: argparse.Namespace) -> int:
    from assistant.tui.app import run_dashboard

    return run_dashboard(_assistant_config(args), device=args.device, wav=args.wav)


def _percent(value: float | None) -> str:
    return "  n/a " if value is None else f"{value:6.1%}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="car-assistant", description=__doc__)
    commands = parser.add_subparsers(dest="command")

    train = commands.add_parser(
        "train", help="build the dataset from the YAML and fine-tune bert and/or qlora"
    )
    train.add_argument("--variant", choices=["bert", "qlora", "all"], default="all")
    train.add_argument("--intents", type=Path, default=DEFAULT_INTENTS)
    train.add_argument(
        "--out", type=Path, default=REPO / "models", help="models folder (default: %(default)s)"
    )
    train.add_argument(
        "--data", type=Path, default=REPO / "data" / "dataset", help="where the dataset is written"
    )
    train.add_argument(
        "--per-intent", type=int, default=200, help="sentences per intent (default: %(default)s)"
    )
    train.add_argument("--seed", type=int, default=13)
    train.add_argument(
        "--chatter",
        type=int,
        default=400,
        help="lines of everyday English (chatterbot-corpus) added as out-of-scope (default: %(default)s)",
    )
    train.add_argument("--base-model", help="local HF folder or hub id (default: bundled all-MiniLM-L6-v2)")
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--epochs", type=float)
    train.add_argument("--batch-size", type=int)
    train.add_argument("--lora-r", type=int)
    train.add_argument("--lora-alpha", type=int)
    train.add_argument("--lora-dropout", type=float)
    train.add_argument("--lora-target-modules", nargs="+")
    train.set_defaults(handler=cmd_train)

    classify = commands.add_parser("classify", help="print intent, confidence and slots for text")
    classify.add_argument("text", nargs="*")
    classify.add_argument("--jsonl", type=Path, help='read lines with a "text" field')
    _add_model_options(classify)
    classify.set_defaults(handler=cmd_classify)

    evaluate = commands.add_parser("evaluate", help="score a labelled JSONL file (text, intent, slots)")
    evaluate.add_argument("jsonl", type=Path)
    evaluate.add_argument("--json", action="store_true", help="print the full result as JSON")
    _add_model_options(evaluate)
    evaluate.set_defaults(handler=cmd_evaluate)

    say = commands.add_parser("say", help="act on typed text, skipping audio; one JSON event per text")
    say.add_argument("text", nargs="+")
    _add_model_options(say)
    say.set_defaults(handler=cmd_say)

    transcribe = commands.add_parser("transcribe", help="one JSON event per WAV file (batch evaluation)")
    transcribe.add_argument("wav", nargs="+", type=Path)
    _add_runtime_options(transcribe)
    transcribe.set_defaults(handler=cmd_transcribe)

    listen = commands.add_parser("listen", help="hands-free loop: one JSON event per utterance")
    source = listen.add_mutually_exclusive_group()
    source.add_argument("--device", help="input device index or name (see `car-assistant devices`)")
    source.add_argument("--wav", nargs="+", type=Path, help="replay WAV files instead of the microphone")
    listen.add_argument("--silence-ms", type=int, default=300, help="silence that ends an utterance")
    _add_runtime_options(listen)
    listen.set_defaults(handler=cmd_listen)

    devices = commands.add_parser("devices", help="list audio input devices")
    devices.set_defaults(handler=cmd_devices)

    tui = commands.add_parser("tui", help="the dashboard (default)")
    tui.add_argument("--device", help="input device index or name")
    tui.add_argument(
        "--wav", nargs="+", type=Path, help="push-to-talk plays these files instead of the microphone"
    )
    _add_runtime_options(tui)
    tui.set_defaults(handler=cmd_tui)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help")):
        argv = ["tui", *argv]  # `car-assistant --wav f.wav` is the dashboard with options
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except _error_types() as error:
        print(f"car-assistant: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
