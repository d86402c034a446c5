"""Expand the intent templates into a balanced, seeded, deduplicated, leak-free dataset.

Each sentence is drawn at random from a template (hassil's parse tree, walked here so that the
slots it fills are recorded), then written the way the classifier will meet it: typed (lower
case, numbers as words or digits), or as Whisper transcribes (capitalised, punctuated, digits),
sometimes misheard (word boundaries shifted, short words dropped or run together).

Splits are made by *wording*: a sentence's wording is its text with every slot value replaced
by the slot's name, and each wording belongs to exactly one split, so validation and test
sentences are phrasings the model never saw in training, not the same phrasing with another
destination.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from hassil.expression import (
    Alternative,
    Expression,
    ListReference,
    Permutation,
    RuleReference,
    Sequence,
    TextChunk,
)
from unicode_rbnf import RbnfEngine

from assistant.intents import OUT_OF_SCOPE, IntentLibrary, SlotList, Template, list_references, words
from training.chatter import REQUEST_SHARE, everyday_chatter

SPLITS = {"train": 0.70, "validation": 0.15, "test": 0.15}
FORMS = {"typed": 0.45, "transcript": 0.40, "misheard": 0.15}


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    slots: dict[str, str | int]
    wording: str
    form: str
    tags: tuple[str, ...]
    """One BIO tag per word of ``words(text)``: ``B-destination``, ``I-destination``, ``O``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", tuple(self.tags))  # lists when read back from JSONL


@dataclass(frozen=True)
class Draw:
    """A sentence as a template said it: words, with slot values marked, before any styling."""

    parts: tuple[tuple[str, str | None], ...]
    """(text, slot name or None) in order."""
    slots: dict[str, str | int]
    counted: frozenset[str] = frozenset()
    """Slots whose value was drawn from a number range (said in digits or words)."""

    @property
    def text(self) -> str:
        return _squash(" ".join(text for text, _ in self.parts))

    @property
    def wording(self) -> str:
        return _squash(" ".join(f"{{{slot}}}" if slot else text for text, slot in self.parts)).lower()

    def segments(self) -> list[Segment]:
        """The sentence as runs of normalised words, each with the slot it fills (or None)."""
        return [(words(text), slot) for text, slot in self.parts if words(text)]


Segment = tuple[list[str], str | None]
TaggedWords = list[tuple[str, str]]


def _squash(text: str) -> str:
    return " ".join(text.split())


class TemplateSampler:
    """Draws random sentences from hassil expressions, recording which slot each value fills."""

    def __init__(self, library: IntentLibrary, rng: random.Random):
        self.library = library
        self.rng = rng

    def draw(self, template: Template) -> Draw:
        parts: list[tuple[str, str | None]] = []
        slots: dict[str, str | int] = {}
        self._walk(template.sentence.expression, parts, slots)
        counted = frozenset(
            ref.slot_name
            for ref in list_references(template.sentence.expression, self.library.rules)
            if self.library.lists[ref.list_name].number_range
        )
        return Draw(parts=tuple(parts), slots=slots, counted=counted & slots.keys())

    def _walk(self, expression: Expression, parts: list, slots: dict) -> None:
        if isinstance(expression, TextChunk):
            parts.append((expression.original_text, None))
        elif isinstance(expression, Alternative):
            self._walk(self.rng.choice(expression.items), parts, slots)
        elif isinstance(expression, Permutation):
            items = list(expression.items)
            self.rng.shuffle(items)
            for item in items:
                self._walk(item, parts, slots)
                parts.append((" ", None))
        elif isinstance(expression, Sequence):
            for item in expression.items:
                self._walk(item, parts, slots)
        elif isinstance(expression, RuleReference):
            self._walk(self.library.rules[expression.rule_name].expression, parts, slots)
        elif isinstance(expression, ListReference):
            said, value = self._pick(self.library.lists[expression.list_name])
            parts.append((said, expression.slot_name))
            slots[expression.slot_name] = value

    def _pick(self, slot_list: SlotList) -> tuple[str, str | int]:
        if slot_list.number_range:
            start, stop, step = slot_list.number_range
            number = self.rng.randrange(start, stop + 1, step)
            return (spoken_number(number) if self.rng.random() < 0.5 else str(number)), number
        value = self.rng.choice(slot_list.values)
        said = self.rng.choice(value.phrases)
        return said, (said if slot_list.free_text else value.out)


