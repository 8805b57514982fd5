"""The state store: one transaction per result, exports that match it, an out/ from before it
upgraded with a no-op build, and `check` judging what was built."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from pipeline.commands.build import build
from pipeline.commands.check import check
from pipeline.driver import audio as audio_stage
from pipeline.manifest import EpisodeResult, keep_figures
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.state import STORE_NAME, Store, open_store

from .conftest import episode_text


def run(project: Path, **options):
    options.setdefault("jobs", 1)
    return build(Project(project), [], BuildOptions(**options))


def stored(project: Path, slug: str = "test-series") -> dict[str, EpisodeResult]:
    store = open_store(project / "out", write=False)
    try:
        return store.episodes(slug)
    finally:
        store.close()


def result(file: str = "01-a.mp3", number: int = 1, **fields) -> EpisodeResult:
    return EpisodeResult(number=number, slug="a", title="A", file=file, status="built", **fields)


def test_a_recorded_result_reads_back_and_replaces_the_previous_one(tmp_path):
    store = Store(tmp_path / STORE_NAME)
    store.record("s", result(duration_s=90.0, file_bytes=10))
    store.record("s", result(duration_s=91.0, file_bytes=11))
    store.record("s", result("02-b.mp3", 2, duration_s=88.0, file_bytes=12))
    store.close()
    again = Store(tmp_path / STORE_NAME)
    assert [(e.file, e.duration_s) for e in again.episodes("s").values()] == [("01-a.mp3", 91.0), ("02-b.mp3", 88.0)]
    assert again.revision("s") == 3 and again.revision("other") == 0


def test_the_cache_keys_in_use_are_those_of_the_current_results_of_every_series(tmp_path):
    store = Store(tmp_path / STORE_NAME)
    store.record("s", result(cache_keys=["old", "shared"]))
    store.record("s", result(cache_keys=["new", "shared"]))  # replaces the first: "old" is no longer used
    store.record("t", result("01-x.mp3", cache_keys=["other"]))
    assert store.cache_keys() == {"new", "shared", "other"}
    assert Store(tmp_path / "empty.sqlite").cache_keys() == set()


def test_a_write_that_fails_midway_leaves_nothing_of_it(tmp_path):
    store = Store(tmp_path / STORE_NAME)
    store.record("s", result(duration_s=90.0, file_bytes=10))
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("DELETE FROM episodes")
        raise RuntimeError("killed")
    assert list(store.episodes("s")) == ["01-a.mp3"]


def test_a_failed_rebuild_keeps_the_figures_of_the_mp3_on_disk():
    previous = result(duration_s=90.0, file_bytes=10)
    failed = dataclasses.replace(result(), status="error", error="boom")
    kept = keep_figures(previous, failed, mp3_exists=True)
    assert (kept.status, kept.error, kept.duration_s) == ("error", "boom", 90.0)
    assert keep_figures(previous, failed, mp3_exists=False).duration_s is None


def test_the_manifest_export_matches_the_store_field_for_field(project, tone_engine):
    run(project)
    exported = json.loads((project / "out" / "test-series" / "manifest.json").read_text())["episodes"]
    assert exported == [entry.to_dict() for entry in stored(project).values()]
    assert len(exported) == 3 and all(e["production"]["target_lufs"] == -16.0 for e in exported)


def previous_release(project: Path) -> None:
    """Turn a built out/ into what the release before the state store left: manifests without the
    new fields, the memo as .memo.json, cache entries as float32 (EPC1), and no store."""
    from pipeline.cache import SentenceCache

    out = project / "out"
    for manifest in out.glob("*/manifest.json"):
        document = json.loads(manifest.read_text())
        for entry in document["episodes"]:
            entry.pop("production"), entry.pop("overrides")
        manifest.write_text(json.dumps(document, indent=2))
    store = Store(out / STORE_NAME)
    files = {key: list(value) for key, value in store.memo_files().items()}
    plans = {key: json.loads(value) for key, value in store.db.execute("SELECT key, value FROM memo_plans")}
    store.close()
    (out / ".memo.json").write_text(json.dumps({"files": files, "plans": plans, "verdicts": {}}))
    for name in (STORE_NAME, STORE_NAME + "-wal", STORE_NAME + "-shm"):
        (out / name).unlink(missing_ok=True)
    cache = SentenceCache(out / ".cache")
    for key in cache.stored_keys():
        samples, rate = cache.get(key)
        cache.path(key).write_bytes(epc1(samples, rate))


def epc1(samples, rate: int) -> bytes:
    """A cache entry as the release before the state store wrote it: float32 samples."""
    data = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    return struct.pack("<4sIQ32s", b"EPC1", rate, len(data) // 4, hashlib.sha256(data).digest()) + data


def test_an_out_folder_from_the_previous_release_upgrades_with_a_no_op_build(project, tone_engine):
    run(project)
    folder = project / "out" / "test-series"
    mp3s = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.mp3")}
    previous_release(project)
    tone_engine.calls.clear()
    report = run(project)
    assert [r.status for r in report.results] == ["up-to-date"] * 3
    assert tone_engine.calls == []
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.glob("*.mp3")} == mp3s
    assert not (project / "out" / ".memo.json").exists()  # imported, then retired
    assert (project / "out" / STORE_NAME).is_file()
    again = run(project, force=True)  # old cache entries still serve: nothing is spoken again
    assert [r.status for r in again.results] == ["built"] * 3 and tone_engine.calls == []


def test_check_judges_an_episode_by_the_settings_it_was_built_with(project, tone_engine):
    run(project, overrides={"target_lufs": -14.0})
    report = check(Project(project))
    loudness = {g.file: g for g in report.gates if g.name == "loudness"}
    assert set(loudness) == {"01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3"}
    assert all(g.passed and "target -14" in g.detail for g in loudness.values()), loudness
    assert len(report.notes) == 3 and "target_lufs -14.0 (series: -16.0)" in report.notes[0]
    run(project)  # built again without the override: judged against the series' -16
    rebuilt = check(Project(project))
    assert all("target -16" in g.detail for g in rebuilt.gates if g.name == "loudness") and not rebuilt.notes


def test_check_in_worker_processes_finds_what_one_process_finds(project, tone_engine):
    run(project)
    mp3 = project / "out" / "test-series" / "02-beta.mp3"
    data = mp3.read_bytes()
    mp3.write_bytes(data[: len(data) // 2])  # cut short: outside its duration window
    alone = check(Project(project))
    from pipeline.commands.check import CheckOptions

    spread = check(Project(project), CheckOptions(jobs=2))
    assert [(g.file, g.name, g.passed) for g in spread.gates] == [(g.file, g.name, g.passed) for g in alone.gates]
    assert ("02-beta.mp3", "duration", False) in [(g.file, g.name, g.passed) for g in spread.gates]


def test_the_driver_holds_only_the_episodes_in_flight(project, tone_engine, monkeypatch):
    series = project / "scripts" / "test-series"
    for number in range(4, 13):
        body = f"Episode {number} has words of its own. It ends after {number} of them.\n"
        (series / f"{number:02d}-part-{number}.md").write_text(episode_text(number, f"part-{number}", body))
    seen: list[tuple[int, int]] = []
    admit = audio_stage.AudioStage._admit

    def watched(stage) -> None:
        admit(stage)
        seen.append((len(stage.active), len({key for key, _ in stage.clips})))

    monkeypatch.setattr(audio_stage.AudioStage, "_admit", watched)
    report = run(project, jobs=1)
    assert [r.status for r in report.results] == ["built"] * 12
    window = audio_stage.MIN_WINDOW
    assert max(active for active, _ in seen) == window  # never more episodes than the window at once
    most_sentences = max(len([u for u in s.job.utterances if u.spoken]) for s in report.steps)
    assert max(clips for _, clips in seen) <= window * most_sentences
