"""Pure DSP on generated signals: silence, assembly, the loudness meter (against pyloudnorm), true peak,
the limiter (look-ahead, hard signals) and resampling (images, timing)."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio.dsp import assemble, cap_pauses, resample, silent_runs, trim_silence
from pipeline.audio.limiter import LOOKAHEAD_MS, RELEASE_MS, level, limit, release
from pipeline.audio.loudness import (
    SHORT_TERM_S,
    SHORT_TERM_STEP_S,
    integrated_lufs,
    measure,
    oversampled_block_peaks,
    oversampled_peaks,
    short_term_lufs,
    single_channel_lufs,
    true_peak_dbtp,
)
from pipeline.errors import AudioError

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


# --- Vectorised loudness against pyloudnorm (the reference implementation it replaces) ---


def _pyloudnorm(x: np.ndarray, rate: int, block_s: float = 0.4, overlap: float = 0.75):
    import pyloudnorm

    meter = pyloudnorm.Meter(rate, filter_class="DeMan", block_size=block_s, overlap=overlap)
    return meter.integrated_loudness(x), np.asarray(meter.blockwise_loudness)


def _speechlike(seconds: float, rate: int, seed: int) -> np.ndarray:
    """Syllable-rate bursts of harmonics and noise with pauses and a few clicks."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    voice = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((140, 280, 420, 1900, 3100), start=1))
    envelope = np.clip(np.sin(2 * np.pi * 4 * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.3 * t)), 0, None)
    envelope[(t % 2.5) > 2.0] = 0.0  # pauses between "sentences"
    x = 0.1 * voice * envelope + 0.01 * rng.standard_normal(len(t)) * envelope
    x[rng.integers(0, len(t), 8)] = 0.8
    return x.astype(np.float32)


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_integrated_and_short_term_loudness_match_pyloudnorm(rate):
    x = _speechlike(12.0, rate, seed=rate)
    reference, _ = _pyloudnorm(x, rate)
    assert single_channel_lufs(x, rate) == pytest.approx(reference, abs=1e-4)
    _, reference_short_term = _pyloudnorm(x, rate, SHORT_TERM_S, 1.0 - SHORT_TERM_STEP_S / SHORT_TERM_S)
    ours = short_term_lufs(x, rate)
    assert len(ours) == len(reference_short_term)
    assert np.max(np.abs(ours - reference_short_term)) < 1e-4


@pytest.mark.parametrize("rate", [8000, 44100, 192000])
def test_k_weighting_by_fft_equals_the_recursive_filter(rate):
    """The FFT convolution with the truncated impulse response against scipy's recursion, over
    several overlap-save blocks and sample by sample, in stereo."""
    from scipy.signal import sosfilt

    from pipeline.audio.loudness import _k_weighting, k_weighted_energy

    x = np.stack([_speechlike(9.0, rate, seed=3), 0.3 * _speechlike(9.0, rate, seed=4)], axis=1)
    filtered = sosfilt(_k_weighting(rate), x.astype(np.float64), axis=0)
    reference = np.concatenate([[0.0], np.cumsum((filtered**2).sum(axis=1))])
    ours = k_weighted_energy(x, rate)
    assert len(ours) == len(reference)
    assert np.max(np.abs(ours - reference)) <= 1e-9 * reference[-1]
    assert np.max(np.abs(np.diff(ours) - np.diff(reference))) <= 1e-9 * np.diff(reference).max()


def test_stereo_and_surround_loudness_match_pyloudnorm():
    left, right = _speechlike(6.0, RATE, seed=1), 0.5 * _speechlike(6.0, RATE, seed=2)
    stereo = np.stack([left, right], axis=1)
    assert single_channel_lufs(stereo, RATE) == pytest.approx(_pyloudnorm(stereo, RATE)[0], abs=1e-4)
    # 5.1 in ffmpeg's order (L R C LFE Ls Rs): the LFE is not counted, surrounds weigh 1.41.
    surround = np.stack([left, right, 0.7 * left, 0.9 * right, 0.3 * right, 0.2 * left], axis=1)
    five = surround[:, [0, 1, 2, 4, 5]]  # pyloudnorm's 5-channel order, no LFE
    assert single_channel_lufs(surround, RATE) == pytest.approx(_pyloudnorm(five, RATE)[0], abs=1e-4)
    assert measure(surround, RATE).channels == 6


