"""`episodes master`: master any recording the way episodes are mastered (loudness, true-peak
limiter, encode, verify on the decoded file), optionally tagged with a series' frames and cover."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.master import MasterResult
from ..errors import PipelineError
from ..events import Emit, Progress, ignore
from ..files import replacing
from ..project import Project
from ..settings import Production


@dataclass(frozen=True)
class MasterOptions:
    overrides: dict[str, Any] = field(default_factory=dict)
    """Production settings (target_lufs, ceiling_dbtp, bitrate_kbps, channels) over the defaults."""
    series: str | None = None
    """Tag it with this series' album, artist, genre, copyright and cover (a folder under scripts/)."""
    title: str | None = None
    """The title tag (default: the source file's name), with `series`."""
    cleanup: bool = True
    """Clean the recording first (hum, clicks, noise, sibilance, levels, long pauses), mono."""


@dataclass(frozen=True)
class Mastered:
    result: MasterResult
    cleanup: dict[str, Any]
    """What cleaning did, measured (empty when it was off)."""


def master(project: Project, source: Path, out: Path, options: MasterOptions = MasterOptions(),
           emit: Emit = ignore) -> Mastered:
    """Master `source` into `out` (an .mp3, written atomically; never the source itself), cleaned
    first unless `options.cleanup` is off."""
    from ..audio.master import MasterSettings, master_file

    if out.suffix.lower() != ".mp3":
        raise PipelineError(f"the output must end in .mp3, not {out.suffix or '(no extension)'}", out)
    if not out.parent.is_dir():
        raise PipelineError("the folder for the output does not exist", out.parent)
    if out.exists() and source.exists() and out.resolve() == source.resolve():
        raise PipelineError("the output is the input: give another file name, the recording is kept as it is", out)
    production = Production().merged(options.overrides)
    tags = _series_tags(project, options.series, options.title or source.stem) if options.series else None
    cleaned: dict[str, Any] = {}

    def clean_up(audio: np.ndarray, rate: int) -> np.ndarray:
        from ..audio.cleanup import CleanupSettings, clean

        emit(Progress(source.name, "cleaning"))
        mono = audio if audio.ndim == 1 else audio.mean(axis=1)
        audio, report = clean(mono.astype(np.float32), rate, CleanupSettings(), production.max_pause_ms)
        cleaned.update(report.to_dict())
        return audio

    result = master_file(source, MasterSettings.of(production),
                         progress=lambda message: emit(Progress(source.name, message)),
                         prepare=clean_up if options.cleanup else None)
    with replacing(out) as temporary:
        temporary.write_bytes(result.mp3)
        if tags is not None:
            from ..cover import series_cover
            from ..tags import write_tags

            write_tags(temporary, tags[0], series_cover(tags[1]))
    return Mastered(result, cleaned)


def _series_tags(project: Project, slug: str, title: str):
    """Tag values for a file mastered outside a build: the series' frames, the given title."""
    from ..settings import load_series
    from ..tags import TagValues

    info = load_series(project.scripts_dir / slug)
    values = TagValues(title=title, album=info.album, artist=info.author, genre=info.genre, copyright=info.copyright,
                       track=0, track_total=0, date="", summary="", narration="", language=info.language,
                       cover=info.cover, custom={})
    return values, info
