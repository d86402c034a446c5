"""Capture and endpointing: WAV replay through the VAD, push-to-talk, the microphone's queue, the real
capture path through the PulseAudio virtual microphone, and the errors a person sees."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from assistant.audio import (
    CLOSE_WAIT_S,
    FRAME,
    FRAME_S,
    AudioError,
    EndpointerOptions,
    MicrophoneSource,
    VoiceSource,
    WavFileSource,
    WavPushToTalk,
    list_devices,
    load_wav,
    resolve_device,
)
from assistant.events import SAMPLE_RATE, Utterance

HIGH_BEAMS = "turn on the high beams"
TEMPERATURE = "set the temperature to 21 degrees"


def silence(seconds: float) -> np.ndarray:
    return np.zeros(round(seconds * SAMPLE_RATE), dtype=np.float32)


def car_noise(seconds: float, seed: int = 0) -> np.ndarray:
    """Cabin noise: low-passed brown noise (road rumble) plus engine and mains hum, at about -22 dBFS."""
    rng = np.random.default_rng(seed)
    n = round(seconds * SAMPLE_RATE)
    brown = np.cumsum(rng.standard_normal(n))
    rumble = sosfilt(butter(4, [20, 400], "bandpass", fs=SAMPLE_RATE, output="sos"), brown)
    rumble *= 0.06 / np.sqrt(np.mean(rumble**2))
    t = np.arange(n) / SAMPLE_RATE
    hum = 0.03 * np.sin(2 * np.pi * 60 * t) + 0.02 * np.sin(2 * np.pi * 120 * t + 1.0)
    engine = 0.02 * np.sin(2 * np.pi * 35 * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
    return (rumble + hum + engine).astype(np.float32)


def replay(path: Path, options: EndpointerOptions | None = None, **kwargs) -> list[Utterance]:
    return list(WavFileSource([path], options, **kwargs).utterances())


def first_utterance(source: MicrophoneSource, timeout: float) -> Utterance | None:
    """Iterate the source in a thread; the first utterance within ``timeout`` s, else None."""
    found: queue.Queue[Utterance | BaseException] = queue.Queue()

    def consume() -> None:
        try:
            found.put(next(source.utterances()))
        except BaseException as err:  # hand the consumer's error to the test
            found.put(err)

    threading.Thread(target=consume, daemon=True).start()
    try:
        result = found.get(timeout=timeout)
    except queue.Empty:
        return None
    if isinstance(result, BaseException):
        raise result
    return result


def feed(source: MicrophoneSource, audio: np.ndarray, pace: float = 0.0) -> None:
    """Drive the microphone callback by hand, one 512-sample block at a time."""
    for block in np.pad(audio, (0, -len(audio) % FRAME)).reshape(-1, FRAME):
        stamp = SimpleNamespace(inputBufferAdcTime=0.0, currentTime=FRAME_S)
        source._callback(block[:, None], FRAME, stamp, 0)
        if pace:
            time.sleep(pace)


# -- WAV replay through the VAD ------------------------------------------------------------------


def test_one_command_is_one_utterance_about_as_long_as_the_speech(spoken_wav):
    path = spoken_wav(HIGH_BEAMS)
    speech = load_wav(path)
    [utterance] = replay(path)
    options = EndpointerOptions()
    waited_ms = options.frames(options.silence_ms) * FRAME_S * 1000
    assert utterance.endpoint_ms == pytest.approx(waited_ms)  # virtual time: exactly the tail waited
    assert 250 <= utterance.endpoint_ms <= 350  # the default tail, within the 500 ms budget
    assert len(speech) / SAMPLE_RATE - 0.3 < utterance.duration_s < len(speech) / SAMPLE_RATE + 0.6
    assert utterance.source == path.name
    assert utterance.audio.dtype == np.float32


def test_a_draft_of_the_speech_comes_before_its_final_utterance(spoken_wav):
    path = spoken_wav(HIGH_BEAMS)
    draft, final = WavFileSource([path]).utterances(drafts=True)
    assert not draft.final and final.final
    assert draft.speech_end == final.speech_end  # the same speech, nothing said since
    options = EndpointerOptions()
    waited_ms = (options.frames(options.silence_ms) - options.frames(options.draft_ms)) * FRAME_S * 1000
    assert final.detected_at - draft.detected_at == pytest.approx(waited_ms / 1000)
    assert np.array_equal(final.audio[: len(draft.audio)], draft.audio)
    assert [u.final for u in replay(path)] == [True]  # no drafts unless asked for


def test_speech_going_on_after_a_draft_is_one_utterance_and_drafts_can_be_off(spoken_wav, wav_file):
    first = np.trim_zeros(load_wav(spoken_wav(HIGH_BEAMS)), "b")  # espeak's own trailing silence off
    second = load_wav(spoken_wav(TEMPERATURE))
    path = wav_file(np.concatenate([first, silence(0.2), second]))  # a pause under silence_ms
    *drafts, final = WavFileSource([path]).utterances(drafts=True)
    assert final.final and not any(d.final for d in drafts) and len(drafts) >= 2
    assert drafts[0].speech_end < final.speech_end == drafts[-1].speech_end
    assert final.duration_s > (len(first) + len(second)) / SAMPLE_RATE
    no_drafts = WavFileSource([path], EndpointerOptions(draft_ms=0)).utterances(drafts=True)
    assert [u.final for u in no_drafts] == [True]


def test_two_commands_a_pause_apart_are_two_utterances(spoken_wav, wav_file):
    first, second = load_wav(spoken_wav(HIGH_BEAMS)), load_wav(spoken_wav(TEMPERATURE))
    path = wav_file(np.concatenate([silence(0.5), first, silence(1.5), second]))
    one, two = replay(path)
    assert one.duration_s == pytest.approx(len(first) / SAMPLE_RATE, abs=0.6)
    assert two.duration_s == pytest.approx(len(second) / SAMPLE_RATE, abs=0.6)
    gap = two.speech_end - one.speech_end
    assert gap == pytest.approx((len(second) / SAMPLE_RATE) + 1.5, abs=0.5)


def test_each_file_ends_its_own_last_command(spoken_wav):
    paths = [spoken_wav(HIGH_BEAMS), spoken_wav(TEMPERATURE)]
    assert len(list(WavFileSource(paths).utterances())) == 2


@pytest.mark.parametrize("make", [lambda: silence(5), lambda: car_noise(8)], ids=["silence", "car noise"])
def test_no_speech_no_utterance(make, wav_file):
    assert replay(wav_file(make())) == []


def test_a_command_over_car_noise_still_ends(spoken_wav, wav_file):
    speech = load_wav(spoken_wav(HIGH_BEAMS))
    noise = car_noise(len(speech) / SAMPLE_RATE + 3)
    noise[SAMPLE_RATE : SAMPLE_RATE + len(speech)] += speech
    assert len(replay(wav_file(noise))) == 1


def test_a_burst_shorter_than_the_minimum_speech_is_dropped(spoken_wav):
    path = spoken_wav("stop")
    [word] = replay(path)
    heard_ms = round(word.duration_s * 1000)  # pre-roll and tail included: more than the voiced part
    assert replay(path, EndpointerOptions(min_speech_ms=heard_ms)) == []
    assert len(replay(path, EndpointerOptions(min_speech_ms=round(FRAME_S * 1000)))) == 1


def test_long_speech_is_cut_at_the_maximum_length(spoken_wav, wav_file):
    sentence = load_wav(spoken_wav("navigate to the nearest gas station and then play my road trip playlist"))
    path = wav_file(np.concatenate([sentence] * 4))
    utterances = replay(path, EndpointerOptions(max_utterance_s=2.0))
    assert len(utterances) >= 3
    assert all(u.duration_s <= 2.0 + FRAME_S for u in utterances)
    assert max(u.duration_s for u in utterances) > 1.9


def test_realtime_replay_takes_real_time(spoken_wav):
    started = time.monotonic()
    [utterance] = replay(spoken_wav("call mom"), realtime=True)
    assert utterance.detected_at <= time.monotonic() + FRAME_S
    assert time.monotonic() - started >= len(load_wav(spoken_wav("call mom"))) / SAMPLE_RATE


def tone(hz: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(round(seconds * rate)) / rate)).astype(np.float32)


def peak_hz(audio: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return float(np.fft.rfftfreq(len(audio), 1 / SAMPLE_RATE)[np.argmax(spectrum)])


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


@pytest.mark.parametrize("rate", [8_000, 22_050, 44_100, 48_000])
def test_a_tone_keeps_its_pitch_length_and_loudness_through_resampling(wav_file, rate):
    audio = load_wav(wav_file(tone(1_000, 2.0, rate), rate=rate))
    assert audio.ndim == 1 and audio.dtype == np.float32
    assert len(audio) == pytest.approx(2.0 * SAMPLE_RATE, abs=2)
    assert peak_hz(audio) == pytest.approx(1_000, abs=2)
    middle = audio[SAMPLE_RATE // 4 : -SAMPLE_RATE // 4]  # away from the filter's edges
    assert rms(middle) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_a_tone_above_16k_s_nyquist_is_filtered_out_not_folded_back(wav_file):
    """A 7 kHz tone survives 48 kHz → 16 kHz; an 11 kHz one would alias to 5 kHz unless filtered."""
    audio = load_wav(wav_file(tone(7_000, 1.0, 48_000) + tone(11_000, 1.0, 48_000), rate=48_000))
    assert peak_hz(audio) == pytest.approx(7_000, abs=2)
    assert rms(audio - tone(7_000, 1.0, SAMPLE_RATE)[: len(audio)]) < 0.05 * rms(audio)


def test_stereo_is_mixed_down_to_the_mean_of_its_channels(wav_file):
    left, right = tone(500, 1.0, 32_000, 0.4), tone(1_500, 1.0, 32_000, 0.2)
    audio = load_wav(wav_file(np.stack([left, right], axis=1), rate=32_000))
    expected = (tone(500, 1.0, SAMPLE_RATE, 0.4) + tone(1_500, 1.0, SAMPLE_RATE, 0.2)) / 2
    inner = slice(SAMPLE_RATE // 10, -SAMPLE_RATE // 10)
    assert np.max(np.abs(audio[inner] - expected[inner])) < 0.01


# -- endpointing options -------------------------------------------------------------------------


def test_speech_still_going_when_the_file_ends_is_its_last_utterance(spoken_wav):
    """A silence longer than the 1 s each replayed file ends with: the end of the file ends the command."""
    path = spoken_wav(HIGH_BEAMS)
    [utterance] = replay(path, EndpointerOptions(silence_ms=4_000))
    assert utterance.duration_s > len(load_wav(path)) / SAMPLE_RATE
    assert utterance.endpoint_ms > 900  # ended by the end of the file, not by the silence it waited for


@pytest.mark.parametrize(
    "option", [{"silence_ms": -100}, {"silence_ms": 100_000}, {"threshold": 1.5}, {"max_utterance_s": 0}]
)
def test_nonsense_endpointing_options_are_refused_by_name(option):
    [(name, value)] = option.items()
    with pytest.raises(ValueError, match=rf"^EndpointerOptions\.{name} must be between .*, not {value:g}$"):
        EndpointerOptions(**option)


# -- push-to-talk --------------------------------------------------------------------------------


def test_push_to_talk_replay_makes_each_file_one_utterance(spoken_wav, wav_file):
    audio = np.concatenate(
        [load_wav(spoken_wav(HIGH_BEAMS)), silence(1.5), load_wav(spoken_wav(TEMPERATURE))]
    )
    [utterance] = replay(wav_file(audio), mode="push_to_talk")
    assert utterance.duration_s == pytest.approx(len(audio) / SAMPLE_RATE, abs=FRAME_S)
    assert 0 <= utterance.endpoint_ms < FRAME_S * 1000


def test_push_to_talk_on_the_microphone_keeps_only_the_bracketed_audio():
    mic = MicrophoneSource(mode="push_to_talk", queue_size=100)
    feed(mic, np.full(5 * FRAME, 0.1, dtype=np.float32), pace=FRAME_S)
    mic.start_talking()
    feed(mic, np.full(15 * FRAME, 0.5, dtype=np.float32), pace=FRAME_S)
    talk_fed = time.monotonic()
    mic.stop_talking()
    released = time.monotonic()
    feed(mic, np.full(5 * FRAME, 0.1, dtype=np.float32), pace=FRAME_S)
    utterance = first_utterance(mic, timeout=5)
    mic.close()
    assert utterance is not None
    assert 14 * FRAME <= len(utterance.audio) <= 16 * FRAME
    assert np.mean(utterance.audio == 0.5) > 0.9
    assert talk_fed <= utterance.speech_end <= released  # the key's release, not the last block's time


def test_every_source_is_a_voice_source(spoken_wav):
    wav = spoken_wav(HIGH_BEAMS)
    for source in (WavFileSource([wav]), WavPushToTalk([wav]), MicrophoneSource()):
        assert isinstance(source, VoiceSource), type(source).__name__
        assert source.mode in source.modes
        source.close()


def test_wav_push_to_talk_plays_one_file_per_release_and_counts_down(spoken_wav):
    source = WavPushToTalk([spoken_wav(HIGH_BEAMS), spoken_wav(TEMPERATURE)])
    assert source.modes == ("push_to_talk",) and "2 file(s) to go" in source.note
    utterances = source.utterances()
    source.stop_talking()
    first = next(utterances)
    assert first.duration_s == pytest.approx(len(load_wav(spoken_wav(HIGH_BEAMS))) / SAMPLE_RATE, abs=FRAME_S)
    assert "1 file(s) to go" in source.note
    source.stop_talking()
    next(utterances)
    assert source.note == "all WAV files played"
    source.stop_talking()
    assert next(utterances, None) is None


def test_a_closed_wav_push_to_talk_ends_without_a_release(spoken_wav):
    source = WavPushToTalk([spoken_wav(HIGH_BEAMS)])
    threading.Timer(0.2, source.close).start()
    assert list(source.utterances()) == []


# -- the microphone's queue ----------------------------------------------------------------------


def test_a_stalled_consumer_drops_blocks_and_then_recovers(spoken_wav):
    mic = MicrophoneSource(queue_size=8)
    feed(mic, np.full(200 * FRAME, 0.01, dtype=np.float32))  # nobody consumes: the queue overflows
    assert mic.dropped_blocks == 192
    assert mic.level_dbfs == pytest.approx(-40, abs=0.1)

    found: list[Utterance] = []
    consumer = threading.Thread(target=lambda: found.extend(mic.utterances()))
    consumer.start()
    feed(mic, np.concatenate([load_wav(spoken_wav(HIGH_BEAMS)), silence(1.0)]), pace=FRAME_S)  # real time
    deadline = time.monotonic() + 10
    while not found and time.monotonic() < deadline:  # however slow this machine's VAD is
        time.sleep(0.02)
    mic.close()
    consumer.join(timeout=5)
    assert not consumer.is_alive()
    assert len(found) == 1
    assert mic.blocks_received > 200
    assert f"{mic.blocks_received} blocks, 192 dropped because the assistant fell behind" in mic.report()


# -- files and devices: errors a person sees -----------------------------------------------------


def test_a_file_that_is_not_audio_is_refused_by_name(tmp_path):
    notes = tmp_path / "notes.wav"
    notes.write_text("not audio at all")
    with pytest.raises(AudioError, match=r"Cannot read '.*notes\.wav': not a WAV file\."):
        WavFileSource([notes])


@pytest.mark.parametrize("name", ["missing.wav", "empty.wav"])
def test_missing_or_empty_files_are_refused_by_name(tmp_path, wav_file, name):
    if name == "empty.wav":
        wav_file(silence(0)).rename(tmp_path / name)
    with pytest.raises(AudioError, match=name):
        load_wav(tmp_path / name)


def test_closing_a_stream_portaudio_never_lets_go_of_does_not_hang():
    """PortAudio 19.6 can spin forever on a stream whose server died; closing it must not wait forever."""
    released = threading.Event()
    mic = MicrophoneSource()
    mic._stream = SimpleNamespace(close=lambda ignore_errors: released.wait(30))
    started = time.monotonic()
    mic.close()
    released.set()
    assert time.monotonic() - started < CLOSE_WAIT_S + 0.5


C_STDERR_WRITER = """
import ctypes, sys
from assistant.audio import list_devices
list_devices()  # the microphone's first use: C's stderr goes through the filter from here on
libc = ctypes.CDLL(None)
stderr = ctypes.c_void_p.in_dll(libc, "stderr")
for line in sys.argv[1:]:
    libc.fputs(line.encode() + b"\\n", stderr)
