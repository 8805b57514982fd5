"""The stages that turn one episode job into a finished, verified MP3 and its sidecar files.

    utterances -> synthesis (sentence cache) -> trim/cap -> duration fit -> resample -> level
    -> encode -> verify (decode, measure, correct) -> tag -> captions, gates, plot -> rename
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .audio.dsp import assemble, cap_pauses, resample, trim_silence
from .cache import CorruptEntry, SentenceCache, sentence_key
from .captions import Cue, split_cue, to_srt, to_transcript, to_webvtt
from .engines import Engine, load_engine
from .errors import DurationError, PipelineError, ScriptError
from .audio.codec import decode, encode_mp3
from .tags import TagValues, write_tags
from .files import replacing
from .audio.fit import rate_for_window
from .gates import audio_gates
from .jobs import Job
from .audio.limiter import level
from .audio.loudness import LoudnessReport, measure, short_term_lufs
from .manifest import EpisodeResult, load_manifest
from .plots import render_plot
from .script import Episode, file_hash
from .text import Utterance, plan_utterances

Progress = Callable[[str], None]
MAX_FIT_ATTEMPTS = 4
MAX_MASTER_ATTEMPTS = 5
LOUDNESS_ACCURACY_LU = 0.1
PEAK_RETRY_MARGIN_DB = 0.05


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
    short_term_lufs: np.ndarray
    """Short-term loudness of `decoded` (plain reading), for the plot."""
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
        short_term = short_term_lufs(decoded, decoded_rate)
        report = measure(decoded, decoded_rate, short_term)
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
    return Mastered(report, decoded, decoded_rate, short_term, round(target, 3), round(ceiling, 3), warnings)


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
    script_hash = file_hash(episode.path)
    with replacing(out_path, job.staging_dir) as temporary:
        mastered = master(job, speech.audio, engine.sample_rate, temporary, progress, _mastering_start(job))
        report = mastered.report
        progress("tagging")
        write_tags(temporary, TagValues(
            title=episode.title, album=job.series.album, artist=job.series.author, genre=job.series.genre,
            copyright=job.series.copyright, track=episode.number, track_total=job.track_total,
            date=episode.date, summary=episode.summary, narration=episode.narration,
            language=job.series.language, cover=job.series.cover,
            custom={"script_sha256": script_hash, "voice": job.voice.name, "engine": engine.identity},
        ))
        size = temporary.stat().st_size
        progress("captions, gates and plot")
        cues = [piece for cue in speech.cues for piece in split_cue(cue)]
        gates = audio_gates(out_path.name, mastered.decoded, mastered.decoded_rate, report, production)
        sidecars = {
            ".vtt": to_webvtt(cues).encode(),
            ".srt": to_srt(cues).encode(),
            ".txt": to_transcript(episode.title, episode.narration).encode(),
            ".png": render_plot(mastered.decoded, mastered.short_term_lufs, production.target_lufs),
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
        file_bytes=size, script_hash=script_hash,
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