def test_loudness_of_silence_and_unsupported_layouts():
    assert single_channel_lufs(np.zeros(RATE, dtype=np.float32), RATE) == -np.inf
    with pytest.raises(AudioError, match="shorter than a 400 ms"):
        single_channel_lufs(np.zeros(RATE // 10, dtype=np.float32), RATE)
    with pytest.raises(AudioError, match="3-channel"):
        single_channel_lufs(np.zeros((RATE, 3), dtype=np.float32), RATE)


# --- Limiter: look-ahead, hard signals, the vectorised release ---


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
@pytest.mark.parametrize("offset", [0, 7, 15, 21])
def test_limiter_look_ahead_is_the_documented_5_ms(rate, offset):
    body = np.full(rate, 0.1, dtype=np.float32)  # DC body: the gain is readable at every sample
    peak = rate // 2 + offset
    body[peak] = 0.99
    gain = limit(body, rate, -6.0) / body
    reduced = np.flatnonzero(gain[:peak] < 1.0 - 1e-6)
    lead_ms = (peak - reduced[0]) / rate * 1000.0
    assert LOOKAHEAD_MS - 0.3 <= lead_ms <= LOOKAHEAD_MS + 0.3
    # Full depth at the peak, no reduction long before it, then an 80 ms (in dB) release.
    assert 20 * np.log10(gain[peak] * 0.99) <= -6.0
    assert np.all(gain[: peak - int(0.006 * rate)] == 1.0)
    later_db, latest_db = (20 * np.log10(gain[peak + int(s * rate)]) for s in (0.2, 0.3))
    assert latest_db / later_db == pytest.approx(np.exp(-100.0 / RELEASE_MS), rel=0.02)


def _hard_signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    t = np.arange(RATE) / RATE
    return {
        "square 1 kHz": (0.9 * np.sign(np.sin(2 * np.pi * 1000 * t + 0.1))).astype(np.float32),
        "square 7.35 kHz": (0.99 * np.sign(np.sin(2 * np.pi * 7350 * t + 0.1))).astype(np.float32),
        "fs/4 sine 45 degrees off its crest": (0.99 * np.sin(2 * np.pi * RATE / 4 * t + np.pi / 4)).astype(np.float32),
        "full-band noise 20 dB over": np.clip(rng.standard_normal(RATE) * 3.0, -8, 8).astype(np.float32),
        "random clicks": (np.where(rng.random(RATE) < 0.002, 4.0, 0.0) * np.sign(rng.standard_normal(RATE))
                          + 0.05 * rng.standard_normal(RATE)).astype(np.float32),
        "alternating full scale": np.tile(np.array([0.99, -0.99], dtype=np.float32), RATE // 2),
    }


@pytest.mark.parametrize("name", list(_hard_signals()))
@pytest.mark.parametrize("ceiling", [-0.5, -1.0, -6.0])
def test_limiter_never_exceeds_the_ceiling_on_hard_signals(name, ceiling):
    x = _hard_signals()[name]
    limited = limit(x, RATE, ceiling)
    assert true_peak_dbtp(limited) <= ceiling
    stereo = limit(np.stack([x, -0.5 * x], axis=1), RATE, ceiling)
    assert true_peak_dbtp(stereo) <= ceiling


def test_vectorised_release_equals_the_recursion():
    rng = np.random.default_rng(3)
    held = np.minimum(0.0, rng.normal(-2.0, 4.0, 3000))
    held[rng.random(3000) < 0.6] = 0.0
    coefficient = np.exp(-0.5 / 80.0)
    expected, level_db = np.empty_like(held), 0.0
    for index, wanted in enumerate(held):
        level_db = min(wanted, level_db * coefficient)
        expected[index] = level_db
    assert np.max(np.abs(release(held, coefficient) - expected)) < 1e-9


def test_level_estimate_holds_under_heavy_limiting():
    x = _speechlike(10.0, RATE, seed=11)
    for target in (-16.0, -12.0):
        out = level(x, RATE, target, -1.0)
        assert integrated_lufs(out, RATE) == pytest.approx(target, abs=0.05)
        assert true_peak_dbtp(out) <= -1.0
    stereo = level(np.stack([x, 0.7 * x], axis=1), RATE, -16.0, -1.0)
    assert integrated_lufs(stereo, RATE) == pytest.approx(-16.0, abs=0.05)
    assert true_peak_dbtp(stereo) <= -1.0
    with pytest.raises(AudioError, match="silent"):
        level(np.zeros(RATE, dtype=np.float32), RATE, -16.0, -1.0)


# --- Resampling: images, level and timing ---


def _tone_and_image_db(freq: float) -> tuple[float, float]:
    """(level change of the tone, its image relative to the tone) after 22.05 -> 44.1 kHz."""
    from scipy.signal.windows import blackmanharris

    tone = sine(freq, 2.0, 0.5, rate=22050)
    up = resample(tone, 22050, 44100)
    middle = up[RATE // 4 : RATE // 4 + 65536]
    rms_change = 20 * np.log10(np.sqrt(np.mean(middle**2)) / (0.5 / np.sqrt(2)))
    spectrum = np.abs(np.fft.rfft(middle * blackmanharris(len(middle))))
    freqs = np.fft.rfftfreq(len(middle), 1 / RATE)
    near = lambda hz: spectrum[np.abs(freqs - hz) < 40].max()  # noqa: E731
    return rms_change, 20 * np.log10(near(22050 - freq) / near(freq))


@pytest.mark.parametrize("freq", [1000, 5000, 8000, 9000, 9500, 10000])
def test_resample_images_are_60_db_down_and_tones_keep_their_level(freq):
    level_change, image = _tone_and_image_db(freq)
    assert image <= -60.0
    assert abs(level_change) < 0.05


def test_resample_is_sample_exact_in_time():
    click = np.zeros(22050, dtype=np.float32)
    click[[1000, 7001, 15000]] = 1.0
    up = resample(click, 22050, 44100)
    assert len(up) == 2 * len(click)
    for n in (1000, 7001, 15000):
        window = up[2 * n - 20 : 2 * n + 21]
        assert np.argmax(window) == 20  # the peak lands on 2n, no added delay
        assert window[19] == pytest.approx(window[21], abs=1e-4)  # symmetric: linear phase
    stereo = resample(np.stack([click, click], axis=1), 22050, 48000)
    assert stereo.shape == (48000, 2)


def test_oversampling_in_pieces_equals_one_pass():
    import soxr

    x = np.stack([_speechlike(14.0, RATE, seed=21), _speechlike(14.0, RATE, seed=22)], axis=1)  # 3 pieces
    whole = np.abs(soxr.resample(x, 1, 4, quality="HQ")).max(axis=1)
    per_sample = np.maximum(whole.reshape(-1, 4).max(axis=1), np.abs(x).max(axis=1))
    assert np.array_equal(oversampled_peaks(x), per_sample)
    assert np.array_equal(oversampled_block_peaks(x, 22)[:-1], per_sample[: len(x) // 22 * 22].reshape(-1, 22).max(axis=1))
    assert true_peak_dbtp(x) == pytest.approx(20 * np.log10(per_sample.max()), abs=1e-9)
