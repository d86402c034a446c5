"""The dashboard, driven with Textual's Pilot: typed and push-to-talk commands reach the car and the
conversation panel, F3 switches (or explains how to get) the other model, no microphone still means a
usable dashboard, and the main screen matches its snapshots at 80×24 and 120×40."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from assistant.audio import AudioError
from assistant.dialogue import Dialogue
from assistant.events import Event
from assistant.intents import load_intents, respond
from assistant.pipeline import MODELS_DIR, Assistant, AssistantConfig
from assistant.policy import Policy, PolicyOptions
from assistant.tui.app import CarDashboard
from assistant.tui.car import LARGE, SMALL, CarDiagram
from assistant.tui.conversation import Exchange
from assistant.tui.draw import SHOWN_CHARS
from assistant.tui.header import Notice, StatusBar
from assistant.vehicle import Climate, Lights, Media, Navigation, Phone, VehicleState, Windows

HIGH_BEAMS = "turn on the high beams"
NO_MIC = "No microphone found: PortAudio reports no input devices. Use --wav FILE or plug one in."
SNAPSHOT_STATE = VehicleState(
    speed_kmh=62,
    lights=Lights(headlights=True, hazards=True, interior=True),
    climate=Climate(target_c=22.5, fan=3, ac=True),
    windows=Windows(driver=40, rear_right=100, sunroof=35),
    media=Media(playing=True, index=1, volume=60),
    navigation=Navigation("the airport", True),
    phone=Phone("in_call", "Mom", 0.0),
)


# -- helpers ----------------------------------------------------------------------------------------


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


async def wait_for(pilot: Pilot, condition: Callable[[], Any], timeout: float = 30.0, what: str = "") -> None:
    """Let the app run until ``condition()`` holds (workers report through messages)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what or condition}")
        await pilot.pause(0.05)


async def type_command(pilot: Pilot, text: str) -> None:
    await pilot.press(*["space" if char == " " else char for char in text], "enter")


def no_microphone(device: str | None, wav: Any) -> Any:
    raise AudioError(NO_MIC)


def visible_car(app: CarDashboard) -> CarDiagram:
    return next(car for car in app.query(CarDiagram) if car.display)


def rendered(widget: Any) -> str:
    return widget.render().plain


def last_event(app: CarDashboard) -> Event | None:
    return app.query_one(Exchange).event


# -- a real assistant, loaded once ----------------------------------------------------------------


@pytest.fixture(scope="module")
def assistant() -> Assistant:
    """The trained QLoRA classifier and Whisper tiny.en, loaded once for the module."""
    return Assistant.from_config(AssistantConfig(), with_speech=True)


def dashboard(assistant: Assistant, **options: Any) -> CarDashboard:
    options.setdefault("audio_factory", no_microphone)
    return CarDashboard(AssistantConfig(), assistant_factory=lambda config: assistant, **options)


def test_typed_command_lights_the_high_beams(assistant: Assistant) -> None:
    async def scenario() -> None:
        app = dashboard(assistant)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the classifier")
            await type_command(pilot, HIGH_BEAMS)
            await wait_for(pilot, lambda: last_event(app) is not None, what="the command's event")

            assert app.vehicle.state.lights.high_beams
            car = visible_car(app)
            assert car.has_class("-high_beams") and car.has_class("-headlights")
            assert "╲││╱" in rendered(car)  # the beams shine ahead of the car
            event = last_event(app)
            assert event.intent == "lights" and event.status == "done"
            conversation = rendered(app.query_one(Exchange))
            assert HIGH_BEAMS in conversation
            assert "lights" in conversation
            assert "High beams on" in conversation
            assert "High beams on" in rendered(app.query_one("#history Static"))

    run(scenario)


def test_refused_input_is_shown_with_the_reason(assistant: Assistant) -> None:
    async def scenario() -> None:
        app = dashboard(assistant)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the classifier")
            await type_command(pilot, "tell me a joke")
            await wait_for(pilot, lambda: last_event(app) is not None, what="the command's event")

            event = last_event(app)
            assert event.status == "refused" and event.reason
            conversation = rendered(app.query_one(Exchange))
            assert "Refused" in conversation and event.reason in conversation
            assert app.vehicle.state == VehicleState()

    run(scenario)


