"""The producers' review page: every episode with its player, figures, gates, plot and transcript.

It also shows what speech recognition and DNSMOS found when the build measured them: the
episode's word error and quality scores, and each flagged sentence marked in the transcript
with the words recognition heard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..disclosure import is_synthetic, with_disclosure
from ..durations import clock
from ..files import write_if_changed
from ..gates import Gate
from ..manifest import EpisodeResult
from ..script import Episode
from ..settings import Series
from .catalog import templates, write_cover


@dataclass(frozen=True)
class TranscriptLine:
    """One caption cue as the review page lists it, with the recognition flag of its sentence."""

    start_s: float
    text: str
    flag: dict[str, Any] | None = None
    """The flagged sentence (line, expected, heard, word_error) this cue belongs to."""
    first_of_flag: bool = False
    """Whether the cue opens its flagged sentence (where the heard words are shown)."""


def mark_flagged(captions: list[dict[str, Any]], flagged: list[dict[str, Any]]) -> list[TranscriptLine]:
    """Caption cues with each flagged sentence attached to the run of cues that spells it.

    A long sentence is split over several cues, so a flag matches consecutive cues whose text,
    joined, is the sentence as expected (whitespace aside). A flag that matches no run still
    shows in the page's list of flagged sentences.
    """
    texts = [" ".join(str(c.get("text", "")).split()) for c in captions]
    owner: dict[int, tuple[dict[str, Any], bool]] = {}
    for flag in flagged:
        expected = " ".join(str(flag.get("expected", "")).split())
        for start in range(len(texts)):
            end, joined = start, ""
            while end < len(texts) and len(joined) < len(expected):
                joined = f"{joined} {texts[end]}".strip()
                end += 1
            if expected and joined == expected and not owner.keys() & set(range(start, end)):
                owner.update({i: (flag, i == start) for i in range(start, end)})
                break
    return [TranscriptLine(float(c.get("start_s", 0.0)), str(c.get("text", "")),
                           *(owner.get(i, (None, False)))) for i, c in enumerate(captions)]


@dataclass(frozen=True)
class PageEpisode:
    """What the review page shows of one episode."""

    number: int
    stem: str
    title: str
    summary: str
    """The description as published: the summary, with the disclosure when a voice engine spoke it."""
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
        assert self.result is not None and self.result.duration_s is not None
        return clock(self.result.duration_s)

    def measured(self, name: str) -> Any:
        """A result field the build may not record yet (word_error, flagged, mos, fit): None if absent."""
        return getattr(self.result, name, None)

    @property
    def transcript(self) -> list[TranscriptLine]:
        assert self.result is not None
        return mark_flagged(self.result.captions, self.measured("flagged") or [])


def render_review_page(series: Series, episodes: list[Episode], entries: dict[str, EpisodeResult],
                       series_gates: list[Gate], cover_name: str | None = None,
                       synthetic: Callable[[Episode], bool] = is_synthetic) -> str:
    """The page's HTML: every episode of the series (built or not), in episode order; `cover_name`
    is the cover's file name beside the page, if there is one; `synthetic` says which episodes a
    voice engine spoke (their descriptions carry the disclosure, as published)."""
    ordered = sorted(episodes, key=lambda e: e.number)
    shown = [PageEpisode(e.number, e.stem, e.title,
                         with_disclosure(e.summary, series.disclosure if synthetic(e) else None),
                         entries.get(f"{e.stem}.mp3")) for e in ordered]
    any_synthetic = any(synthetic(e) for e in ordered)
    failures = sum(not g.passed for g in series_gates) + sum(
        not g["passed"] for e in shown if e.built and e.result is not None for g in e.result.gates)
    total = sum(e.result.duration_s for e in shown if e.built and e.result is not None and e.result.duration_s)
    return templates().get_template("review.html.j2").render(
        series=series, episodes=shown, series_gates=series_gates, failures=failures,
        total_duration=clock(total), total_s=total, cover=cover_name if shown else None,
        description=with_disclosure(series.description, series.disclosure if any_synthetic else None),
    )


def write_review_page(series: Series, episodes: list[Episode], entries: dict[str, EpisodeResult],
                      series_gates: list[Gate], folder: Path, staging: Path,
                      synthetic: Callable[[Episode], bool] = is_synthetic) -> Path:
    """Write `folder`/index.html (and the cover beside it); opens from the file system."""
    cover = write_cover(series, folder, staging)
    path = folder / "index.html"
    page = render_review_page(series, episodes, entries, series_gates, cover.file_name if cover else None, synthetic)
    write_if_changed(path, page.encode("utf-8"), staging)
    return path
