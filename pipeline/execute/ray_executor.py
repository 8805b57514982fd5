"""Run tasks on a Ray cluster: voice actors that keep their voices loaded, mastering as Ray tasks.

    speak   a `VoiceActor` per voice and CPU of a node, created as the voice is first needed there;
            each loads its voice once (tasks' cache) and speaks one sentence at a time, so a dead
            actor costs exactly the sentence it held
    finish  a Ray task with one CPU

The executor places every task itself, on a live node with a CPU it is not using (node affinity),
so it always knows which tasks a node holds; its capacity is the live nodes' CPUs. Actors reserve
no CPU (`num_cpus=0`): the executor's own count keeps one task per CPU, and actors holding a CPU
each for life would leave none for mastering tasks. A voice's `gpus` share becomes its actors'
`num_gpus`, so only nodes with GPUs speak it. Ray retries nothing itself (`max_restarts=0`,
`max_task_retries=0`, `max_retries=0`): a dead worker's task is reported `lost` and the driver's
retry count stays true; a dead actor is replaced by a new one.

A dead node: every second the executor asks the cluster which nodes are alive (Ray marks a node
dead after about 15 s of missed health checks) and knocks at the raylet of each node it uses (a
refused connection means the raylet is gone: seen within a second). The tasks a dead node held are
reported lost with `node_lost` at once, its actors forgotten, nothing more is placed there, and a
notice says so. A task held past the hung-task time-out (`HungTimer`) is stopped: its actor
killed, or the mastering task cancelled. Tasks and results are plain values (numpy arrays, bytes),
so nodes share no file system.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ..errors import PipelineError
from ..settings import VoiceProfile
from .base import HungTimer, Outcome, attempt, limit_threads, task_kind
from .tasks import SpeakTask

INSTALL_HINT = "pip install -e '.[ray]'"
THREADS = 1
"""Threads per running task: the driver runs one task per CPU of the cluster."""
CONNECT_TIMEOUT_S = 5.0
"""How long to wait for a cluster's address to answer (Ray itself would retry for minutes)."""
LIVENESS_EVERY_S = 1.0
"""How often the executor checks that the nodes it uses are alive (one call to the cluster's
control store, and one connection attempt per node it uses)."""
KNOCK_TIMEOUT_S = 0.5
"""How long a knock at a raylet waits; a node that does not answer in time is left to Ray's check."""

