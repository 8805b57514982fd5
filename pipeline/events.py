"""What commands tell their caller as they go: plain records that the CLI draws as progress and the
studio streams to the page. A command takes an `Emit` and never prints."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Planned:
    """The work is known: `todo` of `total` episodes need work."""

    todo: int
    total: int


@dataclass(frozen=True)
class Progress:
    """One episode (or file) moved on: "speaking 3/12 sentences", "mastering"."""

    label: str
    message: str


@dataclass(frozen=True)
class Finished:
    """One episode is done (built, updated in place, up to date or failed)."""

    label: str
    status: str
    detail: str = ""
    """The error, for a failed episode."""


@dataclass(frozen=True)
class Notice:
    """Something the producer should know now (a worker lost, a task run again)."""

    message: str


Event = Planned | Progress | Finished | Notice
Emit = Callable[[Event], None]


def ignore(event: Event) -> None:
    """The `Emit` of a caller that does not listen."""


def event_dict(event: Event) -> dict[str, Any]:
    """An event as JSON-ready data: its kind and fields (the studio's server-sent events)."""
    return {"event": type(event).__name__.lower(), **dataclasses.asdict(event)}