_SPELLER = RbnfEngine.for_language("en")


def spoken_number(number: int) -> str:
    """A number as it is said, in words ('twenty one'), by the rules hassil reads them back with."""
    return _SPELLER.format_number(number).text.replace("-", " ")


class Styler:
    """Writes a drawn sentence as typed text, a Whisper transcript, or a misheard transcript.

    It works on tagged words, so every word keeps the slot tag it was drawn with through the
    prefixes, the digits and the slips: ``words(text)`` and ``tags`` stay aligned.
    """

    def __init__(self, library: IntentLibrary, rng: random.Random):
        self.library = library
        self.rng = rng

    def style(self, draw: Draw, form: str) -> tuple[str, tuple[str, ...]]:
        """The text as the model will meet it, and one BIO tag per word of it."""
        segments = draw.segments() if form == "typed" else _digits_for_number_words(draw)
        tagged = self._wrap(_bio(segments))
        if form == "misheard":
            tagged = self._mishear(tagged)
        text = " ".join(word for word, _ in tagged)
        return (text if form == "typed" else self._punctuate(text)), tuple(tag for _, tag in tagged)

    def _wrap(self, tagged: TaggedWords) -> TaggedWords:
        if self.library.prefixes and self.rng.random() < 0.2:
            tagged = [(w, "O") for w in words(self.rng.choice(self.library.prefixes))] + tagged
        if self.library.suffixes and self.rng.random() < 0.15:
            tagged = tagged + [(w, "O") for w in words(self.rng.choice(self.library.suffixes))]
        return tagged

    def _punctuate(self, text: str) -> str:
        end = self.rng.choices([".", "?", "!", ""], weights=[70, 10, 8, 12])[0]
        return text[:1].upper() + text[1:] + end

    def _mishear(self, tagged: TaggedWords) -> TaggedWords:
        """A generic ASR slip, now and then two: a shifted word boundary ('brights on' → 'bright son'),
        a clipped word end ('off' → 'of'), a dropped short word, rarely two words run together."""
        tagged = list(tagged)
        for _ in range(self.rng.choice([1, 1, 1, 2])):
            if len(tagged) < 2:
                break
            i = self.rng.randrange(len(tagged) - 1)
            (word, tag), (after, after_tag) = tagged[i], tagged[i + 1]
            slip = self.rng.choices(["shift", "clip", "drop", "join"], weights=[3, 3, 3, 1])[0]
            if slip == "shift" and len(word) > 2:
                tagged[i : i + 2] = [(word[:-1], tag), (word[-1] + after, after_tag)]
            elif slip == "clip" and len(word) > 2:
                tagged[i] = (word[:-1], tag)
            elif slip == "drop" and len(word) <= 3:
                del tagged[i]
                if tag.startswith("B-") and after_tag == f"I-{tag[2:]}":
                    tagged[i] = (after, tag)  # the span now starts at its second word
            else:
                tagged[i : i + 2] = [(word + after, tag if tag != "O" else after_tag)]
        return tagged


def _bio(segments: list[Segment]) -> TaggedWords:
    """Flatten segments into (word, BIO tag) pairs."""
    return [
        (word, "O" if slot is None else f"{'B' if i == 0 else 'I'}-{slot}")
        for segment_words, slot in segments
        for i, word in enumerate(segment_words)
    ]


def _digits_for_number_words(draw: Draw) -> list[Segment]:
    """Whisper writes numbers as digits: a number said in words becomes its digits ('halfway',
    which a list maps to 50, stays words)."""
    return [
        ([str(draw.slots[slot])], slot) if slot in draw.counted else (said, slot) for said, slot in draw.segments()
    ]


def split_of(wording: str, seed: int) -> str:
    """The split a wording belongs to, fixed by a hash so it never depends on sampling order."""
    bucket = int(hashlib.sha256(f"{seed}:{wording}".encode()).hexdigest(), 16) % 1000 / 1000
    cumulative = 0.0
    for split, share in SPLITS.items():
        cumulative += share
        if bucket < cumulative:
            return split
    return "test"


