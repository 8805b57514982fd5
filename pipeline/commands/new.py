"""`episodes new`: start a series or an episode from a template, so a producer begins with files that
build: a series folder with its commented series.yaml and a drawn cover, or the next numbered
script with its front matter filled in and a word budget for its target length. Nothing that
exists is ever overwritten.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, PipelineError
from ..files import create_once
from ..project import Project, load_catalog
from ..script import FILENAME_RE, MAX_EPISODE
from ..settings import SITE_FOLDER, SLUG_RE, load_series
from .estimate import DEFAULT_WORDS_PER_MINUTE

SERIES_TEMPLATE = """\
# {title}: {topic}. A series is this folder: series.yaml and one NN-slug.md script per episode.
# Every key is described in the README's series.yaml section.
title: {title_yaml}
topic: {topic_yaml}
author: {author_yaml}                # the artist and album-artist tags
description: {description_yaml}
language: en
copyright: {copyright_yaml}
category: Technology              # one of Apple Podcasts' categories
cover: cover.png                  # drawn by `episodes new series`; `episodes cover {slug}` draws it again
# base_url: https://example.org/{slug}     # where out/{slug}/ is published: the feed needs it
# owner:                          # Apple verifies the show with the owner's email
#   name: {author_plain}
#   email: you@example.org
production:
  target_duration_s: 90
"""

EPISODE_TEMPLATE = """\
---
title: {title_yaml}
episode: {number}
date: {date}
summary: {summary_yaml}
tags: []
---
<!-- About {words} words make {target:g} seconds with the voice `{voice}` ({pace}).
     `episodes estimate {label}` says how long this script will be; `episodes lint {label}` lists
     what the voice cannot read. This comment is not spoken. -->
Write the narration of this episode here.
"""


@dataclass(frozen=True)
class Created:
    """What `new` wrote."""

    files: list[Path]
    label: str
    """The name every command accepts for it (`series` or `series/NN-slug`)."""


def slugify(text: str) -> str:
    """A file-name slug: lower-case ASCII words joined by hyphens ("Hybrid Search!" -> "hybrid-search")."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-")


def _yaml_text(value: str) -> str:
    """A YAML scalar for any text (quoted, so `: ` or `#` in a title stays text)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def new_series(project: Project, slug: str, title: str, topic: str, author: str | None = None) -> Created:
    """A series folder under scripts/ with a commented series.yaml and a cover drawn from its title."""
    from ..cover import render_cover

    if not SLUG_RE.match(slug) or slug.casefold() == SITE_FOLDER:
        raise ConfigError(f"{slug!r} cannot name a series: use lower-case letters, digits and hyphens"
                          + (f" (and not `{SITE_FOLDER}`, the published site's folder)" if slug == SITE_FOLDER else ""))
    for name, value in (("--title", title), ("--topic", topic)):
        if not value.strip():
            raise ConfigError(f"{name} must not be empty")
    folder = project.scripts_dir / slug
    if folder.exists():
        raise ConfigError("already exists; choose another name (nothing was changed)", folder)
    author = (author or title).strip()
    year = dt.date.today().year
    text = SERIES_TEMPLATE.format(
        title=title.strip(), topic=topic.strip(), slug=slug, author_plain=author,
        title_yaml=_yaml_text(title.strip()), topic_yaml=_yaml_text(topic.strip()), author_yaml=_yaml_text(author),
        description_yaml=_yaml_text(f"90-second audio overviews on {topic.strip()}."),
        copyright_yaml=_yaml_text(f"{year} {author}"))
    folder.mkdir(parents=True)
    config = folder / "series.yaml"
    create_once(config, text.encode("utf-8"))
    cover = folder / "cover.png"
    create_once(cover, render_cover(load_series(folder, require_cover=False)))
    return Created([config, cover], slug)


def new_episode(project: Project, series_slug: str, title: str) -> Created:
    """The series' next numbered script, its front matter filled in and its word budget said."""
    from .estimate import voice_pace

    if not title.strip():
        raise ConfigError("the episode's title must not be empty")
    catalog = load_catalog(project)
    entry = next((e for e in catalog.series if e.series.slug == series_slug), None)
    if entry is None:
        known = ", ".join(e.series.slug for e in catalog.series) or "none yet: `episodes new series` starts one"
        raise PipelineError(f"no series {series_slug!r} under scripts/ (series: {known})")
    folder = entry.series.folder
    numbers = [int(m.group(1)) for p in folder.glob("*.md") if (m := FILENAME_RE.match(p.stem))]
    number = max(numbers, default=0) + 1
    if number > MAX_EPISODE:
        raise ConfigError(f"the series already has episode {MAX_EPISODE}, the highest number a script may have", folder)
    slug = slugify(title) or f"episode-{number}"
    if any(p.stem.split("-", 1)[-1] == slug for p in folder.glob("*.md")):
        raise ConfigError(f"an episode of this series is already called {slug!r}; choose another title", folder)
    path = folder / f"{number:02d}-{slug}.md"
    production = entry.series.production
    voice = production.voice
    pace = _pace_words_per_minute(project, voice, voice_pace)
    target = production.target_duration_s
    words = int(round(pace[0] * target / 60.0 * 0.85 / 10.0) * 10)  # about 15% of the time is pauses
    text = EPISODE_TEMPLATE.format(
        title_yaml=_yaml_text(title.strip()), number=number, date=dt.date.today().isoformat(),
        summary_yaml=_yaml_text(f"One line about {title.strip()}, for the feed and the comment tag."),
        words=words, target=target, voice=voice, pace=pace[1], label=f"{series_slug}/{path.stem}")
    if not create_once(path, text.encode("utf-8")):
        raise ConfigError("already exists (nothing was changed)", path)
    return Created([path], f"{series_slug}/{path.stem}")


def _pace_words_per_minute(project: Project, voice_name: str, voice_pace) -> tuple[float, str]:
    """The voice's pace in words per minute, and where it comes from, in words."""
    from ..plan import BuildOptions
    from .build import dry_run

    plan = dry_run(project, [], BuildOptions())
    paces = voice_pace(plan)
    for step in plan.steps:
        if step.job.voice.name == voice_name and step.job.voice_identity in paces:
            seconds, count = paces[step.job.voice_identity]
            return 60.0 / seconds, f"{60.0 / seconds:.0f} words a minute, measured on {count} built episodes"
    profile = next((s.job.voice for s in plan.steps if s.job.voice.name == voice_name), None)
    wpm = (profile.words_per_minute if profile is not None and profile.words_per_minute else DEFAULT_WORDS_PER_MINUTE)
    return wpm, f"about {wpm:.0f} words a minute until an episode is built"
