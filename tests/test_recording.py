"""Recorded narration: loading any format, and finding each script sentence in the recording.

Recordings are assembled from synthesized sentences with known pauses (the tone engine, and the
real Piper voice), at varying pace, so every sentence's true start is known.
"""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from pipeline.audio import recording
from pipeline.audio.codec import decode, decode_mono, encode_mp3, ffmpeg_path, write_wav
from pipeline.audio.dsp import assemble, silence, trim_silence
from pipeline.audio.recording import load_recording, recording_warnings, sentence_spans
from pipeline.errors import AudioError

from .conftest import REPO
from .tone_engine import ToneEngine

SENTENCES = [
    "Fine-tuning adapts a pretrained model to a narrower task and a narrower voice.",
    "It starts from weights that already know a great deal.",
    "Clean data matters more than more data.",
    "Adapters train a small set of extra weights instead of the whole model.",
    "That saves memory.",
    "Quantization stores the frozen weights in four bits.",
    "Is it worth it?",
    "For most teams it is.",
]
PARAGRAPH_ENDS = {1, 4}
SCRIPT_PAUSES_MS = [750 if i in PARAGRAPH_ENDS else 350 for i in range(len(SENTENCES))]


def reading(speak, rate: int, seed: int, inner_pause_ms: int = 0, noise_dbfs: float | None = None):
    """A 'recording' of SENTENCES: each at its own pace, pauses that differ from the script's
    (longer at paragraph ends), optionally a long pause inside each long sentence and room tone.
    Returns the audio and each sentence's true start in seconds."""
    rng = np.random.default_rng(seed)
    clips = []
    for index, text in enumerate(SENTENCES):
        pace = float(rng.uniform(0.85, 1.15))
        words = text.split()
        if inner_pause_ms and len(words) > 6:
            half = len(words) // 2
            clip = np.concatenate([speak(" ".join(words[:half]), pace), silence(inner_pause_ms, rate),
                                   speak(" ".join(words[half:]), pace)])
        else:
            clip = speak(text, pace)
        pause = rng.uniform(700, 1100) if index in PARAGRAPH_ENDS else rng.uniform(250, 450)
        clips.append((clip, int(pause)))
    audio, spans = assemble(clips, rate, 300, 700)
    if noise_dbfs is not None:
        audio = audio + (rng.standard_normal(len(audio)) * 10 ** (noise_dbfs / 20)).astype(np.float32)
    return audio, [span.start_s for span in spans]


def tone_speaker():
    engine = ToneEngine()
    return (lambda text, pace: trim_silence(engine.synthesize(text, pace), engine.sample_rate)), engine.sample_rate


@pytest.mark.parametrize("seed", range(4))
def test_sentence_starts_found_in_a_tone_reading_with_room_tone(seed):
    speak, rate = tone_speaker()
    audio, starts = reading(speak, rate, seed, noise_dbfs=-55.0)
    for pauses in (SCRIPT_PAUSES_MS, None):
        spans = sentence_spans(audio, rate, SENTENCES, pauses)
        assert len(spans) == len(SENTENCES)
        assert np.abs(np.array([start for start, _ in spans]) - starts).max() < 0.1
        assert all(start < end <= next_start for (start, end), (next_start, _) in itertools.pairwise(spans))


@pytest.mark.parametrize("seed", range(8))
def test_paragraph_pauses_hold_against_long_pauses_inside_sentences(seed):
    # A reader who stops for a full second mid-sentence: the script's paragraph breaks say
    # which long pauses end sentences.
    speak, rate = tone_speaker()
    audio, starts = reading(speak, rate, seed, inner_pause_ms=1000)
    spans = sentence_spans(audio, rate, SENTENCES, SCRIPT_PAUSES_MS)
    assert np.abs(np.array([start for start, _ in spans]) - starts).max() < 0.1


@pytest.mark.slow
def test_sentence_starts_found_in_a_piper_reading():
    from pipeline.engines import load_engine
    from pipeline.settings import load_voice

    engine = load_engine(load_voice(REPO / "voices" / "joe.yaml"))
    audio, starts = reading(lambda text, pace: trim_silence(engine.synthesize(text, pace), engine.sample_rate),
                            engine.sample_rate, seed=0, noise_dbfs=-60.0)
    spans = sentence_spans(audio, engine.sample_rate, SENTENCES, SCRIPT_PAUSES_MS)
    assert np.abs(np.array([start for start, _ in spans]) - starts).max() < 0.1


