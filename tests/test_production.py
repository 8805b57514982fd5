"""Production runs: sentence cache, parallel workers, locking, dead workers, kills and interrupts."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cache import SentenceCache
from pipeline.cli import app
from pipeline.commands.build import build
from pipeline.errors import ConfigError, LockedError
from pipeline.files import output_lock
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.state import open_store

from .conftest import REPO, episode_text

VOLATILE = ("built_at", "synthesized_sentences", "nodes", "file_mtime_ns")  # when, where, how much work


def run(project: Path, **options):
    options.setdefault("jobs", 1)
    return build(Project(project), [], BuildOptions(**options))


def snapshot(project: Path) -> dict[str, object]:
    """MP3 bytes and manifest entries (minus when and where) of a project's output."""
    folder = project / "out" / "test-series"
    manifest = json.loads((folder / "manifest.json").read_text())
    entries = [{k: v for k, v in e.items() if k not in VOLATILE} for e in manifest["episodes"]]
    return {"mp3": {p.name: p.read_bytes() for p in sorted(folder.glob("*.mp3"))}, "manifest": entries}


def edit(project: Path, old: str, new: str, name: str = "01-alpha.md") -> None:
    script = project / "scripts" / "test-series" / name
    script.write_text(script.read_text().replace(old, new))


def own_sentences(project: Path) -> None:
    """Give episodes 2 and 3 sentences of their own, so none comes free from the cache."""
    for number, slug in ((2, "beta"), (3, "gamma")):
        body = (f"Episode {slug} opens with its own words. It keeps them apart from the others.\n\n"
                f"A {slug} ending comes last, after a pause.")
        (project / "scripts" / "test-series" / f"0{number}-{slug}.md").write_text(episode_text(number, slug, body))


