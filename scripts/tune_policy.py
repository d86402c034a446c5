"""Choose the policy's thresholds by measurement, on the synthetic held-out splits.

    python scripts/tune_policy.py [--model models/qlora]

Rebuilds, in memory, the validation and test splits the model was trained beside (wordings it never
trained on, and its share of chatter), from the dataset configuration saved in the model's
``training.json``, so they are the model's own held-out lines whatever ``data/dataset`` holds now.
It gathers the understander's evidence once, and runs the runtime's policy (``Policy.verdict``, the
template rule included) over a grid of act
threshold × ask threshold × margin. Each setting is measured the way the understanding bars are:
in-scope lines done or asked with the right intent, done right (no question needed), done wrong,
and out-of-scope lines done or asked. The choice: among the settings that keep out-of-scope lines
done or asked ≤ 5 % and in-scope lines right (done or asked) within a point of the best, the one
with the most right actions less five times the wrong ones (an in-scope line done wrong, or an
out-of-scope line done: talk that moved the car). The evaluation sets (dev, real_dev)
are not read here, and the choice must never be made on them.

The slot and speech thresholds are not tuned here: the synthetic text has no speech confidence, and
the slot filler's confidences are three fixed levels (see ``PolicyOptions``).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from assistant.classifier import read_manifest
from assistant.events import STATUS, Command
from assistant.intents import OUT_OF_SCOPE, IntentLibrary, load_intents
from assistant.nlu import DEFAULT_MODEL_DIR, Understander, load_classifier
from assistant.policy import Policy, PolicyOptions
from training.dataset import DatasetConfig, build_dataset
from training.evaluate import Labelled, Verdicts

ACT = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]
ASK = [0.3, 0.5, 0.6, 0.7, 0.8]
MARGINS = [0.0, 0.1, 0.2, 0.3]
WITHOUT_TEMPLATE = [0.5, 0.7, 0.8, 0.9, 1.01]
"""Intent confidence needed to act on what no template says (1.01: never)."""
OUT_OF_SCOPE_TAKEN_MAX = 0.05
"""The understanding bar: out-of-scope lines done or asked about."""
RIGHT_SLACK = 0.01
"""How far below the best in-scope-right share (done or asked) a setting may be."""
WRONG_ACTION_COST = 5
"""A wrong action (a command done wrong, or talk done as one) weighs as much as five right ones lost
to a question: the driver must notice and undo it."""


def held_out(library: IntentLibrary, model: Path) -> list[Labelled]:
    """The validation and test splits of the dataset the model was trained on, drawn again."""
    splits = build_dataset(library, DatasetConfig(**read_manifest(model)["dataset"]))
    return [Labelled(e.text, e.intent, e.slots) for e in splits["validation"] + splits["test"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL_DIR)
    args = parser.parse_args()
    library = load_intents()
    understander = Understander(load_classifier(args.model, library), library)  # checks the fingerprint
    lines = held_out(library, args.model)
    evidence = understander.understand_many([e.text for e in lines])
    print(f"{len(lines)} held-out synthetic lines\n")
    print(
        "| act | ask | margin | act without a template from | in-scope right (done or asked) | done right | done wrong "
        "| out-of-scope done or asked |"
    )
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for act, ask, margin, without_template in itertools.product(ACT, ASK, MARGINS, WITHOUT_TEMPLATE):
        if ask > act:
            continue
        options = PolicyOptions(
            act_threshold=act, ask_threshold=ask, margin=margin, act_without_template=without_template
        )
        verdicts = judged(Policy(library, options), lines, evidence)
        results.append((options, verdicts))
        print(
            f"| {act} | {ask} | {margin} | {without_template} | {verdicts.intent_right():.1%} | "
            f"{verdicts.done_right():.1%} | {verdicts.done_wrong():.1%} | {verdicts.out_of_scope_taken():.1%} |"
        )
    options, best = choose(results)
    print(f"\nChosen: {options}\n{summary(best)}")
    runtime = PolicyOptions()
    verdict = "the same" if runtime == options else "DIFFERENT: update PolicyOptions or say why not"
    print(f"The runtime's PolicyOptions: {verdict}; there: {summary(judged(Policy(library), lines, evidence))}")


def summary(verdicts: Verdicts) -> str:
    return (
        f"in-scope right {verdicts.intent_right():.1%} (done right {verdicts.done_right():.1%}, done wrong "
        f"{verdicts.done_wrong():.1%}), out-of-scope done or asked {verdicts.out_of_scope_taken():.1%}."
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
    the most right actions less the cost of wrong ones (talk done included); ties to fewer questions,
    then stricter settings."""
    allowed = [(o, v) for o, v in results if v.out_of_scope_taken() <= OUT_OF_SCOPE_TAKEN_MAX] or results
    best_right = max(v.intent_right() for _, v in allowed)
    near = [(o, v) for o, v in allowed if v.intent_right() >= best_right - RIGHT_SLACK]
    return max(
        near,
        key=lambda item: (
            net_right_actions(item[1]),
            item[1].done_right(),
            -item[1].out_of_scope_taken(),
            item[0].ask_threshold,
            item[0].margin,
            item[0].act_without_template,
            item[0].act_threshold,
        ),
    )


def net_right_actions(verdicts: Verdicts) -> int:
    """Lines done right less ``WRONG_ACTION_COST`` for each line done wrong or talk done, counted in
    lines: shares of different totals, summed as floats, broke an exact trade (ten right for two
    wrong) by rounding error, toward asking more."""
    in_scope = sum(1 for line, *_ in verdicts.rows if line.intent != OUT_OF_SCOPE)
    out_of_scope = len(verdicts.rows) - in_scope
    wrong = verdicts.done_wrong() * in_scope + verdicts.out_of_scope_done() * out_of_scope
    return round(verdicts.done_right() * in_scope - WRONG_ACTION_COST * wrong)


if __name__ == "__main__":
    main()
