"""The audio stage: speak the sentences of the episodes whose audio must be made, fit each to its
duration window, and have it finished (tempo, sound, master, verify, gates, plot), streaming each
finished episode to the driver's commit.

    speak   every sentence not in the cache (workers); clips are trimmed here as they arrive
    fit     an episode whose sentences are in is assembled and fitted, re-entering the queue at
            another speaking rate if it must
    finish  the fitted narration goes to a worker; the MP3 comes back to be committed

Memory holds only the episodes in flight: at most `window` episodes are started at once (enough
to keep every worker busy), and a clip is released when no episode in flight needs it, so the
driver's memory does not grow with the number of episodes in a build.
"""

from __future__ import annotations

import functools
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..audio import fit
from ..cache import CorruptEntry, SentenceCache
from ..errors import DurationError, PipelineError, ScriptError, describe
from ..events import Emit, Notice, Progress
from ..execute import NODE_RERUNS, Executor, Outcome
from ..fingerprint import sentence_key
from ..outputs import AUDIO
from ..plan import EpisodeJob, Step

if TYPE_CHECKING:
    import numpy as np

    from ..execute.tasks import Finished, Spoken

MAX_FIT_ATTEMPTS = 4
"""Synthesis rounds the duration fit may ask for (the first included)."""
RETRIES = 1
"""Times a task is run again after its worker died."""
MIN_WINDOW = 4
"""Episodes in flight at least (more with more workers: two per worker)."""


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
    cleanup: dict[str, Any] = field(default_factory=dict)
    """What cleaning a recording did, measured."""
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
    node_reruns: int = 0
    """Runs lost with their whole node (not the task's fault: not counted as tries)."""


def same_voice(step: Step) -> bool:
    """Whether the episode's last build was spoken by the voice it has now."""
    previous = step.previous
    return previous is not None and previous.keys.get(AUDIO, {}).get("voice") == step.job.keys[AUDIO]["voice"]


def start_takes(step: Step) -> dict[str, int]:
    """The takes a build starts from: those the previous build chose (speech QA), kept while the
    voice is the same, under the takes the producer picked."""
    return {**(step.previous.takes if same_voice(step) else {}), **dict(step.job.picks)}


def start_factor(step: Step) -> float:
    """The rate factor a build starts from: the one the previous build fitted to, when its voice is
    the same; its sentences are then all cache hits, and an edit re-synthesizes only the edited one."""
    return step.previous.rate_factor or 1.0 if same_voice(step) else 1.0