"""


def test_portaudio_and_alsa_noise_on_c_stderr_is_dropped_and_other_lines_pass():
    noise = [
        "Expression 'ret' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: 1736",
        "ALSA lib pulse.c:242:(pulse_connect) PulseAudio: Unable to connect: Connection refused",
        "JackShmReadWritePtr::~JackShmReadWritePtr - Init not done for -1, skipping unlock",
        "Cannot connect to server socket err = No such file or directory",
        "jack server is not running or cannot be started",
    ]
    other = "libfoo: a warning someone needs to see"
    result = subprocess.run(
        [sys.executable, "-c", C_STDERR_WRITER, *noise, other], capture_output=True, text=True, check=True
    )
    assert result.stderr.splitlines() == [other]  # passed on by the time the process has exited


PORTAUDIO_TERMINATING = """
import atexit, ctypes, sys
libc = ctypes.CDLL(None)
stderr = ctypes.c_void_p.in_dll(libc, "stderr")

def spin():  # a stream left spinning prints until the process is gone: after every exit handler
    libc.fputs(sys.argv[1].encode() + b"\\n", stderr)

atexit.register(spin)
from assistant.audio import list_devices
list_devices()  # imports sounddevice, as the microphone's first use does
import sounddevice
terminate = sounddevice._terminate

