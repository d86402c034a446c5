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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.cells import cell_len
from textual.app import App
from textual.binding import Binding
from textual.content import Content
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.widgets._footer import FooterKey

from assistant.audio import AudioError
from assistant.dialogue import Dialogue
from assistant.events import SAMPLE_RATE, Command, Event, Utterance
from assistant.intents import load_intents, respond
from assistant.pipeline import MODELS_DIR, Assistant, AssistantConfig
from assistant.policy import Policy, PolicyOptions
from assistant.tui.app import CarDashboard
from assistant.tui.car import LARGE, SMALL, CarDiagram
from assistant.tui.conversation import Exchange, MicMeter
from assistant.tui.draw import SHOWN_CHARS, TRACK
from assistant.tui.header import Notice, StatusBar
from assistant.tui.help import key_lines, key_name
from assistant.tui.history import HistoryLog
from assistant.tui.messages import AudioOpened, Heard
from assistant.tui.panels import StatePanel
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


def test_a_command_heard_as_the_dashboard_closes_is_dropped(assistant: Assistant) -> None:
    """A worker's report can be delivered after the screens are gone (seen in CI: a spoken command
    finished just as the app quit); it must not raise there."""
    app = dashboard(assistant)
    heard: list[Event] = []

    async def scenario() -> None:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the classifier")
            await type_command(pilot, HIGH_BEAMS)
            await wait_for(pilot, lambda: last_event(app) is not None, what="the command's event")
            heard.append(last_event(app))

    run(scenario)
    assert not app.screen_stack
    app.on_heard(Heard(heard[0]))
    assert app.question is None

    class LateSource:  # a microphone the audio worker opened just as the app closed
        closed = False

        def close(self) -> None:
            self.closed = True

    late = LateSource()
    app.on_audio_opened(AudioOpened(late))
    assert late.closed and app.source is None  # nothing else would close its stream


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


def test_a_no_alone_undoes_the_last_command_and_offers_no_yes_or_no(assistant: Assistant) -> None:
    async def scenario() -> None:
        app = dashboard(assistant, clock=Clock())
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the classifier")
            await type_command(pilot, "open the sunroof")
            await wait_for(pilot, lambda: app.vehicle.state.windows.sunroof == 100, what="the sunroof")
            await type_command(pilot, "no")
            await wait_for(pilot, lambda: last_event(app).transcript == "no", what="the no")
            shown = rendered(app.query_one(Exchange))
            assert "What should I do instead?" in shown and "lapsed" not in shown and "s left" not in shown
            assert app.vehicle.state.windows.sunroof == 0 and not answer_keys_shown(app)

    assistant.vehicle.reset()
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


WIPERS_YAML = """
language: en
intents:
  wipers:
    description: The windscreen wipers, on or off
    action: set_wipers
    data:
      - sentences:
          - "[please] (turn|switch) {wiper_state:state} [the] wipers"
out_of_scope:
  sentences:
    - "tell me a joke"
lists:
  wiper_state:
    values:
      - in: "(on|up)"
        out: "on"
      - in: "off"
        out: "off"
"""


