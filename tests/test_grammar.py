"""The grammar side of recognition: compiled from a small YAML, a misheard command found again,
chatter left alone; the decision between Whisper's text and the grammar's; the vocabulary prompt."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from hassil.sample import sample_intents

from assistant.asr import PROMPT_TOKENS, Transcriber, decide
from assistant.constrained import FreeTextTokens, TokenAutomaton, search
from assistant.events import Transcript
from assistant.grammar import Grammar, WordGraph, normalise
from assistant.intents import DEFAULT_INTENTS, load_intents, to_hassil
from assistant.pipeline import vocabulary_prompt

REPO = Path(__file__).resolve().parent.parent
BARISTA = REPO / "examples" / "barista" / "intents.yaml"
SMALL = """
language: en
intents:
  order:
    data:
      - sentences:
          - "[can i get] [a|an] [{size}] {drink} [with {milk}]"
  message:
    data:
      - sentences:
          - "send a message to {contact}"
lists:
  size:
    values: ["small", "large", "twelve ounce"]
  drink:
    values: ["latte", "iced mocha", "americano"]
  milk:
    values: ["skim milk", "soy milk"]
  contact:
    wildcard: true
    values: ["anna"]
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Grammar:
    path = tmp_path_factory.mktemp("grammar") / "intents.yaml"
    path.write_text(SMALL)
    return Grammar(load_intents(path))


def test_compiles_the_phrases_of_lists_and_templates(small):
    assert {"iced mocha", "twelve ounce", "skim milk", "can", "get", "send", "message"} <= set(small.phrases)
    assert "anna" not in small.phrases  # a free-text list's samples are not the grammar's words


def test_accepts_what_the_templates_say_and_nothing_else(small):
    assert small.accepts("Can I get a twelve ounce iced mocha with soy milk?")
    assert small.accepts("americano")
    assert small.accepts("Send a message to whoever is on call")  # the wildcard takes any words
    assert not small.accepts("can i get a large tea")
    assert not small.accepts("what a lovely day it is today")


def test_says_several_commands_at_once_when_it_says_each(small):
    assert not small.accepts("Can I get an americano and send a message to tom?")
    assert small.says_commands("Can I get an americano and send a message to tom?")
    assert small.says_commands("americano")
    assert not small.says_commands("americano and a lovely day")  # every part must be a command


def test_word_for_word_is_in_the_grammars_own_words_and_free_text_held_to_its_samples(small):
    assert small.says_commands("send a message to anna", word_for_word=True)
    assert small.says_commands("a large latte and send a message to anna", word_for_word=True)
    assert small.says_commands("send a message to tom")  # the wildcard takes a name it does not know
    assert not small.says_commands("send a message to tom", word_for_word=True)
    assert small.says_commands("a large lat te")  # letters are compared without spaces
    assert not small.says_commands("a large lat te", word_for_word=True)


def test_a_sentence_one_word_longer_is_what_the_grammar_says_after_the_words_heard(small):
    assert set(small.lengthened("Can I get a large iced mocha with skim")) == {
        "can i get a large iced mocha with skim milk"
    }
    assert set(small.lengthened("send a message to")) == {"send a message to anna"}
    assert small.lengthened("a large latte with soy milk") == []  # nothing follows its end
    assert small.lengthened("what a lovely") == []


@pytest.mark.parametrize("path", [BARISTA, DEFAULT_INTENTS])
def test_accepts_every_sentence_hassil_samples_from_the_real_files(path):
    library = load_intents(path)
    grammar = Grammar(library)
    sampled = [
        text for _intent, text, *_ in itertools.islice(sample_intents(to_hassil(library)), 0, 60000, 97)
    ]
    assert len(sampled) > 30
    assert [text for text in sampled if not grammar.accepts(text)] == []


def sentences_of(graph: WordGraph) -> set[str]:
    """Every path from start to end, its words joined (the small grammar's graph has no loops)."""
    sentences, stack = set(), [(graph.start, ())]
    while stack:
        node, words = stack.pop()
        if node == graph.end:
            sentences.add(" ".join(words))
        stack += [(following, (*words, word) if word else words) for word, following in graph.edges[node]]
    return sentences


