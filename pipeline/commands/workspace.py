"""One episode as the studio works on it: planned as a build would plan it now, with what the store
knows (its last result, approval and picked takes), and its sentences as the page shows them.

Each sentence's cache key is the one the next build will look for (the voice, the rate the episode
was last fitted to, the take in use), so a sentence spoken here is one the build does not speak
again. Nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..driver.audio import start_factor, start_takes
from ..engines import spec_of
from ..errors import PipelineError, ScriptError
from ..fingerprint import Memo, sentence_key
from ..manifest import EpisodeResult
from ..outputs import AUDIO
from ..plan import BuildOptions, EpisodeJob, Step, plan_build
from ..project import Catalog, Project, load_catalog, one_episode, select
from ..script_edit import ScriptSource, read_source
from ..state import Approval, open_store
from ..text import Utterance, plan_utterances
from .approval import holds

MAX_TAKES = 9
"""Takes of one sentence the studio keeps track of (take 0 is the first)."""


@dataclass(frozen=True)
class Take:
    """One take of a sentence in the cache."""

    take: int
    """0 for the first."""
    key: str


@dataclass
class EpisodeContext:
    """An episode planned now, with the store's knowledge of it."""

    project: Project
    catalog: Catalog
    step: Step
    approval: Approval | None
    picks: dict[str, int] = field(default_factory=dict)
    """Takes the producer picked, by spoken sentence."""

    @property
    def job(self) -> EpisodeJob:
        return self.step.job

    @property
    def previous(self) -> EpisodeResult | None:
        return self.step.previous

    @property
    def synthetic(self) -> bool:
        """Spoken by a voice (not a person's recording)."""
        return self.job.episode.audio is None

    @property
    def rate(self) -> float:
        """The engine rate the next build starts from (as the build's audio stage decides it)."""
        return self.job.voice.rate * start_factor(self.step)

    def take_of(self, spoken: str) -> int:
        """The take the next build uses: the producer's pick, else speech QA's, else the first."""
        return {**start_takes(self.step), **self.picks}.get(spoken, 0)

    def key_of(self, spoken: str, take: int | None = None) -> str:
        return sentence_key(self.job.voice_identity, spoken, self.rate, self.take_of(spoken) if take is None else take)

    def takes_cached(self, spoken: str) -> list[Take]:
        """The takes of a sentence in the cache, at the episode's rate."""
        cache = self.project.cache
        keys = [(take, self.key_of(spoken, take)) for take in range(MAX_TAKES + 1)]
        return [Take(take, key) for take, key in keys if cache.path(key).is_file()]

    @property
    def deterministic(self) -> bool:
        return spec_of(self.job.voice.engine).deterministic

    @property
    def approved(self) -> bool:
        return holds(self.approval, self.previous) and not self.stale_audio

    @property
    def stale_audio(self) -> bool:
        return AUDIO in self.step.stages

    def plan_sentences(self, episode: Any) -> list[Utterance]:
        """An episode's sentences with this episode's lexicon and pauses (how an edit is checked)."""
        job = self.job
        return plan_utterances(episode, self.catalog.lexicon, job.voice.sentence_pause_ms,
                               job.production.paragraph_pause_ms, job.production.max_pause_ms)


def open_episode(project: Project, label: str) -> EpisodeContext:
    """Plan one episode as a build would now (nothing written)."""
    catalog = load_catalog(project)
    selection = select(catalog, [str(one_episode(catalog, label)[1].path)])
    store = open_store(project.out_dir, write=False)
    try:
        plan = plan_build(project, catalog, selection, BuildOptions(), Memo(store), store)
        if plan.errors or not plan.steps:
            raise plan.errors[0] if plan.errors else PipelineError(f"{label}: nothing to plan")
        step = plan.steps[0]
        series, file = step.job.series.slug, step.job.file
        return EpisodeContext(project, catalog, step, store.approvals(series).get(file),
                              store.picks(series).get(file, {}))
    finally:
        store.close()


