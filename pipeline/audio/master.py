"""The mastering chain as a pure function: level, limit, encode, then verify on the decoded MP3.

(Interim version lifted from the old episode module; replaced by the fast chain.)
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .codec import decode, encode_mp3
from .limiter import level
from .loudness import LoudnessReport, measure, short_term_lufs

MAX_PASSES = 5
LOUDNESS_ACCURACY_LU = 0.1
PEAK_RETRY_MARGIN_DB = 0.05


@dataclass(frozen=True)
class MasterSettings:
    target_lufs: float
    ceiling_dbtp: float
    loudness_tolerance_lu: float
    bitrate_kbps: int
    sample_rate_hz: int
    channels: int


@dataclass(frozen=True)
class MasterResult:
    mp3: bytes
    decoded: np.ndarray
    decoded_rate: int
    report: LoudnessReport
    short_term_lufs: np.ndarray
    gain_target_lufs: float
    limiter_ceiling_dbtp: float
    passes: int
    warnings: list[str] = field(default_factory=list)


def master(audio: np.ndarray, rate: int, settings: MasterSettings, start: tuple[float, float] | None = None,
           progress: Callable[[str], None] = lambda m: None) -> MasterResult:
    from .dsp import resample

    audio = resample(audio, rate, settings.sample_rate_hz)
    if settings.channels == 2:
        audio = np.stack([audio, audio], axis=1)
    target, ceiling = start or (settings.target_lufs, settings.ceiling_dbtp)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "episode.mp3"
        for passes in range(1, MAX_PASSES + 1):
            mastered = level(audio, settings.sample_rate_hz, target, ceiling)
            encode_mp3(mastered, settings.sample_rate_hz, path, settings.bitrate_kbps)
            decoded, decoded_rate = decode(path)
            short_term = short_term_lufs(decoded, decoded_rate)
            report = measure(decoded, decoded_rate, short_term)
            loudness_error = settings.target_lufs - report.integrated_lufs
            overshoot = report.true_peak_dbtp - settings.ceiling_dbtp
            if abs(loudness_error) <= LOUDNESS_ACCURACY_LU and overshoot <= 0:
                break
            target += loudness_error
            if overshoot > 0:
                ceiling -= overshoot + PEAK_RETRY_MARGIN_DB
        data = path.read_bytes()
    warnings = []
    if report.true_peak_dbtp > settings.ceiling_dbtp:
        warnings.append(f"true peak {report.true_peak_dbtp:.2f} dBTP is over the {settings.ceiling_dbtp:g} dBTP ceiling")
    if abs(report.integrated_lufs - settings.target_lufs) > settings.loudness_tolerance_lu:
        warnings.append(f"loudness {report.integrated_lufs:.2f} LUFS is off the {settings.target_lufs:g} target")
    return MasterResult(data, decoded, decoded_rate, report, short_term, round(target, 3), round(ceiling, 3),
                        passes, warnings)
