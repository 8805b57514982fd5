"""Builds started from the studio: one at a time, in a thread, through the same `build` command the
CLI runs (so it holds the same output lock: a CLI build and the studio never write at once). Its
events (pipeline.events, as JSON) are kept for the page, which streams them as server-sent events.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ..commands.build import build
from ..commands.edit import SPEAKING
from ..errors import LockedError, describe
from ..events import Event, event_dict
from ..files import LOCK_NAME
from ..plan import BuildOptions
from ..project import Project

STUDIO_BUILD = BuildOptions(jobs=1)
"""Builds run in the studio's process: its voice is loaded already, and a one-sentence rebuild pays
for no worker. (Worker processes are started with Ctrl-C ignored, which only the main thread can
arrange, and the studio's main thread serves the page.)"""


def lock_holder(out_dir: Path) -> str | None:
    """Who holds the output lock now, as its holder wrote it (`pid 123, user ann on host, since
    ...`), or None. Read without taking the lock: a holder writes its note once it has the lock and
    clears it when it lets go; a note whose process is gone (a killed build) holds nothing."""
    try:
        note = (out_dir / LOCK_NAME).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    try:
        os.kill(int(note.split(",")[0].removeprefix("pid ")), 0)
    except (ValueError, ProcessLookupError):
        return None
    except PermissionError:
        pass
    return note or None


class BuildRunner:
    """The studio's build: at most one at a time; its events, for any number of listeners."""

    def __init__(self, project: Project):
        self.project = project
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.events: list[dict[str, Any]] = []
        """The current (or last) build's events, the last one `done`."""
        self.running = False
        self.targets: list[str] = []
        self._thread: threading.Thread | None = None

    def start(self, targets: list[str], labels: list[str]) -> None:
        """Start a build of `targets` (script paths; none: everything). Raises LockedError when the
        studio or another process is building."""
        with self._lock:
            if self.running:
                raise LockedError("the studio is building already; wait for it to finish", self.project.out_dir)
            holder = lock_holder(self.project.out_dir)
            if holder:
                raise LockedError(f"another build holds this output folder ({holder}); wait for it to finish",
                                  self.project.out_dir)
            self.events, self.running, self.targets = [], True, labels
        self._thread = threading.Thread(target=self._run, args=(targets,), name="studio-build", daemon=True)
        self._thread.start()

    def _add(self, record: dict[str, Any], last: bool = False) -> None:
        with self._changed:
            self.events.append({"id": len(self.events), **record})
            if last:
                self.running = False
            self._changed.notify_all()

    def _emit(self, event: Event) -> None:
        self._add(event_dict(event))

    def _run(self, targets: list[str]) -> None:
        done: dict[str, Any] = {"event": "done", "failed": True}
        try:
            with SPEAKING:  # the build speaks with this process's voice, kept loaded
                report = build(self.project, targets, STUDIO_BUILD, self._emit)
            done = {"event": "done", "failed": report.failed or bool(report.failed_gates),
                    "results": [{"label": s.job.label, "status": r.status, "error": r.error}
                                for s, r in zip(report.steps, report.results)],
                    "errors": [str(e) for e in report.errors] + [r.error or "" for r in report.results
                                                                 if r.status == "error"],
                    "gates": [f"{g.file}: {g.name}: {g.detail}" for g in report.failed_gates]}
        except Exception as exc:
            done = {"event": "done", "failed": True, "errors": [describe(exc)]}
        finally:
            self._add(done, last=True)

    def since(self, first: int, wait_s: float = 0.0) -> tuple[list[dict[str, Any]], bool]:
        """Events from number `first` on (waiting up to `wait_s` for one), and whether more may come."""
        with self._changed:
            if len(self.events) <= first and self.running and wait_s:
                self._changed.wait(wait_s)
            return self.events[first:], self.running

    def state(self) -> dict[str, Any]:
        with self._lock:
            return {"running": self.running, "targets": self.targets, "events": list(self.events)}
