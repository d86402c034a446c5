"""The classifier's bars on an evaluation set, for each trained variant.

    python scripts/bench_nlu.py [EVAL.jsonl] [--repeats 3]

Prints, per variant in models/: in-scope intent accuracy (done or asked with the right intent),
out-of-scope rejection (refused), slot exact-match where slots are given, and `classify` latency per
utterance (understanding and policy, batch of one, model load excluded: p50 and p95 over every
sentence of the set, repeated). Done / asked / refused per intent: scripts/bench_understanding.py.
The default set, dev.jsonl, was looked at during development: its figures are not held out.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from paths import DEV_NOT_HELD_OUT, DEV_SET

from assistant.classifier import ModelError
from assistant.intents import load_intents
from assistant.nlu import Understander, load_classifier
from assistant.pipeline import MODELS_DIR
from assistant.policy import Policy
from training.evaluate import read_jsonl, score


def latencies_ms(understander: Understander, policy: Policy, texts: list[str], repeats: int) -> list[float]:
    policy.decide(understander.understand(texts[0]))  # first call pays one-off set-up
    timings = []
    for _ in range(repeats):
        for text in texts:
            started = time.perf_counter()
            policy.decide(understander.understand(text))
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval", nargs="?", type=Path, default=DEV_SET)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    library = load_intents()
    policy = Policy(library)
    examples = read_jsonl(args.eval, need_labels=True)
    texts = [e.text for e in examples]
    print(f"{args.eval}: {len(examples)} sentences\n")
    if args.eval.resolve() == DEV_SET.resolve():
        print(f"{DEV_NOT_HELD_OUT}\n")
    print("| variant | intent accuracy | out-of-scope rejection | slot exact-match | p50 ms | p95 ms |")
    print("|---|---|---|---|---|---|")
    for variant in ("qlora", "bert"):
        try:
            understander = Understander(load_classifier(MODELS_DIR / variant, library), library)
        except ModelError as error:
            print(f"| {variant} | {error} | | | | |")
            continue
        commands = [policy.decide(evidence).command for evidence in understander.understand_many(texts)]
        result = score(examples, [c.intent for c in commands], [c.slots for c in commands])
        timings = sorted(latencies_ms(understander, policy, texts, args.repeats))
        p95 = timings[int(0.95 * (len(timings) - 1))]
        print(
            f"| {variant} | {result['intent_accuracy']:.1%} | {result['oos_rejection']:.1%} | "
            f"{result['slot_exact_match']:.1%} | {statistics.median(timings):.1f} | {p95:.1f} |"
        )


if __name__ == "__main__":
    main()
