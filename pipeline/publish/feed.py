"""The podcast feed: RSS 2.0 with the iTunes and Podcasting 2.0 namespaces, made with feedgen.

Podcast platforms accept only absolute URLs, so a feed is written only where a base URL is
known: `episodes build` writes out/<series>/feed.xml when it has one (`--base-url`, or
`base_url:` in series.yaml: the address of out/<series>/) and removes a feed it wrote earlier
when it has none; `episodes publish` writes the site's copy under the site's address.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from ..cover import Cover
from ..files import write_if_changed
from ..manifest import EpisodeResult
from ..script import Episode
from ..settings import Series
from ..urls import check_base_url
from .catalog import PublishedEpisode, published_episodes, write_cover

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
"""Podcasting 2.0's namespace for `podcast:guid` (UUIDv5 of the feed URL)."""
FEED_NAME = "feed.xml"
TRANSCRIPTS = ((".vtt", "text/vtt", "captions"), (".srt", "application/x-subrip", "captions"),
               (".txt", "text/plain", None))
"""Sidecar suffix, MIME type and `rel` of each `podcast:transcript` link."""


class PodcastIndexExtension(BaseExtension):
    """Channel tags feedgen lacks or gets wrong: `podcast:guid`, and `itunes:explicit`
    true/false and `itunes:image` for any cover name (feedgen writes yes/no and drops .jpeg)."""

    def __init__(self) -> None:
        self._tags: list[tuple[str, str | None, dict[str, str]]] = []

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def channel_tag(self, name: str, text: str | None = None, **attributes: str) -> None:
        """Add `<name attributes>text</name>` to the channel (`name` in Clark notation)."""
        self._tags.append((name, text, attributes))

    def extend_rss(self, rss_feed):
        channel = rss_feed[0]
        for name, text, attributes in self._tags:
            element = etree.SubElement(channel, name, attributes)
            element.text = text
        return rss_feed


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


def podcast_guid(feed_url: str) -> str:
    """Podcasting 2.0's show identity: UUIDv5 of the feed URL without scheme and trailing slashes."""
    bare = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", feed_url.strip()).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, bare))


def episode_guid(series: Series, episode: Episode) -> str:
    """An episode's feed identity: series folder and episode slug, never its number or URL."""
    return f"urn:audio-overviews:{series.slug}:{episode.slug}"


def _published_at(item: PublishedEpisode) -> dt.datetime | None:
    """The script's date (minutes after midnight UTC by episode number, so same-day episodes
    keep their order), else the build time; None if neither is known."""
    day = _instant(item.episode.date)
    if day is not None:
        return day + dt.timedelta(minutes=item.episode.number)
    return _instant(item.result.built_at or "")


def _instant(iso: str) -> dt.datetime | None:
    """An ISO date or time as a UTC-aware datetime; None for an empty or unreadable one."""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def render_feed(series: Series, published: list[PublishedEpisode], series_url: str, cover: Cover | None) -> bytes:
    """RSS 2.0 with the iTunes and podcast namespaces for `published`, every URL under
    `series_url` (absolute, ending in "/", where the episodes' folder is served)."""
    feed_url = series_url + FEED_NAME
    feed = FeedGenerator()
    feed.load_extension("podcast")
    feed.register_extension("podcastindex", PodcastIndexExtension, PodcastIndexEntryExtension)
    feed.title(series.album)
    feed.description(series.description or series.album)
    feed.link(href=feed_url, rel="self")
    feed.link(href=series_url, rel="alternate")  # feedgen's RSS <link> is the last one given
    feed.language(series.language)
    feed.author({"name": series.author})
    if series.copyright:
        feed.copyright(series.copyright)
    feed.podcast.itunes_author(series.author)
    feed.podcast.itunes_category(series.category)
    feed.podcast.itunes_type("episodic")
    extra = feed.podcastindex
    if cover is not None:
        feed.image(url=series_url + cover.file_name, title=series.album, link=series_url)
        extra.channel_tag(f"{{{ITUNES_NS}}}image", href=series_url + cover.file_name)
    extra.channel_tag(f"{{{ITUNES_NS}}}explicit", "true" if series.explicit else "false")
    extra.channel_tag(f"{{{PODCAST_NS}}}guid", series.podcast_guid or podcast_guid(feed_url))
    built = [moment for p in published if (moment := _instant(p.result.built_at or "")) is not None]
    if built:  # feedgen would stamp the current time; the newest build keeps the feed reproducible
        feed.lastBuildDate(max(built))
    for item in published:
        entry = feed.add_entry(order="append")
        entry.guid(episode_guid(series, item.episode), permalink=False)
        entry.title(item.episode.title)
        entry.link(href=f"{series_url}#episode-{item.episode.stem}")
        entry.description(item.episode.summary or item.episode.title)
        entry.enclosure(series_url + item.file, str(item.file_bytes), "audio/mpeg")
        published_at = _published_at(item)
        if published_at is not None:
            entry.pubDate(published_at)
        entry.podcast.itunes_duration(int(round(item.duration_s)))
        entry.podcast.itunes_episode(item.episode.number)
        entry.podcast.itunes_episode_type("full")
        for suffix, mime, rel in TRANSCRIPTS:
            entry.podcastindex.transcript(f"{series_url}{item.episode.stem}{suffix}", mime, series.language, rel)
    return feed.rss_str(pretty=True)


def write_feed(series: Series, episodes: list[Episode], entries: dict[str, EpisodeResult], base_url: str | None,
               folder: Path, staging: Path) -> Path | None:
    """Write `folder`/feed.xml for the built episodes, with URLs under `base_url` (the address of
    `folder`); without a base URL, remove a feed written earlier (its URLs no longer hold) and
    return None. The cover goes beside it."""
    path = folder / FEED_NAME
    if not base_url:
        path.unlink(missing_ok=True)
        return None
    series_url = check_base_url(base_url, "the base URL (--base-url or series.yaml's base_url)",
                                series.config_path) + "/"
    cover = write_cover(series, folder, staging)
    write_if_changed(path, render_feed(series, published_episodes(episodes, entries, folder), series_url, cover),
                     staging)
    return path
