"""Looking after the sentence cache: what this project uses, and pruning what nobody uses.

Pruning holds this project's output lock and the cache's own lock (so no build anywhere is writing
to it), and never deletes an entry that a built episode of this project, or of another project
registered in a shared cache, was assembled from, unless the producer says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cache import CacheStats
from .errors import PipelineError
from .files import output_lock
from .manifest import Manifest
from .project import Project


@dataclass(frozen=True)
class CacheSummary:
    stats: CacheStats
    used_here: int
    used_elsewhere: int
    other_projects: int
    text: str


def project_keys(project: Project) -> set[str]:
    """Cache entries this project's built episodes were assembled from (every series in out/)."""
    keys: set[str] = set()
    if project.out_dir.is_dir():
        for folder in project.out_dir.iterdir():
            if folder.is_dir() and (folder / "manifest.json").is_file():
                for entry in Manifest(folder, {}).entries.values():
                    keys.update(entry.cache_keys)
    return keys


def _others(project: Project) -> tuple[set[str], int]:
    here = str(project.root.resolve())
    users = [u for u in project.cache.users() if u.project != here]
    return {k for u in users for k in u.keys}, len(users)


def cache_summary(project: Project) -> CacheSummary:
    store = project.cache.check()
    stats = store.stats()
    keys = store.keys()
    mine = project_keys(project)
    others, count = _others(project)
    used_here = len(keys & mine)
    used_elsewhere = len((keys & others) - mine)
    text = (f"{store.folder}: {stats.entries} entries, {stats.bytes / 1e6:.1f} MB; {used_here} used by this "
            f"project's built episodes" + (f", {used_elsewhere} only by {count} other project(s)" if count else "")
            + f", {stats.entries - used_here - used_elsewhere} unused")
    return CacheSummary(stats, used_here, used_elsewhere, count, text)


def prune_cache(project: Project, shared: bool, forget_others: bool) -> CacheStats:
    """Delete the entries no built episode uses; a shared cache needs `shared`, and entries only
    other registered projects use go only with `forget_others`."""
    store = project.cache.check()
    if project.shared_cache and not shared:
        raise PipelineError(f"the sentence cache {store.folder} is shared ($EPISODES_CACHE); other projects may "
                            "use its entries: pass --shared to prune it (their registered entries are kept)")
    with output_lock(project.out_dir):
        keep = project_keys(project)
        if not forget_others:
            keep |= _others(project)[0]
        return store.prune(keep)
