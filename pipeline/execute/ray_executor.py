"""Run tasks on a Ray cluster: voice actors that keep their voices loaded, mastering as Ray tasks.

    speak   a `VoiceActor` per CPU of the cluster and per voice, created as the voice is first needed
            and spread over the nodes; each loads its voice once (tasks' cache) and speaks one
            sentence at a time, so a dead actor costs exactly the sentence it held
    finish  a Ray task with one CPU, placed wherever a CPU is free

Actors reserve no CPU (`num_cpus=0`): the driver already runs at most `capacity` (the cluster's CPUs)
tasks at once, and actors holding a CPU each for life would leave none for mastering tasks, which
would then wait forever. A voice's `gpus` share becomes its actors' `num_gpus`. Ray retries nothing
itself (`max_restarts=0`, `max_task_retries=0`, `max_retries=0`): a dead worker's task is reported
`lost` and the driver's retry count stays true; a dead actor is replaced by a new one. A task held
past the hung-task time-out (as for local workers) is stopped the same way: its actor killed, or
the mastering task cancelled. Tasks and results are plain values (numpy arrays, bytes), so nodes
share no file system.
"""

from __future__ import annotations

import os
import socket
import time
from collections import deque
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..errors import PipelineError
from ..settings import VoiceProfile
from . import Outcome, attempt, hung_after_s, limit_threads
from .tasks import SpeakTask

INSTALL_HINT = "pip install -e '.[ray]'"
THREADS = 1
"""Threads per running task: the driver runs one task per CPU of the cluster."""
CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a cluster's address to answer (Ray itself would retry for minutes)."""


class VoiceActor:
    """A Ray actor that speaks sentences; the voices it loads stay loaded for its next sentences."""

    def __init__(self, threads: int) -> None:
        limit_threads(threads)

    def speak(self, task_id: int, task: SpeakTask) -> Outcome:
        return attempt(task_id, task)


def master_remotely(task_id: int, task: Any, threads: int) -> Outcome:
    """A mastering task's body in a Ray worker (a pooled process: limit its threads each time)."""
    limit_threads(threads)
    return attempt(task_id, task)


def import_ray() -> ModuleType:
    """The ray package, quiet (no usage statistics), or an error saying how to install it."""
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    try:
        import ray
    except ImportError as exc:
        raise PipelineError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}") from exc
    return ray


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Fail at once, naming the address, when nothing answers at HOST:PORT (Ray would wait minutes)."""
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and the like: Ray resolves them and fails fast itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise PipelineError(f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start it there "
                            f"with `ray start --head --port {port}`, or give its address with --ray-address") from exc


def connect(ray: ModuleType, address: str | None) -> None:
    """Join the cluster at `address` ("auto", HOST:PORT, $RAY_ADDRESS), or start a local Ray instance."""
    target = address or os.environ.get("RAY_ADDRESS")
    if target:
        check_reachable(target)
    try:
        ray.init(address=target or "local", include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {target}" if target else "a local Ray instance"
        raise PipelineError(f"cannot join {where}: {exc}") from exc


def voice_actors(voice: VoiceProfile, cpus: int, gpus: float) -> int:
    """Actors a voice gets: one per CPU, no more than the cluster's GPUs hold at the voice's share
    (more would wait forever for a GPU, holding their sentences)."""
    if voice.gpus <= 0:
        return cpus
    if voice.gpus > gpus:
        raise PipelineError(f"the voice `{voice.name}` asks for {voice.gpus:g} GPUs per worker (`gpus:`), but the "
                            f"Ray cluster has {gpus:g}", voice.path)
    return max(1, min(cpus, int(gpus / voice.gpus + 1e-9)))


def lost_errors(ray: ModuleType) -> tuple[type[BaseException], ...]:
    """Ray's errors that mean the worker running a task is gone (its task may be run again)."""
    errors = ray.exceptions
    return (errors.RayActorError, errors.WorkerCrashedError, errors.NodeDiedError, errors.ObjectLostError,
            errors.LocalRayletDiedError, errors.OutOfMemoryError)


def one_line(exc: BaseException) -> str:
    """A Ray error in one line for a build's message: the exception Ray wraps, else its first line."""
    cause = getattr(exc, "cause", None)
    shown = cause if isinstance(cause, BaseException) else exc
    first = next((line.strip() for line in str(shown).splitlines() if line.strip()), "")
    return f"{type(shown).__name__}: {first}" if first else type(shown).__name__


@dataclass(eq=False)
class _Actor:
    handle: Any
    task_id: int | None = None
    """The sentence it is speaking, or None when idle."""


