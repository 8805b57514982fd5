"""Pure DSP: silence, assembly, loudness meter, true peak and limiter on generated signals."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio.dsp import assemble, cap_pauses, resample, silent_runs, trim_silence
from pipeline.audio.limiter import level, limit
from pipeline.audio.loudness import integrated_lufs, measure, single_channel_lufs, true_peak_dbtp

RATE = 44100


def sine(freq: float, seconds: float, amplitude: float, rate: int = RATE, phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def test_bs1770_reference_levels():
    # BS.1770: a 0 dBFS 1 kHz sine in one channel reads -3.01 LKFS; at -20 dBFS, -23.01.
    tone = sine(997, 10, 0.1)
    assert single_channel_lufs(tone, RATE) == pytest.approx(-23.01, abs=0.1)
    # Read as dual mono, the same mono file is 3.01 dB louder.
    assert integrated_lufs(tone, RATE) == pytest.approx(-20.0, abs=0.1)
    stereo = np.stack([tone, tone], axis=1)
    assert integrated_lufs(stereo, RATE) == pytest.approx(-20.0, abs=0.1)


def test_true_peak_sees_intersample_peaks():
    # A sine at fs/4 sampled 45 degrees off its crest: every sample is at 0.707 of the true peak.
    tone = sine(RATE / 4, 1, 0.9, phase=np.pi / 4)
    sample_peak_db = 20 * np.log10(np.abs(tone).max())
    assert sample_peak_db == pytest.approx(20 * np.log10(0.9 * np.sqrt(0.5)), abs=0.05)
    assert true_peak_dbtp(tone) == pytest.approx(20 * np.log10(0.9), abs=0.2)


def test_loudness_range_of_steady_tone_is_zero_and_steps_show():
    steady = sine(1000, 20, 0.1)
    assert measure(steady, RATE).lra_lu == pytest.approx(0.0, abs=0.2)
    stepped = np.concatenate([sine(1000, 10, 0.1), sine(1000, 10, 0.1 * 10 ** (10 / 20))])
    report = measure(stepped, RATE)
    assert 8.0 < report.lra_lu < 10.5
    assert report.max_short_term_lufs == pytest.approx(-10.0, abs=0.2)


def test_limiter_holds_ceiling_without_clipping_and_leaves_quiet_parts_alone():
    rng = np.random.default_rng(1)
    body = sine(220, 6, 0.2) + 0.02 * rng.standard_normal(6 * RATE).astype(np.float32)
    body[3 * RATE : 3 * RATE + 300] *= 6.0  # a hot transient, +15 dB
    limited = limit(body, RATE, -1.0)
    assert true_peak_dbtp(limited) <= -1.0 + 0.02
    assert np.abs(limited).max() < 1.0
    # Away from the transient (beyond look-ahead and release) the signal is untouched.
    assert np.allclose(limited[: 2 * RATE], body[: 2 * RATE])
    assert np.allclose(limited[4 * RATE :], body[4 * RATE :])
    # The gain ramps: no sample-to-sample gain jump larger than a smooth ramp allows.
    gain = limited[3 * RATE - 2000 : 3 * RATE + 3000] / np.where(
        np.abs(body[3 * RATE - 2000 : 3 * RATE + 3000]) > 0.05, body[3 * RATE - 2000 : 3 * RATE + 3000], np.nan)
    steps = np.abs(np.diff(gain[np.isfinite(gain)]))
    assert np.nanmax(steps) < 0.05


def test_level_hits_target_and_ceiling_together():
    rng = np.random.default_rng(2)
    speechy = (sine(180, 8, 0.05) * (1 + np.sin(2 * np.pi * 3 * np.arange(8 * RATE) / RATE))).astype(np.float32)
    speechy[RATE::RATE // 2] = 0.9  # clicks far above the body
    out = level(speechy + 0.001 * rng.standard_normal(len(speechy)).astype(np.float32), RATE, -16.0, -1.0)
    assert integrated_lufs(out, RATE) == pytest.approx(-16.0, abs=0.06)
    assert true_peak_dbtp(out) <= -0.98


def test_trim_silence_keeps_a_margin_and_all_sound():
    quiet = np.zeros(RATE // 2, dtype=np.float32)
    word = sine(300, 0.5, 0.3)
    soft_tail = sine(300, 0.1, 0.003)  # 40 dB below the word: still part of it
    clip = np.concatenate([quiet, word, soft_tail, quiet])
    trimmed = trim_silence(clip, RATE)
    kept_s = len(trimmed) / RATE
    assert 0.6 <= kept_s <= 0.6 + 0.1
    assert np.abs(trimmed).max() == pytest.approx(0.3, abs=0.01)
    assert len(trim_silence(np.zeros(RATE, dtype=np.float32), RATE)) == 0


def test_cap_pauses_shortens_only_long_silences():
    word = sine(300, 0.3, 0.3)
    gap = lambda s: np.zeros(int(s * RATE), dtype=np.float32)  # noqa: E731
    clip = np.concatenate([word, gap(0.4), word, gap(3.0), word])
    capped = cap_pauses(clip, RATE, 1000)
    runs = [(end - start) / RATE for start, end in silent_runs(capped, RATE)]
    assert len(runs) == 2
    assert runs[0] == pytest.approx(0.4, abs=0.02)
    assert runs[1] == pytest.approx(1.0, abs=0.02)
    assert len(capped) / RATE == pytest.approx(len(clip) / RATE - 2.0, abs=0.02)


def test_assemble_places_pauses_and_padding_exactly():
    a, b = sine(300, 1.0, 0.3), sine(300, 0.5, 0.3)
    audio, spans = assemble([(a, 400), (b, 9999)], RATE, lead_ms=250, tail_ms=600)
    assert len(audio) / RATE == pytest.approx(0.25 + 1.0 + 0.4 + 0.5 + 0.6, abs=1e-3)
    assert spans[0].start_s == pytest.approx(0.25, abs=1e-3)
    assert spans[1].start_s == pytest.approx(1.65, abs=1e-3)
    assert spans[1].end_s == pytest.approx(2.15, abs=1e-3)


def test_resample_keeps_duration_and_level():
    tone = sine(440, 2, 0.5, rate=22050)
    up = resample(tone, 22050, 44100)
    assert len(up) == 2 * len(tone)
    assert np.abs(up[1000:-1000]).max() == pytest.approx(0.5, abs=0.01)
