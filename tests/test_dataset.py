"""Template expansion and the synthetic dataset: balance, dedup, reproducibility, no leakage."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from assistant.events import TaggedSpan
from assistant.intents import OUT_OF_SCOPE, load_intents, words
from assistant.slots import EDGE_WORDS, SlotResolver, TemplateMatcher
from training.assistant_requests import assistant_requests
from training.chatter import HELD_OUT_TALK, ChatterError, Talk, everyday_chatter
from training.dataset import (
    FORMS,
    SPLITS,
    DatasetConfig,
    TemplateSampler,
    build_dataset,
    read_split,
    split_of,
    write_dataset,
)
from training.dataset import _dedup_key as dedup_key
from training.skill_requests import skill_names, skill_requests


@pytest.fixture(scope="module")
def library():
    return load_intents()


@pytest.fixture
def splits(library):
    """Built for each test (a tenth of a second): mutation testing then sees every test use it."""
    return build_dataset(library, DatasetConfig(per_intent=200, seed=7, chatter=0))


def test_sampler_records_slot_values_it_wrote(library):
    sampler = TemplateSampler(library, random.Random(1))
    template = next(
        t for t in library.intents["lights"].templates if "{light}" in t.text and "{light_state" in t.text
    )
    for _ in range(50):
        draw = sampler.draw(template)
        assert draw.slots["light"] in {"headlights", "high_beams", "fog_lights", "hazards", "interior"}
        assert draw.slots["state"] in {"on", "off"}
        assert "{light}" in draw.wording and "{state}" in draw.wording
        said = next(text for text, slot in draw.parts if slot == "light")
        assert said.lower() in draw.text.lower()


def test_numbers_are_sampled_from_ranges_as_digits_or_words(library):
    sampler = TemplateSampler(library, random.Random(3))
    template = next(t for t in library.intents["climate"].templates if "<temp>" in t.text)
    draws = [sampler.draw(template) for _ in range(200)]
    values = {d.slots["temperature"] for d in draws}
    assert values <= set(range(16, 31)) | set(range(60, 86))
    assert any(str(d.slots["temperature"]) in d.text for d in draws)
    assert any("twenty" in d.text or "sixty" in d.text or "seventy" in d.text for d in draws)


def test_every_label_is_balanced_in_every_split(splits, library):
    for split, share in SPLITS.items():
        counts = Counter(example.intent for example in splits[split])
        assert set(counts) == set(library.labels)
        assert set(counts.values()) == {round(200 * share)}, (split, counts)


def test_no_duplicate_sentences(splits):
    keys = [dedup_key(e.text) for examples in splits.values() for e in examples]
    assert len(keys) == len(set(keys))


def test_no_wording_is_shared_between_splits(splits):
    wordings = {split: {e.wording for e in examples} for split, examples in splits.items()}
    assert not wordings["train"] & wordings["test"]
    assert not wordings["train"] & wordings["validation"]
    assert not wordings["validation"] & wordings["test"]


def test_same_seed_same_dataset_other_seed_other_dataset(library, splits):
    assert build_dataset(library, DatasetConfig(per_intent=200, seed=7, chatter=0)) == splits
    other = build_dataset(library, DatasetConfig(per_intent=200, seed=8, chatter=0))
    assert other["train"] != splits["train"]
    held_out = {e.wording for e in splits["test"]}
    assert held_out & {e.wording for e in other["train"]}, "another seed holds out other wordings"


def test_forms_are_drawn_in_their_shares_and_written_as_they_say(library):
    drawn = build_dataset(library, DatasetConfig(per_intent=100, seed=5, chatter=0))
    examples = [e for split in drawn.values() for e in split]
    forms = Counter(e.form for e in examples)
    assert {form: round(forms[form] / len(examples), 2) for form in FORMS} == pytest.approx(FORMS, abs=0.06)
    assert all(e.text == e.text.lower() for e in examples if e.form == "typed")
    assert all(e.text[0].isupper() for e in examples if e.form == "transcript" and e.text[0].isalpha())


def test_sentences_come_typed_and_as_whisper_transcripts(splits):
    examples = splits["train"]
    forms = Counter(e.form for e in examples)
    assert set(forms) == {"typed", "transcript", "misheard"}
    transcripts = [e.text for e in examples if e.form == "transcript"]
    assert all(t[0].isupper() or not t[0].isalpha() for t in transcripts)
    assert sum(t.endswith((".", "?", "!")) for t in transcripts) > len(transcripts) / 2
    assert all(e.text == e.text.lower() for e in examples if e.form == "typed")
    climate = [e for e in examples if e.form == "transcript" and "temperature" in e.slots]
    assert climate and all(str(e.slots["temperature"]) in e.text for e in climate)


def test_out_of_scope_has_no_slots_and_intents_do(splits):
    assert all(not e.slots for e in splits["train"] if e.intent == OUT_OF_SCOPE)
    assert sum(bool(e.slots) for e in splits["train"] if e.intent == "navigation") > 100


def test_everyday_chatter_joins_out_of_scope_across_the_splits(library):
    plain = build_dataset(library, DatasetConfig(per_intent=20, seed=1, chatter=0))
    chatty = build_dataset(library, DatasetConfig(per_intent=20, seed=1, chatter=100))
    added = {
        split: [e for e in chatty[split] if e.intent == OUT_OF_SCOPE and e not in plain[split]]
        for split in SPLITS
    }
    assert 95 <= sum(map(len, added.values())) <= 100  # less any line the templates already drew
    assert all(added.values()), "every split gets some"
    assert all(not e.slots for examples in added.values() for e in examples)
    in_scope = Counter(e.intent for e in chatty["train"] if e.intent != OUT_OF_SCOPE)
    assert in_scope == Counter(e.intent for e in plain["train"] if e.intent != OUT_OF_SCOPE)


def test_chatter_never_includes_a_line_the_templates_say(library, monkeypatch, tmp_path):
    (tmp_path / "talk.yml").write_text(
        "conversations:\n- - turn on the high beams\n  - what a lovely day it is\n  - call mom\n"
    )
    monkeypatch.setattr("training.chatter.corpus_folder", lambda: tmp_path)
    assert everyday_chatter(library, 10, random.Random(0), request_share=0) == [
        Talk("what a lovely day it is", "talk")
    ]


def test_chatter_is_split_by_topic_so_held_out_chatter_is_a_kind_of_talk_never_trained_on(library):
    splits = build_dataset(library, DatasetConfig(per_intent=20, seed=1, chatter=300))
    plain = build_dataset(library, DatasetConfig(per_intent=20, seed=1, chatter=0))
    chatter = {split: {e.wording for e in splits[split] if e not in plain[split]} for split in SPLITS}
    topics: dict[str, str] = {}
    for line in everyday_chatter(library, 300, random.Random(1)):  # the first of lines alike is kept
        topics.setdefault(dedup_key(line.text), line.topic)
    topics_of = {split: {topics[w] for w in wordings if w in topics} for split, wordings in chatter.items()}
    assert topics_of["validation"] and topics_of["test"]
    assert not topics_of["train"] & (topics_of["validation"] | topics_of["test"])


HOME_ASSISTANT = {
    "language": "en",
    "intents": {
        "HassStartTimer": {"data": [{"sentences": ["set a timer for {timer_minutes:minutes} minutes"]}]},
        "HassShoppingListAddItem": {"data": [{"sentences": ["add {shopping_list_item:item} to my list"]}]},
        "HassBroadcast": {"data": [{"sentences": ["turn on the high beams"]}]},
        "HassTurnOn": {"data": [{"sentences": ["switch on the (porch|garden) light"]}]},
    },
    "lists": {
        "timer_minutes": {"range": {"from": 1, "to": 100}},
        "shopping_list_item": {"wildcard": True},
    },
}


def test_assistant_requests_fill_home_lists_and_leave_out_the_cars_kind_of_intent():
    requests = dict(assistant_requests(HOME_ASSISTANT, random.Random(0)))
    assert requests["set a timer for five minutes"] == requests["set a timer for 45 minutes"] == "HassStartTimer"
    assert requests["add milk to my list"] == "HassShoppingListAddItem"
    assert not [r for r in requests if "{" in r or "porch" in r or "garden" in r]


def test_chatter_mixes_talk_and_requests_but_no_line_a_template_says(library, monkeypatch, tmp_path):
    (tmp_path / "talk.yml").write_text("conversations:\n- - what a lovely day it is\n  - call mom\n")
    monkeypatch.setattr("training.chatter.corpus_folder", lambda: tmp_path)
    monkeypatch.setattr("training.chatter.home_assistant_intents", lambda: HOME_ASSISTANT)
    lines = [line.text for line in everyday_chatter(library, 10, random.Random(0), request_share=0.5)]
    assert "what a lovely day it is" in lines and "call mom" not in lines
    assert any("timer" in line for line in lines)
    assert "turn on the high beams" not in lines


SKILL_FILES = {
    "skill/locale/en-us/weather.intent": "(what's | what is) the weather (| like) in {location}\nis it raining\n",
    "skill/locale/en-us/time.intent": "what time is it in {place}\ncount to ###\n(unclosed\n",
    "skill/locale/en-us/location.entity": "lisbon\n(new york | boston)\n",
}


def test_skill_requests_expand_padatious_lines_with_the_skill_s_own_entities(monkeypatch):
    monkeypatch.setattr("training.skill_requests.skill_names", lambda: ["skill"])
    monkeypatch.setattr("training.skill_requests.english_files", lambda skill: SKILL_FILES)
    requests = dict(skill_requests(random.Random(0)))
    assert requests["what's the weather like in lisbon"] == requests["is it raining"] == "skill"
    assert requests["what is the weather in new york"] == requests["what is the weather in boston"]
    assert not [r for r in requests if "london" in r]  # the skill's own entity file wins over our values
    assert not [r for r in requests if "time" in r or "count" in r]  # no {place}, a wildcard, unparsable


def test_every_listed_skill_is_installed_and_asks_for_something():
    topics = {topic for _, topic in skill_requests(random.Random(0))}
    assert topics == set(skill_names())


def test_a_skill_not_installed_is_named_with_how_to_install_it(library, monkeypatch):
    monkeypatch.setattr("training.skill_requests.skill_names", lambda: ["ovos-skill-not-there"])
    with pytest.raises(ChatterError, match="ovos-skill-not-there is not installed: pip install --no-deps -r"):
        everyday_chatter(library, 10, random.Random(0), request_share=0.5)


TALK = [
    "What a lovely day it is!",
    "Did you see the game last night?",
    "I'm making pasta tonight.",
    "Hello there, old friend.",
    "hello there old friend",  # the line above, typed: the same line
    "My sister moved to Denver.",
    "That movie was far too long.",
    "We should paint the fence.",
]


def test_chatter_lines_are_typed_or_as_said_with_no_slot_once_each_and_split_by_their_topic(
    library, monkeypatch, tmp_path
):
    (tmp_path / "talk.yml").write_text("conversations:\n" + "".join(f"- - {json.dumps(t)}\n" for t in TALK))
    monkeypatch.setattr("training.chatter.corpus_folder", lambda: tmp_path)
    monkeypatch.setattr("training.chatter.home_assistant_intents", lambda: HOME_ASSISTANT)
    config = DatasetConfig(per_intent=20, seed=3, chatter=len(TALK), request_share=0)
    plain = build_dataset(library, DatasetConfig(per_intent=20, seed=3, chatter=0))
    chatty = build_dataset(library, config)
    added = {split: [e for e in chatty[split] if e not in plain[split]] for split in SPLITS}
    lines = [e for examples in added.values() for e in examples]
    assert sorted(e.wording for e in lines) == sorted({dedup_key(t) for t in TALK})  # no request: share 0
    assert {e.form for e in lines} == {"typed", "transcript"}
    for split, examples in added.items():
        for e in examples:
            assert e.intent == OUT_OF_SCOPE and e.slots == {} and e.tags == ("O",) * len(words(e.text))
            assert e.wording == dedup_key(e.text) and split == split_of("talk", config.seed)
            assert e.text == (
                e.wording if e.form == "typed" else next(t for t in TALK if dedup_key(t) == e.wording)
            )
    assert any(e.text != e.wording for e in lines if e.form == "transcript"), "said lines keep their case"


def test_per_intent_is_configurable(library):
    small = build_dataset(library, DatasetConfig(per_intent=20, seed=1, chatter=0))
    assert Counter(e.intent for e in small["train"])["lights"] == 14


def test_written_files_open_as_jsonl_with_label_map(tmp_path, library, splits):
    out = tmp_path / "dataset"
    out.mkdir()
    write_dataset(splits, library, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "labels.json",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]
    assert read_split(out / "test.jsonl") == splits["test"]
    labels = json.loads((out / "labels.json").read_text())
    assert labels["labels"] == library.labels and labels["fingerprint"] == library.fingerprint
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def tagged_spans(example) -> dict[str, str]:
    """The words each slot's tags cover, by slot."""
    spans: dict[str, list[str]] = {}
    for word, tag in zip(words(example.text), example.tags, strict=True):
        if tag != "O":
            spans.setdefault(tag[2:], []).append(word)
    return {slot: " ".join(said) for slot, said in spans.items()}


