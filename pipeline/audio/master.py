"""Mastering: level, limit, encode to MP3 and verify on the decoded MP3, as a function over values.

    resample, channels -> analyse once (K-weighted energy and 4x oversampled peaks, at once)
    -> pass: gain + limiter -> encode, decoding the encoded stream as it comes
       (codec.encode_and_decode) -> measure the decoded MP3 -> correct

Nothing is trusted that was not measured on the decoded MP3: a pass holds when what a player
decodes from the returned bytes lands within 0.1 LU of the target and its true peak at or under
the ceiling; otherwise the gain target and the limiter's ceiling are corrected by what was
measured and the audio is encoded again (at most MAX_PASSES times). Nothing is read from or
written to the caller's files: values in, values out.

The encoder moves level: LAME scales its input down by a factor that depends on the bitrate
(0.95, -0.45 dB, at 128 kbps and below; none at 320 kbps) and removes what is over its low-pass.
`ENCODER_SHIFT_DB` holds that shift, measured once, so the first pass aims at the right gain and
usually holds; a caller that mastered earlier episodes with the same settings passes the
(gain target, limiter ceiling) they ended with as `start`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import AudioError
from .codec import decode, encode_and_decode
from .dsp import resample
from .limiter import GainPlan, level
from .loudness import LoudnessReport, both, k_weighted_energy, measure_with_short_term

MAX_PASSES = 5
LOUDNESS_ACCURACY_LU = 0.1
"""A pass holds when the decoded MP3 reads this close to the target."""
PEAK_RETRY_MARGIN_DB = 0.05
"""Extra headroom taken when a pass's decoded true peak went over the ceiling."""
MIN_DURATION_S = 0.4
"""One BS.1770 gating block: anything shorter has no integrated loudness."""
MPEG2_MAX_BITRATE_KBPS = 160
"""LAME's highest bitrate at 16-24 kHz (MPEG-2 layer III); it quietly encodes at this instead."""

ENCODER_SHIFT_DB: dict[int, float] = {
    32: 0.42, 40: 0.42, 48: 0.42, 56: 0.43, 64: 0.43, 80: 0.44, 96: 0.44, 112: 0.44,
    128: 0.44, 160: 0.44, 192: 0.26, 224: 0.18, 256: 0.0, 320: 0.0,
}
"""How much quieter (dB) the decoded MP3 reads than the audio sent to the encoder, by bitrate:
mostly LAME's own input scaling (0.95 up to 160 kbps, 0.97 at 192, 0.98 at 224, none above).

Measured with `python bench/bench_master.py --encoder-shifts` (LAME 3.100 in imageio-ffmpeg's
ffmpeg 9.0; 30 s of the qlora episode in the bundled Piper voice, levelled to -16 LUFS under a
-1 dBTP ceiling): the median over 32, 44.1 and 48 kHz, mono and stereo, which all lie within
0.03 dB of it. At 22.05 and 24 kHz LAME caps the bitrate at 160 kbps and the shift is 160's."""


