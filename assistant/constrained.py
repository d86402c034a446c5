"""Whisper decoding held to the grammar: the word graph compiled to Whisper's tokens, searched by beam.

What the grammar can say is a graph of words (:func:`assistant.grammar.word_graph`); here each word
becomes the tokens Whisper writes it with (" mocha"; a capital only first and for "I"; an optional
"," where a phrase ends and a word follows; "." or "?" or nothing at the end), and a beam search keeps
Whisper's decoder on those paths: at every step only tokens the graph allows are taken, scored by
the decoder against the audio. This is how whisper.cpp's GBNF grammars and key-term prefix trees
bias decoding, and it finds grammar sentences that letters never reach ("may have a dull shot of
drip coffee" → "May I have a double shot drip coffee").

A free-text slot (a contact, a destination) says its samples, or up to :data:`FREE_TEXT_WORDS` words
of Whisper's own: there the likeliest tokens that start or go on with a word are let through, as a
GBNF grammar's ``[a-z ]+`` would. Held to the samples, the decoding could not say the right frame
with the words Whisper heard in it ("Drive, meet on the supermarket." → "Drive me to the zoo.",
a sample, where "Drive me to the supermarket" is 9 nats likelier).

CTranslate2 decodes a forced prefix and then goes on greedily, returning the decoder's distribution
at every step (``return_logits_vocab``); a path that follows Whisper's own continuation reads its
next distribution from that call, so only paths that leave it cost a new call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import ctranslate2
import numpy as np

from assistant.grammar import WordGraph

LOOKAHEAD_TOKENS = 1
"""Tokens of Whisper's own continuation decoded past a path's end per call (reused while it holds).
Each costs a decoder step over the whole vocabulary, and held paths soon leave Whisper's way: on 40
utterances at 12 dB, transcription p50 540 ms and p90 1,492 ms with 8, 465 and 1,008 ms with 1, the
same sentences."""
FREE_TEXT_WORDS = 4
"""Words of Whisper's own a free-text slot may say in the held decoding ('home', '10 downing street')."""
_State = frozenset[int]


@dataclass(frozen=True)
class FreeTextTokens:
    """Whisper's text tokens that start a word (' home') and those that go on with one ('market'):
    what a free-text slot may say beside its samples."""

    starts: np.ndarray
    goes_on: np.ndarray


