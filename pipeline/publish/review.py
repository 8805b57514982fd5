"""The producers' review page: every episode with its player, figures, gates, plot and transcript."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape

from ..files import write_if_changed
from ..gates import Gate
from ..manifest import EpisodeResult
from ..settings import Series

if TYPE_CHECKING:
    from ..jobs import Job

def clock(seconds: float) -> str:
    """m:ss, as the series' topic page shows lengths."""
    whole = int(round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


@dataclass(frozen=True)
class PageEpisode:
    """What the review page shows of one episode."""

    number: int
    stem: str
    title: str
    summary: str
    result: EpisodeResult | None

    @property
    def built(self) -> bool:
        return self.result is not None and self.result.duration_s is not None

    @property
    def file(self) -> str:
        return f"{self.stem}.mp3"

    @property
    def vtt(self) -> str:
        return f"{self.stem}.vtt"

    @property
    def srt(self) -> str:
        return f"{self.stem}.srt"

    @property
    def txt(self) -> str:
        return f"{self.stem}.txt"

    @property
    def plot(self) -> str:
        return f"{self.stem}.png"

    @property
    def duration(self) -> str:
        return clock(self.result.duration_s)


def render_review_page(series: Series, jobs: list[Job], entries: dict[str, EpisodeResult], series_gates: list[Gate]) -> str:
    environment = Environment(loader=PackageLoader("pipeline.publish", "templates"), autoescape=select_autoescape(["html", "j2"]))
    environment.filters["clock"] = clock
    episodes = [PageEpisode(job.episode.number, job.episode.stem, job.episode.title, job.episode.summary,
                            entries.get(job.out_path.name)) for job in jobs]
    failures = sum(not g.passed for g in series_gates) + sum(
        not g["passed"] for e in episodes if e.built for g in e.result.gates)
    total = sum(e.result.duration_s for e in episodes if e.built)
    return environment.get_template("review.html.j2").render(
        series=series, episodes=episodes, series_gates=series_gates, failures=failures,
        total_duration=clock(total), cover=_cover_link(series, jobs),
    )


def _cover_link(series: Series, jobs: list[Job]) -> str | None:
    """The cover, linked relative to the output folder (copied there by `write_review_page`)."""
    return f"cover{series.cover.suffix}" if series.cover and jobs else None


def write_review_page(series: Series, jobs: list[Job], entries: dict[str, EpisodeResult], series_gates: list[Gate],
                      folder: Path, staging: Path) -> Path:
    if series.cover:
        write_if_changed(folder / f"cover{series.cover.suffix}", series.cover.read_bytes(), staging)
    path = folder / "index.html"
    write_if_changed(path, render_review_page(series, jobs, entries, series_gates).encode("utf-8"), staging)
    return path