@dataclass(frozen=True)
class MasterSettings:
    """What mastering aims at; build it with `MasterSettings.of(production)` so the values
    have passed Production's validation."""

    target_lufs: float
    """Integrated loudness target (dual mono for mono output)."""
    ceiling_dbtp: float
    """True-peak ceiling of the decoded MP3 (4x oversampled)."""
    loudness_tolerance_lu: float
    """How far off the target still counts as a pass for the warnings (the gates' tolerance)."""
    bitrate_kbps: int
    """MP3 constant bitrate."""
    sample_rate_hz: int
    """Output sample rate."""
    channels: int
    """1 (mono) or 2 (stereo; mono input is put on both channels)."""

    @classmethod
    def of(cls, production: object) -> MasterSettings:
        """The mastering fields of a `pipeline.settings.Production` (or anything with them)."""
        return cls(**{name: getattr(production, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class MasterResult:
    """An encoded MP3 and what its decoded audio measures."""

    mp3: bytes
    """The encoded, untagged MP3 (CBR, with its LAME/Xing Info frame)."""
    decoded: np.ndarray
    """`mp3` decoded: what a listener hears, shaped (n, channels)."""
    decoded_rate: int
    report: LoudnessReport
    """Measured on `decoded`."""
    short_term_lufs: np.ndarray
    """Short-term loudness of `decoded` (plain reading), for the review plot."""
    gain_target_lufs: float
    """Where the gain stage aimed, corrected for the encoder's shift."""
    limiter_ceiling_dbtp: float
    """Ceiling the limiter needed so the decoded MP3 holds the true-peak ceiling."""
    passes: int
    """Encode-and-verify passes it took."""
    warnings: list[str] = field(default_factory=list)


def starting_point(settings: MasterSettings) -> tuple[float, float]:
    """(gain target, limiter ceiling) that usually hold in one pass for these settings."""
    shift = encoder_shift_db(settings.bitrate_kbps, settings.sample_rate_hz)
    return settings.target_lufs + shift, settings.ceiling_dbtp


def encoder_shift_db(bitrate_kbps: int, sample_rate_hz: int) -> float:
    """The measured shift for this bitrate (as LAME caps it at this rate), else the nearest's."""
    if sample_rate_hz < 32000:
        bitrate_kbps = min(bitrate_kbps, MPEG2_MAX_BITRATE_KBPS)
    nearest = min(ENCODER_SHIFT_DB, key=lambda known: abs(known - bitrate_kbps))
    return ENCODER_SHIFT_DB[nearest]


def prepare(audio: np.ndarray, rate: int, settings: MasterSettings) -> np.ndarray:
    """The audio at the output rate and channel count: resampled, mono put on both channels
    for stereo output, stereo averaged for mono output. Shaped (n,) or (n, 2)."""
    frames = audio if audio.ndim == 2 else audio[:, None]
    if frames.shape[1] not in (1, 2):
        raise AudioError(f"cannot master {frames.shape[1]}-channel audio here; downmix it to stereo first")
    frames = resample(frames.astype(np.float32), rate, settings.sample_rate_hz)
    if settings.channels == 1:
        return frames.mean(axis=1, dtype=np.float32) if frames.shape[1] == 2 else frames[:, 0]
    return frames if frames.shape[1] == 2 else np.repeat(frames, 2, axis=1)


def master(
    audio: np.ndarray,
    rate: int,
    settings: MasterSettings,
    start: tuple[float, float] | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> MasterResult:
    """Level, limit, encode and verify: an MP3 whose decoded audio holds the loudness target
    and the true-peak ceiling, with the measurements that show it.

    `audio` is float samples shaped (n,) or (n, channels <= 2) at `rate` Hz. `start` is a
    (gain target, limiter ceiling) pair known to hold for these settings, from earlier episodes.
    Raises AudioError for audio shorter than 400 ms, silent (under -70 LUFS), holding NaN or
    infinite samples, or wider than stereo, and if ffmpeg cannot encode."""
    if len(audio) < MIN_DURATION_S * rate:
        raise AudioError(f"audio of {len(audio) / rate:.2f} s is too short to master (at least 0.4 s)")
    if not np.isfinite(audio).all():
        raise AudioError("the audio holds NaN or infinite samples")
    x = prepare(audio, rate, settings)
    out_rate = settings.sample_rate_hz
    energy, plan = both(lambda: k_weighted_energy(x, out_rate), lambda: GainPlan.of(x, out_rate))
    target, ceiling = start or starting_point(settings)
    for passes in range(1, MAX_PASSES + 1):
        progress(f"levelling to {settings.target_lufs:g} LUFS, limiter at {ceiling:.2f} dBTP")
        levelled = level(x, out_rate, target, ceiling, energy=energy, plan=plan)
        progress("encoding MP3 and decoding it")
        mp3, decoded, decoded_rate = encode_and_decode(levelled, out_rate, settings.bitrate_kbps)
        progress("measuring the encoded file")
        report, short_term = measure_with_short_term(decoded, decoded_rate)
        loudness_error = settings.target_lufs - report.integrated_lufs
        overshoot = report.true_peak_dbtp - settings.ceiling_dbtp
        if abs(loudness_error) <= LOUDNESS_ACCURACY_LU and overshoot <= 0:
            break
        if passes < MAX_PASSES:
            target += loudness_error
            if overshoot > 0:
                ceiling -= overshoot + PEAK_RETRY_MARGIN_DB
    return MasterResult(
        mp3=mp3, decoded=decoded, decoded_rate=decoded_rate, report=report, short_term_lufs=short_term,
        gain_target_lufs=round(target, 3), limiter_ceiling_dbtp=round(ceiling, 3), passes=passes,
        warnings=_warnings(report, settings),
    )


def _warnings(report: LoudnessReport, settings: MasterSettings) -> list[str]:
    warnings = []
    if report.true_peak_dbtp > settings.ceiling_dbtp:
        warnings.append(f"true peak {report.true_peak_dbtp:.2f} dBTP is over the {settings.ceiling_dbtp:g} dBTP "
                        "ceiling")
    if abs(report.integrated_lufs - settings.target_lufs) > settings.loudness_tolerance_lu:
        warnings.append(f"loudness {report.integrated_lufs:.2f} LUFS is off the {settings.target_lufs:g} target")
    if settings.sample_rate_hz < 32000 and settings.bitrate_kbps > MPEG2_MAX_BITRATE_KBPS:
        warnings.append(f"MP3 at {settings.sample_rate_hz} Hz allows at most {MPEG2_MAX_BITRATE_KBPS} kbps; "
                        f"encoded at {MPEG2_MAX_BITRATE_KBPS}, not {settings.bitrate_kbps}")
    return warnings


def master_file(
    in_path: Path,
    settings: MasterSettings,
    start: tuple[float, float] | None = None,
    progress: Callable[[str], None] = lambda message: None,
    prepare: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> MasterResult:
    """`master` for any file ffmpeg reads: mono and stereo as they are, wider layouts (5.1)
    downmixed to stereo by ffmpeg; `prepare` works on the decoded audio first (cleaning a
    recording). Errors name the file."""
    progress(f"decoding {in_path.name}")
    audio, rate = decode(in_path, stereo_at_most=True)
    try:
        if prepare is not None:
            audio = prepare(audio, rate)
        return master(audio, rate, settings, start, progress)
    except AudioError as exc:
        if exc.path is not None:
            raise
        raise AudioError(exc.message, in_path) from None
