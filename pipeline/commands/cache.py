"""`episodes cache`: the sentence cache's size and users, and pruning what nobody uses.

Pruning holds this project's output lock and the cache's own lock (so no build anywhere is writing
to it), and never deletes an entry that a built episode of this project, or of another project
registered in a shared cache, was assembled from, unless the producer says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..cache import CacheStats
from ..errors import PipelineError
from ..files import output_lock
from ..project import Project
from ..state import open_store


@dataclass(frozen=True)
class CacheSummary:
    folder: str
    stats: CacheStats
    used_here: int
    used_elsewhere: int
    other_projects: int

    @property
    def unused(self) -> int:
        return self.stats.entries - self.used_here - self.used_elsewhere


def _mine(project: Project) -> set[str]:
    store = open_store(project.out_dir, write=False)
    try:
        return store.cache_keys()
    finally:
        store.close()


def _others(project: Project) -> tuple[set[str], int]:
    here = str(project.root.resolve())
    users = [u for u in project.cache.users() if u.project != here]
    return {k for u in users for k in u.keys}, len(users)


def cache_summary(project: Project) -> CacheSummary:
    cache = project.cache.check()
    keys = cache.stored_keys()
    mine = _mine(project)
    others, count = _others(project)
    return CacheSummary(str(cache.folder), cache.stats(), len(keys & mine), len((keys & others) - mine), count)


def prune_cache(project: Project, shared: bool, forget_others: bool) -> CacheStats:
    """Delete the entries no built episode uses; a shared cache needs `shared`, and entries only
    other registered projects use go only with `forget_others`."""
    cache = project.cache.check()
    if project.shared_cache and not shared:
        raise PipelineError(f"the sentence cache {cache.folder} is shared ($EPISODES_CACHE); other projects may "
                            "use its entries: pass --shared to prune it (their registered entries are kept)")
    with output_lock(project.out_dir):
        keep = _mine(project)
        if not forget_others:
            keep |= _others(project)[0]
        return cache.prune(keep)
