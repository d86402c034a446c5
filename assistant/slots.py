"""Slot values from what the driver said: tagged spans resolved through the YAML lists.

Two ways in, both through hassil:
- a text one of the intent's templates says word for word: hassil's recognizer gives the slots
  (synonyms, spoken numbers, wildcards), exactly as Home Assistant reads a sentence;
- otherwise the joint model's tagged spans, each resolved through the lists its slot is filled
  from for that intent: hassil reads the span against each list (``in`` phrases → ``out``, digits
  or number words → a number); a span no list says is matched to the closest phrase that sounds
  alike (Whisper's 'hi beams' → high beams); a free-text slot (destination, contact) is the span.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from dataclasses import dataclass

from hassil import Intents, RecognizeResult, recognize_all

from assistant.events import SlotValue, TaggedSpan
from assistant.intents import IntentLibrary, SlotList, normalize, to_hassil

UNVOUCHED = 0.5
"""The most a free-text value that is neither a sample value nor said in a template can be trusted:
'give me directions to phoenix' is worth a question, not an action."""
TALK = 0.0
"""The trust in a free-text value far longer than any sample ('call now and get 50 off your order')."""
FREE_TEXT_SLACK_WORDS = 2
"""How many words a free-text value may run past the longest sample value in the YAML."""
TALK_WORDS = frozenset(
    [
        "i",
        "i'm",
        "i'll",
        "i've",
        "i'd",
        "me",
        "you",
        "you're",
        "you'll",
        "we",
        "we're",
        "they",
        "he",
        "she",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "am",
        "do",
        "does",
        "did",
        "can't",
        "don't",
        "won't",
        "what",
        "why",
        "how",
        "when",
        "where",
        "who",
        "if",
        "because",
        "but",
        "so",
    ]
)
"""Words of a sentence about something, never of a name: 'i'll call you back after dinner' answers no
"Where to?"."""
SPOKEN_FILLERS = ("okay", "ok", "oh", "uh", "um", "hey")
"""Sounds Whisper writes around a command that no template says: skipped when matching templates."""
SOUND_ALIKE_MIN_RATIO = 0.8
"""How alike, letter for letter, a span must be to a list phrase to take its value."""
NAME_JOINERS = frozenset({"and", "&", "n"})
"""Words that join two names into one ('simon and garfunkel', 'earth wind and fire')."""
EDGE_WORDS = frozenset({"the", "a", "an", "my", "our", "some", "and", "so", "please", *SPOKEN_FILLERS})
"""Words a free-text value never starts or ends with ('the airport' → 'airport')."""


class TemplateMatcher:
    """hassil's own recognizer over the YAML: which templates say a text word for word."""

    def __init__(self, library: IntentLibrary):
        self._intents = to_hassil(library)
        self._skip_words = [*library.prefixes, *library.suffixes, *SPOKEN_FILLERS]

    def slots(self, text: str, intent: str) -> dict[str, SlotValue] | None:
        """The slots of the best of ``intent``'s templates that say ``text`` (None: none does).

        Best, as Home Assistant ranks hassil's matches: the template that says the most of the text
        in its own words, so 'play the next song' is the next track, not a search for 'next song'."""
        matches = [m for m in self._matches(text) if m.intent.name == intent]
        if not matches:
            return None
        best = max(matches, key=lambda m: (m.text_chunks_matched, -_wildcard_words(m)))
        return {
            name: _trimmed(tuple(str(entity.value).split())) if entity.is_wildcard else _plain(entity.value)
            for name, entity in best.entities.items()
        }

    def says(self, text: str, intent: str | None = None) -> bool:
        """Whether a template (of ``intent``, or of any intent) says ``text`` word for word."""
        return any(intent in (None, m.intent.name) for m in self._matches(text))

    def closed_intents(self, text: str) -> frozenset[str]:
        """The intents whose templates say ``text`` word for word with no free-text slot: the car's
        own grammar, as Rhino's or Home Assistant's, where every word is the YAML's."""
        return frozenset(
            m.intent.name for m in self._matches(text) if not any(e.is_wildcard for e in m.entities.values())
        )

    def _matches(self, text: str) -> Iterable[RecognizeResult]:
        return recognize_all(normalize(text), self._intents, skip_words=self._skip_words)


@dataclass(frozen=True)
class SlotReading:
    """The slots read from one utterance, and how sure the reading is of each."""

    values: dict[str, SlotValue]
    confidence: dict[str, float]
    """Per slot: 1.0 for a template's slot; else the tagger's confidence in the span, no more
    than ``UNVOUCHED`` for free text the YAML doesn't list, and ``TALK`` for free text far longer
    than any sample value (a sentence, not a name)."""
    template_matched: bool
    unresolved: tuple[str, ...] = ()
    """Tagged spans no list of their slot could give a value for."""


