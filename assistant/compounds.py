"""Several commands said as one: where an utterance may be cut into commands of their own.

Used by recognition (a transcript whose every part the grammar says is kept as heard) and by the
dialogue stage (each part understood and carried out in turn). Pure: text in, cuts out.
"""

from __future__ import annotations

import itertools
import re

from assistant.intents import spoken_words

CONJUNCTION = re.compile(r"\s*,?\s*\b(?:and then|and also|and|then|also)\b\s*|\s*[,;]\s*", re.IGNORECASE)
MAX_CUTS = 3
"""An utterance with more conjunctions than this is not split (talk, or a list of names)."""


def compound_splits(text: str) -> list[tuple[str, ...]]:
    """Every way to cut ``text`` at its conjunctions ('and', 'then', a comma) into two or more
    parts, the most parts first; none for an utterance with more than ``MAX_CUTS`` conjunctions."""
    cuts = list(CONJUNCTION.finditer(text))
    if not cuts or len(cuts) > MAX_CUTS:
        return []
    splits = []
    for count in range(len(cuts), 0, -1):
        for chosen in itertools.combinations(cuts, count):
            bounds = [0, *(edge for cut in chosen for edge in cut.span()), len(text)]
            parts = tuple(text[start:end].strip() for start, end in zip(bounds[::2], bounds[1::2], strict=True))
            if all(spoken_words(part) for part in parts):
                splits.append(parts)
    return splits
