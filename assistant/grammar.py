"""What recognition needs from the intents, compiled once: the grammar's phrases and its matcher.

Whisper mishears the words a command turns on ("iced mocha" → "I smokeo", "skim" → "skin"), and a
grammar of a few templates with lists says far too many sentences to list (the coffee domain: ~50
million). So the grammar is kept as what it is made of, the phrases of its closed lists and the words
of its templates, and a transcript is corrected phrase by phrase: every short span of the hypothesis
is looked up among those phrases by letters (space-free, rapidfuzz) and by a rough sound key, and
each close phrase put in its place makes a candidate. Candidates the grammar accepts (hassil's
matcher, wildcards included) go to the recognizer, which scores them against the audio and decides.

Letters miss what Whisper hears too badly ("a great cup" for "a drip coffee"), so the grammar is also
kept as a graph of words (:func:`word_graph`), small even when the sentences are not: the recognizer
compiles it to Whisper's tokens and decodes within it (``assistant/constrained.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import combinations, permutations

from hassil import recognize
from hassil.expression import (
    Alternative,
    Expression,
    Group,
    ListReference,
    Permutation,
    RuleReference,
    TextChunk,
)
from rapidfuzz import fuzz, process

from assistant.compounds import compound_splits
from assistant.intents import IntentLibrary, SlotList, to_hassil

MIN_SIMILARITY = 72.0
"""How alike (0-100, letters or sound) a span and a grammar phrase must be to swap one for the other."""
SOUND_DISCOUNT = 5.0
"""Sound keys are coarser than letters: a match by sound counts this much less."""
WORD_COUNT_PENALTY = 8.0
"""Similarity lost per word a swap adds or drops ('like a' → 'like' is rarely a mishearing)."""
MAX_SWAPS = 16
"""The closest swaps combined into candidates."""
MAX_TRIES = 200
"""Candidates checked against the grammar (microseconds each), the likeliest first."""
EDGE_DROP_SIMILARITY = 84.0
"""What dropping one word at either end counts as (a second word costs as much again)."""
_PUNCTUATION = re.compile(r"[^\w' ]+")
_SOUNDS = (
    (r"ph", "f"), (r"ck|ch|q|c(?![eiy])|g(?![eiy])", "k"), (r"c(?=[eiy])|z|x", "s"),
    (r"d", "t"), (r"b", "p"), (r"v", "f"), (r"(?<=.)[aeiouyhw']+", ""), (r"(.)\1+", r"\1"),
)


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: how spans and phrases are compared."""
    return " ".join(_PUNCTUATION.sub(" ", text.lower().replace("-", " ")).split())


def sound_key(text: str) -> str:
    """A rough sound of the words ('iced mocha' → 'istmk' ≈ 'i smokeo' → 'ismk'): vowels after a
    word's first letter and voicing dropped, spellings of one sound merged, so a misheard word can
    still find its phrase."""
    return "".join(_word_sound(word) for word in text.split())


def _word_sound(word: str) -> str:
    for pattern, replacement in _SOUNDS:
        word = re.sub(pattern, replacement, word)
    return word


@dataclass(frozen=True)
class Swap:
    """One correction: words ``start:end`` of the hypothesis said as ``phrase``."""

    start: int
    end: int
    phrase: str
    similarity: float


