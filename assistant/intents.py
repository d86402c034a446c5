"""The intents YAML: hassil templates plus our keys, parsed and validated with file:line errors.

hassil parses the template syntax (alternatives, optionals, ``{slot}`` lists, ``<rules>``);
this module adds what hassil leaves out: line numbers, the checks a person editing the file
needs, the vehicle action per intent, free-text sample values, a fingerprint that ties a
trained model to the YAML it was trained on, and the ``responses:`` that word what the car
reports (:func:`respond`, checked by :func:`check_responses`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import string
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from hassil import recognize_all
from hassil.expression import (
    Alternative,
    Expression,
    Group,
    ListReference,
    RuleReference,
    Sentence,
    TextChunk,
)
from hassil.intents import Intents, RangeSlotList, TextSlotList, WildcardSlotList
from hassil.intents import SlotList as HassilSlotList
from hassil.parse_expression import parse_sentence
from hassil.sample import sample_expression

from assistant.limits import TextError, read_text

OUT_OF_SCOPE = "out_of_scope"
DEFAULT_INTENTS = Path(__file__).resolve().parent.parent / "intents" / "driver.yaml"
MIN_WORDINGS = 20
"""Fewer wordings than this and an intent may get no validation or test sentences: the dataset
splits by wording (the text with each slot left as a slot), about 15 % of wordings to each."""
MAX_SENTENCES_CHECKED = 2000
"""How many sentences of one out-of-scope template :func:`find_warnings` puts to the intents' templates."""


