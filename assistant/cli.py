"""The ``car-assistant`` command: the dashboard by default, and headless subcommands."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

# Whisper (CTranslate2) and torch each keep an OpenMP pool; spinning pools on 2 cores starve each other.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from assistant.audio import EndpointerOptions, check_limits
from assistant.classifier import VARIANTS, ModelError
from assistant.events import STATUS
from assistant.intents import DEFAULT_INTENTS, IntentsError, find_warnings, load_intents
from assistant.limits import TextError, check_command
from assistant.nlu import DEFAULT_MODEL_DIR
from assistant.phonebook import DEFAULT_PHONEBOOK, PhoneBookError
from assistant.policy import PolicyOptions

if TYPE_CHECKING:
    from assistant.voice import Voice

REPO = Path(__file__).resolve().parent.parent


def _error_types() -> tuple[type[BaseException], ...]:
    """Errors whose message is the whole story: printed as one line, no traceback."""
    from assistant.asr import AsrError
    from assistant.audio import AudioError
    from training.chatter import ChatterError
    from training.dataset import ConfigError
    from training.evaluate import JsonlError
    from training.folders import FolderError

    return (
        IntentsError,
        PhoneBookError,
        ModelError,
        TextError,
        JsonlError,
        ChatterError,
        ConfigError,
        FolderError,
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
        "--phonebook",
        type=Path,
        default=DEFAULT_PHONEBOOK,
        help="the car's contacts and places, read at start (default: %(default)s)",
    )
    for option in dataclasses.fields(PolicyOptions):
        flag, kind = f"--{option.name.replace('_', '-')}", option.type
        if kind == "bool":
            typed: dict = {"action": argparse.BooleanOptionalAction}
            limits = ""
        else:  # held to the range the option declares
            typed = {"type": _bounded(PolicyOptions, option.name, float)}
            limits = "{:g} to {:g}, ".format(*option.metadata["range"])
        parser.add_argument(
            flag, **typed, default=option.default, help=f"{option.metadata['help']} ({limits}default: %(default)s)"
        )


def _policy_options(args: argparse.Namespace) -> PolicyOptions:
    return PolicyOptions(
        **{option.name: getattr(args, option.name) for option in dataclasses.fields(PolicyOptions)}
    )


def load_judge(args: argparse.Namespace):
    """The understander and the policy that judges what it finds, for text without a car."""
    from assistant.nlu import Understander, load_classifier
    from assistant.policy import Policy

    library = load_intents(args.intents)
    return Understander(load_classifier(args.model, library), library), Policy(library, _policy_options(args))


def cmd_train(args: argparse.Namespace) -> int:
    for message in find_warnings(load_intents(args.intents)):  # a file that loads may still contradict itself
        print(f"car-assistant: warning: {message}", file=sys.stderr, flush=True)
    from training.config import TrainConfig
    from training.dataset import DatasetConfig
    from training.run import train_variants  # seconds of torch: after the YAML's news

    variants = list(VARIANTS) if args.variant == "all" else [args.variant]
    try:
        train_variants(
            args.intents,
            variants,
            args.out,
            args.data,
            DatasetConfig(**_given(args, DatasetConfig, seed=args.seed)),
            **_given(args, TrainConfig, seed=args.seed),
        )
    except KeyboardInterrupt:
        print("car-assistant: training stopped; the previous model and dataset are kept", file=sys.stderr)
        return 130
    return 0


CONFIG_OPTIONS_SKIPPED = ("variant", "seed")
"""Fields given otherwise: ``--variant`` takes ``all`` too, and one ``--seed`` serves both configs."""


def _add_config_options(parser: argparse.ArgumentParser, config_class: type) -> None:
    """One ``--flag`` per field of a config dataclass, typed from its annotation, so the flags and
    the config never disagree."""
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        if field.name in CONFIG_OPTIONS_SKIPPED:
            continue
        kind = next((t for t in typing.get_args(hints[field.name]) if t is not type(None)), hints[field.name])
        many = typing.get_origin(kind) is list
        default = field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default
        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            type=typing.get_args(kind)[0] if many else kind,
            nargs="+" if many else None,
            help=field.metadata.get("help", f"default: {default}"),
        )


def _given(args: argparse.Namespace, config_class: type, **always) -> dict:
    """The config fields given on the command line (others keep their defaults)."""
    given = {
        f.name: getattr(args, f.name, None)
        for f in dataclasses.fields(config_class)
        if f.name not in CONFIG_OPTIONS_SKIPPED
    }
    return {key: value for key, value in given.items() if value is not None} | always


def _checked(texts: list[str]) -> list[str]:
    """Command-line texts, each checked as a command; the error names which argument."""
    for number, text in enumerate(texts, start=1):
        try:
            check_command(text)
        except TextError as error:
            raise TextError(f"TEXT argument {number}: {error}") from None
    return list(texts)


def cmd_classify(args: argparse.Namespace) -> int:
    from training.evaluate import read_jsonl

    texts = _checked(args.text) + ([row.text for row in read_jsonl(args.jsonl)] if args.jsonl else [])
    if not texts:
        raise SystemExit("car-assistant classify: give TEXT arguments or --jsonl FILE")
    understander, policy = load_judge(args)
    for evidence in understander.understand_many(texts):
        decision = policy.decide(evidence)
        record = {
            "text": evidence.prediction.text,
            "status": STATUS[decision.verdict],
            "intent": decision.command.intent,
            "confidence": round(evidence.prediction.confidence, 4),
            "slots": decision.command.slots,
            "reason": decision.reason,
            **({"question": decision.question} if decision.question else {}),
        }
        print(json.dumps(record, ensure_ascii=False))
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from training.evaluate import read_jsonl, score

    examples = read_jsonl(args.jsonl, need_labels=True)
    understander, policy = load_judge(args)
    commands = [
        policy.decide(evidence).command
        for evidence in understander.understand_many([e.text for e in examples])
    ]
    result = score(examples, [c.intent for c in commands], [c.slots for c in commands])
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


def cmd_check(args: argparse.Namespace) -> int:
    from assistant.check import CheckOptions, failed, render, run_checks

    options = CheckOptions(intents=args.intents, model=args.model, whisper=args.whisper, phonebook=args.phonebook)
    results = run_checks(options)
    print(render(results))
    return 1 if failed(results) else 0


def _add_runtime_options(parser: argparse.ArgumentParser) -> None:
    _add_model_options(parser)
    parser.add_argument("--whisper", help="faster-whisper model folder or name (default: bundled tiny.en)")
    parser.add_argument(
        "--no-asr-bias", action="store_true", help="don't prompt Whisper with the car's vocabulary"
    )
    parser.add_argument(
        "--no-grammar", action="store_true", help="keep Whisper's own text: no correction towards the intents"
    )


def _add_no_voice(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-voice", dest="voice", action="store_false", help="don't speak the replies (shown only)"
    )


def _assistant_config(args: argparse.Namespace):
    from assistant.pipeline import AssistantConfig

    return AssistantConfig(
        intents=args.intents,
        model=args.model,
        phonebook=args.phonebook,
        whisper=getattr(args, "whisper", None),
        policy=_policy_options(args),
        bias_asr=not getattr(args, "no_asr_bias", False),
        grammar=not getattr(args, "no_grammar", False),
        voice=getattr(args, "voice", False),
    )


def _print_event(event) -> None:
    print(json.dumps(event.to_json(), ensure_ascii=False), flush=True)


def cmd_say(args: argparse.Namespace) -> int:
    from assistant.pipeline import Assistant, load_voice

    texts = _checked(args.text)  # before seconds of model loading
    assistant = Assistant.from_config(_assistant_config(args), with_speech=False)
    assistant.voice = load_voice() if args.voice else None
    for text in texts:
        _print_event(assistant.handle_text(text))
    if assistant.voice is not None:
        assistant.voice.close(finish=True)  # once the last reply has been spoken
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
    """Print one JSON event per utterance until the WAV files end, the microphone fails, or Ctrl-C.

    On stderr: "listening on …" once the microphone is open; one line when it is lost (the audio server
    went away, the device was unplugged) and one when it is back, as it is reopened every
    ``RECONNECT_EVERY_S``; and one line at the end. Exit status: 0 when the files end, 130 on Ctrl-C
    (the line says how capture went), 1 on an audio error (the line says what failed; with
    ``--no-reconnect`` a lost microphone is one), 2 when it cannot start.
    """
    from assistant.audio import AudioError, MicrophoneSource, WavFileSource, resolve_device
    from assistant.pipeline import Assistant

    if not args.wav:
        resolve_device(args.device)  # no microphone: say so before spending seconds loading models
    options = EndpointerOptions(silence_ms=args.silence_ms)
    source = (
        WavFileSource(args.wav, options, realtime=True)
        if args.wav
        else MicrophoneSource(args.device, options, reconnect=args.reconnect, on_change=_tell)
    )
    voice = None
    try:
        assistant = Assistant.from_config(_assistant_config(args))
        assistant.voice = voice = _voice_if_any() if args.voice else None
        if isinstance(source, MicrophoneSource):
            source.start()
            _tell(f"listening on {source.name} (Ctrl-C to stop)")
        for event in assistant.listen(source):
            _print_event(event)
    except AudioError as error:
        _tell(str(error))
        return 1
    except KeyboardInterrupt:
        _tell(
            f"stopped by Ctrl-C; {source.report()}"
            if isinstance(source, MicrophoneSource)
            else "stopped by Ctrl-C"
        )
        return 130
    finally:
        source.close()
        if voice is not None:
            voice.close()
    return 0


def _voice_if_any() -> Voice | None:
    """The car's voice, or None with one line saying why the replies are not spoken."""
    from assistant.audio import AudioError
    from assistant.pipeline import load_voice

    try:
        return load_voice()
    except AudioError as error:
        _tell(f"replies are not spoken: {error}")
        return None


