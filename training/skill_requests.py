"""Requests people make of a voice assistant that a car can't carry out, from the English Padatious
intents of Open Voice OS skills (Apache-2.0, BSD-3 or MIT; the list is ``training/ovos-skills.txt``).

Home Assistant's intents (:mod:`training.assistant_requests`) ask a home for timers, lists and the
weather; these ask an assistant for much else: the date in Tokyo, a joke, Wikipedia, dictation, the
space station, a screenshot, "ggwave on", "enable the startup sound". Many contributors wrote them
as people speak to an assistant, so the classifier sees the shape of a request to a voice assistant
(and "turn on" or "open" in front of something no car has) far more often than in our own templates.

The skills are installed as data (``pip install --no-deps``) and read from their installed files;
none is imported. A Padatious line is hassil's syntax less its optional brackets: ``(a | b)``
alternatives, ``(| word)`` for an optional word, ``{name}`` for an entity, filled from the skill's own
``.entity`` file where it ships one and from :data:`SAMPLE_VALUES` otherwise; a line naming an
entity neither has is left out.
"""

from __future__ import annotations

import importlib.metadata
import random
from pathlib import Path

from hassil.intents import SlotList, TextSlotList
from hassil.parse_expression import parse_sentence
from hassil.parser import ParseError

from training.assistant_requests import expansions, in_turn

SKILLS_FILE = Path(__file__).with_name("ovos-skills.txt")
ENGLISH = "/locale/en-us/"

SAMPLE_VALUES: dict[str, tuple[str, ...]] = {
    "location": ("london", "tokyo", "chicago", "paris", "sydney", "berlin"),
    "query": ("the eiffel tower", "photosynthesis", "abraham lincoln", "black holes", "tie a tie", "the moon"),
    "name": ("shopping ideas", "meeting notes", "my diary", "song ideas"),
    "sentence": ("hello world", "i like turtles", "good morning everyone"),
    "movie": ("the matrix", "casablanca", "finding nemo"),
    "genre": ("comedy", "horror", "science fiction"),
    "word": ("serendipity", "house", "ephemeral"),
    "application": ("firefox", "the calculator", "the terminal", "the text editor"),
    "country": ("france", "japan", "brazil"),
    "date": ("the fourth of july", "christmas day", "march third"),
}
"""Our own values for the entities a skill fills at run time and ships no file of; none says a car
command, a contact or a place to drive to."""


def skill_names() -> list[str]:
    """The distributions ``ovos-skills.txt`` names, without their pinned versions."""
    lines = SKILLS_FILE.read_text(encoding="utf-8").splitlines()
    return [line.split("==")[0].strip() for line in lines if line.strip() and not line.startswith("#")]


def english_files(skill: str) -> dict[str, str]:
    """The skill's English ``.intent`` and ``.entity`` files by their installed path, read."""
    files = importlib.metadata.files(skill) or []
    return {
        str(file): file.read_text(encoding="utf-8")
        for file in files
        if ENGLISH in f"/{file}" and file.suffix in (".intent", ".entity")
    }


def skill_requests(rng: random.Random) -> list[tuple[str, str]]:
    """The requests of every installed skill of ``ovos-skills.txt``, lower-cased and distinct, each
    with its skill as its topic, one skill after another in turn and, within a skill, one intent
    after another, so that no skill (the weather's twenty intents) or intent crowds out the rest;
    seeded order. Raises ``PackageNotFoundError`` for a skill not installed."""
    by_skill = []
    for skill in skill_names():
        files = english_files(skill)
        lists = _entity_lists(files, rng)
        by_intent = []
        for path, text in sorted(files.items()):
            if path.endswith(".intent"):
                texts = {said for line in text.splitlines() for said in _said(line, lists, rng)}
                by_intent.append([(said, skill) for said in rng.sample(sorted(texts), len(texts))])
        by_skill.append(in_turn(by_intent))
    return in_turn(by_skill)


def _entity_lists(files: dict[str, str], rng: random.Random) -> dict[str, SlotList]:
    """Our sample values, then the skill's own entity files."""
    lists = {name: TextSlotList.from_strings(values, name=name) for name, values in SAMPLE_VALUES.items()}
    for path, text in files.items():
        if path.endswith(".entity"):
            name = Path(path).stem
            values = [said for line in text.splitlines() for said in _said(line, {}, rng)]
            if values:  # a list without values would make hassil warn, not skip the line
                lists[name] = TextSlotList.from_strings(values, name=name)
    return lists


def _said(line: str, lists: dict[str, SlotList], rng: random.Random) -> list[str]:
    """What one Padatious line says; nothing for a blank or unparsable line, a missing entity, or
    Padatious' ``#`` (a digit) and ``:0`` (a word) wildcards."""
    line = line.strip().replace("\u2019", "'")
    if not line or {"#", ":"} & set(line):
        return []
    try:
        expression = parse_sentence(line).expression
    except ParseError:
        return []
    return expansions(expression, lists, {}, rng)
