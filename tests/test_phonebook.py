"""The phone book: read with file:line errors, its names preferred by slots and recognition, no retraining."""

from __future__ import annotations

import textwrap

import pytest

from assistant.audio import WavFileSource
from assistant.events import TaggedSpan
from assistant.intents import load_intents
from assistant.phonebook import PhoneBook, PhoneBookError, load_phonebook, with_phonebook
from assistant.pipeline import Assistant, AssistantConfig
from assistant.slots import SlotResolver

BOOK = """\
contacts:
  - name: Priya Raman
    number: "555 0147"
  - Siobhan Kelly
places:
  - name: the gym
    address: 300 Harbor Boulevard
"""


def write(tmp_path, text: str):
    path = tmp_path / "phonebook.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def test_a_phone_book_lists_contacts_and_places_with_their_details(tmp_path):
    book = load_phonebook(write(tmp_path, BOOK))
    assert book.names("contact") == ("priya raman", "siobhan kelly")
    assert book.names("destination") == ("the gym",)
    assert book.detail("contact", "Priya Raman") == "555 0147" and book.detail("contact", "nobody") == ""


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("friends:\n  - Sam\n", ":1: unknown section 'friends'"),
        ("contacts:\n  - number: '555'\n", ":2: every entry of 'contacts' needs a name"),
        ("contacts:\n  - name: Sam\n    email: s@x\n", ":3: unknown key 'email' (an entry has name and number)"),
        ("contacts: Sam\n", ":1: 'contacts' must be a list"),
        ("contacts:\n  - Sam\ncontacts:\n  - Alex\n", ":3: duplicate key 'contacts'"),
    ],
)
def test_a_bad_phone_book_is_one_line_naming_the_file_and_line(tmp_path, text, where):
    with pytest.raises(PhoneBookError) as caught:
        load_phonebook(write(tmp_path, text))
    message = str(caught.value)
    assert where in message and message.startswith(str(tmp_path)) and "\n" not in message


def test_booked_names_are_vouched_and_preferred_when_misheard_without_touching_the_fingerprint(tmp_path):
    library = load_intents()
    booked = with_phonebook(library, load_phonebook(write(tmp_path, BOOK)))
    assert booked.fingerprint == library.fingerprint
    resolver = SlotResolver(booked)
    misheard = TaggedSpan("contact", ("priya", "ramen"), 1, 0.9)
    assert resolver.resolve("phone", misheard) == "priya raman"
    assert SlotResolver(library).resolve("phone", misheard) == "priya ramen"
    reading = resolver.read("phone", "i'd like a word with priya raman", (misheard,))
    assert reading.confidence["contact"] == 0.9  # vouched by the book, not capped as unknown text
    assert resolver.read("navigation", "take me to the gym", ()).values == {"destination": "gym"}
    unbooked = TaggedSpan("contact", ("sam", "okafor"), 1, 0.9)
    assert resolver.resolve("phone", unbooked) == "sam okafor"  # a name in no book still works


PLACES = """\
places:
  - name: home
    address: 42 Elm Road
    number: "555 0142"
  - name: the gym
"""


def test_a_place_with_a_number_is_called_by_its_name_and_stays_a_destination(tmp_path):
    book = load_phonebook(write(tmp_path, PLACES))
    assert book.names("contact") == ("home",) and book.names("destination") == ("home", "the gym")
    assert book.detail("contact", "home") == "555 0142" and book.detail("destination", "Home") == "42 Elm Road"
    assert book.detail("contact", "the gym") == ""


@pytest.mark.slow
def test_a_place_with_a_number_is_called_by_voice(tmp_path, spoken_wav):
    """Unbooked as a contact, 'home' is free text to recognition and Whisper writes 'call, boom'."""
    assistant = Assistant.from_config(AssistantConfig(phonebook=write(tmp_path, PLACES)))
    [event] = assistant.listen(WavFileSource([spoken_wav("call home")]))
    assert event.status == "done" and event.slots == {"action": "call", "contact": "home"}


def test_an_empty_or_missing_default_book_is_empty(tmp_path):
    assert load_phonebook(write(tmp_path, "# nobody yet\n")) == PhoneBook()


@pytest.mark.slow
def test_a_contact_added_to_the_book_is_called_by_voice_without_retraining(tmp_path, spoken_wav):
    assistant = Assistant.from_config(AssistantConfig(phonebook=write(tmp_path, BOOK)))
    """Whisper cannot spell 'Siobhan' unless told it (without the book: 'Call, shit on, cat lead.')."""
    [event] = assistant.listen(WavFileSource([spoken_wav("call Siobhan Kelly")]))
    assert event.status == "done" and event.slots["contact"] == "siobhan kelly"
    assert assistant.vehicle.state.phone.contact == "siobhan kelly"


def test_after_who_should_i_call_recognition_listens_for_the_books_names_first_as_written(tmp_path):
    """Written as the book writes them, as Whisper writes names: it finds 'Alex chen.' 10 nats less
    likely than 'Alex Chen.' for the same audio."""
    assistant = Assistant.from_config(AssistantConfig(phonebook=write(tmp_path, BOOK)), with_speech=False)
    assert assistant.expected_sentences() == []
    assert assistant.handle_text("call").status == "asked"
    assert assistant.expected_sentences()[:2] == ["Priya Raman", "Siobhan Kelly"]
    assert "mom" in assistant.expected_sentences()  # the YAML's own sample names, as the YAML has them


def test_a_name_exactly_as_alike_as_the_bar_is_read_as_the_booked_one(tmp_path):
    """'ellen' is 0.8 alike to 'helen' (8 of 10 letters in common): that is alike enough."""
    book = with_phonebook(load_intents(), load_phonebook(write(tmp_path, "contacts:\n  - Helen\n")))
    assert SlotResolver(book).resolve("phone", TaggedSpan("contact", ("ellen",), 1, 0.9)) == "helen"


def test_a_booked_name_is_preferred_in_a_template_and_in_an_answer(tmp_path):
    booked = SlotResolver(with_phonebook(load_intents(), load_phonebook(write(tmp_path, BOOK))))
    assert booked.read("phone", "call priya ramen", ()).values == {"action": "call", "contact": "priya raman"}
    assert booked.value("phone", "contact", "priya ramen") == "priya raman"