def test_the_help_lists_every_key_and_one_thing_to_say_per_intent(tmp_path: Path) -> None:
    """Built from the app's bindings and the YAML: an intent only the YAML knows shows up, in the help
    and in the conversation's first hint."""
    (tmp_path / "wipers.yaml").write_text(WIPERS_YAML)
    assistant = ScriptedAssistant()
    assistant.library = load_intents(tmp_path / "wipers.yaml")

    async def scenario() -> None:
        app = CarDashboard(
            AssistantConfig(), assistant_factory=lambda config: assistant, audio_factory=no_microphone
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the scripted classifier")
            await pilot.pause()
            assert "“turn on wipers”" in rendered(app.query_one(Exchange))  # before the first command
            await pilot.press("f1")
            shown = app.screen.query_one(Static).render().plain
            for binding in CarDashboard.BINDINGS:
                if not binding.system:
                    assert key_name(binding, app.get_key_display) in shown, binding
            assert "“turn on wipers”" in shown and "wipers" in shown
            assert "high beams" not in shown  # no example of its own: only what the YAML says

    run(scenario)


def test_keys_of_one_action_share_a_help_line_and_a_new_key_gets_one() -> None:
    bindings = [
        Binding("plus", "speed(1)", "Speed", key_display="+/-", tooltip="faster or slower"),
        Binding("minus", "speed(-1)", "Slower", show=False),
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("f9", "honk", "Honk"),
        Binding("ctrl+c", "help_quit", show=False, system=True),
        Binding("escape", "leave_command", show=False),
    ]
    lines = key_lines(bindings, App().get_key_display)
    assert lines == [("+ / -", "faster or slower"), ("F1 / ?", "Help"), ("F9", "Honk")]


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


class SteadyMicrophone:
    """A microphone stand-in at a constant level, in hands-free mode, that hears nothing until closed."""

    modes = ("hands_free", "push_to_talk")
    level_dbfs = -24.0
    reconnecting = False
    note = ""

    def __init__(self, mode: str = "hands_free") -> None:
        self.mode = mode
        self._closed = threading.Event()

    def utterances(self, drafts: bool = False) -> Iterator[Any]:
        self._closed.wait()
        yield from ()

    def start_talking(self) -> None: ...

    def stop_talking(self) -> None: ...

    def close(self) -> None:
        self._closed.set()


class OneModeSource(SteadyMicrophone):
    """A source that only works push-to-talk, as the ``--wav`` replay does."""

    modes = ("push_to_talk",)
    note = "two clips to go"

    def __init__(self) -> None:
        super().__init__("push_to_talk")


def test_a_source_with_one_mode_keeps_it_and_shows_its_note() -> None:
    async def scenario() -> None:
        app = CarDashboard(
            AssistantConfig(),
            assistant_factory=lambda config: ScriptedAssistant(),
            audio_factory=lambda device, wav: OneModeSource(),
        )
        notes: list[str] = []
        app.notify = lambda message, **kwargs: notes.append(message)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.listening, what="the scripted voice loop")
            assert app.voice_mode == "push_to_talk"
            assert app.mic_status == "two clips to go"
            await pilot.press("f2")
            assert app.voice_mode == app.source.mode == "push_to_talk"
            assert notes and "hands-free" in notes[-1]

    run(scenario)


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


# -- one thread at a time inside the assistant -----------------------------------------------------


class Watched:
    """A stand-in assistant that counts the times two threads were inside it at once."""

    library = None

    def __init__(self) -> None:
        self.vehicle: Any = None
        self.visits: list[str] = []
        self.overlaps = 0
        self._inside = 0
        self._count = threading.Lock()
        self._transcriber: Any = None

    @contextmanager
    def _visit(self, what: str) -> Iterator[None]:
        with self._count:
            self._inside += 1
            self.overlaps += self._inside > 1
            self.visits.append(what)
        time.sleep(0.1)  # long enough for another thread to come in, were it let in
        with self._count:
            self._inside -= 1
        yield

    @property
    def transcriber(self) -> Any:
        return self._transcriber

    @transcriber.setter
    def transcriber(self, transcriber: Any) -> None:
        with self._visit("whisper"):
            self._transcriber = transcriber

    def handle_text(self, text: str, source: str = "typed") -> Event:
        with self._visit(text):
            return ScriptedAssistant.handle_text(self, text, source)  # type: ignore[arg-type]

    def hear(self, utterance: Utterance, received_at: float | None = None) -> Event:
        with self._visit("spoken"):
            return ScriptedAssistant.handle_text(self, "heard", utterance.source)  # type: ignore[arg-type]

    def use_model(self, model_dir: Path) -> None:
        with self._visit("model"):
            pass