def _tell(line: str) -> None:
    """One line for the person at the terminal, on stderr (stdout carries the JSON events)."""
    print(f"car-assistant: {line}", file=sys.stderr, flush=True)


def _bounded(options: type, name: str, kind: type[float]) -> Callable[[str], float]:
    """An argparse type for field ``name`` of an options dataclass, held to the limits it declares."""
    bounds = _limits(options, name)

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not {'an integer' if kind is int else 'a number'}"
            ) from None
        try:
            check_limits(value, bounds)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return value

    return parse


def _limits(options: type, name: str) -> tuple[float, float]:
    return next(f for f in dataclasses.fields(options) if f.name == name).metadata["range"]


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


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line saying what and where (``--help`` has the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from training.config import TrainConfig  # not training.finetune: every command would load torch first
    from training.dataset import DatasetConfig

    parser = OneLineParser(prog="car-assistant", description=__doc__)
    commands = parser.add_subparsers(dest="command")

    train = commands.add_parser(
        "train", help="build the dataset from the YAML and fine-tune bert and/or qlora"
    )
    train.add_argument("--variant", choices=[*VARIANTS, "all"], default="all")
    train.add_argument("--intents", type=Path, default=DEFAULT_INTENTS)
    train.add_argument(
        "--out", type=Path, default=REPO / "models", help="models folder (default: %(default)s)"
    )
    train.add_argument(
        "--data", type=Path, default=REPO / "data" / "dataset", help="where the dataset is written"
    )
    train.add_argument("--seed", type=int, default=13, help="for the dataset and the training (default: %(default)s)")
    _add_config_options(train, DatasetConfig)
    _add_config_options(train, TrainConfig)
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

    say = commands.add_parser(
        "say",
        help="act on typed texts in order, as one conversation, skipping audio; one JSON event per text",
    )
    say.add_argument("text", nargs="+")
    say.add_argument("--voice", action="store_true", help="speak each reply too (Piper, default output)")
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
    low, high = _limits(EndpointerOptions, "silence_ms")
    listen.add_argument(
        "--silence-ms",
        type=_bounded(EndpointerOptions, "silence_ms", int),
        default=EndpointerOptions.silence_ms,
        help=f"silence that ends an utterance, {low:g} to {high:g} ms (default: %(default)s)",
    )
    listen.add_argument(
        "--no-reconnect",
        dest="reconnect",
        action="store_false",
        help="stop with exit status 1 when the microphone is lost, instead of reopening it",
    )
    _add_runtime_options(listen)
    _add_no_voice(listen)
    listen.set_defaults(handler=cmd_listen)

    check = commands.add_parser(
        "check",
        help="check the intents YAML, the phone book, the model, Whisper and the microphone: one line each, with the fix",
    )
    check.add_argument(
        "--intents", type=Path, default=DEFAULT_INTENTS, help="intents YAML (default: %(default)s)"
    )
    check.add_argument(
        "--model", type=Path, default=DEFAULT_MODEL_DIR, help="trained model folder (default: %(default)s)"
    )
    check.add_argument("--whisper", help="faster-whisper model folder or name (default: bundled tiny.en)")
    check.add_argument(
        "--phonebook", type=Path, default=DEFAULT_PHONEBOOK, help="the car's phone book (default: %(default)s)"
    )
    check.set_defaults(handler=cmd_check)

    devices = commands.add_parser("devices", help="list audio input devices")
    devices.set_defaults(handler=cmd_devices)

    tui = commands.add_parser("tui", help="the dashboard (default)")
    tui.add_argument("--device", help="input device index or name")
    tui.add_argument(
        "--wav", nargs="+", type=Path, help="push-to-talk plays these files instead of the microphone"
    )
    _add_runtime_options(tui)
    _add_no_voice(tui)
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