@dataclass(frozen=True)
class ListReading:
    """What an intent's lists read in a text: slot values, and the words none of them read."""

    values: dict[str, SlotValue]
    unread: tuple[str, ...]


class SlotResolver:
    """Tagged spans → slot values through the lists each intent fills each slot from."""

    def __init__(self, library: IntentLibrary):
        self.library = library
        self.templates = TemplateMatcher(library)
        self._list_intents = _one_intent_per_list(library)
        self._lists = {name: library.slot_lists(name) for name in library.intents}
        self._samples = _free_text_samples(library)
        self._phrases = {name: _closed_phrases(lists) for name, lists in self._lists.items()}
        self._list_values = functools.lru_cache(maxsize=4096)(self._read_lists)

    def read(self, intent: str, text: str, spans: tuple[TaggedSpan, ...]) -> SlotReading:
        """The template's slots when one says the text (and the tagger doesn't read its free text
        as other slots), else the spans' resolved values."""
        said = self.templates.slots(text, intent)
        if said is not None and not self._disputed(intent, said, spans):
            from_template = {
                slot: self._known(slot, value) if self.free_text(intent, slot) else value
                for slot, value in self._narrowed(intent, said, spans).items()
            }
            from_template = {slot: value for slot, value in from_template.items() if value != ""}
            trust = {
                slot: self._free_text_trust(intent, slot, value, 1.0) for slot, value in from_template.items()
            }
            # doubted on the wildcard's words before narrowing: 'next song from the album' → 'album'
            return SlotReading(from_template, self._doubted(intent, said, trust), template_matched=True)
        resolved = [(span, self.resolve(intent, span)) for span in spans]
        unresolved = [span.text for span, value in resolved if value is None]
        values: dict[str, SlotValue] = {}
        trust: dict[str, float] = {}
        for span, value in sorted(
            ((s, v) for s, v in resolved if v is not None), key=lambda item: -item[0].confidence
        ):
            if span.slot in values:  # a second, less sure reading of a slot already read
                if value != values[span.slot]:  # that disagrees: 'stop this song and play the next one'
                    trust[span.slot] = min(trust[span.slot], UNVOUCHED)
                unresolved.append(span.text)
                continue
            values[span.slot] = value
            unvouched = min(span.confidence, UNVOUCHED)
            trust[span.slot] = self._free_text_trust(intent, span.slot, value, span.confidence, unvouched)
        for span, value in resolved:  # words read as the slot that say no value of it: 'proceed'
            if value is None and span.slot in trust and _trimmed(span.words):  # in 'proceed to the
                trust[span.slot] = min(trust[span.slot], UNVOUCHED)  # next song on…' beside 'on'; not 'a'

        return SlotReading(
            values, self._doubted(intent, values, trust), template_matched=False, unresolved=tuple(unresolved)
        )

    def _doubted(
        self, intent: str, values: dict[str, SlotValue], trust: dict[str, float]
    ) -> dict[str, float]:
        """``trust``, with a free-text value capped at ``UNVOUCHED`` when its words also say another
        value for one of the reading's other slots: in 'play the next song in the list', '{query}'
        took 'next', which says the action is next, not play; worth a question, not an action."""
        doubted = dict(trust)
        for slot, value in values.items():
            if slot not in trust or not self.free_text(intent, slot):
                continue
            said = f" {normalize(str(value))} "
            if any(
                f" {phrase} " in said and out != values[other]
                for other in values
                if other != slot
                for phrase, out in self._phrases[intent].get(other, ())
            ):
                doubted[slot] = min(doubted[slot], UNVOUCHED)
        return doubted

    def free_text(self, intent: str, slot: str) -> bool:
        """Whether ``slot`` of ``intent`` takes free text (a wildcard list) rather than listed values."""
        return any(lst.free_text for lst in self._lists.get(intent, {}).get(slot, []))

    def _disputed(self, intent: str, values: dict[str, SlotValue], spans: tuple[TaggedSpan, ...]) -> bool:
        """Whether the tagger reads words a template's wildcard took as another of the intent's slots:
        in 'play me the next song', '{query}' takes 'me the next song' but the tagger reads 'next' as
        the action. A slot the intent has not ('work' tagged as a contact in 'take me to work') is
        no other reading of its sentence."""
        return any(
            span.slot != slot and span.slot in self._lists[intent] and f" {span.text} " in f" {value} "
            for slot, value in values.items()
            if self.free_text(intent, slot)
            for span in spans
        )

    def _narrowed(
        self, intent: str, values: dict[str, SlotValue], spans: tuple[TaggedSpan, ...]
    ) -> dict[str, SlotValue]:
        """A wildcard's value cut to the words the tagger reads as that slot, when they lie inside it:
        'directions to the nearest gas station' → 'gas station', 'the stadium from my office' →
        'stadium' (the first span: what follows it places it). Never where the next word joins
        another name on ('simon and garfunkel', read by the tagger as 'simon', 'simon and' or as two spans), nor
        where the wildcard took a known name whole ('the rolling stones', tagged 'stones')."""
        narrowed = dict(values)
        for slot, value in values.items():
            inside = [span for span in spans if span.slot == slot and f" {span.text} " in f" {value} "]
            if not self.free_text(intent, slot) or not inside or value in self._samples[slot]:
                continue
            name = _trimmed(min(inside, key=lambda span: span.start).words)
            after = f" {value} ".split(f" {name} ", 1)[-1].split()
            if name and str(value) != name and (not after or after[0] not in NAME_JOINERS):
                narrowed[slot] = name
        return narrowed

    def _free_text_trust(
        self, intent: str, slot: str, value: SlotValue, trust: float, unvouched: float | None = None
    ) -> float:
        """``trust`` for a listed value; for free text, ``unvouched`` unless it is a sample value,
        and ``TALK`` when it runs far past the longest sample."""
        if not self.free_text(intent, slot):
            return trust
        samples = self._samples[slot]  # a free-text list has sample values: the YAML loader sees to it
        said = normalize(str(value))
        if said in samples:
            return trust
        if len(said.split()) > max(len(s.split()) for s in samples) + FREE_TEXT_SLACK_WORDS:
            return TALK
        return trust if unvouched is None else unvouched

    def resolve(self, intent: str, span: TaggedSpan) -> SlotValue | None:
        """A span's value through the intent's lists for its slot: the lists' own phrases and
        numbers first, then a sound-alike phrase, then the longest part of the span that says a
        phrase ('skip to' → 'skip', 'play krrl' → 'play'), then free text."""
        lists = self._lists.get(intent, {}).get(span.slot, [])
        enumerated = [lst for lst in lists if not lst.free_text]
        value = self._listed(enumerated, span.text)
        if value is not None:
            return value
        value = _sound_alike(span.text, enumerated)
        if value is not None:
            return value
        for start, end in _spans(len(span.words)):
            value = self._listed(enumerated, " ".join(span.words[start:end]))
            if value is not None:
                return value
        if any(lst.free_text for lst in lists):
            return self._known(span.slot, _trimmed(span.words)) or None
        return None

    def value(self, intent: str, slot: str, text: str) -> SlotValue | None:
        """``text`` read as one value of ``slot`` (the answer to "Who should I call?"): a value of the
        slot's lists (:meth:`listed_value`), else its free text (:meth:`free_value`)."""
        listed = self.listed_value(intent, slot, text)
        return listed if listed is not None else self.free_value(intent, slot, text)

    def listed_value(self, intent: str, slot: str, text: str) -> SlotValue | None:
        """``text`` read as a value the slot's lists give (not free text): a phrase said in it, longest
        first (synonyms, numbers in a range), or a sound-alike of one."""
        said = normalize(text).split()
        enumerated = [lst for lst in self._lists.get(intent, {}).get(slot, []) if not lst.free_text]
        for start, end in _spans(len(said)):
            value = self._listed(enumerated, " ".join(said[start:end]))
            if value is not None:
                return value
        return _sound_alike(" ".join(said), enumerated)

    def free_value(self, intent: str, slot: str, text: str) -> str | None:
        """``text`` as a free-text slot's value when it reads as a name: no longer than the longest
        sample value, and no :data:`TALK_WORDS` in it (None for a slot without free text)."""
        if not any(lst.free_text for lst in self._lists.get(intent, {}).get(slot, [])):
            return None
        free = _trimmed(tuple(normalize(text).split()))
        longest = max((len(sample.split()) for sample in self._samples.get(slot, ())), default=0)
        named = free and len(free.split()) <= longest and not TALK_WORDS & set(free.split())
        return self._known(slot, free) if named else None

    def _known(self, slot: str, free: str) -> str:
        """Free text as the known value it sounds like (a phone-book name or a sample value of the
        slot: 'jon' → 'john'), or as said when none is alike enough."""
        samples = self._samples.get(slot, frozenset())
        if not free or free in samples:
            return free
        alike = [(difflib.SequenceMatcher(None, free, sample).ratio(), sample) for sample in samples]
        ratio, sample = max(alike, default=(0.0, free))
        return sample if ratio >= SOUND_ALIKE_MIN_RATIO else free

    def values_in(self, intent: str, text: str) -> ListReading:
        """Every slot value the intent's lists (not free text) say somewhere in ``text``, longest
        phrases first, no word read twice ('close it again' under windows → state closed), and the
        words no list read ('it', 'again')."""
        said = normalize(text).split()
        taken: set[int] = set()
        values: dict[str, SlotValue] = {}
        for start, end in _spans(len(said)):
            if taken & set(range(start, end)):
                continue
            for slot, lists in self._lists.get(intent, {}).items():
                value = self._listed([lst for lst in lists if not lst.free_text], " ".join(said[start:end]))
                if value is not None and slot not in values:
                    values[slot] = value
                    taken |= set(range(start, end))
                    break
        return ListReading(values, tuple(word for index, word in enumerate(said) if index not in taken))

    def phrase(self, intent: str, slot: str, value: SlotValue) -> str | None:
        """The YAML's first phrase that says ``value`` for ``slot`` of ``intent`` (None: no list does)."""
        for slot_list in self._lists.get(intent, {}).get(slot, []):
            for listed in slot_list.values:
                if listed.out == value:
                    return listed.phrases[0]
        return None

    def _listed(self, lists: list[SlotList], text: str) -> SlotValue | None:
        """The value the first of ``lists`` that says ``text`` gives it (synonyms, digits, spoken numbers)."""
        said = self._list_values(text)
        return next((said[lst.name] for lst in lists if lst.name in said), None)

    def _read_lists(self, text: str) -> dict[str, SlotValue]:
        """List name → the value it reads ``text`` as, for every list that says it."""
        values: dict[str, SlotValue] = {}
        for match in recognize_all(text, self._list_intents):
            values.setdefault(match.intent.name, _plain(match.entities[match.intent.name].value))
        return values


