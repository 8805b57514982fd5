"""Per-episode results as typed records, and their export as each series' manifest.json.

The state store (pipeline.state) holds the results; `manifest.json` is their export in a shape other
tools read, written when a build publishes a series.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .files import write_if_changed

MANIFEST_NAME = "manifest.json"
_KINDS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "dict": (dict,),
                                       "list": (list,), "bool": (bool,)}
"""JSON kinds each field type accepts (ints count as floats)."""


@dataclass
class EpisodeResult:
    """What one episode's build produced, as measured on the decoded MP3."""

    number: int
    slug: str
    title: str
    file: str
    """MP3 file name inside the series' output folder."""
    status: str
    """What this run did: "built", "retagged", "captioned", "up-to-date" or "error"."""
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
    """Identity of the voice that spoke it (engine, package versions, model files)."""
    rate_factor: float | None = None
    """Speaking-rate factor the duration fit synthesized with (1.0 = the voice's own pace)."""
    fit: dict[str, Any] = field(default_factory=dict)
    """What the duration fit changed, least audible first: natural_s, pause_scale, rate_factor,
    tempo, and the seconds each contributed."""
    gain_target_lufs: float | None = None
    """Loudness the gain stage aimed at, corrected for the encoder's level shift."""
    production: dict[str, Any] = field(default_factory=dict)
    """The production settings the episode was built with (defaults < series < script < flags):
    what `episodes check` judges it by."""
    overrides: dict[str, Any] = field(default_factory=dict)
    """The settings among those that came from the command line (`--target-lufs -14`)."""
    disclosure: str | None = None
    """The sentence that disclosed the synthetic voice at the end of the audio (None: none was said)."""
    cleanup: dict[str, Any] = field(default_factory=dict)
    """What cleaning a recording did, measured (noise floor, hum, clicks, sibilance, levels, pauses)."""
    limiter_ceiling_dbtp: float | None = None
    """Ceiling the limiter needed so the encoded MP3 holds the true-peak ceiling."""
    file_bytes: int | None = None
    """Size of the MP3 as written and tagged."""
    file_sha256: str | None = None
    """Checksum of the MP3; a file that differs is not the one the manifest describes."""
    file_mtime_ns: int | None = None
    """Modification time when the checksum was taken (an unchanged stat skips re-hashing)."""
    keys: dict[str, dict[str, str]] = field(default_factory=dict)
    """Stage fingerprints (audio, tags, sidecars), each component by name: equal means up to date,
    and the components that differ say why a stage runs again."""
    cache_keys: list[str] = field(default_factory=list)
    """Sentence-cache entries the final audio was assembled from."""
    takes: dict[str, int] = field(default_factory=dict)
    """Retakes in use, by spoken sentence: speech QA chose another take of a misheard sentence."""
    sentences: list[dict[str, Any]] = field(default_factory=list)
    """Each spoken sentence: script line, start_s and end_s in the final audio, and the words' start
    times when speech recognition timed them."""
    captions: list[dict[str, Any]] = field(default_factory=list)
    """Caption cues: start_s, end_s, text, timed on the final audio."""
    gates: list[dict[str, Any]] = field(default_factory=list)
    """Audio quality gates on the decoded MP3: name, passed, detail."""
    synthesized_sentences: int | None = None
    """Sentences the voice spoke in this build (the rest came from the cache)."""
    retried: int = 0
    """Tasks of this episode run again because a worker died."""
    nodes: dict[str, Any] = field(default_factory=dict)
    """Where the work ran: "master" (host or Ray node that mastered it), "speech" (those that spoke
    its sentences in this build)."""
    word_error: float | None = None
    """Median sentence word error from speech recognition (None when not checked)."""
    flagged: list[dict[str, Any]] = field(default_factory=list)
    """Sentences speech recognition flagged: line, expected, heard, word_error."""
    mos: dict[str, float] | None = None
    """DNSMOS scores (signal, background, overall), 1-5."""
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    built_at: str | None = None
    """When the audio was made (UTC, ISO 8601)."""

    def to_dict(self) -> dict[str, Any]:
        """The fields by name, for JSON. Every field already holds plain values, lists and dicts,
        so nothing is copied (`dataclasses.asdict` deep-copied every sentence: a fifth of a
        re-tag's time)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EpisodeResult:
        """An entry as stored; raises TypeError when a field holds the wrong kind of value (a
        hand-edited manifest), so the manifest is reported instead of misread."""
        values = {}
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            kinds = _KINDS[f.type.split(" | ")[0].split("[")[0]]
            if not (value is None and "None" in f.type) and (not isinstance(value, kinds) or (isinstance(value, bool)
                                                             and bool not in kinds)):
                raise TypeError(f"`{f.name}` holds {type(value).__name__}, not {f.type}")
            if f.name == "keys" and not all(isinstance(v, dict) for v in value.values()):
                raise TypeError("`keys` must map each stage to its components")
            if f.type.startswith("list[dict") and not all(isinstance(item, dict) for item in value):
                raise TypeError(f"`{f.name}` must be a list of mappings")
            values[f.name] = value
        return cls(**values)

    @property
    def has_audio(self) -> bool:
        """Whether the entry describes a built MP3 (an error entry may keep an older one's figures)."""
        return self.duration_s is not None and self.file_bytes is not None


def keep_figures(previous: EpisodeResult | None, result: EpisodeResult, mp3_exists: bool) -> EpisodeResult:
    """A failed rebuild keeps the old MP3's figures (it is still on disk), marked failed."""
    if result.status == "error" and previous is not None and previous.has_audio and mp3_exists:
        return dataclasses.replace(previous, status="error", error=result.error)
    return result


def export_manifest(folder: Path, header: dict[str, Any], entries: list[EpisodeResult], staging: Path) -> None:
    """Write `manifest.json` (entries in episode order) unless it already holds exactly that."""
    kept = sorted(entries, key=lambda e: (e.number, e.file))
    document = {"pipeline_version": __version__, **header, "episodes": [e.to_dict() for e in kept]}
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    write_if_changed(folder / MANIFEST_NAME, data, staging)
