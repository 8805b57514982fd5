"""Shared fixtures: a throwaway project folder and the tone-speaking engine double as a voice."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.audio.codec import ffmpeg_path
from pipeline.engines import load_engine, registry

from . import tone_engine as tone_engine_module

REPO = Path(__file__).resolve().parents[1]


TONE_VOICE = "engine: tone\nmodel: tone\nsentence_pause_ms: 400\n"


@pytest.fixture(scope="session", autouse=True)
def _tone_engine_plugin(tmp_path_factory):
    """Register tests/tone_engine.py as an installed engine plugin, for this process and for the
    worker processes builds start (they inherit sys.path and PYTHONPATH)."""
    folder = tmp_path_factory.mktemp("plugins")
    info = folder / "tone_test_engine-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tone-test-engine\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[audio_overviews.engines]\ntone = tests.tone_engine:SPEC\n")
    sys.path.append(str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), str(folder), os.environ.get("PYTHONPATH", "")])
    registry.cache_clear()
    yield
    registry.cache_clear()


class ToneVoice:
    """The tone engine as a project's default voice; `calls` lists what it spoke in this process."""

    @property
    def calls(self) -> list[tuple[str, float]]:
        return tone_engine_module.CALLS


@pytest.fixture
def tone_engine(project: Path) -> ToneVoice:
    (project / "voices" / "joe.yaml").write_text(TONE_VOICE)
    tone_engine_module.CALLS.clear()
    return ToneVoice()


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
  target_duration_s: 16
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
