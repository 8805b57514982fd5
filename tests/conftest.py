"""Shared fixtures: a throwaway project folder and a tone-speaking engine double."""

from __future__ import annotations

import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pipeline.engines import load_engine
from pipeline.audio.codec import ffmpeg_path

REPO = Path(__file__).resolve().parents[1]


class ToneEngine:
    """Speaks each word as a tone burst whose length scales exactly with 1/rate.

    Fast and deterministic, with silence around each sentence like a real voice, so trimming,
    pauses, fitting and levelling can be tested without a model.
    """

    sample_rate = 22050
    identity = "tone-engine"

    def __init__(self, seconds_per_letter: float = 0.05, level: float = 0.3):
        self.seconds_per_letter = seconds_per_letter
        self.level = level
        self.calls: list[tuple[str, float]] = []

    def synthesize(self, text: str, rate: float) -> np.ndarray:
        self.calls.append((text, rate))
        parts = [np.zeros(int(0.2 * self.sample_rate), dtype=np.float32)]
        for index, word in enumerate(text.split()):
            n = int(self.sample_rate * self.seconds_per_letter * len(word) / rate)
            t = np.arange(n) / self.sample_rate
            tone = self.level * np.sin(2 * np.pi * (180 + 20 * (index % 5)) * t) * np.hanning(n)
            parts += [tone.astype(np.float32), np.zeros(int(0.04 * self.sample_rate / rate), dtype=np.float32)]
        parts.append(np.zeros(int(0.3 * self.sample_rate), dtype=np.float32))
        return np.concatenate(parts)


@pytest.fixture
def tone_engine(monkeypatch) -> ToneEngine:
    engine = ToneEngine()
    monkeypatch.setattr("pipeline.episode.load_engine", lambda voice: engine)
    monkeypatch.setattr("pipeline.cli.load_engine", lambda voice: engine)
    return engine


@pytest.fixture(autouse=True)
def _fresh_engine_cache():
    load_engine.cache_clear()
    yield


SERIES_YAML = """\
title: Test Series
topic: Testing
author: Test Author
description: A series for tests.
production:
  target_duration_s: 12
  duration_tolerance_s: 3
"""


def episode_text(number: int, slug: str, body: str, extra: str = "") -> str:
    return (
        f"---\ntitle: Episode {number} — {slug}\nepisode: {number}\nslug: {slug}\ndate: 2026-02-19\n"
        f"summary: Summary of {slug}.\ntags: [Testing]\n{extra}---\n{textwrap.dedent(body).strip()}\n"
    )


BODY = """\
The first sentence has a handful of ordinary words. A second sentence follows it closely.

A new paragraph starts here after a pause. It ends the episode with a few more words to say.
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with one series of three short episodes and the default voice profile."""
    root = tmp_path / "project"
    (root / "voices").mkdir(parents=True)
    shutil.copy(REPO / "voices" / "joe.yaml", root / "voices" / "joe.yaml")
    series = root / "scripts" / "test-series"
    series.mkdir(parents=True)
    (series / "series.yaml").write_text(SERIES_YAML)
    for number, slug in ((1, "alpha"), (2, "beta"), (3, "gamma")):
        (series / f"{number:02d}-{slug}.md").write_text(episode_text(number, slug, BODY))
    return root


def ffmpeg_ebur128(path: Path) -> dict[str, float]:
    """Measure a file with ffmpeg's own EBU R128 meter (dual mono, true peak): an oracle that
    shares no code with the pipeline."""
    result = subprocess.run(
        [ffmpeg_path(), "-hide_banner", "-nostats", "-i", str(path), "-af",
         "ebur128=peak=true:dualmono=true", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    summary = result.stderr[result.stderr.rindex("Summary:"):]
    return {
        "integrated_lufs": float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1)),
        "true_peak_dbtp": float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1)),
        "lra_lu": float(re.search(r"LRA:\s+(-?[\d.]+) LU", summary).group(1)),
    }


def ffmpeg_duration_s(path: Path) -> float:
    """Decoded duration by counting samples ffmpeg produces (encoder delay removed)."""
    raw = subprocess.run([ffmpeg_path(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "44100", "-"],
                         capture_output=True, check=True).stdout
    return len(raw) / 2 / 44100
