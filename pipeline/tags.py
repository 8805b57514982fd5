"""ID3v2.3 tags through mutagen, from one declarative table of logical fields to frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mutagen.id3 import APIC, COMM, ID3, TALB, TCON, TCOP, TDRC, TIT2, TPE1, TPE2, TRCK, TXXX, USLT

from . import __version__
from .errors import AudioError


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