def test_the_word_graph_says_the_grammars_sentences_with_free_text_held_to_its_samples(small):
    sentences = sentences_of(small.graph)
    # [can i get] × [a|an] × [size] × drink × [with milk] = 2 × 3 × 4 × 3 × 3, and one message to anna
    assert len(sentences) == 216 + 1
    assert {
        "can i get a twelve ounce iced mocha with soy milk",
        "latte",
        "send a message to anna",
    } <= sentences
    assert all(small.accepts(sentence) for sentence in sentences)


def walk(automaton: TokenAutomaton, text: str, end_of_text: int = 0) -> bool:
    """Whether the automaton takes ``text`` (a token a character) to its end."""
    state = automaton.start
    for token in [ord(character) for character in text] + [end_of_text]:
        tokens, states = automaton.moves(state)
        if token not in tokens:
            return False
        state = states[list(tokens).index(token)]
    return True


def test_the_token_automaton_takes_what_whisper_would_write_for_a_grammar_sentence(small):
    automaton = TokenAutomaton(small.graph, lambda text: [ord(c) for c in text], end_of_text=0)
    assert walk(automaton, " Can I get a twelve ounce, iced mocha with soy milk.")
    assert walk(automaton, " latte with skim milk?")
    assert walk(automaton, " Latte?")
    assert walk(automaton, " Send a message to anna.")
    assert not walk(automaton, " Can I get a tea.")  # not the grammar's
    assert walk(automaton, " Can I get a latte")  # Whisper ends some sentences with no stop
    assert not walk(automaton, " Can I get a latte,")
    assert not walk(automaton, " Can I get a twelve, ounce latte.")  # a comma only where a phrase ends
    assert not walk(automaton, " Can I get a latte,.")  # and a word after it
    assert not walk(automaton, " Can I get a Latte.")  # capitals only first, and for "I"
    assert not walk(automaton, " Can i get a latte.")
    assert not walk(automaton, " Send a message to bob.")  # free text is held to its samples


