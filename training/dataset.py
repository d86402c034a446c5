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
import shutil
import tempfile
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

from assistant.intents import OUT_OF_SCOPE, IntentLibrary, SlotList, Template
from assistant.numbers import number_to_words
from training.chatter import everyday_chatter

SPLITS = {"train": 0.70, "validation": 0.15, "test": 0.15}
FORMS = {"typed": 0.45, "transcript": 0.40, "misheard": 0.15}


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    slots: dict[str, str | int]
    wording: str
    form: str


@dataclass(frozen=True)
class Draw:
    """A sentence as a template said it: words, with slot values marked, before any styling."""

    parts: tuple[tuple[str, str | None], ...]
    """(text, slot name or None) in order."""
    slots: dict[str, str | int]

    @property
    def text(self) -> str:
        return _squash(" ".join(text for text, _ in self.parts))

    @property
    def wording(self) -> str:
        return _squash(" ".join(f"{{{slot}}}" if slot else text for text, slot in self.parts)).lower()


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
        return Draw(parts=tuple(parts), slots=slots)

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
            return (number_to_words(number) if self.rng.random() < 0.5 else str(number)), number
        value = self.rng.choice(slot_list.values)
        said = self.rng.choice(value.phrases)
        return said, (said if slot_list.free_text else value.out)


class Styler:
    """Writes a drawn sentence as typed text, a Whisper transcript, or a misheard transcript."""

    def __init__(self, library: IntentLibrary, rng: random.Random):
        self.library = library
        self.rng = rng

    def style(self, draw: Draw, form: str) -> str:
        text = self._wrap(draw.text.lower())
        if form == "typed":
            return text
        text = _digits_for_number_words(draw, text)
        if form == "misheard":
            text = self._mishear(text)
        return self._punctuate(text)

    def _wrap(self, text: str) -> str:
        if self.library.prefixes and self.rng.random() < 0.2:
            text = f"{self.rng.choice(self.library.prefixes)} {text}"
        if self.library.suffixes and self.rng.random() < 0.15:
            text = f"{text} {self.rng.choice(self.library.suffixes)}"
        return text

    def _punctuate(self, text: str) -> str:
        end = self.rng.choices([".", "?", "!", ""], weights=[70, 10, 8, 12])[0]
        return text[:1].upper() + text[1:] + end

    def _mishear(self, text: str) -> str:
        """A generic ASR slip, now and then two: a shifted word boundary ('brights on' → 'bright son'),
        a clipped word end ('off' → 'of'), a dropped short word, rarely two words run together."""
        words = text.split()
        for _ in range(self.rng.choice([1, 1, 1, 2])):
            if len(words) < 2:
                break
            i = self.rng.randrange(len(words) - 1)
            slip = self.rng.choices(["shift", "clip", "drop", "join"], weights=[3, 3, 3, 1])[0]
            if slip == "shift" and len(words[i]) > 2:
                words[i], words[i + 1] = words[i][:-1], words[i][-1] + words[i + 1]
            elif slip == "clip" and len(words[i]) > 2:
                words[i] = words[i][:-1]
            elif slip == "drop" and len(words[i]) <= 3:
                del words[i]
            else:
                words[i : i + 2] = [words[i] + words[i + 1]]
        return " ".join(words)


_NUMBER_WORDS = re.compile(
    r"\b(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|\w+teen"
    r"|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?: \w+)?\b"
)


def _digits_for_number_words(draw: Draw, text: str) -> str:
    """Whisper writes numbers as digits: put the digits back for numeric slots said as words."""
    for said, slot in draw.parts:
        value = draw.slots.get(slot) if slot else None
        if isinstance(value, int) and not said.strip().isdigit():
            text = text.replace(said.strip().lower(), str(value), 1)
    return text


def split_of(wording: str, seed: int) -> str:
    """The split a wording belongs to, fixed by a hash so it never depends on sampling order."""
    bucket = int(hashlib.sha256(f"{seed}:{wording}".encode()).hexdigest(), 16) % 1000 / 1000
    cumulative = 0.0
    for split, share in SPLITS.items():
        cumulative += share
        if bucket < cumulative:
            return split
    return "test"


def build_dataset(
    library: IntentLibrary, per_intent: int = 200, seed: int = 13, chatter: int = 0
) -> dict[str, list[Example]]:
    """Draw ``per_intent`` distinct sentences for every label, spread over the splits by wording,
    plus ``chatter`` lines of everyday English as more out-of-scope examples (:mod:`training.chatter`)."""
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
            text = styler.style(draw, form)
            key = _dedup_key(text)
            if quotas[split] == 0 or key in seen:
                continue
            seen.add(key)
            quotas[split] -= 1
            splits[split].append(
                Example(text, label, draw.slots if label != OUT_OF_SCOPE else {}, draw.wording, form)
            )
    for line in everyday_chatter(library, chatter, rng):
        key = _dedup_key(line)
        if key not in seen:
            seen.add(key)
            form = rng.choice(["typed", "transcript"])
            text = key if form == "typed" else line
            splits[split_of(key, seed)].append(Example(text, OUT_OF_SCOPE, {}, key, form))
    return splits


def _dedup_key(text: str) -> str:
    return " ".join(re.sub(r"[^\w' ]", " ", text.lower()).split())


def write_dataset(splits: dict[str, list[Example]], library: IntentLibrary, out_dir: Path) -> Path:
    """Write the splits as JSONL plus ``labels.json``; all or nothing (a temp dir renamed into place)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    for split, examples in splits.items():
        with open(staging / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            for example in examples:
                handle.write(json.dumps(asdict(example), ensure_ascii=False) + "\n")
    summary = {
        "labels": library.labels,
        "fingerprint": library.fingerprint,
        "counts": {split: dict(Counter(e.intent for e in examples)) for split, examples in splits.items()},
    }
    (staging / "labels.json").write_text(json.dumps(summary, indent=2) + "\n")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
    return out_dir


def read_split(path: Path) -> list[Example]:
    with open(path, encoding="utf-8") as handle:
        return [Example(**json.loads(line)) for line in handle if line.strip()]
