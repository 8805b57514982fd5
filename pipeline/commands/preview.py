"""`episodes preview`: build one episode into out/<series>/preview/ while writing it.

The release file, the series' results, feed and pages are untouched: the preview has its own
place in the store (`<series>/preview`) and its own manifest export beside it. Sentences go
through the cache as in a build, so the release build after it speaks nothing again.
"""

from __future__ import annotations

import dataclasses

from ..driver.commits import Driver
from ..driver.publishing import export_preview
from ..events import Emit, ignore
from ..execute import make_executor
from ..files import ensure_folder, output_lock
from ..fingerprint import Memo
from ..manifest import EpisodeResult
from ..plan import BuildOptions, EpisodeJob, plan_build
from ..project import Project, load_catalog, one_episode, select
from ..state import open_store


def preview(project: Project, target: str, options: BuildOptions,
            emit: Emit = ignore) -> tuple[EpisodeJob, EpisodeResult]:
    """Build one episode into its series' preview folder; returns its job and its result."""
    catalog = load_catalog(project)
    _entry, episode = one_episode(catalog, target)
    selection = select(catalog, [str(episode.path)])
    ensure_folder(project.out_dir)
    with output_lock(project.out_dir):
        store = open_store(project.out_dir)
        try:
            memo = Memo(store)
            options = dataclasses.replace(options, force=True)
            plan = plan_build(project, catalog, selection, options, memo, store)
            if plan.errors:
                raise plan.errors[0]
            step = plan.steps[0]
            folder = step.job.out_path.parent / "preview"
            job = dataclasses.replace(step.job, out_path=folder / step.job.file,
                                      store_key=f"{step.job.series.slug}/preview")
            plan.steps = [dataclasses.replace(step, job=job)]
            plan.entries = {job.store_key: store.episodes(job.store_key)}
            cache = project.cache.check()
            driver = Driver(project, catalog, plan, options, store, emit)
            with cache.in_use():
                driver.run(lambda steps: make_executor("local", 1))
            export_preview(folder, job.series, plan.entries[job.store_key], project.staging_dir)
            memo.save()
        finally:
            store.close()
    return job, driver.results[job.label]
