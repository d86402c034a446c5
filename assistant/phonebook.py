"""The car's phone book: the people it calls and the places it drives to, in a YAML file the driver edits.

    contacts:
      - name: Alex Chen
        number: "555 0123"
    places:
      - name: work
        address: 1 Market Street
        number: "555 0188"

Like a phone's contact list, it is read when the assistant starts, with no retraining: its names join
the free-text lists that fill the matching slot (``contacts`` → ``contact``, ``places`` →
``destination``, and a place with a number → ``contact`` too: 'call home') as vouched values, so a
booked name is acted on where an unknown one is asked about, a misheard one ('jon') is read as the
booked name it sounds like ('john'), and Whisper's prompt names them. A name not in the book still works as free text. Pure: the file's text in, a library out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.intents import IntentLibrary, IntentsError, SlotList, SlotValue, line_of, normalize, parse_yaml
from assistant.limits import TextError, read_text

DEFAULT_PHONEBOOK = Path(__file__).resolve().parent.parent / "intents" / "phonebook.yaml"
SECTIONS = {"contacts": ("number",), "places": ("address", "number")}
"""Each section of the book, and what an entry may give beside its name."""


class PhoneBookError(ValueError):
    """A problem in the phone book, phrased as ``file:line: what is wrong``."""


@dataclass(frozen=True)
class Entry:
    name: str
    number: str = ""
    address: str = ""


@dataclass(frozen=True)
class PhoneBook:
    contacts: tuple[Entry, ...] = ()
    places: tuple[Entry, ...] = ()

    def entries(self, slot: str) -> tuple[Entry, ...]:
        """The entries that fill a slot: every contact and each place with a number are callable
        ('contact'), the places are destinations ('destination')."""
        if slot == "contact":
            return (*self.contacts, *(place for place in self.places if place.number))
        return self.places if slot == "destination" else ()

    def names(self, slot: str) -> tuple[str, ...]:
        """The book's names for a slot ('contact' → every callable name), normalised."""
        return tuple(normalize(entry.name) for entry in self.entries(slot))

    def spoken_names(self) -> tuple[str, ...]:
        """Every name in the book as written there ('Alex Chen'), contacts first: for Whisper's prompt."""
        return tuple(entry.name for section in SECTIONS for entry in getattr(self, section))

    def detail(self, slot: str, name: str) -> str:
        """The number (a ``contact``) or address (a ``destination``) booked under ``name`` ('' when none)."""
        wanted = normalize(name)
        entry = next((entry for entry in self.entries(slot) if normalize(entry.name) == wanted), Entry(""))
        return entry.number if slot == "contact" else entry.address


def load_phonebook(path: str | Path = DEFAULT_PHONEBOOK) -> PhoneBook:
    """Read and check a phone book; a missing default book is an empty one."""
    path = Path(path)
    if not path.exists() and path == DEFAULT_PHONEBOOK:
        return PhoneBook()
    try:
        document = parse_yaml(path, read_text(path))
    except OSError as error:
        raise PhoneBookError(f"{path}: cannot read the phone book ({error.strerror})") from None
    except (TextError, IntentsError) as error:
        raise PhoneBookError(str(error)) from None
    if document is None:
        return PhoneBook()
    if not isinstance(document, dict):
        raise PhoneBookError(f"{path}:1: expected a mapping with 'contacts' and 'places' lists")
    for key in document:
        if key not in SECTIONS:
            raise PhoneBookError(f"{path}:{line_of(key)}: unknown section '{key}' (use {', '.join(SECTIONS)})")
    return PhoneBook(**{section: _entries(path, section, document.get(section)) for section in SECTIONS})


def _entries(path: Path, section: str, items: Any) -> tuple[Entry, ...]:
    if items is None:
        return ()
    if not isinstance(items, list):
        raise PhoneBookError(f"{path}:{line_of(section)}: '{section}' must be a list of entries")
    details = SECTIONS[section]
    keys = ("name", *details)
    entries = []
    for item in items:
        item = {"name": item} if isinstance(item, str) else item
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not normalize(name):
            where = name or (next(iter(item), section) if isinstance(item, dict) else section)
            raise PhoneBookError(f"{path}:{line_of(where)}: every entry of '{section}' needs a name")
        unknown = [key for key in item if key not in keys]
        if unknown:
            has = f"{', '.join(keys[:-1])} and {keys[-1]}"
            raise PhoneBookError(f"{path}:{line_of(unknown[0])}: unknown key '{unknown[0]}' (an entry has {has})")
        entries.append(Entry(name.strip(), **{key: str(item.get(key) or "").strip() for key in details}))
    return tuple(entries)


def with_phonebook(library: IntentLibrary, book: PhoneBook) -> IntentLibrary:
    """The library with the book's names added to every free-text list that fills their slot.

    The fingerprint is the YAML's: the model never learned the book, and needs no retraining for it.
    """
    lists = dict(library.lists)
    for intent in library.intents:
        for slot, slot_lists in library.slot_lists(intent).items():
            for slot_list in slot_lists:
                if slot_list.free_text:
                    lists[slot_list.name] = _with_names(lists[slot_list.name], book.names(slot))
    return replace(library, lists=lists)


def _with_names(slot_list: SlotList, names: tuple[str, ...]) -> SlotList:
    known = {phrase for value in slot_list.values for phrase in value.phrases}
    added = tuple(SlotValue((name,), name) for name in dict.fromkeys(names) if name not in known)
    return replace(slot_list, values=(*added, *slot_list.values)) if added else slot_list