def test_push_to_talk_plays_a_wav_file(assistant: Assistant, spoken_wav: Callable[[str], Path]) -> None:
    async def scenario() -> None:
        app = dashboard(assistant, wav=[spoken_wav(HIGH_BEAMS)], audio_factory=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.listening, what="the voice loop")
            assert app.voice_mode == "push_to_talk"
            await pilot.press("space")
            assert app.talking
            await pilot.press("space")
            await wait_for(pilot, lambda: last_event(app) is not None, what="the transcribed command")

            event = last_event(app)
            assert "beams" in event.transcript.lower()
            assert event.source != "typed"
            assert app.vehicle.state.lights.high_beams
            assert "Heard" in rendered(app.query_one(Exchange))

    run(scenario)


def test_switching_to_a_missing_model_says_how_to_train_it(assistant: Assistant, tmp_path: Path) -> None:
    async def scenario() -> None:
        app = dashboard(assistant, models_dir=tmp_path)
        notes: list[str] = []
        app.notify = lambda message, **kwargs: notes.append(message)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the classifier")
            await pilot.press("f3")
            await pilot.pause()

            assert any("car-assistant train --variant bert" in note for note in notes), notes
            assert app.model_name == "qlora" and app.nlu_status == "ready"
            assert assistant.understander.classifier.variant == "qlora"

    run(scenario)


def test_switching_model_loads_the_other_folder(assistant: Assistant, tmp_path: Path) -> None:
    """A copy of the QLoRA model named ``bert`` stands in for a trained BERT (training takes minutes)."""
    shutil.copytree(MODELS_DIR / "qlora", tmp_path / "bert", ignore=shutil.ignore_patterns("*.png", "*.md"))
    original = assistant.understander

    async def scenario() -> None:
        app = dashboard(assistant, models_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the classifier")
            await pilot.press("f3")
            await wait_for(pilot, lambda: app.model_dir.name == "bert", timeout=60, what="the other model")

            assert assistant.understander.classifier.model_dir == tmp_path / "bert"
            assert app.model_name == "bert"
            assert "✔ bert" in rendered(app.query_one(StatusBar))
            await type_command(pilot, HIGH_BEAMS)
            await wait_for(pilot, lambda: last_event(app) is not None, what="a command on the new model")
            assert app.vehicle.state.lights.high_beams

    try:
        run(scenario)
    finally:
        assistant.understander = original


def test_without_a_microphone_typing_still_works(assistant: Assistant) -> None:
    async def scenario() -> None:
        app = dashboard(assistant)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.query_one(Notice).display, what="the no-microphone note")
            note = rendered(app.query_one(Notice))
            assert "No microphone" in note and NO_MIC in note
            assert app.asr_status == "off"
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the classifier")
            await type_command(pilot, HIGH_BEAMS)
            await wait_for(pilot, lambda: last_event(app) is not None, what="the command's event")
            assert app.vehicle.state.lights.high_beams

    run(scenario)


def test_commands_typed_while_loading_are_queued(assistant: Assistant) -> None:
    loaded = threading.Event()

    def slow_factory(config: AssistantConfig) -> Assistant:
        loaded.wait(120)  # set by the test once it has seen the command queued; the bound only stops a hang
        return assistant

    async def scenario() -> None:
        app = CarDashboard(AssistantConfig(), assistant_factory=slow_factory, audio_factory=no_microphone)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await type_command(pilot, HIGH_BEAMS)
            assert "still loading" in rendered(app.query_one(Exchange))
            loaded.set()
            await wait_for(pilot, lambda: last_event(app) is not None, what="the queued command")
            assert app.vehicle.state.lights.high_beams

    run(scenario)


# -- the car asks, the driver answers -------------------------------------------------------------


class Clock:
    """The dashboard's clock, wound by hand so a question can lapse without waiting ten seconds."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def asking(assistant: Assistant) -> Any:
    """The module's assistant, asking before every command (no confidence reaches 1)."""
    policy = assistant.policy
    assistant.policy = Policy(assistant.library, PolicyOptions(act_threshold=1.0))
    assistant.dialogue = Dialogue()
    yield assistant
    assistant.policy, assistant.dialogue, assistant.clock = policy, Dialogue(), time.monotonic


def answer_keys_shown(app: CarDashboard) -> bool:
    return app.check_action("answer", (True,)) is True


