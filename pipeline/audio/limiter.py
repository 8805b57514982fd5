"""A look-ahead true-peak limiter for speech, and `level`: gain to a loudness target, then limit.

Gain reduction is planned on blocks of about 0.5 ms (22 samples at 44.1 kHz) from the 4x
oversampled peaks, all in dB and all vectorised (no Python loop over blocks or samples):

1. need: each block needs at most ceiling - peak (<= 0 dB);
2. hold: a block takes the deepest need from one block before it to LOOK + 1 blocks after it;
3. release: reduction decays exponentially towards 0 dB (`release_ms` time constant), never
   shallower than held, computed in closed form as a running maximum in the log domain;
4. attack: a moving average over the last LOOK + 1 blocks turns each step down into a linear
   ramp that is complete one block before the peak;
5. per sample, the linear gain is interpolated between block centres.

Steps 2-4 only deepen or average reductions that cover a block and both its neighbours, and
step 5 mixes only neighbours, so the gain at every sample is at most what that sample's own
oversampled peak needs. Modulating the gain adds a little between samples; the plan aims
GUARD_DB (0.01 dB) under the ceiling to absorb it. After MP3 encoding, master.py verifies the
decoded file and corrects.

Timing, measured on a click at 22.05, 44.1 and 48 kHz (tests/test_dsp.py checks it): the gain
starts falling 4.8 to 5.25 ms before the peak (`lookahead_ms`, 5 ms by default; the spread is
where the peak sits in its 0.5 ms block), ramps down linearly in dB, is at full depth from
0.25-0.75 ms before the peak to 0.25-0.75 ms after it, then recovers exponentially in dB with
an 80 ms time constant (`release_ms`).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import AudioError
from .loudness import (
    GATING_BLOCK_S,
    GATING_STEP_S,
    block_powers,
    dual_mono_offset_db,
    gated_lufs,
    k_weighted_energy,
    lufs_from_energy,
    oversampled_block_peaks,
)

BLOCK_MS = 0.5
"""Time resolution of the gain plan."""
LOOKAHEAD_MS = 5.0
"""How long before a peak the gain starts to fall."""
RELEASE_MS = 80.0
"""Time constant (in dB) of the recovery after a peak."""
GUARD_DB = 0.01
"""The plan aims this far under the ceiling: modulating the gain adds a little between samples
(measured up to 0.0022 dB on full-band noise limited by 20 dB; nothing on speech)."""
LEVEL_ACCURACY_LU = 0.02
"""`level` re-corrects its gain until the (estimated) loudness is this close to the target."""
MAX_LEVEL_STEPS = 6
ROWS_AT_ONCE = 1 << 14
"""Limiter blocks interpolated per step (about 8 s of audio): bounds the temporaries."""


def block_size(rate: int) -> int:
    """Samples per limiter block at `rate` (about BLOCK_MS)."""
    return max(1, int(rate * BLOCK_MS / 1000.0))


class GainPlan:
    """The limiter's view of one signal: its oversampled peak per block, so the gain plan for
    any ceiling and overall gain costs work on blocks only, not on samples."""

    def __init__(self, block_peaks: np.ndarray, block: int, samples: int, rate: int,
                 lookahead_ms: float = LOOKAHEAD_MS, release_ms: float = RELEASE_MS):
        self.block = block
        self.samples = samples
        self.blocks = len(block_peaks)
        block_ms = 1000.0 * block / rate
        self.look = max(1, int(round(lookahead_ms / block_ms - 2.0)))
        """Attack ramp in blocks; with the hold's extra block and interpolation, the gain
        starts falling `lookahead_ms` before a peak."""
        self.release_coefficient = math.exp(-block_ms / release_ms)
        self.peak_db = 20.0 * np.log10(np.maximum(block_peaks.astype(np.float64), 1e-12))
        """Highest oversampled peak of each block, in dB."""

    @classmethod
    def of(cls, x: np.ndarray, rate: int, lookahead_ms: float = LOOKAHEAD_MS,
           release_ms: float = RELEASE_MS) -> GainPlan:
        """Oversample `x` once and keep its peak per block."""
        block = block_size(rate)
        return cls(oversampled_block_peaks(x, block), block, len(x), rate, lookahead_ms, release_ms)

    @classmethod
    def from_peaks(cls, peaks: np.ndarray, rate: int, lookahead_ms: float = LOOKAHEAD_MS,
                   release_ms: float = RELEASE_MS) -> GainPlan:
        """From per-sample oversampled peaks (`oversampled_peaks`)."""
        block = block_size(rate)
        blocks = -(-len(peaks) // block)
        padded = np.zeros(blocks * block, dtype=np.float32)
        padded[: len(peaks)] = peaks
        return cls(padded.reshape(blocks, block).max(axis=1), block, len(peaks), rate, lookahead_ms, release_ms)

    def reduction_db(self, ceiling_dbtp: float, gain_db: float = 0.0) -> np.ndarray | None:
        """Gain reduction per block (<= 0 dB) once `gain_db` is applied; None if none is needed."""
        need_db = np.minimum(0.0, ceiling_dbtp - GUARD_DB - gain_db - self.peak_db)
        if self.blocks == 0 or need_db.min() >= 0.0:
            return None
        look = self.look
        held_db = _sliding_min(np.concatenate([[0.0], need_db, np.zeros(look + 1)]), look + 3, self.blocks)
        released_db = release(held_db, self.release_coefficient)
        # Before the first block the ramp cannot start, so the signal starts already reduced.
        return _sliding_mean(np.concatenate([np.full(look, released_db[0]), released_db]), look + 1, self.blocks)

    def per_sample(self, reduction_db: np.ndarray) -> np.ndarray:
        """Linear gain per sample (float32), interpolated between block centres: np.interp's
        result, computed only on blocks where it differs from 1, a bounded number at a time."""
        block = self.block
        gain = (10.0 ** (reduction_db / 20.0)).astype(np.float32)
        before = np.concatenate([gain[:1], gain[:-1]])
        after = np.concatenate([gain[1:], gain[-1:]])
        offset = np.arange(block) - (block - 1) / 2.0  # sample position against its block centre
        towards_before = (np.maximum(-offset, 0.0) / block).astype(np.float32)
        towards_after = (np.maximum(offset, 0.0) / block).astype(np.float32)
        itself = 1.0 - towards_before - towards_after
        out = np.ones((self.blocks, block), dtype=np.float32)
        rows = np.flatnonzero(np.minimum(np.minimum(before, gain), after) < 1.0)
        for start in range(0, len(rows), ROWS_AT_ONCE):
            some = rows[start : start + ROWS_AT_ONCE]
            interpolated = np.multiply.outer(gain[some], itself)
            interpolated += np.multiply.outer(before[some], towards_before)
            interpolated += np.multiply.outer(after[some], towards_after)
            out[some] = interpolated
        return out.reshape(-1)[: self.samples]


def _sliding_min(padded: np.ndarray, width: int, count: int) -> np.ndarray:
    """out[k] = min(padded[k : k + width]) for k < count (width is a handful of blocks)."""
    out = padded[:count].copy()
    for offset in range(1, width):
        np.minimum(out, padded[offset : offset + count], out=out)
    return out


def _sliding_mean(padded: np.ndarray, width: int, count: int) -> np.ndarray:
    """out[k] = mean(padded[k : k + width]) for k < count."""
    out = padded[:count].copy()
    for offset in range(1, width):
        out += padded[offset : offset + count]
    return out / width


def release(reduction_db: np.ndarray, coefficient: float) -> np.ndarray:
    """Let gain reduction (<= 0 dB) decay towards 0 dB by `coefficient` per step, never
    shallower than what is asked: r[m] = min(asked[m], r[m-1] * coefficient), without a loop.

    Unrolled, depth[m] = max over k <= m of asked_depth[k] * coefficient**(m - k). With
    d = -log(coefficient), log depth[m] = max over k <= m of (log asked_depth[k] + k * d), less
    m * d: a running maximum. (pipeline/audio/mix.py uses it too, for its ducking release.)"""
    steps = np.arange(len(reduction_db)) * -math.log(coefficient)
    with np.errstate(divide="ignore"):
        log_depth = np.log(np.maximum(-reduction_db, 0.0)) + steps
    released = -np.exp(np.maximum.accumulate(log_depth) - steps)
    return np.minimum(released, reduction_db)  # exact where the hold itself is the deepest


def limit(
    x: np.ndarray,
    rate: int,
    ceiling_dbtp: float,
    lookahead_ms: float = LOOKAHEAD_MS,
    release_ms: float = RELEASE_MS,
    peaks: np.ndarray | None = None,
) -> np.ndarray:
    """Return `x` with its true peak brought to at most `ceiling_dbtp`, gain ramped, never clipped.

    `peaks` may pass in `oversampled_peaks(x)` when the caller already has it."""
    plan = (GainPlan.of(x, rate, lookahead_ms, release_ms) if peaks is None
            else GainPlan.from_peaks(peaks, rate, lookahead_ms, release_ms))
    reduction_db = plan.reduction_db(ceiling_dbtp)
    if reduction_db is None:
        return x.astype(np.float32)
    return _apply(x, plan.per_sample(reduction_db))


def level(
    x: np.ndarray,
    rate: int,
    target_lufs: float,
    ceiling_dbtp: float,
    energy: np.ndarray | None = None,
    plan: GainPlan | None = None,
) -> np.ndarray:
    """Gain to the loudness target (LUFS as targeted, dual mono for mono), then limit to the
    true-peak ceiling (dBTP), re-correcting the gain for what the limiter took away.

    The input is K-weighted and oversampled once (`energy = k_weighted_energy(x, rate)` and
    `plan = GainPlan.of(x, rate)` may be passed in by a caller that levels the same audio
    again): gain is linear, so peaks scale with it, and the limiter's effect on loudness is
    estimated from the K-weighted energy per limiter block times that block's squared gain.
    The gain moves over milliseconds, slowly against the K-weighting filter, so the estimate
    holds to about 0.01 LU (tests measure the result).
    """
    energy = k_weighted_energy(x, rate) if energy is None else energy
    plan = GainPlan.of(x, rate) if plan is None else plan
    current = lufs_from_energy(energy, rate) + dual_mono_offset_db(x)
    if not math.isfinite(current):
        raise AudioError("the audio is silent (under -70 LUFS); there is no loudness to normalise")
    gain_db = target_lufs - current
    reduction_db = plan.reduction_db(ceiling_dbtp, gain_db)
    if reduction_db is not None:
        block_energy = np.diff(energy[np.minimum(np.arange(plan.blocks + 1) * plan.block, len(energy) - 1)])
        unlimited = _blockwise_lufs(block_energy, plan.block, rate)
        slope, previous = 1.0, None  # loudness gained per dB of gain: 1 unlimited, less when limited
        for _ in range(MAX_LEVEL_STEPS):
            limited = _blockwise_lufs(block_energy * 10.0 ** (reduction_db / 10.0), plan.block, rate)
            estimate = current + gain_db + limited - unlimited
            error_db = target_lufs - estimate
            if abs(error_db) <= LEVEL_ACCURACY_LU:
                break
            if previous is not None and gain_db != previous[0]:
                slope = min(1.0, max(0.05, (estimate - previous[1]) / (gain_db - previous[0])))
            previous = (gain_db, estimate)
            gain_db += error_db / slope  # a secant step: heavy limiting eats most of a plain step
            reduction_db = plan.reduction_db(ceiling_dbtp, gain_db)
    gain = np.float32(10.0 ** (gain_db / 20.0))
    if reduction_db is None:
        return (x * gain).astype(np.float32, copy=False)
    envelope = plan.per_sample(reduction_db)
    envelope *= gain
    return _apply(x, envelope)


def _apply(x: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """x times a per-sample gain, as float32 (in the gain's own memory for mono)."""
    if x.ndim == 1:
        return np.multiply(gain, x, out=gain, dtype=np.float32, casting="same_kind")
    return np.multiply(x, gain[:, None], dtype=np.float32, casting="same_kind")


def _blockwise_lufs(block_energy: np.ndarray, block: int, rate: int) -> float:
    """Integrated loudness from K-weighted energy per limiter block (gating-block edges rounded
    to whole limiter blocks: used for differences only)."""
    cumulative = np.concatenate([[0.0], np.cumsum(block_energy)])
    return gated_lufs(block_powers(cumulative, rate / block, GATING_BLOCK_S, GATING_STEP_S) / block)
