"""The podcast feed: RSS 2.0 with the iTunes and Podcasting 2.0 namespaces, made with feedgen."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from ..files import write_if_changed
from ..manifest import EpisodeResult
from ..settings import Series

if TYPE_CHECKING:
    from ..jobs import Job
PODCAST_NS = "https://podcastindex.org/namespace/1.0"


class PodcastIndexExtension(BaseExtension):
    """feedgen extension for the podcast namespace (podcastindex.org), which feedgen lacks."""

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}


class PodcastIndexEntryExtension(BaseEntryExtension):
    """Adds <podcast:transcript> links to an item."""

    def __init__(self) -> None:
        self._transcripts: list[dict[str, str]] = []

    def transcript(self, url: str, mime: str, language: str | None = None, rel: str | None = None) -> None:
        attributes = {"url": url, "type": mime}
        if language:
            attributes["language"] = language
        if rel:
            attributes["rel"] = rel
        self._transcripts.append(attributes)

    def extend_rss(self, item):
        for attributes in self._transcripts:
            etree.SubElement(item, f"{{{PODCAST_NS}}}transcript", attributes)
        return item


def guid(series: Series, job: Job) -> str:
    """An episode's feed identity: series folder and episode slug, never its number or URL."""
    return f"urn:audio-overviews:{series.slug}:{job.episode.slug}"


def render_feed(series: Series, jobs: list[Job], entries: dict[str, EpisodeResult], base_url: str) -> bytes:
    """RSS 2.0 with the iTunes and podcast namespaces, for the built episodes."""
    base = base_url.rstrip("/") + "/" if base_url else ""
    feed = FeedGenerator()
    feed.load_extension("podcast")
    feed.register_extension("podcastindex", PodcastIndexExtension, PodcastIndexEntryExtension)
    feed.title(series.album)
    feed.description(series.description or series.album)
    feed.link(href=base + "index.html" if base else "index.html", rel="alternate")
    feed.language(series.language)
    feed.author({"name": series.author})
    if series.copyright:
        feed.copyright(series.copyright)
    feed.podcast.itunes_author(series.author)
    feed.podcast.itunes_category(series.category)
    feed.podcast.itunes_explicit("yes" if series.explicit else "no")
    feed.podcast.itunes_type("episodic")
    if series.cover:
        cover_url = f"{base}cover{series.cover.suffix}"
        feed.image(url=cover_url, title=series.album, link=base + "index.html" if base else "index.html")
        feed.podcast.itunes_image(cover_url)
    built = [e.built_at for e in entries.values() if e.built_at]
    if built:  # feedgen would stamp the current time; the newest build keeps the feed reproducible
        feed.lastBuildDate(dt.datetime.fromisoformat(max(built)))
    for job in sorted(jobs, key=lambda j: j.episode.number):
        result = entries.get(job.out_path.name)
        if result is None or result.duration_s is None or result.file_bytes is None:
            continue
        item = feed.add_entry(order="append")
        item.guid(guid(series, job), permalink=False)
        item.title(job.episode.title)
        item.description(job.episode.summary or job.episode.title)
        item.enclosure(base + result.file, str(result.file_bytes), "audio/mpeg")
        published = dt.datetime.fromisoformat(job.episode.date) if job.episode.date else dt.datetime(1970, 1, 1)
        item.pubDate(published.replace(tzinfo=dt.timezone.utc) + dt.timedelta(minutes=job.episode.number))
        item.podcast.itunes_duration(int(round(result.duration_s)))
        item.podcast.itunes_episode(job.episode.number)
        item.podcast.itunes_episode_type("full")
        stem = Path(result.file).stem
        item.podcastindex.transcript(f"{base}{stem}.vtt", "text/vtt", series.language, "captions")
        item.podcastindex.transcript(f"{base}{stem}.srt", "application/x-subrip", series.language, "captions")
        item.podcastindex.transcript(f"{base}{stem}.txt", "text/plain", series.language)
    return feed.rss_str(pretty=True)


def write_feed(series: Series, jobs: list[Job], entries: dict[str, EpisodeResult], base_url: str,
               folder: Path, staging: Path) -> Path:
    path = folder / "feed.xml"
    write_if_changed(path, render_feed(series, jobs, entries, base_url), staging)
    return path