@dataclass(frozen=True)
class SentenceView:
    """One spoken sentence as the studio shows it."""

    index: int
    """Its place among the episode's spoken sentences (the disclosure last)."""
    line: int
    """Its line in the script (0: the disclosure, from series.yaml)."""
    written: str
    spoken: str
    source: str | None
    """What the script says, markup included; None when it cannot be edited here."""
    key: str | None
    """Its sentence-cache key for the next build (None for a recording)."""
    cached: bool
    take: int
    takes: list[Take]
    """Takes of it in the cache (for a voice that is not deterministic)."""
    picked: bool
    """Whether the producer picked its take."""
    start_s: float | None
    """Where it is in the MP3 as built (None if the MP3 does not hold it as it is now)."""
    end_s: float | None
    word_error: float | None
    heard: str | None
    """What speech recognition heard, when it flagged the sentence."""


@dataclass(frozen=True)
class EpisodeView:
    """An episode as the studio's page shows it (and its JSON twin gives it)."""

    label: str
    title: str
    script: str
    version: str
    """The script's version the page read (an edit from the page must name it)."""
    status: str
    """"built", "stale" or "missing"."""
    reason: str
    approved: bool
    approved_at: str | None
    approvable: bool
    """Built, and its audio up to date: what would be approved is what plays."""
    synthetic: bool
    deterministic: bool
    voice: str
    result: EpisodeResult | None
    mp3_version: str | None
    """First 12 hex digits of the MP3's SHA-256 (the player's `?v=`), None when not built."""
    sentences: list[SentenceView]
    problem: str | None = None
    """Why sentences cannot be edited here (the script does not parse), if so."""


def episode_view(context: EpisodeContext) -> EpisodeView:
    """The page of one episode: its sentences in order with their audio and QA, and its state."""
    job, previous = context.job, context.previous
    spoken = [u for u in job.utterances if u.spoken]
    problem = None
    source: ScriptSource | None = None
    try:
        source = read_source(job.episode.path)
    except ScriptError as exc:
        problem = str(exc)
    timings = _timings(previous) if previous is not None and job.out_path.is_file() else {}
    sentences = []
    for index, utterance in enumerate(spoken):
        key = context.key_of(utterance.spoken) if context.synthetic else None
        scripted = source is not None and index < len(source.sentences) and utterance.line
        start, end, word_error, heard = timings.get(key if key else index, (None, None, None, None))
        sentences.append(SentenceView(
            index, utterance.line, utterance.written, utterance.spoken,
            source.source_of(index) if scripted and source is not None else None, key,
            key is not None and context.project.cache.path(key).is_file(), context.take_of(utterance.spoken),
            context.takes_cached(utterance.spoken) if context.synthetic and not context.deterministic else [],
            utterance.spoken in context.picks, start, end, word_error, heard))
    status = "missing" if not job.out_path.exists() else ("stale" if context.step.stages else "built")
    return EpisodeView(
        job.label, job.episode.title, str(job.episode.path),
        source.version if source is not None else "", status, context.step.reason, context.approved,
        context.approval.approved_at if context.approved and context.approval else None,
        previous is not None and previous.has_audio and job.out_path.is_file() and not context.stale_audio,
        context.synthetic,
        context.deterministic, job.voice.name, previous if previous is not None and previous.has_audio else None,
        (previous.file_sha256 or "")[:12] if previous is not None and previous.has_audio else None, sentences,
        problem)


def _timings(previous: EpisodeResult) -> dict[str | int, tuple[float, float, float | None, str | None]]:
    """Where each sentence is in the MP3 as built, its word error and, when speech recognition
    flagged it, what it heard (a flag names the sentence's line and word error); by cache key for
    a voice's sentences, by position for a recording's."""
    heard: dict[int, str] = {}
    for flag in previous.flagged:
        for position, sentence in enumerate(previous.sentences):
            if position not in heard and sentence.get("line") == flag.get("line") \
                    and sentence.get("word_error") == flag.get("word_error"):
                heard[position] = str(flag.get("heard", ""))
                break
    places = previous.cache_keys or list(range(len(previous.sentences)))
    return {place: (s["start_s"], s["end_s"], s.get("word_error"), heard.get(position))
            for position, (place, s) in enumerate(zip(places, previous.sentences))}
