"""``car-assistant check``: what to run when something is wrong, one report of everything found.

Each check is a function from :class:`CheckOptions` to a list of :class:`CheckResult`; :data:`CHECKS`
runs them in order: the intents YAML, the phone book, the trained model, the Whisper model, the
microphone. Each
reuses the error its part of the runtime raises, so the report says what the runtime would say, and
nothing here prints: :func:`render` makes the report's text for the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from assistant.asr import AsrError, Transcriber
from assistant.audio import AudioError, resolve_device
from assistant.classifier import (
    DEFAULT_MODEL_DIR,
    ModelError,
    check_fingerprint,
    load_model,
    read_manifest,
    tag_names,
)
from assistant.intents import (
    DEFAULT_INTENTS,
    IntentLibrary,
    IntentsError,
    check_responses,
    find_warnings,
    load_intents,
)
from assistant.phonebook import DEFAULT_PHONEBOOK, PhoneBookError, load_phonebook
from assistant.pipeline import RESPONDED

Level = Literal["ok", "warning", "error"]


@dataclass(frozen=True)
class CheckResult:
    level: Level
    message: str
    """One line: what and where (``file:line`` for the YAML), and what to do when it is not ok."""


@dataclass(frozen=True)
class CheckOptions:
    intents: Path = DEFAULT_INTENTS
    model: Path = DEFAULT_MODEL_DIR
    whisper: str | None = None
    """A faster-whisper model folder or name; None: the bundled tiny.en."""
    phonebook: Path = DEFAULT_PHONEBOOK


def check_phonebook(options: CheckOptions) -> list[CheckResult]:
    """The phone book reads (a missing default book is an empty one)."""
    try:
        book = load_phonebook(options.phonebook)
    except PhoneBookError as error:
        return [CheckResult("error", str(error))]
    return [
        CheckResult("ok", f"{options.phonebook}: {len(book.contacts)} contacts and {len(book.places)} places")
    ]


def check_intents(options: CheckOptions) -> list[CheckResult]:
    """The intents YAML: the first error that stops it loading, else every warning about it."""
    try:
        library = load_intents(options.intents)
        check_responses(library, RESPONDED)
    except IntentsError as error:
        return [CheckResult("error", str(error))]
    found = [CheckResult("warning", message) for message in find_warnings(library)]
    summary = f"{library.path}: {len(library.intents)} intents and {len(library.out_of_scope)} out-of-scope templates load"
    return [CheckResult("ok", summary), *found]


def check_model(options: CheckOptions) -> list[CheckResult]:
    """The model folder: its manifest and files, trained on these intents, and loading as the runtime loads it."""
    try:
        manifest = read_manifest(options.model)
        library = _library_or_none(options.intents)
        if library is not None:
            check_fingerprint(manifest, options.model, library.fingerprint, library.path)
            mismatch = _label_mismatch(manifest, library)
            if mismatch:
                return [
                    CheckResult(
                        "error",
                        f"{options.model}: {mismatch}; run `car-assistant train --intents {library.path}`.",
                    )
                ]
        load_model(options.model, manifest)
    except ModelError as error:
        return [CheckResult("error", str(error))]
    compared = (
        "trained on these intents"
        if library is not None
        else "not compared with the intents (they do not load)"
    )
    summary = (
        f"{options.model}: {manifest['variant']} model of {len(manifest['labels'])} intents loads, {compared}"
    )
    return [CheckResult("ok" if library is not None else "warning", summary)]


def _library_or_none(path: Path) -> IntentLibrary | None:
    """The intents, or None when they do not load (:func:`check_intents` reports why)."""
    try:
        return load_intents(path)
    except IntentsError:
        return None


def _label_mismatch(manifest: dict[str, Any], library: IntentLibrary) -> str | None:
    """What differs between the model's heads and the YAML's intents and slots (a hand-edited manifest)."""
    for what, trained, expected in (
        ("labels", manifest["labels"], library.labels),
        ("tags", manifest["tags"], tag_names(library.slot_names)),
    ):
        if trained != expected:
            missing = [name for name in expected if name not in trained]
            extra = [name for name in trained if name not in expected]
            detail = f"missing {missing}, extra {extra}" if missing or extra else "in another order"
            return f"the manifest's {what} differ from the YAML's ({detail})"
    return None


def check_whisper(options: CheckOptions) -> list[CheckResult]:
    """The speech model loads (the bundled tiny.en, or the ``--whisper`` folder or name)."""
    try:
        transcriber = Transcriber(options.whisper)
    except AsrError as error:
        return [CheckResult("error", str(error))]
    return [CheckResult("ok", f"Whisper model {transcriber.location} loads")]


def check_audio(options: CheckOptions) -> list[CheckResult]:
    """An input device exists (on a PulseAudio machine: the audio server answers)."""
    try:
        device = resolve_device(None)
    except AudioError as error:
        return [CheckResult("error", str(error))]
    return [
        CheckResult(
            "ok",
            f"microphone: '{device.name}', device {device.index} "
            f"({device.channels} ch, {device.default_samplerate:.0f} Hz)",
        )
    ]


Check = Callable[[CheckOptions], list[CheckResult]]
CHECKS: list[Check] = [check_intents, check_phonebook, check_model, check_whisper, check_audio]


def run_checks(options: CheckOptions, checks: list[Check] = CHECKS) -> list[CheckResult]:
    return [result for check in checks for result in check(options)]


def failed(results: list[CheckResult]) -> bool:
    return any(result.level == "error" for result in results)


def render(results: list[CheckResult]) -> str:
    """The report: one line per result, ``warning  intents/driver.yaml:12: ...``, the level in a fixed column."""
    return "\n".join(f"{result.level:<8} {result.message}" for result in results)
