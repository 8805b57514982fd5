"""The command line's progress display of a command's events: one overall bar with elapsed time and
ETA, and a line per active episode. Part of the command-line layer (only it and cli.py print);
when the output is not a terminal, each finished episode and each notice is one plain line on
stderr instead."""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from . import events


class EventProgress:
    """A context manager whose `emit` draws a command's events."""

    def __init__(self, console: Console, errors: Console, verb: str = "building"):
        self.console = console
        self.errors = errors
        self.verb = verb
        self.overall = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console)
        self.episodes = Progress(TextColumn("  {task.description}"), TimeElapsedColumn(), console=console)
        self.total = self.overall.add_task("planning", total=None)
        self.active: dict[str, TaskID] = {}
        self.live = Live(Group(self.overall, self.episodes), console=console, transient=True)

    def __enter__(self) -> EventProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)

    def emit(self, event: events.Event) -> None:
        if isinstance(event, events.Planned):
            noun = "episode" if event.todo == 1 else "episodes"
            self.overall.update(self.total, total=event.todo, description=f"{self.verb} {event.todo} {noun}")
        elif isinstance(event, events.Progress):
            if event.label not in self.active:
                self.active[event.label] = self.episodes.add_task(event.label, total=None)
            description = f"{escape(event.label)}: {escape(event.message)}"
            self.episodes.update(self.active[event.label], description=description)
        elif isinstance(event, events.Finished):
            self._finished(event)
        elif isinstance(event, events.Notice):
            self.errors.print(f"[yellow]notice:[/] {escape(event.message)}", highlight=False, soft_wrap=True)

    def _finished(self, event: events.Finished) -> None:
        if event.status == "up-to-date":
            return
        self.overall.advance(self.total)
        task = self.active.pop(event.label, None)
        if task is not None:
            self.episodes.remove_task(task)
        if not self.console.is_terminal:
            self.errors.print(f"finished {event.label}: {event.status}", highlight=False)
