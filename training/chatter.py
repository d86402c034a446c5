"""Everyday English for the out-of-scope class, from two corpora whose licences allow training:

- the chatterbot-corpus conversations (BSD-3): greetings, opinions, questions about films, money
  and history, said in ways nobody here thought of, so the classifier learns that ordinary talk
  is not a command;
- requests made of a home assistant that a car can't do, from Home Assistant's intents
  (Apache-2.0, :mod:`training.assistant_requests`): timers, lists, weather, vacuums, and made of a
  voice assistant, from Open Voice OS skills (:mod:`training.skill_requests`): the date abroad,
  jokes, Wikipedia, dictation, "ggwave on", so it learns that a request is not a car command by
  its shape alone.

A line that one of the intents' templates says word for word is left out: that is a command.
So is any line about coffee: recordings of coffee orders are a held-out check on false actions,
so coffee talk stays out of training.
"""

from __future__ import annotations

import importlib.metadata
import random
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from assistant.intents import IntentLibrary, spoken_words
from assistant.slots import TemplateMatcher
from training.assistant_requests import assistant_requests, in_turn
from training.skill_requests import SKILLS_FILE, skill_requests

MIN_WORDS, MAX_WORDS = 2, 16
"""Shorter lines are one-word replies, longer ones read like paragraphs, not speech in a car."""

HELD_OUT_TALK = re.compile(
    r"\b(coffee|espresso|latte|cappuccino|americano|barista|mocha|macchiato|frappuccino|roast|starbucks|decaf)\b",
    re.IGNORECASE,
)
"""Words of the held-out coffee-order check; a line with one of them is never trained on."""

REQUEST_SHARE = 0.5
"""Of the chatter lines, the share that are requests of an assistant; the rest are chatterbot talk."""


class ChatterError(RuntimeError):
    """A corpus is missing; the message says what to do."""


def corpus_folder() -> Path:
    try:
        import chatterbot_corpus
    except ImportError:
        raise ChatterError(
            "chatterbot-corpus is not installed: pip install chatterbot-corpus, or train with --chatter 0"
        ) from None
    return Path(chatterbot_corpus.__file__).parent / "data" / "english"


def home_assistant_intents() -> dict:
    """Home Assistant's English intents, as its package ships them."""
    try:
        from home_assistant_intents import get_intents
    except ImportError:
        raise ChatterError(
            "home-assistant-intents is not installed: pip install home-assistant-intents, or train with --chatter 0"
        ) from None
    return get_intents("en")


def requests_of_assistants(rng: random.Random) -> list[Talk]:
    """Home Assistant's requests and the Open Voice OS skills' in turn, each source's topics in turn."""
    try:
        skills = skill_requests(rng)
    except importlib.metadata.PackageNotFoundError as missing:
        raise ChatterError(
            f"{missing.name} is not installed: pip install --no-deps -r {SKILLS_FILE}, or train with --chatter 0"
        ) from None
    return [Talk(text, topic) for text, topic in in_turn([assistant_requests(home_assistant_intents(), rng), skills])]


@dataclass(frozen=True, order=True)
class Talk:
    """A line of chatter and its topic: the chatterbot file it comes from ('sports'), or the Home
    Assistant intent it asks for ('HassStartTimer'). The dataset splits chatter by topic, so the
    held-out splits ask the model about kinds of talk it never trained on, as real talk will."""

    text: str
    topic: str


def corpus_lines(folder: Path) -> list[Talk]:
    """Every line of every English conversation, in a fixed order, with its file's topic."""
    lines = []
    for path in sorted(folder.glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for conversation in document.get("conversations") or []:
            lines += [Talk(" ".join(str(line).split()), path.stem) for line in conversation if isinstance(line, str)]
    return lines


def everyday_chatter(
    library: IntentLibrary, count: int, rng: random.Random, request_share: float = REQUEST_SHARE
) -> list[Talk]:
    """Up to ``count`` distinct lines of speakable length that no intent template says:
    ``request_share`` of them requests of an assistant, the rest chatterbot talk."""
    if count <= 0:
        return []
    requests = round(count * request_share)
    matcher = TemplateMatcher(library)
    talk = sorted(
        {line for line in corpus_lines(corpus_folder()) if MIN_WORDS <= len(line.text.split()) <= MAX_WORDS}
    )
    rng.shuffle(talk)
    chosen = _unsaid(matcher, talk, count - requests, set())
    if requests:
        # a request the talk corpus also says ("how have you been") is talk, drawn or not, so its
        # topic and split don't depend on which talk the seed drew
        said_in_talk = {spoken_words(line.text) for line in talk}
        chosen += _unsaid(matcher, requests_of_assistants(rng), requests, said_in_talk)
    return chosen


def _unsaid(matcher: TemplateMatcher, lines: list[Talk], count: int, taken: set[str]) -> list[Talk]:
    """The first ``count`` lines, in order, that no template says and whose words are not ``taken``
    (nor those of a line chosen before)."""
    chosen: list[Talk] = []
    taken = set(taken)
    for line in lines:
        if len(chosen) == count:
            break
        said = spoken_words(line.text)
        if said not in taken and not HELD_OUT_TALK.search(line.text) and not matcher.says(line.text):
            chosen.append(line)
            taken.add(said)
    return chosen
