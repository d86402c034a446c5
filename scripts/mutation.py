"""Mutation testing of the modules whose rules matter, with mutmut, and the score of each.

    python scripts/mutation.py                     # every module (~2,100 mutants, 0.7 to 4 a second here)
    python scripts/mutation.py vehicle policy      # some of them
    python scripts/mutation.py --fresh             # every mutant again, not only those still open
    python scripts/mutation.py --report            # the table from the last run, running nothing
    python scripts/mutation.py --named             # issue 10's hand-made mutants, each against the fast tests

mutmut's settings are in pyproject.toml ([tool.mutmut]): it copies the tree into ``mutants/``, mutates
the five files there and tries each mutant against those of the fast tests (never the training or
microphone tests) that call the mutated function. Dataset splitting and evaluation scoring are the
splitting and scoring functions of their files, not the sampling, styling and file reading around them.

Like mutmut itself, a run tries again only what is still open: mutants that survived, had no test or
were never checked (mutmut unchecks those of a function that changed); killed ones keep their verdict.

The score is (killed + timeout) / (mutants - skipped - unchecked); a survivor listed in EQUIVALENT (below, with
why no test can tell it from the code) is shown apart. Exits 1 when a module scores under BAR.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BAR = 0.85
MUTMUT = Path(sys.executable).with_name("mutmut")
QUIET = {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
"""One thread per test process on a shared machine, and no model hub."""

MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "vehicle": ("assistant/vehicle.py", ("assistant.vehicle.*",)),
    "policy": ("assistant/policy.py", ("assistant.policy.*",)),
    "slots": ("assistant/slots.py", ("assistant.slots.*",)),
    "dataset": (
        "training/dataset.py, splitting",
        (
            "training.dataset.x_split_of__mutmut_*",
            "training.dataset.x_build_dataset__mutmut_*",
            "training.dataset.x__dedup_key__mutmut_*",
            "training.dataset.xǁDatasetConfigǁ__post_init____mutmut_*",
        ),
    ),
    "evaluate": (
        "training/evaluate.py, scoring",
        (
            "training.evaluate.x_slots_match__mutmut_*",
            "training.evaluate.x__same__mutmut_*",
            "training.evaluate.x_command_correct__mutmut_*",
            "training.evaluate.x_score__mutmut_*",
            "training.evaluate.x__share__mutmut_*",
            "training.evaluate.xǁVerdictsǁ*",
            "training.evaluate.x__asked_with_wrong_slots__mutmut_*",
        ),
    ),
}
"""Per module: what it covers, and the mutmut mutant names (globs) that make it up."""

EQUIVALENT: dict[str, str] = {
    "assistant.policy.x_question_for__mutmut_26": (
        "every phrase of the value, not its first only: hassil's sampler says the first phrase first, "
        "and the question is the first sentence sampled"
    ),
    "assistant.policy.x_question_for__mutmut_21": "as x_question_for__mutmut_26 (first_only=None)",
    "assistant.policy.x_question_for__mutmut_24": "as x_question_for__mutmut_26 (first_only left out)",
    "assistant.slots.x__spans__mutmut_12": "spans past the end are empty: no list reads '' as a value",
    "assistant.slots.x__spans__mutmut_13": "as x__spans__mutmut_12",
    "assistant.slots.xǁSlotResolverǁ_doubted__mutmut_18": (
        "`.get(other, None)`: the phrases are kept for every slot of the intent, so `other` is always there"
    ),
    "assistant.slots.xǁSlotResolverǁ_doubted__mutmut_20": "as _doubted__mutmut_18",
    "assistant.slots.xǁSlotResolverǁ_free_text__mutmut_3": (
        "`.get(slot, None)`: asked only about slots a template or a list of the intent filled"
    ),
    "assistant.slots.xǁSlotResolverǁ_free_text__mutmut_5": "as _free_text__mutmut_3",
    "assistant.slots.xǁSlotResolverǁ_narrowed__mutmut_25": (
        "splitting at every occurrence of the span, not the first: the word after the first is the same"
    ),
    "assistant.slots.xǁSlotResolverǁ_narrowed__mutmut_27": "as _narrowed__mutmut_25 (at most two splits)",
    "assistant.slots.xǁSlotResolverǁread__mutmut_106": (
        "no doubt on the spans' path: free text the YAML doesn't list is capped at 0.5 there already, "
        "and no sample value of a free-text slot says a closed value of its intent"
    ),
    "assistant.slots.xǁSlotResolverǁvalue__mutmut_39": (
        "max's default for the longest sample: value() reaches it only for a free-text slot, which "
        "always has samples"
    ),
    "assistant.slots.xǁSlotResolverǁvalue__mutmut_41": "as value__mutmut_39",
    "assistant.slots.xǁSlotResolverǁvalue__mutmut_43": "as value__mutmut_39 (the slot's samples are there)",
    "assistant.slots.xǁSlotResolverǁvalue__mutmut_45": "as value__mutmut_43",
    "assistant.slots.xǁSlotResolverǁvalue__mutmut_46": "as value__mutmut_39",
    "assistant.slots.xǁSlotResolverǁ__init____mutmut_14": "the size of a cache of list readings (none vs 4096)",
    "assistant.slots.xǁSlotResolverǁ__init____mutmut_15": "the size of a cache of list readings (4097 vs 4096)",
    "assistant.slots.xǁSlotResolverǁ_narrowed__mutmut_30": (
        "`str(None) != first.text`: where the value is the span's text, cutting it to the span changes nothing"
    ),
    "assistant.slots.xǁSlotResolverǁread__mutmut_17": (
        "_known on every slot: a slot with no free-text samples finds nothing alike and keeps its value"
    ),
    "assistant.vehicle.x__control_phone__mutmut_26": (
        "`phone.contact or 'XXXX'` while it rings: a ringing phone always has a caller "
        "(simulate_incoming_call names an unknown one)"
    ),
    "assistant.vehicle.x__move_window__mutmut_99": "as x__move_window__mutmut_110 (`amount or 101`)",
    "assistant.vehicle.x__navigate__mutmut_43": (
        "`route.destination or 'XXXX'` on cancelling: a route is only started with a destination"
    ),
    "assistant.vehicle.x__sound__mutmut_81": "as x__sound__mutmut_80 (`step > 1`: a step is ±10)",
    "assistant.vehicle.xǁVehicleǁsimulate_incoming_call__mutmut_17": (
        "`phone.contact or 'XXXX'` on a busy line: a phone that rings or is in a call has a contact"
    ),
    "assistant.vehicle.xǁ_SlotErrorǁ__init____mutmut_1": (
        "the exception's message: a _SlotError is always caught, and its outcome, not its text, is read"
    ),
    "assistant.policy.xǁPolicyǁ_required__mutmut_5": (
        "`intent or True`: the policy asks about required slots only for an intent of the YAML"
    ),
    "assistant.policy.xǁPolicyǁfavour__mutmut_13": (
        "`or 2.0` when the weighted scores add up to 0: softmax scores are never all 0"
    ),
    "assistant.slots.xǁSlotResolverǁ_known__mutmut_3": (
        "`.get(slot, None)`: _known is only asked about a free-text slot, and every free-text list has "
        "sample values (the loader refuses one without), so the slot is always there"
    ),
    "assistant.slots.xǁSlotResolverǁ_known__mutmut_5": "as _known__mutmut_3",
    "assistant.slots.xǁSlotResolverǁ_known__mutmut_17": (
        "max's default: the samples of a free-text slot are never empty (see _known__mutmut_3)"
    ),
    "assistant.slots.xǁSlotResolverǁ_known__mutmut_19": "as _known__mutmut_17",
    "assistant.slots.xǁSlotResolverǁ_known__mutmut_20": "as _known__mutmut_17",
    "assistant.slots.xǁSlotResolverǁ_known__mutmut_6": (
        "`and` for `or` on a known value: the search then finds the value itself (likeness 1.0) and "
        "gives it back, as the early return does"
    ),
    "assistant.vehicle.x_apply__mutmut_4": "`action or 'XXXX'`: no action is named 'XXXX', as none is named ''",
    "assistant.vehicle.x__move_window__mutmut_110": (
        "closing fully by `amount or 101`: no window is more than 100 % open, so max(open - 101, 0) is 0 too"
    ),
    "assistant.vehicle.x__step_temperature__mutmut_18": "`step >= 0`: a step is ±1 or ±2 °C, never 0",
    "assistant.vehicle.x__sound__mutmut_79": "`step >= 0`: a volume step is ±VOLUME_STEP (10), never 0",
    "assistant.vehicle.x__sound__mutmut_80": "`step > 1`: a volume step is +10 or -10, on the same sides of 0 and 1",
    "assistant.slots.x__trimmed__mutmut_10": (
        "`end >= start` differs only for no words at all; a tagged span or a wildcard always has one"
    ),
    "assistant.slots.x__plain__mutmut_4": (
        "keeping any value as it is: the loader makes list values int or str, hassil's ranges and wildcards "
        "give numbers and str, and str() of a str is itself"
    ),
    "assistant.policy.x_question_for__mutmut_54": (
        "the default of next(iter(sample), ''): sampling a template whose required lists are all given "
        "always yields a sentence"
    ),
    "assistant.policy.x_question_for__mutmut_56": "as x_question_for__mutmut_54",
    "assistant.policy.x_question_for__mutmut_58": "as x_question_for__mutmut_54",
    "assistant.policy.x__weakest_slot__mutmut_9": (
        "the name of no slot ('' or 'XXXX') comes with confidence 1.0, which no threshold (0 to 1) is above"
    ),
    "assistant.policy.x__weakest_slot__mutmut_10": (
        "no slot's confidence 2.0 instead of 1.0: both reach every threshold (0 to 1)"
    ),
    "training.dataset.x_split_of__mutmut_9": (
        "another hash of the same seed and wording (read in base 17): which wording lands where changes, "
        "the rules do not (seeded, deterministic, disjoint, 70/15/15); no test pins a hash's output"
    ),
    "training.dataset.x_split_of__mutmut_10": "as x_split_of__mutmut_9 (buckets of 1001)",
    "training.dataset.x_split_of__mutmut_17": (
        "the fallback after the last split is never reached: a bucket is below 0.999 and the shares add up to 1"
    ),
    "training.dataset.x_split_of__mutmut_18": "as x_split_of__mutmut_17",
    "training.dataset.x_build_dataset__mutmut_22": (
        "61 instead of 60 tries per sentence: the cap only stops a template too small to fill its quota, "
        "and every quota of the YAML fills long before it"
    ),
    "assistant.slots.xǁSlotResolverǁ_free_text__mutmut_9": "as _free_text__mutmut_7",
    "assistant.slots.x__sound_alike__mutmut_24": (
        "no phrase at all (likeness empty): best 1.0 instead of 0.0 still leaves no value as alike, so no value"
    ),
    "assistant.slots.xǁSlotResolverǁ_free_text__mutmut_7": (
        "`self._lists.get(intent, None)`: only called for an intent a template matched or whose list gave "
        "a value, so the intent is always there"
    ),
    "assistant.slots.xǁSlotResolverǁ_narrowed__mutmut_5": (
        "a slot the template did not fill reads as ' None ' instead of '  ': no span (lower-case words) is in either"
    ),
    "assistant.slots.xǁSlotResolverǁ_narrowed__mutmut_7": "the same as _narrowed__mutmut_5 (`.get(slot)` is None)",
    "assistant.slots.xǁSlotResolverǁ_narrowed__mutmut_8": (
        "a slot the template did not fill reads as ' XXXX ': no span (lower-case words) is in it"
    ),
}
"""Surviving mutants no test can tell from the code, each with why (see ``mutmut show NAME``)."""

FAST = ("-m", "not slow and not audio")
"""The fast suite: what ``pytest`` runs without the training, Whisper and microphone tests."""


@dataclass(frozen=True)
class Named:
    """A mutant issue 10 names, written by hand: ``old`` (found exactly once in ``path``) becomes ``new``."""

    what: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


NAMED = (
    Named(
        "act threshold boundary (< becomes <=)",
        "assistant/policy.py",
        "if prediction.confidence < options.act_threshold:",
        "if prediction.confidence <= options.act_threshold:",
        ("tests/test_policy.py",),
    ),
    Named(
        "ask threshold boundary (< becomes <=)",
        "assistant/policy.py",
        "if prediction.confidence < options.ask_threshold:",
        "if prediction.confidence <= options.ask_threshold:",
        ("tests/test_policy.py",),
    ),
    Named(
        "no track reset when the media source changes",
        "assistant/vehicle.py",
        "media = replace(media, source=source, index=0, query=None)",
        "media = replace(media, source=source, query=None)",
        ("tests/test_vehicle.py",),
    ),
    Named(
        "45 °F boundary of the Fahrenheit rule (>= becomes >)",
        "assistant/vehicle.py",
        "fahrenheit = value >= FAHRENHEIT_FROM",
        "fahrenheit = value > FAHRENHEIT_FROM",
        ("tests/test_vehicle.py",),
    ),
    Named(
        "sound-alike slot ratio 0.8 becomes 0.7",
        "assistant/slots.py",
        "SOUND_ALIKE_MIN_RATIO = 0.8",
        "SOUND_ALIKE_MIN_RATIO = 0.7",
        ("tests/test_slots.py",),
    ),
    Named(
        "no slot heard and no template: the rule that asks is dropped",
        "assistant/policy.py",
        'if not evidence.template_matched and not evidence.slot_confidence:\n            return "heard nothing that says what to do"',
        "if not evidence.template_matched and not evidence.slot_confidence:\n            pass",
        ("tests/test_policy.py",),
    ),
    Named(
        "_read_in_background swallows the reader's error",
        "assistant/pipeline.py",
        "handoff.put(error)",
        "pass",
        ("tests/test_pipeline.py",),
    ),
    Named(
        "slots_match always true",
        "training/evaluate.py",
        "return all(_same(value, predicted.get(name)) for name, value in expected.items())",
        "return True",
        ("tests/test_evaluate.py",),
    ),
    Named(
        "the endpointer keeps bursts shorter than min_speech_ms",
        "assistant/audio.py",
        "return utterance if long_enough else None",
        "return utterance",
        ("tests/test_audio.py",),
    ),
    Named(
        "the intents fingerprint check is skipped",
        "assistant/classifier.py",
        'if manifest["intents_fingerprint"] != fingerprint:',
        "if False:",
        ("tests/test_check.py",),
    ),
)
"""Issue 10's named mutants, mapped to today's code. (It counts 12 and names these; the others
it found already caught are not named.)"""

STATUSES = ("killed", "survived", "timeout", "no tests", "skipped", "suspicious", "not checked")
SETTLED = ("killed", "timeout", "skipped")


def mutmut(*args: str) -> subprocess.CompletedProcess[str]:
    """mutmut's command line, in the repository, niced, one thread per worker, offline."""
    env = {**os.environ, **QUIET}
    env.pop("PYTHONPATH", None)  # mutmut puts mutants/ first; a path to the tree would hide it
    command = [str(MUTMUT), *args]
    if shutil.which("nice"):
        command = ["nice", "-n", "10", *command]
    return subprocess.run(
        command, cwd=REPO, env=env, text=True, stdout=subprocess.PIPE if args[0] == "results" else None
    )