async def ask_for_high_beams(pilot: Pilot, app: CarDashboard) -> None:
    await wait_for(pilot, lambda: app.nlu_status == "ready", what="the classifier")
    await type_command(pilot, HIGH_BEAMS)
    await wait_for(pilot, lambda: last_event(app) is not None, what="the question")
    await pilot.pause()
    assert last_event(app).status == "asked"
    conversation = rendered(app.query_one(Exchange))
    assert last_event(app).outcome in conversation and "^Y" in conversation and "^N" in conversation
    assert "10 s left" in conversation
    assert answer_keys_shown(app)
    assert not app.vehicle.state.lights.high_beams


@pytest.mark.parametrize(("key", "done"), [("ctrl+y", True), ("ctrl+n", False)], ids=["yes", "no"])
def test_a_question_is_answered_with_its_keys(asking: Assistant, key: str, done: bool) -> None:
    async def scenario() -> None:
        app = dashboard(asking, clock=Clock())
        async with app.run_test(size=(80, 24)) as pilot:
            await ask_for_high_beams(pilot, app)
            await pilot.press(key)
            await wait_for(pilot, lambda: last_event(app).status != "asked", what="the answer")
            assert app.vehicle.state.lights.high_beams is done
            assert last_event(app).status == ("done" if done else "refused")
            if not done:
                assert "you said no" in rendered(app.query_one(Exchange))
            assert not answer_keys_shown(app)

    run(scenario)


def test_a_typed_yes_answers_and_an_unanswered_question_lapses(asking: Assistant) -> None:
    async def scenario() -> None:
        clock = Clock()
        app = dashboard(asking, clock=clock)
        async with app.run_test(size=(120, 40)) as pilot:
            await ask_for_high_beams(pilot, app)
            await type_command(pilot, "yes")
            await wait_for(pilot, lambda: last_event(app).status == "done", what="the typed yes")
            assert app.vehicle.state.lights.high_beams

            await type_command(pilot, "open the sunroof")
            await wait_for(
                pilot, lambda: last_event(app).transcript == "open the sunroof", what="the question"
            )
            clock.now += 4
            await pilot.pause(0.3)
            assert "6 s left" in rendered(app.query_one(Exchange))
            clock.now += 7
            await wait_for(pilot, lambda: not answer_keys_shown(app), what="the question to lapse")
            assert "lapsed" in rendered(app.query_one(Exchange))
            await pilot.press("ctrl+y")
            await type_command(pilot, "yes")
            await wait_for(pilot, lambda: last_event(app).transcript == "yes", what="the late yes")
            assert last_event(app).status == "refused"
            assert app.vehicle.state.windows.sunroof == 0

    run(scenario)


# -- keys that only touch the car -----------------------------------------------------------------