def terminate_noisily():  # and while PortAudio terminates at exit
    spin()
    terminate()

sounddevice._terminate = terminate_noisily
"""


def test_what_portaudio_prints_while_the_process_exits_is_dropped_too():
    noise = "Expression 'self->capture.ready || self->playback.ready' failed in 'pa_linux_alsa.c', line: 3958"
    result = subprocess.run(
        [sys.executable, "-c", PORTAUDIO_TERMINATING, noise], capture_output=True, text=True, check=True
    )
    assert result.stderr == ""


# -- the real capture path -----------------------------------------------------------------------


@pytest.mark.audio
def test_devices_are_found_by_index_or_name(virtual_mic):
    devices = list_devices()
    pulse = resolve_device(virtual_mic.device.upper())
    assert pulse.name == virtual_mic.device and pulse in devices
    assert resolve_device(pulse.index) == resolve_device(str(pulse.index)) == pulse
    with pytest.raises(AudioError, match="matches no input device"):
        resolve_device("no such microphone")


@pytest.mark.audio
def test_a_command_played_into_the_virtual_mic_is_captured_and_understood(
    virtual_mic, spoken_wav, transcriber
):
    with MicrophoneSource(virtual_mic.device) as mic:
        deadline = time.monotonic() + 5
        while mic.blocks_received == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert mic.blocks_received > 0, "the virtual microphone delivered no audio in 5 s"
        player = virtual_mic.play(spoken_wav(HIGH_BEAMS))
        utterance = first_utterance(mic, timeout=8)
        player.wait(timeout=10)
        assert utterance is not None, "no utterance within 8 s of playing the command"
        assert mic.dropped_blocks == 0
    print(f"virtual mic: {utterance.duration_s:.2f} s, endpoint {utterance.endpoint_ms:.0f} ms")
    assert utterance.source == f"mic:{virtual_mic.device}"
    options = EndpointerOptions()
    tail_s = options.frames(options.silence_ms) * FRAME_S
    assert utterance.endpoint_ms >= (tail_s - FRAME_S) * 1000  # it waited for the silence tail
    speech_s = len(load_wav(spoken_wav(HIGH_BEAMS))) / SAMPLE_RATE
    # and cut right after it: measured in audio, which a slow machine cannot stretch
    assert utterance.duration_s <= speech_s + options.pre_roll_ms / 1000 + tail_s + 2 * FRAME_S
    assert "high beam" in transcriber.transcribe(utterance).text.lower()


class Collector:
    """Iterates a source's utterances on a thread until closed; what came, and the error if one did."""

    def __init__(self, source: MicrophoneSource) -> None:
        self.source = source
        self.heard: queue.Queue[Utterance] = queue.Queue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for utterance in self.source.utterances():
                self.heard.put(utterance)
        except BaseException as err:  # handed to the test
            self.error = err

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def wait_until(condition, timeout: float, what: str) -> float:
    """Seconds it took for ``condition()`` to hold; fails the test after ``timeout``."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout, f"{what} did not happen within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.mark.audio
def test_a_stream_that_dies_raises_a_clear_error_when_told_not_to_reconnect(virtual_mic):
    with MicrophoneSource(virtual_mic.device, reconnect=False) as mic:
        wait_until(lambda: mic.blocks_received > 0, 5, "the first block")
        mic._stream.abort()  # what PortAudio does when the device goes away
        collector = Collector(mic)
        collector.join(timeout=5)
    assert isinstance(collector.error, AudioError)
    assert str(collector.error) == (
        "Microphone 'mic:pulse' stopped (unplugged, or the audio server went away). "
        "Reconnect it or use --wav FILE."
    )


@pytest.mark.audio
def test_a_stream_that_dies_is_reopened(virtual_mic):
    changes: list[str] = []
    with MicrophoneSource(virtual_mic.device, on_change=changes.append) as mic:
        wait_until(lambda: mic.blocks_received > 0, 5, "the first block")
        collector = Collector(mic)
        mic._stream.abort()
        wait_until(lambda: mic.reconnecting, 2, "noticing the dead stream")
        wait_until(lambda: not mic.reconnecting, 3, "reopening the microphone")
        before = mic.blocks_received
        wait_until(lambda: mic.blocks_received > before, 5, "audio from the reopened stream")
    collector.join(timeout=5)
    assert collector.error is None
    assert changes[0].startswith("Microphone 'mic:pulse' stopped") and "reconnecting" in changes[0]
    assert changes[1].startswith("mic:pulse: back after ")


@pytest.mark.audio
def test_the_microphone_comes_back_after_the_audio_server_restarts(private_pulse, spoken_wav, monkeypatch):
    """Stop and start the null sink's own server: commands are heard again, with no restart of ours."""
    monkeypatch.setenv("PULSE_SERVER", private_pulse.server)  # the ALSA "pulse" device connects there
    with MicrophoneSource("pulse") as mic:
        collector = Collector(mic)
        wait_until(lambda: mic.blocks_received > 0, 5, "the first block")
        private_pulse.play(spoken_wav(HIGH_BEAMS)).wait(timeout=10)
        assert collector.heard.get(timeout=8).duration_s > 0.5

        private_pulse.stop()
        wait_until(lambda: mic.reconnecting, 6, "noticing the server went away")
        private_pulse.start()
        wait_until(lambda: not mic.reconnecting, 5, "reopening the microphone")
        before = mic.blocks_received
        wait_until(lambda: mic.blocks_received > before, 5, "audio after the restart")
        private_pulse.play(spoken_wav(TEMPERATURE)).wait(timeout=10)
        utterance = collector.heard.get(timeout=8)
    collector.join(timeout=5)
    assert collector.error is None
    assert utterance.duration_s > 1.0
    assert collector.heard.empty()
