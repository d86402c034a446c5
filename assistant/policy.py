"""The policy: act, ask or refuse, from the model's, the slots' and the speech's confidence.

Rasa's two-stage fallback, in short: act on a confident intent whose evidence is there; ask ("Navigate
to phoenix?") when the model leans to an intent but the evidence is thin; refuse what is out of scope,
what Whisper makes of silence, and what the model is unsure of; but a sentence the car's grammar says
word for word, with no free text, is at worst asked about. Every verdict says why.

Pure: :class:`Evidence` in, :class:`Decision` out, no I/O. The thresholds live in
:class:`PolicyOptions`, chosen by ``scripts/tune_policy.py`` on the held-out synthetic splits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hassil.sample import sample_expression

from assistant.events import (
    Command,
    Decision,
    Evidence,
    Expectation,
    Prediction,
    Transcript,
    Verdict,
)
from assistant.intents import (
    OUT_OF_SCOPE,
    IntentLibrary,
    Required,
    list_references,
    phrases_for,
    spoken_words,
)

HALLUCINATIONS = frozenset(
    {
        "",
        "you",
        "thank you",
        "thanks for watching",
        "thank you for watching",
        "bye",
        "bye bye",
        "okay",
        "so",
        "oh",
        "uh",
        "um",
        "hmm",
        "the end",
        "subtitles by the amara org community",
        "music",
    }
)
"""What Whisper says on silence or noise: never a command."""


@dataclass(frozen=True)
class PolicyOptions:
    """Every threshold of the policy; the CLI's flags are made from these fields.

    The first three were chosen by ``scripts/tune_policy.py`` on the held-out synthetic splits, for the
    shipped QLoRA model (rerun it for a new model). ``act_without_template`` is set above the tuner's
    0.5 by hand: the synthetic splits hold no talk made of the car's own words, so the tuner cannot see
    that at 0.5 "the windows in our old flat never closed properly" closes the windows (0.78) and
    "the volume on her telly …" turns the volume down; at 0.9 such talk is asked about. The
    held-out lines at these settings: in-scope right (done or asked) 97.8 %, done right 81.9 % (85.6 %
    at the tuner's 0.5), done wrong 4.7 %, out-of-scope done or asked 3.7 %.

    The slot thresholds sit between the slot filler's three levels (a phrase or sound-alike ≥ 0.8,
    unvouched free text 0.5, talk 0); the speech ones are Whisper's own defaults
    (``no_speech_threshold``, ``log_prob_threshold``).
    """

    act_threshold: float = field(
        default=0.5,
        metadata={
            "help": "act at or above this intent confidence (with the evidence there)",
            "range": (0.0, 1.0),
        },
    )
    ask_threshold: float = field(
        default=0.5,
        metadata={"help": "refuse below this intent confidence; between the two, ask", "range": (0.0, 1.0)},
    )
    margin: float = field(
        default=0.2, metadata={"help": "ask below this gap between the top two intents", "range": (0.0, 1.0)}
    )
    act_without_template: float = field(
        default=0.9,
        metadata={
            "help": "act on what no template says word for word only at or above this intent confidence "
            "(above 1: never)",
            "range": (0.0, 1.01),
        },
    )
    slot_act: float = field(
        default=0.75, metadata={"help": "ask when a slot's confidence is below this", "range": (0.0, 1.0)}
    )
    slot_refuse: float = field(
        default=0.25, metadata={"help": "refuse when a slot's confidence is below this", "range": (0.0, 1.0)}
    )
    no_speech: float = field(
        default=0.6,
        metadata={
            "help": "refuse speech with this no_speech_prob and a low avg_logprob (Whisper's own rule)",
            "range": (0.0, 1.0),
        },
    )
    low_logprob: float = field(
        default=-1.0,
        metadata={
            "help": "ask, not act, below this Whisper avg_logprob (Whisper's fallback)",
            "range": (-20.0, 0.0),
        },
    )
    expected_weight: float = field(
        default=10.0,
        metadata={
            "help": "how much likelier an intent the moment expects is made ('phone' while it rings)",
            "range": (1.0, 1000.0),
        },
    )


class Policy:
    """Judges :class:`Evidence`; the intents library only words the questions."""

    def __init__(self, library: IntentLibrary, options: PolicyOptions | None = None):
        self.library = library
        self.options = options or PolicyOptions()

    def decide(self, evidence: Evidence) -> Decision:
        verdict, reason = self.verdict(evidence)
        if verdict == "refuse":
            return refuse(reason)
        if verdict == "act":
            return Decision(verdict, evidence.command, reason)
        required = self._required(evidence)
        if required is not None and not self._unsure(evidence):  # sure of the intent: ask for the slot
            return Decision(verdict, evidence.command, reason, required.question, required.slot)
        return Decision(verdict, evidence.command, reason, question_for(evidence.command, self.library))

    def _required(self, evidence: Evidence) -> Required | None:
        """The first required slot the evidence lacks, with the YAML's question for it."""
        intent = self.library.intents.get(evidence.command.intent)
        required = intent.required if intent else ()
        return next((r for r in required if r.slot in evidence.missing_required), None)

    def favour(self, prediction: Prediction, expectation: Expectation) -> Prediction:
        """``prediction`` with the intents ``expectation`` names made ``expected_weight`` times likelier
        (Bayes with a prior): 'decline' while the phone rings is the phone, not the media, and 'ignore
        it', read as the phone at 69 %, is surer of it then than when nothing rings."""
        if not expectation.intents:
            return prediction
        weighted = [
            (name, score * (self.options.expected_weight if name in expectation.intents else 1.0))
            for name, score in prediction.ranking
        ]
        total = sum(score for _, score in weighted) or 1.0
        ranking = tuple(sorted(((name, score / total) for name, score in weighted), key=lambda r: -r[1]))
        return replace(prediction, intent=ranking[0][0], confidence=ranking[0][1], ranking=ranking)

    def verdict(self, evidence: Evidence) -> tuple[Verdict, str]:
        """The verdict and its reason, without wording the question (what tuning needs)."""
        refusal = self._refusal(evidence)
        if refusal:
            return "refuse", refusal
        doubt = self._doubt(evidence)
        return ("ask", doubt) if doubt else ("act", _grounds(evidence))

    def sounds_like_speech(self, transcript: Transcript) -> bool:
        """Whisper's own silence rule: a likely no-speech segment it also decoded poorly is not speech."""
        return not (
            transcript.no_speech_prob >= self.options.no_speech
            and transcript.avg_logprob < self.options.low_logprob
        )

    def _refusal(self, evidence: Evidence) -> str:
        """Why the input is no command at all ('' when it may be one)."""
        options, prediction = self.options, evidence.prediction
        if evidence.transcript and not self.sounds_like_speech(evidence.transcript):
            return f"probably not speech (no-speech probability {evidence.transcript.no_speech_prob:.0%})"
        if spoken_words(prediction.text) in HALLUCINATIONS:
            return "heard nothing that sounds like a command"
        if prediction.intent == OUT_OF_SCOPE:
            return "not something this car can do"
        if prediction.confidence < options.ask_threshold and not evidence.grammar_says:
            return f"not sure enough ({prediction.confidence:.0%} < {options.ask_threshold:.0%})"
        slot, confidence = _weakest_slot(evidence)
        if confidence < options.slot_refuse:
            return f"'{evidence.command.slots.get(slot)}' doesn't sound like a {slot}"
        return ""

    def _unsure(self, evidence: Evidence) -> str:
        """Why the intent itself is in doubt ('' when the model is sure of it)."""
        options, prediction = self.options, evidence.prediction
        if prediction.confidence < options.act_threshold:
            return (
                f"leaning to {prediction.intent} ({prediction.confidence:.0%} < {options.act_threshold:.0%})"
            )
        if len(prediction.ranking) > 1 and prediction.margin < options.margin:
            return f"could be {prediction.intent} or {prediction.ranking[1][0]}"
        return ""

    def _doubt(self, evidence: Evidence) -> str:
        """Why the car should ask before acting ('' when the evidence is there)."""
        options = self.options
        unsure = self._unsure(evidence)
        if unsure:
            return unsure
        if evidence.missing_required:
            return f"no {', '.join(evidence.missing_required)} heard"
        if not evidence.template_matched and not evidence.slot_confidence:
            return "heard nothing that says what to do"
        confidence = evidence.prediction.confidence
        if not evidence.template_matched and confidence < options.act_without_template:
            return f"no template says it that way ({confidence:.0%} < {options.act_without_template:.0%})"
        slot, confidence = _weakest_slot(evidence)
        if confidence < options.slot_act:
            return f"not sure '{evidence.command.slots.get(slot)}' is a {slot}"
        if _unclear(evidence.transcript, options):
            return f"unclear speech (average log-probability {evidence.transcript.avg_logprob:.2f})"
        return ""


