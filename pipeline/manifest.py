"""Per-episode results as typed records, and the series manifest that stores them.

The manifest describes what is on disk: it is rewritten atomically after every episode, so a
killed build leaves one that matches the files that exist.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .files import replacing

MANIFEST_NAME = "manifest.json"


@dataclass
class EpisodeResult:
    """What one episode's build produced, as measured on the decoded MP3."""

    number: int
    slug: str
    title: str
    file: str
    """MP3 file name inside the series' output folder."""
    status: str
    """"built", "up-to-date" or "error"."""
    duration_s: float | None = None
    integrated_lufs: float | None = None
    """As targeted (dual mono for mono files)."""
    integrated_single_channel_lufs: float | None = None
    true_peak_dbtp: float | None = None
    max_short_term_lufs: float | None = None
    lra_lu: float | None = None
    word_count: int | None = None
    words_per_minute: float | None = None
    voice: str | None = None
    engine: str | None = None
    rate_factor: float | None = None
    """Speaking-rate factor the duration fit chose (1.0 = the voice's own pace)."""
    gain_target_lufs: float | None = None
    """Loudness the gain stage aimed at, corrected for the encoder's level shift."""
    limiter_ceiling_dbtp: float | None = None
    """Ceiling the limiter needed so the encoded MP3 holds the true-peak ceiling."""
    file_bytes: int | None = None
    """Size of the MP3; a file of another size is not the one the manifest describes."""
    script_hash: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    """Hash of each input (script, series, voice, lexicon, cover, settings, software); all equal
    means up to date, and the ones that differ say why a rebuild is due."""
    cache_keys: list[str] = field(default_factory=list)
    """Sentence-cache entries the final audio was assembled from."""
    captions: list[dict[str, Any]] = field(default_factory=list)
    """Caption cues: start_s, end_s, text, timed on the final audio."""
    gates: list[dict[str, Any]] = field(default_factory=list)
    """Audio quality gates on the decoded MP3: name, passed, detail."""
    synthesized_sentences: int | None = None
    """Sentences the engine spoke in this build (the rest came from the cache)."""
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    built_at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeResult:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def load_manifest(folder: Path) -> dict[str, EpisodeResult]:
    """The manifest's entries by file name; empty if there is none or it is unreadable."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {e["file"]: EpisodeResult.from_dict(e) for e in data.get("episodes", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def save_manifest(folder: Path, series: dict[str, Any], results: list[EpisodeResult], staging: Path | None = None) -> None:
    """Merge `results` into the folder's manifest and write it atomically.

    Entries for files that no longer exist are dropped unless they record an error.
    """
    entries = load_manifest(folder)
    for result in results:
        previous = entries.get(result.file)
        if result.status == "error" and previous is not None and (folder / result.file).exists():
            # The old MP3 is still there: keep its figures, record that the rebuild failed.
            result = dataclasses.replace(previous, status="error", error=result.error)
        entries[result.file] = result
    kept = [e for e in entries.values() if e.status == "error" or (folder / e.file).exists()]
    kept.sort(key=lambda e: (e.number, e.file))
    document = {"pipeline_version": __version__, **series, "episodes": [e.to_dict() for e in kept]}
    with replacing(folder / MANIFEST_NAME, staging) as temporary:
        temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
