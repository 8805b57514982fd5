"""The podcast feed: RSS 2.0 with the iTunes and Podcasting 2.0 namespaces, made with feedgen.

Podcast platforms accept only absolute URLs, so a feed is written only where a base URL is
known: `episodes build` writes out/<series>/feed.xml when it has one (`--base-url`, or
`base_url:` in series.yaml: the address of out/<series>/) and removes a feed it wrote earlier
when it has none; `episodes publish` writes the site's copy under the site's address.

Each enclosure URL carries the MP3's content version (`01-sft.mp3?v=3f2a8e4e263a`, from its
SHA-256): static hosts ignore the query, so every URL ever published keeps working, and apps see
corrected audio as new media, while the item's guid never changes.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from ..cover import Cover
from ..disclosure import is_synthetic
from ..durations import whole_seconds
from ..errors import ConfigError
from ..files import write_if_changed
from ..manifest import EpisodeResult
from ..outputs import TRANSCRIPTS
from ..script import Episode
from ..settings import Series
from ..urls import check_base_url
from .catalog import PublishedEpisode, published_episodes, show_description, write_cover
from .categories import parse_category
from .podcast_namespace import PODCAST_NS

ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
"""Podcasting 2.0's namespace for `podcast:guid` (UUIDv5 of the feed URL)."""
FEED_NAME = "feed.xml"
AI_CONTENT = "ai-content"
"""`podcast:txt purpose=` of the machine-readable AI disclosure (true when a voice engine narrates)."""

Tags = list[tuple[str, "str | None", dict[str, str]]]


def _add(parent, tags: Tags) -> None:
    for name, text, attributes in tags:
        element = etree.SubElement(parent, name, attributes)
        element.text = text


class PodcastIndexExtension(BaseExtension):
    """Channel tags feedgen lacks or gets wrong: the podcast namespace's, and `itunes:explicit`
    true/false and `itunes:image` for any cover name (feedgen writes yes/no and drops .jpeg)."""

    def __init__(self) -> None:
        self._tags: Tags = []

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def tag(self, name: str, text: str | None = None, /, **attributes: str) -> None:
        """Add `<name attributes>text</name>` to the channel (`name` in Clark notation)."""
        self._tags.append((name, text, attributes))

    def extend_rss(self, rss_feed):
        _add(rss_feed[0], self._tags)
        return rss_feed


class PodcastIndexEntryExtension(BaseEntryExtension):
    """An item's podcast-namespace tags (transcripts, season, episode, disclosure)."""

    def __init__(self) -> None:
        self._tags: Tags = []

    def tag(self, name: str, text: str | None = None, /, **attributes: str) -> None:
        """Add `<podcast:name attributes>text</podcast:name>` to the item."""
        self._tags.append((f"{{{PODCAST_NS}}}{name}", text, attributes))

    def extend_rss(self, item):
        _add(item, self._tags)
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


def _people_and_rights(series: Series, extra: PodcastIndexExtension) -> None:
    """The owner's lock, the licence and the people, as series.yaml gives them."""
    if series.owner is not None:
        extra.tag(f"{{{PODCAST_NS}}}locked", "yes" if series.locked else "no", owner=series.owner.email)
    if series.license is not None:
        extra.tag(f"{{{PODCAST_NS}}}license", series.license.identifier,
                  **({"url": series.license.url} if series.license.url else {}))
    for person in series.people:
        attributes = {"role": person.role, "group": person.group, "href": person.href, "img": person.img}
        extra.tag(f"{{{PODCAST_NS}}}person", person.name, **{k: v for k, v in attributes.items() if v})


