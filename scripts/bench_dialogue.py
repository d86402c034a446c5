"""Scripted conversations: do multi-turn dialogues leave the car in the state the driver meant?

Reads ``scripts/data/dialogues.yaml`` (written for this benchmark): dialogues (follow-up slot,
referring back, relative change, compound command, confirm or cancel, phone ringing, correction),
each a few turns and the car's expected state at the end; and two-command utterances, each with the
state it should leave. Every text goes through the path ``car-assistant say`` takes
(``Assistant.handle_text``: the shipped model, the policy, the dialogue, the car), one conversation
per dialogue, on a clock that moves two seconds a turn (``{wait: S}`` moves it S seconds).

Prints each miss with what the car said, the share of dialogues ending in the expected state (bar
95 % typed, 85 % spoken), per kind, and the share of two-command utterances fully carried out (both
commands done and carried out, the car in the expected state; bar 95 %). Exit status 1 below a
bar. Typed, it also says each talk set of ``bench_false_actions.py`` (its forty built-in lines,
``unseen_talk.txt``, ``unseen_talk_2.txt``) line after line as one conversation: a follow-up, a
reference back or a split must not turn talk into commands (how many come out done). About a
minute typed.

``--spoken``: each turn is spoken instead (the Piper voice en_US-joe-medium, under cabin noise at
``--snr`` dB, 12 by default) and goes the hands-free way, ``WavFileSource`` with the microphone's VAD
endpointer → ``Assistant.listen`` (Whisper tiny.en, grammar-guided): the virtual microphone's path
without PulseAudio. Some minutes. ``--spoken --virtual-mic``: each turn is played into the virtual
microphone (``paplay`` into the null sink ``cabin``) while ``Assistant.listen`` records it live
through ``MicrophoneSource`` (run under ``scripts/virtual-mic.sh``). About ten minutes.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_dialogue.py [--data FILE] [--model DIR] [--spoken]
    HF_HUB_OFFLINE=1 scripts/virtual-mic.sh .venv/bin/python scripts/bench_dialogue.py --spoken --virtual-mic
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from speech import SPEECH_DIR, Renderer, model_label

from assistant.dialogue import Dialogue
from assistant.events import Event
from assistant.nlu import DEFAULT_MODEL_DIR
from assistant.pipeline import Assistant, AssistantConfig
from assistant.vehicle import Vehicle, VehicleState

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "scripts" / "data" / "dialogues.yaml"
TALK = REPO / "scripts" / "data"
TURN_GAP_S = 2.0
BAR = 0.95
SPOKEN_BAR = 0.85

Turn = str | float
"""A text to say, or seconds to let pass."""


@dataclass(frozen=True)
class Script:
    """One dialogue or one compound utterance: the car's starting changes, the turns, the state it should end in."""

    kind: str
    setup: dict[str, Any]
    turns: tuple[Turn, ...]
    expect: dict[str, Any]


