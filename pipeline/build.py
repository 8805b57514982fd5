"""The build driver: plan, hand out work, and be the only writer of out/ and the sentence cache.

    plan (fingerprints)  ->  re-tag / re-caption what only changed in metadata (here, at once)
                         ->  speak every missing sentence of every episode (workers)
                         ->  an episode whose sentences are in is assembled and fitted (here),
                             re-entering the queue at another rate if it must, then finished
                             (workers: tempo, master, verify, gates, plot)
                         ->  commit: MP3 + tags + sidecars renamed into place, manifest saved
                         ->  publish each series touched; remove orphans after a clean build

Workers get plain values and return plain values; a worker that dies costs one retry of its task,
then only the episodes that needed it. Ctrl-C stops the work, keeps everything committed, and
still publishes, so manifest, feed and files agree.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import statistics
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from . import __version__
from .audio import fit
from .cache import CorruptEntry, SentenceCache
from .cache_admin import project_keys
from .errors import DurationError, PipelineError, ScriptError
from .execute import Executor, Outcome, default_workers, hung_after_s, make_executor
from .files import (deferred_signals, ensure_folder, ignoring_signals, output_lock, remove_partials, replacing,
                    write_if_changed)
from .fingerprint import Memo, sentence_key
from .gates import Gate, tag_gates
from .manifest import EpisodeResult, Manifest
from .plan import AUDIO, CAPTIONS, TAGS, BuildOptions, BuildPlan, EpisodeJob, Orphan, Step, file_sha256, plan_build
from .project import Catalog, Project, load_catalog, select
from .settings import Series
from .tags import retag, write_tags

if TYPE_CHECKING:
    import numpy as np

    from .captions import Cue
    from .execute.tasks import Finished, Spoken

PUBLISHED_NAME = ".published.json"
"""Per series: the key of its last publishing and the tag gates found then."""
MAX_FIT_ATTEMPTS = 4
"""Synthesis rounds the duration fit may ask for (the first included)."""
RETRIES = 1
"""Times a task is run again after its worker died."""
MAX_TAKES = 3
"""Retakes speech QA may ask for, per misheard sentence (never an endless loop)."""


@dataclass
class BuildReport:
    steps: list[Step] = field(default_factory=list)
    results: list[EpisodeResult] = field(default_factory=list)
    """One per step in `steps` (those that finished, in episode order)."""
    errors: list[PipelineError] = field(default_factory=list)
    """Failures that belong to no single built episode (a broken script or series file)."""
    series_gates: list[Gate] = field(default_factory=list)
    """Tag and track-number gates of every series the build touched."""
    orphans_removed: list[Orphan] = field(default_factory=list)
    orphans_kept: list[Orphan] = field(default_factory=list)
    """Orphans left in place because the build had failures (or named episodes)."""
    warnings: list[str] = field(default_factory=list)
    retried: int = 0
    """Tasks run again because their worker died."""
    executor: str = ""
    """Where the audio work ran, in words."""
    interrupted: bool = False
    tracebacks: dict[str, str] = field(default_factory=dict)
    """Workers' tracebacks of unexpected errors, by episode, for --debug."""

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(r.status == "error" for r in self.results)

    @property
    def failed_gates(self) -> list[Gate]:
        episode_gates = [Gate(r.file, g["name"], g["passed"], g["detail"]) for r in self.results
                         if r.status != "error" for g in r.gates]
        return [g for g in episode_gates + self.series_gates if not g.passed]


@dataclass
class BuildEvents:
    """What the build tells its caller as it goes (the CLI draws progress from these)."""

    plan: Callable[[BuildPlan], None] = lambda plan: None
    progress: Callable[[str, str], None] = lambda label, message: None
    finished: Callable[[Step, EpisodeResult], None] = lambda step, result: None


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def error_result(job: EpisodeJob, message: str) -> EpisodeResult:
    return EpisodeResult(number=job.episode.number, slug=job.episode.slug, title=job.episode.title,
                         file=job.file, status="error", error=message)


# -- the audio stage: sentences to finished MP3s ------------------------------------------------


@dataclass
class _Episode:
    """Driver-side state of one episode's audio stage."""

    step: Step
    factor: float
    """Rate factor of the current synthesis round."""
    attempts: list[tuple[float, float]] = field(default_factory=list)
    waiting: set[str] = field(default_factory=set)
    keys: list[str] = field(default_factory=list)
    """Sentence keys of the current round, one per spoken utterance."""
    synthesized: int = 0
    speech_nodes: set[str] = field(default_factory=set)
    retried: int = 0
    fit: fit.FitChoice | None = None
    warnings: list[str] = field(default_factory=list)
    takes: dict[str, int] = field(default_factory=dict)
    """Retakes by spoken sentence (speech QA asked for another take of a misheard sentence)."""
    done: bool = False

    @property
    def job(self) -> EpisodeJob:
        return self.step.job

    def key_of(self, spoken: str) -> str:
        """The cache key of one of this episode's sentences in the current round."""
        job = self.job
        return sentence_key(job.voice_identity, spoken, job.voice.rate * self.factor, self.takes.get(spoken, 0))


