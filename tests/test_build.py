"""Batch builds through every stage with the tone engine; files are measured independently."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3, BitrateMode

from pipeline.commands.build import build
from pipeline.plan import BuildOptions
from pipeline.project import Project

from .conftest import episode_text, ffmpeg_duration_s, ffmpeg_ebur128

SERIES_FRAMES = ("TALB", "TPE1", "TPE2", "TCON")


def run(project: Path, targets=(), **options):
    options.setdefault("jobs", 1)
    return build(Project(project), list(targets), BuildOptions(**options))


def out_files(project: Path) -> list[str]:
    """MP3s and the manifest in the series' output folder (sidecars are checked on their own)."""
    return sorted(p.name for p in (project / "out" / "test-series").iterdir()
                  if p.suffix in (".mp3", ".json") and not p.name.startswith("."))


def test_batch_builds_measured_tagged_mp3s_and_manifest(project, tone_engine):
    report = run(project)
    assert not report.failed
    assert [r.status for r in report.results] == ["built"] * 3
    assert out_files(project) == ["01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3", "manifest.json"]
    manifest = json.loads((project / "out" / "test-series" / "manifest.json").read_text())
    assert [e["file"] for e in manifest["episodes"]] == ["01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3"]
    for entry in manifest["episodes"]:
        path = project / "out" / "test-series" / entry["file"]
        oracle = ffmpeg_ebur128(path)
        assert oracle["integrated_lufs"] == pytest.approx(-16.0, abs=0.5)
        assert oracle["true_peak_dbtp"] <= -1.0 + 0.05  # ffmpeg's meter rounds to 0.1 dB
        assert 13.0 <= ffmpeg_duration_s(path) <= 19.0  # the series: 16 +- 3 s
        # The manifest stores what was measured on the file, close to the independent reading.
        assert entry["integrated_lufs"] == pytest.approx(oracle["integrated_lufs"], abs=0.15)
        assert entry["integrated_single_channel_lufs"] == pytest.approx(entry["integrated_lufs"] - 3.01, abs=0.02)
        assert entry["duration_s"] == pytest.approx(ffmpeg_duration_s(path), abs=0.01)
        assert entry["voice"] == "joe" and len(entry["engine"]) == 24  # the voice identity's digest
        assert entry["word_count"] == 34 and entry["words_per_minute"] > 0


def test_mp3_format_and_tags(project, tone_engine):
    run(project)
    folder = project / "out" / "test-series"
    audio = MP3(folder / "02-beta.mp3")
    assert (audio.info.sample_rate, audio.info.channels, round(audio.info.bitrate / 1000)) == (44100, 1, 128)
    assert audio.info.bitrate_mode == BitrateMode.CBR
    assert b"Info" in (folder / "02-beta.mp3").read_bytes()[:4096]  # LAME/Xing header for CBR
    tags = ID3(folder / "02-beta.mp3")
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "Episode 2 — beta"
    assert tags["TIT2"].encoding == 1 and tags["TALB"].encoding == 0  # UTF-16 only where Latin-1 cannot say it
    assert str(tags["TRCK"]) == "2/3"
    assert str(tags["TALB"]) == "Test Series: Testing"
    assert str(tags["TPE1"]) == str(tags["TPE2"]) == "Test Author"
    assert str(tags["TCON"]) == "Podcast"
    assert str(tags["TDRC"]).startswith("2026")
    assert tags.getall("COMM")[0].text == ["Summary of beta. Narrated by an AI-generated synthetic voice."]
    assert "A new paragraph starts here" in tags.getall("USLT")[0].text
    custom = {frame.desc: frame.text[0] for frame in tags.getall("TXXX")}
    assert set(custom) == {"script_sha256", "voice", "engine", "pipeline_version"}
    frames = [{k: str(ID3(folder / f)[k]) for k in SERIES_FRAMES} for f in ("01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3")]
    assert frames[0] == frames[1] == frames[2]


def test_stereo_and_bitrate_overrides(project, tone_engine):
    run(project, ["alpha"], overrides={"channels": 2, "bitrate_kbps": 192})
    info = MP3(project / "out" / "test-series" / "01-alpha.mp3").info
    assert (info.channels, round(info.bitrate / 1000)) == (2, 192)


def test_bad_inputs_fail_alone_and_are_named(project, tone_engine):
    folder = project / "scripts" / "test-series"
    (folder / "04-broken.md").write_text("---\ntitle: [oops\n---\nWords.\n")
    (folder / "05-voiced.md").write_text(episode_text(5, "voiced", "Some words.", extra="voice: nobody\n"))
    report = run(project)
    assert report.failed
    assert [r.file for r in report.results if r.status == "built"] == ["01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3"]
    messages = [str(e) for e in report.errors]
    assert any(m.startswith(f"{folder / '04-broken.md'}:2: invalid YAML") for m in messages)
    assert any(m.startswith(f"{folder / '05-voiced.md'}:8: unknown voice 'nobody'") for m in messages)


