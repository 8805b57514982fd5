"""Where ffmpeg is: $EPISODES_FFMPEG, else the binary inside the imageio-ffmpeg wheel (so no
system install is needed), and how it is started. Light to import: planning a build needs the
encoder's version, not numpy.

Every ffmpeg child starts through `run_ffmpeg` or `start_ffmpeg`, so that it follows its parent's
view of Ctrl-C. ffmpeg installs its own SIGINT handler, so a child inherits no "ignore" from its
parent; a build started in the background by a shell without job control ignores SIGINT, yet a
Ctrl-C at that terminal reaches its whole process group, and ffmpeg children would stop mid-encode.
A parent that ignores SIGINT (such a build, and the build's worker processes, which leave
interrupts to the driver) therefore starts ffmpeg in its own session, out of reach of the
terminal's Ctrl-C; a parent that takes Ctrl-C leaves ffmpeg in its group, so both stop together.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

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


def _interrupts() -> dict[str, Any]:
    """subprocess options that keep a Ctrl-C this process ignores away from its ffmpeg child."""
    return {"start_new_session": signal.getsignal(signal.SIGINT) is signal.SIG_IGN}


def run_ffmpeg(command: list[str], input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """`subprocess.run` for an ffmpeg command, output captured (see the module docstring)."""
    return subprocess.run(command, input=input, capture_output=True, **_interrupts())


def start_ffmpeg(command: list[str], **options: Any) -> subprocess.Popen[bytes]:
    """`subprocess.Popen` for an ffmpeg command (see the module docstring)."""
    return subprocess.Popen(command, **options, **_interrupts())
