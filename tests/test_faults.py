"""The fault table: bad input and failing audio, each row run through the real ``car-assistant``
command, asserting what a person sees: the exit status, exactly one line on stderr naming what went
wrong and where, and no traceback; rows that must keep serving assert that instead. The dashboard's
rows (the app keeps serving while the microphone goes and comes back) follow the table.

To add a row, add a :class:`Fault` to ``FAULTS``: the arguments (``{tmp}`` is the row's own folder),
what ``setup`` breaks before the command runs, and for faults that strike while it runs, ``during``,
which gets the running command. Every row that fails ends in :func:`assert_one_clear_line`.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import resample_poly

from assistant.audio import MicrophoneSource, load_wav
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


# -- running a command ---------------------------------------------------------------------------


@dataclass
class Scene:
    """What a row may use: its own folder, espeak-ng's voice, and (``server="private"``) a PulseAudio
    server of its own that it may stop and start."""

    tmp: Path
    speak: Callable[[str], Path]
    pulse: Any = None

    def env(self, server: str) -> dict[str, str]:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
        if server == "private":
            return {**env, **self.pulse.env}
        if server == "none":  # nothing answers here, and nothing may be autospawned
            nowhere = self.tmp / "no-server"
            nowhere.mkdir(exist_ok=True)
            return {**env, "PULSE_RUNTIME_PATH": str(nowhere), "PULSE_SERVER": f"unix:{nowhere}/native"}
        return env


class Running:
    """A ``car-assistant`` process, its output read line by line as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str], launcher: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            [*launcher, sys.executable, "-m", "assistant.cli", *argv],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
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


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


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


@dataclass(frozen=True)
class Fault:
    """One row: run ``car-assistant argv`` after ``setup``, with ``during`` acting on it as it runs.

    ``exit`` is the status it must end with; ``says``, what its one line on stderr must contain
    (empty with ``exit=0``: nothing may appear on stderr but the ``also`` lines); ``also``, regular
    expressions for the progress lines the command prints besides; ``stdout``, text its output must
    contain; ``server``: the shared virtual microphone, none at all, or one of the row's own.
    """

    name: str
    argv: tuple[str, ...]
    exit: int
    says: tuple[str, ...]
    setup: Callable[[Scene], None] = lambda scene: None
    during: Callable[[Running, Scene], None] | None = None
    also: tuple[str, ...] = ()
    stdout: str = ""
    server: Literal["none", "shared", "private"] = "none"
    file_modes_apply: bool = False
    """Run it held to file modes even as root (the unreadable-file rows)."""

    def run(self, scene: Scene) -> Finished:
        self.setup(scene)
        argv = [arg.format(tmp=scene.tmp) for arg in self.argv]
        running = Running(argv, scene.env(self.server), HELD_TO_FILE_MODES if self.file_modes_apply else ())
        try:
            if self.during is not None:
                self.during(running, scene)
            return running.finish()
        finally:
            if running.process.poll() is None:
                running.process.kill()


def write_text(name: str, text: str) -> Callable[[Scene], None]:
    return lambda scene: (scene.tmp / name).write_text(text)


def write_audio(name: str, audio: np.ndarray, rate: int = 16_000) -> Callable[[Scene], None]:
    return lambda scene: sf.write(scene.tmp / name, audio, rate, subtype="PCM_16")


def speech_as_stereo_44k(scene: Scene) -> None:
    """The command written at 44.1 kHz in two channels: what a phone or a DAW saves."""
    mono = resample_poly(load_wav(scene.speak(HIGH_BEAMS)), 441, 160)
    sf.write(scene.tmp / "stereo-44k.wav", np.stack([mono, mono], axis=1), 44_100, subtype="PCM_16")


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


HELD_TO_FILE_MODES = ("setpriv", "--bounding-set=-dac_override,-dac_read_search") if os.geteuid() == 0 else ()
"""Root reads a file whatever its mode; without these two capabilities it is held to the modes like a user."""

