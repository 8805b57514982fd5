"""Duration fitting, the way an editor would: least audible change first.

1. Pauses: scale the pauses between sentences and paragraphs (never below `min_pause_ms`, never
   above `max_pause_ms` or twice their length). No re-synthesis.
2. Speaking rate: re-synthesize at another rate factor within the voice's bounds. Only speech
   stretches with the rate: speech_s ~ rate ** -k. Engines differ in k (Piper's length scale
   stretches speech by about half what it says), so k starts at 1 and is re-estimated from each
   attempt. Rates are quantised to 0.01, so an edited episode re-synthesizes only its edited
   sentence at the rate it was fitted to.
3. Tempo: a pitch-preserving tempo change of the whole narration, at most `max_tempo_change`.

An episode already in the window keeps its natural pace; one outside aims just inside the nearer
edge rather than at the centre. Words are never cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EDGE_MARGIN = 0.125
"""Aim this fraction of the window's width inside the nearer edge."""
K_BOUNDS = (0.2, 2.0)
RATE_STEP = 0.01
MAX_PAUSE_SCALE = 2.0


@dataclass(frozen=True)
class FitLimits:
    """What the fit may change, from the production settings."""

    window_s: tuple[float, float]
    """The accepted duration of the narration (pads included)."""
    rate_bounds: tuple[float, float]
    min_pause_ms: int
    max_pause_ms: int
    max_tempo_change: float


@dataclass(frozen=True)
class FitChoice:
    """The fit's answer for the latest attempt."""

    rate: float
    """Rate factor to synthesize at; equal to the attempt's rate when no re-synthesis is wanted."""
    pause_scale: float
    tempo: float
    """Tempo factor for the assembled narration (1.05 = 5% faster)."""
    duration_s: float
    """Predicted narration duration with these choices (for the attempt's speech)."""
    resynthesize: bool


def scaled_pauses(pauses_ms: list[int], scale: float, min_pause_ms: int, max_pause_ms: int) -> list[int]:
    """Each pause times `scale`, shortened no further than `min_pause_ms` (nor below itself when
    lengthening), lengthened no further than `max_pause_ms`."""
    out = []
    for pause in pauses_ms:
        value = pause * scale
        if scale < 1.0:
            value = max(value, min(pause, min_pause_ms))
        else:
            value = min(value, max(pause, max_pause_ms))
        out.append(int(round(value)))
    return out


def quantise_rate(rate: float) -> float:
    return round(round(rate / RATE_STEP) * RATE_STEP, 4)


def _aim(duration_s: float, window_s: tuple[float, float]) -> float:
    low, high = window_s
    margin = (high - low) * EDGE_MARGIN
    return min(max(duration_s, low + margin), high - margin)


def _pause_scale_for(target_pauses_s: float, pauses_ms: list[int], limits: FitLimits) -> float:
    """The pause scale whose scaled pauses add up closest to `target_pauses_s` (bisection: the sum
    grows with the scale)."""
    def total(scale: float) -> float:
        return sum(scaled_pauses(pauses_ms, scale, limits.min_pause_ms, limits.max_pause_ms)) / 1000.0

    low, high = 0.0, MAX_PAUSE_SCALE
    if target_pauses_s <= total(low):
        return low
    if target_pauses_s >= total(high):
        return high
    for _ in range(40):
        middle = (low + high) / 2
        if total(middle) < target_pauses_s:
            low = middle
        else:
            high = middle
    return round((low + high) / 2, 4)


def _exponent(attempts: list[tuple[float, float]]) -> float:
    """How strongly speech duration follows the rate, from the last two attempts (1.0 if unknown)."""
    if len(attempts) < 2:
        return 1.0
    (r1, s1), (r2, s2) = attempts[-2], attempts[-1]
    if r1 == r2 or s1 <= 0 or s2 <= 0 or s1 == s2:
        return 1.0
    return min(max(-math.log(s2 / s1) / math.log(r2 / r1), K_BOUNDS[0]), K_BOUNDS[1])


def choose(attempts: list[tuple[float, float]], pauses_ms: list[int], pads_s: float, limits: FitLimits,
           may_resynthesize: bool = True) -> FitChoice:
    """What to do after the latest attempt: `attempts` holds (rate factor, speech seconds) pairs,
    latest last, where speech is the sum of the trimmed sentence clips at that rate. With
    `may_resynthesize` False (no synthesis rounds left), pauses and tempo only."""
    rate, speech_s = attempts[-1]
    low, high = limits.window_s
    natural = speech_s + sum(pauses_ms) / 1000.0 + pads_s
    if low <= natural <= high:
        return FitChoice(rate, 1.0, 1.0, natural, False)
    aim = _aim(natural, limits.window_s)
    scale = _pause_scale_for(aim - speech_s - pads_s, pauses_ms, limits)
    pauses_s = sum(scaled_pauses(pauses_ms, scale, limits.min_pause_ms, limits.max_pause_ms)) / 1000.0
    duration = speech_s + pauses_s + pads_s
    if low <= duration <= high:
        return FitChoice(rate, scale, 1.0, duration, False)
    # Pauses alone cannot do it: the voice's rate next, then tempo.
    wanted_speech = max(aim - pauses_s - pads_s, 1e-3)
    wanted = rate * (speech_s / wanted_speech) ** (1.0 / _exponent(attempts))
    wanted = quantise_rate(min(max(wanted, limits.rate_bounds[0]), limits.rate_bounds[1]))
    if may_resynthesize and wanted not in {r for r, _ in attempts}:
        return FitChoice(wanted, scale, 1.0, duration, True)
    span = (duration - pads_s) / max(aim - pads_s, 1e-3)
    tempo = min(max(span, 1.0 - limits.max_tempo_change), 1.0 + limits.max_tempo_change)
    tempo = round(tempo, 4)
    return FitChoice(rate, scale, tempo, pads_s + (duration - pads_s) / tempo, False)
