"""Clean-up of recorded narration before mastering, as a post-production service does it.

A person's recording (`audio:` in front matter, `episodes master`) carries what synthetic speech
does not: mains hum, room noise, mouth clicks, harsh sibilants, paragraphs read at different
levels, long pauses. `clean` removes them in that order, each step switchable:

    hum        hum.py        mains hum (50 or 60 Hz, found in the spectrum) notched out
    clicks     clicks.py     short impulses replaced by their low band
    noise      noise.py      background noise removed by RNNoise
    sibilance  sibilance.py  harsh sibilants softened (a de-esser)
    level      level.py      paragraphs evened out (a speech leveler)
    pauses     pauses.py     pauses longer than `max_pause_ms` shortened

Clicks go before the noise step (a click is not noise and would sit in RNNoise's estimate), the
leveler after it (so it levels the voice, not the noise), and pauses last (so each step sees the
recording's own pauses). `CleanupReport` says what each step did, measured on the audio.

Pure functions over numpy arrays: no file I/O, no logging.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from ...settings import LineDict, coerce_value
from .clicks import find_clicks, repair_clicks
from .frames import frame_levels, loudness_range, noise_floor_dbfs, speech_mask
from .hum import detect_hum, remove_hum, spectrum
from .level import level_speech
from .noise import reduce_noise
from .pauses import shorten_pauses
from .sibilance import de_ess

STEPS = ("hum", "clicks", "noise", "sibilance", "level", "pauses")
"""The steps, in the order they run."""
PARAMETER_RANGES: dict[str, tuple[float, float]] = {"max_gain_db": (0.0, 24.0)}
_ON = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


@dataclass(frozen=True)
class CleanupSettings:
    """Which clean-up steps run on a recording (all of them by default), and the leveler's range."""

    hum: bool = True
    """Find mains hum and notch it out."""
    clicks: bool = True
    """Repair mouth clicks and other short impulses."""
    noise: bool = True
    """Remove background noise (RNNoise)."""
    sibilance: bool = True
    """Soften harsh sibilants (de-esser)."""
    level: bool = True
    """Even out the speech level between paragraphs (leveler)."""
    pauses: bool = True
    """Shorten pauses longer than the production's `max_pause_ms`."""
    max_gain_db: float = 12.0
    """The leveler's largest boost or cut, in dB."""

    def __post_init__(self) -> None:
        low, high = PARAMETER_RANGES["max_gain_db"]
        if not low <= self.max_gain_db <= high:
            raise ConfigError(f"`max_gain_db` {self.max_gain_db:g} is outside {low:g}..{high:g}")

    @classmethod
    def off(cls) -> CleanupSettings:
        """Every step off: the recording passes through untouched."""
        return cls(**dict.fromkeys(STEPS, False))

    @property
    def enabled(self) -> bool:
        """Whether any step runs."""
        return any(getattr(self, step) for step in STEPS)

    def to_dict(self) -> dict[str, Any]:
        """For fingerprints and the manifest."""
        return dataclasses.asdict(self)