class TokenAutomaton:
    """A :class:`WordGraph` over Whisper's token ids: which tokens may come next, and where they lead."""

    def __init__(
        self,
        graph: WordGraph,
        encode: Callable[[str], list[int]],
        end_of_text: int,
        free_text: FreeTextTokens | None = None,
    ) -> None:
        """``free_text``: the tokens a free-text slot may say; None holds it to its samples."""
        self._tokens: list[dict[int, set[int]]] = [{} for _ in graph.edges]
        self._first_tokens: list[dict[int, set[int]]] = [{} for _ in graph.edges]
        """Where a sentence's first word may start with a capital (taken only from :attr:`start`)."""
        self._free: list[set[int]] = [set() for _ in graph.edges]
        comma, stops = encode(",")[0], {encode(".")[0], encode("?")[0]}
        first = _first_nodes(graph)
        self._after_comma = self._node()
        """In a state after a comma, which a word must follow (',.' ends no sentence)."""
        self._stops = stops
        for start, steps in enumerate(graph.edges):
            for word, end in steps:
                if word is None:
                    self._free[start].add(end)
                    continue
                said = self._node()
                phrase_ends = any(step is None for step, _ in graph.edges[end]) and _words_follow(graph, end)
                self._add_word(self._tokens, start, word.capitalize() if _is_i(word) else word, said, encode)
                if start in first and not _is_i(word):
                    self._add_word(self._first_tokens, start, word.capitalize(), said, encode)
                self._free[said].add(end)
                if phrase_ends:
                    self._tokens[said].setdefault(comma, set()).update({end, self._after_comma})
        finished = self._node()
        for stop in stops:
            self._tokens[graph.end].setdefault(stop, set()).add(finished)
        for node in (graph.end, finished):  # Whisper ends some sentences with no stop
            self._tokens[node][end_of_text] = set()
        self._word_starts: dict[int, set[int]] = {}
        """Where a token that starts a word leads from a node in a free-text slot (its next word)."""
        self._free_words: set[int] = set()
        """The nodes of free-text slots' words, which a token that goes on with the word keeps."""
        self._free_text = free_text
        for start, end in graph.free_text if free_text is not None else ():
            self._add_free_text(start, end)
        self.end_of_text = end_of_text
        self._closures: dict[_State, _State] = {}
        self._moves: dict[_State, tuple[np.ndarray, list[_State]]] = {}
        self._own_moves: dict[_State, tuple[_State, _State]] = {}
        self.start = self._closure(frozenset({graph.start}))

    def _node(self) -> int:
        self._tokens.append({})
        self._first_tokens.append({})
        self._free.append(set())
        return len(self._tokens) - 1

    def _add_word(
        self,
        table: list[dict[int, set[int]]],
        start: int,
        spelling: str,
        end: int,
        encode: Callable[[str], list[int]],
    ) -> None:
        """The word as Whisper writes it, its first token in ``table``."""
        node, tokens = start, encode(" " + spelling)
        for token in tokens[:-1]:
            following = self._node()
            (table if node == start else self._tokens)[node].setdefault(token, set()).add(following)
            node = following
        (table if node == start else self._tokens)[node].setdefault(tokens[-1], set()).add(end)

    def _add_free_text(self, start: int, end: int) -> None:
        """Up to :data:`FREE_TEXT_WORDS` words from ``start`` to ``end``: a node per word, which
        tokens that go on with the word keep and a token that starts one leaves."""
        node = start
        for _ in range(FREE_TEXT_WORDS):
            word = self._node()
            self._word_starts.setdefault(node, set()).add(word)
            self._free_words.add(word)
            self._free[word].add(end)
            node = word

    def _closure(self, nodes: _State) -> _State:
        if nodes not in self._closures:
            seen, stack = set(nodes), list(nodes)
            while stack:
                for node in self._free[stack.pop()] - seen:
                    seen.add(node)
                    stack.append(node)
            self._closures[nodes] = frozenset(seen)
        return self._closures[nodes]

    def ends(self, token: int) -> bool:
        """Whether ``token`` ends a sentence: the end of text, or a stop (only the end takes one)."""
        return token == self.end_of_text or token in self._stops

    def moves(self, state: _State) -> tuple[np.ndarray, list[_State]]:
        """The tokens allowed next, and the state each leads to."""
        if state not in self._moves:
            targets: dict[int, set[int]] = {}
            tables = (self._tokens, self._first_tokens) if state == self.start else (self._tokens,)
            for node in state:
                for table in tables:
                    for token, ends in table[node].items():
                        targets.setdefault(token, set()).update(ends)
            if self._after_comma in state:
                targets = {
                    t: ends for t, ends in targets.items() if t not in self._stops and t != self.end_of_text
                }
            tokens = np.fromiter(targets, dtype=np.int64, count=len(targets))
            self._moves[state] = (tokens, [self._closure(frozenset(targets[t])) for t in tokens])
        return self._moves[state]

    def next_tokens(
        self, state: _State, logits: np.ndarray, width: int, own_words: bool = True
    ) -> tuple[np.ndarray, list[_State]]:
        """The tokens allowed next and the state each leads to: the grammar's words (:meth:`moves`)
        and, with ``own_words``, where a free-text slot is said, the ``width`` words Whisper finds
        likeliest there (``logits``, its next-token scores) of any it could write."""
        tokens, states = self.moves(state)
        if not own_words:
            return tokens, states
        starting, going_on = self._own_words(state)
        if not starting and not going_on:
            return tokens, states
        targets = dict(zip(tokens.tolist(), states, strict=True))
        for ids, target in ((self._free_text.starts, starting), (self._free_text.goes_on, going_on)):
            likeliest = min(width, len(ids))
            if not target or not likeliest:
                continue
            for token in ids[np.argpartition(-logits[ids], likeliest - 1)[:likeliest]].tolist():
                targets[token] = self._closure(targets[token] | target) if token in targets else target
        return np.fromiter(targets, dtype=np.int64, count=len(targets)), list(targets.values())

    def _own_words(self, state: _State) -> tuple[_State, _State]:
        """Where a free-text slot's token that starts a word leads from ``state``, and where one that
        goes on with the word leads (empty where no free-text slot is said)."""
        if state not in self._own_moves:
            starts = {word for node in state for word in self._word_starts.get(node, ())}
            going_on = state & self._free_words
            self._own_moves[state] = (
                self._closure(frozenset(starts)) if starts else frozenset(),
                self._closure(frozenset(going_on)) if going_on else frozenset(),
            )
        return self._own_moves[state]


