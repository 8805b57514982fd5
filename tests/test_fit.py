"""Duration fit: pauses first, then the voice's rate, then tempo; each within its bounds, aiming at
the target (give or take 2.5 %), not merely inside the window."""

from __future__ import annotations

import pytest

from pipeline.audio.fit import FitLimits, choose, quantise_rate, scaled_pauses

LIMITS = FitLimits(window_s=(80.0, 100.0), target_s=90.0, rate_bounds=(0.85, 1.15), min_pause_ms=250,
                   max_pause_ms=1500, max_tempo_change=0.08)
PAUSES = [400] * 20 + [750] * 5  # 11.75 s of pauses
PADS = 1.0


def total(speech_s: float, scale: float = 1.0, tempo: float = 1.0) -> float:
    pauses = sum(scaled_pauses(PAUSES, scale, 250, 1500)) / 1000
    return PADS + (speech_s + pauses) / tempo


def test_on_target_keeps_everything_natural():
    choice = choose([(1.0, 77.0)], PAUSES, PADS, LIMITS)  # 89.75 s
    assert (choice.rate, choice.pause_scale, choice.tempo, choice.resynthesize) == (1.0, 1.0, 1.0, False)


@pytest.mark.parametrize("speech_s, edge", [(84.0, 92.25), (72.0, 87.75)])  # 96.75 s and 84.75 s natural
def test_inside_the_window_but_off_target_moves_the_pauses_to_the_target_band(speech_s, edge):
    choice = choose([(1.0, speech_s)], PAUSES, PADS, LIMITS)
    assert not choice.resynthesize and choice.rate == 1.0 and choice.tempo == 1.0
    assert choice.pause_scale != 1.0
    assert choice.duration_s == pytest.approx(edge, abs=0.05)  # the band's nearer edge: 90 s +- 2.5 %
    assert total(speech_s, choice.pause_scale) == pytest.approx(choice.duration_s, abs=0.01)


def test_a_near_miss_the_pauses_cannot_close_is_not_worth_a_new_voice_rate():
    choice = choose([(1.0, 86.5)], PAUSES, PADS, LIMITS)  # every pause at its minimum: 93.75 s, 3.75 s off
    assert not choice.resynthesize and choice.rate == 1.0 and choice.pause_scale == 0.0
    assert choice.duration_s == pytest.approx(93.75, abs=0.01)


def test_far_off_target_inside_the_window_asks_for_another_rate():
    choice = choose([(1.0, 88.0)], PAUSES, PADS, LIMITS)  # 95.25 s at the shortest pauses: over 5 % off
    assert choice.resynthesize and choice.rate > 1.0


def test_pauses_never_go_below_their_minimum():
    assert scaled_pauses([400, 750, 200], 0.1, 250, 1500) == [250, 250, 200]
    assert scaled_pauses([400, 750], 3.0, 250, 1500) == [1200, 1500]


def test_far_too_long_asks_for_a_faster_voice_after_the_pauses():
    choice = choose([(1.0, 110.0)], PAUSES, PADS, LIMITS)
    assert choice.resynthesize and choice.rate > 1.0
    assert choice.pause_scale == 0.0  # every pause at its minimum first
    assert round(choice.rate, 2) == choice.rate  # quantised: an edit re-speaks only the edited sentence


def test_rate_learns_a_voice_that_stretches_less_than_asked():
    speech = lambda rate: 92.0 * rate ** -0.5  # noqa: E731 - Piper-like: half the stretch it is told
    first = choose([(1.0, speech(1.0))], PAUSES, PADS, LIMITS)
    second = choose([(1.0, speech(1.0)), (first.rate, speech(first.rate))], PAUSES, PADS, LIMITS)
    assert second.rate > first.rate
    third = choose([(1.0, speech(1.0)), (first.rate, speech(first.rate)), (second.rate, speech(second.rate))],
                   PAUSES, PADS, LIMITS)
    assert 80.0 <= third.duration_s <= 100.0


def test_tempo_is_the_last_resort_and_bounded():
    at_bound = [(1.0, 120.0), (1.15, 112.0)]
    choice = choose(at_bound, PAUSES, PADS, LIMITS)
    assert not choice.resynthesize and choice.rate == 1.15
    assert choice.tempo == pytest.approx(1.08)  # as fast as allowed
    assert choice.duration_s > 100.0  # still long: the build warns (or fails with --strict)
    assert choose([(1.0, 120.0)], PAUSES, PADS, LIMITS, may_resynthesize=False).tempo > 1.0


def test_too_short_lengthens_pauses_then_slows_down():
    choice = choose([(1.0, 62.0)], PAUSES, PADS, LIMITS)  # 74.75 s natural
    assert choice.pause_scale > 1.0 or choice.rate < 1.0
    assert quantise_rate(0.8549) == 0.85