def render_feed(series: Series, published: list[PublishedEpisode], series_url: str, cover: Cover | None) -> bytes:
    """RSS 2.0 with the iTunes and podcast namespaces for `published`, every URL under
    `series_url` (absolute, ending in "/", where the episodes' folder is served)."""
    try:
        category, subcategory = parse_category(series.category)
    except ValueError as exc:  # a Series made in code: load_series has checked series.yaml's
        raise ConfigError(f"`category` {exc}", series.config_path, series.lines.get("category")) from None
    feed_url = series_url + FEED_NAME
    feed = FeedGenerator()
    feed.load_extension("podcast")
    feed.register_extension("podcastindex", PodcastIndexExtension, PodcastIndexEntryExtension)
    feed.title(series.album)
    feed.description(show_description(series, published))
    feed.link(href=feed_url, rel="self")
    feed.link(href=series_url, rel="alternate")  # feedgen's RSS <link> is the last one given
    feed.language(series.language)
    feed.author({"name": series.author})
    if series.copyright:
        feed.copyright(series.copyright)
    feed.podcast.itunes_author(series.author)
    feed.podcast.itunes_category({"cat": category, **({"sub": subcategory} if subcategory else {})})
    feed.podcast.itunes_type("episodic")
    if series.owner is not None:
        feed.podcast.itunes_owner(name=series.owner.name, email=series.owner.email)
    extra = feed.podcastindex
    if cover is not None:
        feed.image(url=series_url + cover.file_name, title=series.album, link=series_url)
        extra.tag(f"{{{ITUNES_NS}}}image", href=series_url + cover.file_name)
    extra.tag(f"{{{ITUNES_NS}}}explicit", "true" if series.explicit else "false")
    extra.tag(f"{{{PODCAST_NS}}}guid", series.podcast_guid or podcast_guid(feed_url))
    _people_and_rights(series, extra)
    disclosed = series.disclosure is not None
    if disclosed and any(item.synthetic for item in published):
        extra.tag(f"{{{PODCAST_NS}}}txt", "true", purpose=AI_CONTENT)
    built = [moment for p in published if (moment := _instant(p.result.built_at or "")) is not None]
    if built:  # feedgen would stamp the current time; the newest build keeps the feed reproducible
        feed.lastBuildDate(max(built))
    for item in published:
        entry = feed.add_entry(order="append")
        entry.guid(episode_guid(series, item.episode), permalink=False)
        entry.title(item.episode.title)
        entry.link(href=f"{series_url}#episode-{item.episode.stem}")
        entry.description(item.description(series.disclosure))
        entry.enclosure(series_url + item.versioned_file, str(item.file_bytes), "audio/mpeg")
        published_at = _published_at(item)
        if published_at is not None:
            entry.pubDate(published_at)
        entry.podcast.itunes_duration(whole_seconds(item.duration_s))
        entry.podcast.itunes_episode(item.episode.number)
        entry.podcast.itunes_episode_type("full")
        tags = entry.podcastindex
        if series.season is not None:
            entry.podcast.itunes_season(series.season.number)
            tags.tag("season", str(series.season.number), name=series.season.name)
        tags.tag("episode", str(item.episode.number))
        if disclosed and item.synthetic:
            tags.tag("txt", "true", purpose=AI_CONTENT)
        for suffix, mime, rel in ((o.suffix, o.mime, o.rel) for o in TRANSCRIPTS):
            tags.tag("transcript", url=f"{series_url}{item.episode.stem}{suffix}", type=mime,
                     language=series.language, **({"rel": rel} if rel else {}))
    return feed.rss_str(pretty=True)


def write_feed(series: Series, episodes: list[Episode], entries: dict[str, EpisodeResult], base_url: str | None,
               folder: Path, staging: Path, synthetic: Callable[[Episode], bool] = is_synthetic) -> Path | None:
    """Write `folder`/feed.xml for the built episodes, with URLs under `base_url` (the address of
    `folder`); without a base URL, remove a feed written earlier (its URLs no longer hold) and
    return None. The cover goes beside it. `synthetic` says which episodes a voice engine spoke."""
    path = folder / FEED_NAME
    if not base_url:
        path.unlink(missing_ok=True)
        return None
    series_url = check_base_url(base_url, "the base URL (--base-url or series.yaml's base_url)",
                                series.config_path) + "/"
    cover = write_cover(series, folder, staging)
    published = published_episodes(episodes, entries, folder, synthetic)
    write_if_changed(path, render_feed(series, published, series_url, cover), staging)
    return path
