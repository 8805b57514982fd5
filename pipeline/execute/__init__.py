"""Executors: where the build's work runs, behind one small interface.

The driver (pipeline.driver) plans, hands out tasks (pipeline.execute.tasks: plain values in, plain
values out) and is the only one that reads the cache and writes out/. An executor runs at most
`capacity` tasks at once and reports each as it ends:

    inline  in the driver's own process (`--jobs 1`)
    local   worker processes on this machine, each keeping the voices it loaded (default)
    ray     voice actors and mastering tasks on a Ray cluster (`--executor ray`)

A task whose worker died, or held it past its hung-task time-out (`HungTimer`), is reported
`lost`; the driver runs it once more, then fails only the episodes that needed it. A task lost
with its Ray node (`Outcome.node_lost`) is not its own fault: the driver runs it again without
counting it, up to NODE_RERUNS times. What the producer should hear of beyond single tasks (a node
lost) an executor says in `notices()`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import PipelineError
from .base import (
    MIN_TIMEOUT_S,
    NODE_RERUNS,
    TASK_TIMEOUT_S,
    TIMEOUT_FACTOR,
    Executor,
    HungTimer,
    Outcome,
    attempt,
    hung_after_s,
    limit_threads,
    task_kind,
)

__all__ = ["MIN_TIMEOUT_S", "NODE_RERUNS", "TASK_TIMEOUT_S", "TIMEOUT_FACTOR", "Executor", "HungTimer", "Outcome",
           "attempt", "available_memory_gb", "default_workers", "hung_after_s", "limit_threads", "make_executor",
           "task_kind"]


def available_memory_gb() -> float:
    """Memory the system can give without swapping: MemAvailable on Linux (free memory plus what
    the page cache can release), else the free pages."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1e6
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 1e9
    except (ValueError, OSError, AttributeError):
        return 4.0


def default_workers(memory_gb_per_voice: float, jobs: int | None) -> int:
    """`jobs` when the producer gave it; else one worker per core, no more than half the available
    memory holds with each worker's voice loaded (the rest is left for mastering)."""
    if jobs:
        return jobs
    by_memory = max(1, int(available_memory_gb() / 2 / max(memory_gb_per_voice + 0.3, 0.1)))
    return max(1, min(os.cpu_count() or 1, by_memory))


def make_executor(kind: str, workers: int, ray_address: str | None = None) -> Executor:
    """The executor a build asked for."""
    if kind == "ray":
        from .ray_executor import RayExecutor

        return RayExecutor(ray_address)
    if kind != "local":
        raise PipelineError(f"unknown executor {kind!r} (known: local, ray)")
    if workers <= 1:
        from .local import InlineExecutor

        return InlineExecutor()
    from .local import LocalExecutor

    return LocalExecutor(workers, max(1, (os.cpu_count() or 1) // workers))
