"""Pitch-preserving tempo change: pitch kept, duration and speech onsets scaled by 1/factor."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.audio.dsp import assemble, silent_runs, trim_silence
from pipeline.audio.tempo import change_tempo
from pipeline.errors import AudioError

from .tone_engine import ToneEngine

RATE = 44100


def peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[np.argmax(spectrum)])


def rms_db(x: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(x.astype(np.float64) ** 2)))


@pytest.mark.parametrize("factor", [0.92, 0.97, 1.05, 1.08])
def test_tone_keeps_its_pitch_and_level_while_its_duration_changes(factor):
    t = np.arange(5 * RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    stretched = change_tempo(tone, RATE, factor)
    assert stretched.dtype == np.float32
    assert len(stretched) == round(len(tone) / factor)
    middle = stretched[RATE // 2 : -RATE // 2]
    assert peak_hz(middle, RATE) == pytest.approx(440.0, abs=1.0)
    assert rms_db(middle) == pytest.approx(rms_db(tone), abs=0.5)


@pytest.mark.parametrize("factor", [0.92, 1.08])
def test_speech_onsets_scale_by_the_inverse_of_the_factor(factor):
    engine = ToneEngine()
    rate = engine.sample_rate
    words = ["Short words here.", "A longer sentence with several more words in it.", "Then one more.",
             "The end of the test clip arrives."]
    clips = [(trim_silence(engine.synthesize(text, 1.0), rate), 500) for text in words]
    speech, _ = assemble(clips, rate, 300, 700)
    stretched = change_tempo(speech, rate, factor)
    assert len(stretched) == round(len(speech) / factor)
    onsets = np.array([end for _, end in silent_runs(speech, rate)]) / rate
    moved = np.array([end for _, end in silent_runs(stretched, rate)]) / rate
    assert len(moved) == len(onsets) > 10  # every word gap survives
    assert np.abs(moved - onsets / factor).max() < 0.025  # atempo's windows smear onsets a little


def test_factor_one_is_the_identity_and_bounds_hold():
    noise = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    assert np.array_equal(change_tempo(noise, RATE, 1.0), noise)
    for factor in (0.9, 1.1):
        with pytest.raises(AudioError, match=r"outside 0\.92\.\.1\.08"):
            change_tempo(noise, RATE, factor)