def _first_nodes(graph: WordGraph) -> set[int]:
    """The nodes a sentence's first word leaves from (the start, and what free steps reach from it)."""
    return graph.closure({graph.start})


def _words_follow(graph: WordGraph, node: int) -> bool:
    return any(word is not None for reached in graph.closure({node}) for word, _ in graph.edges[reached])


def _is_i(word: str) -> bool:
    """'i', "i'd", "i'm": written with a capital anywhere."""
    return word == "i" or word.startswith("i'")


@dataclass(frozen=True)
class _Path:
    score: float
    tokens: tuple[int, ...]
    state: _State
    ahead: tuple[int, ...] = ()
    """Whisper's own continuation after ``tokens`` from the last call, with the decoder's logits for
    each of its steps (the first: what follows ``tokens``)."""
    rows: tuple[np.ndarray, ...] = field(default=(), compare=False)


def search(
    model: ctranslate2.models.Whisper,
    encoded: np.ndarray,
    start: list[int],
    automaton: TokenAutomaton,
    *,
    beam: int,
    max_tokens: int,
    first_tokens: int = 1,
    heard: tuple[int, ...] = (),
    own_words: bool = True,
) -> list[tuple[float, list[int]]]:
    """The grammar's likeliest token sequences for the encoded audio (``[1, frames, width]``), best
    first, each with its log-probability (nats, the end of text included).

    ``start`` is the decoder's start (start of transcript, no timestamps). The search starts from the
    ``first_tokens`` likeliest first tokens, each a path of its own (the first word decides most: in
    noise the likeliest alone is often another command's, 'Reject…' for 'resume the song'); after
    that each path takes its ``beam`` likeliest next tokens and the ``max(beam, first_tokens)`` best
    paths are kept. A path that can no longer beat the best finished one is dropped. A sentence ends
    (its stop, or the end of text) only where that is the path's likeliest next token: taken as the
    second or third, an end finished an order early ('Give me a double shot light roast cappuccino'
    with 'with sweetener and some whole milk' still to come), likelier than the whole order could
    become, and the whole order was dropped (Rhino's benchmark at 6 dB: 92.0 % with three next
    tokens, 94.5 % with one, 96.0 % with three and this rule).

    ``heard``: tokens said before the grammar's sentence (the commands of a compound Whisper heard in
    full), forced first; the sequences returned leave them out. ``own_words``: free-text slots may
    take Whisper's own words (where the automaton knows them), not only their samples.
    """
    paths = [_Path(0.0, heard, automaton.start)]
    finished: list[tuple[float, list[int]]] = []
    for step in range(max_tokens):
        paths = _look_ahead(model, encoded, start, paths, len(heard) + step)
        extended: list[_Path] = []
        for path in paths:
            row, width = path.rows[0], first_tokens if step == 0 else beam
            tokens, states = automaton.next_tokens(path.state, row, width, own_words)
            scores = path.score + row[tokens] - _log_sum_exp(row)
            for rank, index in enumerate(np.argsort(-scores)[:width]):
                token = int(tokens[index])
                if rank > 0 and automaton.ends(token):  # a path ends only where Whisper would rather end it
                    continue
                if token == automaton.end_of_text:
                    finished.append((float(scores[index]), list(path.tokens[len(heard) :])))
                    continue
                follows = bool(path.ahead) and path.ahead[0] == token
                extended.append(
                    _Path(
                        float(scores[index]),
                        (*path.tokens, token),
                        states[index],
                        path.ahead[1:] if follows else (),
                        path.rows[1:] if follows else (),
                    )
                )
        best_finished = max((score for score, _ in finished), default=-np.inf)
        kept = sorted(extended, key=lambda path: -path.score)[: max(beam, first_tokens)]
        paths = [path for path in kept if path.score > best_finished]
        if not paths:
            break
    return sorted(finished, key=lambda item: -item[0])


