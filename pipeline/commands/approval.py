"""`episodes approve`: the producer's sign-off on an episode's audio as it is now.

An approval is tied to the audio's fingerprint (fingerprint.approval_fingerprint: the audio key and
the sentence-cache entries the MP3 was assembled from). It holds while the episode's audio is that
audio: any change that alters it (an edited sentence, a lexicon entry, another take, a voice or a
setting) leaves the episode unapproved until the producer listens and approves again; re-tagging
does not. `episodes list` and the studio show it; `episodes publish --approved-only` publishes only
approved episodes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ..errors import PipelineError
from ..files import ensure_folder, output_lock
from ..fingerprint import approval_fingerprint
from ..manifest import EpisodeResult
from ..outputs import AUDIO
from ..plan import BuildOptions, mp3_matches
from ..project import Project
from ..state import Approval, open_store
from .build import dry_run


def holds(approval: Approval | None, result: EpisodeResult | None) -> bool:
    """Whether an approval still names the episode's audio as last built."""
    fingerprint = approval_fingerprint(result)
    return approval is not None and fingerprint is not None and approval.audio_sha256 == fingerprint


@dataclass(frozen=True)
class ApprovalReport:
    label: str
    approved: bool
    approved_at: str | None
    fingerprint: str


def approve(project: Project, target: str, withdraw: bool = False) -> ApprovalReport:
    """Approve one episode's audio as built (or withdraw its approval). The episode must be built
    and its audio up to date: what is approved is what was heard. Holds the output lock."""
    plan = dry_run(project, [target], BuildOptions())
    if plan.errors:
        raise plan.errors[0]
    if len(plan.steps) != 1:
        names = ", ".join(s.job.label for s in plan.steps)
        raise PipelineError(f"{target!r} matches {len(plan.steps)} episodes ({names}); name one of them")
    step = plan.steps[0]
    job = step.job
    ensure_folder(project.out_dir)
    with output_lock(project.out_dir):
        store = open_store(project.out_dir)
        try:
            if withdraw:
                store.withdraw(job.series.slug, job.file)
                return ApprovalReport(job.label, False, None, "")
            result = store.episodes(job.series.slug).get(job.file)
            if result is None or not result.has_audio or not mp3_matches(job.out_path, result):
                raise PipelineError(f"{job.label} is not built as the store knows it ({step.reason}): build it, "
                                    "listen to it, then approve it", job.episode.path)
            if AUDIO in step.stages or result.keys.get(AUDIO) != job.keys[AUDIO]:
                raise PipelineError(f"{job.label} must be rebuilt before it is approved ({step.reason}): its audio "
                                    "would change", job.episode.path)
            approval = Approval(job.series.slug, job.file, approval_fingerprint(result) or "",
                                dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))
            store.approve(approval)
            return ApprovalReport(job.label, True, approval.approved_at, approval.audio_sha256)
        finally:
            store.close()
