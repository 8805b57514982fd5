"""Batch orchestration: resolve what to build, then run each episode through the stages in order.

    script -> utterances -> synthesis -> trim/cap -> duration fit -> resample -> level
           -> encode -> verify (decode, measure, retry the limiter if the peak moved) -> tag
           -> rename into place -> manifest

One episode's failure is recorded on its result and the batch goes on; the library never
prints or exits, it reports progress through a callback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .audio import assemble, cap_pauses, resample, trim_silence
from .engines import Engine, load_engine
from .errors import ConfigError, DurationError, PipelineError, ScriptError
from .export import TagValues, decode, encode_mp3, write_tags
from .files import replacing
from .fit import rate_for_window
from .limiter import level
from .loudness import LoudnessReport, measure
from .manifest import EpisodeResult, load_manifest, save_manifest
from .script import Episode, file_hash, load_episodes
from .settings import Production, Series, VoiceProfile, load_series, load_voices
from .text import Lexicon, Utterance, load_lexicon, plan_utterances

Progress = Callable[[str], None]
MAX_FIT_ATTEMPTS = 4
MAX_MASTER_ATTEMPTS = 5
LOUDNESS_ACCURACY_LU = 0.1
PEAK_RETRY_MARGIN_DB = 0.05


@dataclass(frozen=True)
class Project:
    """A producer's folder: scripts/, voices/ and out/ side by side."""

    root: Path

    @property
    def scripts_dir(self) -> Path:
        return self.root / "scripts"

    @property
    def voices_dir(self) -> Path:
        return self.root / "voices"

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    def series_folders(self) -> list[Path]:
        if not self.scripts_dir.is_dir():
            raise ConfigError("no scripts/ folder here; run from the project folder or pass --project", self.root)
        return sorted(p.parent for p in self.scripts_dir.glob("*/series.yaml"))

    def voices(self) -> dict[str, VoiceProfile]:
        return load_voices(self.voices_dir)

    def lexicon(self) -> Lexicon:
        return load_lexicon(self.voices_dir / "lexicon.yaml")


@dataclass(frozen=True)
class Job:
    """Everything one episode's build needs, resolved and validated."""

    series: Series
    episode: Episode
    production: Production
    voice: VoiceProfile
    lexicon: Lexicon
    track_total: int
    out_path: Path
    inputs_hash: str


@dataclass(frozen=True)
class BuildOptions:
    """Choices a producer makes on the command line."""

    force: bool = False
    """Rebuild even when nothing changed."""
    strict: bool = False
    """An episode that cannot be fitted to its window fails instead of warning."""
    voice: str | None = None
    """Voice profile for every episode, over series and front matter."""
    overrides: dict[str, object] = field(default_factory=dict)
    """Production settings from flags: the top layer."""


@dataclass
class BuildReport:
    results: list[EpisodeResult] = field(default_factory=list)
    errors: list[PipelineError] = field(default_factory=list)
    """Failures that belong to no single built episode (a broken script or series file)."""

    @property
    def failed(self) -> bool:
        return bool(self.errors) or any(r.status == "error" for r in self.results)


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def inputs_hash(series: Series, episode: Episode, voice: VoiceProfile, lexicon: Lexicon, production: Production) -> str:
    """Hash of every input that changes the episode's sound or tags."""
    digest = hashlib.sha256()
    for path in (episode.path, series.config_path, voice.path, lexicon.source, series.cover):
        digest.update(path.read_bytes() if path is not None and path.exists() else b"-")
    digest.update(repr(production).encode())
    digest.update(f"{__version__}|{_package_version('piper-tts')}|{_package_version('coqui-tts')}".encode())
    return digest.hexdigest()


def _matches(episode: Episode, target: str) -> bool:
    if target.isdigit():
        return episode.number == int(target)
    path = Path(target)
    if path.suffix == ".md":
        return path.resolve() == episode.path.resolve()
    return target in (episode.slug, episode.stem)


def plan_jobs(project: Project, targets: list[str], options: BuildOptions) -> tuple[list[Job], list[PipelineError]]:
    """Resolve targets (slugs, numbers, stems or script paths; none = everything) into jobs."""
    jobs: list[Job] = []
    errors: list[PipelineError] = []
    voices = project.voices()
    lexicon = project.lexicon()
    matched: set[str] = set()
    for folder in project.series_folders():
        try:
            series = load_series(folder)
        except PipelineError as exc:
            errors.append(exc)
            continue
        episodes, script_errors = load_episodes(folder)
        total = len(episodes) + len({e.path for e in script_errors if e.path})
        if not targets:
            errors.extend(script_errors)
        else:
            errors.extend(e for e in script_errors if any(t in str(e.path) for t in targets))
        for episode in episodes:
            hits = [t for t in targets if _matches(episode, t)]
            if targets and not hits:
                continue
            matched.update(hits)
            try:
                jobs.append(_job(project, series, episode, total, voices, lexicon, options))
            except PipelineError as exc:
                errors.append(exc)
    for target in targets:
        if target not in matched and not any(target in str(e.path) for e in errors):
            errors.append(ScriptError(f"no episode matches {target!r} (give a slug, number or script path)"))
    return jobs, errors


