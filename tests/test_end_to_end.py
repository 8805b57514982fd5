"""The shipped series built with the real bundled Piper voice, every MP3 decoded and measured by
ffmpeg's own meter (no code shared with the pipeline), tags read back with mutagen."""

from __future__ import annotations

import json
import shutil

import pytest
from mutagen.id3 import ID3

from pipeline.commands.build import build
from pipeline.plan import BuildOptions
from pipeline.project import Project

from .conftest import REPO, ffmpeg_duration_s, ffmpeg_ebur128

pytestmark = pytest.mark.slow
SERIES_FRAMES = ("TALB", "TPE1", "TPE2", "TCON", "TCOP")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    project = tmp_path_factory.mktemp("e2e") / "project"
    shutil.copytree(REPO / "voices", project / "voices")
    shutil.copytree(REPO / "scripts", project / "scripts")
    report = build(Project(project), [], BuildOptions())
    return project, report


def test_series_builds_without_failures(built):
    project, report = built
    assert not report.failed, [r.error for r in report.results] + [str(e) for e in report.errors]
    names = sorted(p.name for p in (project / "out" / "fine-tuning").iterdir())
    assert len([n for n in names if n.endswith(".mp3")]) == 16
    assert "manifest.json" in names
    assert not [n for n in names if "partial" in n]


def test_every_episode_meets_loudness_peak_and_duration_at_the_default_rate(built):
    project, _ = built
    manifest = json.loads((project / "out" / "fine-tuning" / "manifest.json").read_text())
    assert len(manifest["episodes"]) == 16
    for entry in manifest["episodes"]:
        path = project / "out" / "fine-tuning" / entry["file"]
        oracle = ffmpeg_ebur128(path)
        assert oracle["integrated_lufs"] == pytest.approx(-16.0, abs=0.5), entry["file"]
        assert oracle["true_peak_dbtp"] <= -1.0 + 0.05, entry["file"]
        assert 80.0 <= ffmpeg_duration_s(path) <= 100.0, entry["file"]
        assert entry["rate_factor"] == 1.0, entry["file"]
        assert entry["warnings"] == [], entry["file"]


def test_tags_are_consistent_across_the_series(built):
    project, _ = built
    cover = (REPO / "scripts" / "fine-tuning" / "cover.png").read_bytes()
    series_frames = set()
    for number, path in enumerate(sorted((project / "out" / "fine-tuning").glob("*.mp3")), start=1):
        tags = ID3(path)
        assert tags.version[:2] == (2, 3)
        assert str(tags["TRCK"]) == f"{number}/16"
        assert str(tags["TALB"]) == "GenAI Explained: Fine-Tuning"
        assert tags.getall("APIC")[0].data == cover
        assert {f.desc: f.text[0] for f in tags.getall("TXXX")}["engine"].startswith("piper:")
        series_frames.add(tuple(str(tags[k]) for k in SERIES_FRAMES))
    assert len(series_frames) == 1


def test_the_estimate_lands_within_five_percent_of_each_built_episode(built):
    from pipeline.commands.estimate import estimate

    project, report = built
    durations = {f"fine-tuning/{r.file[:-4]}": r.duration_s for r in report.results}
    rows = estimate(Project(project), []).rows
    assert len(rows) == 16 and all(row.measured for row in rows)
    for row in rows:
        assert row.fitted_s == pytest.approx(durations[row.label], rel=0.05), row


def test_the_fit_lands_near_the_target(built):
    _, report = built
    off = {r.file: round(abs(r.duration_s - 90.0), 2) for r in report.results}
    assert max(off.values()) <= 90.0 * 0.05, off  # pauses move each one to 87.75-92.25 s, or within 4.5 s of 90