def refuse(reason: str) -> Decision:
    """A refusal: reported as out_of_scope, with no slots."""
    return Decision("refuse", Command(OUT_OF_SCOPE, {}), reason)


def _weakest_slot(evidence: Evidence) -> tuple[str, float]:
    return min(evidence.slot_confidence.items(), key=lambda item: item[1], default=("", 1.0))


def _unclear(transcript: Transcript | None, options: PolicyOptions) -> bool:
    """Whisper's own doubt, unless its decoder found the audio saying what the car was waiting for
    (a short 'Answer.' to a ringing phone decodes with a low average log-probability)."""
    return (
        transcript is not None
        and not transcript.expected_match
        and transcript.avg_logprob < options.low_logprob
    )


def _grounds(evidence: Evidence) -> str:
    """Why acting is right: the confidence, and the template or the slots that back it."""
    backing = (
        "a template says it"
        if evidence.template_matched
        else "heard "
        + ", ".join(f"{slot}={evidence.command.slots.get(slot)}" for slot in evidence.slot_confidence)
    )
    return f"{evidence.prediction.confidence:.0%} sure, {backing}"


def question_for(command: Command, library: IntentLibrary) -> str:
    """What the car would do, as a question in the YAML's own words ("Turn off high beams?").

    The intent's first template whose words, optional parts left out, say the most of the
    command's slots and nothing else, with the slot values put in; an intent with no slot value
    heard is named with its description.
    """
    intent = library.intents.get(command.intent)
    if intent is None:
        return f"Did you mean {command.intent}?"
    if not command.slots:
        return f"Did you mean {intent.name} ({intent.description[:1].lower()}{intent.description[1:]})?"
    candidates = []
    for template in intent.templates:
        references = list_references(template.sentence.expression, library.rules, required_only=True)
        slots = {ref.slot_name for ref in references}
        lists = {
            ref.list_name: phrases_for(
                library.lists[ref.list_name], command.slots.get(ref.slot_name), first_only=True
            )
            for ref in references
        }
        if slots and slots <= set(command.slots) and all(lists.values()):
            candidates.append((len(slots), template, lists))
    for _, template, lists in sorted(candidates, key=lambda candidate: -candidate[0]):
        sample = sample_expression(template.sentence.expression, lists, library.rules, skip_optionals=True)
        sentence = " ".join(next(iter(sample), "").split())
        if sentence:
            return f"{sentence[:1].upper()}{sentence[1:]}?"
    values = ", ".join(str(value) for value in command.slots.values())
    return f"{intent.name.capitalize()}: {values}?"