class WordTokens:
    """A token per word as Whisper writes it (' Latte', ',', '.'), numbered as first seen; 0 ends the text."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {"<end>": 0}

    def __call__(self, text: str) -> list[int]:
        return [self.ids.setdefault(piece, len(self.ids)) for piece in re.findall(r" ?[^ ,.?]+|[,.?]", text)]


class LeaningDecoder:
    """A stand-in for Whisper's decoder (``generate`` with the logits): after each prefix of tokens,
    the next-token log-probabilities ``leanings`` gives it (the rest of the vocabulary shares what is
    left), and its own greedy next token."""

    def __init__(self, tokens: WordTokens, leanings: dict[tuple[str, ...], dict[str, float]]) -> None:
        self.tokens, self.leanings = tokens, leanings

    def row(self, prefix: list[int]) -> np.ndarray:
        names = {token: name for name, token in self.tokens.ids.items()}
        leaning = self.leanings.get(tuple(names[t] for t in prefix), {})
        rest = (1.0 - sum(leaning.values())) / (len(names) - len(leaning))
        return np.log([leaning.get(names[token], rest) for token in range(len(names))])

    def generate(self, _batch, prompts, **_options):
        results = []
        for prompt in prompts:
            said = prompt[len(START) :]
            rows = np.array([self.row(said[:i]) for i in range(len(said) + 1)])
            results.append(SimpleNamespace(logits=[rows], sequences_ids=[[*said, int(rows[-1].argmax())]]))
        return results


START = [50257, 50362]


def test_the_held_decoding_tries_more_than_the_likeliest_first_word(small):
    """The decoder leans to ' Send' first, but nothing after it fits; ' Latte.' is likelier whole."""
    tokens = WordTokens()
    automaton = TokenAutomaton(small.graph, tokens, end_of_text=0)
    decoder = LeaningDecoder(
        tokens, {(): {" Send": 0.5, " Latte": 0.4}, (" Latte",): {".": 0.9}, (" Latte", "."): {"<end>": 0.9}}
    )
    names = {token: name for name, token in tokens.ids.items()}

    def best(first_tokens: int) -> str:
        found = search(decoder, np.zeros((1, 2, 2), np.float32), START, automaton, beam=1, max_tokens=12, first_tokens=first_tokens)
        return "".join(names[token] for token in found[0][1])

    assert best(first_tokens=1).startswith(" Send a message to")
    assert best(first_tokens=3) == " Latte."


@pytest.mark.parametrize(("free_text", "said"), [(False, " Send a message to anna."), (True, " Send a message to bob.")])
def test_a_free_text_slot_lets_whisper_s_own_words_through_the_held_decoding(small, free_text, said):
    """Whisper hears 'bob', no sample of the contact: held to the samples the decoding says the one
    it has; with the words Whisper may write let through, it says what was heard."""
    tokens = WordTokens()
    sent = (" Send", " a", " message", " to")
    decoder = LeaningDecoder(
        tokens,
        {
            **{sent[:i]: {sent[i]: 0.9} for i in range(len(sent))},
            sent: {" bob": 0.6, " anna": 0.1},
            (*sent, " bob"): {".": 0.9},
            (*sent, " anna"): {".": 0.9},
            (*sent, " bob", "."): {"<end>": 0.9},
            (*sent, " anna", "."): {"<end>": 0.9},
        },
    )
    tokens(" bob")
    words = np.array([token for name, token in tokens.ids.items() if name.startswith(" ")])
    automaton = TokenAutomaton(
        small.graph, tokens, end_of_text=0, free_text=FreeTextTokens(words, np.array([], dtype=np.int64)) if free_text else None
    )
    names = {token: name for name, token in tokens.ids.items()}
    found = search(decoder, np.zeros((1, 2, 2), np.float32), START, automaton, beam=2, max_tokens=12)
    assert "".join(names[token] for token in found[0][1]) == said


@pytest.mark.parametrize("beam", [1, 3])
@pytest.mark.parametrize("ending", ["<end>", "."])
def test_a_held_sentence_ends_only_where_whisper_would_rather_end_it(small, beam, ending):
    """After ' Latte' the decoder leans to ' with' (the order goes on), an ending (the end of text, or
    a full stop) second. Taken as one of three next tokens, it would finish 'Latte' likelier than the
    whole order, which could never catch up; a path ends only where its ending is the likeliest."""
    tokens = WordTokens()
    automaton = TokenAutomaton(small.graph, tokens, end_of_text=0)
    order = (" Latte", " with", " skim", " milk")
    decoder = LeaningDecoder(
        tokens,
        {
            (): {" Latte": 0.9},
            (" Latte",): {" with": 0.5, ending: 0.3},
            (" Latte", "."): {"<end>": 0.95},
            (" Latte", " with"): {" skim": 0.5},
            (" Latte", " with", " skim"): {" milk": 0.9},
            order: {".": 0.9},
            (*order, "."): {"<end>": 0.9},
        },
    )
    names = {token: name for name, token in tokens.ids.items()}
    found = search(decoder, np.zeros((1, 2, 2), np.float32), START, automaton, beam=beam, max_tokens=12)
    assert "".join(names[token] for token in found[0][1]) == " Latte with skim milk."


def test_the_held_decoding_goes_on_from_words_already_heard(small):
    """After 'Latte and' (a command Whisper heard in full), the grammar's next command, returned
    without the words heard: the decoder's distributions line up with the tokens after them."""
    tokens = WordTokens()
    automaton = TokenAutomaton(small.graph, tokens, end_of_text=0)
    heard = tuple(tokens(" Latte and"))
    decoder = LeaningDecoder(
        tokens,
        {
            (" Latte", " and"): {" americano": 0.8},
            (" Latte", " and", " americano"): {".": 0.9},
            (" Latte", " and", " americano", "."): {"<end>": 0.9},
        },
    )
    names = {token: name for name, token in tokens.ids.items()}
    found = search(decoder, np.zeros((1, 2, 2), np.float32), START, automaton, beam=1, max_tokens=12, heard=heard)
    assert "".join(names[token] for token in found[0][1]) == " americano."


