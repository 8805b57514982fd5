"""What is published and where: the built episodes on disk, their order, and absolute URLs.

The review page, the feed and the public site all draw on these, so they agree on which episodes
exist (built, MP3 on disk), how they are ordered, and what a base URL may be.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape

from ..cover import Cover, published_cover
from ..disclosure import is_synthetic, with_disclosure
from ..durations import clock, iso_duration
from ..files import write_if_changed
from ..outputs import BESIDE_MP3

if TYPE_CHECKING:  # settings may check base URLs: no import cycle at run time
    from ..manifest import EpisodeResult
    from ..script import Episode
    from ..settings import Series


PUBLISHED_SIDECARS = tuple(o.suffix for o in BESIDE_MP3 if o.published)
"""Captions and transcript that the feed and the site link beside every MP3."""


VERSION_DIGITS = 12
"""Hex digits of an MP3's SHA-256 in its URL's `?v=`: a new version for every change of the audio."""
FAVICON = "data:image/svg+xml," + quote(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" '
    'fill="#1f5fbf"/><path d="M3 9v-2M6 12V4M9 10V6M12 11V5" stroke="#fff" stroke-width="1.6" '
    'stroke-linecap="round"/></svg>', safe="")
"""The pages' icon, inline (a waveform): no favicon request, so no 404 on any host."""


def content_version(path: Path) -> str:
    """The first VERSION_DIGITS hex digits of the file's SHA-256: the `?v=` of its URL, so a
    corrected MP3 is new media to the apps that downloaded the old one."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:VERSION_DIGITS]


@functools.lru_cache(maxsize=1)
def templates() -> Environment:
    """The Jinja environment for every page (autoescaped, the `clock` filter)."""
    environment = Environment(loader=PackageLoader("pipeline.publish", "templates"),
                              autoescape=select_autoescape(["html", "j2"]), keep_trailing_newline=True)
    environment.filters["clock"] = clock
    environment.filters["iso_duration"] = iso_duration
    environment.globals["favicon"] = FAVICON
    return environment


@dataclass(frozen=True)
class PublishedEpisode:
    """A built episode whose MP3 is on disk: what the feed and the site list."""

    episode: Episode
    result: EpisodeResult
    file_bytes: int
    """Size of the MP3 as it is on disk (the feed's enclosure length)."""
    version: str
    """The MP3's content version (`?v=` in its URLs)."""
    synthetic: bool
    """Whether a voice engine spoke it (its descriptions then carry the disclosure)."""

    @property
    def file(self) -> str:
        return f"{self.episode.stem}.mp3"

    @property
    def versioned_file(self) -> str:
        """The MP3's name with its content version: `01-sft.mp3?v=3f2a8e4e263a`."""
        return f"{self.file}?v={self.version}"

    def description(self, disclosure: str | None) -> str:
        """The episode's description as the feed and the site give it: the summary (the title when
        there is none), with the series' disclosure sentence when a voice engine spoke it."""
        return with_disclosure(self.episode.summary or self.episode.title, disclosure if self.synthetic else None)

    @property
    def duration_s(self) -> float:
        assert self.result.duration_s is not None  # published_episodes keeps only measured ones
        return self.result.duration_s

    @property
    def date(self) -> str:
        """The script's date, or the day it was built (ISO `YYYY-MM-DD`): never empty, never 1970."""
        return self.episode.date or (self.result.built_at or "")[:10]


def published_episodes(episodes: list[Episode], entries: dict[str, EpisodeResult], folder: Path,
                       synthetic: Callable[[Episode], bool] = is_synthetic) -> list[PublishedEpisode]:
    """The episodes with a measured build whose MP3, captions and transcript are in `folder`,
    in episode-number order; `synthetic` says which a voice engine spoke (default: every episode
    without an `audio:` recording)."""
    found: list[PublishedEpisode] = []
    for episode in sorted(episodes, key=lambda e: e.number):
        result = entries.get(f"{episode.stem}.mp3")
        path = folder / f"{episode.stem}.mp3"
        if (result is None or result.duration_s is None or not path.is_file()
                or not all(path.with_suffix(s).is_file() for s in PUBLISHED_SIDECARS)):
            continue
        found.append(PublishedEpisode(episode, result, path.stat().st_size, content_version(path),
                                      synthetic(episode)))
    return found


def show_description(series: Series, published: list[PublishedEpisode]) -> str:
    """The show's description as the feed and the pages give it: with the disclosure sentence when
    a voice engine spoke any of its episodes."""
    synthetic = any(item.synthetic for item in published)
    return with_disclosure(series.description or series.album, series.disclosure if synthetic else None)


def newest_first(published: list[PublishedEpisode]) -> list[PublishedEpisode]:
    """Listing order of a topic page: by date, then episode number, both descending."""
    return sorted(published, key=lambda p: (p.date, p.episode.number), reverse=True)


def lede(description: str) -> str:
    """One line for a topic page's heading: the description up to its first colon or full stop."""
    first = re.split(r"(?<=[.!?])\s|:\s", " ".join(description.split()), maxsplit=1)[0].strip()
    return first if not first or first[-1] in ".!?" else first + "."


def write_cover(series: Series, folder: Path, staging: Path | None) -> Cover | None:
    """Put the series cover (in RGB, as published) into `folder` under `cover.png`/`cover.jpg`."""
    cover = published_cover(series)
    if cover is not None:
        write_if_changed(folder / cover.file_name, cover.data, staging)
    return cover
