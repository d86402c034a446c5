"""Whisper decoding held to the grammar: the word graph compiled to Whisper's tokens, searched by beam.

What the grammar can say is a graph of words (:func:`assistant.grammar.word_graph`); here each word
becomes the tokens Whisper writes it with (" mocha"; a capital only first and for "I"; an optional
"," where a phrase ends and a word follows; "." or "?" or nothing at the end), and a beam search keeps
Whisper's decoder on those paths: at every step only tokens the graph allows are taken, scored by
the decoder against the audio. This is how whisper.cpp's GBNF grammars and key-term prefix trees
bias decoding, and it finds grammar sentences that letters never reach ("may have a dull shot of
drip coffee" → "May I have a double shot drip coffee").

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

LOOKAHEAD_TOKENS = 8
"""Tokens of Whisper's own continuation decoded past a path's end per call (reused while it holds)."""
_State = frozenset[int]


class TokenAutomaton:
    """A :class:`WordGraph` over Whisper's token ids: which tokens may come next, and where they lead."""

    def __init__(self, graph: WordGraph, encode: Callable[[str], list[int]], end_of_text: int) -> None:
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
        self.end_of_text = end_of_text
        self._closures: dict[_State, _State] = {}
        self._moves: dict[_State, tuple[np.ndarray, list[_State]]] = {}
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

    def _closure(self, nodes: _State) -> _State:
        if nodes not in self._closures:
            seen, stack = set(nodes), list(nodes)
            while stack:
                for node in self._free[stack.pop()] - seen:
                    seen.add(node)
                    stack.append(node)
            self._closures[nodes] = frozenset(seen)
        return self._closures[nodes]

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
) -> list[tuple[float, list[int]]]:
    """The grammar's likeliest token sequences for the encoded audio (``[1, frames, width]``), best
    first, each with its log-probability (nats, the end of text included).

    ``start`` is the decoder's start (start of transcript, no timestamps). The search starts from the
    ``first_tokens`` likeliest first tokens, each a path of its own (the first word decides most: in
    noise the likeliest alone is often another command's, 'Reject…' for 'resume the song'); after
    that each path takes its ``beam`` likeliest next tokens and the ``max(beam, first_tokens)`` best
    paths are kept. A path that can no longer beat the best finished one is dropped.

    ``heard``: tokens said before the grammar's sentence (the commands of a compound Whisper heard in
    full), forced first; the sequences returned leave them out.
    """
    paths = [_Path(0.0, heard, automaton.start)]
    finished: list[tuple[float, list[int]]] = []
    for step in range(max_tokens):
        paths = _look_ahead(model, encoded, start, paths, len(heard) + step)
        extended: list[_Path] = []
        for path in paths:
            row = _log_softmax(path.rows[0])
            tokens, states = automaton.moves(path.state)
            scores = path.score + row[tokens]
            for index in np.argsort(-scores)[: first_tokens if step == 0 else beam]:
                token = int(tokens[index])
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
        rows = _log_softmax(np.asarray(result.logits[0])[: len(said)])
        chosen = rows[np.arange(len(said)), said]
        scores.append((float(np.sum(chosen[:-1])), float(chosen[-1])))
    return scores


def _max_length(steps: int) -> int:
    """The ``max_length`` that gives back ``steps`` decoder steps: CTranslate2 gives back about half
    of ``max_length`` as steps when a prefix is forced."""
    return 2 * steps


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """Log-probabilities over the last axis (one distribution, or one per row)."""
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
