"""What to build: the project's layout, one job per episode with its settings resolved, and
whether each episode is up to date.

A job carries everything an episode's build needs, so it can travel to a worker process.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from . import __version__
from .cache import SentenceCache
from .errors import ConfigError, PipelineError, ScriptError
from .manifest import EpisodeResult, load_manifest
from .script import Episode, load_episodes
from .settings import Production, Series, VoiceProfile, load_series, load_voices
from .text import Lexicon, load_lexicon

SIDECARS = (".vtt", ".srt", ".txt", ".png")
"""Files written next to each MP3: captions, transcript, review plot."""


@dataclass(frozen=True)
class Project:
    """A producer's folder: scripts/, voices/ and out/ side by side."""

    root: Path

    @property
    def scripts_dir(self) -> Path:
        return self.root / "scripts"

    @property
    def voices_dir(self) -> Path:
        return self.root / "voices"

    @property
    def out_dir(self) -> Path:
        return self.root / "out"

    @property
    def staging_dir(self) -> Path:
        """Where files are written before they are renamed into out/."""
        return self.out_dir / ".partial"

    @property
    def cache(self) -> SentenceCache:
        return SentenceCache(Path(os.environ.get("EPISODES_CACHE") or self.out_dir / ".cache"))

    def series_folders(self) -> list[Path]:
        if not self.scripts_dir.is_dir():
            raise ConfigError("no scripts/ folder here; run from the project folder or pass --project", self.root)
        return sorted(p.parent for p in self.scripts_dir.glob("*/series.yaml"))

    def voices(self) -> dict[str, VoiceProfile]:
        return load_voices(self.voices_dir)

    def lexicon(self) -> Lexicon:
        return load_lexicon(self.voices_dir / "lexicon.yaml")


@dataclass(frozen=True)
class Job:
    """Everything one episode's build needs, resolved and validated."""

    series: Series
    episode: Episode
    production: Production
    voice: VoiceProfile
    lexicon: Lexicon
    track_total: int
    out_path: Path
    staging_dir: Path
    """Same file system as out_path: temporaries live here until renamed into place."""
    inputs: dict[str, str]
    """Hash of each input, by name (see `input_hashes`)."""


@dataclass(frozen=True)
class BuildOptions:
    """Choices a producer makes on the command line."""

    force: bool = False
    """Rebuild even when nothing changed."""
    strict: bool = False
    """An episode that cannot be fitted to its window fails instead of warning."""
    voice: str | None = None
    """Voice profile for every episode, over series and front matter."""
    overrides: dict[str, object] = field(default_factory=dict)
    """Production settings from flags: the top layer."""
    jobs: int = 1
    """Episodes built at once, each in its own process."""
    base_url: str | None = None
    """Where the series is published (feed enclosure URLs); over series.yaml's base_url."""


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def input_hashes(series: Series, episode: Episode, voice: VoiceProfile, lexicon: Lexicon,
                 production: Production) -> dict[str, str]:
    """Hash of every input that changes the episode's sound or tags, by name."""

    def of(path: Path | None) -> str:
        return _digest(path.read_bytes()) if path is not None and path.exists() else "-"

    software = f"{__version__}|{_package_version('piper-tts')}|{_package_version('coqui-tts')}"
    return {
        "script": of(episode.path),
        "series": of(series.config_path),
        "voice": of(voice.path),
        "lexicon": of(lexicon.source),
        "cover": of(series.cover),
        "settings": _digest(repr((production, voice.name)).encode()),
        "software": _digest(software.encode()),
    }


def _matches(episode: Episode, target: str) -> bool:
    if target.isdigit():
        return episode.number == int(target)
    path = Path(target)
    if path.suffix == ".md":
        return path.resolve() == episode.path.resolve()
    return target in (episode.slug, episode.stem)


def plan_jobs(project: Project, targets: list[str], options: BuildOptions) -> tuple[list[Job], list[PipelineError]]:
    """Resolve targets (slugs, numbers, stems or script paths; none = everything) into jobs."""
    jobs: list[Job] = []
    errors: list[PipelineError] = []
    voices = project.voices()
    lexicon = project.lexicon()
    matched: set[str] = set()
    for folder in project.series_folders():
        try:
            series = load_series(folder)
        except PipelineError as exc:
            errors.append(exc)
            continue
        episodes, script_errors = load_episodes(folder)
        total = len(episodes) + len({e.path for e in script_errors if e.path})
        errors.extend(e for e in script_errors if not targets or any(t in str(e.path) for t in targets))
        for episode in episodes:
            hits = [t for t in targets if _matches(episode, t)]
            if targets and not hits:
                continue
            matched.update(hits)
            try:
                jobs.append(_job(project, series, episode, total, voices, lexicon, options))
            except PipelineError as exc:
                errors.append(exc)
    series_broken = any(e.path is not None and e.path.name == "series.yaml" for e in errors)
    for target in targets:
        # A target may be in a series that failed to load; its error is already reported.
        if target not in matched and not series_broken and not any(target in str(e.path) for e in errors):
            errors.append(ScriptError(f"no episode matches {target!r} (give a slug, number or script path)"))
    return jobs, errors


def _job(project: Project, series: Series, episode: Episode, total: int, voices: dict[str, VoiceProfile],
         lexicon: Lexicon, options: BuildOptions) -> Job:
    production = series.production.merged(episode.overrides, episode.path).merged(options.overrides)
    name = options.voice or episode.voice or production.voice
    if name not in voices:
        where = (episode.path, episode.field_lines.get("voice")) if episode.voice and not options.voice else (
            series.config_path, None)
        raise ConfigError(f"unknown voice {name!r} (profiles in voices/: {', '.join(voices) or 'none'})", *where)
    voice = voices[name]
    out_path = project.out_dir / series.slug / f"{episode.stem}.mp3"
    return Job(series, episode, production, voice, lexicon, total, out_path, project.staging_dir,
               input_hashes(series, episode, voice, lexicon, production))


def rebuild_reason(job: Job, entry: EpisodeResult | None) -> str | None:
    """Why the episode must be rebuilt, or None if its MP3 is up to date."""
    if entry is None or entry.status == "error" and entry.duration_s is None:
        return "not built yet"
    if not job.out_path.exists():
        return "MP3 missing"
    if entry.file_bytes != job.out_path.stat().st_size:
        return "MP3 differs from the manifest"
    if entry.status == "error":
        return "last build failed"
    missing = [suffix for suffix in SIDECARS if not job.out_path.with_suffix(suffix).exists()]
    if missing:
        return f"missing {', '.join(missing)}"
    changed = [name for name, digest in job.inputs.items() if entry.inputs.get(name) != digest]
    return f"changed: {', '.join(changed)}" if changed else None


def series_header(series: Series) -> dict[str, str]:
    return {"series": series.title, "topic": series.topic, "album": series.album}


def manifest_entries(jobs: list[Job]) -> list[EpisodeResult | None]:
    """Each job's manifest entry (None if it has none), reading each series' manifest once."""
    manifests: dict[Path, dict[str, EpisodeResult]] = {}
    for job in jobs:
        if job.out_path.parent not in manifests:
            manifests[job.out_path.parent] = load_manifest(job.out_path.parent)
    return [manifests[job.out_path.parent].get(job.out_path.name) for job in jobs]