class Grammar:
    """The intents' phrases, indexed for look-up, and hassil's matcher for whole sentences."""

    def __init__(self, library: IntentLibrary, min_similarity: float = MIN_SIMILARITY):
        self._sentences = _compile(library, wildcard=".+")
        self._closed_sentences = _compile(library, wildcard=None)
        self._hassil = to_hassil(library)
        self.graph = word_graph(library)
        self.min_similarity = min_similarity
        self.phrases = tuple(sorted(_closed_list_phrases(library) | _template_phrases(library)))
        self._letters = [phrase.replace(" ", "") for phrase in self.phrases]
        self._sounds = [sound_key(phrase) for phrase in self.phrases]
        self._longest = max(len(phrase.split()) for phrase in self.phrases)

    def accepts(self, text: str) -> bool:
        """Whether the grammar says this sentence (a wildcard slot takes any words, a range any number)."""
        return self._sentences.fullmatch(normalise(text).replace(" ", "")) is not None

    def says_commands(self, text: str, word_for_word: bool = False) -> bool:
        """Whether the grammar says the sentence, or each command of it when it is several at once
        ('close all windows and turn on the A/C', cut at its conjunctions as the dialogue cuts it);
        ``word_for_word``: in the grammar's own words (no free-text slot taking words that are not
        one of its samples, and no word split where the grammar has one: 'cab in' for 'cabin')."""
        says = self._says_word_for_word if word_for_word else self.accepts
        return says(text) or any(all(says(part) for part in parts) for parts in compound_splits(text))

    def _says_closed(self, text: str) -> bool:
        """Accepted with free-text slots held to their sample values: what a sentence that lost
        words at its ends must be ('yeah i'll call you when…' is not 'call {contact}')."""
        return self._closed_sentences.fullmatch(normalise(text).replace(" ", "")) is not None

    def _says_word_for_word(self, text: str) -> bool:
        return self._says_closed(text) and self.parse(text) is not None

    def parse(self, text: str) -> tuple[str, dict[str, str | int]] | None:
        """The intent and slot values (the lists' ``out``) of a sentence the grammar says, by hassil."""
        result = recognize(normalise(text), self._hassil)
        if result is None:
            return None
        return result.intent.name, {name: entity.value for name, entity in result.entities.items()}

    def swaps(self, text: str) -> list[Swap]:
        """Every close grammar phrase for every span of up to one word more than the longest phrase."""
        words = normalise(text).split()
        found: dict[tuple[int, int, str], float] = {}
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + self._longest + 1) + 1):
                span = words[start:end]
                for index, similarity in self._near(" ".join(span)):
                    phrase = self.phrases[index]
                    similarity -= WORD_COUNT_PENALTY * abs(len(phrase.split()) - len(span))
                    if similarity >= self.min_similarity and not _nested(phrase.split(), span):
                        key = (start, end, phrase)
                        found[key] = max(found.get(key, 0.0), similarity)
        swaps = [Swap(start, end, phrase, score) for (start, end, phrase), score in found.items()]
        swaps += _edge_drops(len(words))
        return sorted(swaps, key=lambda swap: -swap.similarity)

    def candidates(self, text: str, limit: int = 12) -> list[str]:
        """Sentences the grammar says that differ from ``text`` by close phrases, likeliest first.

        One, two or three swaps that don't overlap, the least dissimilar first (a swap costs
        100 - similarity), kept where the grammar accepts the result; at most :data:`MAX_TRIES`
        hassil matches.
        """
        words = normalise(text).split()
        swaps = self.swaps(text)[:MAX_SWAPS]
        choices = [
            choice
            for size in (1, 2, 3)
            for choice in combinations(swaps, size)
            if _apart(choice)
        ]
        choices.sort(key=lambda choice: sum(100 - swap.similarity for swap in choice))
        accepted: dict[str, None] = {}
        for choice in choices[:MAX_TRIES]:
            sentence = _apply(words, choice)
            drops = any(not swap.phrase for swap in choice)
            if sentence not in accepted and (self._says_closed(sentence) if drops else self.accepts(sentence)):
                accepted[sentence] = None
                if len(accepted) == limit:
                    break
        return list(accepted)

    def lengthened(self, text: str) -> list[str]:
        """The grammar's sentences that are ``text`` and one word more at its end ('hazards' →
        'hazards on', 'hazards off'): in noise Whisper loses a short last word."""
        words = normalise(text).split()
        steps = self.graph.steps(self.graph.after(words))
        ending = {word for word, node in steps if self.graph.end in self.graph.closure({node})}
        return [" ".join([*words, word]) for word in sorted(ending)]

    def _near(self, span: str) -> list[tuple[int, float]]:
        near = {
            index: score
            for _, score, index in process.extract(
                span.replace(" ", ""), self._letters, scorer=fuzz.ratio, limit=4,
                score_cutoff=self.min_similarity,
            )
        }
        # the span's sound as said, and as one word: Whisper splits compounds ('sunroof' → 'sun or')
        for key in {sound_key(span), sound_key(span.replace(" ", ""))}:
            for _, score, index in process.extract(
                key, self._sounds, scorer=fuzz.ratio, limit=4, score_cutoff=self.min_similarity + SOUND_DISCOUNT
            ):
                near[index] = max(near.get(index, 0.0), score - SOUND_DISCOUNT)
        return list(near.items())