def normalize(text: str) -> str:
    """Lower case, digits kept, punctuation gone: 'Set it to 21°C.' → 'set it to 21 degrees c'.

    The one way text is compared with the templates, tagged by the model and matched to lists."""
    text = text.lower().replace("°", " degrees ").replace("/", " ")
    text = re.sub(r"[^\w'. ]+", " ", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # a dot stays only inside a number: 0.5
    return " ".join(text.split())


def spoken_words(text: str) -> str:
    """Lower case, words only: 'Thank you.' → 'thank you'."""
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def words(text: str) -> list[str]:
    """The words of a text as the model sees them (one slot tag each)."""
    return normalize(text).split()


class IntentsError(ValueError):
    """A problem in an intents file, phrased as ``file:line: what is wrong``."""


class _LineStr(str):
    line: int


@dataclass(frozen=True)
class Template:
    text: str
    line: int
    sentence: Sentence = field(repr=False, compare=False)


@dataclass(frozen=True)
class SlotValue:
    """One value of a list: the phrases that say it and the value the slot takes."""

    phrases: tuple[str, ...]
    out: str | int


@dataclass(frozen=True)
class SlotList:
    name: str
    values: tuple[SlotValue, ...] = ()
    number_range: tuple[int, int, int] | None = None
    free_text: bool = False


@dataclass(frozen=True)
class Required:
    """A slot an intent cannot act without, the question that asks for it, and what makes it unneeded."""

    slot: str
    question: str
    unless: tuple[tuple[str, str | None], ...] = ()
    """``(slot, value)`` pairs any of which makes ``slot`` unneeded ('call' needs a contact, 'answer'
    doesn't); a None value: that slot being there at all."""

    def missing(self, slots: Mapping[str, object]) -> bool:
        """Whether ``slots`` lack this slot, and nothing in them makes it unneeded."""
        return self.slot not in slots and not any(
            name in slots and (value is None or str(slots[name]) == value) for name, value in self.unless
        )


@dataclass(frozen=True)
class Response:
    """What the car says for one outcome: a sentence with ``{name}`` placeholders, and where it is written."""

    key: str
    text: str
    line: int
    fields: tuple[str, ...]
    """The names its placeholders refer to, in order."""


@dataclass(frozen=True)
class Intent:
    name: str
    description: str
    action: str | None
    defaults: dict[str, str | int]
    templates: tuple[Template, ...]
    responses: dict[str, Response] = field(default_factory=dict)
    """This intent's own wording of an outcome, over the file's ``responses:`` section."""
    required: tuple[Required, ...] = ()

    def missing(self, slots: Mapping[str, object]) -> tuple[Required, ...]:
        """The required slots ``slots`` lack, in the YAML's order."""
        return tuple(required for required in self.required if required.missing(slots))


@dataclass(frozen=True)
class IntentLibrary:
    path: Path
    intents: dict[str, Intent]
    out_of_scope: tuple[Template, ...]
    lists: dict[str, SlotList]
    rules: dict[str, Sentence] = field(repr=False)
    prefixes: tuple[str, ...]
    suffixes: tuple[str, ...]
    fingerprint: str
    responses: dict[str, Response] = field(default_factory=dict)
    """The file's ``responses:`` section: outcome key → what the car says."""

    @property
    def labels(self) -> list[str]:
        """Class labels for the classifier: every intent, then out-of-scope."""
        return [*self.intents, OUT_OF_SCOPE]

    @property
    def slot_names(self) -> list[str]:
        """Every slot any intent fills, sorted: the model tags these."""
        return sorted({slot for name in self.intents for slot in self.slot_lists(name)})

    def slot_lists(self, intent: str) -> dict[str, list[SlotList]]:
        """Slot name → the lists its templates fill it from, for one intent."""
        by_slot: dict[str, list[SlotList]] = {}
        for template in self.intents[intent].templates:
            for ref in list_references(template.sentence.expression, self.rules):
                lists = by_slot.setdefault(ref.slot_name, [])
                if self.lists[ref.list_name] not in lists:
                    lists.append(self.lists[ref.list_name])
        return by_slot


def list_references(
    expression: Expression, rules: dict[str, Sentence], required_only: bool = False
) -> list[ListReference]:
    """Every ``{list}`` an expression refers to, through rules too; with ``required_only``, only
    those it says even with its optional parts left out."""
    if isinstance(expression, ListReference):
        return [expression]
    if required_only and isinstance(expression, Alternative) and expression.is_optional:
        return []
    if isinstance(expression, RuleReference) and expression.rule_name in rules:
        return list_references(rules[expression.rule_name].expression, rules, required_only)
    if isinstance(expression, Group):
        return [ref for item in expression.items for ref in list_references(item, rules, required_only)]
    return []


def sayings(library: IntentLibrary, intent: str, slots: dict[str, Any], per_template: int = 8) -> list[str]:
    """Short sentences the intent's templates say for exactly these slot values, optional parts left
    out: phone with action=answer → 'answer the call', 'pick up the phone', 'answer', …

    What the recognizer listens for when the car expects a command (a ringing phone's answer).
    Templates needing a slot not given, or a value no phrase of their list gives, are passed over.
    """
    sentences: list[str] = []
    for template in library.intents[intent].templates:
        references = list_references(template.sentence.expression, library.rules, required_only=True)
        lists = {
            ref.list_name: phrases_for(library.lists[ref.list_name], slots.get(ref.slot_name))
            for ref in references
        }
        if not references or not all(lists.values()):
            continue
        samples = sample_expression(template.sentence.expression, lists, library.rules, skip_optionals=True)
        for sample in itertools.islice(samples, per_template):
            sentence = " ".join(sample.split())
            if sentence and sentence not in sentences:
                sentences.append(sentence)
    return sentences


def phrases_for(slot_list: SlotList, value: Any, first_only: bool = False) -> TextSlotList | None:
    """A one-list mapping that says ``value`` in the YAML's words, for hassil's sampler: every phrase
    of the value (or its first only), the value itself for free text and numbers; None when this
    list cannot say it."""
    if value is None:
        return None
    if slot_list.free_text or slot_list.number_range:
        pairs = [(str(value), value)]
    else:
        pairs = [(phrase, value) for item in slot_list.values if item.out == value for phrase in item.phrases]
    pairs = pairs[:1] if first_only else pairs
    return TextSlotList.from_tuples(pairs, name=slot_list.name) if pairs else None


def to_hassil(library: IntentLibrary) -> Intents:
    """The library as hassil's own :class:`Intents`, for hassil's template matcher (``recognize_all``)."""
    document = {
        "language": "en",
        "intents": {
            name: {"data": [{"sentences": [t.text for t in intent.templates]}]}
            for name, intent in library.intents.items()
        },
        "expansion_rules": {name: rule.text for name, rule in library.rules.items()},
    }
    intents = Intents.from_dict(document)
    intents.slot_lists.update({name: _hassil_list(slot_list) for name, slot_list in library.lists.items()})
    return intents


def _hassil_list(slot_list: SlotList) -> HassilSlotList:
    if slot_list.free_text:
        return WildcardSlotList(name=slot_list.name)
    if slot_list.number_range:
        start, stop, step = slot_list.number_range
        return RangeSlotList(name=slot_list.name, start=start, stop=stop, step=step)
    pairs = [(phrase, value.out) for value in slot_list.values for phrase in value.phrases]
    return TextSlotList.from_tuples(pairs, name=slot_list.name)


def expand_phrases(expression: Expression) -> tuple[str, ...]:
    """All the texts a (small, list-free) expression can say, lower-cased, in the order written."""
    texts = dict.fromkeys(" ".join(text.lower().split()) for text in sample_expression(expression))
    return tuple(text for text in texts if text)


def find_warnings(library: IntentLibrary) -> list[str]:
    """What a valid file may still get wrong, one ``file:line: ...`` line each.

    An out-of-scope sentence an intent's template also says (hassil's recognizer decides, so the
    template syntax means exactly what it means at run time), and an intent with fewer than
    :data:`MIN_WORDINGS` wordings.
    """
    return [*_contradictions(library), *_few_wordings(library)]


def _contradictions(library: IntentLibrary) -> Iterator[str]:
    intents = to_hassil(library)
    slot_lists = {name: _hassil_list(slot_list) for name, slot_list in library.lists.items()}
    where = {
        (name, template.text): template
        for name, intent in library.intents.items()
        for template in intent.templates
    }
    for oos in library.out_of_scope:
        sentences = dict.fromkeys(sample_expression(oos.sentence.expression, slot_lists, library.rules))
        reported: set[tuple[str, str]] = set()
        for sentence in itertools.islice(sentences, MAX_SENTENCES_CHECKED):
            for match in recognize_all(sentence, intents):
                key = (match.intent.name, match.intent_sentence.text if match.intent_sentence else "")
                template = where.get(key)
                if template is None or key in reported:
                    continue
                reported.add(key)
                yield (
                    f"{library.path}:{oos.line}: out-of-scope '{sentence}' is also said by intent "
                    f"'{key[0]}' at {library.path}:{template.line} ('{template.text}'); "
                    "the model is taught both: remove one"
                )


def _few_wordings(library: IntentLibrary) -> Iterator[str]:
    for name, intent in library.intents.items():
        count = _count_wordings(intent, library.rules, up_to=MIN_WORDINGS)
        if count < MIN_WORDINGS:
            yield (
                f"{library.path}:{intent.templates[0].line}: intent '{name}' has only {count} wording"
                f"{'s' if count != 1 else ''}; the validation and test splits are drawn by wording and may "
                f"get none of it: add templates or alternatives (at least {MIN_WORDINGS} wordings)"
            )


def _count_wordings(intent: Intent, rules: dict[str, Sentence], up_to: int) -> int:
    """How many ways the templates say the intent with each slot left as a slot, counted up to ``up_to``."""
    wordings: set[str] = set()
    for template in intent.templates:
        for text in sample_expression(template.sentence.expression, None, rules, expand_lists=False):
            wordings.add(" ".join(text.lower().split()))
            if len(wordings) >= up_to:
                return len(wordings)
    return len(wordings)


Said = str | int | float | tuple[str, ...] | Mapping[str, Any]
"""A value a response can say: a word (said through the list named like it), a number, several words
('high beams and fog lights'), or the slots a command was heard with."""


def respond(library: IntentLibrary, key: str, values: Mapping[str, Said], intent: str | None = None) -> str:
    """What the car says for outcome ``key``: the intent's own response, else the file's, with ``values`` put in.

    A response naming a value this outcome lacks (an optional slot left unsaid) gives way to the next
    one; with none left, the outcome is said plainly ('No action: order drink.').
    """
    spec = library.intents.get(intent or "")
    candidates = [spec.responses.get(key) if spec else None, library.responses.get(key)]
    for response in candidates:
        if response is not None and set(response.fields) <= set(values):
            return _capitalized(_ResponseFormatter(library).format(response.text, **values))
    said = ", ".join(str(_said(library, name, value)) for name, value in values.items())
    return _capitalized(f"{key.replace('_', ' ')}: {said}." if said else f"{key.replace('_', ' ')}.")


def check_responses(library: IntentLibrary, outcomes: Mapping[str, Collection[str]]) -> None:
    """Raise :class:`IntentsError` (``file:line``) for a response to an outcome the car never reports, or
    naming a value that outcome lacks: ``outcomes`` maps each key to the values reported with it; an
    intent's own responses may also name the intent's slots."""
    owners: list[tuple[dict[str, Response], set[str], str]] = [(library.responses, set(), "")]
    for name, intent in library.intents.items():
        owners.append((intent.responses, set(library.slot_lists(name)), f" of intent '{name}'"))
    for responses, slots, owner in owners:
        for key, response in responses.items():
            where = f"{library.path}:{response.line}: response '{key}'{owner}"
            if key not in outcomes:
                raise IntentsError(
                    f"{where} answers no outcome the car reports; known: {', '.join(outcomes)}"
                )
            allowed = {*outcomes[key], *slots}
            for name in response.fields:
                if name not in allowed:
                    known = ", ".join(sorted(allowed)) or "none"
                    raise IntentsError(f"{where} names {{{name}}}, which it does not have (it has: {known})")


def spoken_name(name: str) -> str:
    """'orderDrink' or 'order_drink' → 'order drink': an intent's name as words."""
    return " ".join(re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").lower().split())


def _said(library: IntentLibrary, name: str, value: Said) -> str | tuple[str, ...]:
    """A value as words: a slot value as its list's first phrase ('driver' → 'driver window'), a
    number without trailing zeros, slots as 'size large, coffee drink latte', an intent by its name."""
    if name == "intent" and isinstance(value, str):
        return spoken_name(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{spoken_name(slot)} {_said(library, slot, v)}" for slot, v in value.items())
    if isinstance(value, tuple):
        return tuple(str(_said(library, name, item)) for item in value)
    if isinstance(value, float | int):
        return f"{value:g}"
    slot_list = library.lists.get(name)
    if slot_list is not None and not slot_list.free_text:
        phrase = next((v.phrases[0] for v in slot_list.values if v.out == value), None)
        if phrase is not None:
            return phrase
    return value.replace("_", " ")


class _ResponseFormatter(string.Formatter):
    """``{name}`` says the value in words; several words join with 'and', or ``{name:or}`` with 'or'."""

    def __init__(self, library: IntentLibrary):
        self.library = library

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        return _said(self.library, str(key), kwargs[str(key)])

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, tuple):
            last = f" {format_spec or 'and'} "
            return value[0] if len(value) == 1 else ", ".join(value[:-1]) + last + value[-1]
        return str(value)


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def load_intents(path: str | Path = DEFAULT_INTENTS) -> IntentLibrary:
    """Read and validate an intents file; raise :class:`IntentsError` naming the file and line."""
    path = Path(path)
    try:
        text = read_text(path)
    except OSError as error:
        raise IntentsError(f"{path}: cannot read the intents file ({error.strerror})") from None
    except TextError as error:
        raise IntentsError(str(error)) from None
    document = parse_yaml(path, text)
    if not isinstance(document, dict):
        raise IntentsError(f"{path}:1: expected a mapping with an 'intents' section")
    return _Builder(path, document).build(_fingerprint(document))


def _fingerprint(document: Any) -> str:
    """A hash of what the model learns from: the intents' sentences and everything they expand to.

    An intent's other keys (its description, action, required slots, responses) and a top-level
    ``responses`` section are read at run time only, so editing them needs no retraining.
    """
    learned = {key: value for key, value in document.items() if key != "responses"}
    intents = document.get("intents")
    if isinstance(intents, dict):
        learned["intents"] = {
            name: spec.get("data") if isinstance(spec, dict) else spec for name, spec in intents.items()
        }
    canonical = json.dumps(learned, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def parse_yaml(path: Path, text: str) -> Any:
    """A YAML document whose strings know their line; syntax errors and duplicate keys raise
    :class:`IntentsError` with the file and line."""
    loader = _LineLoader(text)
    try:
        document = loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise IntentsError(f"{path}:{line}: YAML syntax error: {error.problem or error.context}") from None
    except _DuplicateKey as duplicate:
        raise IntentsError(f"{path}:{duplicate.line}: duplicate key '{duplicate.key}'") from None
    finally:
        loader.dispose()
    return document


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int):
        super().__init__(key)
        self.key, self.line = key, line


class _LineLoader(yaml.SafeLoader):
    """A safe loader whose strings remember their line and whose mappings reject duplicate keys."""

    def construct_scalar(self, node: yaml.ScalarNode) -> Any:
        value = super().construct_scalar(node)
        if isinstance(value, str):
            value = _LineStr(value)
            value.line = node.start_mark.line + 1
        return value

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise _DuplicateKey(str(key), key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_LineLoader.add_constructor("tag:yaml.org,2002:str", _LineLoader.construct_scalar)


def line_of(value: Any, default: int = 1) -> int:
    """The line a string read by :func:`parse_yaml` came from."""
    return getattr(value, "line", default)


class _Builder:
    """Turns the YAML document into an :class:`IntentLibrary`, one check at a time."""

    def __init__(self, path: Path, document: dict[str, Any]):
        self.path = path
        self.document = document

    def fail(self, line: int, problem: str) -> IntentsError:
        return IntentsError(f"{self.path}:{line}: {problem}")

    def build(self, fingerprint: str) -> IntentLibrary:
        self.lists = {name: self.parse_list(name, spec) for name, spec in self.section("lists").items()}
        self.rules: dict[str, Sentence] = {}
        for name, body in self.section("expansion_rules").items():
            self.rules[name] = self.parse_template(body, what=f"rule <{name}>").sentence
        intents_section = self.section("intents")
        if not intents_section:
            raise self.fail(1, "no intents: add at least one under 'intents:'")
        intents = {name: self.parse_intent(name, spec) for name, spec in intents_section.items()}
        oos = self.section("out_of_scope").get("sentences") or []
        fillers = self.section("fillers")
        return IntentLibrary(
            path=self.path,
            intents=intents,
            out_of_scope=tuple(self.parse_template(text) for text in oos),
            lists=self.lists,
            rules=self.rules,
            prefixes=tuple(str(p) for p in fillers.get("prefix") or ()),
            suffixes=tuple(str(s) for s in fillers.get("suffix") or ()),
            fingerprint=fingerprint,
            responses=self.parse_responses(self.section("responses"), "'responses'"),
        )

    def section(self, key: str) -> dict[str, Any]:
        value = self.document.get(key) or {}
        if not isinstance(value, dict):
            raise self.fail(line_of(key), f"'{key}' must be a mapping")
        return value

    def parse_intent(self, name: str, spec: Any) -> Intent:
        if name == OUT_OF_SCOPE:
            raise self.fail(
                line_of(name), f"'{OUT_OF_SCOPE}' is reserved: put those sentences under 'out_of_scope:'"
            )
        if not isinstance(spec, dict):
            raise self.fail(line_of(name), f"intent '{name}' must be a mapping with 'data: - sentences:'")
        sentences = [
            text for block in spec.get("data") or [] for text in (block or {}).get("sentences") or []
        ]
        if not sentences:
            raise self.fail(line_of(name), f"intent '{name}' is empty: it has no sentences")
        templates = tuple(self.parse_template(text, what=f"intent '{name}'") for text in sentences)
        defaults = spec.get("defaults") or {}
        intent = Intent(
            name=name,
            description=str(spec.get("description", "")),
            action=str(spec["action"]) if spec.get("action") else None,
            defaults={str(k): v for k, v in defaults.items()},
            templates=templates,
            responses=self.parse_responses(spec.get("responses") or {}, f"intent '{name}'", name),
        )
        slots = self.filled_slots(templates)
        for slot in intent.defaults:
            if slot not in slots:
                raise self.fail(
                    line_of(slot),
                    f"intent '{intent.name}' has a default for '{slot}', a slot none of its templates fill",
                )
        return replace(intent, required=self.parse_required(name, spec.get("required"), slots))

    def filled_slots(self, templates: tuple[Template, ...]) -> set[str]:
        return {
            ref.slot_name for t in templates for ref in list_references(t.sentence.expression, self.rules)
        }

    def parse_required(self, intent: str, spec: Any, slots: set[str]) -> tuple[Required, ...]:
        """``required: {slot: "Question?"}`` or ``{slot: {ask: "Question?", unless: [slot, slot=value]}}``."""
        if spec is None:
            return ()
        if not isinstance(spec, dict):
            raise self.fail(line_of(intent), f"'required' of intent '{intent}' must map slots to questions")
        return tuple(self.parse_one_required(intent, slot, body, slots) for slot, body in spec.items())

    def parse_one_required(self, intent: str, slot: str, body: Any, slots: set[str]) -> Required:
        line = line_of(slot, line_of(intent))
        if slot not in slots:
            raise self.fail(line, f"intent '{intent}' requires '{slot}', a slot none of its templates fill")
        question, unless = (
            (body.get("ask"), body.get("unless") or []) if isinstance(body, dict) else (body, [])
        )
        if not isinstance(question, str) or not question.strip():
            raise self.fail(
                line, f"required slot '{slot}' of intent '{intent}' needs a question to ask ('ask:')"
            )
        if not isinstance(unless, list):
            raise self.fail(line, f"'unless' of required slot '{slot}' must be a list of slot or slot=value")
        conditions = []
        for condition in unless:
            name, _, value = str(condition).partition("=")
            if name.strip() not in slots:
                raise self.fail(
                    line_of(condition, line),
                    f"'unless: {condition}' of required slot '{slot}' names '{name.strip()}', "
                    f"a slot none of intent '{intent}'s templates fill",
                )
            conditions.append((name.strip(), value.strip() or None))
        return Required(str(slot), question.strip(), tuple(conditions))

    def parse_responses(self, section: Any, what: str, at: Any = None) -> dict[str, Response]:
        """``key: "sentence with {placeholders}"`` pairs; a bad placeholder fails at its line."""
        if not isinstance(section, dict):
            raise self.fail(
                line_of(at, line_of(section)), f"responses of {what} must be a mapping of outcome: sentence"
            )
        return {str(key): self.parse_response(str(key), text) for key, text in section.items()}

    def parse_response(self, key: str, text: Any) -> Response:
        line = line_of(text, line_of(key))
        if not isinstance(text, str) or not text.strip():
            raise self.fail(line, f"response '{key}' must be a sentence")
        try:
            fields = tuple(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)
        except ValueError as error:
            raise self.fail(line, f"cannot read response '{key}' ('{text}'): {error}") from None
        for name in fields:
            if not name.isidentifier():
                raise self.fail(line, f"response '{key}' has a placeholder '{{{name}}}': write a slot's name")
        return Response(key=key, text=str(text), line=line, fields=fields)

    def parse_template(self, text: Any, what: str = "out_of_scope") -> Template:
        line = line_of(text)
        if not isinstance(text, str) or not text.strip():
            raise self.fail(line, f"empty template in {what}")
        self.check_brackets(text, line)
        try:
            sentence = parse_sentence(text, keep_text=True)
        except Exception as error:  # hassil raises several types for malformed templates
            raise self.fail(line, f"cannot parse template '{text}': {error}") from None
        for ref in list_references(sentence.expression, {}):
            if ref.list_name not in self.lists and not ref.is_inline_range:
                raise self.fail(line, f"unknown slot list {{{ref.list_name}}} in '{text}'")
        self.check_rules(sentence.expression, text, line)
        if _can_be_empty(sentence.expression, self.rules):
            raise self.fail(line, f"template '{text}' can expand to nothing (everything in it is optional)")
        return Template(text=str(text), line=line, sentence=sentence)

    def check_brackets(self, text: str, line: int) -> None:
        pairs = {")": "(", "]": "[", "}": "{", ">": "<"}
        stack: list[str] = []
        for char in text:
            if char in "([{<":
                stack.append(char)
            elif char in pairs and (not stack or stack.pop() != pairs[char]):
                raise self.fail(line, f"unbalanced brackets in '{text}': unexpected '{char}'")
        if stack:
            raise self.fail(line, f"unbalanced brackets in '{text}': '{stack[-1]}' is never closed")

    def check_rules(self, expression: Expression, text: str, line: int) -> None:
        if isinstance(expression, RuleReference) and expression.rule_name not in self.rules:
            raise self.fail(line, f"unknown rule <{expression.rule_name}> in '{text}'")
        for item in getattr(expression, "items", []):
            self.check_rules(item, text, line)

    def parse_list(self, name: str, spec: Any) -> SlotList:
        line = line_of(name)
        if not isinstance(spec, dict):
            raise self.fail(line, f"list '{name}' must be a mapping with 'values', 'range' or 'wildcard'")
        if "range" in spec:
            return SlotList(name=name, number_range=self.parse_range(name, spec["range"]))
        values = spec.get("values") or []
        if not values:
            kind = "free-text list" if spec.get("wildcard") else "list"
            raise self.fail(
                line, f"{kind} '{name}' has no values (free-text lists need sample values to train on)"
            )
        return SlotList(
            name=name,
            values=tuple(self.parse_value(name, value) for value in values),
            free_text=bool(spec.get("wildcard")),
        )

    def parse_range(self, name: str, spec: Any) -> tuple[int, int, int]:
        try:
            start, stop, step = int(spec["from"]), int(spec["to"]), int(spec.get("step", 1))
        except (KeyError, TypeError, ValueError):
            raise self.fail(
                line_of(name), f"range list '{name}' needs whole numbers 'from' and 'to'"
            ) from None
        if start > stop or step < 1:
            raise self.fail(
                line_of(name), f"range list '{name}' is empty: from {start} to {stop} step {step}"
            )
        return start, stop, step

    def parse_value(self, list_name: str, value: Any) -> SlotValue:
        said, out = (value.get("in"), value.get("out")) if isinstance(value, dict) else (value, value)
        line = line_of(said, line_of(list_name))
        if said is None or not str(said).strip():
            raise self.fail(line, f"empty value in list '{list_name}'")
        self.check_brackets(str(said), line)
        try:
            phrases = expand_phrases(parse_sentence(str(said)).expression)
        except Exception as error:
            raise self.fail(line, f"cannot parse value '{said}' in list '{list_name}': {error}") from None
        if not phrases:
            raise self.fail(line, f"value '{said}' in list '{list_name}' can expand to nothing")
        return SlotValue(
            phrases=phrases, out=out if isinstance(out, int) else str(out if out is not None else said)
        )


def _can_be_empty(expression: Expression, rules: dict[str, Sentence]) -> bool:
    """Whether some expansion of the expression says no word at all."""
    if isinstance(expression, TextChunk):
        return not expression.text.strip()
    if isinstance(expression, ListReference):
        return False
    if isinstance(expression, RuleReference):
        rule = rules.get(expression.rule_name)
        return rule is not None and _can_be_empty(rule.expression, rules)
    if isinstance(expression, Alternative):
        return expression.is_optional or any(_can_be_empty(item, rules) for item in expression.items)
    if isinstance(expression, Group):
        return all(_can_be_empty(item, rules) for item in expression.items)
    return False