def test_one_sentence_edit_synthesizes_exactly_one_sentence(project, tone_engine):
    first = run(project).results[0]
    assert first.synthesized_sentences == 5  # its four and the disclosure; the other episodes share them
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
    report = run(project)
    assert [r.status for r in report.results] == ["up-to-date"] * 3
    assert tone_engine.calls == []
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_worker_processes_and_this_process_give_identical_results(project, tone_engine, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(project, other)
    inline = run(project, jobs=1)
    workers = run(other, jobs=2)
    assert workers.executor == "2 worker processes" and inline.executor == "this process"
    assert [r.file for r in inline.results] == [r.file for r in workers.results]
    assert snapshot(project) == snapshot(other)


def test_a_worker_that_dies_once_is_replaced_and_its_sentence_retried(project, tone_engine, monkeypatch, tmp_path):
    own_sentences(project)
    monkeypatch.setenv("EPISODES_TONE_DIE_ON", "beta")
    monkeypatch.setenv("EPISODES_TONE_DIE_ONCE", str(tmp_path / "died"))
    report = run(project, jobs=2)
    assert not report.failed and report.retried == 1
    assert [r.status for r in report.results] == ["built"] * 3
    assert report.results[1].retried == 1


def test_a_worker_that_hangs_is_stopped_after_the_time_out_and_its_sentence_retried(project, tone_engine,
                                                                                     monkeypatch, tmp_path):
    own_sentences(project)
    hang = tmp_path / "hang"
    hang.write_text(f"beta {os.getpid()}")
    monkeypatch.setenv("EPISODES_TONE_HANG_FILE", str(hang))
    monkeypatch.setenv("EPISODES_TASK_TIMEOUT_S", "10")  # a new worker starts in about a second
    report = run(project, jobs=2)
    assert not hang.exists()  # a worker took the word and hung
    assert not report.failed and report.retried == 1
    assert [r.status for r in report.results] == ["built"] * 3
    assert report.results[1].retried == 1
    retries = [w for w in report.warnings if "retried" in w]
    assert len(retries) == 1 and re.fullmatch(r"test-series/02-beta: retried speaking '.*beta.*' \(worker process \d+ "
                                              r"gave no answer in 10 s and was stopped\)", retries[0]), retries


@pytest.mark.parametrize("given", ["0", "-5", "soon", "inf", "nan"])
def test_a_time_out_that_is_not_a_positive_number_is_refused_before_any_work(project, tone_engine, monkeypatch, given):
    monkeypatch.setenv("EPISODES_TASK_TIMEOUT_S", given)
    with pytest.raises(ConfigError, match=re.escape(f"$EPISODES_TASK_TIMEOUT_S must be a positive number of seconds "
                                                    f"(got {given!r})")):
        run(project, jobs=2)
    assert not (project / "out" / "test-series").exists()


def test_a_worker_that_dies_every_time_fails_only_its_episode(project, tone_engine, monkeypatch):
    own_sentences(project)
    monkeypatch.setenv("EPISODES_TONE_DIE_ON", "gamma")
    report = run(project, jobs=2)
    assert [r.status for r in report.results] == ["built", "built", "error"]
    assert "a worker was lost twice while speaking" in report.results[2].error
    assert str(project / "scripts" / "test-series" / "03-gamma.md") in report.results[2].error
    assert report.retried in (1, 2)  # each of its sentences at most once; no retry for a failed episode


def test_dry_run_names_the_stage_and_the_input(project, tone_engine):
    run(project)
    edit(project, "handful", "few", name="02-beta.md")
    edit(project, "summary: Summary of alpha.", "summary: Another summary.")
    (project / "out" / "test-series" / "03-gamma.mp3").unlink()
    result = CliRunner().invoke(app, ["--project", str(project), "build", "--dry-run"])
    assert result.exit_code == 0
    lines = [" ".join(line.replace("│", " ").split()) for line in result.output.splitlines()]
    assert any("01-alpha re-tag" in line and "tags changed: summary" in line for line in lines)
    assert any("02-beta rebuild" in line and line.endswith("changed: spoken text") for line in lines)
    assert any("03-gamma rebuild" in line and line.endswith("MP3 missing") for line in lines)
    assert "3 of 3 episodes would change." in result.output


def test_dry_run_keeps_words_and_estimates_whole_in_a_narrow_terminal(project, tone_engine):
    run(project)
    edit(project, "summary: Summary of alpha.", "summary: A summary long enough to make the reason wrap.")
    result = CliRunner().invoke(app, ["--project", str(project), "build", "--dry-run"], env={"COLUMNS": "64"})
    assert result.exit_code == 0
    rows = [line for line in result.output.splitlines() if line.startswith("test-series/")]
    assert len(rows) == 3 and all(re.search(r" \d+ ~\d+:\d\d ", row) for row in rows), result.output
    assert all(len(line) <= 64 for line in result.output.splitlines())


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
    victim = sorted(cache.folder.glob("??/*.pcm"))[0]
    data = bytearray(victim.read_bytes())
    data[-10] ^= 0xFF
    victim.write_bytes(bytes(data))
    tone_engine.calls.clear()
    report = run(project, force=True)
    assert f"cache entry {victim.name} was corrupt and has been discarded" in report.warnings
    assert len(tone_engine.calls) == 1
    assert cache.get(victim.stem) is not None  # rewritten, verified


def test_first_writer_of_a_cache_entry_wins(tmp_path):
    import numpy as np

    cache = SentenceCache(tmp_path / "cache")
    first, _ = cache.put("ab" * 32, np.ones(10, dtype=np.float32), 22050)
    second, _ = cache.put("ab" * 32, np.zeros(10, dtype=np.float32), 22050)
    assert first.tolist() == second.tolist() == [1.0] * 10  # the later writer gets the stored samples
    assert cache.get("ab" * 32)[0].tolist() == [1.0] * 10


def test_cache_command_prunes_unused_entries_under_the_lock(project, tone_engine):
    run(project)
    edit(project, "A second sentence follows it closely.", "A second sentence follows it gently.")
    for name in ("02-beta.md", "03-gamma.md"):
        (project / "scripts" / "test-series" / name).unlink()
    run(project)  # a whole-series build: the orphans 02 and 03 go
    runner = CliRunner()
    shown = runner.invoke(app, ["--project", str(project), "cache"])
    assert "6 entries" in shown.output and "5 used by this project's built episodes" in shown.output
    with output_lock(project / "out"):
        refused = runner.invoke(app, ["--project", str(project), "cache", "--prune"])
        assert refused.exit_code == 2 and "another build holds this output folder" in refused.output
    pruned = runner.invoke(app, ["--project", str(project), "cache", "--prune"])
    assert "pruned 1 entries" in pruned.output
    assert Project(project).cache.stats().entries == 5


def test_a_shared_cache_keeps_what_other_projects_use(project, tone_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("EPISODES_CACHE", str(tmp_path / "shared-cache"))
    other = tmp_path / "other"
    shutil.copytree(project, other)
    edit(other, "A second sentence follows it closely.", "Only the other project says this.")
    run(project)
    run(other)
    cache = Project(project).cache
    total = cache.stats().entries
    runner = CliRunner()
    refused = runner.invoke(app, ["--project", str(project), "cache", "--prune"])
    assert refused.exit_code == 2 and "is shared" in refused.output and "--shared" in refused.output
    pruned = runner.invoke(app, ["--project", str(project), "cache", "--prune", "--shared"])
    assert pruned.exit_code == 0 and "pruned 0 entries" in pruned.output
    assert cache.stats().entries == total  # the other project's sentence is still there
    forgot = runner.invoke(app, ["--project", str(project), "cache", "--prune", "--shared", "--forget-other-projects"])
    assert "pruned 1 entries" in forgot.output


def cli_build(project: Path, *args: str, delay_s: float = 0.0, jobs: int = 1) -> subprocess.Popen:
    env = {**os.environ, "EPISODES_TONE_DELAY_S": str(delay_s)}
    return subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--project", str(project), "build", "--jobs",
                             str(jobs), *args], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stored(project: Path) -> dict[str, dict]:
    """The series' results as the state store holds them (the truth; manifest.json is its export)."""
    store = open_store(project / "out", write=False)
    try:
        return {name: entry.to_dict() for name, entry in store.episodes("test-series").items()}
    finally:
        store.close()


def consistent(project: Path) -> set[str]:
    """What the store says is what is on disk; nothing partial under a final name. Returns the
    MP3s the store does not describe as they are: only a SIGKILL between the rename and the
    store's commit leaves one, and the next build must rebuild it."""
    folder = project / "out" / "test-series"
    described = {name: e for name, e in stored(project).items() if e.get("file_sha256")}
    unrecorded = set()
    for path in folder.glob("*.mp3") if folder.exists() else []:
        if path.name not in described or \
                hashlib.sha256(path.read_bytes()).hexdigest() != described[path.name]["file_sha256"]:
            unrecorded.add(path.name)
    assert len(unrecorded) <= 2, unrecorded  # one commit in flight per worker at most
    for name in described:
        assert (folder / name).exists(), f"{name} in the store but not on disk"
    assert not [p for p in folder.rglob("*") if "partial" in p.name] if folder.exists() else True
    return unrecorded


@pytest.mark.slow
def test_sigkill_at_random_moments_never_corrupts_and_the_next_build_completes(project, tmp_path):
    own_sentences(project)
    (project / "voices" / "joe.yaml").write_text("engine: tone\nmodel: tone\nsentence_pause_ms: 400\n")
    reference = tmp_path / "reference"
    shutil.copytree(project, reference)
    assert cli_build(reference).wait(timeout=120) == 0
    rng = random.Random(7)
    for trial in range(10):
        victim = cli_build(project, "--force" if trial else "", delay_s=0.15, jobs=rng.choice([1, 2]))
        time.sleep(rng.uniform(0.5, 4.0))
        os.killpg(victim.pid, signal.SIGKILL)  # the whole group: driver and workers
        victim.wait(timeout=10)
        consistent(project)
    unrecorded = consistent(project)
    done = {name for name, e in stored(project).items() if e.get("status") == "built"} - unrecorded
    resumed = cli_build(project)
    output = resumed.communicate(timeout=120)[0].decode()
    assert resumed.returncode == 0, output
    assert f"{3 - len(done)} built" in output  # only what the killed builds left undone is redone
    assert not consistent(project)
    assert not list((project / "out").rglob(".*.partial"))  # leftovers of the killed builds removed
    assert snapshot(project)["mp3"].keys() == snapshot(reference)["mp3"].keys()
    assert cli_build(project).wait(timeout=120) == 0


@pytest.mark.slow
def test_killing_only_the_driver_takes_its_workers_and_lock_with_it(project, tone_engine):
    own_sentences(project)
    victim = cli_build(project, delay_s=0.3, jobs=2)
    deadline = time.monotonic() + 30
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = [int(p) for p in Path(f"/proc/{victim.pid}/task/{victim.pid}/children").read_text().split()] \
            if Path(f"/proc/{victim.pid}").exists() else []
        time.sleep(0.1)
    assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
    time.sleep(1.0)
    victim.send_signal(signal.SIGKILL)  # the driver alone
    victim.wait(timeout=10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]]
    consistent(project)
    assert not run(project).failed  # the lock went with the driver


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_and_manifest_feed_and_files_agree(project, tone_engine):
    run(project, base_url="https://example.org/pod")
    own_sentences(project)

    def checksums() -> set[str]:
        return {e["file_sha256"] for e in stored(project).values()}

    before = checksums()
    victim = cli_build(project, "--base-url", "https://example.org/pod", delay_s=1.5, jobs=2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and checksums() <= before:  # interrupt after the first new commit
        time.sleep(0.1)
    victim.send_signal(signal.SIGINT)
    output = victim.communicate(timeout=30)[0].decode()
    assert victim.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output
    consistent(project)
    folder = project / "out" / "test-series"
    entries = {e["file"]: e for e in json.loads((folder / "manifest.json").read_text())["episodes"]}
    for path in folder.glob("*.mp3"):
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entries[path.name]["file_sha256"]
    feed = (folder / "feed.xml").read_text()
    for entry in entries.values():
        assert f'length="{entry["file_bytes"]}"' in feed  # the feed describes the files as they are


def test_a_build_in_another_thread_uses_worker_processes(project, tone_engine):
    """The studio builds from a thread: worker processes must start there too (signal handlers can
    only be set in the main thread)."""
    import threading

    found: list = []
    thread = threading.Thread(target=lambda: found.append(run(project, jobs=2)))
    thread.start()
    thread.join(timeout=120)
    assert found and not found[0].failed and found[0].executor == "2 worker processes"
