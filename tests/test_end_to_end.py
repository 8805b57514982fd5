"""The real bundled Piper voice, end to end, measured on the decoded MP3 by ffmpeg's own meter."""

from __future__ import annotations

import shutil

import pytest
from mutagen.id3 import ID3

from pipeline.build import BuildOptions, Project, build

from .conftest import REPO, ffmpeg_duration_s, ffmpeg_ebur128

pytestmark = pytest.mark.slow


def test_shipped_episode_with_real_voice(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(REPO / "voices", project / "voices")
    shutil.copytree(REPO / "scripts" / "fine-tuning", project / "scripts" / "fine-tuning")
    report = build(Project(project), ["qlora"], BuildOptions())
    assert not report.failed, [r.error for r in report.results] + [str(e) for e in report.errors]
    result = report.results[0]
    path = project / "out" / "fine-tuning" / result.file
    oracle = ffmpeg_ebur128(path)
    assert oracle["integrated_lufs"] == pytest.approx(-16.0, abs=0.5)
    assert oracle["true_peak_dbtp"] <= -1.0 + 0.05
    assert 80.0 <= ffmpeg_duration_s(path) <= 100.0
    tags = ID3(path)
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == result.title
    assert str(tags["TALB"]) == "GenAI Explained: Fine-Tuning"
    assert {f.desc: f.text[0] for f in tags.getall("TXXX")}["engine"].startswith("piper-")
