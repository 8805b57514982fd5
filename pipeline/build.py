"""Batch orchestration: resolve what to build, then run each episode through the stages in order.

    script -> utterances -> synthesis (sentence cache) -> trim/cap -> duration fit -> resample
           -> level -> encode -> verify (decode, measure, correct) -> tag -> rename -> manifest

One episode's failure is recorded on its result and the batch goes on. Episodes run in worker
processes (`jobs`), each engine limited to its share of the cores; results come back in job
order, and only the main process writes the manifest. The library never prints or exits: it
reports progress through callbacks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import queue
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__
from .audio import assemble, cap_pauses, resample, trim_silence
from .cache import CorruptEntry, SentenceCache, sentence_key
from .captions import Cue, split_cue, to_srt, to_transcript, to_webvtt
from .engines import Engine, load_engine
from .errors import ConfigError, DurationError, PipelineError, ScriptError
from .export import TagValues, decode, encode_mp3, write_tags
from .files import output_lock, remove_partials, replacing, write_if_changed
from .fit import rate_for_window
from .gates import Gate, audio_gates, tag_gates
from .limiter import level
from .loudness import LoudnessReport, measure
from .manifest import EpisodeResult, load_manifest, save_manifest
from .plots import render_plot
from .publish import write_feed, write_review_page
from .script import Episode, file_hash, load_episodes
from .settings import Production, Series, VoiceProfile, load_series, load_voices
from .text import Lexicon, Utterance, load_lexicon, plan_utterances

Progress = Callable[[str], None]
MAX_FIT_ATTEMPTS = 4
MAX_MASTER_ATTEMPTS = 5
LOUDNESS_ACCURACY_LU = 0.1
PEAK_RETRY_MARGIN_DB = 0.05
PUBLISHED_NAME = ".published.json"
"""Per series: the key of its last publishing and the tag gates found then."""
SIDECARS = (".vtt", ".srt", ".txt", ".png")
"""Files written next to each MP3: captions, transcript, review plot."""


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

    @property
    def staging_dir(self) -> Path:
        """Where files are written before they are renamed into out/."""
        return self.out_dir / ".partial"

    @property
    def cache(self) -> SentenceCache:
        return SentenceCache(Path(os.environ.get("EPISODES_CACHE") or self.out_dir / ".cache"))

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
    staging_dir: Path
    """Same file system as out_path: temporaries live here until renamed into place."""
    inputs: dict[str, str]
    """Hash of each input, by name (see `input_hashes`)."""


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
    jobs: int = 1
    """Episodes built at once, each in its own process."""
    base_url: str | None = None
    """Where the series is published (feed enclosure URLs); over series.yaml's base_url."""


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


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def input_hashes(series: Series, episode: Episode, voice: VoiceProfile, lexicon: Lexicon,
                 production: Production) -> dict[str, str]:
    """Hash of every input that changes the episode's sound or tags, by name."""

    def of(path: Path | None) -> str:
        return _digest(path.read_bytes()) if path is not None and path.exists() else "-"

    software = f"{__version__}|{_package_version('piper-tts')}|{_package_version('coqui-tts')}"
    return {
        "script": of(episode.path),
        "series": of(series.config_path),
        "voice": of(voice.path),
        "lexicon": of(lexicon.source),
        "cover": of(series.cover),
        "settings": _digest(repr((production, voice.name)).encode()),
        "software": _digest(software.encode()),
    }


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
        errors.extend(e for e in script_errors if not targets or any(t in str(e.path) for t in targets))
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
    return Job(series, episode, production, voice, lexicon, total, out_path, project.staging_dir,
               input_hashes(series, episode, voice, lexicon, production))


def rebuild_reason(job: Job, entry: EpisodeResult | None) -> str | None:
    """Why the episode must be rebuilt, or None if its MP3 is up to date."""
    if entry is None or entry.status == "error" and entry.duration_s is None:
        return "not built yet"
    if not job.out_path.exists():
        return "MP3 missing"
    if entry.file_bytes != job.out_path.stat().st_size:
        return "MP3 differs from the manifest"
    if entry.status == "error":
        return "last build failed"
    missing = [suffix for suffix in SIDECARS if not job.out_path.with_suffix(suffix).exists()]
    if missing:
        return f"missing {', '.join(missing)}"
    changed = [name for name, digest in job.inputs.items() if entry.inputs.get(name) != digest]
    return f"changed: {', '.join(changed)}" if changed else None


