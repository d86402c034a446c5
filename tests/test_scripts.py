"""The benchmarks' own machinery: reproducible speech, the exact overlap check, one clip at a time."""

from __future__ import annotations

import importlib
import textwrap
from pathlib import Path

import numpy as np
import pytest

from assistant.dialogue import Dialogue
from assistant.intents import load_intents
from assistant.vehicle import Vehicle

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


@pytest.fixture
def script(monkeypatch):
    """``script("speech")``: a module of ``scripts/``, imported as the benchmarks import each other."""
    monkeypatch.syspath_prepend(str(SCRIPTS))
    return importlib.import_module


# -- rendered speech ------------------------------------------------------------------------------


def test_speech_is_rendered_as_a_driver_says_it(script):
    speech = script("speech")
    assert speech.spoken_form("turn on the A/C and close it") == "turn on the A C and close it"
    assert speech.spoken_form("call mom, then dad") == "call mom, then dad"


def test_piper_speech_is_the_same_bytes_on_every_render_whatever_came_before(script, tmp_path):
    speech = script("speech")
    first = speech.Renderer(folder=tmp_path / "a", seed=3)
    second = speech.Renderer(folder=tmp_path / "b", seed=3)
    first.render("open the sunroof", speech.PIPER_VOICE)  # another sentence drawn first, in one of them
    one = first.render("turn on the fog lights", speech.PIPER_VOICE).read_bytes()
    two = second.render("turn on the fog lights", speech.PIPER_VOICE).read_bytes()
    assert one == two
    other_seed = speech.Renderer(folder=tmp_path / "c", seed=4).render("turn on the fog lights", speech.PIPER_VOICE)
    assert other_seed.read_bytes() != one  # the seed is what fixes Piper's noise


def test_the_cache_is_reused_only_for_the_same_inputs(script, tmp_path, monkeypatch):
    speech = script("speech")
    renderer = speech.Renderer(folder=tmp_path, seed=0)
    voice = speech.PIPER_VOICE
    paths = {
        renderer.path("call mom", voice),
        renderer.path("call dad", voice),
        speech.Renderer(folder=tmp_path, seed=1).path("call mom", voice),
        speech.Renderer(folder=tmp_path, noise_scale=0.3).path("call mom", voice),
        speech.Renderer(folder=tmp_path, length_scale=1.2).path("call mom", voice),
        renderer.path("call mom", speech.ESPEAK_VOICES[0]),
    }
    assert len(paths) == 6
    assert renderer.path("call mom", voice) == speech.Renderer(folder=tmp_path).path("call mom", voice)
    assert all(path.parent == tmp_path for path in paths)

    rendered = renderer.render("call mom", voice)
    monkeypatch.setattr(speech.Renderer, "_render_piper", lambda *_: pytest.fail("rendered again"))
    assert renderer.render("call mom", voice) == rendered


def test_speech_is_cached_in_the_repositorys_ignored_data_folder_by_default(script):
    speech, paths = script("speech"), script("paths")
    folder = speech.Renderer().folder
    assert folder == paths.REPO / "data" / "speech"
    assert "/data/" in (paths.REPO / ".gitignore").read_text().split()


# -- the exact overlap check ------------------------------------------------------------------------

TINY = """\
language: en
intents:
  lights:
    action: set_light
    data:
      - sentences:
          - "(turn|switch) {state} [the] <lamp>"
  navigation:
    action: navigate
    data:
      - sentences:
          - "take me to {destination}"
out_of_scope:
  sentences:
    - "what time is it"
fillers:
  prefix: ["hey car"]
  suffix: ["please"]
expansion_rules:
  lamp: "{light}"
lists:
  light:
    values:
      - in: "(high beams|brights)"
        out: high_beams
  state:
    values: ["on", "off"]
  destination:
    wildcard: true
    values: ["the airport"]
"""


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text(textwrap.dedent(TINY))
    return load_intents(path)


def test_overlap_finds_what_the_templates_say_with_rules_fillers_and_out_of_scope(script, tiny):
    overlap = script("check_dev_overlap")
    texts = [
        "Turn on the brights.",  # through the rule, any case and punctuation
        "hey car switch off high beams please",  # both fillers
        "What time is it?",  # an out-of-scope template
        "take me to the airport",  # a free-text sample value
        "take me to the zoo",  # not a sample value
        "turn on the brights now",  # 'now' is no filler here
        "please turn on the brights hey car",  # fillers on the wrong ends
        "turn up the brights",
    ]
    found = overlap.reachable(tiny, texts, wildcards=False)
    assert [(r.text, r.intent) for r in found] == [
        (texts[0], "lights"),
        (texts[1], "lights"),
        (texts[2], "out_of_scope"),
        (texts[3], "navigation"),
    ]
    assert found[0].template.text == "(turn|switch) {state} [the] <lamp>"
    assert found[0].template.line == 7