class Chatty(SteadyMicrophone):
    """A microphone that hears four commands once ``speak`` is set, then nothing."""

    def __init__(self, speak: threading.Event) -> None:
        super().__init__()
        self.speak = speak

    def utterances(self, drafts: bool = False) -> Iterator[Utterance]:
        self.speak.wait(30)
        for _ in range(4):
            yield Utterance(np.zeros(SAMPLE_RATE // 2, dtype=np.float32), "chatty", 0.0, 0.0)
        yield from super().utterances()


async def send(pilot: Pilot, text: str) -> None:
    pilot.app.query_one("#command", Input).value = text
    await pilot.press("enter")


def test_workers_never_use_the_assistant_at_the_same_time(tmp_path: Path) -> None:
    """Whisper arriving during a typed command; spoken and typed commands and a model switch all at once:
    the assistant takes them one at a time, typed ones in the order typed."""
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "training.json").write_text("{}")
    watched, whisper_loaded, speak = Watched(), threading.Event(), threading.Event()

    def load_whisper(config: AssistantConfig, library: Any) -> str:
        whisper_loaded.wait(30)
        return "whisper"

    async def scenario() -> None:
        app = CarDashboard(
            AssistantConfig(),
            assistant_factory=lambda config: watched,
            transcriber_factory=load_whisper,
            audio_factory=lambda device, wav: Chatty(speak),
            models_dir=tmp_path,
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the watched assistant")
            await send(pilot, "lights on")
            whisper_loaded.set()
            await wait_for(pilot, lambda: app.listening, what="the voice loop")
            speak.set()
            await pilot.press("f3")
            await send(pilot, "more")
            await send(pilot, "again")
            await wait_for(pilot, lambda: app.query_one(HistoryLog).count == 7, what="seven commands")
            await wait_for(pilot, lambda: app.model_name == "bert", what="the model switch")

    run(scenario)
    assert sorted(watched.visits) == sorted(["whisper", "model", "lights on", "more", "again", *["spoken"] * 4])
    assert watched.overlaps == 0, watched.visits
    typed = [visit for visit in watched.visits if visit in ("lights on", "more", "again")]
    assert typed == ["lights on", "more", "again"]


# -- 80×24: nothing cut off -------------------------------------------------------------------------


class AskingAssistant(ScriptedAssistant):
    """Asks before every command, as the real one does when unsure, with three intents ranked."""

    def __init__(self) -> None:
        super().__init__()
        self.dialogue = Dialogue()
        self.clock: Callable[[], float] = time.monotonic

    def handle_text(self, text: str, source: str = "typed") -> Event:
        command = Command("lights", {"light": "high_beams", "state": "on"}, "set_light")
        question = "Turn on the high beams?"
        self.dialogue = self.dialogue.asked(command, question, self.clock())
        return Event(
            transcript=text,
            status="asked",
            intent="lights",
            confidence=0.6,
            slots=command.slots,
            outcome=question,
            ranking=(("lights", 0.6), ("windows", 0.3), ("phone", 0.1)),
            source=source,
            timings_ms={"endpoint": 0.0, "asr": 0.0, "nlu": 23.4, "action": 0.0, "total": 23.6},
        )


def cut_off(app: CarDashboard) -> list[str]:
    """The key widgets not wholly on screen: outside it, clipped by their container, or drawing more
    lines, or wider lines, than they have room for."""
    screen = app.screen.region
    widgets = [
        app.query_one(StatusBar),
        visible_car(app),
        *app.query(StatePanel),
        app.query_one(MicMeter),
        app.query_one(Exchange),
        app.query_one("#command"),
        app.query_one(HistoryLog),
        *app.query(FooterKey),
    ]
    problems = []
    for widget in [*widgets, *app.query("#history Static")]:
        geometry = app.screen.find_widget(widget)
        if not (screen.contains_region(geometry.region) and geometry.clip.contains_region(geometry.region)):
            problems.append(f"{widget!r} at {geometry.region} is clipped to {geometry.clip}")
        room = widget.content_region.size
        if isinstance(widget, CarDiagram | StatePanel | MicMeter | Exchange | Static):
            drawn = widget.render()
            assert isinstance(drawn, Content), drawn
            lines = [line.plain for line in drawn.wrap(room.width)]
            if len(lines) > room.height:
                problems.append(f"{widget!r} draws {lines} in {room}")
        if isinstance(widget, Input) and cell_len(widget.placeholder) > room.width:
            problems.append(f"{widget!r}'s hint {widget.placeholder!r} is wider than {room}")
    return problems


def test_at_80x24_the_car_its_panels_and_the_conversation_fit() -> None:
    async def scenario() -> None:
        app = snapshot_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await settle_with_a_command(pilot)
            assert cut_off(app) == []

    run(scenario)


def test_at_80x24_a_question_its_countdown_and_its_keys_fit_beside_a_notice() -> None:
    clock = Clock()

    async def scenario() -> None:
        app = CarDashboard(
            AssistantConfig(),
            assistant_factory=lambda config: AskingAssistant(),
            audio_factory=no_microphone,
            clock=clock,
        )
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the scripted classifier")
            await wait_for(pilot, lambda: app.query_one(Notice).display, what="the no-microphone note")
            await type_command(pilot, HIGH_BEAMS)
            await wait_for(pilot, lambda: last_event(app) is not None, what="the question")
            await pilot.pause()
            shown = rendered(app.query_one(Exchange))
            assert "Turn on the high beams?" in shown and "10 s left" in shown
            clock.now += 3
            await pilot.pause(0.3)
            assert "7 s left" in rendered(app.query_one(Exchange))
            footer = " ".join(rendered(key) for key in app.query(FooterKey))
            assert "^Y" in footer and "^N" in footer
            assert cut_off(app) == []

    run(scenario)


def test_the_three_ranked_intents_have_bars_of_three_colours() -> None:
    event = AskingAssistant().handle_text(HIGH_BEAMS)

    async def scenario() -> None:
        app = scripted_dashboard()
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.nlu_status == "ready", what="the scripted classifier")
            exchange = app.query_one(Exchange)
            exchange.event = event
            await pilot.pause()
            lines = exchange.render().split("\n")[1:4]
            bars = [{str(span.style) for span in line.spans if "━" in line.plain[span.start : span.end]} for line in lines]
            filled = [styles - {TRACK} for styles in bars]
            assert all(len(styles) == 1 for styles in filled), bars
            assert len(set.union(*filled)) == 3, filled

    run(scenario)


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
            await wait_for(pilot, lambda: app.voice is voice, what="the voice")
            await pilot.press("f4")
            assert voice.said and voice.said[-1].endswith("is calling.") and voice.said[-1] in notes
            await pilot.press("f6")
            assert not voice.enabled and notes[-1] == "Spoken replies off."
            await pilot.press("f6")
            assert voice.enabled and notes[-1] == "Spoken replies on."

    run(scenario)


class Overheard(ScriptedAssistant):
    """Keeps every utterance the dashboard's voice loop hands it."""

    def __init__(self) -> None:
        super().__init__()
        self.heard: list[Utterance] = []

    def hear(self, utterance: Utterance, received_at: float | None = None) -> Event:
        self.heard.append(utterance)
        return self.handle_text("heard", utterance.source)


@pytest.mark.audio
def test_the_dashboards_microphone_does_not_hear_the_car_speak(virtual_mic) -> None:
    """The car's voice goes to the default sink, whose monitor is the dashboard's microphone: the ringing
    phone said aloud reaches the assistant as no utterance (unmuted, the same voice is one:
    tests/test_voice.py)."""
    from assistant.audio import MicrophoneSource
    from assistant.voice import Voice

    assistant, voice, spoken = Overheard(), Voice(), []
    say = voice.say
    voice.say = lambda text: spoken.append(say(text)) or spoken[-1]  # type: ignore[method-assign]

    async def scenario() -> None:
        app = CarDashboard(
            AssistantConfig(voice=True),
            assistant_factory=lambda config: assistant,
            audio_factory=lambda device, wav: MicrophoneSource(virtual_mic.device).start(),
            voice_factory=lambda: voice,
        )
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.listening and app.voice is voice, what="the voice and the microphone")
            await pilot.press("f4")
            await wait_for(pilot, lambda: spoken and spoken[-1].done(), what="the car saying who calls")
            await pilot.pause(1.5)  # the endpointer's own silence before it would cut an utterance
            assert spoken[-1].result().first_audio_at is not None  # it was played

    run(scenario)
    assert assistant.heard == []
