"""`episodes build`: bring out/ up to date with the scripts, redoing exactly what changed.

    plan     every targeted episode resolved, its stage keys compared with the store's
    run      re-tag / re-caption in place; speak, fit and finish what needs audio (the driver)
    tidy     orphans removed after a clean build of whole series
    publish  each touched series' manifest export, review page and feed, checked

Holds the output folder's lock throughout. Ctrl-C stops the work, keeps everything committed, and
still publishes, so the store, the exports, the feed and the files agree.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

from ..driver import retakes
from ..driver.commits import Driver
from ..driver.publishing import delete_orphan_files, forget_orphans, publish_series
from ..errors import PipelineError
from ..events import Emit, Planned, ignore
from ..execute import Executor, default_workers, hung_after_s, make_executor
from ..files import ensure_folder, ignoring_signals, output_lock, remove_partials
from ..fingerprint import Memo
from ..gates import Gate
from ..manifest import EpisodeResult
from ..plan import BuildOptions, BuildPlan, Orphan, Step, plan_build
from ..project import Project, load_catalog, select
from ..state import Store, open_store

__all__ = ["BuildOptions", "BuildReport", "build", "dry_run"]


@dataclass
class BuildReport:
    steps: list[Step] = field(default_factory=list)
    results: list[EpisodeResult] = field(default_factory=list)
    """One per step in `steps` (those that finished, in episode order)."""
    errors: list[PipelineError] = field(default_factory=list)
    """Failures that belong to no single built episode (a broken script or series file)."""
    series_gates: list[Gate] = field(default_factory=list)
    """Tag and feed gates of every series the build touched."""
    orphans_removed: list[Orphan] = field(default_factory=list)
    orphans_kept: list[Orphan] = field(default_factory=list)
    """Orphans left in place because the build had failures (or named episodes)."""
    warnings: list[str] = field(default_factory=list)
    retried: int = 0
    """Tasks run again because their worker died."""
    executor: str = ""
    """Where the audio work ran, in words."""
    interrupted: bool = False
    """Ctrl-C (or SIGTERM, raised as one) stopped the build early."""
    tracebacks: dict[str, str] = field(default_factory=dict)
    """Workers' tracebacks of unexpected errors, by episode, for --debug."""

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(r.status == "error" for r in self.results)

    @property
    def failed_gates(self) -> list[Gate]:
        episode_gates = [Gate.of(r.file, g) for r in self.results if r.status != "error" for g in r.gates]
        return [g for g in episode_gates + self.series_gates if not g.passed]

    @property
    def flagged(self) -> list[dict]:
        """Sentences speech QA still heard wrong after their retakes."""
        return [item for r in self.results if r.status == "built" for item in r.flagged]


ExecutorFactory = Callable[[list[Step]], Executor]


def executor_factory(options: BuildOptions) -> ExecutorFactory:
    """Workers sized to the voices' memory and the cores, on this machine or a Ray cluster."""
    def factory(steps: list[Step]) -> Executor:
        from ..engines import spec_of

        memory = max(spec_of(s.job.voice.engine).memory_gb for s in steps)
        workers = default_workers(memory, options.jobs)
        if not options.jobs:  # one episode gains nothing from several processes, and pays for starting them
            workers = min(workers, len(steps))
        return make_executor(options.executor, workers, options.ray_address)
    return factory


def build(project: Project, targets: list[str], options: BuildOptions, emit: Emit = ignore,
          executors: ExecutorFactory | None = None) -> BuildReport:
    """Build the targeted episodes (all if none); failures don't stop the batch. The report lists
    results in episode order; `emit` hears of episodes as they finish, in any order."""
    hung_after_s()  # a bad $EPISODES_TASK_TIMEOUT_S is said before any work, whatever runs the tasks
    catalog = load_catalog(project)
    selection = select(catalog, targets)
    ensure_folder(project.out_dir)
    report = BuildReport()
    with output_lock(project.out_dir):
        remove_partials(project.out_dir)
        ensure_folder(project.staging_dir)  # nothing can be written without it: say so before any work
        store = open_store(project.out_dir)
        try:
            memo = Memo(store)
            plan = plan_build(project, catalog, selection, options, memo, store)
            report.steps, report.errors, report.warnings = plan.steps, plan.errors, plan.warnings
            cache = project.cache.check()
            driver = Driver(project, catalog, plan, options, store, emit)
            emit(Planned(len(plan.todo), len(plan.steps)))
            with cache.in_use():
                try:
                    listener = functools.partial(retakes.listener, options.asr_model) if options.asr else None
                    report.retried, report.executor = driver.run(executors or executor_factory(options), listener)
                except KeyboardInterrupt:
                    report.interrupted = True
                except PipelineError as exc:  # the work could not go on (an executor, a model): keep what is done
                    report.errors.append(exc)
            report.tracebacks = driver.tracebacks
            with ignoring_signals() if report.interrupted else contextlib.nullcontext():
                _finish(project, catalog, plan, options, store, driver, report, selection.whole_series)
                cache.register(project.root, store.cache_keys())
                memo.save({s.job.plan_key for s in plan.steps} if selection.whole_series else None)
        finally:
            store.close()
    return report


def _finish(project, catalog, plan: BuildPlan, options: BuildOptions, store: Store, driver: Driver,
            report: BuildReport, whole_series: bool) -> None:
    """Results in episode order, orphans, and publishing of every series the build touched."""
    report.steps = [s for s in plan.steps if s.job.label in driver.results]
    report.results = [driver.results[s.job.label] for s in report.steps]
    if plan.orphans:
        if not report.interrupted and not report.failed:
            forget_orphans(plan, store)
            report.orphans_removed = plan.orphans
        else:
            report.orphans_kept = plan.orphans
    touched = {s.job.series.slug: s.job.series for s in plan.steps}
    report.series_gates, problems = publish_series(project, catalog, [touched[k] for k in sorted(touched)],
                                                   options.base_url, store)
    report.errors += problems
    if report.orphans_removed:
        delete_orphan_files(plan)


def dry_run(project: Project, targets: list[str], options: BuildOptions) -> BuildPlan:
    """What a build would do, and why, without doing it (no lock, nothing written)."""
    catalog = load_catalog(project)
    store = open_store(project.out_dir, write=False)
    try:
        return plan_build(project, catalog, select(catalog, targets), options, Memo(store), store)
    finally:
        store.close()
