"""The dashboard app: composes the widgets, owns the state, and runs the pipeline in workers.

Nothing heavy runs on the UI thread. Two thread workers start at mount: ``serve`` loads the intent
classifier (so typing works seconds before Whisper is ready) and ``open_audio`` opens the microphone
(or the ``--wav`` files); once both are there ``load_speech`` loads Whisper, and then ``listen`` reads
the audio source.

One worker owns the :class:`Assistant`: ``serve`` runs the jobs of its queue one at a time, in the
order they came, and only jobs run or change the assistant: a typed command, an answer by key, a
spoken utterance, a model switch, Whisper or the car's voice once loaded. The other threads only queue
jobs: ``listen`` queues each utterance the source cuts, ``load_speech`` and ``load_voice`` queue the
Whisper and the voice they loaded beside the assistant. So no two threads are ever inside the assistant at once, and events come out in the order
their commands went in. Each job's result comes back to the UI thread as a message
(:class:`~assistant.tui.messages.Heard` per command); the UI thread only reads the assistant's
library and its dialogue, values that are replaced whole, never changed in place. The car is also changed by keys on the UI
thread (speed, incoming call, reset), which must not wait for Whisper: :class:`backend.SharedVehicle`
takes those and the assistant's commands under the car's own lock.

The widgets only render :class:`VehicleState` and :class:`Event`; the app never decides what a
command means.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from functools import cached_property, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Footer, Input
from textual.worker import get_current_worker

from assistant.dialogue import Question
from assistant.events import Event, Status
from assistant.intents import IntentLibrary, load_intents, respond
from assistant.limits import TextError, check_command
from assistant.tui import backend
from assistant.tui.car import LARGE, SMALL, CarDiagram
from assistant.tui.conversation import MODES, CommandInput, Exchange, MicMeter, Pending
from assistant.tui.header import ModelStatus, Notice, SpeechStatus, StatusBar
from assistant.tui.help import HelpScreen, example, key_lines
from assistant.tui.history import HistoryLog
from assistant.tui.messages import (
    AssistantFailed,
    AssistantLoaded,
    AudioFailed,
    AudioOpened,
    Heard,
    ListeningStopped,
    ModelSwitched,
    ModelSwitchFailed,
    SpeechFailed,
    SpeechLoaded,
    VoiceFailed,
    VoiceLoaded,
)
from assistant.tui.panels import ClimatePanel, MediaPanel, NavigationPanel, PhonePanel
from assistant.vehicle import Outcome, VehicleState

if TYPE_CHECKING:
    from assistant.audio import Mode, VoiceSource
    from assistant.pipeline import Assistant, AssistantConfig

AssistantFactory = Callable[["AssistantConfig"], "Assistant"]
TranscriberFactory = Callable[["AssistantConfig", Any], Any]
AudioFactory = Callable[[str | None, Sequence[Path] | None], "VoiceSource"]

SPEED_STEP_KMH = 10.0
CALLERS = ("Alex", "Mom", "Sam", "Dr. Jones")
POLL_S = 0.1
PLACEHOLDERS: dict[ModelStatus, str] = {
    "loading": "Loading… type a command anyway",
    "ready": "Type a command and press Enter",
    "failed": "No intent model: see the note above",
}
"""The text box's hint, short enough for an 80-column screen; F1 has things to say."""


_Handler = TypeVar("_Handler", bound=Callable[..., None])


def while_running(handler: _Handler) -> _Handler:
    """A worker's report handled only while the app runs. One posted just before the app shuts down
    is still delivered after its screens are gone, where touching a widget would raise. (A report
    that hands over a stream closes it itself instead: see :meth:`CarDashboard.on_audio_opened`.)"""

    @wraps(handler)
    def guarded(app: App, *message: object) -> None:
        if app.is_running:
            handler(app, *message)

    return guarded  # type: ignore[return-value]


