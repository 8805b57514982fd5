"""Frame-by-frame readings of a long recording, computed a piece at a time.

Every step of the clean-up needs to know where the speech is and how loud it is. These readings
are small arrays (one value per 10 ms or 100 ms frame); the recording is read in pieces of
CHUNK_SAMPLES, so an hour at 48 kHz costs a few megabytes of float64 at a time, never a
full-length float64 copy (`dsp.frame_levels_db` and `loudness.k_weighted_energy` make one each).
"""

from __future__ import annotations

import math

import numpy as np

from ..dsp import FRAME_MS, SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS
from ..loudness import K_RESPONSE_S, SHORT_TERM_S, k_weighted_energy, loudness_range_lu
from ..recording import ABOVE_NOISE_DB, NOISE_CAP_BELOW_PEAK_DB, NOISE_FLOOR_PERCENTILE

CHUNK_SAMPLES = 1 << 20
"""Samples read at a time (about 22 s at 48 kHz)."""
BLOCK_S = 0.1
"""Loudness block: short-term loudness is the mean of 30 of them (3 s), as EBU R128's meter."""
ROOM_TONE_SPREAD_DB = 4.0
"""When a recording's quietest frames (its 1st to 10th percentile) lie within this of each other,
they are steady room tone, not quiet speech."""
FLOOR_DB = -120.0
"""Levels are floored here, so silence stays finite (and JSON-safe)."""


def frame_size(rate: int, frame_ms: float = FRAME_MS) -> int:
    """Samples in one frame, as `dsp.frame_levels_db` cuts them."""
    return max(1, int(rate * frame_ms / 1000.0))


def power_db(power: np.ndarray | float) -> np.ndarray:
    """Mean power as a level in dB (dBFS for sample powers), floored at FLOOR_DB."""
    return 10.0 * np.log10(np.maximum(power, 10.0 ** (FLOOR_DB / 10.0)))


def frame_powers(x: np.ndarray, size: int) -> np.ndarray:
    """Mean power of each frame of `size` samples (the last one zero-padded), in float64."""
    count = math.ceil(len(x) / size)
    powers = np.empty(count)
    step = max(1, CHUNK_SAMPLES // size) * size
    for start in range(0, len(x), step):
        piece = x[start : start + step].astype(np.float64)
        piece = np.pad(piece, (0, (-len(piece)) % size))
        powers[start // size : start // size + len(piece) // size] = np.mean(
            np.square(piece, out=piece).reshape(-1, size), axis=1)
    return powers


def frame_peaks(x: np.ndarray, size: int) -> np.ndarray:
    """Largest absolute sample of each frame of `size` samples."""
    peaks = np.empty(math.ceil(len(x) / size), dtype=np.float32)
    step = max(1, CHUNK_SAMPLES // size) * size
    for start in range(0, len(x), step):
        piece = np.abs(x[start : start + step])
        piece = np.pad(piece, (0, (-len(piece)) % size))
        peaks[start // size : start // size + len(piece) // size] = piece.reshape(-1, size).max(axis=1)
    return peaks


def frame_levels(x: np.ndarray, rate: int) -> np.ndarray:
    """RMS level of each 10 ms frame in dBFS: `dsp.frame_levels_db`, a piece at a time."""
    return power_db(frame_powers(x, frame_size(rate)))


def speech_mask(levels_db: np.ndarray) -> np.ndarray:
    """True for the 10 ms frames where someone speaks, from their levels.

    `recording.speech_frames`' rule (speech clears the room tone, the recording's quietest
    frames, by ABOVE_NOISE_DB, but the threshold stays NOISE_CAP_BELOW_PEAK_DB under the peak in
    case those frames are quiet speech), except where the quietest frames are plainly steady
    room tone (ROOM_TONE_SPREAD_DB): then no cap, so a noisy recording (room tone 25 dB under
    the peak) still has pauses."""
    if len(levels_db) == 0:
        return np.zeros(0, dtype=bool)
    peak = float(levels_db.max())
    lowest, noise, tenth = np.percentile(levels_db, [1.0, NOISE_FLOOR_PERCENTILE, 10.0])
    above_noise = float(noise) + ABOVE_NOISE_DB
    if tenth - lowest > ROOM_TONE_SPREAD_DB:
        above_noise = min(above_noise, peak - NOISE_CAP_BELOW_PEAK_DB)
    return levels_db > max(peak - SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS, above_noise)


def widen(mask: np.ndarray, frames: int) -> np.ndarray:
    """`mask` with every True run grown by `frames` on each side."""
    if frames <= 0 or not mask.any():
        return mask.copy()
    counts = np.cumsum(np.concatenate([[0], mask.astype(np.int64)]))
    index = np.arange(len(mask))
    return counts[np.minimum(index + frames + 1, len(mask))] - counts[np.maximum(index - frames, 0)] > 0


def noise_floor_dbfs(levels_db: np.ndarray, speech: np.ndarray, margin_frames: int = 5) -> float | None:
    """Level of the room tone in dBFS: the mean power of the frames at least `margin_frames`
    from any speech (so no word's tail counts as noise); None when the recording has no pause."""
    quiet = ~widen(speech, margin_frames)
    if not quiet.any():
        return None
    return float(power_db(np.mean(10.0 ** (levels_db[quiet] / 10.0))))


def block_loudness_powers(x: np.ndarray, rate: int) -> np.ndarray:
    """K-weighted mean power of each 100 ms block (a plain BS.1770 reading: -0.691 + 10 log10
    of it is the block's loudness). Filtered a piece at a time, each with the K-filter's
    response length of the signal before it, so the pieces join as one filtering would."""
    block = max(1, int(round(BLOCK_S * rate)))
    context = int(math.ceil(K_RESPONSE_S * rate))
    count = len(x) // block
    powers = np.empty(count)
    step = max(1, CHUNK_SAMPLES // block) * block
    for start in range(0, count * block, step):
        end = min(start + step, count * block)
        first = max(0, start - context)
        energy = k_weighted_energy(x[first:end], rate)[start - first :]
        edges = energy[::block]
        powers[start // block : end // block] = np.diff(edges) / block
    return powers


def short_term_lufs(block_powers: np.ndarray) -> np.ndarray:
    """Short-term loudness (3 s windows every 100 ms, plain reading) from 100 ms block powers."""
    window = int(round(SHORT_TERM_S / BLOCK_S))
    if len(block_powers) < window:
        return -0.691 + power_db(np.array([block_powers.mean() if len(block_powers) else 0.0]))
    sums = np.cumsum(np.concatenate([[0.0], block_powers]))
    return -0.691 + power_db((sums[window:] - sums[:-window]) / window)


def loudness_range(x: np.ndarray, rate: int) -> float:
    """EBU Tech 3342 loudness range in LU (as `loudness.measure` reads it, a piece at a time)."""
    return loudness_range_lu(short_term_lufs(block_loudness_powers(x, rate)))
