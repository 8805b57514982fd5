"""Where things are, and what is there: the project's folders, its series, episodes, voices and
lexicon, read once per command, and which episodes a command's targets name.

Broken inputs do not stop the others: a series or script that fails to parse is kept as an error
naming its file and line, and the rest of the catalogue is usable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .cache import SentenceCache
from .errors import ConfigError, PipelineError, ScriptError
from .script import FILENAME_RE, Episode, load_episodes
from .settings import Series, VoiceProfile, load_series, load_voices, series_folder_problems
from .text import Lexicon, load_lexicon


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

    @property
    def shared_cache(self) -> bool:
        """Whether the sentence cache lives outside this project's out/ (other projects may use it)."""
        return bool(os.environ.get("EPISODES_CACHE"))

    def series_out(self, series: Series) -> Path:
        return self.out_dir / series.slug


@dataclass
class SeriesEntry:
    """One series folder as read: its settings, its valid episodes and what failed to parse."""

    series: Series
    episodes: list[Episode]
    errors: list[PipelineError]
    scripts: int
    """Number of scripts in the folder: the track total N of n/N."""


@dataclass
class Catalog:
    """Everything the scripts and voices folders hold, parsed once."""

    project: Project
    series: list[SeriesEntry] = field(default_factory=list)
    voices: dict[str, VoiceProfile] = field(default_factory=dict)
    lexicon: Lexicon = field(default_factory=lambda: Lexicon([], None))
    errors: list[PipelineError] = field(default_factory=list)
    """Broken series files and script folders without a series file."""


def load_catalog(project: Project) -> Catalog:
    """Read every series, episode, voice profile and the lexicon. A broken voice profile or lexicon
    is fatal (every episode depends on them); a broken series or script is recorded and skipped."""
    scripts = project.scripts_dir
    if not scripts.is_dir():
        raise ConfigError("no scripts/ folder here; run from the project folder or pass --project", project.root)
    catalog = Catalog(project, voices=load_voices(project.voices_dir) if project.voices_dir.is_dir() else {},
                      lexicon=load_lexicon(project.voices_dir / "lexicon.yaml"),
                      errors=list(series_folder_problems(scripts)))
    for folder in sorted(p for p in scripts.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not (folder / "series.yaml").is_file():
            continue
        try:
            series = load_series(folder)
        except PipelineError as exc:
            catalog.errors.append(exc)
            continue
        episodes, errors = load_episodes(folder)
        scripts_count = len(episodes) + len({e.path for e in errors if e.path})
        catalog.series.append(SeriesEntry(series, episodes, errors, scripts_count))
    return catalog


def _names_of_script(path: Path) -> set[str]:
    """What a target may call a script by, from its file name alone (for scripts that failed to parse)."""
    names = {path.stem, str(path)}
    named = FILENAME_RE.match(path.stem)
    if named:
        names |= {str(int(named.group(1))), named.group(1), named.group(2)}
    return names


def _matches(series: str, episode: Episode, target: str) -> bool:
    """Whether `target` names the episode: `SERIES/NN-slug`, `SERIES/NN`, `SERIES/slug` (the names
    every command prints), or without the series: a number, `NN-slug`, a slug; or the script's path."""
    if target.endswith(".md"):
        return Path(target).resolve() == episode.path.resolve()
    if "/" in target:
        folder, _, name = target.partition("/")
        return folder == series and bool(name) and _matches(series, episode, name)
    if target.isdigit():
        return episode.number == int(target)
    return target in (episode.slug, episode.stem)


def _names_broken_script(error: PipelineError, target: str) -> bool:
    if error.path is None:
        return False
    if target.endswith(".md"):
        return Path(target).resolve() == error.path.resolve()
    if "/" in target:
        folder, _, name = target.partition("/")
        return folder == error.path.parent.name and name in _names_of_script(error.path)
    return target in _names_of_script(error.path)


@dataclass
class Selection:
    """The episodes a command works on, with the errors that belong to them."""

    episodes: list[tuple[SeriesEntry, Episode]]
    errors: list[PipelineError]
    whole_series: bool
    """True when no targets were given: every series is built in full (orphans may be removed)."""


def select(catalog: Catalog, targets: list[str]) -> Selection:
    """Resolve targets (`SERIES/NN-slug`, `SERIES/NN`, `SERIES/slug`, slugs, numbers, NN-slug stems
    or script paths; none = everything)."""
    chosen: list[tuple[SeriesEntry, Episode]] = []
    errors: list[PipelineError] = list(catalog.errors) if not targets else []
    matched: set[str] = set()
    for entry in catalog.series:
        for error in entry.errors:
            if not targets or any(_names_broken_script(error, t) for t in targets):
                errors.append(error)
                matched.update(t for t in targets if _names_broken_script(error, t))
        for episode in entry.episodes:
            hits = [t for t in targets if _matches(entry.series.slug, episode, t)]
            if targets and not hits:
                continue
            matched.update(hits)
            chosen.append((entry, episode))
    broken_series = [e for e in catalog.errors if e.path is not None and e.path.name == "series.yaml"]
    for target in targets:
        if target in matched:
            continue
        if broken_series:
            errors.extend(e for e in broken_series if e not in errors)
            continue
        errors.append(ScriptError(f"no episode matches {target!r} (give SERIES/NN-slug, as `episodes list` shows, "
                                  "or a slug, number or script path)"))
    return Selection(chosen, errors, whole_series=not targets)


def one_episode(catalog: Catalog, target: str) -> tuple[SeriesEntry, Episode]:
    """The one episode a name gives (`series/NN-slug`, or any form `select` takes); an unknown name
    is the selection's error, an ambiguous one lists its matches."""
    selection = select(catalog, [target])
    if selection.errors:
        raise selection.errors[0]
    if len(selection.episodes) != 1:
        names = ", ".join(f"{entry.series.slug}/{episode.stem}" for entry, episode in selection.episodes)
        raise PipelineError(f"{target!r} matches {len(selection.episodes)} episodes ({names}); name one of them")
    return selection.episodes[0]