class CarDashboard(App[int], inherit_bindings=False):
    """The in-car assistant's dashboard.

    Tests inject what is slow or missing: ``assistant_factory`` (a prebuilt :class:`Assistant`),
    ``transcriber_factory``, ``audio_factory`` (one that raises ``AudioError`` stands for no
    microphone; a source whose ``reconnecting`` is true is a microphone being reopened), ``models_dir`` (where F3 looks for the other variant), ``state`` (the car to start
    from) and ``clock`` (what the hazard blink, the call timer and the spinner read).
    """

    CSS_PATH = "app.tcss"
    TITLE = "Car Assistant"
    ENABLE_COMMAND_PALETTE = False
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (38, "-tall")]
    BINDINGS = [
        Binding("space", "talk", "Talk", tooltip="push-to-talk: press to start talking, again to stop"),
        Binding("f2", "toggle_mode", "Mode", tooltip="switch hands-free (voice activity) ↔ push-to-talk"),
        Binding("f3", "switch_model", "Model", tooltip="switch the intent model, QLoRA ↔ BERT"),
        Binding("f4", "incoming_call", "Call", tooltip="simulate an incoming call"),
        Binding("plus", "speed(1)", "Speed", show=False, tooltip="speed up / slow down by 10 km/h"),
        Binding("minus", "speed(-1)", "Slower", show=False),
        Binding("slash", "focus_command", "Type", show=False, tooltip="type a command"),
        Binding("escape", "leave_command", show=False, tooltip="leave the text box"),
        Binding(
            "ctrl+y", "answer(True)", "Yes", key_display="^Y", tooltip="yes / no to the car's question (or say it)"
        ),
        Binding("ctrl+n", "answer(False)", "No", key_display="^N"),
        Binding("f5", "reset", "Reset", show=False, tooltip="reset the car"),
        Binding("f6", "toggle_voice", "Voice", show=False, tooltip="the car's spoken replies on / off"),
        Binding("f1", "help", "Help", tooltip="this help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True, tooltip="quit"),
        Binding("ctrl+c", "help_quit", show=False, system=True),
    ]
    """The app's keys, in the footer (``description``, when ``show``) and the help screen (``tooltip``,
    else ``description``): a key added here shows up in both. The footer holds what fits in 80 columns
    with the question's ^Y and ^N; the help screen has every key."""

    vehicle_state: reactive[VehicleState] = reactive(VehicleState)
    blink_on: reactive[bool] = reactive(True)
    clock_s: reactive[int] = reactive(0)
    spinner: reactive[int] = reactive(0)
    level: reactive[float] = reactive(-120.0)
    voice_mode: reactive[Mode] = reactive("hands_free")
    talking: reactive[bool] = reactive(False)
    mic_status: reactive[str] = reactive("opening the microphone…")
    mic_reconnecting: reactive[bool] = reactive(False)
    nlu_status: reactive[ModelStatus] = reactive("loading")
    asr_status: reactive[SpeechStatus] = reactive("waiting")
    model_name: reactive[str] = reactive("")
    notices: reactive[dict[str, str]] = reactive(dict)
    question_left_s: reactive[int | None] = reactive(None)
    """Seconds the car's question still stands (0: lapsed); None while no question was asked."""

    def __init__(
        self,
        config: AssistantConfig,
        device: str | None = None,
        wav: Sequence[Path] | None = None,
        *,
        assistant_factory: AssistantFactory | None = None,
        transcriber_factory: TranscriberFactory | None = None,
        audio_factory: AudioFactory | None = None,
        voice_factory: Callable[[], Any] | None = None,
        models_dir: Path | None = None,
        state: VehicleState | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.config = config
        self.device = device
        self.wav = list(wav or [])
        self.assistant_factory = assistant_factory or backend.load_assistant
        self.transcriber_factory = transcriber_factory or backend.load_transcriber
        self.audio_factory = audio_factory
        self.voice_factory = voice_factory or backend.load_voice
        self.model_dir = Path(config.model)
        self.models_dir = models_dir or self.model_dir.parent
        self.clock = clock
        self.vehicle = backend.SharedVehicle(state, clock)
        self.assistant: Assistant | None = None
        self.voice: Any = None
        """The car's voice once loaded (the assistant speaks its replies; the dashboard its own notes)."""
        self.source: VoiceSource | None = None
        self.audio_problem = ""
        self.listening = False
        self.question: Question | None = None
        """The car's question on screen, while it stands."""
        self._jobs: queue.Queue[backend.Job | None] = queue.Queue()
        self._stop = threading.Event()
        self.theme = "tokyo-night"

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status").data_bind(
            CarDashboard.nlu_status, CarDashboard.asr_status, CarDashboard.model_name, CarDashboard.spinner
        )
        yield Notice(id="notice")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with Container(id="car-panel"):
                    for shape, name in ((SMALL, "car"), (LARGE, "car-large")):
                        yield CarDiagram(shape, id=name).data_bind(
                            state=CarDashboard.vehicle_state, blink_on=CarDashboard.blink_on
                        )
                with Container(id="panels"):
                    yield ClimatePanel(classes="panel").data_bind(state=CarDashboard.vehicle_state)
                    yield MediaPanel(classes="panel").data_bind(state=CarDashboard.vehicle_state)
                    yield NavigationPanel(classes="panel").data_bind(state=CarDashboard.vehicle_state)
                    yield PhonePanel(classes="panel").data_bind(
                        state=CarDashboard.vehicle_state, clock_s=CarDashboard.clock_s
                    )
            with Vertical(id="right"):
                with Vertical(id="conversation"):
                    yield MicMeter(id="mic").data_bind(
                        CarDashboard.level,
                        CarDashboard.voice_mode,
                        CarDashboard.talking,
                        CarDashboard.mic_status,
                    )
                    yield Exchange(id="exchange").data_bind(CarDashboard.question_left_s)
                    yield CommandInput(placeholder=PLACEHOLDERS["loading"], id="command")
                yield HistoryLog(id="history")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#car-panel").border_title = "Car"
        self.query_one("#conversation").border_title = "Conversation"
        self.query_one("#command", Input).focus()
        self.vehicle_state = self.vehicle.state
        self._tick()
        self.set_interval(POLL_S, self._tick)
        self.call_after_refresh(self._start_workers)

    def _start_workers(self) -> None:
        """After the first frame: loading competes with the UI thread for the GIL."""
        self.serve()
        self.open_audio()

    def _tick(self) -> None:
        """Everything that moves on its own: hazard blink, call timer, spinner, microphone level."""
        now = self.clock()
        self.blink_on = int(now * 2) % 2 == 0
        self.clock_s = int(now)
        self.spinner = int(now / POLL_S)
        if self.source is not None:
            self.level = self.source.level_dbfs
            self.mic_reconnecting = self.source.reconnecting
        self._count_down(now)

    def _count_down(self, now: float) -> None:
        """The seconds the car's question still stands; at zero it has lapsed and Y / N go away."""
        if self.question is None:
            return
        left = math.ceil(self.question.expires_at - now)
        self.question_left_s = max(left, 0)
        if left <= 0:
            self.question = None
            self.refresh_bindings()

    def watch_notices(self, notices: dict[str, str]) -> None:
        self.query_one(Notice).text = "\n".join(notices.values())

    def _notice(self, key: str, text: str) -> None:
        self.notices = {**self.notices, key: text}

    def _clear_notice(self, key: str) -> None:
        self.notices = {name: text for name, text in self.notices.items() if name != key}

    def watch_mic_reconnecting(self, reconnecting: bool) -> None:
        """The microphone's stream died and is being reopened (the audio server restarted), or is back."""
        if reconnecting:
            self._notice("mic", "The microphone was lost: reconnecting… Type meanwhile.")
        else:
            self._clear_notice("mic")
        self._update_mic_status()

    def _show(self, event: Event | None = None, pending: Pending | None = None) -> None:
        exchange = self.query_one(Exchange)
        exchange.pending = pending
        if event is not None:
            exchange.event = event

    def _sync(self) -> None:
        self.vehicle_state = self.vehicle.state

    # -- workers (never on the UI thread) ---------------------------------------------------------

    @work(thread=True, group="assistant", exit_on_error=False)
    def serve(self) -> None:
        """Load the classifier, then run the jobs that use or change it, one at a time (see above)."""
        try:
            assistant = self._abandonable(lambda: self.assistant_factory(self.config))
        except backend.Abandoned:
            return
        except Exception as error:  # any load failure is shown to the driver, typing then says why
            self.post_message(AssistantFailed(str(error)))
            return
        backend.settle_heap()
        assistant.vehicle = self.vehicle
        assistant.clock = self.clock
        self.post_message(AssistantLoaded(assistant))
        for job in iter(self._jobs.get, None):
            try:
                message = self._abandonable(lambda job=job: job.run(assistant))
                if message is not None:  # a draft, transcribed ahead, says nothing yet
                    self.post_message(message)
            except backend.Abandoned:
                return

    @work(thread=True, group="audio", exit_on_error=False)
    def open_audio(self) -> None:
        from assistant.audio import open_source  # soundfile and PortAudio: not before the first frame

        try:
            source = (self.audio_factory or open_source)(self.device, self.wav)
        except Exception as error:  # AudioError above all; whatever it is, typing still works
            self.post_message(AudioFailed(str(error)))
            return
        self.post_message(AudioOpened(source))

    @work(thread=True, group="speech", exit_on_error=False)
    def load_speech(self, assistant: Assistant) -> None:
        """Load Whisper while the assistant goes on serving, then hand it over through the job queue."""
        if assistant.transcriber is not None:
            self.post_message(SpeechLoaded())
            return
        try:
            load, library = self.transcriber_factory, assistant.library
            transcriber = self._abandonable(lambda: load(self.config, library))
            backend.settle_heap()
        except backend.Abandoned:
            return
        except Exception as error:  # no Whisper: voice is off, typing still works
            self.post_message(SpeechFailed(str(error)))
            return
        self._jobs.put(backend.UseTranscriber(transcriber))

    @work(thread=True, group="speaker", exit_on_error=False)
    def load_voice(self) -> None:
        try:
            voice = self._abandonable(self.voice_factory)
        except backend.Abandoned:
            return
        except Exception as error:  # no Piper or no output device: the replies are shown only
            self.post_message(VoiceFailed(str(error)))
            return
        self._jobs.put(backend.UseVoice(voice))

    def _abandonable(self, work: Callable[[], Any]) -> Any:
        """Run slow work for the current worker so that quitting never waits for it."""
        worker = get_current_worker()
        return backend.abandonable(work, lambda: worker.is_cancelled)

    @work(thread=True, group="voice", exit_on_error=False)
    def listen(self, source: VoiceSource) -> None:
        """The voice loop: queue each utterance for the assistant, until the source ends or the app stops.

        Endpointing runs here, so the source keeps up while Whisper works on the previous utterance.
        """
        problem = ""
        try:
            for utterance in source.utterances(drafts=True):
                self._jobs.put(backend.Spoken(utterance, time.monotonic()))
                if self._stop.is_set():
                    return
        except Exception as error:  # a microphone unplugged mid-run: say so, keep the dashboard
            problem = str(error)
        self._jobs.put(backend.VoiceEnded(problem))

    def _start_voice(self) -> None:
        """Load Whisper once both the classifier and an audio source are there; listen once it is."""
        if self.assistant is None or self.source is None:
            return
        if self.asr_status == "waiting":
            self.asr_status = "loading"
            self.load_speech(self.assistant)
        elif self.asr_status == "ready" and not self.listening:
            self.listening = True
            self._deafen_to_voice(self.source)
            self.listen(self.source)

    # -- what the workers report ------------------------------------------------------------------

    @while_running
    def on_assistant_loaded(self, message: AssistantLoaded) -> None:
        self.assistant = message.assistant
        library = self.assistant.library
        if library is not None:
            self.query_one(Exchange).examples = tuple(example(library, name) for name in library.intents)
        self.nlu_status = "ready"
        self.model_name = self.model_dir.name
        self.query_one("#command", Input).placeholder = PLACEHOLDERS["ready"]
        self._start_voice()
        if self.config.voice:
            self.load_voice()

    def on_voice_loaded(self, message: VoiceLoaded) -> None:
        if not self.is_running:  # loaded as the app closed: nothing else would close its output
            message.voice.close()
            return
        self.voice = message.voice

    def _deafen_to_voice(self, source: VoiceSource) -> None:
        """A live microphone hears nothing while the car speaks (a replayed file never hears it)."""
        from assistant.audio import MicrophoneSource

        if isinstance(source, MicrophoneSource):
            source.mute_while(self._car_audible)

    def _car_audible(self, at: float) -> bool:
        voice = self.voice
        return voice is not None and voice.audible(at)

    @while_running
    def on_voice_failed(self, message: VoiceFailed) -> None:
        self._notice("voice", f"Replies are shown only: {message.error}")

    @while_running
    def on_assistant_failed(self, message: AssistantFailed) -> None:
        self.nlu_status = "failed"
        self.asr_status = "off"
        self.query_one("#command", Input).placeholder = PLACEHOLDERS["failed"]
        self._notice("model", f"No intent model, commands cannot run: {message.error}")
        self._show(pending=None)
        self._update_mic_status()

    def on_audio_opened(self, message: AudioOpened) -> None:
        if not self.is_running:  # opened as the app closed: nothing else would close the stream
            message.source.close()
            return
        self.source = message.source
        self.voice_mode = self.source.mode
        self._start_voice()
        self._update_mic_status()

    @while_running
    def on_audio_failed(self, message: AudioFailed) -> None:
        self.audio_problem = "no microphone"
        if self.asr_status == "waiting":
            self.asr_status = "off"
        self._notice("mic", f"Typing only: {message.error}")
        self._update_mic_status()

    @while_running
    def on_speech_loaded(self) -> None:
        self.asr_status = "ready"
        self._start_voice()
        self._update_mic_status()

    @while_running
    def on_speech_failed(self, message: SpeechFailed) -> None:
        """No Whisper (it did not load, or failed on an utterance): typing only, the audio closed."""
        self.asr_status = "failed"
        if self.source is not None:
            self.source.close()
        self._notice("speech", f"Typing only, no speech recognition: {message.error}")
        self._update_mic_status()

    @while_running
    def on_heard(self, message: Heard) -> None:
        asked = message.event.status is Status.ASKED and self.assistant is not None
        self.question = self.assistant.dialogue.waiting(self.clock()) if asked else None
        self.question_left_s = None  # an "Okay, undone. What should I do instead?" awaits no yes or no
        self._count_down(self.clock())
        self.refresh_bindings()
        self._show(message.event)
        self.query_one(HistoryLog).add(message.event)
        self._sync()
        self._update_mic_status()

    @while_running
    def on_listening_stopped(self, message: ListeningStopped) -> None:
        self.listening = False
        self.talking = False
        if message.error:
            self.audio_problem = "microphone stopped"
            self._notice("mic", f"The microphone stopped. {message.error}")
        self._update_mic_status()

    def _update_mic_status(self) -> None:
        self.mic_status = self._mic_text()

    def _mic_text(self) -> str:
        """Empty while the level meter should show; otherwise why there is no voice input (yet)."""
        if self.audio_problem:
            return f"{self.audio_problem}, type below"
        if self.mic_reconnecting:
            return "reconnecting…"
        if self.nlu_status == "failed":
            return "off: no intent model"
        if self.source is None:
            return "opening the microphone…"
        if self.asr_status == "failed":
            return "off: no speech recognition"
        if self.asr_status != "ready":
            return "loading speech recognition…"
        if self.source.note:
            return self.source.note
        return "" if self.listening else "the audio source ended"

    @while_running
    def on_model_switched(self, message: ModelSwitched) -> None:
        self.model_dir = message.model_dir
        self.model_name = message.model_dir.name
        self.nlu_status = "ready"
        self.notify(f"Now understanding with the {self.model_name} model.", title="Model")

    @while_running
    def on_model_switch_failed(self, message: ModelSwitchFailed) -> None:
        self.model_name = self.model_dir.name
        self.nlu_status = "ready"
        self.notify(message.error, title=f"Could not load {message.model_dir.name}", severity="error")

    # -- typing -----------------------------------------------------------------------------------

    @on(Input.Submitted, "#command")
    def submit(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        event.input.clear()
        if not text:
            return
        try:
            check_command(text)
        except TextError as error:
            self.notify(f"Not sent: {error}.", title="Command", severity="error")
            return
        if self.nlu_status == "failed":
            self.notify("No intent model is loaded: see the note at the top.", severity="error")
            return
        status = "thinking…" if self.assistant else "queued: the classifier is still loading…"
        self._show(pending=Pending(text, status))
        self._jobs.put(backend.TypedCommand(text))

    # -- actions ----------------------------------------------------------------------------------

    def action_talk(self) -> None:
        """Space: the first press starts an utterance, the second ends it (push-to-talk)."""
        if self.source is None or self.asr_status != "ready" or not self.listening:
            self.notify(self._voice_unavailable(), title="Push-to-talk", severity="warning")
            return
        if not self.talking:
            self._set_mode("push_to_talk")
            self.source.start_talking()
            self.talking = True
            return
        self.source.stop_talking()
        self.talking = False
        self._show(pending=Pending("", "transcribing…"))

    def _voice_unavailable(self) -> str:
        if self.source is None:
            return self.notices.get("mic", "Opening the microphone…")
        if self.asr_status != "ready":
            return "Speech recognition is still loading; type meanwhile."
        return f"No voice input ({self.mic_status}); type your commands."

    def _set_mode(self, mode: Mode) -> None:
        self.source.mode = mode
        self.voice_mode = mode

    def action_toggle_mode(self) -> None:
        if self.source is None:
            self.notify(self._voice_unavailable(), title="Mode", severity="warning")
            return
        other = "hands_free" if self.voice_mode == "push_to_talk" else "push_to_talk"
        if other not in self.source.modes:
            self.notify(f"This audio source has no {MODES[other].lower()} mode.", title="Mode")
            return
        if self.talking:
            self.source.stop_talking()
            self.talking = False
        self._set_mode(other)

    def action_switch_model(self) -> None:
        """F3: QLoRA ↔ BERT, loaded by the assistant's worker; the car and Whisper stay."""
        if self.assistant is None or self.nlu_status != "ready":
            self.notify("The classifier is still loading.", title="Model", severity="warning")
            return
        variant = backend.other_variant(self.model_dir)
        target = self.models_dir / variant
        if not backend.is_model_dir(target):
            self.notify(
                f"No {variant} model in {target}: run `car-assistant train --variant {variant}`.",
                title="Model",
                severity="warning",
            )
            return
        self.nlu_status = "switching"
        self.model_name = variant
        self._jobs.put(backend.SwitchModel(target))

    def action_incoming_call(self) -> None:
        caller = CALLERS[self.clock_s % len(CALLERS)]
        outcome = self.vehicle.simulate_incoming_call(caller)
        self._sync()
        said = self.words_for(outcome)
        self.notify(said, title="Phone", severity="information" if outcome.done else "warning")
        if self.voice is not None:
            self.voice.say(said)

    def words_for(self, outcome: Outcome) -> str:
        """An outcome of the dashboard's own controls (the phone ringing) in the intents YAML's words."""
        return respond(self.library, outcome.key, outcome.values)

    @cached_property
    def library(self) -> IntentLibrary:
        """The intents YAML, for wording the dashboard's own controls (the assistant loads its own)."""
        return load_intents(self.config.intents)

    def action_toggle_voice(self) -> None:
        """F6: the car's spoken replies on or off (the screen shows them either way)."""
        voice = self.voice
        if voice is None:
            self.notify(
                "The car has no voice (--no-voice, or it could not load).", title="Voice", severity="warning"
            )
            return
        voice.enabled = not voice.enabled
        self.notify(f"Spoken replies {'on' if voice.enabled else 'off'}.", title="Voice")

    def action_speed(self, direction: int) -> None:
        self.vehicle.change_speed(direction * SPEED_STEP_KMH)
        self._sync()

    def action_reset(self) -> None:
        self.vehicle.reset()
        self._sync()
        self.notify("The car is back to its starting state.", title="Reset")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Y and N are there only while the car's yes-or-no question stands (not "Who should I call?")."""
        return self.question is not None and not self.question.slot if action == "answer" else True

    def action_answer(self, yes: bool) -> None:
        """^Y / ^N: answer the car's question, the same as saying yes or no."""
        self._show(pending=Pending("yes" if yes else "no", "answering…"))
        self._jobs.put(backend.Answer(yes))

    def action_help(self) -> None:
        library = self.assistant.library if self.assistant is not None else None
        self.push_screen(HelpScreen(key_lines(self.BINDINGS, self.get_key_display), library))

    def action_focus_command(self) -> None:
        self.query_one("#command", Input).focus()

    def action_leave_command(self) -> None:
        self.set_focus(None)

    # -- shutdown ---------------------------------------------------------------------------------

    def on_unmount(self) -> None:
        """Let the threads end: the voice loop sees the stop event, the job loop its sentinel, and the
        car stops speaking."""
        self._stop.set()
        self._jobs.put(None)
        if self.source is not None:
            self.source.close()
        if self.voice is not None:
            self.voice.close()


def run_dashboard(config: AssistantConfig, device: str | None = None, wav: list[Path] | None = None) -> int:
    """``car-assistant tui``: run the dashboard until the driver quits."""
    CarDashboard(config, device=device, wav=wav).run()
    return 0