class Clock:
    """The conversation's clock, moved by the script."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def read_scripts(path: Path) -> tuple[list[Script], list[Script]]:
    """The dialogues and the compound utterances; a bad entry stops the run with one line naming it."""
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise SystemExit(f"bench_dialogue: {path}: {error}") from None
    if not isinstance(document, dict):
        raise SystemExit(f"bench_dialogue: {path}: expected 'dialogues' and 'compound' sections")
    dialogues = [_script(path, f"dialogue {n}", entry) for n, entry in enumerate(document.get("dialogues") or [], 1)]
    compound = [
        _script(path, f"compound {n}", {**entry, "kind": "compound", "turns": [entry.get("say")]})
        for n, entry in enumerate(document.get("compound") or [], 1)
    ]
    return dialogues, compound


def _script(path: Path, where: str, entry: Any) -> Script:
    def fail(problem: str) -> SystemExit:
        return SystemExit(f"bench_dialogue: {path}: {where}: {problem}")

    if not isinstance(entry, dict) or not entry.get("turns") or not isinstance(entry.get("expect"), dict):
        raise fail("needs 'turns' (or 'say') and an 'expect' mapping")
    turns: list[Turn] = []
    for turn in entry["turns"]:
        if isinstance(turn, dict) and isinstance(turn.get("wait"), int | float):
            turns.append(float(turn["wait"]))
        elif isinstance(turn, str) and turn.strip():
            turns.append(turn)
        else:
            raise fail(f"a turn is a text or {{wait: seconds}}, not {turn!r}")
    setup = entry.get("setup") or {}
    for state_path in (*setup, *entry["expect"]):
        try:
            read_state(VehicleState(), state_path)
        except AttributeError:
            raise fail(f"'{state_path}' is no part of the car's state") from None
    return Script(str(entry.get("kind", "")), dict(setup), tuple(turns), dict(entry["expect"]))


def read_state(state: Any, path: str) -> Any:
    for name in path.split("."):
        if not dataclasses.is_dataclass(state):
            raise AttributeError(path)
        state = getattr(state, name)
    return state


def with_state(state: Any, path: str, value: Any) -> Any:
    """``state`` with the field at dotted ``path`` set to ``value`` (frozen dataclasses, rebuilt)."""
    name, _, rest = path.partition(".")
    return dataclasses.replace(state, **{name: with_state(getattr(state, name), rest, value) if rest else value})


class Voice:
    """Turns spoken under cabin noise, through the microphone's endpointing and Whisper."""

    def __init__(self, snr_db: float, renderer: Any) -> None:
        self.snr_db, self.renderer, self.count = snr_db, renderer, 0

    def __call__(self, assistant: Assistant, text: str) -> list[Event]:
        from assistant.audio import WavFileSource

        return list(assistant.listen(WavFileSource([self.clip(text)])))

    def clip(self, text: str) -> Path:
        """The turn spoken by Piper under cabin noise (a noise seed per turn), as a WAV file."""
        from speech import PIPER_VOICE, mix_at_snr, write_wav

        self.count += 1
        audio = mix_at_snr(self.renderer.audio(text, PIPER_VOICE), self.snr_db, seed=self.count)
        return write_wav(self.renderer.clip_path(f"dialogue-turn{self.count}.wav"), audio)


class CabinVoice(Voice):
    """Turns played into the virtual microphone (PulseAudio's null sink ``cabin``) while the assistant
    listens to it live, as in the car: run under ``scripts/virtual-mic.sh``."""

    def __init__(self, snr_db: float, renderer: Any) -> None:
        super().__init__(snr_db, renderer)
        self.listener: Any = None

    def __call__(self, assistant: Assistant, text: str) -> list[Event]:
        from speech import MIC_DEVICE, LiveListener, play_and_collect

        from assistant.audio import MicrophoneSource

        if self.listener is None:
            self.listener = LiveListener(assistant, MicrophoneSource(MIC_DEVICE)).start()
        return play_and_collect(self.listener, self.clip(text)).events

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()


def typed(assistant: Assistant, text: str) -> list[Event]:
    return [assistant.handle_text(text)]


def run(assistant: Assistant, script: Script, say: Callable = typed) -> tuple[list[Event], dict[str, Any]]:
    """Say the script's turns to a fresh car and conversation; the events and the state's misses."""
    state = VehicleState()
    for path, value in script.setup.items():
        state = with_state(state, path, value)
    clock = Clock()
    assistant.vehicle, assistant.dialogue, assistant.clock = Vehicle(state), Dialogue(), clock
    events = []
    for turn in script.turns:
        if isinstance(turn, float):
            clock.now += turn
            continue
        events.extend(say(assistant, turn))
        clock.now += TURN_GAP_S
    final = assistant.vehicle.state
    misses = {path: read_state(final, path) for path, want in script.expect.items() if read_state(final, path) != want}
    return events, misses