FAULTS = [
    Fault(
        "no audio server",
        ("listen", "--device", "pulse"),
        exit=2,
        says=("No microphone 'pulse'", "no input devices", "audio server"),
        server="none",
    ),
    Fault(
        "no audio server: devices",
        ("devices",),
        exit=1,
        says=("no audio input devices",),
        server="none",
    ),
    Fault(
        "a device name that does not exist",
        ("listen", "--device", "no such mic"),
        exit=2,
        says=("'no such mic'", "matches no input device", "pulse"),
        server="shared",
    ),
    Fault(
        "a device index that does not exist",
        ("listen", "--device", "99"),
        exit=2,
        says=("index 99",),
        server="shared",
    ),
    Fault(
        "the server goes away mid-stream, told not to reconnect",
        ("listen", "--device", "pulse", "--no-reconnect"),
        exit=1,
        says=("Microphone 'mic:pulse' stopped", "audio server went away"),
        during=server_goes_away,
        also=(LISTENING,),
        server="private",
    ),
    Fault(
        "the server goes away and comes back: listening resumes, Ctrl-C ends it",
        ("listen", "--device", "pulse"),
        exit=130,
        says=("stopped by Ctrl-C", "mic:pulse", "blocks"),
        during=server_goes_and_comes_back,
        also=(LISTENING, LOST, BACK),
        server="private",
    ),
    Fault(
        "Ctrl-C while listening",
        ("listen", "--device", "pulse"),
        exit=130,
        says=("stopped by Ctrl-C", "mic:pulse", "0 dropped"),
        during=ctrl_c_while_listening,
        also=(LISTENING,),
        server="shared",
    ),
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
        setup=lambda scene: (
            write_audio("locked.wav", np.zeros(1600))(scene),
            (scene.tmp / "locked.wav").chmod(0),
        ),
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
    Fault(
        "a negative --silence-ms",
        ("listen", "--silence-ms", "-100"),
        exit=2,
        says=("--silence-ms", "must be between", "-100"),
    ),
    Fault(
        "a --silence-ms longer than any command's pause",
        ("listen", "--wav", "{tmp}/x.wav", "--silence-ms", "100000"),
        exit=2,
        says=("--silence-ms", "must be between", "100000"),
    ),
    Fault(
        "a --silence-ms that is not a number",
        ("listen", "--silence-ms", "soon"),
        exit=2,
        says=("--silence-ms", "'soon' is not an integer"),
    ),
]


@pytest.fixture
def scene(request: pytest.FixtureRequest, tmp_path: Path, spoken_wav: Callable[[str], Path]) -> Scene:
    fault: Fault = request.node.callspec.params["fault"]
    pulse = request.getfixturevalue("private_pulse") if fault.server == "private" else None
    if fault.server == "shared":
        request.getfixturevalue("virtual_mic")
    return Scene(tmp_path, spoken_wav, pulse)


def marks(fault: Fault) -> tuple[Any, ...]:
    return () if fault.server == "none" else (pytest.mark.audio,)


@pytest.mark.parametrize("fault", [pytest.param(f, id=f.name, marks=marks(f)) for f in FAULTS])
def test_fault(fault: Fault, scene: Scene) -> None:
    result = fault.run(scene)
    assert result.returncode == fault.exit, result.stderr
    if fault.exit == 0:
        assert not TRACEBACK.search(result.stderr), result.stderr
        assert all(any(re.search(p, line) for p in fault.also) for line in result.stderr.splitlines()), (
            result.stderr
        )
    else:
        assert_one_clear_line(result, fault.says, fault.also)
    assert fault.stdout in result.stdout


# -- the dashboard keeps serving ------------------------------------------------------------------


class EchoAssistant:
    """Stands in for the pipeline behind the dashboard: each utterance heard becomes an event saying how
    long it was, so the test watches the real microphone without loading Whisper."""

    library = None
    transcriber = "ready"
    voice = None

    def __init__(self) -> None:
        self.vehicle: Any = None

    def handle_text(self, text: str, source: str = "typed") -> Event:
        return self._event(text, source)

    def listen(self, source: Any, stop: threading.Event) -> Any:
        for utterance in source.utterances():
            yield self._heard(utterance)
            if stop.is_set():
                return

    def _heard(self, utterance: Utterance) -> Event:
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
