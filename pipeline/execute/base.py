"""The executors' common ground: how a task's end is reported (`Outcome`), how a task runs where
an executor runs it (`attempt`), and when a task counts as hung (`HungTimer`)."""

from __future__ import annotations

import bisect
import math
import os
import traceback
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import ConfigError, PipelineError

TASK_TIMEOUT_S = 600.0
"""The hung-task time-out of a kind of task none of which has ended yet (a worker's first sentence
includes loading its voice, which a large model may take minutes to do)."""
MIN_TIMEOUT_S = 30.0
TIMEOUT_FACTOR = 20.0
"""Once tasks of a kind have ended, one of that kind is hung after TIMEOUT_FACTOR times their
median time, and never sooner than MIN_TIMEOUT_S (a sentence or a mastering pass takes seconds)."""
NODE_RERUNS = 3
"""Times a task lost with its node is run again before such losses count as its own (a task that
kills every node it runs on, by exhausting its memory, must still end)."""


def hung_after_s() -> float | None:
    """The hung-task time-out the producer fixed ($EPISODES_TASK_TIMEOUT_S, a positive number of
    seconds), or None: then it is learned from the tasks' times (`HungTimer`)."""
    given = os.environ.get("EPISODES_TASK_TIMEOUT_S", "").strip()
    if not given:
        return None
    try:
        seconds = float(given)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < math.inf:  # also refuses "nan"
        raise ConfigError(f"$EPISODES_TASK_TIMEOUT_S must be a positive number of seconds (got {given!r})")
    return seconds


def task_kind(task: Any, fresh: bool) -> str:
    """What a task does, as the hung-task time-out groups tasks: "speak" or "finish", "first ..."
    on a worker that has not done it yet (loading a voice, importing the mastering code)."""
    from .tasks import SpeakTask

    kind = "speak" if isinstance(task, SpeakTask) else "finish"
    return f"first {kind}" if fresh else kind


class HungTimer:
    """When a running task is taken as hung: after max(MIN_TIMEOUT_S, TIMEOUT_FACTOR x the median
    time of the tasks of its kind that ended), or TASK_TIMEOUT_S while none has;
    $EPISODES_TASK_TIMEOUT_S fixes it for every kind. One rule for every executor."""

    def __init__(self, fixed_s: float | None = None) -> None:
        self.fixed_s = fixed_s if fixed_s is not None else hung_after_s()
        self._times: dict[str, list[float]] = {}
        """Seconds each ended task of a kind took, sorted."""

    def ended(self, kind: str, seconds: float) -> None:
        """A task of this kind ended with a result after `seconds`."""
        bisect.insort(self._times.setdefault(kind, []), seconds)

    def limit_s(self, kind: str) -> float:
        """Seconds after which a running task of this kind is hung."""
        if self.fixed_s is not None:
            return self.fixed_s
        times = self._times.get(kind)
        if not times:
            return TASK_TIMEOUT_S
        middle = len(times) // 2
        median = times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2
        return max(MIN_TIMEOUT_S, TIMEOUT_FACTOR * median)


@dataclass(frozen=True)
class Outcome:
    """How one task ended."""

    task_id: int
    value: Any = None
    error: PipelineError | None = None
    lost: bool = False
    """The worker running it died (killed, out of memory, crashed) or held it past the time-out."""
    node_lost: bool = False
    """Lost with the whole node that ran it (a Ray node died): not the task's fault, so the driver
    runs it again without counting a retry, up to NODE_RERUNS times."""
    detail: str = ""
    """The worker's traceback, for --debug."""


class Executor(Protocol):
    capacity: int
    """Tasks it runs at once."""
    description: str
    """Where the work runs, in words, for the progress display."""

    def submit(self, task_id: int, task: Any) -> None:
        """Start a task; only called while fewer than `capacity` are running."""

    def poll(self, timeout_s: float) -> list[Outcome]:
        """Tasks that ended, waiting up to `timeout_s` for the first."""

    def notices(self) -> list[str]:
        """What the producer should hear of since the last call, beyond single tasks (a Ray node
        that died, one that joined), as plain sentences."""

    def close(self) -> None:
        """Stop every worker (also on Ctrl-C), promptly and quietly; safe to call twice."""


def attempt(task_id: int, task: Any) -> Outcome:
    """Run one task where the executor runs it; its error comes back as a value (file and line
    kept, the traceback for --debug), never raised."""
    from .tasks import run

    try:
        return Outcome(task_id, value=run(task))
    except Exception as exc:
        detail = "".join(traceback.format_exception(exc))
        if isinstance(exc, PipelineError):
            return Outcome(task_id, error=exc, detail=detail)
        return Outcome(task_id, error=PipelineError(f"unexpected error: {exc!r}"), detail=detail)


def limit_threads(threads: int) -> None:
    """Give this process its share of the cores, before any numerical library starts its pools."""
    for name in ("EPISODES_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(threads)