class Synthesizer:
    """Speaks an episode's utterances at a given rate through the sentence cache."""

    def __init__(self, engine: Engine, identity: str, episode: Episode, max_pause_ms: int, cache: SentenceCache):
        self.engine = engine
        self.identity = identity
        self.episode = episode
        self.max_pause_ms = max_pause_ms
        self.cache = cache
        self.synthesized = 0
        """Sentences actually spoken by the engine (cache misses)."""
        self.warnings: list[str] = []
        self._memo: dict[str, np.ndarray] = {}

    def key(self, utterance: Utterance, rate: float) -> str:
        return sentence_key(self.identity, utterance.spoken, rate)

    def speak(self, utterance: Utterance, rate: float) -> np.ndarray:
        if not utterance.spoken:
            return np.zeros(0, dtype=np.float32)
        key = self.key(utterance, rate)
        if key not in self._memo:
            raw, sample_rate = self._cached(key) or self._synthesize(utterance, rate, key)
            if sample_rate != self.engine.sample_rate:
                raw = resample(raw, sample_rate, self.engine.sample_rate)
            clip = cap_pauses(trim_silence(raw, self.engine.sample_rate), self.engine.sample_rate, self.max_pause_ms)
            if len(clip) == 0:
                raise ScriptError(f"the voice produced no sound for {utterance.written!r}",
                                  self.episode.path, utterance.line)
            self._memo[key] = clip
        return self._memo[key]

    def _cached(self, key: str) -> tuple[np.ndarray, int] | None:
        try:
            return self.cache.get(key)
        except CorruptEntry as exc:
            self.warnings.append(str(exc))
            return None

    def _synthesize(self, utterance: Utterance, rate: float, key: str) -> tuple[np.ndarray, int]:
        try:
            raw = self.engine.synthesize(utterance.spoken, rate)
        except PipelineError:
            raise
        except Exception as exc:  # an engine's own failure, reported on the sentence's line
            raise ScriptError(f"synthesis failed for {utterance.written!r}: {exc}",
                              self.episode.path, utterance.line) from exc
        self.synthesized += 1
        self.cache.put(key, raw, self.engine.sample_rate)
        return raw, self.engine.sample_rate


@dataclass
class Speech:
    """The assembled, fitted narration of one episode."""

    audio: np.ndarray
    rate_factor: float
    cues: list[Cue]
    """Each spoken sentence's place in the audio."""
    cache_keys: list[str]
    warnings: list[str]


def synthesize_fitted(job: Job, synthesizer: Synthesizer, plan: list[Utterance], progress: Progress,
                      strict: bool) -> Speech:
    """Synthesize and assemble the episode, re-synthesizing at another rate until it fits."""
    production, sample_rate = job.production, synthesizer.engine.sample_rate
    factor = 1.0
    fixed_s = (production.lead_pad_ms + production.tail_pad_ms + sum(u.pause_after_ms for u in plan[:-1])) / 1000
    attempts: list[tuple[float, float]] = []
    for attempt in range(MAX_FIT_ATTEMPTS):
        progress(f"synthesizing {len(plan)} sentences" + (f" at rate {factor:.3f}" if attempt else ""))
        rate = job.voice.rate * factor
        clips = [(synthesizer.speak(u, rate), u.pause_after_ms) for u in plan]
        audio, spans = assemble(clips, sample_rate, production.lead_pad_ms, production.tail_pad_ms)
        duration = len(audio) / sample_rate
        attempts.append((factor, duration))
        wanted = rate_for_window(attempts, fixed_s, production.window_s, (production.min_rate, production.max_rate))
        if wanted is None or wanted == factor:
            break
        factor = wanted
    warnings = list(synthesizer.warnings)
    low, high = production.window_s
    if not low <= duration <= high:
        message = (f"duration {duration:.1f} s is outside {low:g}-{high:g} s even at rate {factor:.2f} "
                   f"(rate bounds {production.min_rate}-{production.max_rate}); "
                   f"{'shorten' if duration > high else 'lengthen'} the script")
        if strict:
            raise DurationError(message, job.episode.path)
        warnings.append(message)
    keys = [synthesizer.key(u, job.voice.rate * factor) for u in plan if u.spoken]
    cues = [Cue(span.start_s, span.end_s, u.written) for u, span in zip(plan, spans) if u.spoken]
    return Speech(audio, factor, cues, keys, warnings)


