"""The fault table: bad input, damaged models, failing writes and failing audio, one row each, run
through ``car-assistant`` and judged by what a person sees: the exit status, exactly one line on
stderr naming what went wrong and where, no traceback, and the row's folder as it was (nothing
half-written, no staging folder left, the previous model and dataset byte for byte). Rows that must
keep serving (exit 0) assert that instead. The dashboard's rows follow the table.

Every row starts from a folder holding a working model (``{model}``, a copy of the shipped one, in
``{models}``) and the dataset it was trained on (``{data}``). Rows run the real ``main`` in this
process, where ``patch`` may stand in at a boundary for minutes of work (the dataset, the training,
the disk); rows that need an audio server of their own, file modes as root, or a signal run the
command as a process of its own (``own_process``).

To add a row, add a :class:`Fault` to the list of its kind. The rows are grouped by kind so that
what is covered reads at a glance: ``KINDS`` maps each kind to its rows.
"""

from __future__ import annotations

import codecs
import errno
import hashlib
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from assistant.audio import MicrophoneSource, load_wav
from assistant.classifier import DEFAULT_MODEL_DIR, HEADS, MANIFEST, default_base_model
from assistant.cli import main
from assistant.events import Event, Utterance
from assistant.pipeline import AssistantConfig
from assistant.tui.app import CarDashboard
from assistant.tui.header import Notice

REPO = Path(__file__).resolve().parent.parent
HIGH_BEAMS = "turn on the high beams"
LISTENING = r"^car-assistant: listening on mic:pulse \(Ctrl-C to stop\)$"
LOST = r"^car-assistant: Microphone 'mic:pulse' stopped .*; reconnecting every .* s…$"
BACK = r"^car-assistant: mic:pulse: back after \d+\.\d s$"
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|^\s+File \"", re.MULTILINE)
KEPT = "the previous model and dataset are kept"


# -- a row's folder ------------------------------------------------------------------------------


@dataclass
class Scene:
    """What a row may use: its own folder with a working model and dataset in it, espeak-ng's voice,
    and (``server="private"``) a PulseAudio server of its own that it may stop and start."""

    tmp: Path
    speak: Callable[[str], Path]
    pulse: Any = None

    @property
    def places(self) -> dict[str, Path]:
        """What ``{name}`` stands for in a row's arguments and expected words."""
        models = self.tmp / "models"
        return {
            "tmp": self.tmp,
            "models": models,
            "model": models / "qlora",
            "data": self.tmp / "data" / "dataset",
        }

    def fill(self, text: str) -> str:
        return text.format(**self.places)

    def prepare(self) -> None:
        """The working model and its dataset, which no row may change; and a folder no server answers in."""
        shutil.copytree(DEFAULT_MODEL_DIR, self.places["model"])
        self.places["data"].mkdir(parents=True)
        for split in ("train", "validation", "test"):
            (self.places["data"] / f"{split}.jsonl").write_text(json.dumps({"text": HIGH_BEAMS}) + "\n")
        (self.tmp / "no-server").mkdir()

    def env(self, server: str) -> dict[str, str]:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
        if server == "private":
            return {**env, **self.pulse.env}
        if server == "none":  # nothing answers here, and nothing may be autospawned
            nowhere = self.tmp / "no-server"
            return {**env, "PULSE_RUNTIME_PATH": str(nowhere), "PULSE_SERVER": f"unix:{nowhere}/native"}
        return env


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder``: a file's content hash, or what else it is."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            found[str(path.relative_to(folder))] = "folder"
        elif os.access(path, os.R_OK):
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[str(path.relative_to(folder))] = "unreadable"
    return found


# -- running a command ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