def test_overlap_with_wildcards_takes_any_free_text_value(script, tiny):
    overlap = script("check_dev_overlap")
    found = overlap.reachable(tiny, ["take me to the zoo", "take me"], wildcards=True)
    assert [r.text for r in found] == ["take me to the zoo"]


# -- false actions: one clip at a time --------------------------------------------------------------


class Recorder:
    """An assistant whose every clip leaves the car changed and a question pending."""

    def __init__(self):
        self.vehicle = Vehicle()
        self.dialogue = Dialogue()
        self.seen: list[tuple[bool, bool]] = []
        """For each clip: was the car as created, and no question pending, when it began?"""

    def reset(self):
        self.vehicle.reset()
        self.dialogue = Dialogue()

    def listen(self, source):
        self.seen.append((self.vehicle.state == Vehicle().state, self.dialogue == Dialogue()))
        self.vehicle.execute("set_light", "lights", {"light": "high_beams", "state": "on"})
        self.dialogue = Dialogue(pending=object())
        return iter(())


def test_false_actions_judges_every_clip_on_a_fresh_car(script, tmp_path):
    bench = script("bench_false_actions")
    speech = script("speech")
    clips = [bench.Clip("silence", f"clip {i}", np.zeros(1600, dtype=np.float32)) for i in range(3)]
    assistant = Recorder()
    outcomes = bench.run(assistant, clips, speech.Renderer(folder=tmp_path))
    assert assistant.seen == [(True, True)] * 3
    assert [o.state_changed for o in outcomes] == [True] * 3
    assert len(list((tmp_path / "clips").glob("*.wav"))) == 3  # in the folder the renderer names


def test_recorded_talk_is_every_wav_or_flac_of_a_folder_as_recorded(script, tmp_path):
    import soundfile

    bench = script("bench_false_actions")
    tone = np.sin(np.arange(8000) / 8.0).astype(np.float32) * 0.1
    soundfile.write(tmp_path / "b.flac", tone, 16000)
    soundfile.write(tmp_path / "a.wav", tone[:4000], 8000)  # resampled to 16 kHz on reading
    (tmp_path / "labels.jsonl").write_text("{}\n")
    clips = bench.recorded_clips(tmp_path)
    assert [(c.category, c.label, len(c.audio)) for c in clips] == [
        ("recorded talk", "a.wav", 8000),
        ("recorded talk", "b.flac", 8000),
    ]
    assert bench.default_name(tmp_path) == "_".join(tmp_path.parts[-2:])


# -- the policy's tuning --------------------------------------------------------------------------


def test_tuning_weighs_talk_done_as_a_command_like_a_wrong_action(script):
    """Of two settings that ask and refuse alike, the one that acts on one more command but also on
    one line of talk (a false action) is not chosen."""
    from assistant.policy import PolicyOptions
    from training.evaluate import Labelled, Verdicts

    tune = script("tune_policy")
    command, talk = Labelled("call mom", "phone", {}), Labelled("nice weather", "out_of_scope", {})
    refused = (talk, "refused", "out_of_scope", {})
    careful = Verdicts([(command, "asked", "phone", {})] * 40 + [refused] * 40)
    bold = Verdicts(
        [(command, "done", "phone", {})] + [(command, "asked", "phone", {})] * 39 + [refused] * 39
        + [(talk, "done", "phone", {})]
    )
    options, _ = tune.choose([(PolicyOptions(act_without_template=0.5), bold), (PolicyOptions(), careful)])
    assert options == PolicyOptions()


def test_tuning_breaks_a_tie_towards_the_stricter_setting(script):
    from assistant.policy import PolicyOptions
    from training.evaluate import Labelled, Verdicts

    tune = script("tune_policy")
    same = Verdicts(
        [(Labelled("call mom", "phone", {}), "done", "phone", {}), (Labelled("hi", "out_of_scope", {}), "refused", "", {})]
    )
    options, _ = tune.choose([(PolicyOptions(act_without_template=0.5), same), (PolicyOptions(), same)])
    assert options == PolicyOptions()