@dataclass(frozen=True)
class Mastered:
    """The encoded file's measurements and the settings that produced them."""

    report: LoudnessReport
    decoded: np.ndarray
    """The encoded file, decoded: what a listener hears."""
    decoded_rate: int
    gain_target_lufs: float
    """Loudness the gain stage aimed at, corrected for the encoder's level shift."""
    limiter_ceiling_dbtp: float
    """Ceiling the limiter needed so the encoded file holds the true-peak ceiling."""
    warnings: list[str]


def master(job: Job, audio: np.ndarray, rate: int, path: Path, progress: Progress,
           start: tuple[float, float] | None = None) -> Mastered:
    """Level, limit, encode and verify on the decoded MP3.

    The encoder shifts level and peaks (LAME at 128 kbps reads about 0.4 dB quieter), so the
    gain target is corrected by what the decoded file measures, and the limiter's ceiling is
    lowered until the encoded file holds the true-peak ceiling. `start` is the (gain target,
    ceiling) pair a previous build of the episode ended with, which usually holds at once.
    """
    production = job.production
    audio = resample(audio, rate, production.sample_rate_hz)
    if production.channels == 2:
        audio = np.stack([audio, audio], axis=1)
    target, ceiling = start or (production.target_lufs, production.ceiling_dbtp)
    for _ in range(MAX_MASTER_ATTEMPTS):
        progress(f"levelling to {production.target_lufs:g} LUFS, limiter at {ceiling:.2f} dBTP")
        mastered = level(audio, production.sample_rate_hz, target, ceiling)
        progress("encoding MP3")
        encode_mp3(mastered, production.sample_rate_hz, path, production.bitrate_kbps)
        progress("measuring the encoded file")
        decoded, decoded_rate = decode(path)
        report = measure(decoded, decoded_rate)
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
    return Mastered(report, decoded, decoded_rate, round(target, 3), round(ceiling, 3), warnings)


