"""`episodes check`: every gate on what is in out/, as a listener would get it.

Each episode's MP3 is decoded and measured; each series' tags are compared across its files, its
track numbers must cover 1..N without gaps, and its feed is validated offline. A file that cannot
be decoded or read is a failed gate naming it, never a crash.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from .errors import PipelineError
from .gates import Gate, audio_gates, tag_gates
from .manifest import Manifest
from .project import Project, load_catalog


def check_project(project: Project, on_file: Callable[[str], None] = lambda name: None) -> list[Gate]:
    """Run every gate on what is in out/."""
    from .audio.codec import decode
    from .audio.loudness import measure

    catalog = load_catalog(project)
    gates = [Gate(str(e.path or project.root), "input", False, e.message) for e in catalog.errors]
    for entry in catalog.series:
        folder = project.series_out(entry.series)
        gates += [Gate(e.path.name if e.path else entry.series.slug, "script", False, str(e)) for e in entry.errors]
        manifest = Manifest(folder, {})
        for episode in entry.episodes:
            path = folder / f"{episode.stem}.mp3"
            on_file(f"{entry.series.slug}/{path.name}")
            if not path.is_file():
                gates.append(Gate(path.name, "exists", False, "MP3 missing; run episodes build"))
                continue
            try:
                production = entry.series.production.merged(episode.overrides, episode.path)
                audio, rate = decode(path)
                built = manifest.get(path.name)
                extra_s = float((built.fit if built else {}).get("programme_extra_s") or 0.0)
                gates.extend(audio_gates(path.name, audio, rate, measure(audio, rate), production, extra_s))
            except PipelineError as exc:
                gates.append(Gate(path.name, "decodes", False, exc.message))
        gates.extend(tag_gates(sorted(folder.glob("*.mp3")), entry.series, entry.scripts))
        gates.extend(feed_gates(folder))
    return gates


def feed_gates(folder: Path) -> list[Gate]:
    """The series feed against Apple's and Podcasting 2.0's rules, offline."""
    from .publish.rules import validate_feed

    feed = folder / "feed.xml"
    if not feed.is_file():
        return []
    problems = validate_feed(feed.read_bytes(), f"{folder.name}/feed.xml", folder)
    if not problems:
        return [Gate(f"{folder.name}/feed.xml", "feed", True, "valid")]
    return [Gate(f"{folder.name}/feed.xml", f"feed: {p.rule}", False, f"{p.element}: {p.message}") for p in problems]