@dataclass(frozen=True)
class WordGraph:
    """What the grammar lets follow what, word by word: node ``n``'s steps are ``edges[n]``, each a
    word (or ``None``, a step that says nothing) and the node it leads to. Every path from ``start``
    to ``end`` is a sentence of the grammar; a free-text slot says one of its sample values, a range
    one of its numbers in digits (as Whisper writes them)."""

    edges: tuple[tuple[tuple[str | None, int], ...], ...]
    start: int
    end: int
    free_text: tuple[tuple[int, int], ...] = ()
    """Where a free-text slot is said: from each node to the other, any words may be said too (the
    recognizer lets Whisper's own through), beside the samples the edges hold."""

    def closure(self, nodes: set[int]) -> set[int]:
        """The nodes and every node their wordless steps reach."""
        reached, todo = set(nodes), list(nodes)
        while todo:
            for word, node in self.edges[todo.pop()]:
                if word is None and node not in reached:
                    reached.add(node)
                    todo.append(node)
        return reached

    def steps(self, nodes: set[int]) -> set[tuple[str, int]]:
        """The words said next from ``nodes`` (a closure), each with the node it leads to."""
        return {(word, node) for start in nodes for word, node in self.edges[start] if word is not None}

    def after(self, words: list[str]) -> set[int]:
        """The nodes the grammar is at after saying ``words`` from its start (empty: it cannot say them)."""
        reached = self.closure({self.start})
        for said in words:
            reached = self.closure({node for word, node in self.steps(reached) if word == said})
        return reached


def word_graph(library: IntentLibrary) -> WordGraph:
    """Every template of every intent as one :class:`WordGraph` (a node per word said, so it grows with
    the templates and lists, not with the sentences they say)."""
    builder = _GraphBuilder(library)
    ends = [
        builder.add(template.sentence.expression, 0)
        for intent in library.intents.values()
        for template in intent.templates
    ]
    end = builder.node()
    for node in ends:
        builder.edges[node].append((None, end))
    return WordGraph(tuple(tuple(steps) for steps in builder.edges), 0, end, tuple(builder.free_text))


class _GraphBuilder:
    def __init__(self, library: IntentLibrary) -> None:
        self.library = library
        self.edges: list[list[tuple[str | None, int]]] = [[]]
        self.free_text: list[tuple[int, int]] = []

    def node(self) -> int:
        self.edges.append([])
        return len(self.edges) - 1

    def add(self, expression: Expression, start: int) -> int:
        """The expression's words from node ``start``; returns the node they end at."""
        if isinstance(expression, TextChunk):
            return self.words(normalise(expression.text).split(), start)
        if isinstance(expression, ListReference):
            end = self.join(start, [phrase.split() for phrase in _list_phrases(self.library, expression)])
            slot_list = self.library.lists.get(expression.list_name)
            if slot_list is not None and slot_list.free_text:
                self.free_text.append((start, end))
            return end
        if isinstance(expression, RuleReference):
            return self.add(self.library.rules[expression.rule_name].expression, start)
        if isinstance(expression, Permutation):
            return self.join(start, [list(order) for order in permutations(expression.items)], self.sequence)
        if isinstance(expression, Alternative):
            end = self.join(start, [[item] for item in expression.items], self.sequence)
            if expression.is_optional:
                self.edges[start].append((None, end))
            return end
        if isinstance(expression, Group):
            return self.sequence(list(expression.items), start)
        return start

    def sequence(self, items: list[Expression], start: int) -> int:
        for item in items:
            start = self.add(item, start)
        return start

    def words(self, words: list[str], start: int) -> int:
        for word in words:
            node = self.node()
            self.edges[start].append((word, node))
            start = node
        return start

    def join(self, start: int, branches: list, say=None) -> int:
        """Each branch from ``start`` to one shared end (``say`` walks a branch; by default, words)."""
        end = self.node()
        for branch in branches:
            self.edges[(say or self.words)(branch, start)].append((None, end))
        return end


def _list_phrases(library: IntentLibrary, reference: ListReference) -> list[str]:
    slot_list = library.lists.get(reference.list_name)
    if slot_list is None:  # an inline range: the grammar's regular expression takes any number too
        return [str(n) for n in range(101)]
    if slot_list.number_range:
        start, stop, step = slot_list.number_range
        return [str(n) for n in range(start, stop + 1, step)]
    phrases = {normalise(phrase) for value in slot_list.values for phrase in value.phrases}
    return sorted(phrases | _initialisms(phrases))


