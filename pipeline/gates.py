"""Every quality gate, as one typed `Gate`: checks on what a listener gets, measured.

    audio   one decoded episode: loudness, true peak, duration, clipping, silences
    tags    a whole series folder, because consistency (same album, artist, genre and cover;
            track numbers 1..N) is a property of the set
    feed    a series' feed against the platforms' rules, offline
    quality an episode's DNSMOS score against its series' median (speech QA)

`episodes build` runs them on what it builds, `episodes check` on whatever is in out/.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .settings import Production, Series

if TYPE_CHECKING:
    import numpy as np

    from .audio.loudness import LoudnessReport
    from .manifest import EpisodeResult
    from .publish.problems import Problem
    from .script import Episode

SILENCE_SLACK_S = 0.15
"""Allowance over the configured padding and pause maximum (trim margins, frame rounding)."""
CLIP_DBFS = -0.3
"""A decoded sample within 0.3 dB of full scale counts as clipped. An MP3 encoder's lowpass rounds
the flat tops of clipped audio off, so they decode just under full scale, not at it; a file
mastered under its true-peak ceiling (at most -0.5 dBTP, see settings) never gets this close."""
REQUIRED_FRAMES = ("TIT2", "TALB", "TPE1", "TPE2", "TCON", "TRCK")
SERIES_FRAMES = ("TALB", "TPE1", "TPE2", "TCON", "TCOP")
MOS_BELOW_MEDIAN = 0.3
"""An episode whose DNSMOS overall score falls this far below its series' median fails a gate."""


@dataclass(frozen=True)
class Gate:
    """One check on one file: what was measured, against what, and whether it passed."""

    file: str
    name: str
    passed: bool
    detail: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "passed", bool(self.passed))  # numpy comparisons give numpy bools

    def record(self) -> dict[str, Any]:
        """As an episode's result stores it (the file is the episode's own)."""
        return {"name": self.name, "passed": self.passed, "detail": self.detail}

    @classmethod
    def of(cls, file: str, record: dict[str, Any]) -> Gate:
        return cls(file, record["name"], record["passed"], record["detail"])


def audio_gates(file: str, audio: np.ndarray, rate: int, report: LoudnessReport, production: Production,
                extra_s: float = 0.0) -> list[Gate]:
    """Loudness, true peak, duration, clipping and silence gates for one decoded episode.
    `extra_s` is what an intro and outro add when the window applies to the narration alone."""
    import numpy as np

    from .audio.dsp import FRAME_MS, silent_runs, sounding_frames

    mono = audio if audio.ndim == 1 else audio.max(axis=1)
    low, high = production.window_s
    gates = [
        Gate(file, "loudness", abs(report.integrated_lufs - production.target_lufs) <= production.loudness_tolerance_lu,
             f"{report.integrated_lufs:.2f} LUFS, target {production.target_lufs:g} "
             f"± {production.loudness_tolerance_lu:g}"),
        Gate(file, "true peak", report.true_peak_dbtp <= production.ceiling_dbtp,
             f"{report.true_peak_dbtp:.2f} dBTP, ceiling {production.ceiling_dbtp:g}"),
        Gate(file, "duration", low <= report.duration_s - extra_s <= high,
             f"{report.duration_s:.1f} s, window {low:g}-{high:g} s" if not extra_s else
             f"narration {report.duration_s - extra_s:.1f} s (+{extra_s:.1f} s intro and outro), "
             f"window {low:g}-{high:g} s"),
    ]
    clipped = int(np.count_nonzero(np.abs(audio) >= 10.0 ** (CLIP_DBFS / 20.0)))
    gates.append(Gate(file, "clipping", clipped == 0, f"{clipped} samples within {-CLIP_DBFS:g} dB of full scale"))
    sounding = np.flatnonzero(sounding_frames(mono, rate))
    frame_s = FRAME_MS / 1000.0
    lead = sounding[0] * frame_s if len(sounding) else report.duration_s
    tail = report.duration_s - (sounding[-1] + 1) * frame_s if len(sounding) else report.duration_s
    gates.append(Gate(file, "leading silence", lead <= production.lead_pad_ms / 1000 + SILENCE_SLACK_S,
                      f"{lead:.2f} s, padding {production.lead_pad_ms} ms"))
    gates.append(Gate(file, "trailing silence", tail <= production.tail_pad_ms / 1000 + SILENCE_SLACK_S,
                      f"{tail:.2f} s, padding {production.tail_pad_ms} ms"))
    longest = max(((end - start) / rate for start, end in silent_runs(mono, rate)), default=0.0)
    gates.append(Gate(file, "internal silence", longest <= production.max_pause_ms / 1000 + SILENCE_SLACK_S,
                      f"longest {longest:.2f} s, maximum {production.max_pause_ms} ms"))
    return gates


def _frame_text(tags, key: str) -> str | None:
    return str(tags[key]) if key in tags else None