class ConfigError(ValueError):
    """A training or dataset option that makes no sense; the message names it and what it takes."""


@dataclass(frozen=True)
class DatasetConfig:
    """How the dataset is drawn from the YAML; saved whole with every model trained on it."""

    per_intent: int = 200
    """Sentences drawn for each intent and for out-of-scope, over the three splits."""
    seed: int = 13
    chatter: int = 800
    """Lines of everyday English and of requests made of voice assistants (:mod:`training.chatter`)
    added as more out-of-scope examples."""
    request_share: float = REQUEST_SHARE
    """The share of those lines that are requests a voice assistant takes and a car doesn't."""

    def __post_init__(self) -> None:
        if self.per_intent < MIN_PER_INTENT:
            raise ConfigError(
                f"--per-intent must be at least {MIN_PER_INTENT} (every split needs sentences of every intent), "
                f"not {self.per_intent}"
            )
        if not 0 <= self.request_share <= 1:
            raise ConfigError(f"--request-share must be from 0 to 1, not {self.request_share}")
        if self.chatter < 0:
            raise ConfigError(f"--chatter must be 0 or more, not {self.chatter}")


MIN_PER_INTENT = 20


def build_dataset(library: IntentLibrary, config: DatasetConfig) -> dict[str, list[Example]]:
    """Draw ``per_intent`` distinct sentences for every label, spread over the splits by wording,
    plus ``chatter`` lines of everyday English as more out-of-scope examples (:mod:`training.chatter`),
    spread over the splits by topic: held-out chatter is talk of a kind the model never trained on."""
    per_intent, seed, chatter = config.per_intent, config.seed, config.chatter
    rng = random.Random(seed)
    sampler, styler = TemplateSampler(library, rng), Styler(library, rng)
    templates = {name: intent.templates for name, intent in library.intents.items()}
    templates[OUT_OF_SCOPE] = library.out_of_scope
    splits: dict[str, list[Example]] = {split: [] for split in SPLITS}
    seen: set[str] = set()
    for label, label_templates in templates.items():
        quotas = {split: round(per_intent * share) for split, share in SPLITS.items()}
        for _ in range(per_intent * 60):
            if not any(quotas.values()):
                break
            draw = sampler.draw(rng.choice(label_templates))
            split = split_of(draw.wording, seed)
            form = rng.choices(list(FORMS), weights=list(FORMS.values()))[0]
            text, tags = styler.style(draw, form)
            key = _dedup_key(text)
            if quotas[split] == 0 or key in seen:
                continue
            seen.add(key)
            quotas[split] -= 1
            if label == OUT_OF_SCOPE:  # the car's words in talk fill no slot
                splits[split].append(Example(text, label, {}, draw.wording, form, ("O",) * len(tags)))
            else:
                splits[split].append(Example(text, label, draw.slots, draw.wording, form, tags))
    for line in everyday_chatter(library, chatter, rng, config.request_share):
        key = _dedup_key(line.text)
        if key not in seen:
            seen.add(key)
            form = rng.choice(["typed", "transcript"])
            text = key if form == "typed" else line.text
            tags = ("O",) * len(words(text))
            splits[split_of(line.topic, seed)].append(Example(text, OUT_OF_SCOPE, {}, key, form, tags))
    return splits


def _dedup_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower()).split())


def write_dataset(splits: dict[str, list[Example]], library: IntentLibrary, folder: Path) -> None:
    """Write the splits as JSONL plus ``labels.json`` into ``folder`` (a staging folder the caller
    publishes, :mod:`training.folders`)."""
    for split, examples in splits.items():
        with open(folder / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for example in examples:
                handle.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")
    summary = {
        "labels": library.labels,
        "fingerprint": library.fingerprint,
        "counts": {split: dict(Counter(e.intent for e in examples)) for split, examples in splits.items()},
    }
    (folder / "labels.json").write_text(json.dumps(summary, indent=2) + "\n")


def read_split(path: Path) -> list[Example]:
    with open(path, encoding="utf-8") as handle:
        return [Example(**json.loads(line)) for line in handle if line.strip()]