def _spans(length: int) -> Iterable[tuple[int, int]]:
    """Every ``(start, end)`` of a text of ``length`` words, longest first, then left to right."""
    for size in range(length, 0, -1):
        for start in range(length - size + 1):
            yield start, start + size


def _wildcard_words(match: RecognizeResult) -> int:
    return sum(len(str(e.value).split()) for e in match.entities.values() if e.is_wildcard)


def _free_text_samples(library: IntentLibrary) -> dict[str, frozenset[str]]:
    """Per slot, the sample values its free-text lists give (the YAML's, the phone book's), normalised
    and trimmed as a slot value is ('the gym' → 'gym')."""
    samples: dict[str, set[str]] = {}
    for intent in library.intents:
        for slot, lists in library.slot_lists(intent).items():
            for slot_list in (lst for lst in lists if lst.free_text):
                samples.setdefault(slot, set()).update(
                    _trimmed(tuple(normalize(phrase).split()))
                    for value in slot_list.values
                    for phrase in value.phrases
                )
    return {slot: frozenset(values) for slot, values in samples.items()}


def _closed_phrases(lists: dict[str, list[SlotList]]) -> dict[str, tuple[tuple[str, SlotValue], ...]]:
    """Per slot, every phrase its enumerated lists say, with the value it gives."""
    return {
        slot: tuple(
            (normalize(phrase), value.out)
            for slot_list in slot_lists
            if not slot_list.free_text
            for value in slot_list.values
            for phrase in value.phrases
        )
        for slot, slot_lists in lists.items()
    }