def _switch(value: object) -> bool | None:
    """True or False for YAML's booleans and the words on/off, true/false, yes/no; else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _ON.get(value.strip().lower())
    return None


def parse_cleanup(raw: object, path: Path, line: int | None, base: CleanupSettings | None = None) -> CleanupSettings:
    """CleanupSettings from a `cleanup:` value, on top of `base` (or the defaults).

    `raw` is `on`/`off` (`true`/`false`: every step) or a mapping of step names to on/off, plus
    `max_gain_db`. A mapping changes only the keys it names, so an episode can turn one step of
    its series' settings off.

    Raises:
        ConfigError: naming `path` and `line` (of `cleanup:`), or the offending key's line where
        `raw` is a LineDict.
    """
    base = base or CleanupSettings()
    switch = _switch(raw)
    if switch is not None:
        return dataclasses.replace(base, **dict.fromkeys(STEPS, switch))
    if not isinstance(raw, Mapping):
        raise ConfigError(f"`cleanup` must be on, off or a mapping of steps ({', '.join(STEPS)}) to on or off, "
                          f"got {raw!r}", path, line)
    line_of = raw.line_of if isinstance(raw, LineDict) else (lambda key, default=None: default)
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        key_line = line_of(key, line)
        if key in STEPS:
            on = _switch(value)
            if on is None:
                raise ConfigError(f"`cleanup` step `{key}` must be on or off, got {value!r}", path, key_line)
            changes[key] = on
        elif key in PARAMETER_RANGES:
            number = coerce_value(value, float, key, path, key_line)
            low, high = PARAMETER_RANGES[key]
            if not low <= number <= high:
                raise ConfigError(f"`{key}` {number:g} is outside {low:g}..{high:g}", path, key_line)
            changes[key] = number
        else:
            known = ", ".join((*STEPS, *PARAMETER_RANGES))
            raise ConfigError(f"unknown cleanup setting `{key}` (known: {known})", path, key_line)
    return dataclasses.replace(base, **changes)


@dataclass(frozen=True)
class CleanupReport:
    """What the clean-up did to a recording, each figure measured on the audio before and after."""

    steps: tuple[str, ...]
    """The steps that ran, in order."""
    duration_before_s: float
    duration_after_s: float
    noise_floor_before_dbfs: float | None
    """Mean level of the pauses (10 ms frames at least 50 ms from any speech); None without a pause."""
    noise_floor_after_dbfs: float | None
    hum_hz: float | None
    """Mains hum found (its measured fundamental); None when there was none, or the step was off."""
    hum_harmonics: int
    """How many of its harmonics were notched (the fundamental included)."""
    hum_before_dbfs: float | None
    """Level of the hum's fundamental (a full-scale sine reads 0 dBFS)."""
    hum_after_dbfs: float | None
    clicks_repaired: int
    sibilance_max_reduction_db: float
    """Deepest cut the de-esser made to the band above 5 kHz."""
    sibilance_seconds: float
    """How long the de-esser cut by 1 dB or more."""
    level_min_gain_db: float
    level_max_gain_db: float
    """The leveler's range of gains (negative: turned down)."""
    lra_before_lu: float
    """Loudness range (EBU Tech 3342)."""
    lra_after_lu: float
    pauses_shortened: int
    pause_removed_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (every figure finite or None), for the manifest."""
        return {key: list(value) if isinstance(value, tuple) else value
                for key, value in dataclasses.asdict(self).items()}


def _db(value: float | None) -> float | None:
    return None if value is None else round(float(value), 2)


def clean(
    audio: np.ndarray, rate: int, settings: CleanupSettings, max_pause_ms: int
) -> tuple[np.ndarray, CleanupReport]:
    """A recording cleaned by the steps `settings` turns on, and what each did.

    `audio` is mono float32 in -1..1 at any rate (as `recording.load_recording` gives it); the
    result is mono float32 at the same rate, shorter only by the pauses removed.

    Memory: each step reads the recording a piece at a time and writes one new float32 array
    (4 bytes a sample: 0.7 GB for an hour at 48 kHz), so at most three full-length float32
    arrays exist at once (the input, the step's input and its output; the de-esser holds a
    fourth, its high band); no full-length float64 array is made.

    Raises:
        ValueError: when `audio` is not one-dimensional.
    """
    if audio.ndim != 1:
        raise ValueError(f"clean() takes mono samples shaped (n,), got shape {audio.shape}")
    x = np.ascontiguousarray(audio, dtype=np.float32)
    levels = frame_levels(x, rate)
    floor_before = noise_floor_dbfs(levels, speech_mask(levels))
    lra_before = loudness_range(x, rate)
    hum = hum_before = None
    clicks = 0
    sibilance_db = sibilance_s = gain_low = gain_high = removed_s = 0.0
    shortened = 0
    if settings.hum:
        before = spectrum(x, rate)
        hum = detect_hum(before, rate)
        if hum is not None:
            hum_before = before.line_level_dbfs(hum.frequency_hz)
            x = remove_hum(x, rate, hum)
    if settings.clicks:
        found = find_clicks(x, rate)
        clicks = len(found)
        if found:
            x = repair_clicks(x, rate, found)
    if settings.noise:
        x = reduce_noise(x, rate)
    if settings.sibilance:
        de_essed = de_ess(x, rate)
        x, sibilance_db, sibilance_s = de_essed.audio, de_essed.max_reduction_db, de_essed.seconds
        del de_essed  # each step's result is let go as soon as the next step has replaced it
    if settings.level:
        levelled = level_speech(x, rate, speech_mask(frame_levels(x, rate)), settings.max_gain_db)
        x, gain_low, gain_high = levelled.audio, levelled.min_gain_db, levelled.max_gain_db
        del levelled
    if settings.pauses:
        shortened_result = shorten_pauses(x, rate, frame_levels(x, rate), max_pause_ms)
        x, shortened, removed_s = shortened_result.audio, shortened_result.pauses, shortened_result.removed_s
        del shortened_result
    levels = frame_levels(x, rate)
    report = CleanupReport(
        steps=tuple(step for step in STEPS if getattr(settings, step)),
        duration_before_s=round(len(audio) / rate, 3),
        duration_after_s=round(len(x) / rate, 3),
        noise_floor_before_dbfs=_db(floor_before),
        noise_floor_after_dbfs=_db(noise_floor_dbfs(levels, speech_mask(levels))),
        hum_hz=hum.frequency_hz if hum else None,
        hum_harmonics=len(hum.harmonics) if hum else 0,
        hum_before_dbfs=_db(hum_before),
        hum_after_dbfs=_db(spectrum(x, rate).line_level_dbfs(hum.frequency_hz)) if hum else None,
        clicks_repaired=clicks,
        sibilance_max_reduction_db=sibilance_db,
        sibilance_seconds=sibilance_s,
        level_min_gain_db=gain_low,
        level_max_gain_db=gain_high,
        lra_before_lu=round(lra_before, 2),
        lra_after_lu=round(loudness_range(x, rate), 2),
        pauses_shortened=shortened,
        pause_removed_s=removed_s,
    )
    return x, report