def test_every_word_has_one_tag_in_every_form(splits):
    examples = [e for split in splits.values() for e in split]
    assert all(len(words(e.text)) == len(e.tags) for e in examples)
    assert all(set(e.tags) == {"O"} for e in examples if e.intent == OUT_OF_SCOPE)
    assert {tag[:2] for e in examples for tag in e.tags} == {"O", "B-", "I-"}


def without_edge_words(value: str) -> str:
    """A free-text value as the car takes it: 'my sister's place' → "sister's place"."""
    said = words(value)
    while said and said[0] in EDGE_WORDS:
        said.pop(0)
    return " ".join(said)


def test_the_tagged_words_say_the_slot_value(splits, library):
    """What the generator tags reads back, through the YAML lists, as the value it drew."""
    resolver = SlotResolver(library)
    examples = [e for e in splits["train"] if e.form != "misheard" and e.slots]
    for example in examples:
        spans = tagged_spans(example)
        assert set(spans) == set(example.slots), example
        for slot, value in example.slots.items():
            said = TaggedSpan(slot, tuple(spans[slot].split()), 0, 1.0)
            assert resolver.resolve(example.intent, said) == (
                without_edge_words(value) if isinstance(value, str) else value
            )


def test_a_dropped_first_word_moves_the_begin_tag(library):
    from training.dataset import Draw, Styler

    class Dropper(random.Random):
        """Always draws the first slip position and the 'drop' slip, no prefixes or suffixes."""

        def random(self):
            return 0.99

        def randrange(self, *args):
            return 0

        def choice(self, seq):
            return seq[0]

        def choices(self, population, weights=None, k=1):
            return [population[2]]  # "drop"

    draw = Draw(parts=(("the airport", "destination"), (" now", None)), slots={"destination": "the airport"})
    text, tags = Styler(library, Dropper()).style(draw, "misheard")
    assert words(text) == ["airport", "now"]
    assert tags == ("B-destination", "O")


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"per_intent": 0}, "--per-intent must be at least"),
        ({"chatter": -1}, "--chatter must be 0 or more"),
        ({"request_share": -0.1}, "--request-share must be from 0 to 1, not -0.1"),
        ({"request_share": 1.5}, "--request-share must be from 0 to 1, not 1.5"),
    ],
)
def test_nonsense_dataset_options_are_refused(options, problem):
    with pytest.raises(ValueError, match=problem):
        DatasetConfig(**options)


