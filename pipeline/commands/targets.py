"""Episode names as the studio and `episodes list` give them (`series/NN-slug`), made build targets."""

from __future__ import annotations

from ..errors import PipelineError
from ..project import Catalog, Project, load_catalog


def script_of(catalog: Catalog, label: str) -> str:
    """The script path of the episode a label (`series/NN-slug`) names: a target every command takes."""
    series, _, stem = label.partition("/")
    for entry in catalog.series:
        if entry.series.slug == series:
            for episode in entry.episodes:
                if episode.stem == stem:
                    return str(episode.path)
    raise PipelineError(f"no episode {label!r} (name it series/NN-slug, as `episodes list` shows it)")


def script_target(project: Project, target: str) -> str:
    """A target as given, or for a label (`series/NN-slug`) its script's path."""
    if "/" not in target or target.endswith(".md"):
        return target
    return script_of(load_catalog(project), target)
