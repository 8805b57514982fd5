"""Duration fit: which rate to try next."""

from __future__ import annotations

import pytest

from pipeline.audio.fit import rate_for_window

WINDOW = (80.0, 100.0)
BOUNDS = (0.85, 1.15)


def test_inside_window_keeps_natural_pace():
    assert rate_for_window([(1.0, 90.0)], 10.0, WINDOW, BOUNDS) is None
    assert rate_for_window([(1.0, 80.0)], 10.0, WINDOW, BOUNDS) is None


def test_too_long_speeds_up_towards_the_near_edge():
    # 110 s with 10 s fixed: aim 97.5 s -> speech 100 -> 87.5 s, rate 100/87.5.
    assert rate_for_window([(1.0, 110.0)], 10.0, WINDOW, BOUNDS) == pytest.approx(100 / 87.5, abs=1e-3)


def test_too_short_slows_down_and_is_clamped():
    assert rate_for_window([(1.0, 75.0)], 10.0, WINDOW, BOUNDS) == pytest.approx(65 / 72.5, abs=1e-3)
    assert rate_for_window([(1.0, 40.0)], 10.0, WINDOW, BOUNDS) == 0.85


def test_learns_a_voice_that_stretches_less_than_asked():
    # The voice responds with k = 0.5: speech_s = 65 * rate ** -0.5.
    bounds = (0.5, 1.5)
    speech = lambda rate: 65.0 * rate ** -0.5  # noqa: E731
    first = rate_for_window([(1.0, 10.0 + speech(1.0))], 10.0, WINDOW, bounds)
    second = rate_for_window([(1.0, 10.0 + speech(1.0)), (first, 10.0 + speech(first))], 10.0, WINDOW, bounds)
    assert second < first
    # With the exponent learned from two attempts, the third lands on the aim (82.5 s).
    assert 10.0 + speech(second) == pytest.approx(82.5, abs=0.01)