def _mastering_start(job: Job) -> tuple[float, float] | None:
    """Where to start mastering: where a previous build of this episode with the same settings
    ended, else the encoder's level shift that other episodes of the series already measured."""
    entries = load_manifest(job.out_path.parent)
    own = entries.get(job.out_path.name)
    settings = job.inputs["settings"]
    if own is not None and own.gain_target_lufs is not None and own.inputs.get("settings") == settings:
        return own.gain_target_lufs, own.limiter_ceiling_dbtp
    target = job.production.target_lufs
    shifts = sorted(e.gain_target_lufs - target for e in entries.values()
                    if e.gain_target_lufs is not None and e.inputs.get("settings") == settings)
    if not shifts:
        return None
    return target + shifts[len(shifts) // 2], job.production.ceiling_dbtp


def build_episode(job: Job, progress: Progress, cache: SentenceCache, strict: bool = False,
                  out_path: Path | None = None) -> EpisodeResult:
    """Run one episode through every stage; raises PipelineError on failure."""
    out_path = out_path or job.out_path
    episode, production = job.episode, job.production
    plan = plan_utterances(episode, job.lexicon, job.voice.sentence_pause_ms,
                           production.paragraph_pause_ms, production.max_pause_ms)
    progress(f"loading voice {job.voice.name}")
    engine = load_engine(job.voice)
    synthesizer = Synthesizer(engine, engine.identity, episode, production.max_pause_ms, cache)
    speech = synthesize_fitted(job, synthesizer, plan, progress, strict)
    with replacing(out_path, job.staging_dir) as temporary:
        mastered = master(job, speech.audio, engine.sample_rate, temporary, progress, _mastering_start(job))
        report = mastered.report
        progress("tagging")
        write_tags(temporary, TagValues(
            title=episode.title, album=job.series.album, artist=job.series.author, genre=job.series.genre,
            copyright=job.series.copyright, track=episode.number, track_total=job.track_total,
            date=episode.date, summary=episode.summary, narration=episode.narration,
            language=job.series.language, cover=job.series.cover,
            custom={"script_sha256": file_hash(episode.path), "voice": job.voice.name, "engine": engine.identity},
        ))
        size = temporary.stat().st_size
        progress("captions, gates and plot")
        cues = [piece for cue in speech.cues for piece in split_cue(cue)]
        gates = audio_gates(out_path.name, mastered.decoded, mastered.decoded_rate, report, production)
        sidecars = {
            ".vtt": to_webvtt(cues).encode(),
            ".srt": to_srt(cues).encode(),
            ".txt": to_transcript(episode.title, episode.narration).encode(),
            ".png": render_plot(mastered.decoded, mastered.decoded_rate, production.target_lufs),
        }
        for suffix, data in sidecars.items():
            with replacing(out_path.with_suffix(suffix), job.staging_dir) as sidecar:
                sidecar.write_bytes(data)
    return EpisodeResult(
        number=episode.number, slug=episode.slug, title=episode.title, file=out_path.name, status="built",
        duration_s=report.duration_s, integrated_lufs=report.integrated_lufs,
        integrated_single_channel_lufs=report.integrated_single_channel_lufs,
        true_peak_dbtp=report.true_peak_dbtp, max_short_term_lufs=report.max_short_term_lufs,
        lra_lu=report.lra_lu, word_count=episode.word_count,
        words_per_minute=round(episode.word_count / report.duration_s * 60, 1),
        voice=job.voice.name, engine=engine.identity, rate_factor=speech.rate_factor,
        gain_target_lufs=mastered.gain_target_lufs, limiter_ceiling_dbtp=mastered.limiter_ceiling_dbtp,
        file_bytes=size, script_hash=file_hash(episode.path),
        inputs=job.inputs, cache_keys=speech.cache_keys, synthesized_sentences=synthesizer.synthesized,
        captions=[cue.to_dict() for cue in cues],
        gates=[{"name": g.name, "passed": g.passed, "detail": g.detail} for g in gates],
        warnings=speech.warnings + mastered.warnings,
        built_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )


def run_job(job: Job, cache: SentenceCache, strict: bool, progress: Progress) -> EpisodeResult:
    """Build one episode; any failure becomes an error result, so the batch goes on."""
    try:
        return build_episode(job, progress, cache, strict=strict)
    except Exception as exc:  # noqa: BLE001 - one episode's failure must not stop the batch
        message = str(exc) if isinstance(exc, PipelineError) else f"{job.episode.path}: unexpected error: {exc!r}"
        return EpisodeResult(number=job.episode.number, slug=job.episode.slug, title=job.episode.title,
                             file=job.out_path.name, status="error", error=message)


def series_header(series: Series) -> dict[str, str]:
    return {"series": series.title, "topic": series.topic, "album": series.album}


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
        todo = [job for job in jobs if options.force or rebuild_reason(job, _entry(job)) is not None]
        on_plan(todo)
        results: dict[int, EpisodeResult] = {}
        for index, job in enumerate(jobs):
            if job not in todo:
                results[index] = dataclasses.replace(_entry(job), status="up-to-date")
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
        series_gates = tag_gates(sorted(folder.glob("*.mp3")), series)
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
        series = next(job.series for job in jobs if job.series.slug == slug)
        gates.extend(tag_gates(sorted((project.out_dir / slug).glob("*.mp3")), series))
    return gates


def _entry(job: Job) -> EpisodeResult | None:
    return load_manifest(job.out_path.parent).get(job.out_path.name)


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
    return [(job, "--force" if options.force else rebuild_reason(job, _entry(job))) for job in jobs], errors


def used_cache_keys(project: Project) -> set[str]:
    """Cache entries the built episodes of every series were assembled from."""
    keys: set[str] = set()
    for folder in project.series_folders():
        for entry in load_manifest(project.out_dir / folder.name).values():
            keys.update(entry.cache_keys)
    return keys


