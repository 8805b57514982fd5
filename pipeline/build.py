"""Batch orchestration: plan the jobs, run them (in worker processes with `jobs` > 1), record
each result in the manifest, then check and publish each series touched.

One episode's failure is recorded on its result and the batch goes on. Results come back in job
order whatever the number of workers, and only the main process writes the manifest. The
library never prints or exits: it reports progress through callbacks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import queue
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import __version__
from .cache import SentenceCache
from .episode import run_job
from .errors import PipelineError
from .audio.codec import decode
from .files import output_lock, remove_partials, write_if_changed
from .gates import Gate, audio_gates, tag_gates
from .jobs import BuildOptions, Job, Project, manifest_entries, plan_jobs, rebuild_reason, series_header
from .audio.loudness import measure
from .manifest import EpisodeResult, load_manifest, save_manifest
from .publish.feed import write_feed
from .publish.review import write_review_page
from .settings import Series

PUBLISHED_NAME = ".published.json"
"""Per series: the key of its last publishing and the tag gates found then."""


@dataclass
class BuildReport:
    jobs: list[Job] = field(default_factory=list)
    results: list[EpisodeResult] = field(default_factory=list)
    """One per job, in the same order."""
    errors: list[PipelineError] = field(default_factory=list)
    """Failures that belong to no single built episode (a broken script or series file)."""
    series_gates: list[Gate] = field(default_factory=list)
    """Tag and track-number gates of every series the build touched."""

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(r.status == "error" for r in self.results)

    @property
    def failed_gates(self) -> list[Gate]:
        episode_gates = [Gate(r.file, g["name"], g["passed"], g["detail"]) for r in self.results for g in r.gates]
        return [g for g in episode_gates + self.series_gates if not g.passed]


# -- parallel workers -------------------------------------------------------------------------

_messages = None  # the worker's end of the progress queue


def _init_worker(threads: int, messages) -> None:
    """Give each worker its share of the cores before any engine loads."""
    global _messages
    _messages = messages
    for name in ("EPISODES_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)


def _worker(job: Job, cache: SentenceCache, strict: bool) -> EpisodeResult:
    assert _messages is not None
    stem = job.episode.stem
    _messages.put((stem, "starting"))
    return run_job(job, cache, strict, lambda message: _messages.put((stem, message)))


StageCallback = Callable[[str, str], None]
FinishedCallback = Callable[[Job, EpisodeResult], None]


def build(project: Project, targets: list[str], options: BuildOptions,
          on_stage: StageCallback = lambda stem, message: None,
          on_finished: FinishedCallback = lambda job, result: None,
          on_plan: Callable[[list[Job]], None] = lambda todo: None) -> BuildReport:
    """Build the targeted episodes (all if none); failures don't stop the batch.

    Holds the output folder's lock throughout. `on_finished` hears of episodes as they finish
    (in any order when jobs > 1); the returned report is in episode order whatever the jobs.
    """
    jobs, errors = plan_jobs(project, targets, options)
    report = BuildReport(jobs=jobs, errors=errors)
    with output_lock(project.out_dir):
        remove_partials(project.out_dir)
        previous = manifest_entries(jobs)
        todo = [job for job, entry in zip(jobs, previous) if options.force or rebuild_reason(job, entry) is not None]
        on_plan(todo)
        results: dict[int, EpisodeResult] = {}
        for index, (job, entry) in enumerate(zip(jobs, previous)):
            if job not in todo:
                results[index] = dataclasses.replace(entry, status="up-to-date")
        for index, result in _execute(jobs, todo, project.cache, options, on_stage):
            results[index] = result
            save_manifest(jobs[index].out_path.parent, series_header(jobs[index].series), [result],
                          project.staging_dir)
            on_finished(jobs[index], result)
        report.results = [results[index] for index in range(len(jobs))]
        touched = {job.series.slug: job.series for job in jobs}
        report.series_gates = publish(project, [touched[slug] for slug in sorted(touched)], options)
    return report


def publish(project: Project, series_list: list[Series], options: BuildOptions) -> list[Gate]:
    """Check tags across each series and write its review page and feed; returns the tag gates.

    Skipped for a series whose manifest, series file, cover, base URL and MP3s are as they were
    at its last publishing (the gates found then are returned), so a no-op build stays fast.
    """
    every_job: list[Job] | None = None
    gates: list[Gate] = []
    for series in series_list:
        folder = project.out_dir / series.slug
        base_url = options.base_url or series.base_url
        key = _publish_key(series, folder, base_url)
        state = _load_json(folder / PUBLISHED_NAME)
        if state.get("key") == key:
            gates.extend(Gate(**g) for g in state["gates"])
            continue
        if every_job is None:
            every_job, _ = plan_jobs(project, [], dataclasses.replace(options, overrides={}))
        jobs = [job for job in every_job if job.series.slug == series.slug]
        entries = load_manifest(folder)
        series_gates = tag_gates(sorted(folder.glob("*.mp3")), series, jobs[0].track_total)
        gates.extend(series_gates)
        write_review_page(series, jobs, entries, series_gates, folder, project.staging_dir)
        write_feed(series, jobs, entries, base_url, folder, project.staging_dir)
        document = {"key": key, "gates": [dataclasses.asdict(g) for g in series_gates]}
        write_if_changed(folder / PUBLISHED_NAME, json.dumps(document, indent=1).encode(), project.staging_dir)
    return gates


def _publish_key(series: Series, folder: Path, base_url: str) -> str:
    digest = hashlib.sha256(f"{__version__}|{base_url}".encode())
    for path in (folder / "manifest.json", series.config_path, series.cover):
        digest.update(path.read_bytes() if path is not None and path.exists() else b"-")
    for mp3 in sorted(folder.glob("*.mp3")):
        stat = mp3.stat()
        digest.update(f"{mp3.name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _load_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def check_project(project: Project, on_file: Callable[[str], None] = lambda name: None) -> list[Gate]:
    """Run every gate on what is in out/: decode and measure each episode, check tags per series."""
    jobs, _ = plan_jobs(project, [], BuildOptions())
    gates: list[Gate] = []
    for job in jobs:
        on_file(f"{job.series.slug}/{job.out_path.name}")
        if not job.out_path.exists():
            gates.append(Gate(job.out_path.name, "exists", False, "MP3 missing; run episodes build"))
            continue
        audio, rate = decode(job.out_path)
        gates.extend(audio_gates(job.out_path.name, audio, rate, measure(audio, rate), job.production))
    for slug in sorted({job.series.slug for job in jobs}):
        first = next(job for job in jobs if job.series.slug == slug)
        gates.extend(tag_gates(sorted((project.out_dir / slug).glob("*.mp3")), first.series, first.track_total))
    return gates


def _execute(jobs: list[Job], todo: list[Job], cache: SentenceCache, options: BuildOptions,
             on_stage: StageCallback):
    """Yield (index, result) as episodes finish, in process or in a pool of workers."""
    index_of = {id(job): index for index, job in enumerate(jobs)}
    workers = max(1, min(options.jobs, len(todo)))
    if workers == 1:
        for job in todo:
            stem = job.episode.stem
            yield index_of[id(job)], run_job(job, cache, options.strict, lambda m, s=stem: on_stage(s, m))
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    # fork where the platform has it: workers inherit the parsed jobs and configuration, and the
    # parent never loads a model, so no engine threads are forked.
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    messages = context.Queue()
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker,
                             initargs=(threads, messages)) as pool:
        pending: dict[Future[EpisodeResult], Job] = {
            pool.submit(_worker, job, cache, options.strict): job for job in todo}
        try:
            while pending:
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                _drain(messages, on_stage)
                for future in done:
                    job = pending.pop(future)
                    yield index_of[id(job)], future.result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
        finally:
            _drain(messages, on_stage)


def _drain(messages, on_stage: StageCallback) -> None:
    while True:
        try:
            stem, message = messages.get_nowait()
        except (queue.Empty, OSError, EOFError):
            return
        on_stage(stem, message)


def dry_run(project: Project, targets: list[str], options: BuildOptions) -> tuple[list[tuple[Job, str | None]], list[PipelineError]]:
    """Which episodes a build would rebuild, and why (None = up to date)."""
    jobs, errors = plan_jobs(project, targets, options)
    return [(job, "--force" if options.force else rebuild_reason(job, entry))
            for job, entry in zip(jobs, manifest_entries(jobs))], errors


def used_cache_keys(project: Project) -> set[str]:
    """Cache entries the built episodes of every series were assembled from."""
    keys: set[str] = set()
    for folder in project.series_folders():
        for entry in load_manifest(project.out_dir / folder.name).values():
            keys.update(entry.cache_keys)
    return keys


