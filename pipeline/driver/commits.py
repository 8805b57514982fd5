"""The driver: runs a plan's steps and is the only writer of out/ and of the state store.

Each episode ends in one commit: its MP3 (tagged) and sidecars renamed into place, then its result
recorded in the store, as one step an interrupt cannot split (a SIGKILL between the two leaves an
MP3 the store does not describe, which the next build sees and rebuilds). Metadata-only steps
re-tag or re-caption in place. Workers get plain values and return plain values.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import statistics
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import describe
from ..events import Emit, Finished, Progress
from ..execute import Executor
from ..files import deferred_signals, replacing, write_if_changed
from ..manifest import EpisodeResult, keep_figures
from ..outputs import AUDIO, SIDECARS, TAGS
from ..plan import BuildOptions, BuildPlan, EpisodeJob, Step, file_sha256
from ..project import Catalog, Project
from ..settings import Series
from ..state import Store
from ..tags import retag, write_tags
from .audio import AudioStage, fit_record

if TYPE_CHECKING:
    from ..captions import Cue
    from ..execute.tasks import Finished as FinishedAudio
    from .audio import _Episode


Listener = Callable[["Driver", Executor, list[Step]], int]
"""Speech QA after the audio stage: hears the built episodes, returns the tasks retried."""


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def error_result(job: EpisodeJob, message: str) -> EpisodeResult:
    return EpisodeResult(number=job.episode.number, slug=job.episode.slug, title=job.episode.title,
                         file=job.file, status="error", error=message)


class Driver:
    """One build: owns the store's episode rows, the cache and every file under out/."""

    def __init__(self, project: Project, catalog: Catalog, plan: BuildPlan, options: BuildOptions, store: Store,
                 emit: Emit):
        self.project = project
        self.catalog = catalog
        self.plan = plan
        self.options = options
        self.store = store
        self.emit = emit
        self.staging = project.staging_dir
        self.results: dict[str, EpisodeResult] = {}
        self.covers: dict[str, Any] = {}
        self.tracebacks: dict[str, str] = {}
        self.touched: set[str] = set()
        """Store keys of the series whose results this build changed."""

    def entries(self, job: EpisodeJob) -> dict[str, EpisodeResult]:
        """The results of the episode's series as they stand (loaded once, kept up to date)."""
        return self.plan.entries.setdefault(job.store_key, {})

    def cover(self, series: Series):
        """The series cover as embedded (checked and scaled once per build)."""
        if series.slug not in self.covers:
            from ..cover import series_cover

            self.covers[series.slug] = series_cover(series)
        return self.covers[series.slug]

    def record(self, step: Step, result: EpisodeResult) -> EpisodeResult:
        """Store one episode's result (one transaction); the caller hears of an episode once,
        when it is first done. A failed rebuild keeps the old MP3's figures, marked failed."""
        job = step.job
        entries = self.entries(job)
        result = keep_figures(entries.get(job.file), result, job.out_path.exists())
        with deferred_signals():
            self.store.record(job.store_key, result)
        entries[job.file] = result
        self.touched.add(job.store_key)
        first = job.label not in self.results
        self.results[job.label] = result
        if first:
            self.emit(Finished(job.label, result.status, result.error or ""))
        return result

    def write_captions(self, job: EpisodeJob, spans: list[tuple[float, float]],
                       word_starts: list[list[float] | None] | None = None) -> list[Cue]:
        """Captions and transcript for the sentences at `spans` (and their words' onsets, if known)."""
        from ..sidecars import caption_cues, sidecar_files  # srt and webvtt: only when captions change

        cues = caption_cues(job.utterances, spans, word_starts)
        for suffix, data in sidecar_files(job, cues).items():
            write_if_changed(job.out_path.with_suffix(suffix), data, self.staging)
        return cues

    @staticmethod
    def _file_identity(path: Path, data: bytes | None = None) -> dict[str, Any]:
        stat = path.stat()
        digest = hashlib.sha256(data).hexdigest() if data is not None else file_sha256(path)
        return {"file_bytes": stat.st_size, "file_sha256": digest, "file_mtime_ns": stat.st_mtime_ns}

    def _failed(self, step: Step, exc: Exception) -> EpisodeResult:
        self.tracebacks[step.job.label] = "".join(traceback.format_exception(exc))
        return self.record(step, error_result(step.job, describe(exc, step.job.episode.path)))

    # metadata-only stages

    def retag_and_recaption(self, step: Step) -> None:
        job, entry = step.job, step.previous
        assert entry is not None
        try:
            with deferred_signals():
                changes: dict[str, Any] = {"keys": {**entry.keys}}
                if TAGS in step.stages:
                    retag(job.out_path, job.tags, self.cover(job.series), self.staging)
                    changes.update(self._file_identity(job.out_path))
                    changes["keys"][TAGS] = job.keys[TAGS]
                    changes.update(title=job.episode.title, number=job.episode.number, slug=job.episode.slug)
                if SIDECARS in step.stages:
                    spans = [(s["start_s"], s["end_s"]) for s in entry.sentences]
                    cues = self.write_captions(job, spans, [s.get("word_starts_s") for s in entry.sentences])
                    changes["captions"] = [c.to_dict() for c in cues]
                    changes["keys"][SIDECARS] = job.keys[SIDECARS]
                    lines = [u.line for u in job.utterances if u.spoken]  # sentences may have moved down the script
                    changes["sentences"] = [{**s, "line": line} for s, line in zip(entry.sentences, lines)]
                status = "retagged" if TAGS in step.stages else "captioned"
                self.record(step, dataclasses.replace(entry, status=status, error=None, **changes))
        except Exception as exc:
            self._failed(step, exc)

    # the audio stage's ends

    def start_point(self, job: EpisodeJob) -> tuple[float, float] | None:
        """Where mastering starts: where this episode's last build with the same settings ended, else
        the encoder shift its siblings with the same settings measured."""
        settings = job.keys[AUDIO]["settings"]
        entries = self.entries(job)
        own = entries.get(job.file)
        if own is not None and own.gain_target_lufs is not None and own.keys.get(AUDIO, {}).get("settings") == settings:
            return own.gain_target_lufs, own.limiter_ceiling_dbtp
        shifts = [e.gain_target_lufs - job.production.target_lufs for e in entries.values()
                  if e.gain_target_lufs is not None and e.keys.get(AUDIO, {}).get("settings") == settings]
        if not shifts:
            return None
        return job.production.target_lufs + statistics.median(shifts), job.production.ceiling_dbtp

    def commit(self, episode: _Episode, finished: FinishedAudio) -> EpisodeResult:
        """Rename the tagged MP3 and its sidecars into place and record them, as one step that an
        interrupt cannot split."""
        job = episode.job
        report = finished.mastered.report
        try:
            with deferred_signals():
                with replacing(job.out_path, self.staging) as temporary:
                    temporary.write_bytes(finished.mp3)
                    write_tags(temporary, job.tags, self.cover(job.series))
                    tagged = temporary.read_bytes()
                cues = self.write_captions(job, finished.spans)
                if finished.plot_png is not None:
                    write_if_changed(job.out_path.with_suffix(".png"), finished.plot_png, self.staging)
                words = job.episode.word_count
                result = EpisodeResult(
                    number=job.episode.number, slug=job.episode.slug, title=job.episode.title, file=job.file,
                    status="built", duration_s=report.duration_s, integrated_lufs=report.integrated_lufs,
                    integrated_single_channel_lufs=report.integrated_single_channel_lufs,
                    true_peak_dbtp=report.true_peak_dbtp, max_short_term_lufs=report.max_short_term_lufs,
                    lra_lu=report.lra_lu, word_count=words,
                    words_per_minute=round(words / report.duration_s * 60, 1) if report.duration_s else None,
                    voice=job.voice.name, engine=job.voice_identity, rate_factor=episode.factor,
                    fit=fit_record(episode, episode.fit, finished.extra_s),
                    gain_target_lufs=finished.mastered.gain_target_lufs,
                    limiter_ceiling_dbtp=finished.mastered.limiter_ceiling_dbtp,
                    production=job.production_record, overrides=dict(job.overrides), disclosure=job.disclosure,
                    cleanup=episode.cleanup,
                    keys=job.keys, cache_keys=list(episode.keys),
                    takes={s: n for s, n in episode.takes.items() if n and any(u.spoken == s for u in job.utterances)},
                    sentences=[{"line": u.line, "start_s": round(s, 3), "end_s": round(e, 3)}
                               for u, (s, e) in zip([u for u in job.utterances if u.spoken], finished.spans)],
                    captions=[c.to_dict() for c in cues],
                    gates=[g.record() for g in finished.gates],
                    synthesized_sentences=episode.synthesized, retried=episode.retried,
                    nodes={"master": finished.node, "speech": sorted(episode.speech_nodes)},
                    warnings=episode.warnings + finished.warnings,
                    built_at=now_iso(),
                    **self._file_identity(job.out_path, tagged),
                )
                return self.record(episode.step, result)
        except Exception as exc:
            return self._failed(episode.step, exc)

    def fail(self, episode: _Episode, message: str) -> EpisodeResult:
        return self.record(episode.step, error_result(episode.job, message))

    # the whole build

    def run(self, executor_factory: Callable[[list[Step]], Executor],
            listener: Callable[[], Listener] | None = None) -> tuple[int, str]:
        """Do every step; returns the tasks retried and where the work ran. `listener` makes the
        speech check (`build --asr`), before any work, when there is audio to check."""
        for step in self.plan.steps:
            if not step.stages:
                assert step.previous is not None
                self.results[step.job.label] = dataclasses.replace(step.previous, status="up-to-date")
            elif AUDIO not in step.stages:
                self.emit(Progress(step.job.label, "re-tagging" if TAGS in step.stages else "re-captioning"))
                self.retag_and_recaption(step)
        audio = [s for s in self.plan.steps if AUDIO in s.stages]
        if not audio:
            return 0, ""
        listen = listener() if listener is not None else None  # a missing extra or model is said at once
        executor = executor_factory(audio)
        try:
            retried = self.make_audio(executor, audio)
            if listen is not None:
                retried += listen(self, executor, audio)
        finally:
            executor.close()
        return retried, executor.description

    def make_audio(self, executor: Executor, steps: list[Step], refit_rate: bool = True) -> int:
        """The audio stage for these steps; returns the tasks retried."""
        stage = AudioStage(executor, self.project.cache, self.options.strict, self.commit, self.fail,
                           self.start_point, self.emit, refit_rate)
        try:
            stage.run(steps)
        finally:
            self.plan.warnings.extend(stage.warnings)
            self.tracebacks.update(stage.tracebacks)
        return stage.retried

    def regate(self, step: Step, gates: list[dict[str, Any]]) -> None:
        """Replace a built episode's gate records (speech QA's quality gate, found after the commit)."""
        stored = self.entries(step.job).get(step.job.file)
        if stored is None or stored.gates == gates:
            return
        updated = dataclasses.replace(stored, gates=gates)
        with deferred_signals():
            self.store.record(step.job.store_key, updated)
        self.entries(step.job)[step.job.file] = updated
        self.touched.add(step.job.store_key)
        if step.job.label in self.results:
            self.results[step.job.label] = dataclasses.replace(self.results[step.job.label], gates=gates)