def test_speed_call_help_and_reset_keys() -> None:
    async def scenario() -> None:
        app = CarDashboard(
            AssistantConfig(),
            assistant_factory=lambda config: ScriptedAssistant(),
            audio_factory=no_microphone,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("plus", "plus", "minus")
            assert app.vehicle.state.speed_kmh == 10
            await pilot.press("f4")
            assert app.vehicle.state.phone.status == "ringing"
            assert "Ringing" in rendered(app.query_one("PhonePanel"))
            await pilot.press("f5")
            assert app.vehicle.state == VehicleState()
            await pilot.press("f1")
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape")
            assert type(app.screen).__name__ == "Screen"

    run(scenario)


def test_slash_on_the_empty_box_is_the_type_key_not_text() -> None:
    async def scenario() -> None:
        app = CarDashboard(
            AssistantConfig(),
            assistant_factory=lambda config: ScriptedAssistant(),
            audio_factory=no_microphone,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            box = app.query_one("#command")
            await pilot.press("slash", "o", "n", "slash")  # the box has focus from the start
            assert box.value == "on/"
            await pilot.press("escape", "slash")
            assert box.has_focus

    run(scenario)


def scripted_dashboard() -> CarDashboard:
    return CarDashboard(
        AssistantConfig(),
        assistant_factory=lambda config: ScriptedAssistant(),
        audio_factory=no_microphone,
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [("open the window " * 40, "639 characters long"), ("call\x07 mom\x1b[31m red", "control character")],
    ids=["too-long", "control-characters"],
)
def test_typed_text_that_is_no_command_is_refused_in_one_note(text: str, words: str) -> None:
    async def scenario() -> None:
        app = scripted_dashboard()
        notes: list[str] = []
        app.notify = lambda message, **kwargs: notes.append(message)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the scripted classifier")
            app.query_one("#command", Input).value = text
            await pilot.press("enter")
            await pilot.pause(0.2)

            assert len(notes) == 1 and words in notes[0] and "\n" not in notes[0], notes
            assert last_event(app) is None and app.vehicle.state == VehicleState()

    run(scenario)


def test_a_long_command_is_shortened_in_the_history_and_conversation() -> None:
    async def scenario() -> None:
        app = scripted_dashboard()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the scripted classifier")
            long_command = "turn on the high beams " * 20
            app.query_one("#command", Input).value = long_command
            await pilot.press("enter")
            await wait_for(pilot, lambda: last_event(app) is not None, what="the scripted event")

            for shown in (rendered(app.query_one("#history Static")), rendered(app.query_one(Exchange))):
                assert "…" in shown and shown.count("high beams") <= SHOWN_CHARS // len("high beams ")

    run(scenario)


def test_the_dashboard_module_imports_no_model_library() -> None:
    """The first frame must not wait for torch, transformers or Whisper: workers import them."""
    code = "import sys, assistant.tui.app; print(sorted({'torch', 'transformers', 'faster_whisper'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_car_shapes_have_a_mask_cell_for_every_art_cell() -> None:
    for shape in (SMALL, LARGE):
        assert len(shape.art) == len(shape.mask)
        assert all(len(art) == len(mask) for art, mask in zip(shape.art, shape.mask, strict=True))


# -- snapshots ------------------------------------------------------------------------------------


class ScriptedAssistant:
    """Fixed answers, so the snapshots never change with a retrained model or a slower machine."""

    library = None
    transcriber = "ready"
    voice = None

    def __init__(self) -> None:
        self.vehicle: Any = None

    def handle_text(self, text: str, source: str = "typed") -> Event:
        outcome = self.vehicle.execute("set_light", "lights", {"light": "high_beams", "state": "on"})
        return Event(
            transcript=text,
            intent="lights",
            confidence=0.97,
            slots={"light": "high_beams", "state": "on"},
            status="done",
            outcome=respond(load_intents(), outcome.key, outcome.values),
            carried_out=outcome.done,
            ranking=(("lights", 0.97), ("windows", 0.02), ("phone", 0.01)),
            source=source,
            timings_ms={"endpoint": 0.0, "asr": 0.0, "nlu": 23.4, "action": 0.1, "total": 23.6},
        )

    def listen(self, source: Any, stop: threading.Event) -> Any:
        stop.wait()
        return iter(())


class SteadyMicrophone:
    """A microphone stand-in at a constant level, in hands-free mode."""

    mode = "hands_free"
    level_dbfs = -24.0

    def start_talking(self) -> None: ...

    def stop_talking(self) -> None: ...

    def close(self) -> None: ...


def snapshot_app() -> CarDashboard:
    return CarDashboard(
        AssistantConfig(),
        assistant_factory=lambda config: ScriptedAssistant(),
        audio_factory=lambda device, wav: SteadyMicrophone(),
        state=SNAPSHOT_STATE,
        clock=lambda: 125.2,
    )


async def settle_with_a_command(pilot: Pilot) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.listening, what="the scripted voice loop")
    await type_command(pilot, HIGH_BEAMS)
    await wait_for(pilot, lambda: last_event(app) is not None, what="the scripted event")
    app.query_one("#command").cursor_blink = False
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_main_screen_snapshot(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(snapshot_app(), terminal_size=size, run_before=settle_with_a_command)


class FakeVoice:
    """Stands in for Piper: keeps what the car says."""

    def __init__(self) -> None:
        self.enabled = True
        self.said: list[str] = []

    def say(self, text: str) -> None:
        self.said.append(text)

    def close(self) -> None:
        self.enabled = False


def test_the_car_speaks_its_phone_and_f6_silences_it() -> None:
    async def scenario() -> None:
        voice = FakeVoice()
        app = CarDashboard(
            AssistantConfig(voice=True),
            assistant_factory=lambda config: ScriptedAssistant(),
            audio_factory=no_microphone,
            voice_factory=lambda: voice,
        )
        notes: list[str] = []
        app.notify = lambda message, **kwargs: notes.append(message)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: getattr(app.assistant, "voice", None) is voice, what="the voice")
            await pilot.press("f4")
            assert voice.said and voice.said[-1].endswith("is calling.") and voice.said[-1] in notes
            await pilot.press("f6")
            assert not voice.enabled and notes[-1] == "Spoken replies off."
            await pilot.press("f6")
            assert voice.enabled and notes[-1] == "Spoken replies on."

    run(scenario)
