"""Where ffmpeg is: $EPISODES_FFMPEG, else the binary inside the imageio-ffmpeg wheel (so no
system install is needed). Light to import: planning a build needs the encoder's version, not numpy."""

from __future__ import annotations

import functools
import os
from pathlib import Path

from ..errors import AudioError


@functools.lru_cache(maxsize=1)
def ffmpeg_path() -> str:
    """The ffmpeg binary: $EPISODES_FFMPEG, else the one inside imageio-ffmpeg."""
    explicit = os.environ.get("EPISODES_FFMPEG")
    if explicit:
        if not Path(explicit).is_file():
            raise AudioError(f"EPISODES_FFMPEG points to {explicit}, which does not exist")
        return explicit
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError) as exc:
        raise AudioError(f"no ffmpeg found ({exc}); pip install imageio-ffmpeg or set EPISODES_FFMPEG") from None


def lookup_key() -> str | None:
    """What decides the binary `ffmpeg_path` finds in imageio-ffmpeg (its version and its own
    IMAGEIO_FFMPEG_EXE), known without importing it; None when EPISODES_FFMPEG names the
    binary, which needs no lookup."""
    if os.environ.get("EPISODES_FFMPEG"):
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        package = version("imageio-ffmpeg")
    except PackageNotFoundError:
        package = "-"
    return f"imageio-ffmpeg {package} {os.environ.get('IMAGEIO_FFMPEG_EXE', '')}"
