"""Production sound: intro, outro and a music bed ducked under the narration.

The `sound:` block of series.yaml (and an episode's front-matter override) becomes a
SoundDesign; `mix_programme` lays the narration, intro, bed and outro on one timeline. Levels
are relative to the narration's own loudness, so a hot or quiet music file gives the same mix;
levelling, limiting and verifying the whole programme is mastering's job, afterwards.

Ducking follows the narration's envelope: speech frames (pauses shorter than `min_pause_ms`
count as speech) pull the bed down by `duck_db`, with look-ahead so it is already down when a
word starts, an attack ramp of `attack_ms` and an exponential release of `release_ms`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AudioError, ConfigError
from ..paths import file_problem, inside_project
from ..settings import LineDict, coerce_value
from .codec import decode
from .dsp import FRAME_MS, frame_levels_db, resample
from .limiter import release
from .loudness import DUAL_MONO_OFFSET_DB, integrated_lufs
from .recording import speech_frames

SOUND_FILES = ("intro", "outro", "bed")
MIN_SOUND_S = 0.4
"""Shortest sound file accepted: one loudness block, so its level can be matched."""
MIN_BED_FADE_MS = 50.0
"""The bed always fades in and out and crossfades at loop points, even with `crossfade_ms: 0`."""
LEVEL_FRAME_MS = 100.0
LEVEL_WINDOW_FRAMES = 4
"""The bed's plotted level: 400 ms windows every 100 ms, like a momentary loudness meter."""


@dataclass(frozen=True)
class SoundDesign:
    """How an episode's programme is produced around its narration."""

    intro: Path | None = None
    """Played before the narration; the narration starts under its last `crossfade_ms`."""
    outro: Path | None = None
    """Played after the narration, fading in over its first `crossfade_ms`."""
    bed: Path | None = None
    """Music under the narration: looped or trimmed to length, faded in and out."""
    bed_gain_db: float = -18.0
    """Bed loudness against the narration's loudness, where nobody speaks."""
    duck_db: float = -12.0
    """Further bed reduction while the voice speaks."""
    crossfade_ms: int = 500
    """Overlap of intro and narration, narration and outro; the bed's fades and loop crossfade."""
    intro_gain_db: float = 0.0
    """Intro loudness against the narration's loudness."""
    outro_gain_db: float = 0.0
    """Outro loudness against the narration's loudness."""
    attack_ms: int = 50
    """How long the bed takes to go down when speech starts."""
    release_ms: int = 400
    """Time constant of the bed's return after speech stops."""
    lookahead_ms: int = 80
    """The bed starts going down this long before a word, so it is down when the word starts."""
    min_pause_ms: int = 1000
    """The bed returns only in pauses at least this long; shorter ones count as speech."""

    def __post_init__(self) -> None:
        problems = [p for p in (_range_problem(k, getattr(self, k)) for k in RANGES) if p]
        if problems:
            raise ConfigError("; ".join(problems))

    @property
    def has_sound(self) -> bool:
        """Whether there is anything to mix with the narration."""
        return any(getattr(self, name) is not None for name in SOUND_FILES)


RANGES: dict[str, tuple[float, float]] = {
    "bed_gain_db": (-60.0, 0.0),
    "duck_db": (-40.0, 0.0),
    "crossfade_ms": (0, 5000),
    "intro_gain_db": (-30.0, 10.0),
    "outro_gain_db": (-30.0, 10.0),
    "attack_ms": (10, 500),
    "release_ms": (20, 5000),
    "lookahead_ms": (0, 1000),
    "min_pause_ms": (200, 10000),
}


def _range_problem(key: str, value: float) -> str | None:
    low, high = RANGES[key]
    return None if low <= value <= high else f"`{key}` {value:g} is outside {low:g}..{high:g}"


def parse_sound(raw: Mapping[str, Any], path: Path, folder: Path, base: SoundDesign | None = None) -> SoundDesign:
    """A SoundDesign from a `sound:` mapping, on top of `base` (or the defaults).

    File paths are resolved against the series `folder`; each must exist and hold audio ffmpeg
    reads. A key set to null removes that sound.

    Raises:
        ConfigError: naming `path` and the key's line, for an unknown key, a bad value or file.
    """
    line_of = raw.line_of if isinstance(raw, LineDict) else (lambda key, default=None: default)
    defaults = SoundDesign()
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        line = line_of(key)
        if key in SOUND_FILES:
            changes[key] = None if value is None else _sound_file(key, value, path, folder, line)
        elif key in RANGES:
            number = coerce_value(value, type(getattr(defaults, key)), key, path, line)
            problem = _range_problem(key, number)
            if problem:
                raise ConfigError(problem, path, line)
            changes[key] = number
        else:
            known = ", ".join((*SOUND_FILES, *RANGES))
            raise ConfigError(f"unknown sound setting `{key}` (known: {known})", path, line)
    return dataclasses.replace(base or defaults, **changes)


