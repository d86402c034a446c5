"""Which evaluation sentences can the templates say word for word? (They must not: evaluate, never train.)

    python scripts/check_dev_overlap.py [EVAL.jsonl] [--intents FILE]

An exact check, by hassil's own recognizer: every evaluation line (normalised as the model sees
text) is put to the intents' templates and the out-of-scope templates, with their expansion rules,
with and without one of the YAML's filler prefixes and suffixes around it (as the dataset wraps
sentences). Two counts:

* **reachable**: a template says the line with every slot value from the YAML's lists, free-text
  lists held to their sample values: the sentences the dataset can draw (before its simulated
  mishearings);
* **with any free-text value**: free-text lists as hassil's wildcards (any words), as the runtime's
  template rule matches them.

Only counts and template lines are printed; never copy the lines into templates. Exit status 1 when
any line is reachable.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from hassil import recognize_all
from hassil.intents import TextSlotList
from paths import DEV_SET

from assistant.intents import (
    DEFAULT_INTENTS,
    OUT_OF_SCOPE,
    Intent,
    IntentLibrary,
    Template,
    load_intents,
    normalize,
    to_hassil,
)
from training.evaluate import read_jsonl


@dataclass(frozen=True)
class Reached:
    """An evaluation line a template can say."""

    text: str
    intent: str
    template: Template


def with_out_of_scope(library: IntentLibrary) -> IntentLibrary:
    """The library with its out-of-scope templates as one more intent, so hassil matches them too."""
    intent = Intent(OUT_OF_SCOPE, "", None, {}, library.out_of_scope)
    return replace(library, intents={**library.intents, OUT_OF_SCOPE: intent})


def unwrapped(text: str, prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> list[str]:
    """The text, and the text without one filler prefix and/or one suffix where it has them."""
    words = text.split()
    starts = [0] + [len(p.split()) for p in map(normalize, prefixes) if words[: len(p.split())] == p.split()]
    ends = [0] + [len(s.split()) for s in map(normalize, suffixes) if words[-len(s.split()) :] == s.split()]
    cores = (" ".join(words[start : len(words) - end]) for start in starts for end in ends)
    return list(dict.fromkeys(core for core in cores if core))


def reachable(library: IntentLibrary, texts: list[str], wildcards: bool) -> list[Reached]:
    """The texts that a template says (see the module docstring), with the first template found."""
    full = with_out_of_scope(library)
    intents = to_hassil(full)
    if not wildcards:
        for name, slot_list in library.lists.items():
            if slot_list.free_text:
                samples = [(phrase, phrase) for value in slot_list.values for phrase in value.phrases]
                intents.slot_lists[name] = TextSlotList.from_tuples(samples, name=name)
    where = {(name, t.text): t for name, intent in full.intents.items() for t in intent.templates}
    found = []
    for text in texts:
        for core in unwrapped(normalize(text), library.prefixes, library.suffixes):
            match = next(iter(recognize_all(core, intents)), None)
            if match is not None and match.intent_sentence is not None:
                template = where[(match.intent.name, match.intent_sentence.text)]
                found.append(Reached(text, match.intent.name, template))
                break
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("eval", nargs="?", type=Path, default=DEV_SET)
    parser.add_argument("--intents", type=Path, default=DEFAULT_INTENTS)
    args = parser.parse_args(argv)
    library = load_intents(args.intents)
    rows = read_jsonl(args.eval)
    texts = [row.text for row in rows]
    exact = reachable(library, texts, wildcards=False)
    for reached in exact:
        print(f"{library.path}:{reached.template.line}: {reached.intent} template '{reached.template.text}'")
    in_scope = [row.text for row in rows if row.intent != OUT_OF_SCOPE]
    free = reachable(library, in_scope, wildcards=True)
    print(
        f"{len(exact)} of the {len(rows)} lines of {args.eval.name} are reachable by the templates "
        f"(free text held to the sample values); {len(free)} of its {len(in_scope)} in-scope lines "
        "with any free-text value"
    )
    return 1 if exact else 0


if __name__ == "__main__":
    sys.exit(main())