def test_an_initialism_is_written_in_capitals_as_whisper_writes_it():
    """The A/C list says 'a c' and 'ac': the held decoding may write 'AC' (Whisper's spelling,
    ~7 nats likelier than 'ac'); words not spelled letter by letter stay lower case."""
    automaton = TokenAutomaton(Grammar(load_intents()).graph, lambda text: [ord(c) for c in text], end_of_text=0)
    assert walk(automaton, " Turn on the AC.")
    assert walk(automaton, " Turn on the ac.")
    assert not walk(automaton, " Turn ON the AC.")


def test_a_misheard_command_finds_its_sentence(small):
    assert small.candidates("I smokeo with skin milk.")[0] == "iced mocha with skim milk"
    assert "can i get a twelve ounce americano" in small.candidates("Can I get a twelve ounce American?")


def test_chatter_has_no_grammar_sentence_near_it(small):
    assert small.candidates("What a lovely day it is today.") == []
    assert small.candidates("Do you know where my keys are?") == []
    # dropping the talk around a command is fine, but not to make talk a free-text slot's value
    assert small.candidates("Okay so send a message to whoever is there") == []
    assert small.candidates("Um, an americano") == ["an americano", "americano"]


def test_the_decision_keeps_free_text_that_is_much_likelier():
    free = Transcript(text="I smokeo.", asr_ms=1.0, free_text="I smokeo.")
    candidates = ["Iced mocha.", "Mocha."]
    taken = decide(free, candidates, [-12.0, -14.0, -20.0], margin=4.0)
    assert (taken.text, taken.grammar_match, taken.grammar_score) == ("Iced mocha.", True, -2.0)
    kept = decide(free, candidates, [-5.0, -14.0, -20.0], margin=4.0)
    assert (kept.text, kept.grammar_match, kept.grammar_text) == ("I smokeo.", False, "Iced mocha.")


def test_the_vocabulary_prompt_names_each_word_once_and_fits_whispers_prompt():
    prompt = vocabulary_prompt(load_intents(BARISTA))
    assert normalise(prompt).split().count("almond") == 1
    assert all(word in prompt for word in ("americano", "cappuccino", "skim", "sweetener"))
    # Whisper keeps the last 223 tokens of a longer prompt: every word of this one must get through
    assert len(normalise(prompt).split()) < PROMPT_TOKENS / 2


@pytest.mark.slow
def test_a_prompt_longer_than_whisper_keeps_loses_its_tail_not_its_start():
    transcriber = Transcriber()
    long = "Voice commands: " + ", ".join(f"item {n}" for n in range(200)) + "."
    fitted = transcriber.fit_prompt(long)
    assert transcriber.prompt_tokens(fitted) <= PROMPT_TOKENS < transcriber.prompt_tokens(long)
    assert fitted.startswith("Voice commands: item 0, item 1,") and fitted.endswith(".")


@pytest.mark.slow
def test_the_sentences_the_car_expects_end_the_prompt_within_what_whisper_keeps():
    long = "Voice commands: " + ", ".join(f"item {n}" for n in range(200)) + "."
    transcriber = Transcriber(initial_prompt=long)
    prompt = transcriber.prompt_for(["answer", "pick up"])
    assert prompt.startswith("Voice commands: item 0,") and prompt.endswith(" Answer. Pick up.")
    assert transcriber.prompt_tokens(prompt) <= PROMPT_TOKENS
    assert transcriber.prompt_for([]) == transcriber.initial_prompt


@pytest.mark.slow
def test_spoken_chatter_stays_free_text_and_a_spoken_command_is_a_grammar_sentence(spoken_wav):
    from assistant.audio import load_wav

    library = load_intents(DEFAULT_INTENTS)
    guided = Transcriber(initial_prompt=vocabulary_prompt(library), grammar=Grammar(library))
    chatter = guided.transcribe(load_wav(spoken_wav("I wonder if it will rain at the weekend")))
    assert not chatter.grammar_match
    assert chatter.text == chatter.free_text and "rain" in chatter.text.lower()
    command = guided.transcribe(load_wav(spoken_wav("turn on the high beams")))
    assert command.grammar_match and normalise(command.text) == "turn on the high beams"


def test_a_compound_whisper_splits_in_two_is_found_by_its_sound():
    from assistant.intents import load_intents

    grammar = Grammar(load_intents())
    assert "open the sun roof" in grammar.candidates("Open the sun, or.")  # Piper's 'open the sunroof', heard
