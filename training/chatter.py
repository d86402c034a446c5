"""Everyday English for the out-of-scope class, from the chatterbot-corpus conversations (BSD-3).

The YAML's out-of-scope templates say what the car must refuse in the ways their author thought
of; a corpus written for chatbots says it in ways nobody here did (greetings, opinions, questions
about films, money and history), so the classifier learns that ordinary talk is not a command.
A line that one of the intents' templates says word for word is left out: that is a command.
"""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from assistant.intents import IntentLibrary
from assistant.slots import TemplateMatcher

MIN_WORDS, MAX_WORDS = 2, 16
"""Shorter lines are one-word replies, longer ones read like paragraphs, not speech in a car."""


class ChatterError(RuntimeError):
    """The corpus is missing; the message says what to do."""


def corpus_folder() -> Path:
    try:
        import chatterbot_corpus
    except ImportError:
        raise ChatterError(
            "chatterbot-corpus is not installed: pip install chatterbot-corpus, or train with --chatter 0"
        ) from None
    return Path(chatterbot_corpus.__file__).parent / "data" / "english"


def corpus_lines(folder: Path) -> list[str]:
    """Every line of every English conversation, in a fixed order."""
    lines = []
    for path in sorted(folder.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for conversation in document.get("conversations") or []:
            lines += [" ".join(str(line).split()) for line in conversation if isinstance(line, str)]
    return lines


def everyday_chatter(library: IntentLibrary, count: int, rng: random.Random) -> list[str]:
    """Up to ``count`` distinct corpus lines of speakable length that no intent template says."""
    if count <= 0:
        return []
    matcher = TemplateMatcher(library)
    candidates = sorted(
        {line for line in corpus_lines(corpus_folder()) if MIN_WORDS <= len(line.split()) <= MAX_WORDS}
    )
    rng.shuffle(candidates)
    chosen = []
    for line in candidates:
        if len(chosen) == count:
            break
        if not matcher.says(line):
            chosen.append(line)
    return chosen