def _initialisms(phrases: set[str]) -> set[str]:
    """The phrases a list also spells letter by letter ('ac' beside 'a c'), in capitals: how Whisper
    writes an initialism ('Turn on the AC.' scores ~7 nats above 'Turn on the ac.')."""
    return {phrase.upper() for phrase in phrases if len(phrase) > 1 and " ".join(phrase) in phrases}


def _nested(phrase: list[str], span: list[str]) -> bool:
    """One holds the other word for word: not a mishearing, only words added or dropped around it."""
    short, long = sorted((phrase, span), key=len)
    return any(long[i : i + len(short)] == short for i in range(len(long) - len(short) + 1))


def _edge_drops(length: int) -> list[Swap]:
    """Dropping a word or two at either end: noise heard as words ('thank me a latte', 'latte you')."""
    drops = [Swap(0, n, "", EDGE_DROP_SIMILARITY - 4 * n) for n in (1, 2) if n < length]
    return drops + [Swap(length - n, length, "", EDGE_DROP_SIMILARITY - 4 * n) for n in (1, 2) if n < length]


def _apart(swaps: tuple[Swap, ...]) -> bool:
    ordered = sorted(swaps, key=lambda swap: swap.start)
    return all(first.end <= second.start for first, second in zip(ordered, ordered[1:], strict=False))


def _apply(words: list[str], swaps: tuple[Swap, ...]) -> str:
    out = list(words)
    for swap in sorted(swaps, key=lambda s: -s.start):
        out[swap.start : swap.end] = swap.phrase.split()
    return " ".join(out)


def _closed_list_phrases(library: IntentLibrary) -> set[str]:
    """The phrases of every list but the free-text ones (their samples are examples, not vocabulary)."""
    return {
        normalise(phrase)
        for slot_list in library.lists.values()
        if not slot_list.free_text
        for value in slot_list.values
        for phrase in value.phrases
    }


def _template_phrases(library: IntentLibrary) -> set[str]:
    """The literal words of every template and rule (hassil keeps them a word a chunk)."""
    expressions = [t.sentence.expression for intent in library.intents.values() for t in intent.templates]
    expressions += [rule.expression for rule in library.rules.values()]
    return {phrase for expression in expressions for phrase in _chunks(expression) if phrase}


def _chunks(expression: Expression) -> list[str]:
    if isinstance(expression, TextChunk):
        return [normalise(expression.text)]
    if isinstance(expression, Group):
        return [phrase for item in expression.items for phrase in _chunks(item)]
    return []


def _compile(library: IntentLibrary, wildcard: str | None) -> re.Pattern[str]:
    """Every template of every intent as one regular expression over space-free, normalised text.

    A free-text slot matches ``wildcard``, or with ``None`` only its sample values.

    hassil's own matcher does the same job ~100 times slower (milliseconds a sentence), and the
    candidate search asks it dozens of times per utterance.
    """
    templates = [t.sentence.expression for intent in library.intents.values() for t in intent.templates]
    return re.compile("|".join(f"(?:{_regex(t, library, wildcard)})" for t in templates))


def _regex(expression: Expression, library: IntentLibrary, wildcard: str | None) -> str:
    if isinstance(expression, TextChunk):
        return re.escape(normalise(expression.text).replace(" ", ""))
    if isinstance(expression, ListReference):
        return _list_regex(library.lists.get(expression.list_name), wildcard)
    if isinstance(expression, RuleReference):
        return f"(?:{_regex(library.rules[expression.rule_name].expression, library, wildcard)})"
    if isinstance(expression, Permutation):
        orders = permutations(expression.items)
        return "(?:" + "|".join("".join(_regex(i, library, wildcard) for i in order) for order in orders) + ")"
    if isinstance(expression, Alternative):
        optional = "?" if expression.is_optional else ""
        return "(?:" + "|".join(_regex(item, library, wildcard) for item in expression.items) + ")" + optional
    if isinstance(expression, Group):
        return "".join(_regex(item, library, wildcard) for item in expression.items)
    return ""


def _list_regex(slot_list: SlotList | None, wildcard: str | None) -> str:
    if slot_list is None or slot_list.number_range:  # an inline range, or a range list
        return r"\d+"
    if slot_list.free_text and wildcard is not None:
        return wildcard
    phrases = {normalise(p).replace(" ", "") for value in slot_list.values for p in value.phrases}
    return "(?:" + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)) + ")"