def test_run_together_sentences_are_split_at_their_quietest_moments():
    # No pause at all: the voice only dips (to -30 dB, above the silence threshold) between
    # sentences, so the boundaries fall at the dips.
    rate = 22050
    texts = SENTENCES[:3]
    parts, starts, position = [], [], 0
    for index, text in enumerate(texts):
        n = int(0.06 * len(text) * rate)
        t = np.arange(n) / rate
        envelope = np.ones(n)
        if index:
            envelope[: int(0.05 * rate)] = 10 ** (-30 / 20)  # the dip, at the sentence's start
        parts.append((0.3 * envelope * np.sin(2 * np.pi * 200 * t)).astype(np.float32))
        starts.append(position / rate)
        position += n
    spans = sentence_spans(np.concatenate(parts), rate, texts)
    assert np.abs(np.array([start for start, _ in spans[1:]]) - starts[1:]).max() < 0.1
    assert sentence_spans(np.concatenate(parts), rate, []) == []


def test_load_recording_reads_any_format_as_mono(tmp_path: Path):
    rate = 48000
    t = np.arange(2 * rate) / rate
    left = (0.4 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    write_wav(np.stack([left, 0.5 * left], axis=1), rate, tmp_path / "take.wav")
    mono, got_rate = load_recording(tmp_path / "take.wav")
    assert got_rate == rate and mono.ndim == 1 and mono.dtype == np.float32
    assert np.abs(mono - 0.75 * left).max() < 1e-3
    encode_mp3(left, rate, tmp_path / "take.mp3", 128)
    mono, got_rate = load_recording(tmp_path / "take.mp3")
    assert got_rate == rate and abs(len(mono) - len(left)) < 0.01 * rate


def test_unreadable_or_silent_recording_is_an_error_naming_the_file(tmp_path: Path):
    write_wav(np.zeros(48000, np.float32), 48000, tmp_path / "silent.wav")
    with pytest.raises(AudioError, match=r"silent.wav: the recording is silent"):
        load_recording(tmp_path / "silent.wav")
    (tmp_path / "broken.wav").write_bytes(b"RIFF not really a wave file")
    with pytest.raises(AudioError, match=r"broken.wav: "):
        load_recording(tmp_path / "broken.wav")
    with pytest.raises(AudioError, match=r"missing.wav: file not found"):
        load_recording(tmp_path / "missing.wav")


def test_recordings_that_are_not_files_say_what_they_are(tmp_path: Path):
    (tmp_path / "folder.wav").mkdir()
    os.mkfifo(tmp_path / "pipe.wav")  # ffmpeg would wait on it for ever
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "socket.wav"))
        for name, says in (("folder.wav", "is a folder, not a file"), ("pipe.wav", r"is a named pipe \(FIFO\)"),
                           ("socket.wav", "is a socket, not a file")):
            with pytest.raises(AudioError, match=rf"{name}: {says}"):
                load_recording(tmp_path / name)
    with pytest.raises(AudioError, match=r"/dev/zero: is a device, not a file"):
        load_recording(Path("/dev/zero"))
    with pytest.raises(AudioError, match=r"/dev/zero: is a device, not a file"):
        decode(Path("/dev/zero"))


def test_a_video_without_sound_says_it_has_no_audio_stream(tmp_path: Path):
    video = tmp_path / "picture.mp4"
    subprocess.run([ffmpeg_path(), "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=5", "-t", "1",
                    "-c:v", "mpeg4", str(video)], check=True)
    for read in (load_recording, decode):
        with pytest.raises(AudioError, match=r"picture.mp4: the file holds no audio stream"):
            read(video)


def test_streamed_mono_is_the_channel_average_of_a_whole_decode(tmp_path: Path):
    rate = 44100
    rng = np.random.default_rng(3)
    stereo = (0.3 * rng.standard_normal((3 * rate, 2))).astype(np.float32)
    write_wav(stereo, rate, tmp_path / "take.wav")
    whole, _ = decode(tmp_path / "take.wav")
    mono, got_rate = decode_mono(tmp_path / "take.wav", 60.0)
    assert got_rate == rate and np.array_equal(mono, whole.mean(axis=1, dtype=np.float32))


