"""Which evaluation sentences can the templates say word for word? (They must not: evaluate, never train.)

    python scripts/check_dev_overlap.py [EVAL.jsonl] [--draws N]

Draws many sentences from every template and lists the evaluation texts among them, after
normalising case and punctuation. Exit status 1 when any is found.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

from assistant.intents import load_intents, normalize
from training.dataset import TemplateSampler
from training.evaluate import read_jsonl

DEV = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval", nargs="?", type=Path, default=DEV)
    parser.add_argument("--draws", type=int, default=3000, help="draws per template")
    args = parser.parse_args()
    library = load_intents()
    sampler = TemplateSampler(library, random.Random(0))
    templates = [t for intent in library.intents.values() for t in intent.templates] + list(
        library.out_of_scope
    )
    said = {normalize(sampler.draw(t).text): t for t in templates for _ in range(args.draws)}
    overlap = [
        (row.text, said[normalize(row.text)]) for row in read_jsonl(args.eval) if normalize(row.text) in said
    ]
    for text, template in overlap:
        print(f"{library.path}:{template.line}: template '{template.text}' says {text!r}")
    print(
        f"{len(overlap)} of the evaluation sentences can be said by the templates ({len(said)} distinct drawn)"
    )
    return 1 if overlap else 0


if __name__ == "__main__":
    sys.exit(main())
