"""Mains hum: found in the recording's own spectrum (50 or 60 Hz, and which harmonics), then
notched out.

Hum is a steady line spectrum, speech is not: averaged over the recording, a hum harmonic stands
far above the spectrum a few hertz either side of it, where speech leaves a smooth slope. The
frequency is read to a few hundredths of a hertz (a parabola through the peak's three bins, on a
0.4 Hz grid), so each harmonic can get a notch only NOTCH_WIDTH_HZ wide: speech loses nothing it
would miss. scipy's `iirnotch` gives each notch; they run as one cascade of second-order sections,
twice (the depth doubles), a piece at a time with the filter's state carried, in float32 out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .frames import CHUNK_SAMPLES, power_db

MAINS_HZ = (50.0, 60.0)
MAX_HARMONIC_HZ = 1500.0
"""Harmonics are looked for up to here (hum from a ground loop or a cheap supply rarely goes higher)."""
DETECT_PROMINENCE_DB = 12.0
"""A harmonic counts as hum when it stands this far above the spectrum around it..."""
MIN_HARMONICS = 2
"""...and hum is found when at least this many do (or the fundamental alone does)."""
NOTCH_PROMINENCE_DB = 6.0
"""Once hum is found, every harmonic that stands this far out is notched."""
NOTCH_WIDTH_HZ = 2.0
"""-3 dB width of each notch."""
RESOLUTION_HZ = 0.4
"""Spectrum bin width at most this (a segment of 2.5 s or more)."""
MAX_SEGMENTS = 200
"""The spectrum averages at most this many segments, spread over the recording (hum is steady)."""
NEIGHBOURS_HZ = (3.0, 12.0)
"""The spectrum 'around' a harmonic: from 3 to 12 Hz away on either side."""


@dataclass(frozen=True)
class Hum:
    """Hum found in a recording."""

    frequency_hz: float
    """Its fundamental, as measured (near 50 or 60)."""
    harmonics: tuple[int, ...]
    """Which multiples of the fundamental stand out (1 is the fundamental) and are notched."""


@dataclass(frozen=True)
class Spectrum:
    """Average power spectral density of a recording."""

    frequencies_hz: np.ndarray
    density: np.ndarray
    """Power per hertz (one-sided), so a sine of amplitude A sums to A²/2 over its bins."""

    @property
    def bin_hz(self) -> float:
        return float(self.frequencies_hz[1] - self.frequencies_hz[0])

    def line_level_dbfs(self, frequency_hz: float) -> float:
        """Level of the component at `frequency_hz` in dBFS (a full-scale sine reads 0): the
        power within a hertz of it."""
        band = np.abs(self.frequencies_hz - frequency_hz) <= 1.0
        return float(power_db(2.0 * self.density[band].sum() * self.bin_hz))

    def prominence_db(self, frequency_hz: float) -> float:
        """How far the strongest bin within a bin of `frequency_hz` stands above the median of
        the spectrum around it (NEIGHBOURS_HZ away)."""
        distance = np.abs(self.frequencies_hz - frequency_hz)
        peak = self.density[distance <= 1.5 * self.bin_hz].max()
        around = self.density[(distance >= NEIGHBOURS_HZ[0]) & (distance <= NEIGHBOURS_HZ[1])]
        return float(power_db(peak) - power_db(np.median(around)))

    def peak_hz(self, frequency_hz: float) -> float:
        """Where the peak nearest `frequency_hz` really is: a parabola through the log power of
        its bin and the bins either side."""
        index = int(np.argmin(np.abs(self.frequencies_hz - frequency_hz)))
        window = range(max(1, index - 2), min(len(self.density) - 1, index + 3))
        index = max(window, key=lambda i: self.density[i])
        left, centre, right = power_db(self.density[index - 1 : index + 2])
        curvature = left - 2.0 * centre + right
        offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        return float(self.frequencies_hz[index] + offset * self.bin_hz)


def spectrum(x: np.ndarray, rate: int) -> Spectrum:
    """Welch's average of Hann-windowed segments of at least 1/RESOLUTION_HZ seconds, at most
    MAX_SEGMENTS of them spread evenly over the recording (half-overlapping where it is short)."""
    size = 1 << math.ceil(math.log2(rate / RESOLUTION_HZ))
    if len(x) < size:
        x = np.pad(x, (0, size - len(x)))
    count = min(MAX_SEGMENTS, max(1, 2 * len(x) // size - 1))
    window = np.hanning(size + 1)[:-1]
    total = np.zeros(size // 2 + 1)
    for start in np.linspace(0, len(x) - size, count).astype(np.int64):
        total += np.abs(np.fft.rfft(x[start : start + size] * window)) ** 2
    density = total / count / (rate * np.sum(window**2))
    density[1:-1] *= 2.0
    return Spectrum(np.fft.rfftfreq(size, 1.0 / rate), density)


def _harmonics(fundamental: float, rate: int) -> list[int]:
    top = min(MAX_HARMONIC_HZ, rate / 2.0 - NEIGHBOURS_HZ[1] - 1.0)
    return list(range(1, int(top // fundamental) + 1))


def detect_hum(found: Spectrum, rate: int) -> Hum | None:
    """The mains hum in a spectrum, if any: the mains frequency (50 or 60 Hz) more of whose
    harmonics stand out; None when neither has the fundamental or MIN_HARMONICS standing out."""
    best: tuple[float, float, list[int]] | None = None
    for mains in MAINS_HZ:
        prominences = {k: found.prominence_db(k * mains) for k in _harmonics(mains, rate)}
        strong = [k for k, p in prominences.items() if p >= DETECT_PROMINENCE_DB]
        if not strong or (len(strong) < MIN_HARMONICS and strong != [1]):
            continue
        score = sum(prominences[k] for k in strong)
        if best is None or score > best[0]:
            best = (score, mains, strong)
    if best is None:
        return None
    _, mains, strong = best
    # The fundamental from the strongest harmonics' peaks (a high harmonic reads it most finely).
    estimates = [found.peak_hz(k * mains) / k for k in strong]
    weights = [k * found.prominence_db(k * mains) for k in strong]
    fundamental = float(np.average(estimates, weights=weights))
    notched = tuple(k for k in _harmonics(fundamental, rate)
                    if found.prominence_db(k * fundamental) >= NOTCH_PROMINENCE_DB)
    return Hum(round(fundamental, 3), notched)


def notch_sections(hum: Hum, rate: int) -> np.ndarray:
    """Second-order sections of the notch cascade: each harmonic's notch, twice."""
    from scipy.signal import iirnotch, tf2sos

    sections = []
    for k in hum.harmonics:
        frequency = k * hum.frequency_hz
        b, a = iirnotch(frequency, frequency / NOTCH_WIDTH_HZ, rate)
        sections += [tf2sos(b, a)] * 2
    return np.concatenate(sections)


def filter_in_pieces(x: np.ndarray, sos: np.ndarray) -> np.ndarray:
    """`scipy.signal.sosfilt` over `x` a piece at a time (state carried), float32 out."""
    from scipy.signal import sosfilt

    out = np.empty(len(x), dtype=np.float32)
    state = np.zeros((len(sos), 2))
    for start in range(0, len(x), CHUNK_SAMPLES):
        piece, state = sosfilt(sos, x[start : start + CHUNK_SAMPLES].astype(np.float64), zi=state)
        out[start : start + len(piece)] = piece
    return out


def remove_hum(x: np.ndarray, rate: int, hum: Hum) -> np.ndarray:
    """`x` with each of the hum's harmonics notched out."""
    return filter_in_pieces(x, notch_sections(hum, rate))