def _job(project: Project, series: Series, episode: Episode, total: int, voices: dict[str, VoiceProfile],
         lexicon: Lexicon, options: BuildOptions) -> Job:
    production = series.production.merged(episode.overrides, episode.path).merged(options.overrides)
    name = options.voice or episode.voice or production.voice
    if name not in voices:
        where = (episode.path, episode.field_lines.get("voice")) if episode.voice and not options.voice else (
            series.config_path, None)
        raise ConfigError(f"unknown voice {name!r} (profiles in voices/: {', '.join(voices) or 'none'})", *where)
    voice = voices[name]
    out_path = project.out_dir / series.slug / f"{episode.stem}.mp3"
    return Job(series, episode, production, voice, lexicon, total, out_path,
               inputs_hash(series, episode, voice, lexicon, production))


class Synthesizer:
    """Speaks an episode's utterances at a given rate, remembering what it already said."""

    def __init__(self, engine: Engine, episode: Episode, max_pause_ms: int):
        self.engine = engine
        self.episode = episode
        self.max_pause_ms = max_pause_ms
        self._memo: dict[tuple[str, float], np.ndarray] = {}

    def speak(self, utterance: Utterance, rate: float) -> np.ndarray:
        if not utterance.spoken:
            return np.zeros(0, dtype=np.float32)
        key = (utterance.spoken, rate)
        if key not in self._memo:
            try:
                raw = self.engine.synthesize(utterance.spoken, rate)
            except PipelineError:
                raise
            except Exception as exc:  # an engine's own failure, reported on the sentence's line
                raise ScriptError(f"synthesis failed for {utterance.written!r}: {exc}",
                                  self.episode.path, utterance.line) from exc
            clip = cap_pauses(trim_silence(raw, self.engine.sample_rate), self.engine.sample_rate, self.max_pause_ms)
            if len(clip) == 0:
                raise ScriptError(f"the voice produced no sound for {utterance.written!r}",
                                  self.episode.path, utterance.line)
            self._memo[key] = clip
        return self._memo[key]


def synthesize_fitted(job: Job, engine: Engine, plan: list[Utterance], progress: Progress,
                      strict: bool) -> tuple[np.ndarray, float, list[str]]:
    """Synthesize and assemble the episode, re-synthesizing at another rate until it fits."""
    production = job.production
    synthesizer = Synthesizer(engine, job.episode, production.max_pause_ms)
    factor = 1.0
    fixed_s = (production.lead_pad_ms + production.tail_pad_ms + sum(u.pause_after_ms for u in plan[:-1])) / 1000
    attempts: list[tuple[float, float]] = []
    for attempt in range(MAX_FIT_ATTEMPTS):
        progress(f"synthesizing {len(plan)} sentences" + (f" at rate {factor:.3f}" if attempt else ""))
        clips = [(synthesizer.speak(u, job.voice.rate * factor), u.pause_after_ms) for u in plan]
        audio, _ = assemble(clips, engine.sample_rate, production.lead_pad_ms, production.tail_pad_ms)
        duration = len(audio) / engine.sample_rate
        attempts.append((factor, duration))
        wanted = rate_for_window(attempts, fixed_s, production.window_s, (production.min_rate, production.max_rate))
        if wanted is None or wanted == factor:
            break
        factor = wanted
    warnings = []
    low, high = production.window_s
    if not low <= duration <= high:
        message = (f"duration {duration:.1f} s is outside {low:g}-{high:g} s even at rate {factor:.2f} "
                   f"(rate bounds {production.min_rate}-{production.max_rate}); "
                   f"{'shorten' if duration > high else 'lengthen'} the script")
        if strict:
            raise DurationError(message, job.episode.path)
        warnings.append(message)
    return audio, factor, warnings


