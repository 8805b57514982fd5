"""`episodes check`: every gate on what is in out/, as a listener would get it.

Each episode's MP3 is decoded and measured in workers (the executor builds use), judged by the
settings it was built with (its recorded production settings, command-line overrides included);
each series' tags are compared across its files, its track numbers must cover 1..N, and its feed
is validated offline. With `asr`, every up-to-date episode is transcribed and its sentences
scored. A file that cannot be decoded or read is a failed gate naming it, never a crash; nothing
is written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..disclosure import is_synthetic
from ..errors import PipelineError
from ..events import Emit, Progress, ignore
from ..execute import NODE_RERUNS, default_workers, make_executor
from ..gates import Gate, disclosure_gates, feed_gates, problem_gates, tag_gates
from ..manifest import EpisodeResult
from ..plan import AUDIO, BuildOptions, EpisodeJob, episode_production
from ..project import Catalog, Project, load_catalog
from ..publish.lint import apple_lint, disclosure_problems, missing_feed
from ..publish.problems import Problem
from ..publish.site_check import check_page, validate_site
from ..publish_site import published_sites
from ..script import Episode
from ..settings import Production, Series
from ..state import open_store

if TYPE_CHECKING:
    from ..qa.score import SentenceCheck

MEMORY_GB_PER_WORKER = 0.3
"""A worker decoding and measuring one MP3 at a time."""
RETRIES = 1
"""Times a file is checked again after its worker died (as a build's tasks are)."""


@dataclass(frozen=True)
class CheckOptions:
    asr: bool = False
    """Also transcribe every up-to-date episode and flag sentences not said."""
    asr_model: str | None = None
    jobs: int | None = None
    """Worker processes; None: the cores."""
    executor: str = "local"
    ray_address: str | None = None


@dataclass
class CheckReport:
    gates: list[Gate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the producer should know about how episodes were judged (built with an override)."""
    warnings: list[str] = field(default_factory=list)
    """What platforms advise against but accept (no `owner:`, `disclosure: false`, a number in a title)."""
    speech: list[tuple[EpisodeJob, list[SentenceCheck]]] | None = None
    """Each checked episode's sentence checks, with `asr`."""

    @property
    def failed(self) -> list[Gate]:
        return [g for g in self.gates if not g.passed]

    @property
    def flagged(self) -> list[dict[str, Any]]:
        from ..speech_check import flagged_record

        return [flagged_record(job, c) for job, checks in self.speech or [] for c in checks if c.flagged]


def judged_by(series: Series, episode: Episode, result: EpisodeResult | None) -> Production:
    """The settings an episode is judged by: those it was built with, as recorded; for a result
    from before settings were recorded, the series' and script's."""
    if result is not None and result.production:
        known = {f.name for f in dataclasses.fields(Production)}
        try:
            return Production(**{k: v for k, v in result.production.items() if k in known})
        except (PipelineError, TypeError):
            pass
    return episode_production(series, episode)


def override_note(label: str, result: EpisodeResult, series_production: Production) -> str | None:
    if not result.overrides:
        return None
    changes = ", ".join(f"{key} {value!r} (series: {getattr(series_production, key, '?')!r})"
                        for key, value in sorted(result.overrides.items()))
    return f"{label} was built with a command-line override: {changes}; judged by what was built"


def check(project: Project, options: CheckOptions = CheckOptions(), emit: Emit = ignore) -> CheckReport:
    """Run every gate on what is in out/ (and, with `asr`, the speech check)."""
    catalog = load_catalog(project)
    report = CheckReport([Gate(str(e.path or project.root), "input", False, e.message) for e in catalog.errors])
    store = open_store(project.out_dir, write=False)
    audits: list[_Audit] = []
    try:
        for entry in catalog.series:
            folder = project.series_out(entry.series)
            results = store.episodes(entry.series.slug)
            report.gates += [Gate(e.path.name if e.path else entry.series.slug, "script", False, str(e))
                             for e in entry.errors]
            for episode in entry.episodes:
                path = folder / f"{episode.stem}.mp3"
                if not path.is_file():
                    report.gates.append(Gate(path.name, "exists", False, "MP3 missing; run episodes build"))
                    continue
                result = results.get(path.name)
                try:
                    production = judged_by(entry.series, episode, result)
                except PipelineError as exc:
                    report.gates.append(Gate(path.name, "settings", False, str(exc)))
                    continue
                note = override_note(f"{entry.series.slug}/{path.name}", result, entry.series.production) \
                    if result is not None else None
                if note:
                    report.notes.append(note)
                extra_s = float((result.fit if result else {}).get("programme_extra_s") or 0.0)
                audits.append(_Audit(path, production, extra_s))
            report.gates += tag_gates(sorted(folder.glob("*.mp3")), entry.series, entry.scripts)
            gates, warnings = feed_gates(folder)
            report.gates += gates + disclosure_gates(entry.series, entry.episodes, results)
            report.warnings += warnings
            _add(report, _published_problems(entry.series, entry.episodes, folder))
        for site in published_sites(project):
            _add(report, _site_problems(site, catalog))
    finally:
        store.close()
    report.gates += _audio_gates(audits, options, emit)
    if options.asr:
        report.speech = _speech(project, options.asr_model)
    return report


@dataclass(frozen=True)
class _Audit:
    path: Path
    production: Production
    extra_s: float


def _add(report: CheckReport, problems: list[Problem]) -> None:
    gates, warnings = problem_gates(problems)
    report.gates += gates
    report.warnings += warnings


def _built(episodes: list[Episode], folder: Path) -> dict[str, bool]:
    """Each built episode's stem, and whether a voice engine spoke it."""
    return {e.stem: is_synthetic(e) for e in episodes if (folder / f"{e.stem}.mp3").is_file()}


def _published_problems(series: Series, episodes: list[Episode], folder: Path) -> list[Problem]:
    """Apple's metadata rules, the disclosure in tags, feed and page, the feed a base URL promises,
    and the review page itself."""
    problems = apple_lint(series, episodes) + disclosure_problems(series, _built(episodes, folder), folder)
    problems += missing_feed(series, folder, series.base_url)
    if (folder / "index.html").is_file():
        problems += check_page(folder / "index.html", folder)
    return problems


def _site_problems(site: Path, catalog: Catalog) -> list[Problem]:
    """A site `episodes publish` wrote: its pages, feeds and files, and each series' disclosure there."""
    problems = validate_site(site)
    for entry in catalog.series:
        folder = site / entry.series.slug
        if folder.is_dir():
            problems += disclosure_problems(entry.series, _built(entry.episodes, folder), folder)
    return problems


def _audio_gates(audits: list[_Audit], options: CheckOptions, emit: Emit) -> list[Gate]:
    """Each MP3 decoded, measured and judged, across the workers (its bytes read as it is sent,
    so the driver holds no more than the workers are given)."""
    from ..execute.tasks import CheckTask

    if not audits:
        return []
    workers = min(len(audits), default_workers(MEMORY_GB_PER_WORKER, options.jobs))
    executor = make_executor(options.executor, workers, options.ray_address)
    gates: dict[int, list[Gate]] = {}
    waiting = list(range(len(audits)))
    tries = [0] * len(audits)
    try:
        running = 0
        while len(gates) < len(audits):
            while waiting and running < executor.capacity:
                index = waiting.pop(0)
                audit = audits[index]
                emit(Progress(audit.path.name, "checking"))
                try:
                    mp3 = audit.path.read_bytes()
                except OSError as exc:
                    gates[index] = [Gate(audit.path.name, "decodes", False, exc.strerror or str(exc))]
                    continue
                executor.submit(index, CheckTask(audit.path.name, mp3, audit.production, audit.extra_s))
                running += 1
            for outcome in executor.poll(0.2):
                running -= 1
                file = audits[outcome.task_id].path.name
                if outcome.lost and tries[outcome.task_id] < RETRIES + (NODE_RERUNS if outcome.node_lost else 0):
                    tries[outcome.task_id] += 1
                    waiting.insert(0, outcome.task_id)
                elif outcome.lost:
                    gates[outcome.task_id] = [Gate(file, "decodes", False, f"the worker was lost ({outcome.detail})")]
                elif outcome.error is not None:
                    gates[outcome.task_id] = [Gate(file, "decodes", False, outcome.error.message)]
                else:
                    gates[outcome.task_id] = outcome.value
    finally:
        executor.close()
    return [gate for index in range(len(audits)) for gate in gates[index]]


def _speech(project: Project, model_name: str | None) -> list[tuple[EpisodeJob, list[SentenceCheck]]]:
    """Every built episode that is up to date, transcribed and scored; nothing written."""
    from ..qa.asr import load_asr
    from ..speech_check import check_episodes
    from .build import dry_run

    plan = dry_run(project, [], BuildOptions())
    items = [(s.job, s.previous) for s in plan.steps if AUDIO not in s.stages and s.previous is not None
             and s.previous.has_audio and s.previous.sentences]
    if not items:
        return []
    model = load_asr(model_name)
    results = check_episodes(model, items, load_catalog(project).lexicon, mos=False)
    return [(job, checks) for (job, _), (checks, _) in zip(items, results)]
