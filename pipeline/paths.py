"""Paths a project names: each must lead to a regular file inside the project folder.

A project is the folder holding scripts/ and voices/. Its files name other files (a series' cover
and sound, an episode's recording, a voice's model, config and reference recording); whatever
they name is read, embedded or handed to ffmpeg, so a path that leaves the project (`/etc/...`,
`../../`, `~/`, or a symlink pointing out) could read anything the user can read. One rule for
all of them: the path, resolved against the folder of the file that names it with every symlink
followed, must lie inside the project. An absolute path inside the project is fine; `~` is never
expanded (it means another folder on every machine).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import ConfigError, PipelineError


def inside_project(value: str, base: Path, root: Path, what: str, file: Path, line: int | None,
                   error: type[PipelineError] = ConfigError) -> Path:
    """`value` (as written in `file` at `line`, relative to the folder `base`) resolved, symlinks
    followed; raises `error` naming `file` and `line` when it leaves the project folder `root`.

    `what` names the value in the message ("cover", "`intro` file", "recording").
    """
    text = value.strip()
    if text.startswith("~"):
        raise error(f"{what} {text[:60]!r}: `~` is not expanded here; give a path inside the project folder "
                    f"(relative to {base})", file, line)
    try:
        resolved = (base / text).resolve()
        top = root.resolve()
    except (OSError, ValueError, RuntimeError):  # a NUL byte, a symlink loop (RuntimeError before 3.13)
        raise error(f"{what} path {text[:60]!r} is not usable", file, line) from None
    if not resolved.is_relative_to(top):
        raise error(f"{what} {resolved}: must be inside the project folder {top}", file, line)
    return resolved


def file_problem(path: Path) -> str | None:
    """Why `path` is not a regular file that can be read ("not found", "is a folder", ...), or None.

    A folder, a device (/dev/zero never ends), a named pipe (blocks until someone writes) or a
    socket handed to ffmpeg would hang or fail with a message about something else."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return "not found"
    except (OSError, ValueError) as exc:
        return f"cannot be read ({getattr(exc, 'strerror', None) or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    return "is not a regular file"

