"""ID3v2.3 tags through mutagen, from one declarative table of logical fields to frames.

Tags are written to a file in the staging folder and renamed into place, whether the MP3 is new or
only re-tagged: re-tagging rewrites the tag and leaves the audio frames byte for byte as they were.
mutagen is imported when a tag is written, so planning a build (which only fingerprints the values)
stays fast.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .disclosure import with_disclosure
from .errors import AudioError
from .files import replacing

if TYPE_CHECKING:
    from .cover import Cover


@dataclass(frozen=True)
class TagValues:
    """Everything that goes into an episode's ID3 tag."""

    title: str
    album: str
    artist: str
    genre: str
    copyright: str
    track: int
    """Episode number; 0 for a file outside a series' numbering (no TRCK frame)."""
    track_total: int
    date: str
    summary: str
    narration: str
    language: str
    cover: Path | None
    """The series cover's source file (checked and scaled for tags when written)."""
    custom: dict[str, str]
    """TXXX frames: script hash, voice, engine."""
    disclosure: str = ""
    """The series' disclosure sentence when a voice engine speaks the episode (else ""): it follows
    the summary in the comment (COMM), as in the feed's and the site's descriptions."""


# One logical field -> its ID3 frame and value (None: no frame). Series-level frames come first;
# every episode of a series gets them from the same values, so they are identical across the
# series. Text frames take `text`; COMM and USLT also a language. The cover (APIC) and the TXXX
# frames are added by write_tags.
FRAME_TABLE: list[tuple[str, str, Callable[[TagValues], str | None]]] = [
    ("album", "TALB", lambda t: t.album),
    ("artist", "TPE1", lambda t: t.artist),
    ("album artist", "TPE2", lambda t: t.artist),
    ("genre", "TCON", lambda t: t.genre),
    ("copyright", "TCOP", lambda t: t.copyright or None),
    ("title", "TIT2", lambda t: t.title),
    ("track", "TRCK", lambda t: f"{t.track}/{t.track_total}" if t.track else None),
    ("date", "TDRC", lambda t: t.date or None),
    ("summary", "COMM", lambda t: with_disclosure(t.summary, t.disclosure) or None),
    ("narration", "USLT", lambda t: t.narration),
]
_ISO_639_2 = {"en": "eng", "de": "deu", "fr": "fra", "es": "spa", "it": "ita", "nl": "nld", "pt": "por"}


def _lang(tags: TagValues) -> str:
    return _ISO_639_2.get(tags.language.split("-")[0].lower(), "eng")


def _encoding(text: str) -> int:
    """ID3v2.3's text encoding for `text`: Latin-1 (0) where it holds every character, else UTF-16
    (1). Readers decode UTF-16 a byte at a time (mutagen: 3 ms for a transcript, on every read),
    Latin-1 at once."""
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return 1
    return 0


def write_tags(path: Path, values: TagValues, cover: Cover | None) -> None:
    """Replace the file's tag with an ID3v2.3 tag built from FRAME_TABLE, with the cover as loaded
    (checked and scaled) from `values.cover`."""
    from mutagen import id3

    tags = id3.ID3()
    for _, frame_id, value_of in FRAME_TABLE:
        value = value_of(values)
        if value is None:
            continue
        frame = getattr(id3, frame_id)
        if frame_id in ("COMM", "USLT"):
            tags.add(frame(encoding=_encoding(value), lang=_lang(values), desc="", text=value))
        else:
            tags.add(frame(encoding=_encoding(value), text=value))
    if cover is not None:
        tags.add(id3.APIC(encoding=0, mime=cover.mime, type=3, desc="Cover", data=cover.data))
    for key, value in {**values.custom, "pipeline_version": __version__}.items():
        tags.add(id3.TXXX(encoding=_encoding(key + str(value)), desc=key, text=str(value)))
    tags.update_to_v23()
    try:
        tags.save(str(path), v2_version=3)
    except OSError as exc:
        raise AudioError(f"cannot write tags: {exc.strerror}", path) from None


def retag(path: Path, values: TagValues, cover: Cover | None, staging: Path) -> None:
    """Replace an MP3's tag without touching its audio: tag a copy in `staging`, rename it over."""
    with replacing(path, staging) as temporary:
        shutil.copyfile(path, temporary)
        write_tags(temporary, values, cover)