def master(job: Job, audio: np.ndarray, rate: int, path: Path, progress: Progress) -> tuple[LoudnessReport, float, list[str]]:
    """Level, limit, encode and verify on the decoded MP3.

    The encoder shifts level and peaks (LAME at 128 kbps reads about 0.4 dB quieter), so the
    gain target is corrected by what the decoded file measures, and the limiter's ceiling is
    lowered until the encoded file holds the true-peak ceiling. Returns the decoded file's
    measurements and the limiter ceiling used.
    """
    production = job.production
    audio = resample(audio, rate, production.sample_rate_hz)
    if production.channels == 2:
        audio = np.stack([audio, audio], axis=1)
    target, ceiling = production.target_lufs, production.ceiling_dbtp
    for _ in range(MAX_MASTER_ATTEMPTS):
        progress(f"levelling to {production.target_lufs:g} LUFS, limiter at {ceiling:.2f} dBTP")
        mastered = level(audio, production.sample_rate_hz, target, ceiling)
        progress("encoding MP3")
        encode_mp3(mastered, production.sample_rate_hz, path, production.bitrate_kbps)
        report = measure(*decode(path))
        loudness_error = production.target_lufs - report.integrated_lufs
        overshoot = report.true_peak_dbtp - production.ceiling_dbtp
        if abs(loudness_error) <= LOUDNESS_ACCURACY_LU and overshoot <= 0:
            break
        target += loudness_error
        if overshoot > 0:
            ceiling -= overshoot + PEAK_RETRY_MARGIN_DB
    warnings = []
    if report.true_peak_dbtp > production.ceiling_dbtp:
        warnings.append(f"true peak {report.true_peak_dbtp:.2f} dBTP is over the {production.ceiling_dbtp:g} dBTP ceiling")
    if abs(report.integrated_lufs - production.target_lufs) > production.loudness_tolerance_lu:
        warnings.append(f"loudness {report.integrated_lufs:.2f} LUFS is off the {production.target_lufs:g} target")
    return report, ceiling, warnings


def build_episode(job: Job, progress: Progress, strict: bool = False, out_path: Path | None = None) -> EpisodeResult:
    """Run one episode through every stage; raises PipelineError on failure."""
    out_path = out_path or job.out_path
    episode, production = job.episode, job.production
    progress(f"loading voice {job.voice.name}")
    engine = load_engine(job.voice)
    plan = plan_utterances(episode, job.lexicon, job.voice.sentence_pause_ms,
                           production.paragraph_pause_ms, production.max_pause_ms)
    audio, factor, warnings = synthesize_fitted(job, engine, plan, progress, strict)
    with replacing(out_path) as temporary:
        report, ceiling, master_warnings = master(job, audio, engine.sample_rate, temporary, progress)
        progress("tagging")
        write_tags(temporary, TagValues(
            title=episode.title, album=job.series.album, artist=job.series.author, genre=job.series.genre,
            copyright=job.series.copyright, track=episode.number, track_total=job.track_total,
            date=episode.date, summary=episode.summary, narration=episode.narration,
            language=job.series.language, cover=job.series.cover,
            custom={"script_sha256": file_hash(episode.path), "voice": job.voice.name, "engine": engine.identity},
        ))
    return EpisodeResult(
        number=episode.number, slug=episode.slug, title=episode.title, file=out_path.name, status="built",
        duration_s=report.duration_s, integrated_lufs=report.integrated_lufs,
        integrated_single_channel_lufs=report.integrated_single_channel_lufs,
        true_peak_dbtp=report.true_peak_dbtp, max_short_term_lufs=report.max_short_term_lufs,
        lra_lu=report.lra_lu, word_count=episode.word_count,
        words_per_minute=round(episode.word_count / report.duration_s * 60, 1),
        voice=job.voice.name, engine=engine.identity, rate_factor=factor, limiter_ceiling_dbtp=round(ceiling, 2),
        script_hash=file_hash(episode.path), inputs_hash=job.inputs_hash, warnings=warnings + master_warnings,
        built_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )


def is_up_to_date(job: Job) -> EpisodeResult | None:
    """The manifest entry if the episode's MP3 exists and was built from the same inputs."""
    entry = load_manifest(job.out_path.parent).get(job.out_path.name)
    if entry and entry.status != "error" and entry.inputs_hash == job.inputs_hash and job.out_path.exists():
        return entry
    return None


def series_header(series: Series) -> dict[str, str]:
    return {"series": series.title, "topic": series.topic, "album": series.album}


def build(project: Project, targets: list[str], options: BuildOptions,
          on_start: Callable[[Job, int, int], None] = lambda job, i, n: None,
          progress: Progress = lambda message: None,
          on_done: Callable[[EpisodeResult], None] = lambda result: None) -> BuildReport:
    """Build the targeted episodes (all if none), one after another; failures don't stop the batch."""
    jobs, errors = plan_jobs(project, targets, options)
    report = BuildReport(errors=errors)
    for index, job in enumerate(jobs):
        on_start(job, index, len(jobs))
        result = None if options.force else is_up_to_date(job)
        if result is not None:
            result.status = "up-to-date"
        else:
            try:
                result = build_episode(job, progress, strict=options.strict)
            except Exception as exc:  # noqa: BLE001 - one episode's failure must not stop the batch
                message = str(exc) if isinstance(exc, PipelineError) else f"{job.episode.path}: unexpected error: {exc!r}"
                result = EpisodeResult(number=job.episode.number, slug=job.episode.slug, title=job.episode.title,
                                       file=job.out_path.name, status="error", error=message)
                result.exception = exc
            save_manifest(job.out_path.parent, series_header(job.series), [result])
        report.results.append(result)
        on_done(result)
    return report