class RayExecutor:
    """Voice actors and mastering tasks on a Ray cluster (or a local Ray instance)."""

    def __init__(self, address: str | None):
        self.task_timeout_s = hung_after_s()
        ray = import_ray()
        self._ray = ray
        self._owner = not ray.is_initialized()
        """Whether this executor connected Ray, and so disconnects it on close."""
        if self._owner:
            connect(ray, address)
        resources = ray.cluster_resources()
        nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
        self.capacity = max(1, int(resources.get("CPU", 0)))
        self._gpus = float(resources.get("GPU", 0.0))
        where = f"Ray cluster at {ray.get_runtime_context().gcs_address}" \
            if address or os.environ.get("RAY_ADDRESS") or not self._owner else "local Ray instance"
        self.description = f"{where}: {self.capacity} CPUs on {nodes} node{'s' if nodes != 1 else ''}"
        self._lost = lost_errors(ray)
        self._actor_class = ray.remote(VoiceActor)
        self._master = ray.remote(num_cpus=1, max_retries=0)(master_remotely)
        self._actors: dict[VoiceProfile, list[_Actor]] = {}
        self._waiting: deque[tuple[int, SpeakTask]] = deque()
        """Sentences whose voice has no idle actor yet."""
        self._running: dict[Any, tuple[int, _Actor | None, float]] = {}
        """Result reference -> (task id, the actor speaking it or None for a mastering task, when it
        was handed to Ray in monotonic seconds)."""
        self._ended: list[Outcome] = []
        """Tasks that ended without running (a voice the cluster cannot hold), for the next poll."""
        self._closed = False

    def submit(self, task_id: int, task: Any) -> None:
        if isinstance(task, SpeakTask):
            self._waiting.append((task_id, task))
            self._dispatch()
        else:
            self._start(self._master.remote(task_id, task, THREADS), task_id, None)

    def poll(self, timeout_s: float) -> list[Outcome]:
        ray = self._ray
        outcomes, self._ended = self._ended, []
        if self._running:
            refs = list(self._running)
            ready, _ = ray.wait(refs, num_returns=1, timeout=0 if outcomes else timeout_s)
            if ready:
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            outcomes += [self._collect(ref) for ref in ready]
            outcomes += self._stop_hung()
        self._dispatch()
        return outcomes

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        ray = self._ray
        for ref, (_, actor, _) in self._running.items():
            if actor is None:
                ray.cancel(ref, force=True)
        for actors in self._actors.values():
            for actor in actors:
                ray.kill(actor.handle, no_restart=True)
        self._running.clear()
        self._actors.clear()
        self._waiting.clear()
        if self._owner:
            ray.shutdown()

    # speaking

    def _dispatch(self) -> None:
        """Hand each waiting sentence to an idle actor of its voice, starting actors as they are needed."""
        waiting, self._waiting = self._waiting, deque()
        for task_id, task in waiting:
            try:
                actor = self._idle_actor(task.voice)
            except PipelineError as exc:
                self._ended.append(Outcome(task_id, error=exc))
                continue
            if actor is None:
                self._waiting.append((task_id, task))
                continue
            actor.task_id = task_id
            self._start(actor.handle.speak.remote(task_id, task), task_id, actor)

    def _start(self, ref: Any, task_id: int, actor: _Actor | None) -> None:
        self._running[ref] = (task_id, actor, time.monotonic())

    def _idle_actor(self, voice: VoiceProfile) -> _Actor | None:
        actors = self._actors.setdefault(voice, [])
        idle = next((a for a in actors if a.task_id is None), None)
        if idle is None and len(actors) < voice_actors(voice, self.capacity, self._gpus):
            idle = _Actor(self._actor_class.options(num_cpus=0, num_gpus=voice.gpus, scheduling_strategy="SPREAD",
                                                    max_restarts=0, max_task_retries=0).remote(THREADS))
            actors.append(idle)
        return idle

    # outcomes

    def _stop_hung(self) -> list[Outcome]:
        """Stop every task held past the time-out (a deadlocked engine, a worker that cannot be
        placed): its actor is killed, or the mastering task cancelled, and the task reported lost."""
        now, outcomes = time.monotonic(), []
        for ref in [r for r, (_, _, started) in self._running.items() if now - started > self.task_timeout_s]:
            task_id, actor, _ = self._running.pop(ref)
            if actor is None:
                self._ray.cancel(ref, force=True)
                what = "mastering task"
            else:
                self._retire(actor)
                what = "voice actor"
            outcomes.append(Outcome(task_id, lost=True,
                                    detail=f"Ray {what} gave no answer in {self.task_timeout_s:.0f} s and was stopped"))
        return outcomes

    def _collect(self, ref: Any) -> Outcome:
        task_id, actor, _ = self._running.pop(ref)
        try:
            outcome = self._ray.get(ref)
        except self._lost as exc:
            if actor is not None:
                self._retire(actor)
            return Outcome(task_id, lost=True, detail=one_line(exc))
        except self._ray.exceptions.RayError as exc:
            error = PipelineError(f"Ray could not run the task: {one_line(exc)}")
            return Outcome(task_id, error=error, detail=str(exc))
        finally:
            if actor is not None:
                actor.task_id = None
        return outcome

    def _retire(self, actor: _Actor) -> None:
        """Forget a dead actor (and make sure it is dead); the next sentence of its voice starts another."""
        for voice, actors in self._actors.items():
            self._actors[voice] = [a for a in actors if a is not actor]
        self._ray.kill(actor.handle, no_restart=True)
