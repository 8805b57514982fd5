"""Loudness and peak measurement (ITU-R BS.1770 / EBU R128) and gain to a target.

Arrays are shaped (samples,) for mono or (samples, channels). Integrated loudness and LRA come
from pyloudnorm with BS.1770's exact K-weighting ("DeMan" filters). True peak is measured on a
4x oversampled signal (BS.1770 Annex 2).

Mono convention: a mono programme is read as dual mono, as Auphonic and ffmpeg's ebur128
`dualmono` do, so "-16 LUFS" for a mono file means -19.0 LUFS in a plain single-channel reading.
Both readings are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import AudioError

OVERSAMPLE = 4
DUAL_MONO_OFFSET_DB = 10.0 * math.log10(2.0)
SHORT_TERM_S = 3.0
SHORT_TERM_STEP_S = 0.1


def db(value: float) -> float:
    return 20.0 * math.log10(max(value, 1e-12))


def oversampled_peaks(x: np.ndarray) -> np.ndarray:
    """Per input sample, the largest magnitude among its 4 oversampled points (all channels)."""
    from scipy.signal import resample_poly  # imported here: scipy.signal costs 0.6 s to import

    channels = [x] if x.ndim == 1 else [x[:, c] for c in range(x.shape[1])]
    peaks = np.zeros(len(channels[0]), dtype=np.float32)
    for channel in channels:
        up = resample_poly(channel.astype(np.float32), OVERSAMPLE, 1, window=("kaiser", 10.0))
        np.abs(up, out=up)
        for phase in range(OVERSAMPLE):
            np.maximum(peaks, up[phase::OVERSAMPLE], out=peaks)
    return peaks


def true_peak_dbtp(x: np.ndarray) -> float:
    """True peak in dBTP (4x oversampling)."""
    if len(x) == 0:
        return -math.inf
    return db(float(oversampled_peaks(x).max()))


def _offset(x: np.ndarray) -> float:
    """Add to a plain BS.1770 reading to get the reading as targeted (dual mono for mono)."""
    return DUAL_MONO_OFFSET_DB if x.ndim == 1 or x.shape[1] == 1 else 0.0


def _meter(rate: int, block_s: float = 0.4, overlap: float = 0.75):
    import pyloudnorm  # imported here: it pulls in scipy.signal

    return pyloudnorm.Meter(rate, filter_class="DeMan", block_size=block_s, overlap=overlap)


def integrated_lufs(x: np.ndarray, rate: int) -> float:
    """Integrated loudness as targeted (dual mono for mono input)."""
    return single_channel_lufs(x, rate) + _offset(x)


def single_channel_lufs(x: np.ndarray, rate: int) -> float:
    """Plain BS.1770 integrated loudness of the channels as they are."""
    if len(x) < 0.4 * rate:
        raise AudioError(f"audio of {len(x) / rate:.2f} s is shorter than a 400 ms loudness block")
    return float(_meter(rate).integrated_loudness(x))


@dataclass(frozen=True)
class LoudnessReport:
    """What a loudness meter says about a programme."""

    integrated_lufs: float
    """Integrated loudness as targeted (dual mono for mono)."""
    integrated_single_channel_lufs: float
    """The same, read as plain single-channel BS.1770 (equal to the above for stereo)."""
    true_peak_dbtp: float
    max_short_term_lufs: float
    """Loudest 3 s window, as targeted."""
    lra_lu: float
    """Loudness range (EBU Tech 3342, from the short-term values)."""
    duration_s: float
    sample_rate_hz: int
    channels: int


def loudness_range_lu(short_term_lufs: np.ndarray) -> float:
    """EBU Tech 3342 loudness range from short-term (3 s) loudness values."""
    gated = short_term_lufs[short_term_lufs >= -70.0]
    if len(gated) == 0:
        return 0.0
    mean_power = np.mean(10.0 ** (gated / 10.0))
    gated = gated[gated >= 10.0 * np.log10(mean_power) - 20.0]
    return float(np.percentile(gated, 95) - np.percentile(gated, 10))


def short_term_lufs(x: np.ndarray, rate: int) -> np.ndarray:
    """Short-term loudness (3 s windows every 100 ms), plain reading."""
    if len(x) < SHORT_TERM_S * rate:
        return np.array([single_channel_lufs(x, rate)])
    meter = _meter(rate, SHORT_TERM_S, 1.0 - SHORT_TERM_STEP_S / SHORT_TERM_S)
    meter.integrated_loudness(x)
    return np.asarray(meter.blockwise_loudness, dtype=float)


def measure(x: np.ndarray, rate: int, short_term: np.ndarray | None = None) -> LoudnessReport:
    """Every figure the manifest and `episodes measure` report; pass `short_term_lufs(x, rate)`
    if the caller already has it."""
    single = single_channel_lufs(x, rate)
    offset = _offset(x)
    short_term = short_term_lufs(x, rate) if short_term is None else short_term
    return LoudnessReport(
        integrated_lufs=round(single + offset, 2),
        integrated_single_channel_lufs=round(single, 2),
        true_peak_dbtp=round(true_peak_dbtp(x), 2),
        max_short_term_lufs=round(float(short_term.max()) + offset, 2),
        lra_lu=round(loudness_range_lu(short_term), 2),
        duration_s=round(len(x) / rate, 3),
        sample_rate_hz=rate,
        channels=1 if x.ndim == 1 else x.shape[1],
    )
