"""Speech leveler: evens out paragraphs read at different levels, without pumping in pauses.

The gain follows the voice's loudness only: each 100 ms block's level is the K-weighted loudness
of the speech (pauses left out) in the WINDOW_S around it, and the gain brings it to the
recording's typical speech loudness (the median of those levels, so loud and quiet paragraphs
meet in the middle), within +-max_gain_db. Where the window holds too little speech
(a long pause) the gain is not re-estimated but carried across from the speech either side, so
room tone is never pulled up while nobody speaks. The gain curve is then smoothed over SMOOTH_S
and applied sample by sample (linear interpolation between blocks). The integrated loudness stays
about where it was: setting it is mastering's job. A leveler needs to know where the speech is,
which no compressor (pedalboard's, ffmpeg's dynaudnorm) does; so it is written here, on the same
100 ms K-weighted blocks as the loudness meter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import BLOCK_S, CHUNK_SAMPLES, block_loudness_powers, frame_size, power_db

WINDOW_S = 3.0
"""Speech loudness is read over this window (EBU R128's short-term window)."""
MIN_SPEECH_S = 0.6
"""A window with less speech than this sets no gain of its own."""
SMOOTH_S = 1.0
"""The gain curve is averaged over this long, so it glides rather than steps."""
PEAK_CEILING = 0.99
"""If levelling lifts a sample past this, the whole result is turned down to it."""


@dataclass(frozen=True)
class Levelled:
    """What the leveler did."""

    audio: np.ndarray
    min_gain_db: float
    max_gain_db: float


def speech_blocks(speech_10ms: np.ndarray, rate: int, count: int) -> np.ndarray:
    """Which 100 ms blocks hold speech (at least half of their 10 ms frames)."""
    size, block = frame_size(rate), max(1, int(round(BLOCK_S * rate)))
    starts = np.minimum(np.arange(count) * block // size, max(len(speech_10ms) - 1, 0))
    ends = np.minimum((np.arange(count) + 1) * block // size, len(speech_10ms))
    counts = np.cumsum(np.concatenate([[0], speech_10ms.astype(np.int64)]))
    return (counts[ends] - counts[starts]) * 2 >= np.maximum(ends - starts, 1)


def _moving_sum(values: np.ndarray, width: int) -> np.ndarray:
    """Sum over a centred window of `width` values (clipped at the ends)."""
    sums = np.cumsum(np.concatenate([[0.0], values]))
    index = np.arange(len(values))
    low, high = np.maximum(index - width // 2, 0), np.minimum(index + width - width // 2, len(values))
    return sums[high] - sums[low]


def gain_curve_db(powers: np.ndarray, speech: np.ndarray, max_gain_db: float) -> np.ndarray:
    """The leveler's gain for each 100 ms block (see the module docstring); zeros without speech."""
    if not speech.any():
        return np.zeros(len(powers))
    width = int(round(WINDOW_S / BLOCK_S))
    speech_power = _moving_sum(np.where(speech, powers, 0.0), width)
    speech_count = _moving_sum(speech.astype(float), width)
    known = speech_count * BLOCK_S >= MIN_SPEECH_S
    if not known.any():
        return np.zeros(len(powers))
    level = power_db(speech_power[known] / speech_count[known])
    target = float(np.median(level[speech[known]])) if speech[known].any() else float(np.median(level))
    gain = np.interp(np.arange(len(powers)), np.flatnonzero(known), np.clip(target - level, -max_gain_db, max_gain_db))
    smooth = max(1, int(round(SMOOTH_S / BLOCK_S)))
    return _moving_sum(gain, smooth) / _moving_sum(np.ones(len(gain)), smooth)


def level_speech(x: np.ndarray, rate: int, speech_10ms: np.ndarray, max_gain_db: float) -> Levelled:
    """`x` levelled (see the module docstring); `speech_10ms` is `frames.speech_mask` of it."""
    powers = block_loudness_powers(x, rate)
    gain_db = gain_curve_db(powers, speech_blocks(speech_10ms, rate, len(powers)), max_gain_db)
    if len(gain_db) == 0 or not np.any(gain_db):
        return Levelled(x, 0.0, 0.0)
    block = max(1, int(round(BLOCK_S * rate)))
    centres = (np.arange(len(gain_db)) + 0.5) * block
    out = np.empty(len(x), dtype=np.float32)
    peak = 0.0
    for start in range(0, len(x), CHUNK_SAMPLES):
        end = min(len(x), start + CHUNK_SAMPLES)
        gain = 10.0 ** (np.interp(np.arange(start, end), centres, gain_db) / 20.0)
        out[start:end] = x[start:end] * gain
        peak = max(peak, float(np.abs(out[start:end]).max()))
    if peak > PEAK_CEILING:
        out *= np.float32(PEAK_CEILING / peak)
    return Levelled(out, round(float(gain_db.min()), 2), round(float(gain_db.max()), 2))
