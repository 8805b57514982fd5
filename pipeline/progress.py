"""The build's progress display: one overall bar with elapsed time and ETA, and a line per active
episode. Part of the command-line layer (only it and cli.py print); when the output is not a
terminal, each finished episode is one plain line on stderr instead."""

from __future__ import annotations

from rich.console import Console, Group
from rich.live import Live
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)

from .build import BuildEvents
from .manifest import EpisodeResult
from .plan import BuildPlan, Step


class BuildProgress:
    """A context manager that draws a build's events."""

    def __init__(self, console: Console, errors: Console):
        self.console = console
        self.errors = errors
        self.overall = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console)
        self.episodes = Progress(TextColumn("  {task.description}"), TimeElapsedColumn(), console=console)
        self.total = self.overall.add_task("planning", total=None)
        self.active: dict[str, TaskID] = {}
        self.live = Live(Group(self.overall, self.episodes), console=console, transient=True)

    def __enter__(self) -> BuildProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)

    def events(self) -> BuildEvents:
        return BuildEvents(plan=self.on_plan, progress=self.on_progress, finished=self.on_finished)

    def on_plan(self, plan: BuildPlan) -> None:
        todo = len(plan.todo)
        self.overall.update(self.total, total=todo, description=f"building {todo} episode{'s' if todo != 1 else ''}")

    def on_progress(self, label: str, message: str) -> None:
        if label not in self.active:
            self.active[label] = self.episodes.add_task(label, total=None)
        self.episodes.update(self.active[label], description=f"{label}: {message}")

    def on_finished(self, step: Step, result: EpisodeResult) -> None:
        if result.status == "up-to-date":
            return
        self.overall.advance(self.total)
        task = self.active.pop(step.job.label, None)
        if task is not None:
            self.episodes.remove_task(task)
        if not self.console.is_terminal:
            self.errors.print(f"finished {step.job.label}: {result.status}", highlight=False)