def _one_intent_per_list(library: IntentLibrary) -> Intents:
    """hassil intents whose only sentence is a list: recognising a span against one reads it as
    that list reads it (synonyms, digits, spoken numbers)."""
    hassil = to_hassil(library)
    document = {
        "language": "en",
        "intents": {
            name: {"data": [{"sentences": [f"{{{name}}}"]}]}
            for name, slot_list in library.lists.items()
            if not slot_list.free_text
        },
    }
    intents = Intents.from_dict(document)
    intents.slot_lists.update(hassil.slot_lists)
    return intents


def _sound_alike(text: str, lists: list[SlotList]) -> SlotValue | None:
    """The value of the phrase most like ``text``, if at least ``SOUND_ALIKE_MIN_RATIO`` alike and no
    other value's phrase is as alike ('encrease' is as like 'increase' as 'decrease': no value)."""
    likeness: dict[SlotValue, float] = {}
    for slot_list in lists:
        for value in slot_list.values:
            for phrase in value.phrases:
                ratio = difflib.SequenceMatcher(None, text, normalize(phrase)).ratio()
                likeness[value.out] = max(ratio, likeness.get(value.out, 0.0))
    best = max(likeness.values(), default=0.0)
    alike = [value for value, ratio in likeness.items() if ratio == best]
    return alike[0] if best >= SOUND_ALIKE_MIN_RATIO and len(alike) == 1 else None


def _trimmed(words: tuple[str, ...]) -> str:
    """Free text without determiners or fillers at its ends."""
    start, end = 0, len(words)
    while start < end and words[start] in EDGE_WORDS:
        start += 1
    while end > start and words[end - 1] in EDGE_WORDS:
        end -= 1
    return " ".join(words[start:end])


def _plain(value: object) -> SlotValue:
    """hassil's values as the car takes them: whole numbers as ``int``, text as ``str``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int | float) else str(value)
