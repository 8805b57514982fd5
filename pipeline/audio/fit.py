"""Duration fitting: choose the speaking-rate factor that lands an episode in its window.

Only speech stretches with the rate; padding and pauses between sentences are fixed, so the
model scales the speech part alone: speech_s ~ rate ** -k. Engines differ in k (Piper's
length scale stretches speech by less than it says), so k starts at 1 and is re-estimated from
each attempt. An episode already in the window keeps its natural pace; one outside aims just
inside the nearer edge rather than at the centre, to change the pace as little as possible.
"""

from __future__ import annotations

import math

EDGE_MARGIN = 0.125
"""Aim this fraction of the window's width inside the nearer edge."""
K_BOUNDS = (0.2, 2.0)


def rate_for_window(
    attempts: list[tuple[float, float]],
    fixed_s: float,
    window_s: tuple[float, float],
    bounds: tuple[float, float],
) -> float | None:
    """The rate factor to try next, or None if the last attempt is inside the window.

    `attempts` holds (rate, duration_s) pairs so far, latest last; `fixed_s` is the part of the
    duration that does not scale with the rate. The answer is clamped to `bounds`; when it
    equals the last rate, the bounds cannot do better.
    """
    rate, duration_s = attempts[-1]
    low, high = window_s
    if low <= duration_s <= high:
        return None
    k = 1.0
    if len(attempts) >= 2:
        (r1, d1), (r2, d2) = attempts[-2], attempts[-1]
        s1, s2 = d1 - fixed_s, d2 - fixed_s
        if r1 != r2 and s1 > 0 and s2 > 0 and s1 != s2:
            k = min(max(-math.log(s2 / s1) / math.log(r2 / r1), K_BOUNDS[0]), K_BOUNDS[1])
    margin = (high - low) * EDGE_MARGIN
    aim = min(max(duration_s, low + margin), high - margin)
    speech = max(duration_s - fixed_s, 1e-3)
    wanted = rate * (speech / max(aim - fixed_s, 1e-3)) ** (1.0 / k)
    return round(min(max(wanted, bounds[0]), bounds[1]), 4)