class AudioStage:
    """Speaks, fits and finishes the episodes whose audio must be made, streaming them to `commit`."""

    def __init__(self, executor: Executor, cache: SentenceCache, strict: bool,
                 commit: Callable[[_Episode, Finished], Any], fail: Callable[[_Episode, str], Any],
                 start_point: Callable[[EpisodeJob], tuple[float, float] | None], emit: Emit,
                 refit_rate: bool = True):
        self.refit_rate = refit_rate
        """False for retakes: they keep the rate the episode was fitted to (only pauses and tempo move)."""
        self.executor = executor
        self.cache = cache
        self.strict = strict
        self.commit = commit
        self.fail_result = fail
        self.start_point = start_point
        self.emit = emit
        self.window = max(MIN_WINDOW, 2 * executor.capacity)
        """Episodes in flight at once: enough to keep every worker busy, few enough to bound memory."""
        self.clips: dict[tuple[str, int], tuple[np.ndarray, int]] = {}
        """Trimmed sentence audio by (key, max pause), shared by the episodes in flight that say it."""
        self.waiters: dict[str, list[_Episode]] = {}
        self.speak_queue: deque[int] = deque()
        self.finish_queue: deque[int] = deque()
        self.tasks: dict[int, _Task] = {}
        self.running: set[int] = set()
        self.next_id = 0
        self.pending: deque[Step] = deque()
        """Episodes not started yet."""
        self.active: list[_Episode] = []
        """Episodes in flight."""
        self.sources: dict[tuple[Any, int], dict[str, tuple[np.ndarray, int]]] = {}
        self.retried = 0
        self.warnings: list[str] = []
        self.tracebacks: dict[str, str] = {}
        """A worker's traceback of each episode's failure, for --debug."""

    # the loop

    def run(self, steps: list[Step]) -> None:
        self.pending.extend(steps)
        self._admit()
        while self.active:
            self._admit()
            self._dispatch()
            for outcome in self.executor.poll(0.2):
                self._handle(outcome)
            self._notices()
        self._notices()

    def _notices(self) -> None:
        """What the executor says beyond single tasks (a node lost), as warnings and at once."""
        for notice in self.executor.notices():
            self.warnings.append(notice)
            self.emit(Notice(notice))

    def _admit(self) -> None:
        """Start episodes while fewer than `window` are in flight."""
        while self.pending and len(self.active) < self.window:
            step = self.pending.popleft()
            episode = _Episode(step, start_factor(step), warnings=list(step.job.warnings),
                               takes=start_takes(step))
            self.active.append(episode)
            start = self._recorded if step.job.episode.audio is not None else self._request_round
            self._guarded([episode], functools.partial(start, episode))

    def _retire(self, episode: _Episode) -> None:
        """An episode is done: release the clips no episode in flight needs (the loop starts the next)."""
        episode.done = True
        self.active = [e for e in self.active if e is not episode]
        needed = {(key, e.job.production.max_pause_ms) for e in self.active for key in e.keys}
        self.clips = {memo: clip for memo, clip in self.clips.items() if memo in needed}

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
        from ..execute.tasks import SpeakTask

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
        from ..audio.dsp import cap_pauses, trim_silence

        clip = cap_pauses(trim_silence(samples, rate), rate, job.production.max_pause_ms)
        self.clips[(key, job.production.max_pause_ms)] = (clip, rate)
        return clip, rate

    def _progress(self, episode: _Episode) -> None:
        total = len(episode.keys)
        done = total - len(episode.waiting)
        rate = f" at rate {episode.factor:.2f}" if episode.factor != 1.0 else ""
        self.emit(Progress(episode.job.label, f"speaking {done}/{total} sentences{rate}"))

    def _spoken(self, task: _Task, spoken: Spoken) -> None:
        assert task.key is not None
        from ..engines import spec_of

        voice = task.task.voice
        native = spec_of(voice.engine).sample_format
        samples, rate = self.cache.put(task.key, spoken.samples, spoken.sample_rate, native)
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
        import numpy as np

        from ..audio.dsp import assemble, resample

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
        limits = fit.limits_for(production, self._window(job))
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
        from ..audio.mix import added_seconds

        extra = added_seconds(job.sound, self._sources(job))
        return low - extra, high - extra

    def _sources(self, job: EpisodeJob) -> dict[str, tuple[np.ndarray, int]] | None:
        """The episode's sound files, decoded once per design at the output rate."""
        if job.sound is None:
            return None
        memo = (job.sound, job.production.sample_rate_hz)
        if memo not in self.sources:
            from ..audio.mix import load_sources

            self.sources[memo] = load_sources(job.sound, job.production.sample_rate_hz)
        return self.sources[memo]

    def _recorded(self, episode: _Episode) -> None:
        """A person's recording instead of the voice: trimmed and capped like synthesis, sentences
        aligned on its speech, no rate change (outside the window: a warning, or with --strict an error)."""
        from ..audio.dsp import cap_pauses, trim_silence
        from ..audio.recording import load_recording, recording_warnings, sentence_spans

        job = episode.job
        production = job.production
        self.emit(Progress(job.label, "aligning the recording"))
        try:
            audio, rate = load_recording(job.episode.audio)
            episode.warnings += recording_warnings(audio, rate, job.episode.audio)
            if job.cleanup is not None and job.cleanup.enabled:
                from ..audio.cleanup import clean

                self.emit(Progress(job.label, "cleaning the recording"))
                audio, cleaned = clean(audio, rate, job.cleanup, production.max_pause_ms)
                episode.cleanup = cleaned.to_dict()
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
        self.emit(Progress(job.label, "mastering"))
        from ..execute.tasks import FinishTask

        self._add(_Task("finish", FinishTask(job.file, narration, rate, spans, choice.tempo, production,
                                             self.start_point(job), job.sound, self._sources(job)),
                        episode=episode), self.finish_queue)

    # outcomes

    def _handle(self, outcome: Outcome) -> None:
        self.running.discard(outcome.task_id)
        task = self.tasks[outcome.task_id]
        if outcome.lost and outcome.node_lost and task.node_reruns < NODE_RERUNS and self._episodes_of(task):
            task.node_reruns += 1  # its node died under it: run it elsewhere, the executor said so
            (self.finish_queue if task.kind == "finish" else self.speak_queue).appendleft(outcome.task_id)
            return
        if outcome.lost:
            task.tries += 1
            episodes = self._episodes_of(task)
            if task.tries <= RETRIES and episodes:
                self.retried += 1
                for episode in episodes:
                    episode.retried += 1
                labels = ", ".join(e.job.label for e in episodes)
                message = f"{labels}: retried {self._doing(task)} ({outcome.detail})"
                self.warnings.append(message)
                self.emit(Notice(message))
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
            self._guarded(self._episodes_of(task), lambda: self._spoken(task, outcome.value))
        else:
            assert task.episode is not None
            if not task.episode.done:
                self._retire(task.episode)
                self.commit(task.episode, outcome.value)

    def _guarded(self, episodes: list[_Episode], action: Callable[[], None]) -> None:
        """Run the driver's part of these episodes' work; whatever fails, fails them alone."""
        try:
            action()
        except Exception as exc:
            for episode in episodes:
                self.tracebacks[episode.job.label] = "".join(traceback.format_exception(exc))
                self._fail(episode, describe(exc, episode.job.episode.path))

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
                script = episode.job.episode.path
                line = next((u.line for u in episode.job.utterances
                             if u.spoken and episode.key_of(u.spoken) == task.key), None)
                where = f"{script}:{line}: " if line and str(script) not in message else ""
                self._fail(episode, f"{where}{message}")
        elif task.episode is not None:
            self._fail(task.episode, message if str(task.episode.job.episode.path) in message
                       else f"{task.episode.job.episode.path}: {message}")

    def _fail(self, episode: _Episode, message: str) -> None:
        if episode.done:
            return
        self._retire(episode)
        self.fail_result(episode, message)




def fit_record(episode: _Episode, choice: fit.FitChoice | None, extra_s: float) -> dict[str, Any]:
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
            "speech_s": round(first_speech, 2),
            "pause_scale": choice.pause_scale, "pauses_s": round((sum(scaled) - sum(pauses)) / 1000.0, 2),
            "rate_factor": episode.factor, "rate_s": round(final_speech - first_speech, 2),
            "tempo": choice.tempo, "tempo_s": round(choice.duration_s - untempoed, 2),
            "narration_s": round(choice.duration_s, 2), "programme_extra_s": round(extra_s, 3),
            "synthesis_rounds": len(episode.attempts) if job.episode.audio is None else 0}