@dataclass
class _Task:
    kind: str
    task: Any
    key: str | None = None
    episode: _Episode | None = None
    tries: int = 0


class AudioStage:
    """Speaks, fits and finishes the episodes whose audio must be made, streaming them to `commit`."""

    def __init__(self, executor: Executor, cache: SentenceCache, strict: bool,
                 commit: Callable[[_Episode, Finished], EpisodeResult],
                 fail: Callable[[_Episode, str], EpisodeResult],
                 start_point: Callable[[EpisodeJob], tuple[float, float] | None],
                 events: BuildEvents, refit_rate: bool = True):
        self.refit_rate = refit_rate
        """False for retakes: they keep the rate the episode was fitted to (only pauses and tempo move)."""
        self.executor = executor
        self.cache = cache
        self.strict = strict
        self.commit = commit
        self.fail_result = fail
        self.start_point = start_point
        self.events = events
        self.clips: dict[tuple[str, int], tuple[np.ndarray, int]] = {}
        """Trimmed sentence audio by (key, max pause), shared by episodes that say the same sentence."""
        self.waiters: dict[str, list[_Episode]] = {}
        self.speak_queue: deque[int] = deque()
        self.finish_queue: deque[int] = deque()
        self.tasks: dict[int, _Task] = {}
        self.running: set[int] = set()
        self.next_id = 0
        self.active: list[_Episode] = []
        self.sources: dict[tuple[Any, int], dict[str, tuple[np.ndarray, int]]] = {}
        self.retried = 0
        self.warnings: list[str] = []
        self.tracebacks: dict[str, str] = {}
        """A worker's traceback of each episode's failure, for --debug."""

    # the loop

    def run(self, steps: list[Step]) -> None:
        for step in steps:
            episode = _Episode(step, self._start_factor(step), warnings=list(step.job.warnings),
                               takes=self._takes(step))
            self.active.append(episode)
            if step.job.episode.audio is not None:
                self._recorded(episode)
            else:
                self._request_round(episode)
        while any(not e.done for e in self.active):
            self._dispatch()
            for outcome in self.executor.poll(0.2):
                self._handle(outcome)

    @staticmethod
    def _same_voice(step: Step) -> bool:
        previous = step.previous
        return previous is not None and previous.keys.get(AUDIO, {}).get("voice") == step.job.keys[AUDIO]["voice"]

    def _takes(self, step: Step) -> dict[str, int]:
        """The takes the previous build chose (speech QA), kept while the voice is the same."""
        return dict(step.previous.takes) if self._same_voice(step) else {}

    def _start_factor(self, step: Step) -> float:
        """The rate factor the previous build fitted to, when its voice is the same: its sentences
        are then all cache hits, and an edit re-synthesizes only the edited sentence."""
        return step.previous.rate_factor or 1.0 if self._same_voice(step) else 1.0

    def _dispatch(self) -> None:
        while len(self.running) < self.executor.capacity and (self.finish_queue or self.speak_queue):
            task_id = (self.finish_queue or self.speak_queue).popleft()
            if not self._episodes_of(self.tasks[task_id]):  # every episode that wanted it has failed
                self.waiters.pop(self.tasks.pop(task_id).key or "", None)
                continue
            self.running.add(task_id)
            self.executor.submit(task_id, self.tasks[task_id].task)

    def _add(self, task: _Task, queue: deque[int]) -> None:
        task_id = self.next_id
        self.next_id += 1
        self.tasks[task_id] = task
        queue.append(task_id)

    # speaking

    def _request_round(self, episode: _Episode) -> None:
        from .execute.tasks import SpeakTask

        job = episode.job
        rate = job.voice.rate * episode.factor
        episode.keys = []
        episode.waiting = set()
        spoken = [u for u in job.utterances if u.spoken]
        for utterance in spoken:
            key = episode.key_of(utterance.spoken)
            episode.keys.append(key)
            if self._clip(key, job) is not None:
                continue
            if key not in episode.waiting:
                episode.waiting.add(key)
                if key not in self.waiters:
                    self.waiters[key] = []
                    task = SpeakTask(job.voice, job.voice_identity, job.voice_digests, utterance.spoken, rate)
                    self._add(_Task("speak", task, key), self.speak_queue)
                self.waiters[key].append(episode)
        self._progress(episode)
        if not episode.waiting:
            self._sentences_in(episode)

    def _clip(self, key: str, job: EpisodeJob) -> tuple[np.ndarray, int] | None:
        """The trimmed clip for a sentence key, from memory or the cache; None when it must be spoken."""
        memo = (key, job.production.max_pause_ms)
        if memo in self.clips:
            return self.clips[memo]
        try:
            stored = self.cache.get(key)
        except CorruptEntry as exc:
            self.warnings.append(str(exc))
            stored = None
        if stored is None:
            return None
        return self._keep(key, job, *stored)

    def _keep(self, key: str, job: EpisodeJob, samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
        from .audio.dsp import cap_pauses, trim_silence

        clip = cap_pauses(trim_silence(samples, rate), rate, job.production.max_pause_ms)
        self.clips[(key, job.production.max_pause_ms)] = (clip, rate)
        return clip, rate

    def _progress(self, episode: _Episode) -> None:
        total = len(episode.keys)
        done = total - len(episode.waiting)
        rate = f" at rate {episode.factor:.2f}" if episode.factor != 1.0 else ""
        self.events.progress(episode.job.label, f"speaking {done}/{total} sentences{rate}")

    def _spoken(self, task: _Task, spoken: Spoken) -> None:
        assert task.key is not None
        samples, rate = self.cache.put(task.key, spoken.samples, spoken.sample_rate)
        for episode in self.waiters.pop(task.key, []):
            if episode.done:
                continue
            self._keep(task.key, episode.job, samples, rate)
            episode.waiting.discard(task.key)
            episode.synthesized += 1
            episode.speech_nodes.add(spoken.node)
            self._progress(episode)
            if not episode.waiting:
                self._sentences_in(episode)

    # fitting

    def _sentences_in(self, episode: _Episode) -> None:
        """Every sentence of this round is in: fit, then either another round or the finish task."""
        from .audio.dsp import assemble, resample
        import numpy as np

        job = episode.job
        production = job.production
        clips = [self._clip(key, job) for key in episode.keys]
        if any(c is None for c in clips):  # a corrupt entry vanished meanwhile: speak it again
            self._request_round(episode)
            return
        rate = clips[0][1] if clips else 22050
        audio_clips = [clip if clip_rate == rate else resample(clip, clip_rate, rate) for clip, clip_rate in clips]
        for utterance, (clip, _) in zip([u for u in job.utterances if u.spoken], clips):
            if len(clip) == 0:
                self._fail(episode, str(ScriptError(f"the voice produced no sound for {utterance.written!r}",
                                                    job.episode.path, utterance.line)))
                return
        speech_s = sum(len(c) for c in audio_clips) / rate
        episode.attempts.append((episode.factor, speech_s))
        pauses = [u.pause_after_ms for u in job.utterances][:-1]
        limits = fit.FitLimits(self._window(job), (production.min_rate, production.max_rate),
                               production.min_pause_ms, production.max_pause_ms, production.max_tempo_change)
        pads_s = (production.lead_pad_ms + production.tail_pad_ms) / 1000.0
        choice = fit.choose(episode.attempts, pauses, pads_s, limits,
                            self.refit_rate and len(episode.attempts) < MAX_FIT_ATTEMPTS)
        if choice.resynthesize:
            episode.factor = choice.rate
            self._request_round(episode)
            return
        pause_ms = fit.scaled_pauses(pauses, choice.pause_scale, production.min_pause_ms, production.max_pause_ms)
        pieces: list[tuple[np.ndarray, int]] = []
        spoken = iter(audio_clips)
        for index, utterance in enumerate(job.utterances):
            clip = next(spoken) if utterance.spoken else np.zeros(0, dtype=np.float32)
            pieces.append((clip, pause_ms[index] if index < len(pause_ms) else 0))
        narration, spans = assemble(pieces, rate, 0, 0)
        sentence_spans = [(s.start_s, s.end_s) for u, s in zip(job.utterances, spans) if u.spoken]
        self._finish(episode, narration, rate, sentence_spans, choice)

    def _window(self, job: EpisodeJob) -> tuple[float, float]:
        """The narration's duration window: the production's, less what an intro and outro add when
        the whole programme must fit it (`fit: programme`)."""
        low, high = job.production.window_s
        if job.sound is None or job.production.fit != "programme":
            return low, high
        from .audio.mix import added_seconds

        extra = added_seconds(job.sound, self._sources(job))
        return low - extra, high - extra

    def _sources(self, job: EpisodeJob) -> dict[str, tuple[np.ndarray, int]] | None:
        """The episode's sound files, decoded once per design at the output rate."""
        if job.sound is None:
            return None
        memo = (job.sound, job.production.sample_rate_hz)
        if memo not in self.sources:
            from .audio.mix import load_sources

            self.sources[memo] = load_sources(job.sound, job.production.sample_rate_hz)
        return self.sources[memo]

    def _recorded(self, episode: _Episode) -> None:
        """A person's recording instead of the voice: trimmed and capped like synthesis, sentences
        aligned on its speech, no rate change (outside the window: a warning, or with --strict an error)."""
        from .audio.dsp import cap_pauses, trim_silence
        from .audio.recording import load_recording, sentence_spans

        job = episode.job
        production = job.production
        self.events.progress(job.label, "aligning the recording")
        try:
            audio, rate = load_recording(job.episode.audio)
            audio = cap_pauses(trim_silence(audio, rate), rate, production.max_pause_ms)
            spoken = [u for u in job.utterances if u.spoken]
            spans = sentence_spans(audio, rate, [u.spoken for u in spoken], [u.pause_after_ms for u in spoken])
        except PipelineError as exc:
            self._fail(episode, str(exc) if exc.path else f"{job.episode.audio}: {exc.message}")
            return
        episode.attempts.append((1.0, len(audio) / rate))
        duration = len(audio) / rate + (production.lead_pad_ms + production.tail_pad_ms) / 1000.0
        self._finish(episode, audio, rate, spans, fit.FitChoice(1.0, 1.0, 1.0, duration, False))

    def _finish(self, episode: _Episode, narration: np.ndarray, rate: int, spans: list[tuple[float, float]],
                choice: fit.FitChoice) -> None:
        """Check the fitted duration, then queue the finish task (tempo, sound, master, gates, plot)."""
        job = episode.job
        production = job.production
        low, high = self._window(job)
        if not low <= choice.duration_s <= high:
            what = "the recording" if job.episode.audio else "the script"
            message = (f"duration {choice.duration_s:.1f} s is outside {low:g}-{high:g} s"
                       + ("" if job.episode.audio else
                          f" even with pauses x{choice.pause_scale:.2f}, rate {episode.factor:.2f} and tempo "
                          f"{choice.tempo:.2f} (bounds: rate {production.min_rate}-{production.max_rate}, tempo "
                          f"±{production.max_tempo_change:.0%})")
                       + f"; {'shorten' if choice.duration_s > high else 'lengthen'} {what}")
            if self.strict:
                self._fail(episode, str(DurationError(message, job.episode.path)))
                return
            episode.warnings.append(message)
        episode.fit = choice
        self.events.progress(job.label, "mastering")
        from .execute.tasks import FinishTask

        self._add(_Task("finish", FinishTask(job.file, narration, rate, spans, choice.tempo, production,
                                             self.start_point(job), job.sound, self._sources(job)),
                        episode=episode), self.finish_queue)

    # outcomes

    def _handle(self, outcome: Outcome) -> None:
        self.running.discard(outcome.task_id)
        task = self.tasks[outcome.task_id]
        if outcome.lost:
            task.tries += 1
            episodes = self._episodes_of(task)
            if task.tries <= RETRIES and episodes:
                self.retried += 1
                for episode in episodes:
                    episode.retried += 1
                labels = ", ".join(e.job.label for e in episodes)
                self.warnings.append(f"{labels}: retried {self._doing(task)} ({outcome.detail})")
                (self.finish_queue if task.kind == "finish" else self.speak_queue).appendleft(outcome.task_id)
                return
            del self.tasks[outcome.task_id]
            self._task_failed(task, f"a worker was lost twice while {self._doing(task)} ({outcome.detail})")
            return
        del self.tasks[outcome.task_id]
        if outcome.error is not None:
            for episode in self._episodes_of(task):
                if outcome.detail:
                    self.tracebacks[episode.job.label] = outcome.detail
            self._task_failed(task, str(outcome.error))
            return
        if task.kind == "speak":
            self._spoken(task, outcome.value)
        else:
            assert task.episode is not None
            if not task.episode.done:
                task.episode.done = True
                self.commit(task.episode, outcome.value)

    def _episodes_of(self, task: _Task) -> list[_Episode]:
        """The episodes still waiting for this task."""
        wanting = [task.episode] if task.episode else self.waiters.get(task.key or "", [])
        return [e for e in wanting if not e.done]

    def _doing(self, task: _Task) -> str:
        if task.kind == "finish":
            return "mastering"
        text = task.task.text
        return f"speaking {text[:40] + '…' if len(text) > 40 else text!r}"

    def _task_failed(self, task: _Task, message: str) -> None:
        if task.kind == "speak":
            episodes = self.waiters.pop(task.key or "", [])
            for episode in episodes:
                line = next((u.line for u in episode.job.utterances if u.spoken and episode.key_of(u.spoken) == task.key),
                            None)
                where = f"{episode.job.episode.path}:{line}: " if line and str(episode.job.episode.path) not in message \
                    else ""
                self._fail(episode, f"{where}{message}")
        elif task.episode is not None:
            self._fail(task.episode, message if str(task.episode.job.episode.path) in message
                       else f"{task.episode.job.episode.path}: {message}")

    def _fail(self, episode: _Episode, message: str) -> None:
        if episode.done:
            return
        episode.done = True
        self.fail_result(episode, message)


# -- the driver --------------------------------------------------------------------------------


class Driver:
    """One build: owns the manifests, the cache and every file under out/."""

    def __init__(self, project: Project, catalog: Catalog, plan: BuildPlan, options: BuildOptions,
                 events: BuildEvents):
        self.project = project
        self.catalog = catalog
        self.plan = plan
        self.options = options
        self.events = events
        self.staging = project.staging_dir
        self.results: dict[str, EpisodeResult] = {}
        self.covers: dict[str, Any] = {}
        self.tracebacks: dict[str, str] = {}

    def manifest(self, job: EpisodeJob) -> Manifest:
        return self.plan.manifests[job.series.slug]

    def cover(self, series: Series):
        """The series cover as embedded (checked and scaled once per build)."""
        if series.slug not in self.covers:
            from .cover import series_cover

            self.covers[series.slug] = series_cover(series)
        return self.covers[series.slug]

    def record(self, step: Step, result: EpisodeResult) -> EpisodeResult:
        """Save one episode's result in its series manifest (atomically); the caller hears of an
        episode once, when it is first done."""
        manifest = self.manifest(step.job)
        with deferred_signals():
            manifest.record(result)
            manifest.save(self.staging)
        first = step.job.label not in self.results
        self.results[step.job.label] = result
        if first:
            self.events.finished(step, result)
        return result

    def write_captions(self, job: EpisodeJob, spans: list[tuple[float, float]],
                       word_starts: list[list[float] | None] | None = None) -> list[Cue]:
        """Captions and transcript for the sentences at `spans` (and their words' onsets, if known)."""
        from .sidecars import caption_cues, sidecar_files  # srt and webvtt: only when captions change

        cues = caption_cues(job.utterances, spans, word_starts)
        for suffix, data in sidecar_files(job.episode, cues).items():
            write_if_changed(job.out_path.with_suffix(suffix), data, self.staging)
        return cues

    def _file_identity(self, path: Path, data: bytes | None = None) -> dict[str, Any]:
        stat = path.stat()
        digest = hashlib.sha256(data).hexdigest() if data is not None else file_sha256(path)
        return {"file_bytes": stat.st_size, "file_sha256": digest, "file_mtime_ns": stat.st_mtime_ns}

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
                if CAPTIONS in step.stages:
                    spans = [(s["start_s"], s["end_s"]) for s in entry.sentences]
                    cues = self.write_captions(job, spans, [s.get("word_starts_s") for s in entry.sentences])
                    changes["captions"] = [c.to_dict() for c in cues]
                    changes["keys"][CAPTIONS] = job.keys[CAPTIONS]
                    lines = [u.line for u in job.utterances if u.spoken]  # sentences may have moved down the script
                    changes["sentences"] = [{**s, "line": line} for s, line in zip(entry.sentences, lines)]
                status = "retagged" if TAGS in step.stages else "captioned"
                self.record(step, dataclasses.replace(entry, status=status, error=None, **changes))
        except PipelineError as exc:
            self.record(step, error_result(job, str(exc)))

    # the audio stage's ends

    def start_point(self, job: EpisodeJob) -> tuple[float, float] | None:
        """Where mastering starts: where this episode's last build with the same settings ended, else
        the encoder shift its siblings with the same settings measured."""
        settings = job.keys[AUDIO]["settings"]
        manifest = self.manifest(job)
        own = manifest.get(job.file)
        if own is not None and own.gain_target_lufs is not None and own.keys.get(AUDIO, {}).get("settings") == settings:
            return own.gain_target_lufs, own.limiter_ceiling_dbtp
        shifts = [e.gain_target_lufs - job.production.target_lufs for e in manifest.entries.values()
                  if e.gain_target_lufs is not None and e.keys.get(AUDIO, {}).get("settings") == settings]
        if not shifts:
            return None
        return job.production.target_lufs + statistics.median(shifts), job.production.ceiling_dbtp

    def commit(self, episode: _Episode, finished: Finished) -> EpisodeResult:
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
                choice = episode.fit
                words = job.episode.word_count
                result = EpisodeResult(
                    number=job.episode.number, slug=job.episode.slug, title=job.episode.title, file=job.file,
                    status="built", duration_s=report.duration_s, integrated_lufs=report.integrated_lufs,
                    integrated_single_channel_lufs=report.integrated_single_channel_lufs,
                    true_peak_dbtp=report.true_peak_dbtp, max_short_term_lufs=report.max_short_term_lufs,
                    lra_lu=report.lra_lu, word_count=words,
                    words_per_minute=round(words / report.duration_s * 60, 1) if report.duration_s else None,
                    voice=job.voice.name, engine=job.voice_identity, rate_factor=episode.factor,
                    fit=_fit_record(episode, choice, finished.extra_s),
                    gain_target_lufs=finished.mastered.gain_target_lufs,
                    limiter_ceiling_dbtp=finished.mastered.limiter_ceiling_dbtp,
                    keys=job.keys, cache_keys=list(episode.keys),
                    takes={s: n for s, n in episode.takes.items() if n and any(u.spoken == s for u in job.utterances)},
                    sentences=[{"line": u.line, "start_s": round(s, 3), "end_s": round(e, 3)}
                               for u, (s, e) in zip([u for u in job.utterances if u.spoken], finished.spans)],
                    captions=[c.to_dict() for c in cues],
                    gates=[{"name": g.name, "passed": g.passed, "detail": g.detail} for g in finished.gates],
                    synthesized_sentences=episode.synthesized, retried=episode.retried,
                    nodes={"master": finished.node, "speech": sorted(episode.speech_nodes)},
                    warnings=episode.warnings + finished.warnings,
                    built_at=now_iso(),
                    **self._file_identity(job.out_path, tagged),
                )
                return self.record(episode.step, result)
        except PipelineError as exc:
            return self.fail(episode, str(exc))

    def fail(self, episode: _Episode, message: str) -> EpisodeResult:
        return self.record(episode.step, error_result(episode.job, message))

    # the whole build

    def run(self, executor_factory: Callable[[list[Step]], Executor]) -> tuple[int, str]:
        """Do every step; returns the tasks retried and where the work ran."""
        for step in self.plan.steps:
            if not step.stages:
                assert step.previous is not None
                self.results[step.job.label] = dataclasses.replace(step.previous, status="up-to-date")
            elif AUDIO not in step.stages:
                self.retag_and_recaption(step)
        audio = [s for s in self.plan.steps if AUDIO in s.stages]
        if not audio:
            return 0, ""
        model = None
        if self.options.asr:  # before any work: a missing extra or model is said at once
            from .qa.asr import load_asr

            model = load_asr(self.options.asr_model)
        executor = executor_factory(audio)
        try:
            retried = self.make_audio(executor, audio)
            if model is not None:
                retried += self.speech_qa(model, executor, audio)
        finally:
            executor.close()
        return retried, executor.description

    def make_audio(self, executor: Executor, steps: list[Step], refit_rate: bool = True) -> int:
        """The audio stage for these steps; returns the tasks retried."""
        stage = AudioStage(executor, self.project.cache, self.options.strict, self.commit, self.fail,
                           self.start_point, self.events, refit_rate)
        try:
            stage.run(steps)
        finally:
            self.plan.warnings.extend(stage.warnings)
            self.tracebacks.update(stage.tracebacks)
        return stage.retried

    # speech QA (--asr)

    def speech_qa(self, model: Any, executor: Executor, steps: list[Step]) -> int:
        """Check what the voice said in every episode built; a flagged sentence of a voice that is
        not deterministic is spoken again (up to MAX_TAKES times) and its best take kept; a
        deterministic voice's gets a hint instead. Returns the tasks retried."""
        from .engines import spec_of

        best: dict[tuple[str, str], tuple[float, int]] = {}
        """(episode, spoken sentence) -> (lowest word error, its take)."""
        retried = 0
        pending = steps
        for round_number in range(MAX_TAKES + 1):
            again = []
            for step, entry, checks in self._checked(model, pending):
                job = step.job
                spoken = [u.spoken for u in job.utterances if u.spoken]
                for text, check in zip(spoken, checks):
                    take = entry.takes.get(text, 0)
                    if (job.label, text) not in best or check.word_error < best[job.label, text][0]:
                        best[job.label, text] = (check.word_error, take)
                flagged = [text for text, check in zip(spoken, checks) if check.flagged]
                if flagged and (job.episode.audio is not None or spec_of(job.voice.engine).deterministic):
                    remedy = ("it is a recording: record the sentence again" if job.episode.audio is not None else
                              "this voice always says it the same way: add a lexicon entry or reword the sentence")
                    entry.warnings.extend(f"{job.episode.path}:{record['line']}: heard {record['heard']!r} for "
                                          f"{record['expected']!r}; {remedy}" for record in entry.flagged)
                    self.record(step, entry)
                elif flagged and round_number < MAX_TAKES:
                    takes = {**entry.takes, **{text: entry.takes.get(text, 0) + 1 for text in flagged}}
                    again.append(dataclasses.replace(step, previous=dataclasses.replace(entry, takes=takes)))
            if not again:
                break
            for step in again:
                self.events.progress(step.job.label, f"retaking {sum(1 for c in step.previous.flagged)} "
                                                     "misheard sentences")
            retried += self.make_audio(executor, again, refit_rate=False)
            pending = again
        final = []
        for step in steps:
            entry = self.results[step.job.label]
            if entry.status != "built":
                continue
            chosen = {text: take for (label, text), (_, take) in best.items() if label == step.job.label and take}
            if chosen != entry.takes:
                final.append(dataclasses.replace(step, previous=dataclasses.replace(entry, takes=chosen)))
        if final:  # an earlier take was heard better than the last: build with the best ones
            retried += self.make_audio(executor, final, refit_rate=False)
            list(self._checked(model, final))
        self._quality_gates(steps)
        return retried

    def _checked(self, model, steps: list[Step]):
        """Check the built episodes among `steps`; record each one's results (and its captions,
        now timed on the recognised words) and yield (step, entry, sentence checks)."""
        from .speech_check import check_episodes, with_checks

        built = [s for s in steps if self.results[s.job.label].status == "built"]
        if not built:
            return
        for step in built:
            self.events.progress(step.job.label, "listening")
        items = [(s.job, self.results[s.job.label]) for s in built]
        for step, (checks, mos) in zip(built, check_episodes(model, items, self.catalog.lexicon)):
            with deferred_signals():
                entry = self._recaption(step.job, with_checks(self.results[step.job.label], step.job, checks, mos))
                self.record(step, entry)
            yield step, entry, checks

    def _recaption(self, job: EpisodeJob, entry: EpisodeResult) -> EpisodeResult:
        """Captions again, their inner boundaries at the recognised words' onsets."""
        spans = [(s["start_s"], s["end_s"]) for s in entry.sentences]
        cues = self.write_captions(job, spans, [s.get("word_starts_s") for s in entry.sentences])
        return dataclasses.replace(entry, captions=[c.to_dict() for c in cues])

    def _quality_gates(self, steps: list[Step]) -> None:
        """DNSMOS against each series' median: a gate on every scored episode of the series."""
        from .speech_check import mos_gates

        for slug in {s.job.series.slug for s in steps}:
            manifest = self.plan.manifests[slug]
            verdicts = mos_gates([e for e in manifest.entries.values() if e.status != "error"])
            for step in [s for s in self.plan.steps if s.job.series.slug == slug]:
                stored, result = manifest.get(step.job.file), self.results.get(step.job.label)
                if stored is None or result is None or step.job.file not in verdicts:
                    continue
                gates = [g for g in stored.gates if g["name"] != "quality score"] + [verdicts[step.job.file]]
                if gates != stored.gates:
                    with deferred_signals():
                        manifest.record(dataclasses.replace(stored, gates=gates))
                        manifest.save(self.staging)
                    self.results[step.job.label] = dataclasses.replace(result, gates=gates)


def _fit_record(episode: _Episode, choice: fit.FitChoice | None, extra_s: float) -> dict[str, Any]:
    """What the duration fit did, and the seconds each step contributed (least audible first)."""
    if choice is None:
        return {}
    job = episode.job
    production = job.production
    pauses = [u.pause_after_ms for u in job.utterances][:-1]
    scaled = fit.scaled_pauses(pauses, choice.pause_scale, production.min_pause_ms, production.max_pause_ms)
    pads_s = (production.lead_pad_ms + production.tail_pad_ms) / 1000.0
    first_rate, first_speech = episode.attempts[0]
    final_speech = episode.attempts[-1][1]
    untempoed = final_speech + sum(scaled) / 1000.0 + pads_s
    return {"start_rate_factor": first_rate, "start_s": round(first_speech + sum(pauses) / 1000.0 + pads_s, 2),
            "pause_scale": choice.pause_scale, "pauses_s": round((sum(scaled) - sum(pauses)) / 1000.0, 2),
            "rate_factor": episode.factor, "rate_s": round(final_speech - first_speech, 2),
            "tempo": choice.tempo, "tempo_s": round(choice.duration_s - untempoed, 2),
            "narration_s": round(choice.duration_s, 2), "programme_extra_s": round(extra_s, 3),
            "synthesis_rounds": len(episode.attempts) if job.episode.audio is None else 0}


def _executor_factory(options: BuildOptions) -> Callable[[list[Step]], Executor]:
    def factory(steps: list[Step]) -> Executor:
        from .engines import spec_of

        memory = max(spec_of(s.job.voice.engine).memory_gb for s in steps)
        workers = default_workers(memory, options.jobs)
        if not options.jobs:  # one episode gains nothing from several processes, and pays for starting them
            workers = min(workers, len(steps))
        return make_executor(options.executor, workers, options.ray_address)
    return factory


def build(project: Project, targets: list[str], options: BuildOptions, events: BuildEvents | None = None,
          executor_factory: Callable[[list[Step]], Executor] | None = None) -> BuildReport:
    """Build the targeted episodes (all if none); failures don't stop the batch.

    Holds the output folder's lock throughout. `events.finished` hears of episodes as they finish
    (in any order); the returned report is in episode order.
    """
    events = events or BuildEvents()
    hung_after_s()  # a bad $EPISODES_TASK_TIMEOUT_S is said before any work, whatever runs the tasks
    catalog = load_catalog(project)
    selection = select(catalog, targets)
    ensure_folder(project.out_dir)
    report = BuildReport()
    with output_lock(project.out_dir):
        remove_partials(project.out_dir)
        ensure_folder(project.staging_dir)  # nothing can be written without it: say so before any work
        memo = Memo(project.memo_path)
        plan = plan_build(project, catalog, selection, options, memo)
        report.steps, report.errors, report.warnings = plan.steps, plan.errors, plan.warnings
        cache = project.cache.check()
        driver = Driver(project, catalog, plan, options, events)
        events.plan(plan)
        with cache.in_use():
            try:
                report.retried, report.executor = driver.run(executor_factory or _executor_factory(options))
            except KeyboardInterrupt:
                report.interrupted = True
            except PipelineError as exc:  # the work could not go on (an executor, a model): keep what is done
                report.errors.append(exc)
        report.tracebacks = driver.tracebacks
        with ignoring_signals() if report.interrupted else contextlib.nullcontext():
            report.steps = [s for s in plan.steps if s.job.label in driver.results]
            report.results = [driver.results[s.job.label] for s in report.steps]
            clean = not report.interrupted and not report.failed
            if plan.orphans:
                if clean:
                    remove_orphans(plan, project.staging_dir)
                    report.orphans_removed = plan.orphans
                else:
                    report.orphans_kept = plan.orphans
            touched = {s.job.series.slug: s.job.series for s in plan.steps}
            report.series_gates, problems = publish(project, catalog, [touched[k] for k in sorted(touched)], options,
                                                    plan)
            report.errors += problems
            cache.register(project.root, project_keys(project))
            memo.save({s.job.plan_key for s in plan.steps} if selection.whole_series else None)
    return report


def remove_orphans(plan: BuildPlan, staging: Path) -> None:
    """Delete an orphan's files and manifest entry (the feed and pages follow on publishing)."""
    for orphan in plan.orphans:
        with deferred_signals():
            for path in orphan.files:
                path.unlink(missing_ok=True)
            manifest = next((m for m in plan.manifests.values() if m.folder == orphan.folder), None)
            if manifest is not None:
                manifest.forget(f"{orphan.stem}.mp3")
                manifest.save(staging)


# -- publishing ----------------------------------------------------------------------------------


def publish(project: Project, catalog: Catalog, series_list: list[Series], options: BuildOptions,
            plan: BuildPlan) -> tuple[list[Gate], list[PipelineError]]:
    """Check tags across each series, write its review page and feed, and check the feed; returns
    the series gates and what could not be published (one series' problem spares the others).

    Skipped for a series whose manifest, series file, cover, base URL and MP3s are as they were
    at its last publishing (the gates found then are returned), so a no-op build stays fast.
    """
    gates: list[Gate] = []
    problems: list[PipelineError] = []
    entries_by_slug = {e.series.slug: e for e in catalog.series}
    for series in series_list:
        folder = project.series_out(series)
        if not folder.is_dir():
            continue
        base_url = options.base_url or series.base_url
        key = _publish_key(series, folder, base_url)
        state = _load_json(folder / PUBLISHED_NAME)
        if state.get("key") == key:
            gates.extend(Gate(**g) for g in state.get("gates", []))
            continue
        from .check import feed_gates
        from .publish.feed import write_feed
        from .publish.review import write_review_page

        entry = entries_by_slug[series.slug]
        manifest = plan.manifests.get(series.slug) or Manifest(folder, {})
        try:
            series_gates = tag_gates(sorted(folder.glob("*.mp3")), series, entry.scripts)
            write_review_page(series, entry.episodes, manifest.entries, series_gates, folder, project.staging_dir)
            write_feed(series, entry.episodes, manifest.entries, base_url, folder, project.staging_dir)
            series_gates += feed_gates(folder)
        except PipelineError as exc:
            problems.append(exc)
            continue
        gates.extend(series_gates)
        document = {"key": key, "gates": [dataclasses.asdict(g) for g in series_gates]}
        write_if_changed(folder / PUBLISHED_NAME, json.dumps(document, indent=1).encode(), project.staging_dir)
    return gates, problems


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
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def dry_run(project: Project, targets: list[str], options: BuildOptions) -> BuildPlan:
    """What a build would do, and why, without doing it (no lock, nothing written)."""
    catalog = load_catalog(project)
    return plan_build(project, catalog, select(catalog, targets), options, Memo(project.memo_path))


def preview(project: Project, target: str, options: BuildOptions,
            progress: Callable[[str, str], None] = lambda label, message: None) -> tuple[EpisodeJob, EpisodeResult]:
    """Build one episode into out/<series>/preview/ (its own manifest there; the release file, the
    series manifest, feed and pages are untouched). Sentences go through the cache as in a build."""
    catalog = load_catalog(project)
    selection = select(catalog, [target])
    if selection.errors:
        raise selection.errors[0]
    if len(selection.episodes) != 1:
        raise PipelineError(f"{target!r} matches {len(selection.episodes)} episodes; give the script's path")
    ensure_folder(project.out_dir)
    with output_lock(project.out_dir):
        memo = Memo(project.memo_path)
        options = dataclasses.replace(options, force=True)
        plan = plan_build(project, catalog, selection, options, memo)
        if plan.errors:
            raise plan.errors[0]
        step = plan.steps[0]
        folder = step.job.out_path.parent / "preview"
        job = dataclasses.replace(step.job, out_path=folder / step.job.file)
        plan.steps = [dataclasses.replace(step, job=job)]
        plan.manifests = {job.series.slug: Manifest(folder, {"preview": True})}
        cache = project.cache.check()
        driver = Driver(project, catalog, plan, options, BuildEvents(progress=progress))
        with cache.in_use():
            driver.run(executor_factory=lambda steps: make_executor("local", 1))
        memo.save({s.job.plan_key for s in plan.steps} if selection.whole_series else None)
    return job, driver.results[job.label]
