"""`episodes publish`: gather every series' built episodes and write the public site.

The site goes to out/site/ or to the folder `--to` names, which may be anywhere except where it
could overwrite or mix with the project's own files: `/`, the project folder, a folder holding
scripts, voices, a series' sound or recordings, out/ itself and its series folders are refused.
What each publish wrote is recorded in out/.sites/ (not in the site), so the next publish into
the same folder removes its own stale files, and only while they hold what it wrote.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import ConfigError
from .files import ensure_folder, output_lock
from .fingerprint import approval_fingerprint
from .manifest import EpisodeResult
from .plan import mp3_matches
from .project import Catalog, Project, load_catalog
from .publish.site import SiteReport, publish_site
from .settings import SITE_FOLDER
from .state import Approval, open_store
from .urls import check_base_url

RECORDS_FOLDER = ".sites"
"""In out/: one record per site folder published from this project (what was written there)."""
SOUND_KEYS = ("intro", "outro", "bed")


def publish_project(project: Project, base_url: str | None, to: Path | None,
                    approved_only: bool = False) -> SiteReport:
    """Write the site for every series under scripts/ (only built episodes appear; with
    `approved_only`, only those whose approval holds for their audio as built), holding the output
    lock so no build changes the files being copied."""
    if base_url is not None:
        base_url = check_base_url(base_url, "--base-url")
    catalog = load_catalog(project)
    if catalog.errors:
        raise catalog.errors[0]
    target = (to or project.out_dir / SITE_FOLDER).resolve()
    check_site_target(project, catalog, target)
    inside_out = project.out_dir.resolve() in target.parents
    staging = project.staging_dir if inside_out else None
    ensure_folder(project.out_dir)
    with output_lock(project.out_dir):
        store = open_store(project.out_dir)
        try:
            series_list = [(entry.series, entry.episodes, store.episodes(entry.series.slug))
                           for entry in catalog.series]
            if approved_only:
                series_list = [(series, episodes, _approved(store.approvals(series.slug), results,
                                                            project.series_out(series)))
                               for series, episodes, results in series_list]
        finally:
            store.close()
        return publish_site(series_list, project.out_dir, target, base_url or "", staging,
                            site_record(project, target))


def _approved(approvals: dict[str, Approval], results: dict[str, EpisodeResult],
              folder: Path) -> dict[str, EpisodeResult]:
    """The results whose approval holds: the approved fingerprint is that of the audio as built,
    and the MP3 in `folder` is the one built."""
    return {file: result for file, result in results.items()
            if file in approvals and approvals[file].audio_sha256 == approval_fingerprint(result)
            and mp3_matches(folder / file, result)}


def site_record(project: Project, target: Path) -> Path:
    """Where the record of what was published into `target` lives: out/.sites/<hash>.json."""
    key = hashlib.sha256(str(target.resolve()).encode()).hexdigest()[:16]
    return project.out_dir / RECORDS_FOLDER / f"{key}.json"


def published_sites(project: Project) -> list[Path]:
    """Every site folder this project has published into that still exists (out/site/ and each
    --to), for `episodes check` to validate."""
    found = []
    for record in sorted((project.out_dir / RECORDS_FOLDER).glob("*.json")):
        try:
            site = json.loads(record.read_text(encoding="utf-8")).get("site")
        except (OSError, ValueError, AttributeError):
            continue
        if isinstance(site, str) and Path(site).is_dir() and Path(site) not in found:
            found.append(Path(site))
    return found


def _inputs(catalog: Catalog) -> list[Path]:
    """The project's input files outside scripts/ and voices/ too: covers, sound files and recordings."""
    paths: list[Path] = []
    for entry in catalog.series:
        series = entry.series
        paths += [p for p in (series.cover,) if p is not None]
        for sound in [series.sound] + [e.sound for e in entry.episodes]:
            if isinstance(sound, dict):
                paths += [(series.folder / str(sound[k])).resolve() for k in SOUND_KEYS if sound.get(k)]
        paths += [e.audio.resolve() for e in entry.episodes if e.audio is not None]
    return paths


def check_site_target(project: Project, catalog: Catalog, target: Path) -> None:
    """Refuse a site folder where publishing could overwrite, or mix with, the project's own files:
    `/`, the project folder or any folder above it, scripts/ and voices/ (or inside them), a folder
    holding a cover, sound file or recording, out/ itself, a series' output folder (or inside it),
    and out/'s hidden folders (cache, staging). A ConfigError names the folder and why."""
    target = target.resolve()
    root, out = project.root.resolve(), project.out_dir.resolve()

    def refuse(why: str) -> None:
        raise ConfigError(f"--to {target} {why}; publish into an empty folder of its own, such as "
                          f"{out / SITE_FOLDER}", target)

    if target == Path(target.anchor):
        refuse("is the root of the file system")
    if target == root or target in root.parents:
        refuse("holds the whole project")
    for folder, name in ((project.scripts_dir, "scripts/"), (project.voices_dir, "voices/")):
        folder = folder.resolve()
        if target == folder or folder in target.parents:
            refuse(f"is inside {name}, which holds the project's inputs")
    for path in _inputs(catalog):
        if path.parent == target or target in path.parents:
            refuse(f"holds the project input {path}")
    if target == out:
        refuse("is out/ itself, which holds the built episodes")
    if out in target.parents:
        first = target.relative_to(out).parts[0]
        if first.startswith("."):
            refuse(f"is inside out/{first}, the build's own bookkeeping")
        if first in {entry.series.slug for entry in catalog.series}:
            refuse(f"is inside out/{first}/, a series' built episodes")