def _ctrl_c_as_in_a_terminal() -> None:
    """Ctrl-C reaches the command as it would in a terminal, even when the test run itself was
    started in the background (where the shell has SIGINT ignored, and Python then never turns it
    into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Running:
    """A ``car-assistant`` process of its own, its output read line by line as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str], launcher: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            [*launcher, sys.executable, "-m", "assistant.cli", *argv],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_ctrl_c_as_in_a_terminal,
        )
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._lines: dict[str, queue.Queue[str]] = {"stdout": queue.Queue(), "stderr": queue.Queue()}
        self._readers = [
            threading.Thread(target=self._read, args=(name,), daemon=True) for name in ("stdout", "stderr")
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, name: str) -> None:
        for line in getattr(self.process, name):
            getattr(self, name).append(line.rstrip("\n"))
            self._lines[name].put(line.rstrip("\n"))

    def wait_for(self, pattern: str, stream: str = "stderr", timeout: float = 180.0) -> str:
        """The next line on ``stream`` matching ``pattern``; fails the test after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines[stream].get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, f"it exited early: {self.stderr}"
                continue
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r} on {stream} within {timeout} s: {self.stderr}")

    def finish(self, timeout: float = 240.0) -> Finished:
        returncode = self.process.wait(timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        return Finished(returncode, "\n".join(self.stdout), "\n".join(self.stderr))


def run_own_process(fault: Fault, scene: Scene) -> Finished:
    running = Running(
        [scene.fill(arg) for arg in fault.argv],
        scene.env(fault.server),
        HELD_TO_FILE_MODES if fault.file_modes_apply else (),
    )
    try:
        if fault.during is not None:
            fault.during(running, scene)
        return running.finish()
    finally:
        if running.process.poll() is None:
            running.process.kill()


def run_here(
    fault: Fault, scene: Scene, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> Finished:
    """``main(argv)`` in this process. A warning counts as the line on stderr that a fresh interpreter,
    with Python's default filters, would print for it."""
    if fault.argv[0] == "train":  # hassil's search for contradictions takes seconds (test_intents covers it)
        monkeypatch.setattr("assistant.cli.find_warnings", lambda library: [])
    fault.patch(scene, monkeypatch)
    with warnings.catch_warnings(record=True) as warned:
        warnings.resetwarnings()
        warnings.simplefilter("default")
        for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
            warnings.simplefilter("ignore", category)
        try:
            returncode = main([scene.fill(arg) for arg in fault.argv])
        except SystemExit as stop:  # argparse's refusals
            returncode = stop.code if isinstance(stop.code, int) else 1
    out, err = capfd.readouterr()
    shown = [f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in warned]
    return Finished(returncode, out, "\n".join([*err.splitlines(), *shown]))


def assert_one_clear_line(result: Finished, says: tuple[str, ...], also: tuple[str, ...] = ()) -> str:
    """No traceback, and exactly one line on stderr besides the progress lines ``also`` matches; that
    line contains each of ``says`` (what went wrong and where). Returns the line."""
    assert not TRACEBACK.search(result.stderr), result.stderr
    lines = [line for line in result.stderr.splitlines() if not any(re.search(p, line) for p in also)]
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}:\n{result.stderr}"
    for words in says:
        assert words in lines[0], f"{words!r} is not in {lines[0]!r}"
    return lines[0]


# -- the table -----------------------------------------------------------------------------------

Setup = Callable[[Scene], object]
Patch = Callable[[Scene, pytest.MonkeyPatch], None]


def nothing(*_: object) -> None:
    return None


@dataclass(frozen=True)
class Fault:
    """One row: run ``car-assistant argv`` after ``setup``.

    ``exit`` is the status it must end with; ``says``, what its one line on stderr must contain
    (``{model}`` and the like filled in; empty with ``exit=0``: nothing may appear on stderr but the
    ``also`` lines); ``also``, regular expressions for the progress lines the command prints
    besides; ``stdout``, text its output must contain. ``patch`` stands in for a boundary in this
    process. A row with ``own_process`` runs as a command of its own: with ``during`` acting on it
    as it runs, ``server`` (the shared virtual microphone, none at all, or one of the row's own),
    and ``file_modes_apply`` holding it to file modes even as root.
    """

    name: str
    argv: tuple[str, ...]
    exit: int
    says: tuple[str, ...]
    setup: Setup = nothing
    patch: Patch = nothing
    own_process: bool = False
    during: Callable[[Running, Scene], None] | None = None
    also: tuple[str, ...] = ()
    stdout: str = ""
    server: Literal["none", "shared", "private"] = "none"
    file_modes_apply: bool = False


def write_text(name: str, text: str) -> Setup:
    return lambda scene: (scene.tmp / name).write_text(text)


def write_bytes(name: str, data: bytes) -> Setup:
    return lambda scene: (scene.tmp / name).write_bytes(data)


def write_audio(name: str, audio: np.ndarray, rate: int = 16_000) -> Setup:
    return lambda scene: sf.write(scene.tmp / name, audio, rate, subtype="PCM_16")


def both(*setups: Setup) -> Setup:
    return lambda scene: [setup(scene) for setup in setups]


# -- audio faults --