def _look_ahead(
    model: ctranslate2.models.Whisper, encoded: np.ndarray, start: list[int], paths: list[_Path], step: int
) -> list[_Path]:
    """Paths with the decoder's next distribution: kept from the last call where a path followed
    Whisper's continuation, else from one batched call that forces the paths' tokens."""
    needed = [path for path in paths if not path.rows]
    if not needed:
        return paths
    batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(encoded, len(needed), 0)))
    results = model.generate(
        batch,
        [start + list(path.tokens) for path in needed],
        beam_size=1,
        max_length=_max_length(len(start) + step + LOOKAHEAD_TOKENS),
        return_logits_vocab=True,
        suppress_blank=False,
        suppress_tokens=[],
    )
    looked = {}
    for path, result in zip(needed, results, strict=True):
        rows = tuple(np.asarray(result.logits[0])[step:])
        looked[path.tokens] = _Path(
            path.score, path.tokens, path.state, tuple(result.sequences_ids[0][step:]), rows
        )
    return [looked.get(path.tokens, path) for path in paths]


def forced_scores(
    model: ctranslate2.models.Whisper,
    encoded: np.ndarray,
    start: list[int],
    texts: list[list[int]],
    end_of_text: int,
) -> list[tuple[float, float]]:
    """For each token sequence, given the encoded audio (``[1, frames, width]``), the log-probability
    (nats) of its tokens and that of the end of text after them: Whisper's decoder teacher-forced,
    all texts in one batch.

    The end counts, as it does in :func:`search`: a sentence that stops where the speech goes on
    ('The headlights on' for 'the headlights on that truck are blinding') is unlikely to end there.
    CTranslate2's ``align`` leaves it out.
    """
    batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(encoded, len(texts), 0)))
    longest = max(len(tokens) for tokens in texts)
    results = model.generate(
        batch,
        [start + tokens for tokens in texts],
        beam_size=1,
        max_length=_max_length(len(start) + longest + 1),
        return_logits_vocab=True,
        suppress_blank=False,
        suppress_tokens=[],
    )
    scores = []
    for tokens, result in zip(texts, results, strict=True):
        said = [*tokens, end_of_text]
        rows = np.asarray(result.logits[0])[: len(said)]
        chosen = rows[np.arange(len(said)), said] - _log_sum_exp(rows)
        scores.append((float(np.sum(chosen[:-1])), float(chosen[-1])))
    return scores


def _max_length(steps: int) -> int:
    """The ``max_length`` that gives back ``steps`` decoder steps: CTranslate2 gives back about half
    of ``max_length`` as steps when a prefix is forced."""
    return 2 * steps


def _log_sum_exp(logits: np.ndarray) -> np.ndarray:
    """log(sum(exp(logits))) over the last axis: what turns a logit into a log-probability. Only
    that is computed, not every token's log-probability (51,864 a step, most of the scoring's time)."""
    top = logits.max(axis=-1)
    return top + np.log(np.exp(logits - top[..., None]).sum(axis=-1))
