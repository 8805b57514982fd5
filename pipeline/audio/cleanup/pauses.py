"""Long pauses shortened to the production's `max_pause_ms`, never into a word.

The rule is `dsp.cap_pauses`' (a pause longer than the limit loses its middle, so half the limit
stays after the last word and half before the next), with two differences a recording needs:
speech is told from pauses by `frames.speech_mask` (which clears the room tone; `cap_pauses`
judges against digital silence, and finds no pause in a noisy recording), and the two ends are
joined with a CROSSFADE_MS equal-power crossfade, since room tone cut dead clicks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .frames import FLOOR_DB, frame_size, speech_mask

CROSSFADE_MS = 10.0
SOUND_BELOW_PEAK_DB = 35.0
"""Speech (`frames.speech_mask`) more than this under the loudest frame (a word's last breath, what
noise reduction leaves after a word) does not shorten a pause; the cut is in the pause's middle,
so such a tail is kept whole."""
MIN_WORD_MS = 150.0
QUIET_BELOW_PEAK_DB = 25.0
"""A sound in a pause that is shorter than MIN_WORD_MS and QUIET_BELOW_PEAK_DB under the
recording's loudest frame (a breath, a lip noise, a burst that noise reduction let through) is no
word, and does not end the pause."""


@dataclass(frozen=True)
class Shortened:
    """What shortening the pauses did."""

    audio: np.ndarray
    pauses: int
    """How many pauses were shortened."""
    removed_s: float


def pause_runs(levels_db: np.ndarray, rate: int) -> list[tuple[int, int]]:
    """(start, end) sample ranges of the pauses between words (not before the first or after the
    last), from the recording's 10 ms frame levels."""
    size = frame_size(rate)
    peak = float(levels_db.max(initial=FLOOR_DB))
    sound = speech_mask(levels_db) & (levels_db > peak - SOUND_BELOW_PEAK_DB)
    quiet = peak - QUIET_BELOW_PEAK_DB
    edges = np.flatnonzero(np.diff(np.concatenate([[0], sound.astype(np.int8), [0]])))
    for first, end in zip(edges[::2], edges[1::2]):
        if (end - first) * size < rate * MIN_WORD_MS / 1000.0 and levels_db[first:end].max() < quiet:
            sound[first:end] = False
    edges = np.flatnonzero(np.diff(np.concatenate([[1], sound.astype(np.int8), [1]])))
    runs = zip(edges[::2], edges[1::2])
    return [(int(a) * size, int(b) * size) for a, b in runs if a > 0 and b < len(sound)]


def shorten_pauses(x: np.ndarray, rate: int, levels_db: np.ndarray, max_pause_ms: float) -> Shortened:
    """`x` with every pause longer than `max_pause_ms` shortened to it; `levels_db` is
    `frames.frame_levels` of it."""
    limit = int(rate * max_pause_ms / 1000.0)
    fade = min(int(rate * CROSSFADE_MS / 1000.0), limit // 2)
    cuts = []
    for start, end in pause_runs(levels_db, rate):
        if end - start > limit:
            # Keep limit // 2 after the word and the rest before the next; the crossfade overlaps them.
            cuts.append((start + limit // 2 + fade // 2, end - (limit - limit // 2) + fade - fade // 2))
    if not cuts:
        return Shortened(x, 0, 0.0)
    removed = sum(b - a for a, b in cuts)
    out = np.empty(len(x) - removed, dtype=np.float32)
    angle = (np.arange(fade) + 0.5) / fade * np.pi / 2
    fade_out, fade_in = np.cos(angle).astype(np.float32), np.sin(angle).astype(np.float32)
    written, position = 0, 0
    for cut_from, cut_to in cuts:
        keep = x[position : cut_from - fade]
        out[written : written + len(keep)] = keep
        written += len(keep)
        out[written : written + fade] = x[cut_from - fade : cut_from] * fade_out + x[cut_to - fade : cut_to] * fade_in
        written += fade
        position = cut_to
    out[written:] = x[position:]
    return Shortened(out, len(cuts), round(removed / rate, 3))