def test_a_recording_longer_than_the_limit_is_refused_naming_the_file(tmp_path: Path, monkeypatch):
    rate = 8000
    write_wav(0.3 * np.sin(np.arange(3 * rate) / 5.0).astype(np.float32), rate, tmp_path / "long.wav")
    monkeypatch.setattr(recording, "MAX_RECORDING_S", 2.0)
    with pytest.raises(AudioError, match=r"long.wav: lasts more than 0.0333333 minutes, the longest recording"):
        load_recording(tmp_path / "long.wav")
    monkeypatch.setattr(recording, "MAX_RECORDING_S", 4.0)
    assert len(load_recording(tmp_path / "long.wav")[0]) == 3 * rate


def test_many_short_bursts_are_aligned_in_bounded_memory():
    # Ten minutes of 50 ms bursts: 6000 speech regions, whose all-pairs alignment tables alone would
    # take 290 MB each; merged at the shortest gaps, the alignment stays small.
    rate = 8000
    period = np.zeros(int(0.1 * rate), np.float32)
    period[: int(0.05 * rate)] = 0.3
    audio = np.tile(period, 6000)
    tracemalloc.start()
    try:
        spans = sentence_spans(audio, rate, SENTENCES, SCRIPT_PAUSES_MS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(spans) == len(SENTENCES) and spans[-1][1] <= len(audio) / rate
    assert peak < 150e6, f"{peak / 1e6:.0f} MB"


def test_a_script_with_more_sentences_than_the_alignment_takes_is_refused(monkeypatch):
    speak, rate = tone_speaker()
    audio, _ = reading(speak, rate, seed=0)
    monkeypatch.setattr(recording, "MAX_REGIONS", 5)
    with pytest.raises(AudioError, match="the script has 8 sentences; a recording is aligned with at most 5"):
        sentence_spans(audio, rate, SENTENCES, SCRIPT_PAUSES_MS)


def test_a_clean_reading_gets_no_warning():
    speak, rate = tone_speaker()
    audio, _ = reading(speak, rate, seed=1, noise_dbfs=-55.0)
    assert recording_warnings(audio, rate, Path("take.wav")) == []


def test_a_clipped_reading_is_named_with_where_it_first_clips():
    speak, rate = tone_speaker()
    audio, _ = reading(speak, rate, seed=1)
    hot = np.clip(audio * 6.0, -1.0, 1.0)  # the tone peaks at 0.3: six times is 1.8, clipped flat at 1
    first = int(np.flatnonzero(np.abs(hot) >= 1.0)[0])
    warnings = recording_warnings(hot, rate, Path("take.wav"))
    assert len(warnings) == 1 and warnings[0].startswith("take.wav: the recording is clipped: ")
    minutes, seconds = divmod(first / rate, 60)
    assert f"(first at {int(minutes)}:{seconds:04.1f})" in warnings[0]
    runs = recording.clipped_runs(hot)[0]
    assert runs > 10 and f"{runs} places where 3 or more samples" in warnings[0]
    # Loud but not clipped: the same reading peaking just under full scale.
    assert recording_warnings(audio * (0.99 / np.abs(audio).max()), rate, Path("take.wav")) == []


def test_one_clipped_channel_of_a_stereo_take_is_found():
    speak, rate = tone_speaker()
    audio, _ = reading(speak, rate, seed=2)
    stereo = np.stack([np.clip(audio * 6.0, -1.0, 1.0), audio], axis=1)
    assert recording.clipped_runs(stereo)[0] == recording.clipped_runs(stereo[:, 0])[0] > 0
    assert recording.clipped_runs(stereo[:, 1]) == (0, 0)


@pytest.mark.parametrize("source", ["anoisesrc=color=pink:amplitude=0.3", "anoisesrc=color=white:amplitude=0.2",
                                    "sine=frequency=440"])
def test_noise_or_a_tone_is_a_recording_with_little_speech(tmp_path: Path, source):
    path = tmp_path / "take.wav"
    subprocess.run([ffmpeg_path(), "-v", "error", "-f", "lavfi", "-i", f"{source}:sample_rate=48000", "-t", "20",
                    str(path)], check=True)
    audio, rate = load_recording(path)
    warnings = recording_warnings(audio, rate, path)
    assert len(warnings) == 1 and warnings[0].startswith(f"{path}: the recording holds little speech (only ")
