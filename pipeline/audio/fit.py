"""Duration fitting, the way an editor would: least audible change first, aiming at the target.

The fit lands an episode on its target duration, give or take TARGET_BAND of it (90 s: 87.75 to
92.25 s), not merely inside the accepted window:

1. Pauses: scale the pauses between sentences and paragraphs (never below `min_pause_ms`, never
   above `max_pause_ms` or twice their length) toward the band. No re-synthesis.
2. Speaking rate, when the pauses cannot reach the band: re-synthesize at another rate factor
   within the voice's bounds. Only speech stretches with the rate: speech_s ~ rate ** -k. Engines
   differ in k (Piper's length scale stretches speech by about half what it says), so k starts at
   1 and is re-estimated from each attempt. Rates are quantised to 0.01, so an edited episode
   re-synthesizes only its edited sentence at the rate it was fitted to.
3. Tempo, only when the episode would still fall outside the window: a pitch-preserving tempo
   change of the whole narration, at most `max_tempo_change`.

An episode already in the band keeps its natural pace; one outside aims at the band's nearer edge,
so the changes stay as small as they can be. Words are never cut.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

TARGET_BAND = 0.025
"""How near the target (a fraction of it) counts as on target: no change is made there."""
RATE_BAND = 0.05
"""How far from the target (a fraction of it) the pauses may leave an episode before the voice's
rate changes too: a re-synthesis of every sentence is not worth the last second."""
SLACK_S = 0.05
"""Pauses are whole milliseconds: a duration this close to the band is in it."""
K_BOUNDS = (0.2, 2.0)
RATE_STEP = 0.01
MAX_PAUSE_SCALE = 2.0


@dataclass(frozen=True)
class FitLimits:
    """What the fit may change, from the production settings."""

    window_s: tuple[float, float]
    """The accepted duration of the narration (pads included)."""
    target_s: float
    """The duration aimed at (the window's centre, less what an intro and outro add, where they count)."""
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


def limits_for(production: Any, window_s: tuple[float, float]) -> FitLimits:
    """The fit's bounds from an episode's production settings, for a narration window (the
    production's, less what an intro and outro add when they count), aiming at its centre."""
    low, high = window_s
    return FitLimits((low, high), (low + high) / 2, (production.min_rate, production.max_rate),
                     production.min_pause_ms, production.max_pause_ms, production.max_tempo_change)


def scaled_pauses(pauses_ms: list[int], scale: float, min_pause_ms: int, max_pause_ms: int) -> list[int]:
    """Each pause times `scale`, shortened no further than `min_pause_ms` (nor below itself when
    lengthening), lengthened no further than `max_pause_ms`."""
    out = []
    for pause in pauses_ms:
        value = pause * scale
        value = max(value, min(pause, min_pause_ms)) if scale < 1.0 else min(value, max(pause, max_pause_ms))
        out.append(int(round(value)))
    return out


def quantise_rate(rate: float) -> float:
    return round(round(rate / RATE_STEP) * RATE_STEP, 4)


def band_s(limits: FitLimits) -> tuple[float, float]:
    """The durations that count as on target, within the window."""
    low, high = limits.window_s
    half = limits.target_s * TARGET_BAND
    return max(low, limits.target_s - half), min(high, limits.target_s + half)


def _aim(duration_s: float, band: tuple[float, float]) -> float:
    return min(max(duration_s, band[0]), band[1])


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
    band = band_s(limits)
    natural = speech_s + sum(pauses_ms) / 1000.0 + pads_s
    if band[0] <= natural <= band[1]:
        return FitChoice(rate, 1.0, 1.0, natural, False)
    aim = _aim(natural, band)
    scale = _pause_scale_for(aim - speech_s - pads_s, pauses_ms, limits)
    pauses_s = sum(scaled_pauses(pauses_ms, scale, limits.min_pause_ms, limits.max_pause_ms)) / 1000.0
    duration = speech_s + pauses_s + pads_s
    if band[0] - SLACK_S <= duration <= band[1] + SLACK_S:
        return FitChoice(rate, scale, 1.0, duration, False)
    # Pauses alone cannot reach the band: the voice's rate next (when far off), then tempo (outside the window).
    far = abs(duration - limits.target_s) > limits.target_s * RATE_BAND or not low <= duration <= high
    wanted_speech = max(aim - pauses_s - pads_s, 1e-3)
    wanted = rate * (speech_s / wanted_speech) ** (1.0 / _exponent(attempts))
    wanted = quantise_rate(min(max(wanted, limits.rate_bounds[0]), limits.rate_bounds[1]))
    if far and may_resynthesize and wanted not in {r for r, _ in attempts}:
        return FitChoice(wanted, scale, 1.0, duration, True)
    if low <= duration <= high:
        return FitChoice(rate, scale, 1.0, duration, False)
    span = (duration - pads_s) / max(aim - pads_s, 1e-3)
    tempo = min(max(span, 1.0 - limits.max_tempo_change), 1.0 + limits.max_tempo_change)
    tempo = round(tempo, 4)
    return FitChoice(rate, scale, tempo, pads_s + (duration - pads_s) / tempo, False)