@pytest.mark.parametrize(
    ("option", "value"), [("per_intent", 20), ("chatter", 0), ("request_share", 0), ("request_share", 1)]
)
def test_dataset_options_at_their_limits_are_taken(option, value):
    assert getattr(DatasetConfig(**{option: value}), option) == value


@pytest.mark.parametrize(
    ("text", "key"),
    [("Hello there, old  friend!", "hello there old friend"), ("I'm making PASTA.", "i'm making pasta")],
)
def test_a_line_is_the_same_line_whatever_its_case_spacing_and_punctuation(text, key):
    assert dedup_key(text) == key


def test_no_phrase_says_two_values_for_one_slot(library):
    """A tagged span is resolved through the lists: one phrase, one value, within an intent's slot."""
    for intent in library.intents:
        for slot, lists in library.slot_lists(intent).items():
            said: dict[str, str | int] = {}
            for slot_list in (lst for lst in lists if not lst.free_text):
                for value in slot_list.values:
                    for phrase in value.phrases:
                        assert said.setdefault(phrase, value.out) == value.out, (intent, slot, phrase)


@pytest.mark.parametrize(
    ("intent", "words", "slot", "value"),
    [
        ("lights", {"kill", "deactivate", "disable"}, "state", "off"),
        ("lights", {"activate", "enable", "engage"}, "state", "on"),
        ("climate", {"warm up", "heat up"}, "change", "up"),
        ("media", {"mute"}, "action", "mute"),
        ("media", {"unmute"}, "action", "unmute"),
    ],
)
def test_verbs_that_carry_a_value_are_drawn_as_that_value(library, intent, words, slot, value):
    sampler = TemplateSampler(library, random.Random(5))
    draws = [sampler.draw(t) for t in library.intents[intent].templates for _ in range(30)]
    carried = [d for d in draws if any(said in words for said, name in d.parts if name == slot)]
    assert carried, f"no {intent} template says {words}"
    assert all(d.slots[slot] == value for d in carried)


def test_radio_off_is_drawn_as_stop_never_as_play(library):
    sampler = TemplateSampler(library, random.Random(6))
    draws = [sampler.draw(t) for t in library.intents["media"].templates for _ in range(30)]
    radio_off = [d for d in draws if d.slots.get("source") == "radio" and " off" in f" {d.text} "]
    assert radio_off and all(d.slots["action"] == "stop" for d in radio_off)


def test_templates_and_out_of_scope_templates_never_say_the_same_line(library):
    matcher = TemplateMatcher(library)
    sampler = TemplateSampler(library, random.Random(2))
    said = [sampler.draw(t).text for t in library.out_of_scope for _ in range(20)]
    assert not [text for text in said if matcher.says(text)]


def test_no_coffee_talk_in_templates_or_chatter(library):
    texts = [t.text for t in library.out_of_scope] + [
        t.text for intent in library.intents.values() for t in intent.templates
    ]
    phrases = [p for slot_list in library.lists.values() for v in slot_list.values for p in v.phrases]
    assert not [text for text in texts + phrases if HELD_OUT_TALK.search(text)]
    assert not [
        line for line in everyday_chatter(library, 600, random.Random(0)) if HELD_OUT_TALK.search(line.text)
    ]
