"""`episodes list`: every episode with its status, approval and measured figures, from the store."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import PipelineError
from ..manifest import EpisodeResult
from ..plan import BuildOptions
from ..project import Project
from ..state import open_store
from .approval import holds
from .build import dry_run
from .estimate import Estimate, estimates_of


@dataclass(frozen=True)
class EpisodeRow:
    label: str
    """`series/NN-slug`, the name every command accepts."""
    title: str
    status: str
    """"built", "stale" or "missing"."""
    reason: str
    """Why a stale episode would be rebuilt."""
    result: EpisodeResult | None
    """Its last result with audio, for the figures."""
    approved: bool = False
    """Built, up to date, and approved by the producer as it sounds now (`episodes approve`, the studio)."""
    estimate: Estimate | None = None
    """Its words and length as written now (`episodes estimate`)."""


@dataclass
class Listing:
    rows: list[EpisodeRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[PipelineError] = field(default_factory=list)


def list_episodes(project: Project) -> Listing:
    plan = dry_run(project, [], BuildOptions())
    listing = Listing(warnings=plan.warnings, errors=plan.errors)
    estimates = estimates_of(plan)
    store = open_store(project.out_dir, write=False)
    try:
        approvals = {slug: store.approvals(slug) for slug in {s.job.series.slug for s in plan.steps}}
    finally:
        store.close()
    for step in plan.steps:
        job, entry = step.job, step.previous
        if not job.out_path.exists():
            status = "missing"
        elif not step.stages:
            status = "built"
        else:
            status = "stale"
        figures = entry if entry is not None and entry.has_audio else None
        approved = status == "built" and holds(approvals[job.series.slug].get(job.file), entry)
        listing.rows.append(EpisodeRow(job.label, job.episode.title, status, step.reason, figures, approved,
                                       estimates[job.label]))
    return listing
