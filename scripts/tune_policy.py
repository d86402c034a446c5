"""Choose the policy's thresholds by measurement, on the synthetic held-out splits.

    python scripts/tune_policy.py [--model models/qlora] [--data data/dataset]

Reads the validation and test splits that `car-assistant train` wrote to data/dataset/ (wordings
the model never trained on; rebuilt the way `train` builds them, in memory, when the folder is
missing), gathers the understander's evidence once, and runs the policy over a grid of act
threshold × ask threshold × margin. Each setting is measured the way the understanding bars are:
in-scope lines done or asked with the right intent, done right (no question needed), done wrong,
and out-of-scope lines done or asked. The choice: among the settings that keep out-of-scope lines
done or asked ≤ 5 % and in-scope lines right (done or asked) within a point of the best, the one
with the most right actions less five times the wrong ones. The evaluation sets are not used here.

The slot and speech thresholds are not tuned here: the synthetic text has no speech confidence, and
the slot filler's confidences are three fixed levels (see ``PolicyOptions``).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from assistant.cli import build_parser
from assistant.events import STATUS, Command
from assistant.intents import OUT_OF_SCOPE, load_intents
from assistant.nlu import DEFAULT_MODEL_DIR, Understander, load_classifier
from assistant.policy import Policy, PolicyOptions
from training.dataset import build_dataset, read_split
from training.evaluate import Labelled, Verdicts

ACT = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]
ASK = [0.3, 0.5, 0.6, 0.7, 0.8]
MARGINS = [0.0, 0.1, 0.2, 0.3]
NEEDS_TEMPLATE = [False, True]
OUT_OF_SCOPE_TAKEN_MAX = 0.05
"""The understanding bar: out-of-scope lines done or asked about."""
RIGHT_SLACK = 0.01
"""How far below the best in-scope-right share (done or asked) a setting may be."""
WRONG_ACTION_COST = 5
"""A wrong action weighs as much as five right ones lost to a question: the driver must notice and undo it."""


def held_out(data: Path) -> list[Labelled]:
    """The validation and test splits, as written by `car-assistant train` (or rebuilt alike)."""
    if (data / "validation.jsonl").is_file():
        examples = read_split(data / "validation.jsonl") + read_split(data / "test.jsonl")
    else:
        train = build_parser().parse_args(["train"])  # the same defaults as `car-assistant train`
        print(f"{data} is missing: rebuilding the splits as `car-assistant train` does (not written)")
        splits = build_dataset(load_intents(train.intents), train.per_intent, train.seed, train.chatter)
        examples = splits["validation"] + splits["test"]
    return [Labelled(e.text, e.intent, e.slots) for e in examples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "data" / "dataset")
    args = parser.parse_args()
    library = load_intents()
    lines = held_out(args.data)
    evidence = Understander(load_classifier(args.model, library), library).understand_many(
        [e.text for e in lines]
    )
    print(f"{len(lines)} held-out synthetic lines\n")
    print(
        "| act | ask | margin | act needs template | in-scope right (done or asked) | done right | done wrong "
        "| out-of-scope done or asked |"
    )
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for act, ask, margin, needs_template in itertools.product(ACT, ASK, MARGINS, NEEDS_TEMPLATE):
        if ask > act:
            continue
        options = PolicyOptions(
            act_threshold=act, ask_threshold=ask, margin=margin, act_needs_template=needs_template
        )
        verdicts = judged(Policy(library, options), lines, evidence)
        results.append((options, verdicts))
        print(
            f"| {act} | {ask} | {margin} | {needs_template} | {verdicts.intent_right():.1%} | "
            f"{verdicts.done_right():.1%} | {verdicts.done_wrong():.1%} | {verdicts.out_of_scope_taken():.1%} |"
        )
    options, best = choose(results)
    print(
        f"\nChosen: {options}\nin-scope right {best.intent_right():.1%} (done right {best.done_right():.1%}, "
        f"done wrong {best.done_wrong():.1%}), out-of-scope done or asked {best.out_of_scope_taken():.1%}."
    )


def judged(policy: Policy, lines: list[Labelled], evidence: list) -> Verdicts:
    rows = []
    for line, found in zip(lines, evidence, strict=True):
        verdict, _ = policy.verdict(found)
        command = found.command if verdict != "refuse" else Command(OUT_OF_SCOPE, {})
        rows.append((line, STATUS[verdict], command.intent, command.slots))
    return Verdicts(rows)


def choose(results: list[tuple[PolicyOptions, Verdicts]]) -> tuple[PolicyOptions, Verdicts]:
    """Out-of-scope lines under the bar; in-scope lines right (done or asked) near the best; then
    the most right actions less the cost of wrong ones; ties to fewer questions, then stricter settings."""
    allowed = [(o, v) for o, v in results if v.out_of_scope_taken() <= OUT_OF_SCOPE_TAKEN_MAX] or results
    best_right = max(v.intent_right() for _, v in allowed)
    near = [(o, v) for o, v in allowed if v.intent_right() >= best_right - RIGHT_SLACK]
    return max(
        near,
        key=lambda item: (
            item[1].done_right() - WRONG_ACTION_COST * item[1].done_wrong(),
            item[1].done_right(),
            -item[1].out_of_scope_taken(),
            item[0].ask_threshold,
            item[0].margin,
        ),
    )


if __name__ == "__main__":
    main()
