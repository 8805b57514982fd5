"""After a build, each series it touched is published from the store: its manifest.json export,
review page and feed written, its tags checked across the series and its feed checked.

Orphans (outputs whose script is gone) go in two steps around publishing: forgotten by the store
first, so the export, page and feed no longer name them, and their files deleted after, so at
every moment what is published names only files on disk (a build killed in between leaves files
nothing names, which the next build removes).

A series whose results, series file, cover, base URL, MP3s and exports are as they were at its
last publishing is skipped (its gates then are reused), so a no-op build stays fast.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import PipelineError
from ..files import deferred_signals
from ..fingerprint import publish_key
from ..gates import Gate, feed_gates, tag_gates
from ..manifest import MANIFEST_NAME, EpisodeResult, export_manifest
from ..plan import BuildPlan
from ..project import Catalog, Project
from ..settings import Series
from ..state import Store

EXPORTS = (MANIFEST_NAME, "index.html", "feed.xml")
"""Files publishing writes into a series folder (their state is part of its key)."""


def forget_orphans(plan: BuildPlan, store: Store) -> None:
    """Take each orphan's result out of the store (before publishing, so nothing names it)."""
    for orphan in plan.orphans:
        with deferred_signals():
            store.forget(orphan.store_key, f"{orphan.stem}.mp3")
            plan.entries.get(orphan.store_key, {}).pop(f"{orphan.stem}.mp3", None)


def delete_orphan_files(plan: BuildPlan) -> None:
    """Delete each orphan's files (after publishing: nothing names them any more)."""
    for orphan in plan.orphans:
        for path in orphan.files:
            path.unlink(missing_ok=True)


def publish_series(project: Project, catalog: Catalog, series_list: list[Series], base_url: str | None,
                   store: Store) -> tuple[list[Gate], list[PipelineError]]:
    """Export, page, feed and series gates of each series; returns the series gates and what could
    not be published (one series' problem spares the others)."""
    gates: list[Gate] = []
    problems: list[PipelineError] = []
    entries_by_slug = {e.series.slug: e for e in catalog.series}
    for series in series_list:
        folder = project.series_out(series)
        if not folder.is_dir():
            continue
        url = base_url or series.base_url
        known, found = store.published(series.slug)
        if known == _key(series, folder, url, store):
            gates.extend(Gate(**g) for g in found)
            continue
        from ..publish.feed import write_feed  # only when something is published: a no-op build stays fast
        from ..publish.review import write_review_page

        entry = entries_by_slug[series.slug]
        results = store.episodes(series.slug)
        try:
            export_manifest(folder, _header(series), list(results.values()), project.staging_dir)
            series_gates = tag_gates(_recorded_mp3s(folder, results), series, entry.scripts)
            write_review_page(series, entry.episodes, results, series_gates, folder, project.staging_dir)
            write_feed(series, entry.episodes, results, url, folder, project.staging_dir)
            series_gates += feed_gates(folder)[0]  # its warnings are check's to list
        except PipelineError as exc:
            problems.append(exc)
            continue
        gates.extend(series_gates)
        store.set_published(series.slug, _key(series, folder, url, store),
                            [{"file": g.file, **g.record()} for g in series_gates])
    return gates, problems


def export_preview(folder: Path, series: Series, results: dict[str, EpisodeResult], staging: Path) -> None:
    """A preview's own manifest, beside it in out/<series>/preview/."""
    export_manifest(folder, {**_header(series), "preview": True}, list(results.values()), staging)


def _header(series: Series) -> dict[str, str]:
    return {"series": series.title, "topic": series.topic, "album": series.album}


def _recorded_mp3s(folder: Path, results: dict[str, EpisodeResult]) -> list[Path]:
    """The series' MP3s the store names (an orphan's, still on disk while it is published, is not)."""
    return [folder / name for name, result in sorted(results.items()) if result.has_audio and (folder / name).exists()]


def _key(series: Series, folder: Path, base_url: str, store: Store) -> str:
    mp3s = _recorded_mp3s(folder, store.episodes(series.slug))
    return publish_key(base_url, store.revision(series.slug), [series.config_path, series.cover],
                       [*mp3s, *(folder / name for name in EXPORTS)])
