"""Production runs: sentence cache, incremental rebuilds, parallel jobs, locking, interruption."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.build import build, dry_run
from pipeline.cli import app
from pipeline.errors import LockedError
from pipeline.files import output_lock
from pipeline.jobs import BuildOptions, Project

from .conftest import REPO, episode_text

VOLATILE = ("built_at", "synthesized_sentences")  # when and how much work, not what was made


def run(project: Path, **options):
    return build(Project(project), [], BuildOptions(**options))


def snapshot(project: Path) -> dict[str, object]:
    """MP3 bytes and manifest entries (minus timestamps) of a project's output."""
    folder = project / "out" / "test-series"
    manifest = json.loads((folder / "manifest.json").read_text())
    entries = [{k: v for k, v in e.items() if k not in VOLATILE} for e in manifest["episodes"]]
    return {"mp3": {p.name: p.read_bytes() for p in sorted(folder.glob("*.mp3"))}, "manifest": entries}


def edit(project: Path, old: str, new: str, name: str = "01-alpha.md") -> None:
    script = project / "scripts" / "test-series" / name
    script.write_text(script.read_text().replace(old, new))


def test_one_sentence_edit_synthesizes_exactly_one_sentence(project, tone_engine):
    first = run(project).results[0]
    assert first.synthesized_sentences == 4  # the other episodes share these sentences
    tone_engine.calls.clear()
    edit(project, "A second sentence follows it closely.", "A second sentence follows it gently.")
    again = run(project)
    assert [r.status for r in again.results] == ["built", "up-to-date", "up-to-date"]
    assert tone_engine.calls == [("A second sentence follows it gently.", 1.0)]
    assert again.results[0].synthesized_sentences == 1


def test_noop_rebuild_synthesizes_nothing_and_rewrites_nothing(project, tone_engine):
    run(project)
    folder = project / "out" / "test-series"
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    tone_engine.calls.clear()
    started = time.perf_counter()
    report = run(project)
    elapsed = time.perf_counter() - started
    assert [r.status for r in report.results] == ["up-to-date"] * 3
    assert tone_engine.calls == []
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    assert elapsed < 2.0  # no synthesis, no audio work (the bench measures it properly)


def test_jobs_one_and_two_give_identical_results(project, tone_engine, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(project, other)
    sequential = run(project, jobs=1)
    parallel = run(other, jobs=2)
    assert [r.file for r in sequential.results] == [r.file for r in parallel.results]
    assert snapshot(project) == snapshot(other)


def test_dry_run_says_what_changed(project, tone_engine):
    run(project)
    edit(project, "handful", "few", name="02-beta.md")
    (project / "voices" / "lexicon.yaml").write_text("ordinary: ordinary\n")
    (project / "out" / "test-series" / "03-gamma.mp3").unlink()
    plan, errors = dry_run(Project(project), [], BuildOptions())
    assert errors == []
    assert {job.episode.slug: reason for job, reason in plan} == {
        "alpha": "changed: lexicon",
        "beta": "changed: script, lexicon",
        "gamma": "MP3 missing",
    }
    result = CliRunner().invoke(app, ["--project", str(project), "build", "--dry-run"])
    assert result.exit_code == 0
    assert "3 of 3 episodes would be rebuilt." in result.output


def test_a_second_build_is_refused_while_one_runs(project, tone_engine):
    with output_lock(project / "out"):
        with pytest.raises(LockedError, match=r"another build holds this output folder \(pid \d+, user .+\)"):
            run(project)
        result = CliRunner().invoke(app, ["--project", str(project), "build"])
        assert result.exit_code == 2
        assert "another build holds this output folder" in result.output
    assert not run(project).failed  # released when the first build ends


def test_corrupt_cache_entry_is_detected_and_resynthesized(project, tone_engine):
    run(project)
    cache = Project(project).cache
    victim = sorted(cache.folder.glob("*/*.pcm"))[0]
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    tone_engine.calls.clear()
    report = run(project, force=True)
    warned = [w for r in report.results for w in r.warnings if "corrupt" in w]
    assert warned == [f"cache entry {victim.name} was corrupt and has been discarded"]
    assert len(tone_engine.calls) == 1
    assert cache.get(victim.stem) is not None  # rewritten, verified


def test_cache_command_prunes_unused_entries(project, tone_engine):
    run(project)
    edit(project, "A second sentence follows it closely.", "A second sentence follows it gently.")
    for name in ("02-beta.md", "03-gamma.md"):
        (project / "scripts" / "test-series" / name).unlink()
        (project / "out" / "test-series" / name.replace(".md", ".mp3")).unlink()
    run(project)
    runner = CliRunner()
    shown = runner.invoke(app, ["--project", str(project), "cache"])
    assert "5 entries" in shown.output and "4 used by built episodes, 1 unused" in shown.output
    pruned = runner.invoke(app, ["--project", str(project), "cache", "--prune"])
    assert "pruned 1 entries" in pruned.output
    assert Project(project).cache.stats().entries == 4


def tone_build(project: Path, jobs: int, delay_s: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.tone_build", str(project), str(jobs), str(delay_s)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_killed_build_resumes_to_the_same_result(project, tmp_path):
    # Sentences of their own, so no episode comes free from the sentence cache: each one pays
    # the slow engine's delay and the kill lands mid-build.
    for number, slug in ((2, "beta"), (3, "gamma")):
        body = f"Episode {slug} opens with its own words. It keeps them apart from the others.\n\nA {slug} ending."
        (project / "scripts" / "test-series" / f"0{number}-{slug}.md").write_text(episode_text(number, slug, body))
    reference = tmp_path / "reference"
    shutil.copytree(project, reference)
    assert tone_build(reference, 1, 0.0).wait(timeout=120) == 0

    victim = tone_build(project, 1, 0.3)
    manifest = project / "out" / "test-series" / "manifest.json"
    deadline = time.monotonic() + 60
    while not manifest.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # well into the next episode
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    folder = project / "out" / "test-series"
    on_disk = {p.name for p in folder.glob("*.mp3")}
    described = {e["file"] for e in json.loads(manifest.read_text())["episodes"]}
    assert on_disk == described and 0 < len(on_disk) < 3  # the manifest matches what exists
    assert not [p.name for p in folder.iterdir() if "partial" in p.name]  # no partial file here
    assert tone_build(project, 1, 0.0).wait(timeout=120) == 0
    assert not list((project / "out").rglob(".*.partial*"))  # leftovers of the killed build removed
    assert snapshot(project) == snapshot(reference)
