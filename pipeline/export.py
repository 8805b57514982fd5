"""MP3 encoding and decoding through ffmpeg, and ID3v2.3 tags through mutagen.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from mutagen.id3 import APIC, COMM, ID3, TALB, TCON, TCOP, TDRC, TIT2, TPE1, TPE2, TRCK, TXXX, USLT

with warnings.catch_warnings():
    # pydub looks for ffmpeg on PATH at import; we hand it imageio-ffmpeg's binary instead.
    warnings.simplefilter("ignore", RuntimeWarning)
    warnings.simplefilter("ignore", DeprecationWarning)  # audioop on Python 3.11-3.12
    from pydub import AudioSegment

from . import __version__
from .errors import AudioError


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


@dataclass(frozen=True)
class TagValues:
    """Everything that goes into an episode's ID3 tag."""

    title: str
    album: str
    artist: str
    genre: str
    copyright: str
    track: int
    track_total: int
    date: str
    summary: str
    narration: str
    language: str
    cover: Path | None
    custom: dict[str, str]
    """TXXX frames: script hash, voice, engine, pipeline version."""


# One logical field -> its ID3 frame. Series-level frames come first; every episode of a series
# gets them from the same values, so they are identical across the series.
_ISO_639_2 = {"en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "nl": "nld", "pt": "por"}
FRAME_TABLE: list[tuple[str, Callable[[TagValues], object | None]]] = [
    ("album", lambda t: TALB(encoding=1, text=t.album)),
    ("artist", lambda t: TPE1(encoding=1, text=t.artist)),
    ("album artist", lambda t: TPE2(encoding=1, text=t.artist)),
    ("genre", lambda t: TCON(encoding=1, text=t.genre)),
    ("copyright", lambda t: TCOP(encoding=1, text=t.copyright) if t.copyright else None),
    ("cover", lambda t: _cover_frame(t.cover) if t.cover else None),
    ("title", lambda t: TIT2(encoding=1, text=t.title)),
    ("track", lambda t: TRCK(encoding=1, text=f"{t.track}/{t.track_total}")),
    ("date", lambda t: TDRC(encoding=1, text=t.date) if t.date else None),
    ("summary", lambda t: COMM(encoding=1, lang=_lang(t), desc="", text=t.summary) if t.summary else None),
    ("narration", lambda t: USLT(encoding=1, lang=_lang(t), desc="", text=t.narration)),
]


def _lang(tags: TagValues) -> str:
    return _ISO_639_2.get(tags.language.split("-")[0].lower(), "eng")


def _cover_frame(path: Path) -> APIC:
    mime = "image/png" if path.suffix.lower() == ".png" else "image/jpeg"
    return APIC(encoding=0, mime=mime, type=3, desc="Cover", data=path.read_bytes())


def write_tags(path: Path, values: TagValues) -> None:
    """Replace the file's tag with an ID3v2.3 tag built from FRAME_TABLE."""
    tags = ID3()
    for _, build in FRAME_TABLE:
        frame = build(values)
        if frame is not None:
            tags.add(frame)
    for key, value in {**values.custom, "pipeline_version": __version__}.items():
        tags.add(TXXX(encoding=1, desc=key, text=str(value)))
    tags.update_to_v23()
    try:
        tags.save(str(path), v2_version=3)
    except OSError as exc:
        raise AudioError(f"cannot write tags: {exc.strerror}", path) from None