HELD_TO_FILE_MODES = ("setpriv", "--bounding-set=-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
"""Root reads a file whatever its mode; without these two capabilities it is held to the modes like a user."""


def server_goes_away(running: Running, scene: Scene) -> None:
    running.wait_for(LISTENING)
    scene.pulse.stop()


def server_goes_and_comes_back(running: Running, scene: Scene) -> None:
    running.wait_for(LISTENING)
    scene.pulse.stop()
    running.wait_for(LOST, timeout=10)
    scene.pulse.start()
    running.wait_for(BACK, timeout=10)
    scene.pulse.play(scene.speak(HIGH_BEAMS)).wait(timeout=10)
    event = json.loads(running.wait_for(r"^\{", stream="stdout", timeout=60))
    assert event["intent"] == "lights" and event["status"] in ("done", "asked"), event
    running.process.send_signal(signal.SIGINT)


def ctrl_c_while_listening(running: Running, scene: Scene) -> None:
    running.wait_for(LISTENING)
    running.process.send_signal(signal.SIGINT)


AUDIO = [
    Fault(
        "no audio server",
        ("listen", "--device", "pulse"),
        exit=2,
        says=("No microphone 'pulse'", "no input devices", "audio server"),
        own_process=True,
    ),
    Fault(
        "no audio server: the default microphone",
        ("listen",),
        exit=2,
        says=("No microphone found", "no input devices", "audio server", "--wav"),
        own_process=True,
    ),
    Fault(
        "no audio server: devices",
        ("devices",),
        exit=1,
        says=("no audio input devices",),
        own_process=True,
    ),
    Fault(
        "a device name that does not exist",
        ("listen", "--device", "no such mic"),
        exit=2,
        says=("'no such mic'", "matches no input device", "pulse"),
        own_process=True,
        server="shared",
    ),
    Fault(
        "a device index that does not exist",
        ("listen", "--device", "99"),
        exit=2,
        says=("index 99",),
        own_process=True,
        server="shared",
    ),
    Fault(
        "the server goes away mid-stream, told not to reconnect",
        ("listen", "--device", "pulse", "--no-reconnect"),
        exit=1,
        says=("Microphone 'mic:pulse' stopped", "audio server went away"),
        own_process=True,
        during=server_goes_away,
        also=(LISTENING,),
        server="private",
    ),
    Fault(
        "the server goes away and comes back: listening resumes, Ctrl-C ends it",
        ("listen", "--device", "pulse"),
        exit=130,
        says=("stopped by Ctrl-C", "mic:pulse", "blocks"),
        own_process=True,
        during=server_goes_and_comes_back,
        also=(LISTENING, LOST, BACK),
        server="private",
    ),
    Fault(
        "Ctrl-C while listening",
        ("listen", "--device", "pulse"),
        exit=130,
        says=("stopped by Ctrl-C", "mic:pulse", "0 dropped"),
        own_process=True,
        during=ctrl_c_while_listening,
        also=(LISTENING,),
        server="shared",
    ),
]

# -- audio files --


def speech_as_stereo_44k(scene: Scene) -> None:
    """The command written at 44.1 kHz in two channels: what a phone or a DAW saves."""
    mono = resample_poly(load_wav(scene.speak(HIGH_BEAMS)), 441, 160)
    sf.write(scene.tmp / "stereo-44k.wav", np.stack([mono, mono], axis=1), 44_100, subtype="PCM_16")


WAV_FILES = [
    Fault(
        "a WAV that is not a WAV (listen)",
        ("listen", "--wav", "{tmp}/notes.wav"),
        exit=2,
        says=("notes.wav", "not a WAV file"),
        setup=write_text("notes.wav", "not audio at all"),
    ),
    Fault(
        "a WAV that is not a WAV (transcribe)",
        ("transcribe", "{tmp}/notes.wav"),
        exit=2,
        says=("notes.wav", "not a WAV file"),
        setup=write_text("notes.wav", "RIFF but not really"),
    ),
    Fault(
        "a zero-byte WAV",
        ("transcribe", "{tmp}/zero.wav"),
        exit=2,
        says=("zero.wav", "not a WAV file"),
        setup=write_text("zero.wav", ""),
    ),
    Fault(
        "a WAV with no audio in it",
        ("listen", "--wav", "{tmp}/empty.wav"),
        exit=2,
        says=("empty.wav", "holds no audio"),
        setup=write_audio("empty.wav", np.zeros(0, dtype=np.float32)),
    ),
    Fault(
        "a folder given as a WAV",
        ("transcribe", "{tmp}/clips.wav"),
        exit=2,
        says=("clips.wav", "folder"),
        setup=lambda scene: (scene.tmp / "clips.wav").mkdir(),
    ),
    Fault(
        "a missing WAV",
        ("listen", "--wav", "{tmp}/missing.wav"),
        exit=2,
        says=("missing.wav", "no such file"),
    ),
    Fault(
        "an unreadable WAV",
        ("transcribe", "{tmp}/locked.wav"),
        exit=2,
        says=("locked.wav", "permission denied"),
        setup=both(
            write_audio("locked.wav", np.zeros(1600)), lambda scene: (scene.tmp / "locked.wav").chmod(0)
        ),
        own_process=True,
        file_modes_apply=True,
    ),
    Fault(
        "a WAV at 44.1 kHz in stereo is resampled and understood",
        ("transcribe", "{tmp}/stereo-44k.wav"),
        exit=0,
        says=(),
        setup=speech_as_stereo_44k,
        stdout='"intent": "lights"',
    ),
]

# -- damaged model folders: each a copy of the working model, harmed one way --

DAMAGED = "{tmp}/damaged"
CLASSIFY_DAMAGED = ("classify", "--model", DAMAGED, HIGH_BEAMS)
RETRAIN = "retrain with `car-assistant train`"


def damaged(harm: Callable[[Path], object]) -> Setup:
    def setup(scene: Scene) -> None:
        folder = Path(scene.fill(DAMAGED))
        shutil.copytree(scene.places["model"], folder)
        harm(folder)

    return setup


def damaged_bert(harm: Callable[[Path], object]) -> Setup:
    """A ``bert`` folder (the whole encoder saved, ``model.safetensors``) made from the working one with
    the base model's config, then harmed: the base's weights themselves are never copied whole."""

    def bert(folder: Path) -> None:
        manifest = json.loads((folder / MANIFEST).read_text())
        (folder / MANIFEST).write_text(json.dumps({**manifest, "variant": "bert"}))
        for name in ("adapter_config.json", "adapter_model.safetensors"):
            (folder / name).unlink()
        shutil.copy(Path(default_base_model()) / "config.json", folder)
        harm(folder)

    return damaged(bert)


def truncated(name: str, keep: int = 1000) -> Callable[[Path], object]:
    return lambda folder: (folder / name).write_bytes((folder / name).read_bytes()[:keep])


def truncated_base_weights(folder: Path) -> None:
    with open(Path(default_base_model()) / "model.safetensors", "rb") as base:
        (folder / "model.safetensors").write_bytes(base.read(1000))


def emptied(name: str) -> Callable[[Path], object]:
    return lambda folder: (folder / name).write_bytes(b"")


def randomised(name: str) -> Callable[[Path], object]:
    return lambda folder: (folder / name).write_bytes(np.random.default_rng(0).bytes(4096))


def removed(*names: str) -> Callable[[Path], object]:
    return lambda folder: [(folder / name).unlink() for name in names]


def manifest_edited(change: Callable[[dict], dict]) -> Callable[[Path], object]:
    def edit(folder: Path) -> None:
        (folder / MANIFEST).write_text(json.dumps(change(json.loads((folder / MANIFEST).read_text()))))

    return edit


def without(key: str) -> Callable[[dict], dict]:
    return lambda manifest: {k: v for k, v in manifest.items() if k != key}


def one_head_only(folder: Path) -> None:
    from safetensors.torch import load_file, save_file

    heads = load_file(str(folder / HEADS))
    save_file({k: v for k, v in heads.items() if k.startswith("intent_head")}, str(folder / HEADS))


def model_fault(name: str, harm: Setup, *says: str) -> Fault:
    return Fault(f"model: {name}", CLASSIFY_DAMAGED, exit=2, says=(DAMAGED, *says), setup=harm)


ADAPTER, WEIGHTS = "adapter_model.safetensors", "model.safetensors"
MODELS = [
    model_fault("adapter truncated", damaged(truncated(ADAPTER)), "damaged or incomplete", RETRAIN),
    model_fault("adapter empty", damaged(emptied(ADAPTER)), "damaged or incomplete", RETRAIN),
    model_fault("adapter random bytes", damaged(randomised(ADAPTER)), "damaged or incomplete", RETRAIN),
    model_fault("adapter missing", damaged(removed(ADAPTER)), f"{ADAPTER} missing", RETRAIN),
    model_fault(
        "adapter config missing", damaged(removed("adapter_config.json")), "adapter_config.json missing"
    ),
    model_fault(
        "adapter config broken", damaged(emptied("adapter_config.json")), "damaged or incomplete", RETRAIN
    ),
    model_fault("heads missing", damaged(removed(HEADS)), f"{HEADS} missing", RETRAIN),
    model_fault("heads truncated", damaged(truncated(HEADS, 100)), "damaged or incomplete", RETRAIN),
    model_fault("heads without the slot head", damaged(one_head_only), f"{HEADS}: missing tag_head", RETRAIN),
    model_fault(
        "training.json broken",
        damaged(lambda f: (f / MANIFEST).write_text("{not json")),
        "unreadable",
        RETRAIN,
    ),
    model_fault("training.json empty", damaged(emptied(MANIFEST)), "training.json: unreadable", RETRAIN),
    model_fault(
        "training.json in UTF-16", damaged(lambda f: (f / MANIFEST).write_text("{}", "utf-16")), "unreadable"
    ),
    model_fault(
        "training.json without labels", damaged(manifest_edited(without("labels"))), "missing labels", RETRAIN
    ),
    model_fault(
        "training.json a list", damaged(lambda f: (f / MANIFEST).write_text("[]")), "missing variant", RETRAIN
    ),
    model_fault(
        "training.json of an unknown variant",
        damaged(manifest_edited(lambda m: {**m, "variant": "gpt"})),
        "unknown variant 'gpt'",
        RETRAIN,
    ),
    model_fault(
        "training.json of other intents",
        damaged(manifest_edited(lambda m: {**m, "intents_fingerprint": "0" * 16})),
        "trained on other intents",
        "car-assistant train --intents",
    ),
    model_fault(
        "tokenizer files missing",
        damaged(removed("tokenizer.json", "tokenizer_config.json")),
        "tokenizer.json, tokenizer_config.json missing",
        RETRAIN,
    ),
    model_fault(
        "tokenizer.json broken", damaged(randomised("tokenizer.json")), "damaged or incomplete", RETRAIN
    ),
    model_fault("no model at all", nothing, "No trained model in", "car-assistant train"),
    model_fault(
        "bert weights truncated", damaged_bert(truncated_base_weights), "damaged or incomplete", RETRAIN
    ),
    model_fault("bert weights empty", damaged_bert(emptied(WEIGHTS)), "damaged or incomplete", RETRAIN),
    model_fault(
        "bert weights random bytes", damaged_bert(randomised(WEIGHTS)), "damaged or incomplete", RETRAIN
    ),
    model_fault("bert weights missing", damaged_bert(nothing), f"{WEIGHTS} missing", RETRAIN),
    model_fault(
        "bert config missing",
        damaged_bert(both(emptied(WEIGHTS), removed("config.json"))),
        "config.json missing",
        RETRAIN,
    ),
]

# -- writes that fail: train stops before any work, or keeps the previous model and dataset --


def train_into(*options: str) -> tuple[str, ...]:
    """``train`` writing into the row's folder: the working model and dataset are what it must keep."""
    return ("train", "--variant", "qlora", *options, "--out", "{models}", "--data", "{data}")


Usage = namedtuple("Usage", "total used free")


def room(under: str, free_mb: int) -> Patch:
    """The disk holding ``{under}`` has ``free_mb`` left (``shutil.disk_usage`` says so)."""

    def patch(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
        real, place = shutil.disk_usage, Path(scene.fill(under))

        def usage(path: str | Path) -> Any:
            if Path(path).resolve().is_relative_to(place.resolve()):
                return Usage(10**10, 10**10 - free_mb * 2**20, free_mb * 2**20)
            return real(path)

        monkeypatch.setattr(shutil, "disk_usage", usage)

    return patch


def instead(**stand_ins: Callable[..., Any]) -> Patch:
    """``training.run``'s own names replaced: no dataset built, no minutes of training."""

    def patch(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr("training.run.build_dataset", lambda library, config: {"train": [], "test": []})
        for name, stand_in in stand_ins.items():
            monkeypatch.setattr(f"training.run.{name}", stand_in)

    return patch


def halfway_then(error: BaseException, folder_argument: int) -> Callable[..., Any]:
    """A writer that gets halfway through the folder it is given, then meets ``error``."""

    def write(*args: Any, **kwargs: Any) -> Any:
        (args[folder_argument] / "half-written.safetensors").write_bytes(b"\0" * 4096)
        raise error

    return write


def trained(config: Any, library: Any, splits: Any, folder: Path, dataset_config: Any) -> dict:
    """Training that takes no time: what ``save_model`` writes, in name."""
    for name in ("adapter_model.safetensors", HEADS, MANIFEST):
        (folder / name).write_text("weights")
    return {}


DISK_FULL = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def read_only(name: str) -> Setup:
    return lambda scene: Path(scene.fill(name)).chmod(0o555)


FEW_INTENTS = """\
language: en
intents:
  lights:
    action: set_light
    data:
      - sentences:
          - "(turn|switch|put|flip|set) {state} [the|my|our|those] {light}"
lists:
  light:
    values:
      - in: "(brights|high beams)"
        out: high_beams
  state:
    values: ["on", "off"]
"""
"""Intents whose warnings (none) take no time to find: for ``train`` in a process of its own."""


WRITES = [
    Fault(
        "write: --out is a file",
        ("train", "--variant", "qlora", "--out", "{tmp}/blocker/models", "--data", "{data}"),
        exit=2,
        says=("{tmp}/blocker", "cannot write here"),
        setup=write_text("blocker", "a file where a folder should be"),
    ),
    Fault(
        "write: --data is under a file",
        ("train", "--variant", "qlora", "--out", "{models}", "--data", "{tmp}/blocker/dataset"),
        exit=2,
        says=("{tmp}/blocker", "cannot write here"),
        setup=write_text("blocker", "a file where a folder should be"),
    ),
    Fault(
        "write: read-only --out",
        train_into("--intents", "{tmp}/few.yaml"),
        exit=2,
        says=("{models}: cannot write here", "Permission denied"),
        setup=both(write_text("few.yaml", FEW_INTENTS), read_only("{models}")),
        own_process=True,
        file_modes_apply=True,
    ),
    Fault(
        "write: read-only --data",
        train_into("--intents", "{tmp}/few.yaml"),
        exit=2,
        says=("{tmp}/data: cannot write here", "Permission denied"),
        setup=both(write_text("few.yaml", FEW_INTENTS), read_only("{tmp}/data")),
        own_process=True,
        file_modes_apply=True,
    ),
    Fault(
        "write: a full disk under --out, before any work",
        train_into(),
        exit=2,
        says=("{models}: only 5 MB free", "needs about 30 MB"),
        patch=room("{models}", 5),
    ),
    Fault(
        "write: a full disk under --data, before any work",
        train_into(),
        exit=2,
        says=("{data}: only 1 MB free", "needs about 20 MB"),
        patch=room("{data}", 1),
    ),
    Fault(
        "write: the disk fills while the dataset is written",
        train_into(),
        exit=2,
        says=("{data}: cannot write", "No space left on device", KEPT),
        patch=instead(write_dataset=halfway_then(DISK_FULL, 2)),
    ),
    Fault(
        "write: the disk fills while the model is saved",
        train_into(),
        exit=2,
        says=("{models}: cannot write", "No space left on device", KEPT),
        patch=instead(write_dataset=nothing, train=halfway_then(DISK_FULL, 3)),
    ),
    Fault(
        "write: the disk fills while the report is written",
        train_into(),
        exit=2,
        says=("{models}: cannot write", "No space left on device", KEPT),
        patch=instead(
            write_dataset=nothing,
            train=trained,
            load_classifier=nothing,
            write_variant_report=halfway_then(DISK_FULL, 3),
        ),
    ),
    Fault(
        "write: Ctrl-C while the dataset is written",
        train_into(),
        exit=130,
        says=("training stopped", KEPT),
        patch=instead(write_dataset=halfway_then(KeyboardInterrupt(), 2)),
    ),
    Fault(
        "write: Ctrl-C during training",
        train_into(),
        exit=130,
        says=("training stopped", KEPT),
        patch=instead(write_dataset=nothing, train=halfway_then(KeyboardInterrupt(), 3)),
    ),
]

# -- bad encodings and shapes of the files people write --

LIGHTS = json.dumps({"text": HIGH_BEAMS, "intent": "lights"}) + "\n"


def intents_with(prefix: bytes, encoding: str = "utf-8") -> Setup:
    """The shipped intents YAML, written again behind ``prefix`` (a byte-order mark) in ``encoding``."""
    return lambda scene: (scene.tmp / "intents.yaml").write_bytes(
        prefix + (REPO / "intents" / "driver.yaml").read_text().encode(encoding)
    )


ENCODINGS = [
    Fault(
        "encoding: a \\xff byte in the intents YAML (train)",
        train_into("--intents", "{tmp}/intents.yaml"),
        exit=2,
        says=("{tmp}/intents.yaml:3", "not valid UTF-8"),
        setup=write_bytes("intents.yaml", b"language: en\nintents:\n  lights: \xff\n"),
    ),
    Fault(
        "encoding: a \\xff byte in the intents YAML (classify)",
        ("classify", "--intents", "{tmp}/intents.yaml", HIGH_BEAMS),
        exit=2,
        says=("{tmp}/intents.yaml:2", "not valid UTF-8"),
        setup=write_bytes("intents.yaml", b"language: en\n# caf\xe9\n"),
    ),
    Fault(
        "encoding: UTF-16 JSONL without a byte-order mark",
        ("evaluate", "{tmp}/dev.jsonl"),
        exit=2,
        says=("{tmp}/dev.jsonl:1", "UTF-16 without a byte-order mark"),
        setup=write_bytes("dev.jsonl", LIGHTS.encode("utf-16-le")),
    ),
    Fault(
        "encoding: a \\xff byte in a JSONL line",
        ("classify", "--jsonl", "{tmp}/lines.jsonl"),
        exit=2,
        says=("{tmp}/lines.jsonl:2", "not valid UTF-8"),
        setup=write_bytes("lines.jsonl", LIGHTS.encode() + b'{"text": "caf\xff"}\n'),
    ),
    Fault(
        "encoding: UTF-16 JSONL with a byte-order mark is read",
        ("evaluate", "{tmp}/dev.jsonl"),
        exit=0,
        says=(),
        setup=write_bytes("dev.jsonl", codecs.BOM_UTF16_LE + LIGHTS.encode("utf-16-le")),
        stdout="intent accuracy (in scope):   100.0%  of 1",
    ),
    Fault(
        "encoding: UTF-8 JSONL with a byte-order mark is read",
        ("classify", "--jsonl", "{tmp}/lines.jsonl"),
        exit=0,
        says=(),
        setup=write_bytes("lines.jsonl", codecs.BOM_UTF8 + LIGHTS.encode()),
        stdout='"intent": "lights"',
    ),
    Fault(
        "encoding: an intents YAML with a UTF-8 byte-order mark is read",
        ("classify", "--intents", "{tmp}/intents.yaml", HIGH_BEAMS),
        exit=0,
        says=(),
        setup=intents_with(codecs.BOM_UTF8),
        stdout='"intent": "lights"',
    ),
]

SHAPES = [
    Fault(
        'input: "slots" that is not an object',
        ("evaluate", "{tmp}/dev.jsonl"),
        exit=2,
        says=("{tmp}/dev.jsonl:1", '"slots" must be an object'),
        setup=write_text("dev.jsonl", json.dumps({"text": HIGH_BEAMS, "intent": "lights", "slots": "x"})),
    ),
    Fault(
        "input: an empty JSONL file",
        ("evaluate", "{tmp}/dev.jsonl"),
        exit=2,
        says=("{tmp}/dev.jsonl", "no lines to read"),
        setup=write_text("dev.jsonl", ""),
    ),
    Fault(
        "input: a JSONL line that is not JSON",
        ("evaluate", "{tmp}/dev.jsonl"),
        exit=2,
        says=("{tmp}/dev.jsonl:2", "not valid JSON"),
        setup=write_text("dev.jsonl", LIGHTS + "{text: oops}\n"),
    ),
    Fault(
        "input: a JSONL line without an intent to evaluate",
        ("evaluate", "{tmp}/dev.jsonl"),
        exit=2,
        says=("{tmp}/dev.jsonl:1", '"intent" field'),
        setup=write_text("dev.jsonl", json.dumps({"text": HIGH_BEAMS}) + "\n"),
    ),
    Fault(
        "input: ANSI escapes in a JSONL line",
        ("classify", "--jsonl", "{tmp}/lines.jsonl"),
        exit=2,
        says=("{tmp}/lines.jsonl:1", "control character (\\x1b)"),
        setup=write_text("lines.jsonl", json.dumps({"text": "call mom\x1b[31m red"}) + "\n"),
    ),
    Fault(
        "input: a 501-character command",
        ("classify", "x" * 501),
        exit=2,
        says=("TEXT argument 1", "501 characters", "at most 500"),
    ),
    Fault(
        "input: a bell in a command",
        ("say", HIGH_BEAMS, "call\x07 mom"),
        exit=2,
        says=("TEXT argument 2", "control character (\\x07) at character 5"),
    ),
    Fault(
        "input: a missing JSONL file",
        ("classify", "--jsonl", "{tmp}/nowhere.jsonl"),
        exit=2,
        says=("{tmp}/nowhere.jsonl", "cannot read"),
    ),
]

# -- options out of their range, refused before any work --


def option_fault(command: str, options: tuple[str, ...], *says: str) -> Fault:
    """``command options``; ``train`` writes into the row's folder, the others read a command to act on."""
    argv = train_into(*options) if command == "train" else (command, *options)
    return Fault(f"option: {command} {' '.join(options)}", argv, exit=2, says=says)


OPTIONS = [
    option_fault("train", ("--per-intent", "0"), "--per-intent must be at least 20"),
    option_fault("train", ("--learning-rate", "-1"), "--learning-rate must be more than 0"),
    option_fault("train", ("--dropout", "1.5"), "--dropout must be from 0 to below 1"),
    option_fault("train", ("--epochs", "0"), "--epochs must be more than 0"),
    option_fault("train", ("--batch-size", "0"), "--batch-size must be more than 0"),
    option_fault("train", ("--variant", "gpt"), "--variant", "invalid choice: 'gpt'"),
    option_fault(
        "train",
        ("--base-model", "{tmp}/no-such-model"),
        "--base-model: no model folder at '{tmp}/no-such-model'",
    ),
    option_fault(
        "train",
        ("--base-model", "someone/not-a-model"),
        "--base-model: 'someone/not-a-model' is no model folder and not in the Hugging Face cache",
    ),
    option_fault(
        "classify", ("--act-threshold", "5", HIGH_BEAMS), "--act-threshold", "between 0 and 1, not 5"
    ),
    option_fault("classify", ("--ask-threshold", "-0.1", HIGH_BEAMS), "--ask-threshold", "not -0.1"),
    option_fault("say", ("--margin", "wide", HIGH_BEAMS), "--margin", "'wide' is not a number"),
    option_fault("listen", ("--low-logprob", "3"), "--low-logprob", "between -20 and 0, not 3"),
    option_fault("listen", ("--silence-ms", "-100"), "--silence-ms", "must be between", "-100"),
    option_fault("listen", ("--wav", "{tmp}/x.wav", "--silence-ms", "100000"), "--silence-ms", "100000"),
    option_fault("listen", ("--silence-ms", "soon"), "--silence-ms", "'soon' is not an integer"),
]

KINDS = {
    "audio": AUDIO,
    "audio file": WAV_FILES,
    "damaged model": MODELS,
    "write": WRITES,
    "encoding": ENCODINGS,
    "input": SHAPES,
    "option": OPTIONS,
}
FAULTS = [fault for rows in KINDS.values() for fault in rows]


@pytest.fixture
def scene(request: pytest.FixtureRequest, tmp_path: Path, spoken_wav: Callable[[str], Path]) -> Scene:
    fault: Fault = request.node.callspec.params["fault"]
    pulse = request.getfixturevalue("private_pulse") if fault.server == "private" else None
    if fault.server == "shared":
        request.getfixturevalue("virtual_mic")
    scene = Scene(tmp_path, spoken_wav, pulse)
    scene.prepare()
    return scene


def marks(fault: Fault) -> tuple[Any, ...]:
    return () if fault.server == "none" else (pytest.mark.audio,)


@pytest.mark.parametrize("fault", [pytest.param(f, id=f.name, marks=marks(f)) for f in FAULTS])
def test_fault(
    fault: Fault, scene: Scene, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture
) -> None:
    fault.setup(scene)
    before = snapshot(scene.tmp)
    if fault.own_process:
        result = run_own_process(fault, scene)
    else:
        result = run_here(fault, scene, monkeypatch, capfd)
    assert result.returncode == fault.exit, result.stderr
    if fault.exit == 0:
        assert not TRACEBACK.search(result.stderr), result.stderr
        assert all(any(re.search(p, line) for p in fault.also) for line in result.stderr.splitlines()), (
            result.stderr
        )
    else:
        assert_one_clear_line(result, tuple(scene.fill(words) for words in fault.says), fault.also)
    assert fault.stdout in result.stdout
    after = snapshot(scene.tmp)
    changed = sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))
    assert not changed, f"written, left or changed: {changed}"


# -- the dashboard keeps serving ------------------------------------------------------------------


class EchoAssistant:
    """Stands in for the pipeline behind the dashboard: each utterance heard becomes an event saying how
    long it was, so the test watches the real microphone without loading Whisper."""

    library = None
    transcriber = "ready"

    def __init__(self) -> None:
        self.vehicle: Any = None

    def handle_text(self, text: str, source: str = "typed") -> Event:
        return self._event(text, source)

    def hear(self, utterance: Utterance, received_at: float | None = None) -> Event:
        return self._event(f"{utterance.duration_s:.1f} s of speech", utterance.source)

    @staticmethod
    def _event(text: str, source: str) -> Event:
        return Event(
            transcript=text,
            status="refused",
            intent="out_of_scope",
            confidence=0.0,
            slots={},
            outcome="heard",
            ranking=(),
            source=source,
            timings_ms={"endpoint": 0.0, "asr": 0.0, "nlu": 0.0, "action": 0.0, "total": 0.0},
        )


@pytest.mark.audio
def test_the_dashboard_says_reconnecting_and_hears_again_after_the_audio_server_restarts(
    private_pulse, spoken_wav, monkeypatch
) -> None:
    """The issue's bar: no restart of the app; the microphone line says "reconnecting…", then is live."""
    import asyncio

    from textual.pilot import Pilot

    monkeypatch.setenv("PULSE_SERVER", private_pulse.server)
    app = CarDashboard(
        AssistantConfig(),
        assistant_factory=lambda config: EchoAssistant(),
        audio_factory=lambda device, wav: MicrophoneSource("pulse").start(),
    )

    async def until(pilot: Pilot, condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
            await pilot.pause(0.05)

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: app.listening and app.mic_status == "", "listening")
            private_pulse.stop()
            await until(pilot, lambda: app.mic_status == "reconnecting…", "showing reconnecting")
            assert "reconnecting" in app.query_one(Notice).text
            await pilot.press("o", "k", "enter")  # typing still works meanwhile
            await until(pilot, lambda: app.query_one("#exchange").event is not None, "the typed command")

            private_pulse.start()
            await until(pilot, lambda: app.mic_status == "" and not app.query_one(Notice).text, "live again")
            player = private_pulse.play(spoken_wav(HIGH_BEAMS))
            await until(
                pilot, lambda: "s of speech" in app.query_one("#exchange").event.transcript, "a command"
            )
            player.wait(timeout=10)

    asyncio.run(scenario())
