"""Run tasks on this machine: in the driver's process, or in worker processes.

Each worker is a process started with `spawn` (no state forked from the driver: safe on macOS, and
the output lock's descriptor is not inherited), with its share of the cores and one pipe to the
driver. It runs one task at a time, so the driver always knows which task a dead worker held: that
task alone is reported lost, and the worker is replaced; so is a worker that holds a task past the
hung-task time-out (`HungTimer`: far longer than tasks of its kind take). Workers ignore Ctrl-C
(the driver decides what an interrupt means) and die with the driver: on Linux the kernel kills
them when it exits, and everywhere they stop when their pipe closes or their parent changes.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from typing import Any

from .base import HungTimer, Outcome, attempt, limit_threads, task_kind
from .tasks import SpeakTask


class InlineExecutor:
    """Runs each task in the driver's process when it is polled (`--jobs 1`)."""

    capacity = 1
    description = "this process"

    def __init__(self) -> None:
        self._pending: list[tuple[int, Any]] = []

    def submit(self, task_id: int, task: Any) -> None:
        self._pending.append((task_id, task))

    def poll(self, timeout_s: float) -> list[Outcome]:
        outcomes = [attempt(task_id, task) for task_id, task in self._pending]
        self._pending.clear()
        return outcomes

    def notices(self) -> list[str]:
        return []

    def close(self) -> None:
        self._pending.clear()


def _die_with_parent(parent: int) -> None:
    """Exit when the driver is gone, however it went."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:
        os._exit(1)


def _serve(conn: Connection, threads: int, parent: int) -> None:
    """A worker's life: take a task, run it, send back the outcome; stop when the pipe closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads(threads)
    _die_with_parent(parent)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        outcome = attempt(*message)
        try:
            conn.send(outcome)
        except (BrokenPipeError, OSError):
            return


def _duty(task: Any) -> str:
    """What a worker must have done before to do this task warm: speak its voice, or master."""
    return task.identity if isinstance(task, SpeakTask) else "finish"


@dataclass
class _Worker:
    process: Any
    conn: Connection
    task_id: int | None = None
    started: float = 0.0
    """When it took its task (monotonic seconds)."""
    duty: str = ""
    kind: str = ""
    """Its task's duty (`_duty`) and kind (`task_kind`)."""
    done: set[str] = field(default_factory=set)
    """Duties it has done: the voices it holds loaded, "finish" once it has mastered."""


class LocalExecutor:
    """A fixed set of worker processes, started on first use and replaced when one dies."""

    def __init__(self, workers: int, threads: int, task_timeout_s: float | None = None):
        self.capacity = workers
        self.timer = HungTimer(task_timeout_s)
        self.description = f"{workers} worker processes"
        self._threads = threads
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(theirs, self._threads, os.getpid()), daemon=True,
                                        name="episodes-worker")
        if threading.current_thread() is not threading.main_thread():
            process.start()  # (a build in the studio's thread: the child ignores Ctrl-C itself, in _serve)
        else:
            interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)  # the child starts ignoring Ctrl-C too
            try:
                process.start()
            finally:
                signal.signal(signal.SIGINT, interrupt)
        theirs.close()
        worker = _Worker(process, ours)
        self._workers.append(worker)
        return worker

    def submit(self, task_id: int, task: Any) -> None:
        for idle in [w for w in self._workers if w.task_id is None and not w.process.is_alive()]:
            self._retire(idle)  # died between tasks (out of memory): not this task's fault
        worker = next((w for w in self._workers if w.task_id is None), None)
        if worker is None:
            worker = self._start()
        worker.task_id = task_id
        worker.started = time.monotonic()
        worker.duty = _duty(task)
        worker.kind = task_kind(task, worker.duty not in worker.done)
        try:
            worker.conn.send((task_id, task))
        except (BrokenPipeError, OSError):
            pass  # the worker died before taking it; poll() reports the task lost

    def poll(self, timeout_s: float) -> list[Outcome]:
        busy = [w for w in self._workers if w.task_id is not None]
        if not busy:
            return []
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout_s))
        outcomes = []
        for worker in busy:
            if worker.conn in ready:
                try:
                    outcome = worker.conn.recv()
                except (EOFError, OSError):
                    pass
                else:
                    outcomes.append(outcome)
                    if outcome.error is None:
                        self.timer.ended(worker.kind, time.monotonic() - worker.started)
                    worker.done.add(worker.duty)
                    worker.task_id = None
                    continue
            elif worker.process.sentinel not in ready:
                limit_s = self.timer.limit_s(worker.kind)
                if time.monotonic() - worker.started <= limit_s:
                    continue
                worker.process.kill()  # hung (a deadlocked engine, a stopped process): its task runs again
                worker.process.join(timeout=5.0)
                outcomes.append(Outcome(worker.task_id, lost=True, detail=f"worker process {worker.process.pid} "
                                        f"gave no answer in {limit_s:.0f} s and was stopped"))
                self._retire(worker)
                continue
            outcomes.append(Outcome(worker.task_id, lost=True,
                                    detail=f"worker process {worker.process.pid} exited ({worker.process.exitcode})"))
            self._retire(worker)
        return outcomes

    def notices(self) -> list[str]:
        return []

    def _retire(self, worker: _Worker) -> None:
        worker.conn.close()
        worker.process.join(timeout=1.0)
        if worker.process.is_alive():
            worker.process.kill()
        self._workers.remove(worker)

    def close(self) -> None:
        for worker in list(self._workers):
            if worker.task_id is None:
                try:
                    worker.conn.send(None)
                except (BrokenPipeError, OSError):
                    pass
            else:
                worker.process.kill()
        deadline = time.monotonic() + 3.0
        for worker in list(self._workers):
            worker.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=1.0)
            worker.conn.close()
        self._workers.clear()