def _sound_file(key: str, value: Any, path: Path, folder: Path, line: int | None) -> Path:
    """A sound file's resolved path, checked to be a file inside the project (the folder above
    scripts/, two above the series `folder`) and to hold audio."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"`{key}` must be a file path, got {value!r}", path, line)
    file = inside_project(value, folder, folder.parent.parent, f"`{key}` file", path, line)
    problem = file_problem(file)
    if problem == "not found":
        raise ConfigError(f"`{key}` file not found: {file}", path, line)
    if problem:
        raise ConfigError(f"`{key}` file {file} {problem}", path, line)
    try:
        samples, rate = decode(file)
    except AudioError as exc:
        raise ConfigError(f"`{key}` file {file} is not audio ffmpeg can read ({exc.message})", path, line) from None
    if len(samples) < MIN_SOUND_S * rate:
        raise ConfigError(f"`{key}` file {file} lasts {len(samples) / rate:.2f} s; a sound must last at least "
                          f"{MIN_SOUND_S:g} s", path, line)
    if not math.isfinite(integrated_lufs(samples, rate)):
        raise ConfigError(f"`{key}` file {file} is silent", path, line)
    return file


def merge_sound(
    series: SoundDesign | None, episode_raw: Any, path: Path, folder: Path, line: int | None = None
) -> SoundDesign | None:
    """The sound an episode gets: the series' design, changed by the episode's `sound:` value.

    `episode_raw` is None (keep the series' design), a mapping (override those keys) or "off"
    (YAML's `off` arrives as False). Also parses the series' own block: `merge_sound(None,
    raw, series_yaml, folder, line)`. Returns None when there is nothing to mix.

    Raises:
        ConfigError: naming `path` and `line` (of `sound:`) or the offending key's line.
    """
    if episode_raw is None or episode_raw is True:
        design = series
    elif episode_raw is False or (isinstance(episode_raw, str) and episode_raw.strip().lower() == "off"):
        return None
    elif isinstance(episode_raw, Mapping):
        design = parse_sound(episode_raw, path, folder, base=series)
    else:
        raise ConfigError(f"`sound` must be a mapping of sound settings or `off`, got {episode_raw!r}", path, line)
    return design if design is not None and design.has_sound else None


@dataclass(frozen=True)
class Programme:
    """The mixed programme, before mastering, and its parts for captions and the plot."""

    audio: np.ndarray
    """Mono float32 at the narration's rate; not levelled or limited."""
    narration_offset_s: float
    """Where the narration starts in the programme: caption times shift by this."""
    narration_track: np.ndarray
    """The narration alone, placed on the programme's timeline (same length as `audio`)."""
    bed_track: np.ndarray | None
    """The bed alone as mixed (gain, fades, ducking), on the same timeline; None without a bed."""


def load_sources(design: SoundDesign, rate: int) -> dict[str, tuple[np.ndarray, int]]:
    """Decode the design's sound files at `rate` (mono or not), to pass to `mix_programme`:
    a series' files can be decoded once and mixed into every episode.

    Raises:
        AudioError: naming the file, when ffmpeg cannot decode it.
    """
    return {name: decode(getattr(design, name), rate) for name in SOUND_FILES if getattr(design, name) is not None}


def mix_programme(
    narration: np.ndarray,
    rate: int,
    design: SoundDesign,
    sources: dict[str, tuple[np.ndarray, int]] | None = None,
) -> Programme:
    """Intro, narration over a ducked bed, outro: one mono programme at the narration's rate.

    `sources` holds each sound as (samples, rate), samples mono or (n, channels), as
    `load_sources` gives them; sounds missing from it are decoded from the design's files.
    Mix at the output rate: music mixed at a voice's 22.05 kHz loses its top octave.

    Raises:
        AudioError: when the narration is silent, or a sound file (named) is silent, too short
            or unreadable.
    """
    narration = np.asarray(narration, dtype=np.float32)
    speech_lufs = integrated_lufs(narration, rate) if len(narration) >= MIN_SOUND_S * rate else -math.inf
    if not math.isfinite(speech_lufs):
        raise AudioError("the narration is silent or shorter than 0.4 s; there is nothing to mix the sound under")
    sources = sources or {}
    sounds = {
        name: _mono(name, design, sources.get(name) or decode(getattr(design, name), rate), rate)
        for name in SOUND_FILES if getattr(design, name) is not None
    }

    crossfade = int(round(design.crossfade_ms * rate / 1000.0))
    intro = sounds.get("intro")
    overlap_in = min(crossfade, len(intro), len(narration)) if intro is not None else 0
    offset = len(intro) - overlap_in if intro is not None else 0
    narration_end = offset + len(narration)
    outro = sounds.get("outro")
    overlap_out = min(crossfade, len(outro), len(narration)) if outro is not None else 0
    outro_start = narration_end - overlap_out
    total = max(narration_end, outro_start + len(outro)) if outro is not None else narration_end

    narration_track = np.zeros(total, dtype=np.float32)
    narration_track[offset:narration_end] = narration
    audio = narration_track.copy()
    if intro is not None:
        gain = _match_gain(intro, rate, speech_lufs, design.intro_gain_db, design.intro)
        audio[: len(intro)] += intro * gain * _fade(len(intro), 0, overlap_in)
    if outro is not None:
        gain = _match_gain(outro, rate, speech_lufs, design.outro_gain_db, design.outro)
        audio[outro_start : outro_start + len(outro)] += outro * gain * _fade(len(outro), overlap_out, 0)
    bed_track = None
    if "bed" in sounds:
        bed_fade = int(round(max(design.crossfade_ms, MIN_BED_FADE_MS) * rate / 1000.0))
        bed = loop_to_length(sounds["bed"], len(narration), bed_fade)
        gain = _match_gain(bed, rate, speech_lufs, design.bed_gain_db, design.bed)
        edge = min(bed_fade, len(narration) // 2)
        ducking = 10.0 ** (ducking_db(narration, rate, design) / 20.0)
        bed_track = np.zeros(total, dtype=np.float32)
        bed_track[offset:narration_end] = bed * gain * ducking * _fade(len(bed), edge, edge)
        audio += bed_track
    return Programme(audio.astype(np.float32), offset / rate, narration_track, bed_track)


def added_seconds(design: SoundDesign, sources: dict[str, tuple[np.ndarray, int]]) -> float:
    """Seconds the intro and outro add to the narration (the bed adds none): the fixed part of
    the duration when the whole programme must fit the window. `sources` as `load_sources`
    gives them."""
    crossfade_s = design.crossfade_ms / 1000.0
    total = 0.0
    for name in ("intro", "outro"):
        if getattr(design, name) is not None:
            samples, rate = sources[name]
            total += max(len(samples) / rate - crossfade_s, 0.0)
    return total


def _mono(name: str, design: SoundDesign, source: tuple[np.ndarray, int], rate: int) -> np.ndarray:
    """A source as mono float32 at `rate`, checked to be long enough to measure."""
    samples, source_rate = source
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    mono = resample(np.asarray(mono, dtype=np.float32), source_rate, rate)
    if len(mono) < MIN_SOUND_S * rate:
        raise AudioError(f"`{name}` lasts {len(mono) / rate:.2f} s; a sound must last at least {MIN_SOUND_S:g} s",
                         getattr(design, name))
    return mono


def _match_gain(sound: np.ndarray, rate: int, speech_lufs: float, relative_db: float, path: Path | None) -> float:
    """Linear gain that puts `sound` at `relative_db` against the narration's loudness."""
    loudness = integrated_lufs(sound, rate)
    if not math.isfinite(loudness):
        raise AudioError("the sound file is silent", path)
    return 10.0 ** ((speech_lufs + relative_db - loudness) / 20.0)


def _fade(length: int, fade_in: int, fade_out: int) -> np.ndarray:
    """Gain curve of `length` samples with raised-cosine fades: a fade-in and the matching
    fade-out sum to exactly 1, so a crossfade never bulges or clicks."""
    curve = np.ones(length, dtype=np.float32)
    if fade_in:
        curve[:fade_in] = _raised_cosine(fade_in)
    if fade_out:
        curve[length - fade_out :] *= _raised_cosine(fade_out)[::-1]
    return curve


def _raised_cosine(length: int) -> np.ndarray:
    """Rising gain from near 0 to near 1 over `length` samples."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)).astype(np.float32)


def loop_to_length(bed: np.ndarray, length: int, crossfade: int) -> np.ndarray:
    """`bed` trimmed to `length` samples, or repeated with a `crossfade`-sample crossfade at each
    loop point (its end fading into its start) until it is that long."""
    if len(bed) >= length:
        return bed[:length].copy()
    crossfade = min(crossfade, len(bed) // 2)
    tail, head = bed[len(bed) - crossfade :], bed[:crossfade]
    fading, rising = _loop_gains(tail, head)
    joint = tail * fading + head * rising
    cycle = np.concatenate([joint, bed[crossfade : len(bed) - crossfade]])
    start = bed[: len(bed) - crossfade]
    repeats = -(-(length - len(start)) // len(cycle))
    return np.concatenate([start, np.tile(cycle, repeats)])[:length].astype(np.float32)


def _loop_gains(tail: np.ndarray, head: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crossfade gains that keep the bed's power through the loop point: equal power for
    unrelated material, equal gain (summing to 1) where end and start are alike, and in
    between by their correlation, so the loop neither dips nor swells."""
    energy = float(np.dot(tail, tail)) * float(np.dot(head, head))
    correlation = float(np.dot(tail, head)) / math.sqrt(energy) if energy > 0 else 1.0
    correlation = min(max(correlation, 0.0), 1.0)
    angle = 0.5 * np.pi * (np.arange(len(tail)) + 0.5) / max(len(tail), 1)
    fading, rising = np.cos(angle), np.sin(angle)
    norm = 1.0 / np.sqrt(1.0 + 2.0 * correlation * fading * rising)
    return (fading * norm).astype(np.float32), (rising * norm).astype(np.float32)


def ducking_db(narration: np.ndarray, rate: int, design: SoundDesign) -> np.ndarray:
    """Per-sample bed gain in dB (0 or down to `duck_db`) following the narration's speech."""
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.ndimage import uniform_filter1d

    active = _fill_short_gaps(speech_frames(narration, rate), int(round(design.min_pause_ms / FRAME_MS)))
    target = np.where(active, design.duck_db, 0.0)
    ahead = int(round(design.lookahead_ms / FRAME_MS))
    held = sliding_window_view(np.concatenate([target, np.full(ahead, target[-1])]), ahead + 1).min(axis=1)
    released = release(held, math.exp(-FRAME_MS / design.release_ms))
    smoothed = uniform_filter1d(released, size=max(1, int(round(design.attack_ms / FRAME_MS))), mode="nearest")
    size = max(1, int(rate * FRAME_MS / 1000.0))
    centres = (np.arange(len(smoothed)) + 0.5) * size
    return np.interp(np.arange(len(narration)), centres, smoothed).astype(np.float32)


def _fill_short_gaps(active: np.ndarray, min_frames: int) -> np.ndarray:
    """Mark as active every inactive run shorter than `min_frames`, the edges included."""
    padded = np.concatenate([[1], active.astype(np.int8), [1]])
    changes = np.diff(padded)
    filled = active.copy()
    for start, end in zip(np.flatnonzero(changes == -1), np.flatnonzero(changes == 1)):
        if end - start < min_frames:
            filled[start:end] = True
    return filled


def bed_level_db(programme: Programme, rate: int, mastered_lufs: float) -> np.ndarray | None:
    """The bed's level every 100 ms (400 ms windows, unweighted, read as dual mono like the
    target) as it sits in the mastered file, for the review plot. Mastering applies one gain
    to the whole programme, so the bed moves by the programme's change in loudness;
    `mastered_lufs` is the mastered file's integrated loudness as targeted."""
    if programme.bed_track is None:
        return None
    from scipy.ndimage import uniform_filter1d

    power = 10.0 ** (frame_levels_db(programme.bed_track, rate, LEVEL_FRAME_MS) / 10.0)
    windowed = uniform_filter1d(power, size=LEVEL_WINDOW_FRAMES, mode="nearest")
    shift = mastered_lufs - integrated_lufs(programme.audio, rate) + DUAL_MONO_OFFSET_DB
    return 10.0 * np.log10(np.maximum(windowed, 1e-12)) + shift