def fully_carried_out(events: list[Event], misses: dict[str, Any]) -> bool:
    """Both commands carried out (as one event's parts, or as the events the endpointer cut the
    speech into), and the car where it should be."""
    commands = [command for event in events for command in (event.parts or (event,))]
    return not misses and len(commands) >= 2 and all(c.status == "done" and c.carried_out for c in commands)


def show_miss(script: Script, events: list[Event], misses: dict[str, Any]) -> None:
    print(f"  miss ({script.kind}): expected {script.expect}, got {misses}")
    for event in events:
        print(f"    “{event.transcript}” → {event.status} {event.intent} {event.slots}: {event.outcome}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="dialogues YAML (default: %(default)s)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR, help="model folder (default: %(default)s)")
    parser.add_argument("--spoken", action="store_true", help="speak each turn under cabin noise (Whisper)")
    parser.add_argument(
        "--virtual-mic", action="store_true", help="with --spoken: play each turn into the virtual microphone"
    )
    parser.add_argument("--snr", type=float, default=12.0, help="cabin noise SNR in dB with --spoken (default: 12)")
    parser.add_argument("--speech-dir", type=Path, default=SPEECH_DIR, help="where rendered speech is cached")
    args = parser.parse_args()
    dialogues, compound = read_scripts(args.data)
    assistant = Assistant.from_config(AssistantConfig(model=args.model), with_speech=args.spoken)
    say = (CabinVoice if args.virtual_mic else Voice)(args.snr, Renderer(args.speech_dir)) if args.spoken else typed
    try:
        dialogue_share, compound_share = report(assistant, dialogues, compound, say)
    finally:
        if isinstance(say, CabinVoice):
            say.close()
    if not args.spoken:
        report_talk(assistant)
    through = ", through the virtual microphone" if args.virtual_mic else ""
    how = f"spoken at {args.snr:g} dB SNR{through}" if args.spoken else "typed"
    print(f"({how}; {model_label(assistant)})")
    bar = SPOKEN_BAR if args.spoken else BAR
    return 0 if dialogue_share >= bar and compound_share >= BAR else 1


def report(assistant: Assistant, dialogues: list[Script], compound: list[Script], say: Callable) -> tuple[float, float]:
    """Run both sets, print the misses and the figures; the two shares."""
    ended_right: Counter[str] = Counter()
    for script in dialogues:
        events, misses = run(assistant, script, say)
        ended_right[script.kind] += not misses
        if misses:
            show_miss(script, events, misses)
    carried = 0
    for script in compound:
        events, misses = run(assistant, script, say)
        carried += fully_carried_out(events, misses)
        if not fully_carried_out(events, misses):
            show_miss(script, events, misses)

    kinds = Counter(script.kind for script in dialogues)
    for kind, count in kinds.items():
        print(f"  {kind:<18} {ended_right[kind]:>3}/{count}")
    dialogue_share = sum(ended_right.values()) / len(dialogues)
    compound_share = carried / len(compound)
    print(f"dialogues ending in the expected state:            {sum(ended_right.values())}/{len(dialogues)} ({dialogue_share:.1%})")
    print(f"two-command utterances fully carried out:           {carried}/{len(compound)} ({compound_share:.1%})")
    return dialogue_share, compound_share


def report_talk(assistant: Assistant) -> None:
    """Each talk set typed line after line through one conversation: the commands it came to."""
    from bench_false_actions import NON_COMMANDS, read_sentences

    sets = {"built-in talk": NON_COMMANDS}
    sets |= {path.name: read_sentences(path) for path in (TALK / "unseen_talk.txt", TALK / "unseen_talk_2.txt")}
    for name, lines in sets.items():
        events, _ = run(assistant, Script("talk", {}, tuple(lines), {}))
        done = [event for event in events if event.status == "done"]
        print(f"talk typed as one conversation, {name}: {len(done)} of {len(lines)} lines done")
        for event in done:
            print(f"    “{event.transcript}” → {event.intent} {event.slots}")


if __name__ == "__main__":
    sys.exit(main())
