"""The public site `episodes publish` writes: what a listener visits, ready to upload as it is.

    <to>/index.html                  All Topics: every series with cover, topic, count, description
    <to>/<series>/index.html         the topic page: episodes newest first, players, transcripts
    <to>/<series>/NN-slug.mp3 ...    episodes with captions (.vtt, .srt) and transcript (.txt)
    <to>/<series>/cover.png|.jpg     the cover as embedded in the tags
    <to>/<series>/feed.xml           the feed, every URL absolute under the series' address

Pages link only to files beside them (relative links, inline CSS, an inline icon, no scripts),
so no request leaves the site and it also works opened from the file system. Files are replaced
only when their bytes change, and files an earlier publish wrote that are no longer part of the
site (an episode deleted from out/) are removed, but only while they still hold the bytes that
publish wrote: nothing else in `to` is ever deleted. What was written is recorded outside the
site (in the project's out/), so the site holds no bookkeeping and no staging folder.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..cover import published_cover
from ..disclosure import is_synthetic
from ..errors import ConfigError, PipelineError
from ..files import write_if_changed
from ..manifest import EpisodeResult
from ..script import Episode
from ..settings import Series
from ..urls import check_base_url
from .catalog import PUBLISHED_SIDECARS, lede, newest_first, published_episodes, show_description, templates
from .feed import FEED_NAME, render_feed

LEGACY_RECORD = ".site-files.json"
"""Where earlier versions kept their record, inside the site: read once, then removed."""
COPIED_SUFFIXES = (".mp3", *PUBLISHED_SIDECARS)

SeriesInput = tuple[Series, list[Episode], dict[str, EpisodeResult]]
"""A series, its parsed episode scripts, and its manifest entries by MP3 file name."""


@dataclass
class SiteReport:
    """What a publish wrote."""

    folder: Path
    """The site's root folder."""
    index: Path
    """The All Topics page."""
    pages: list[Path] = field(default_factory=list)
    """Each series' topic page, in the order given."""
    feeds: list[Path] = field(default_factory=list)
    episodes: int = 0
    """Episodes on the site, all series together."""
    written: int = 0
    """Files written or replaced."""
    unchanged: int = 0
    """Files already holding exactly what the site needs (left untouched)."""
    removed: int = 0
    """Files of an earlier publish that are no longer part of the site."""
    kept: list[Path] = field(default_factory=list)
    """Files of an earlier publish no longer part of the site that were left in place because
    someone changed them since (publishing deletes only what it wrote)."""


def series_url(series: Series, base_url: str) -> str:
    """Absolute address of the series' folder on the site, ending in "/": under `base_url` (the
    site's root, from --base-url) if given, else series.yaml's `base_url`."""
    if base_url:
        return f"{check_base_url(base_url, '--base-url')}/{series.slug}/"
    if series.base_url:
        return check_base_url(series.base_url, "base_url", series.config_path) + "/"
    raise ConfigError("no base URL to publish at: set base_url: in series.yaml or pass --base-url",
                      series.config_path)


@dataclass(frozen=True)
class _Topic:
    """One series as the All Topics page lists it."""

    series: Series
    slug: str
    count: int
    cover: str | None
    description: str
    """The show's description as published (with the disclosure when a voice narrates)."""


def publish_site(series_list: list[SeriesInput], out_dir: Path, to: Path, base_url: str,
                 staging: Path | None, record: Path,
                 synthetic: Callable[[Episode], bool] = is_synthetic) -> SiteReport:
    """Write the public site for `series_list` (built in `out_dir`/<series>/) into `to`.

    `base_url` is the site's public root ("" = each series' own base_url); every series needs
    one, checked before anything is written. `staging` must be on the same file system as `to`
    (None: each file is written beside itself and renamed). `record` is the file (outside the
    site) that remembers what this publish wrote, so the next one removes only its own stale
    files. `synthetic` says which episodes a voice engine spoke.
    Raises ConfigError for a missing or bad base URL or cover, PipelineError if `to` cannot be
    written.
    """
    urls = [series_url(series, base_url) for series, _, _ in series_list]
    contents: dict[Path, bytes | Path] = {}
    """Every file of the site: its bytes, or the built file to copy."""
    topics: list[_Topic] = []
    report = SiteReport(folder=to, index=to / "index.html")
    for (series, episodes, entries), url in zip(series_list, urls):
        source, folder = out_dir / series.slug, to / series.slug
        published = published_episodes(episodes, entries, source, synthetic)
        cover = published_cover(series)
        for item in published:
            for suffix in COPIED_SUFFIXES:
                contents[folder / f"{item.episode.stem}{suffix}"] = source / f"{item.episode.stem}{suffix}"
        if cover is not None:
            contents[folder / cover.file_name] = cover.data
        contents[folder / FEED_NAME] = render_feed(series, published, url, cover)
        description = show_description(series, published)
        page = templates().get_template("topic.html.j2").render(
            series=series, episodes=newest_first(published), lede=lede(series.description), description=description)
        contents[folder / "index.html"] = page.encode("utf-8")
        report.pages.append(folder / "index.html")
        report.feeds.append(folder / FEED_NAME)
        report.episodes += len(published)
        topics.append(_Topic(series, series.slug, len(published), cover.file_name if cover else None, description))
    language = series_list[0][0].language if series_list else "en"
    names = [t.series.topic or t.series.title for t in topics]
    contents[report.index] = templates().get_template("site_index.html.j2").render(
        topics=topics, language=language,
        description=f"Audio overviews, by topic: {', '.join(names)}." if names else "Audio overviews.",
    ).encode("utf-8")
    try:
        _write(contents, to, staging, record, report)
    except OSError as exc:
        raise PipelineError(f"cannot write the site: {exc.strerror or exc}", exc.filename or to) from None
    return report


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _write(contents: dict[Path, bytes | Path], to: Path, staging: Path | None, record: Path,
           report: SiteReport) -> None:
    """Write each file whose bytes changed, then remove what the previous publish wrote, this one
    did not, and nobody changed since; record this publish's files and their checksums."""
    written: dict[str, str] = {}
    for path, content in contents.items():
        data = content.read_bytes() if isinstance(content, Path) else content
        if write_if_changed(path, data, staging):
            report.written += 1
        else:
            report.unchanged += 1
        written[path.relative_to(to).as_posix()] = _digest(data)
    previous = _previous_files(to, record)
    for name in sorted(set(previous) - set(written)):
        stale = to / name
        if not stale.resolve().is_relative_to(to.resolve()) or not stale.is_file() or stale.is_symlink():
            continue
        if previous[name] is not None and _digest(stale.read_bytes()) != previous[name]:
            report.kept.append(stale)
            continue
        stale.unlink()
        report.removed += 1
    document = {"site": str(to.resolve()), "files": dict(sorted(written.items()))}
    write_if_changed(record, json.dumps(document, indent=1).encode(), None)
    (to / LEGACY_RECORD).unlink(missing_ok=True)


def _previous_files(to: Path, record: Path) -> dict[str, str | None]:
    """What the last publish into `to` wrote: name -> checksum (None for an earlier version's
    record inside the site, which kept names only)."""
    try:
        document = json.loads(record.read_text(encoding="utf-8"))
        files = document.get("files") if isinstance(document, dict) else None
        if isinstance(files, dict):
            return {n: d for n, d in files.items() if isinstance(n, str) and isinstance(d, str)}
    except (OSError, ValueError):
        pass
    try:
        names = json.loads((to / LEGACY_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {n: None for n in names if isinstance(n, str)} if isinstance(names, list) else {}
