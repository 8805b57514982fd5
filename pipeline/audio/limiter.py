"""A look-ahead true-peak limiter for speech.

Gain reduction is computed on 1 ms blocks from the 4x oversampled peaks, held across the
look-ahead window, released exponentially and smoothed, so that the gain is already down when
a peak arrives and recovers without pumping. The construction guarantees the gain at every
sample is at most what that sample's own peak needs; tiny residues from oversampling are
caught by the caller's verify-and-retry loop.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import AudioError
from .loudness import integrated_lufs, oversampled_peaks

BLOCK_MS = 1.0


def limit(
    x: np.ndarray,
    rate: int,
    ceiling_dbtp: float,
    lookahead_ms: float = 5.0,
    release_ms: float = 80.0,
    peaks: np.ndarray | None = None,
) -> np.ndarray:
    """Return `x` with its true peak brought to at most `ceiling_dbtp`, gain ramped, never clipped.

    `peaks` may pass in `oversampled_peaks(x)` when the caller already has it.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    ceiling = 10.0 ** (ceiling_dbtp / 20.0)
    peaks = oversampled_peaks(x) if peaks is None else peaks
    if len(peaks) == 0 or peaks.max() <= ceiling:
        return x.copy()
    needed = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))

    block = max(1, int(rate * BLOCK_MS / 1000.0))
    blocks = -(-len(needed) // block)
    padded = np.pad(needed, (0, blocks * block - len(needed)), constant_values=1.0)
    needed_db = 20.0 * np.log10(padded.reshape(blocks, block).min(axis=1))

    look = max(1, int(round(lookahead_ms / BLOCK_MS)))
    # Hold one block wider than the attack ramp, so the per-sample smoothing below stays safe.
    held_db = minimum_filter1d(needed_db, size=2 * (look + 1) + 1, mode="nearest")
    released_db = _release(held_db, math.exp(-BLOCK_MS / release_ms))
    gain_db = uniform_filter1d(released_db, size=2 * look + 1, mode="nearest")
    gain_db = np.minimum(gain_db, 0.0)

    gain = np.repeat(10.0 ** (gain_db / 20.0), block)[: len(needed)]
    gain = uniform_filter1d(gain, size=block, mode="nearest")
    shaped = gain if x.ndim == 1 else gain[:, None]
    return (x * shaped).astype(np.float32)


def _release(reduction_db: np.ndarray, coefficient: float) -> np.ndarray:
    """Let gain reduction (negative dB) decay towards 0 dB exponentially, never below what is held."""
    out = np.empty_like(reduction_db)
    level = 0.0
    for index, wanted in enumerate(reduction_db.tolist()):
        level = min(wanted, level * coefficient)
        out[index] = level
    return out


def level(x: np.ndarray, rate: int, target_lufs: float, ceiling_dbtp: float) -> np.ndarray:
    """Gain to the loudness target, then limit to the ceiling, re-correcting the gain for what
    the limiter took away until the loudness holds within 0.05 LU.

    Gain is linear, so the oversampled peaks are computed once and scaled with it.
    """
    current = integrated_lufs(x, rate)
    if not math.isfinite(current):
        raise AudioError("the audio is silent; there is no loudness to normalise")
    gain = 10.0 ** ((target_lufs - current) / 20.0)
    levelled = (x * gain).astype(np.float32)
    peaks = oversampled_peaks(x) * gain
    if peaks.max() <= 10.0 ** (ceiling_dbtp / 20.0):
        return levelled  # nothing to limit: the gain alone hits the target
    limited = limit(levelled, rate, ceiling_dbtp, peaks=peaks)
    for _ in range(4):
        error_db = target_lufs - integrated_lufs(limited, rate)
        if abs(error_db) <= 0.05:
            break
        step = 10.0 ** (error_db / 20.0)
        levelled = (levelled * step).astype(np.float32)
        peaks = peaks * step
        limited = limit(levelled, rate, ceiling_dbtp, peaks=peaks)
    return limited