def results() -> dict[str, str]:
    """Every mutant mutmut knows, with its status (``mutmut results --all true``)."""
    listing = mutmut("results", "--all", "true").stdout
    found = {}
    for line in listing.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep:
            found[name] = status
    return found


def module_of(mutant: str) -> str | None:
    return next(
        (
            module
            for module, (_, globs) in MODULES.items()
            if any(fnmatch.fnmatchcase(mutant, g) for g in globs)
        ),
        None,
    )


def still_open(modules: list[str], statuses: dict[str, str]) -> list[str]:
    """The mutants of ``modules`` to try (globs for a module mutmut has not seen yet)."""
    names: list[str] = []
    for module in modules:
        mine = {name: status for name, status in statuses.items() if module_of(name) == module}
        names += [n for n, s in mine.items() if s not in SETTLED] if mine else MODULES[module][1]
    return names


def run(modules: list[str], fresh: bool, max_children: int) -> bool:
    """Try the open mutants of ``modules`` (all of them when ``fresh``); False when mutmut fails.

    mutmut maps each function to the tests that call it, and later maps only new tests: a test changed
    since would keep its old map, so the map is made afresh each run (half a minute).
    """
    (REPO / "mutants" / "mutmut-stats.json").unlink(missing_ok=True)
    names = [g for module in modules for g in MODULES[module][1]] if fresh else still_open(modules, results())
    for _ in range(2):  # once more for mutants that mutmut's own regeneration just unchecked
        if not names:
            return True
        if mutmut("run", "--max-children", str(max_children), *names).returncode != 0:
            return False
        statuses = results()
        names = [n for n in still_open(modules, statuses) if statuses.get(n) == "not checked"]
    return True


