"""What is published and where: the built episodes on disk, their order, and absolute URLs.

The review page, the feed and the public site all draw on these, so they agree on which episodes
exist (built, MP3 on disk), how they are ordered, and what a base URL may be.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

from ..cover import Cover, series_cover
from ..files import write_if_changed

if TYPE_CHECKING:  # settings may check base URLs: no import cycle at run time
    from ..manifest import EpisodeResult
    from ..script import Episode
    from ..settings import Series


PUBLISHED_SIDECARS = (".vtt", ".srt", ".txt")
"""Captions and transcript that the feed and the site link beside every MP3."""


def clock(seconds: float) -> str:
    """m:ss, as the series' topic page shows lengths; whole seconds counted down, as players do,
    so the page and its player never disagree (82.6 s is 1:22)."""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


@functools.lru_cache(maxsize=1)
def templates() -> Environment:
    """The Jinja environment for every page (autoescaped, the `clock` filter)."""
    environment = Environment(loader=PackageLoader("pipeline.publish", "templates"),
                              autoescape=select_autoescape(["html", "j2"]), keep_trailing_newline=True)
    environment.filters["clock"] = clock
    return environment


@dataclass(frozen=True)
class PublishedEpisode:
    """A built episode whose MP3 is on disk: what the feed and the site list."""

    episode: Episode
    result: EpisodeResult
    file_bytes: int
    """Size of the MP3 as it is on disk (the feed's enclosure length)."""

    @property
    def file(self) -> str:
        return f"{self.episode.stem}.mp3"

    @property
    def duration_s(self) -> float:
        assert self.result.duration_s is not None  # published_episodes keeps only measured ones
        return self.result.duration_s

    @property
    def date(self) -> str:
        """The script's date, or the day it was built (ISO `YYYY-MM-DD`): never empty, never 1970."""
        return self.episode.date or (self.result.built_at or "")[:10]


def published_episodes(episodes: list[Episode], entries: dict[str, EpisodeResult],
                       folder: Path) -> list[PublishedEpisode]:
    """The episodes with a measured build whose MP3, captions and transcript are in `folder`,
    in episode-number order."""
    found: list[PublishedEpisode] = []
    for episode in sorted(episodes, key=lambda e: e.number):
        result = entries.get(f"{episode.stem}.mp3")
        path = folder / f"{episode.stem}.mp3"
        if (result is None or result.duration_s is None or not path.is_file()
                or not all(path.with_suffix(s).is_file() for s in PUBLISHED_SIDECARS)):
            continue
        found.append(PublishedEpisode(episode, result, path.stat().st_size))
    return found


def newest_first(published: list[PublishedEpisode]) -> list[PublishedEpisode]:
    """Listing order of a topic page: by date, then episode number, both descending."""
    return sorted(published, key=lambda p: (p.date, p.episode.number), reverse=True)


def lede(description: str) -> str:
    """One line for a topic page's heading: the description up to its first colon or full stop."""
    first = re.split(r"(?<=[.!?])\s|:\s", " ".join(description.split()), maxsplit=1)[0].strip()
    return first if not first or first[-1] in ".!?" else first + "."




def write_cover(series: Series, folder: Path, staging: Path) -> Cover | None:
    """Put the series cover (as embedded in the tags) into `folder` under `cover.png`/`cover.jpg`."""
    cover = series_cover(series)
    if cover is not None:
        write_if_changed(folder / cover.file_name, cover.data, staging)
    return cover