def test_failure_mid_episode_leaves_nothing_half_written(project, tone_engine):
    script = project / "scripts" / "test-series" / "02-beta.md"
    script.write_text(episode_text(2, "beta", "A calm first sentence here.\n\nThis one makes the model explode."))
    report = run(project)  # the tone engine raises on "explode"
    failed = [r for r in report.results if r.status == "error"]
    assert [r.file for r in failed] == ["02-beta.mp3"]
    assert failed[0].error == f"{script}:11: unexpected error: RuntimeError('model exploded')"
    assert out_files(project) == ["01-alpha.mp3", "03-gamma.mp3", "manifest.json"]
    assert not list((project / "out" / "test-series").glob("02-beta.*"))  # no captions for a failed build
    manifest = json.loads((project / "out" / "test-series" / "manifest.json").read_text())
    assert {e["file"]: e["status"] for e in manifest["episodes"]} == {
        "01-alpha.mp3": "built", "02-beta.mp3": "error", "03-gamma.mp3": "built"}


def test_duration_fit_uses_pauses_first_then_the_rate(project, tone_engine):
    as_written = run(project, ["alpha"]).results[0].fit["start_s"]  # speech, pauses and padding as written
    natural = run(project, ["alpha"], force=True, overrides={"target_duration_s": as_written,
                                                            "duration_tolerance_s": 3.0}).results[0]
    assert natural.rate_factor == 1.0 and natural.fit["pause_scale"] == 1.0  # on target: nothing changes
    # A little longer: the pauses alone stretch; nothing is spoken again.
    nudged = run(project, ["alpha"], force=True, overrides={"target_duration_s": natural.duration_s + 1.2,
                                                            "duration_tolerance_s": 0.6}).results[0]
    assert nudged.rate_factor == 1.0 and nudged.fit["pause_scale"] > 1.0
    assert nudged.synthesized_sentences == 0
    assert abs(nudged.duration_s - (natural.duration_s + 1.2)) <= 0.6
    # Much longer: pauses as long as allowed, then a slower voice.
    slowed = run(project, ["alpha"], force=True, overrides={"target_duration_s": natural.duration_s * 1.35,
                                                            "duration_tolerance_s": 0.6}).results[0]
    assert slowed.rate_factor < 1.0 and slowed.fit["pause_scale"] == 2.0
    assert abs(slowed.duration_s - natural.duration_s * 1.35) <= 0.6
    assert not nudged.warnings and not slowed.warnings


def test_unreachable_window_warns_or_fails_with_strict(project, tone_engine):
    overrides = {"target_duration_s": 40.0, "duration_tolerance_s": 2.0}
    warned = run(project, ["alpha"], overrides=overrides).results[0]
    assert warned.status == "built"
    assert warned.rate_factor == 0.85 and warned.fit["tempo"] == 0.92
    assert any("outside 38-42 s even with pauses" in w and "lengthen the script" in w for w in warned.warnings)
    strict = run(project, ["beta"], overrides=overrides, strict=True).results[0]
    assert strict.status == "error" and "lengthen the script" in strict.error


def test_unchanged_episodes_are_skipped_and_edits_rebuild(project, tone_engine):
    run(project)
    folder = project / "out" / "test-series"
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.mp3")}
    tone_engine.calls.clear()
    again = run(project)
    assert [r.status for r in again.results] == ["up-to-date"] * 3
    assert tone_engine.calls == []
    script = project / "scripts" / "test-series" / "02-beta.md"
    script.write_text(script.read_text().replace("handful of ordinary", "handful of edited"))
    edited = run(project)
    assert [r.status for r in edited.results] == ["up-to-date", "built", "up-to-date"]
    after = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.mp3")}
    assert after["01-alpha.mp3"] == before["01-alpha.mp3"]
    assert after["02-beta.mp3"] != before["02-beta.mp3"]


def test_targets_by_number_slug_and_path_and_unknown(project, tone_engine):
    script = project / "scripts" / "test-series" / "03-gamma.md"
    report = run(project, ["1", "beta", str(script), "delta"])
    assert [r.file for r in report.results] == ["01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3"]
    assert [str(e) for e in report.errors] == ["no episode matches 'delta' (give SERIES/NN-slug, as `episodes list` shows, or a slug, number or script path)"]


def test_pause_longer_than_maximum_is_an_error(project, tone_engine):
    script = project / "scripts" / "test-series" / "01-alpha.md"
    script.write_text(episode_text(1, "alpha", "Before.\n\n[pause 5s]\n\nAfter."))
    report = run(project, ["alpha"])
    assert report.failed and report.results == []
    assert "01-alpha.md:11: pause of 5000 ms is longer than max_pause_ms" in str(report.errors[0])


def test_broken_series_file_is_the_only_error_for_its_targets(project, tone_engine):
    series = project / "scripts" / "test-series" / "series.yaml"
    series.write_text(series.read_text().replace("target_duration_s: 16", "target_duration_s: soon"))
    report = run(project, ["alpha"])
    assert report.results == []
    assert [str(e) for e in report.errors] == [f"{series}:6: `target_duration_s` must be a float, got 'soon'"]


def test_series_folder_named_site_is_refused_and_the_others_build(project, tone_engine):
    site = project / "scripts" / "site"
    shutil.copytree(project / "scripts" / "test-series", site)
    report = run(project, [])
    assert [str(e) for e in report.errors] == [
        f"{site}: a series folder may not be named `site`: its episodes would go to out/site/, where "
        "`episodes publish` writes the public site; rename the folder"]
    assert [r.file for r in report.results if r.status == "built"] == ["01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3"]
    assert not (project / "out" / "site").exists()