def table(statuses: dict[str, str], modules: list[str]) -> tuple[str, list[str], bool]:
    """The per-module table, the survivors not known to be equivalent, and whether every module passed."""
    rows = [
        f"| module | mutants | {' | '.join(STATUSES)} | equivalent | score |",
        "|---" * (len(STATUSES) + 4) + "|",
    ]
    unexplained: list[str] = []
    passed = True
    for module in modules:
        mine = {name: status for name, status in statuses.items() if module_of(name) == module}
        equivalent = [n for n, s in mine.items() if s == "survived" and n in EQUIVALENT]
        unexplained += sorted(
            n for n, s in mine.items() if s in ("survived", "no tests", "suspicious") and n not in EQUIVALENT
        )
        counts = Counter(mine.values())
        judged = len(mine) - counts["skipped"] - counts["not checked"]
        score = (counts["killed"] + counts["timeout"]) / judged if judged else 0.0
        passed &= judged > 0 and not counts["not checked"] and score >= BAR
        cells = " | ".join(str(counts[s]) for s in STATUSES)
        rows.append(f"| {MODULES[module][0]} | {len(mine)} | {cells} | {len(equivalent)} | {score:.1%} |")
    return "\n".join(rows), unexplained, passed


def named_mutants() -> bool:
    """Try each of NAMED on a copy of the tree against its fast tests; print whether they caught it."""
    env = {**os.environ, **QUIET}
    caught_all = True
    print("| mutant | file | result |\n|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="named-mutants-") as tmp:
        tree = Path(tmp) / "tree"
        shutil.copytree(REPO, tree, ignore=shutil.ignore_patterns(".git", "mutants", ".venv", "__pycache__"))
        env["PYTHONPATH"] = str(tree)
        for mutant in NAMED:
            path = tree / mutant.path
            original = path.read_text(encoding="utf-8")
            if original.count(mutant.old) != 1:
                print(f"| {mutant.what} | {mutant.path} | code not found: update NAMED |")
                caught_all = False
                continue
            path.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
            try:
                run = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "pytest",
                        "-q",
                        "-x",
                        "-p",
                        "no:cacheprovider",
                        *FAST,
                        *mutant.tests,
                    ],
                    cwd=tree,
                    env=env,
                    capture_output=True,
                    text=True,
                )
            finally:
                path.write_text(original, encoding="utf-8")
            failed = [line.split(" - ")[0] for line in run.stdout.splitlines() if line.startswith("FAILED ")]
            verdict = (
                f"caught by {failed[0].removeprefix('FAILED ')}" if run.returncode == 1 and failed else None
            )
            if verdict is None:
                verdict = "NOT CAUGHT" if run.returncode == 0 else f"pytest exit {run.returncode}"
                caught_all = False
            print(f"| {mutant.what} | {mutant.path} | {verdict} |")
    return caught_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "modules", nargs="*", metavar="MODULE", help=f"any of {', '.join(MODULES)} (default: all)"
    )
    parser.add_argument("--report", action="store_true", help="print the last run's table, run nothing")
    parser.add_argument("--fresh", action="store_true", help="try every mutant again, killed ones too")
    parser.add_argument("--named", action="store_true", help="try issue 10's hand-made mutants instead")
    parser.add_argument("--max-children", type=int, default=os.cpu_count() or 2, help="mutmut workers")
    args = parser.parse_args(argv)
    if not MUTMUT.exists():
        print(f"mutmut is not installed next to {sys.executable}: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    unknown = [module for module in args.modules if module not in MODULES]
    if unknown:
        parser.error(f"no module {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    modules = args.modules or list(MODULES)
    if args.named:
        return 0 if named_mutants() else 1
    if not args.report and not run(modules, args.fresh, args.max_children):
        print("mutmut run failed (see above)", file=sys.stderr)
        return 2
    rows, unexplained, passed = table(results(), modules)
    print(rows)
    for name in unexplained:
        print(f"survived, no test and not listed as equivalent: {name}  (mutmut show {name})")
    for name, why in EQUIVALENT.items():
        print(f"equivalent: {name}: {why}")
    print(f"every module at or above {BAR:.0%}: {'yes' if passed else 'no'}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