logger = logging.getLogger(__name__)


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
    """Join the cluster at `address` ("auto", HOST:PORT, $RAY_ADDRESS), or start a local Ray instance.

    `ray.init` replaces the process's SIGTERM handler (with one that exits with status 15, and
    Ray's native one that first prints a crash report): the handler it found is put back, so a
    SIGTERM ends a Ray build as it ends a local one. Ray's driver also prints the cluster's error
    messages (a dead node's last raylet log lines) to stdout: they go to this module's log instead,
    since the executor tells what matters in `notices()`."""
    target = address or os.environ.get("RAY_ADDRESS")
    if target:
        check_reachable(target)
    main = threading.current_thread() is threading.main_thread()
    on_term = signal.getsignal(signal.SIGTERM) if main else None
    try:
        ray.init(address=target or "local", include_dashboard=False, log_to_driver=False, configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"the Ray cluster at {target}" if target else "a local Ray instance"
        raise PipelineError(f"cannot join {where}: {exc}") from exc
    finally:
        if on_term is not None:
            signal.signal(signal.SIGTERM, on_term)
    driver = sys.modules.get("ray._private.worker")
    if driver is not None and hasattr(driver, "print_to_stdstream"):
        driver.print_to_stdstream = log_ray_message  # what its error-listening thread prints with


def log_ray_message(data: dict[str, Any], ignore_prefix: bool = False) -> None:
    """A message Ray's driver would print (an error on the cluster), to the log at debug level."""
    for line in data.get("lines", []):
        logger.debug("Ray (%s): %s", data.get("pid", "?"), line)


@dataclass(frozen=True)
class Node:
    """A live node of the cluster, as the executor uses it."""

    node_id: str
    address: str
    port: int
    """Its raylet's port (0 when Ray did not say)."""
    cpus: int
    gpus: float

    @property
    def name(self) -> str:
        return f"{self.node_id[:8]} ({self.address})"


def live_nodes(ray: ModuleType) -> dict[str, Node]:
    """The nodes Ray holds alive that have a CPU to run tasks on, by node id."""
    nodes = {}
    for info in ray.nodes():
        resources = info.get("Resources") or {}
        if info.get("Alive") and int(resources.get("CPU", 0)) > 0:
            nodes[info["NodeID"]] = Node(info["NodeID"], str(info.get("NodeManagerAddress", "?")),
                                         int(info.get("NodeManagerPort") or 0), int(resources.get("CPU", 0)),
                                         float(resources.get("GPU", 0.0)))
    return nodes


def knock(node: Node, timeout_s: float = KNOCK_TIMEOUT_S) -> bool | None:
    """Whether the node's raylet takes a connection: False when it is refused (nothing listens
    there: the raylet is gone; the driver must reach every raylet for Ray to work, so no firewall
    stands between them), None when no answer came in time or Ray gave no port (a machine down, a
    slow network: Ray's own health check decides)."""
    if not node.port:
        return None
    try:
        socket.create_connection((node.address, node.port), timeout=timeout_s).close()
    except ConnectionRefusedError:
        return False
    except OSError:
        return None
    return True


def check_voice_fits(voice: VoiceProfile, nodes: list[Node]) -> None:
    """Fail naming the voice when no node has the GPUs one of its actors asks for (its sentences
    would wait forever)."""
    most = max((node.gpus for node in nodes), default=0.0)
    if voice.gpus > 0 and voice.gpus > most + 1e-9:
        raise PipelineError(f"the voice `{voice.name}` asks for {voice.gpus:g} GPUs per worker (`gpus:`), but no "
                            f"node of the Ray cluster has more than {most:g}", voice.path)


def lost_errors(ray: ModuleType) -> tuple[type[BaseException], ...]:
    """Ray's errors that mean the worker or node running a task is gone (its task may be run again)."""
    errors = ray.exceptions
    return (errors.RayActorError, errors.WorkerCrashedError, errors.NodeDiedError, errors.ObjectLostError,
            errors.LocalRayletDiedError, errors.OutOfMemoryError, errors.ActorUnschedulableError,
            errors.TaskUnschedulableError)


def one_line(exc: BaseException) -> str:
    """A Ray error in one line for a build's message: the exception Ray wraps, else its first line."""
    cause = getattr(exc, "cause", None)
    shown = cause if isinstance(cause, BaseException) else exc
    first = next((line.strip() for line in str(shown).splitlines() if line.strip()), "")
    return f"{type(shown).__name__}: {first}" if first else type(shown).__name__


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(eq=False)
class _Actor:
    handle: Any
    voice: VoiceProfile
    node_id: str
    task_id: int | None = None
    """The sentence it is speaking, or None when idle."""
    warm: bool = False
    """It has spoken a sentence (its voice is loaded)."""


@dataclass
class _Run:
    """A task handed to Ray."""

    task_id: int
    node_id: str
    kind: str
    """Its `task_kind`, for the hung-task time-out."""
    started: float
    """When it was handed to Ray (monotonic seconds)."""
    actor: _Actor | None = None
    """The actor speaking it, or None for a mastering task."""


class RayExecutor:
    """Voice actors and mastering tasks on a Ray cluster (or a local Ray instance)."""

    def __init__(self, address: str | None):
        self.timer = HungTimer()
        ray = import_ray()
        self._ray = ray
        self._owner = not ray.is_initialized()
        """Whether this executor connected Ray, and so disconnects it on close."""
        if self._owner:
            connect(ray, address)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        self._affinity = NodeAffinitySchedulingStrategy
        self._nodes = {node_id: node for node_id, node in live_nodes(ray).items() if knock(node) is not False}
        """The live nodes the executor places tasks on, by node id."""
        where = f"Ray cluster at {ray.get_runtime_context().gcs_address}" \
            if address or os.environ.get("RAY_ADDRESS") or not self._owner else "local Ray instance"
        if not self.capacity:
            if self._owner:
                ray.shutdown()
            raise PipelineError(f"the {where} has no CPU to run tasks on")
        self.description = f"{where}: {self.capacity} CPUs on {plural(len(self._nodes), 'node')}"
        self._gone: set[str] = set()
        """Nodes found dead (Ray may hold one alive for seconds more): never used again."""
        self._checked = time.monotonic()
        self._lost = lost_errors(ray)
        self._actor_class = ray.remote(VoiceActor)
        self._master = ray.remote(num_cpus=1, max_retries=0)(master_remotely)
        self._actors: list[_Actor] = []
        self._waiting: deque[tuple[int, Any]] = deque()
        """Tasks not yet placed: no node has a free CPU (or a free GPU share) for them."""
        self._running: dict[Any, _Run] = {}
        """Result reference -> the task it will hold."""
        self._ended: list[Outcome] = []
        """Tasks that ended without running (a voice no node can hold), for the next poll."""
        self._notices: list[str] = []
        self._closed = False

    @property
    def capacity(self) -> int:
        """The live nodes' CPUs: it follows nodes that die or join."""
        return sum(node.cpus for node in self._nodes.values())

    def submit(self, task_id: int, task: Any) -> None:
        self._waiting.append((task_id, task))
        self._dispatch()

    def poll(self, timeout_s: float) -> list[Outcome]:
        ray = self._ray
        outcomes, self._ended = self._ended, []
        ended: list[tuple[_Run, Outcome]] = []
        if self._running:
            refs = list(self._running)
            ready, _ = ray.wait(refs, num_returns=1, timeout=0 if outcomes else timeout_s)
            if ready:
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
            ended = [self._collect(ref) for ref in ready]
        elif self._waiting and not outcomes:
            time.sleep(timeout_s)  # nothing runs to wait on: the driver must not spin
        dead = self._check_nodes({run.node_id for run, outcome in ended if outcome.lost})
        for run, outcome in ended:
            node = dead.get(run.node_id)
            if outcome.lost and node is not None:  # its actor died with the node
                outcome = dataclasses.replace(outcome, node_lost=True, detail=f"Ray node {node.name} died")
            outcomes.append(outcome)
        for node in dead.values():
            outcomes += self._lose(node, sum(1 for run, o in ended if o.lost and run.node_id == node.node_id))
        outcomes += self._stop_hung()
        self._dispatch()
        return outcomes

    def notices(self) -> list[str]:
        notices, self._notices = self._notices, []
        return notices

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        ray = self._ray
        for ref, run in self._running.items():
            if run.actor is None:
                ray.cancel(ref, force=True)
        for actor in self._actors:
            ray.kill(actor.handle, no_restart=True)
        if self._owner:
            ray.shutdown()

    # placing tasks

    def _dispatch(self) -> None:
        """Place each waiting task on a node with a free CPU, if there is one."""
        waiting, self._waiting = self._waiting, deque()
        for task_id, task in waiting:
            try:
                placed = self._place(task_id, task)
            except PipelineError as exc:
                self._ended.append(Outcome(task_id, error=exc))
                continue
            if not placed:
                self._waiting.append((task_id, task))

    def _free_nodes(self) -> list[Node]:
        """Live nodes with a CPU this executor does not use, the least used first."""
        busy = dict.fromkeys(self._nodes, 0)
        for run in self._running.values():
            busy[run.node_id] = busy.get(run.node_id, 0) + 1
        free = [node for node in self._nodes.values() if busy[node.node_id] < node.cpus]
        return sorted(free, key=lambda node: busy[node.node_id] / node.cpus)

    def _place(self, task_id: int, task: Any) -> bool:
        free = self._free_nodes()
        if isinstance(task, SpeakTask):
            return self._speak(task_id, task, free)
        if not free:
            return False
        node = free[0]
        ref = self._master.options(scheduling_strategy=self._affinity(node.node_id, soft=False)).remote(
            task_id, task, THREADS)
        self._running[ref] = _Run(task_id, node.node_id, task_kind(task, False), time.monotonic())
        return True

    def _speak(self, task_id: int, task: SpeakTask, free: list[Node]) -> bool:
        """Hand a sentence to an idle actor of its voice on a free node, starting one if none is idle."""
        voice = task.voice
        check_voice_fits(voice, list(self._nodes.values()))
        actor = next((a for node in free for a in self._actors
                      if a.node_id == node.node_id and a.voice == voice and a.task_id is None), None)
        if actor is None:
            node = next((node for node in free if self._make_room(node, voice)), None)
            if node is None:
                return False
            actor = _Actor(self._actor_class.options(
                num_cpus=0, num_gpus=voice.gpus, scheduling_strategy=self._affinity(node.node_id, soft=False),
                max_restarts=0, max_task_retries=0).remote(THREADS), voice, node.node_id)
            self._actors.append(actor)
        actor.task_id = task_id
        self._running[actor.handle.speak.remote(task_id, task)] = _Run(
            task_id, actor.node_id, task_kind(task, not actor.warm), time.monotonic(), actor)
        return True

    def _make_room(self, node: Node, voice: VoiceProfile) -> bool:
        """Whether the node can take one more actor of this voice: one per CPU, and the GPU share
        it asks for (idle actors of other voices are stopped to free theirs)."""
        here = [a for a in self._actors if a.node_id == node.node_id]
        if sum(1 for a in here if a.voice == voice) >= node.cpus:
            return False
        if voice.gpus <= 0:
            return True
        free_gpus = node.gpus - sum(a.voice.gpus for a in here)
        idle = [a for a in here if a.task_id is None and a.voice.gpus > 0 and a.voice != voice]
        if free_gpus + sum(a.voice.gpus for a in idle) < voice.gpus - 1e-9:
            return False
        for actor in idle:
            if free_gpus >= voice.gpus - 1e-9:
                break
            self._retire(actor)
            free_gpus += actor.voice.gpus
        return True

    # outcomes

    def _collect(self, ref: Any) -> tuple[_Run, Outcome]:
        run = self._running.pop(ref)
        actor = run.actor
        try:
            outcome = self._ray.get(ref)
        except self._lost as exc:
            if actor is not None:
                self._retire(actor)
            return run, Outcome(run.task_id, lost=True, detail=one_line(exc))
        except self._ray.exceptions.RayError as exc:
            if actor is not None:
                actor.task_id = None
            error = PipelineError(f"Ray could not run the task: {one_line(exc)}")
            return run, Outcome(run.task_id, error=error, detail=str(exc))
        if actor is not None:
            actor.task_id = None
            actor.warm = True
        if outcome.error is None:
            self.timer.ended(run.kind, time.monotonic() - run.started)
        return run, outcome

    def _stop_hung(self) -> list[Outcome]:
        """Stop every task held past its time-out (a deadlocked engine, a worker that cannot be
        placed): its actor is killed, or the mastering task cancelled, and the task reported lost."""
        now, outcomes = time.monotonic(), []
        for ref, run in list(self._running.items()):
            limit_s = self.timer.limit_s(run.kind)
            if now - run.started <= limit_s:
                continue
            del self._running[ref]
            if run.actor is None:
                self._ray.cancel(ref, force=True)
                what = "mastering task"
            else:
                self._retire(run.actor)
                what = "voice actor"
            outcomes.append(Outcome(run.task_id, lost=True,
                                    detail=f"Ray {what} gave no answer in {limit_s:.0f} s and was stopped"))
        return outcomes

    # nodes

    def _check_nodes(self, suspects: set[str]) -> dict[str, Node]:
        """The nodes found dead since the last check, which runs every LIVENESS_EVERY_S, or at once
        when there are `suspects` (nodes where a task was just lost); nodes that joined are added."""
        now = time.monotonic()
        if not suspects and now - self._checked < LIVENESS_EVERY_S:
            return {}
        self._checked = now
        alive = live_nodes(self._ray)
        used = {run.node_id for run in self._running.values()} | {a.node_id for a in self._actors} | suspects
        dead = {}
        for node_id, node in list(self._nodes.items()):
            if node_id not in alive or (node_id in used and knock(node) is False):
                dead[node_id] = self._nodes.pop(node_id)
        self._gone.update(dead)
        for node_id, node in alive.items():
            if node_id not in self._nodes and node_id not in self._gone and knock(node) is not False:
                self._nodes[node_id] = node
                self._notices.append(f"Ray node {node.name} joined: {plural(node.cpus, 'CPU')} more, "
                                     f"{plural(self.capacity, 'CPU')} in all")
        if dead and not self._nodes:
            names = ", ".join(node.name for node in dead.values())
            raise PipelineError(f"every node of the Ray cluster is gone (last: {names}); the build cannot go on")
        return dead

    def _lose(self, node: Node, collected: int) -> list[Outcome]:
        """A node died: every task it held is lost with it, its actors forgotten."""
        outcomes = []
        for ref, run in [(ref, run) for ref, run in self._running.items() if run.node_id == node.node_id]:
            del self._running[ref]
            if run.actor is None:
                self._ray.cancel(ref, force=True)
            outcomes.append(Outcome(run.task_id, lost=True, node_lost=True, detail=f"Ray node {node.name} died"))
        for actor in [a for a in self._actors if a.node_id == node.node_id]:
            self._retire(actor)
        count = len(outcomes) + collected
        left = f"{plural(len(self._nodes), 'node')} ({plural(self.capacity, 'CPU')})"
        if count:
            told = f"its {plural(count, 'running task')} {'goes' if count == 1 else 'go'} to the remaining {left}"
        else:
            told = f"it ran none of this build's tasks; {left} left"
        self._notices.append(f"Ray node {node.name} died: {told}")
        return outcomes

    def _retire(self, actor: _Actor) -> None:
        """Forget a dead actor (and make sure it is dead); the next sentence of its voice starts another."""
        self._actors = [a for a in self._actors if a is not actor]
        self._ray.kill(actor.handle, no_restart=True)