def tag_gates(files: list[Path], series: Series, episodes: int) -> list[Gate]:
    """Tags complete and identical across the series, the cover embedded, track numbers unique
    within 1..N where N (`episodes`) is the number of scripts in the series. An episode not
    built yet is not a tag fault; `episodes check` reports it as missing."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3, ID3NoHeaderError

    gates: list[Gate] = []
    from .cover import series_cover

    embedded = series_cover(series)
    cover = embedded.data if embedded else None
    numbers: list[tuple[int, str]] = []
    for path in files:
        try:
            tags = ID3(path)
        except ID3NoHeaderError:
            gates.append(Gate(path.name, "tags", False, "no ID3 tag"))
            continue
        except (MutagenError, OSError) as exc:
            gates.append(Gate(path.name, "tags", False, f"unreadable: {exc}"))
            continue
        missing = [key for key in REQUIRED_FRAMES if not _frame_text(tags, key)]
        gates.append(Gate(path.name, "tags", not missing, f"missing {', '.join(missing)}" if missing else "complete"))
        expected = {"TALB": series.album, "TPE1": series.author, "TPE2": series.author, "TCON": series.genre,
                    "TCOP": series.copyright or None}
        found = {key: _frame_text(tags, key) for key in SERIES_FRAMES}
        wrong = [f"{key} {found[key]!r} (series: {expected[key]!r})" for key in SERIES_FRAMES
                 if found[key] != expected[key]]
        gates.append(Gate(path.name, "series tags", not wrong, "; ".join(wrong) or "match the series"))
        if cover is not None:
            pictures = tags.getall("APIC")
            ok = bool(pictures) and pictures[0].data == cover
            gates.append(Gate(path.name, "cover", ok, "embedded" if ok else
                              ("missing" if not pictures else "differs from the series cover")))
        track = (_frame_text(tags, "TRCK") or "").split("/")
        if track[0].isdigit():
            numbers.append((int(track[0]), path.name))
            total = track[1] if len(track) > 1 else "?"
            gates.append(Gate(path.name, "track total", total == str(episodes),
                              f"{'/'.join(track)}, {episodes} episodes in the series"))
    by_number: dict[int, list[str]] = {}
    for number, name in numbers:
        by_number.setdefault(number, []).append(name)
    duplicated = [f"{n} ({', '.join(names)})" for n, names in sorted(by_number.items()) if len(names) > 1]
    outside = [f"{n} ({', '.join(names)})" for n, names in sorted(by_number.items()) if not 1 <= n <= episodes]
    problems = ([f"duplicated {'; '.join(duplicated)}"] if duplicated else []) + (
        [f"outside 1..{episodes}: {'; '.join(outside)}"] if outside else [])
    gates.append(Gate(series.slug, "track numbers", not problems,
                      "; ".join(problems) or f"{len(numbers)} unique numbers within 1..{episodes}"))
    return gates


def problem_gates(problems: list[Problem]) -> tuple[list[Gate], list[str]]:
    """Problems found in what is published: each error a failed gate, each warning a line to show."""
    return [_failed(p) for p in problems if p.is_error], [str(p) for p in problems if not p.is_error]


def _failed(problem: Problem) -> Gate:
    where = problem.file if problem.line is None else f"{problem.file}:{problem.line}"
    detail = (f"{problem.element}: " if problem.element else "") + problem.message
    return Gate(where, problem.rule, False, detail + (f"; to fix: {problem.fix}" if problem.fix else ""))


def feed_gates(folder: Path, feed_name: str = "feed.xml") -> tuple[list[Gate], list[str]]:
    """The series feed against Apple's and Podcasting 2.0's rules, offline: its gates (one passing
    gate when it holds no error) and its warnings."""
    from .publish.rules import validate_feed

    feed = folder / feed_name
    if not feed.is_file():
        return [], []
    label = f"{folder.name}/{feed_name}"
    gates, warnings = problem_gates(validate_feed(feed.read_bytes(), label, folder))
    return gates or [Gate(label, "feed", True, "valid")], warnings


def quality_gates(scores: dict[str, float]) -> dict[str, Gate]:
    """Per episode file, its DNSMOS overall score against the series' median (two scores at least)."""
    if len(scores) < 2:
        return {}
    import statistics

    median = statistics.median(scores.values())
    return {file: Gate(file, "quality score", overall >= median - MOS_BELOW_MEDIAN,
                       f"DNSMOS overall {overall:.2f}, series median {median:.2f} (at most {MOS_BELOW_MEDIAN:g} below)")
            for file, overall in scores.items()}


def disclosure_gates(series: Series, episodes: list[Episode], results: dict[str, EpisodeResult]) -> list[Gate]:
    """A synthetic episode's audio must end with the series' disclosure sentence (as built)."""
    from .disclosure import disclosure_text, is_synthetic

    wanted = disclosure_text(series)
    if wanted is None:
        return []
    gates = []
    for episode in episodes:
        result = results.get(f"{episode.stem}.mp3")
        if not is_synthetic(episode) or result is None or not result.has_audio:
            continue
        said = result.disclosure == wanted
        detail = "the synthetic voice is disclosed in the audio" if said else \
            "the audio does not end with the series' disclosure sentence; run episodes build"
        gates.append(Gate(f"{episode.stem}.mp3", "disclosure", said, detail))
    return gates
