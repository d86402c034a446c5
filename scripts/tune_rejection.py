"""Choose the rejection threshold and margin by measurement, on the synthetic held-out splits.

    python scripts/tune_rejection.py [--model models/qlora]

Regenerates the dataset from the YAML (same seed as training), scores the validation and test
splits (wordings the model never saw), and for each threshold × margin prints how many in-scope
commands are still accepted with the right intent and how many out-of-scope inputs are rejected.
The evaluation set is not used here: it stays for evaluation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from assistant.intents import OUT_OF_SCOPE, load_intents
from assistant.nlu import DEFAULT_MODEL_DIR, IntentClassifier, NluOptions, decide
from training.dataset import build_dataset

THRESHOLDS = [0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
MARGINS = [0.0, 0.1, 0.2, 0.3]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    library = load_intents()
    splits = build_dataset(library, seed=args.seed)
    examples = splits["validation"] + splits["test"]
    predictions = IntentClassifier(args.model, library).predict([e.text for e in examples])
    pairs = list(zip(examples, predictions, strict=True))
    in_scope = [(e, p) for e, p in pairs if e.intent != OUT_OF_SCOPE]
    out_of_scope = [(e, p) for e, p in pairs if e.intent == OUT_OF_SCOPE]
    print(f"{len(in_scope)} in-scope and {len(out_of_scope)} out-of-scope held-out sentences\n")
    print("threshold  margin  in-scope accepted & right  out-of-scope rejected")
    for threshold in THRESHOLDS:
        for margin in MARGINS:
            options = NluOptions(threshold, margin)
            right = sum(decide(p, options).accept and p.intent == e.intent for e, p in in_scope) / len(
                in_scope
            )
            rejected = sum(not decide(p, options).accept for _, p in out_of_scope) / len(out_of_scope)
            print(f"{threshold:9.1f}  {margin:6.1f}  {right:25.1%}  {rejected:21.1%}")


if __name__ == "__main__":
    main()
