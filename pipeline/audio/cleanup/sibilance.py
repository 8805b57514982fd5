"""De-essing: the band above SPLIT_HZ turned down where a sibilant is harsh, nowhere else.

A Linkwitz-Riley crossover (scipy's Butterworth sections, each squared) splits the voice into a
low and a high band that add back to the original (an all-pass: the level at every frequency is
unchanged). A sibilant is harsh when its high band, read on 5 ms frames, is louder than the
voice's own speech level less THRESHOLD_BELOW_SPEECH_DB; above that the high band is compressed
RATIO:1 (at most MAX_REDUCTION_DB), the gain reaching its depth a frame early and recovering over
RELEASE_MS. A recording with no harsh sibilant is returned as it is. pedalboard has a compressor
but no band split; a de-esser is a few lines on scipy's filters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..limiter import release
from .frames import CHUNK_SAMPLES, frame_levels, frame_powers, frame_size, power_db, speech_mask
from .hum import filter_in_pieces

SPLIT_HZ = 5000.0
FRAME_MS = 5.0
THRESHOLD_BELOW_SPEECH_DB = 3.0
"""The high band may come this close to the voice's speech level before it is turned down."""
RATIO = 4.0
MAX_REDUCTION_DB = 12.0
RELEASE_MS = 40.0


@dataclass(frozen=True)
class DeEssed:
    """What the de-esser did."""

    audio: np.ndarray
    max_reduction_db: float
    """Deepest cut of the high band."""
    seconds: float
    """How long the high band was cut by 1 dB or more."""


def _crossover(rate: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import butter

    split = min(SPLIT_HZ, 0.4 * rate)
    low = butter(2, split, btype="lowpass", fs=rate, output="sos")
    high = butter(2, split, btype="highpass", fs=rate, output="sos")
    return np.concatenate([low, low]), np.concatenate([high, high])


def speech_level_dbfs(x: np.ndarray, rate: int) -> float:
    """The voice's level: the mean power of the 10 ms frames that hold speech, in dBFS."""
    levels = frame_levels(x, rate)
    speech = speech_mask(levels)
    return float(power_db(np.mean(10.0 ** (levels[speech] / 10.0)))) if speech.any() else -math.inf


def high_band_gain_db(high: np.ndarray, rate: int, speech_dbfs: float) -> np.ndarray:
    """Gain (<= 0 dB) for each FRAME_MS frame of the high band."""
    levels = power_db(frame_powers(high, frame_size(rate, FRAME_MS)))
    threshold = speech_dbfs - THRESHOLD_BELOW_SPEECH_DB
    wanted = -np.minimum((levels - threshold).clip(min=0.0) * (1.0 - 1.0 / RATIO), MAX_REDUCTION_DB)
    early = np.minimum(wanted, np.concatenate([wanted[1:], [0.0]]))  # at depth a frame early
    return release(early, math.exp(-FRAME_MS / RELEASE_MS))


def de_ess(x: np.ndarray, rate: int) -> DeEssed:
    """`x` with harsh sibilants softened (see the module docstring)."""
    speech_dbfs = speech_level_dbfs(x, rate)
    low_sections, high_sections = _crossover(rate)
    high = filter_in_pieces(x, high_sections)
    gain_db = high_band_gain_db(high, rate, speech_dbfs) if math.isfinite(speech_dbfs) else np.zeros(1)
    if gain_db.min() > -0.01:
        return DeEssed(x, 0.0, 0.0)
    out = filter_in_pieces(x, low_sections)
    size = frame_size(rate, FRAME_MS)
    centres = (np.arange(len(gain_db)) + 0.5) * size
    for start in range(0, len(x), CHUNK_SAMPLES):
        end = min(len(x), start + CHUNK_SAMPLES)
        gain = 10.0 ** (np.interp(np.arange(start, end), centres, gain_db) / 20.0)
        out[start:end] += (gain * high[start:end]).astype(np.float32)
    seconds = np.count_nonzero(gain_db <= -1.0) * size / rate
    return DeEssed(out, round(float(-gain_db.min()), 2), round(float(seconds), 2))
