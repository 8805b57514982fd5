"""Mouth clicks and other short impulses: found where the high band jumps far above its
surroundings for a few milliseconds, and repaired by keeping only the low band there.

A click is brief and broadband; speech's own high band (fricatives, plosive bursts) rises and
falls over tens of milliseconds. So a click is a run of at most MAX_CLICK_MS of 1 ms frames whose
high-band peak stands CLICK_RATIO times above the high band's peaks a few milliseconds before it
and a few milliseconds after it (a word's onset is loud after, its end loud before). Its repair
replaces those milliseconds (and a 1 ms margin, faded in and out over FADE_MS) by the same
stretch low-passed at SPLIT_HZ with scipy's zero-phase `sosfiltfilt`: the voice under the click
keeps its body, the click loses its crack. No library offers a de-clicker over arrays
(pedalboard, noisereduce and scipy have none), so this one is small and written here."""

from __future__ import annotations

import numpy as np

from .frames import frame_peaks, frame_size
from .hum import filter_in_pieces

SPLIT_HZ = 2000.0
"""The high band (where a click stands out from speech) starts here."""
FRAME_MS = 1.0
GAP_MS = 3.0
SPAN_MS = 15.0
"""A frame's surroundings: SPAN_MS of high band on each side, starting GAP_MS away (longer than
a low voice's pitch period, 14 ms at 70 Hz, so each side holds a glottal pulse if there is one)."""
CLICK_RATIO = 3.5
"""A click's high-band peak stands this many times (11 dB) above the peaks of both its
surroundings (RMS would not do: a voice's glottal pulses are as sharp as clicks, but they come
every few milliseconds, each as high as the last)..."""
MIN_CLICK_DBFS = -45.0
"""...and above this absolute level."""
MAX_CLICK_MS = 3.0
"""A longer run of such frames is not a click."""
MARGIN_MS = 1.0
FADE_MS = 0.5
REPAIR_CONTEXT_MS = 10.0
"""Signal either side of a click low-passed with it, so the zero-phase filter settles."""


def _sections(rate: int, kind: str) -> np.ndarray:
    from scipy.signal import butter

    return butter(4, min(SPLIT_HZ, 0.45 * rate), btype=kind, fs=rate, output="sos")


def _window_max(values: np.ndarray, offset: int, width: int) -> np.ndarray:
    """max(values[i + offset : i + offset + width]) for each i (0 where the window leaves the array)."""
    out = np.zeros(len(values), dtype=values.dtype)
    for shift in range(offset, offset + width):
        if shift >= 0:
            np.maximum(out[: len(values) - shift], values[shift:], out=out[: len(values) - shift])
        else:
            np.maximum(out[-shift:], values[: len(values) + shift], out=out[-shift:])
    return out


def find_clicks(x: np.ndarray, rate: int) -> list[tuple[int, int]]:
    """(start, end) sample ranges of the clicks in `x`, margins included."""
    size = frame_size(rate, FRAME_MS)
    high = filter_in_pieces(x, _sections(rate, "highpass"))
    peaks = frame_peaks(high, size)
    del high
    gap, span = int(round(GAP_MS / FRAME_MS)), int(round(SPAN_MS / FRAME_MS))
    around = np.maximum(_window_max(peaks, -gap - span, span), _window_max(peaks, gap + 1, span))
    loud = (peaks > CLICK_RATIO * around) & (peaks > 10.0 ** (MIN_CLICK_DBFS / 20.0))
    longest = max(1, int(round(MAX_CLICK_MS / FRAME_MS)))
    margin = int(rate * MARGIN_MS / 1000.0)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], loud.astype(np.int8), [0]])))
    return [(max(0, int(first) * size - margin), min(len(x), int(end) * size + margin))
            for first, end in zip(edges[::2], edges[1::2]) if end - first <= longest]


def repair_clicks(x: np.ndarray, rate: int, clicks: list[tuple[int, int]]) -> np.ndarray:
    """A copy of `x` with each click range replaced by its low band, faded in and out."""
    from scipy.signal import sosfiltfilt

    sections = _sections(rate, "lowpass")
    context = int(rate * REPAIR_CONTEXT_MS / 1000.0)
    fade = max(1, int(rate * FADE_MS / 1000.0))
    out = np.array(x, dtype=np.float32, copy=True)
    for start, end in clicks:
        first, last = max(0, start - context), min(len(x), end + context)
        segment = out[first:last].astype(np.float64)
        low = sosfiltfilt(sections, segment, padlen=min(len(segment) - 1, 3 * context))
        weight = np.zeros(len(segment))
        a, b = start - first, end - first
        weight[a:b] = 1.0
        ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(1, fade + 1) / (fade + 1))
        weight[max(0, a - fade) : a] = ramp[fade - (a - max(0, a - fade)) :]
        weight[b : b + fade] = ramp[::-1][: len(weight[b : b + fade])]
        out[first:last] = segment + weight * (low - segment)
    return out
