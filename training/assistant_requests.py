"""Requests people make of a home assistant that a car can't carry out, from Home Assistant's own
intents (the ``home-assistant-intents`` package, Apache-2.0).

Timers, shopping and to-do lists, the weather, the time and date, robot vacuums and lawn mowers,
broadcasts: the sentences many contributors wrote for Home Assistant's voice assistant, expanded
with hassil. They are requests shaped like our commands ("pause the timer", "add eggs to my
shopping list", "start the vacuum"), so the classifier learns that the shape of a request is not
enough; what is asked for decides. Intents that overlap the car's (lights, climate, media,
covers, device on/off, device state) are left out.
"""

from __future__ import annotations

import itertools
import random

from hassil.errors import MissingListError, MissingRuleError
from hassil.expression import Expression, Sentence
from hassil.intents import IntentData, Intents, RangeSlotList, SlotList, TextSlotList, WildcardSlotList
from hassil.sample import sample_expression

REQUEST_INTENTS = frozenset(
    {
        "HassStartTimer",
        "HassCancelTimer",
        "HassCancelAllTimers",
        "HassIncreaseTimer",
        "HassDecreaseTimer",
        "HassPauseTimer",
        "HassUnpauseTimer",
        "HassTimerStatus",
        "HassGetWeather",
        "HassGetCurrentDate",
        "HassGetCurrentTime",
        "HassListAddItem",
        "HassListCompleteItem",
        "HassListRemoveItem",
        "HassShoppingListAddItem",
        "HassShoppingListCompleteItem",
        "HassVacuumStart",
        "HassVacuumReturnToBase",
        "HassVacuumCleanArea",
        "HassLawnMowerDock",
        "HassLawnMowerStartMowing",
        "HassBroadcast",
        "HassRespond",
    }
)
"""Home Assistant intents whose requests no car does; none of them names a car function."""

NAMES: dict[str, tuple[str, ...]] = {
    "weather": ("london", "chicago", "the lake house", "home"),
    "todo": ("shopping", "groceries", "chores", "hardware store", "packing"),
    "vacuum": ("vacuum", "robot vacuum", "roomba"),
    "lawn_mower": ("mower", "lawn mower", "robot mower"),
}
"""Names of a home's things by Home Assistant domain, for the templates that require one."""

SAMPLE_VALUES: dict[str, tuple[str, ...]] = {
    "area": ("kitchen", "living room", "bedroom", "basement", "hallway", "nursery", "study"),
    "floor": ("upstairs", "downstairs", "first", "second", "ground"),
    "zone": ("home", "the office", "school"),
    "message": ("dinner is ready", "the movie starts in five minutes", "time for bed", "we're leaving"),
    "timer_name": ("pasta", "laundry", "pizza", "homework", "nap", "eggs"),
    "timer_command": ("water the plants", "check the oven", "feed the dog", "take out the trash"),
    "shopping_list_item": ("milk", "eggs", "bread", "dog food", "batteries", "paper towels", "apples"),
    "todo_list_item": (
        "renew my passport",
        "pay the rent",
        "book the vet",
        "clean the gutters",
        "mow the lawn",
    ),
}
"""Our own values for the lists Home Assistant fills at run time from a home's devices and areas;
none says a car command or a contact to call ("call the bank" as a to-do item taught that a call is talk)."""

SAMPLE_NUMBERS = {"two": 2, "five": 5, "ten": 10, "fifteen": 15, "thirty": 30, "3": 3, "20": 20, "45": 45}
"""Numbers said for a number range, as words or digits, where the range holds them."""

MAX_PER_TEMPLATE = 40
"""Expansions kept from one template, so a template with many numbers doesn't crowd out the rest."""


def assistant_requests(document: dict, rng: random.Random) -> list[tuple[str, str]]:
    """The kept requests of Home Assistant's English intents ``document``, lower-cased and
    distinct, each with its intent's name, taking one intent after another in turn so that no
    intent (the many timer templates) crowds out the rest; seeded order."""
    intents = Intents.from_dict(document)
    slot_lists = {name: _sayable(slot_list) for name, slot_list in intents.slot_lists.items()}
    slot_lists.update(
        {name: TextSlotList.from_strings(values, name=name) for name, values in SAMPLE_VALUES.items()}
    )
    by_intent = []
    for name in sorted(REQUEST_INTENTS & set(intents.intents)):
        texts = {
            text
            for data in intents.intents[name].data
            for sentence in data.sentences
            for text in expansions(sentence.expression, _with_names(slot_lists, data), intents.expansion_rules, rng)
        }
        by_intent.append([(text, name) for text in rng.sample(sorted(texts), len(texts))])
    return in_turn(by_intent)


def in_turn(by_topic: list[list[tuple[str, str]]]) -> list[tuple[str, str]]:
    """The ``(text, topic)`` pairs of every topic, one topic after another in turn, each text once:
    a text several topics say goes with the first of them by name, whatever the order drawn, so a
    text's topic (and so its split) doesn't depend on the seed."""
    owner: dict[str, str] = {}
    for text, topic in sorted(itertools.chain.from_iterable(by_topic), reverse=True):
        owner[text] = topic
    turns = itertools.chain.from_iterable(itertools.zip_longest(*by_topic))
    return list({turn[0]: turn[1] for turn in turns if turn and owner[turn[0]] == turn[1]}.items())


def _with_names(slot_lists: dict[str, SlotList], data: IntentData) -> dict[str, SlotList]:
    """The lists, with ``{name}`` saying the names of the domain the template requires (none: no names)."""
    domains = (data.requires_context or {}).get("domain") or []
    names = [
        name
        for domain in ([domains] if isinstance(domains, str) else domains)
        for name in NAMES.get(domain, ())
    ]
    return {**slot_lists, "name": TextSlotList.from_strings(names, name="name")}


def _sayable(slot_list: SlotList) -> SlotList:
    """A number range as a few numbers in it; a free-text list we have no values for stays empty,
    so hassil skips the templates that need it."""
    if isinstance(slot_list, RangeSlotList):
        numbers = [said for said, n in SAMPLE_NUMBERS.items() if slot_list.start <= n <= slot_list.stop]
        return TextSlotList.from_strings(numbers or [str(slot_list.start)], name=slot_list.name)
    if isinstance(slot_list, WildcardSlotList):
        return TextSlotList.from_strings([], name=slot_list.name)
    return slot_list


def expansions(
    expression: Expression, slot_lists: dict[str, SlotList], rules: dict[str, Sentence], rng: random.Random
) -> list[str]:
    """Up to ``MAX_PER_TEMPLATE`` texts a template says, lower-cased, drawn at random among its first thousand."""
    try:
        texts = list(itertools.islice(sample_expression(expression, slot_lists, rules), 1000))
    except (MissingListError, MissingRuleError):  # a list or rule only a real home fills
        return []
    texts = [" ".join(text.lower().split()) for text in texts if text.strip()]
    return rng.sample(texts, min(MAX_PER_TEMPLATE, len(texts)))
