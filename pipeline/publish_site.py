"""`episodes publish`: gather every series' built episodes and write the public site."""

from __future__ import annotations

from pathlib import Path

from .files import ensure_folder, output_lock
from .project import Project, load_catalog
from .settings import SITE_FOLDER
from .state import open_store
from .urls import check_base_url
from .publish.site import SiteReport, publish_site


def publish_project(project: Project, base_url: str | None, to: Path | None) -> SiteReport:
    """Write the site for every series under scripts/ (only built episodes appear), holding the
    output lock so no build changes the files being copied."""
    if base_url is not None:
        base_url = check_base_url(base_url, "--base-url")
    catalog = load_catalog(project)
    if catalog.errors:
        raise catalog.errors[0]
    target = (to or project.out_dir / SITE_FOLDER).resolve()
    inside_out = project.out_dir.resolve() in target.parents
    staging = project.staging_dir if inside_out else target / ".partial"
    ensure_folder(project.out_dir)
    with output_lock(project.out_dir):
        store = open_store(project.out_dir)
        try:
            series_list = [(entry.series, entry.episodes, store.episodes(entry.series.slug)) for entry in catalog.series]
        finally:
            store.close()
        return publish_site(series_list, project.out_dir, target, base_url or "", staging)
