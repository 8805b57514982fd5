"""MP3 encoding and decoding through ffmpeg.

ffmpeg comes from the `imageio-ffmpeg` wheel, so no system install is needed; set
`EPISODES_FFMPEG` to use another binary. Encoding goes through pydub (libmp3lame, CBR, with a
LAME/Xing "Info" header so players show the right duration). Decoding reads float samples
straight from ffmpeg, so measurements see what a listener's player sees (encoder delay removed).
"""

from __future__ import annotations

import functools
import os
import subprocess
import warnings
from pathlib import Path

import numpy as np

with warnings.catch_warnings():
    # pydub looks for ffmpeg on PATH at import; we hand it imageio-ffmpeg's binary instead.
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop on Python 3.11-3.12
    from pydub import AudioSegment

from ..errors import AudioError


@functools.lru_cache(maxsize=1)
def ffmpeg_path() -> str:
    """The ffmpeg binary: $EPISODES_FFMPEG, else the one inside imageio-ffmpeg."""
    explicit = os.environ.get("EPISODES_FFMPEG")
    if explicit:
        if not Path(explicit).is_file():
            raise AudioError(f"EPISODES_FFMPEG points to {explicit}, which does not exist")
        return explicit
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise AudioError(f"no ffmpeg found ({exc}); pip install imageio-ffmpeg or set EPISODES_FFMPEG") from None


def _segment(samples: np.ndarray, rate: int) -> AudioSegment:
    """Float samples ((n,) or (n, channels), -1..1) as a 32-bit pydub segment."""
    frames = samples if samples.ndim == 2 else samples[:, None]
    scaled = np.round(np.clip(frames.astype(np.float64), -1.0, 1.0) * (2**31 - 1))  # float64: exact at full scale
    pcm = scaled.astype("<i4")
    AudioSegment.converter = ffmpeg_path()
    return AudioSegment(pcm.tobytes(), frame_rate=rate, sample_width=4, channels=frames.shape[1])


def encode_mp3(samples: np.ndarray, rate: int, path: Path, bitrate_kbps: int) -> None:
    """Encode float samples to a CBR MP3 at `path`."""
    try:
        _segment(samples, rate).export(
            str(path),
            format="mp3",
            codec="libmp3lame",
            bitrate=f"{bitrate_kbps}k",
            parameters=["-write_xing", "1", "-map_metadata", "-1"],
            id3v2_version="3",
        ).close()
    except Exception as exc:  # pydub raises CouldntEncodeError and OSError alike
        raise AudioError(f"MP3 encoding failed: {str(exc).splitlines()[0]}", path) from exc


def write_wav(samples: np.ndarray, rate: int, path: Path) -> None:
    """Write float samples as a 16-bit WAV file (for auditions)."""
    try:
        _segment(samples, rate).set_sample_width(2).export(str(path), format="wav").close()
    except OSError as exc:
        raise AudioError(f"cannot write WAV: {exc.strerror}", path) from None


def decode(path: Path, rate: int | None = None) -> tuple[np.ndarray, int]:
    """Decode any audio file to float32 samples shaped (n, channels), and its sample rate."""
    rate = rate or probe_rate(path)
    channels = probe_channels(path)
    command = [ffmpeg_path(), "-v", "error", "-i", str(path), "-f", "f32le", "-ar", str(rate), "-"]
    result = subprocess.run(command, capture_output=True)
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip().splitlines()
        raise AudioError(f"cannot decode: {message[-1] if message else 'ffmpeg failed'}", path)
    samples = np.frombuffer(result.stdout, dtype="<f4")
    return samples.reshape(-1, channels).copy(), rate


@functools.lru_cache(maxsize=64)
def _stream_info(path: Path, mtime: float) -> tuple[int, int]:
    result = subprocess.run([ffmpeg_path(), "-hide_banner", "-i", str(path)], capture_output=True)
    text = result.stderr.decode(errors="replace")
    for line in text.splitlines():
        if "Audio:" in line:
            parts = [p.strip() for p in line.split("Audio:", 1)[1].split(",")]
            rate = next(int(p.split()[0]) for p in parts if p.endswith("Hz"))
            layout = parts[2] if len(parts) > 2 else "mono"
            channels = 1 if layout.startswith("mono") else 2 if layout.startswith("stereo") else int(layout.split()[0])
            return rate, channels
    if not path.exists():
        raise AudioError("file not found", path)
    raise AudioError("no audio stream found", path)


def probe_rate(path: Path) -> int:
    return _stream_info(path, path.stat().st_mtime if path.exists() else 0.0)[0]


def probe_channels(path: Path) -> int:
    return _stream_info(path, path.stat().st_mtime if path.exists() else 0.0)[1]
