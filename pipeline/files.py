"""File safety: atomic replacement, the output-folder lock, and cleanup after a killed build.

Nothing half-written ever sits under a final name: files are written under a hidden `.partial`
name, in a staging folder on the same file system (`out/.partial/` for a build, so an output
folder never holds a partial MP3), and renamed into place. A build killed outright (SIGKILL)
can leave such a temporary file; the next build removes it while it holds the lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import os
import socket
from pathlib import Path
from typing import Iterator

from .errors import LockedError

LOCK_NAME = ".build.lock"
PARTIAL_MARK = ".partial"


@contextlib.contextmanager
def replacing(path: Path, staging: Path | None = None) -> Iterator[Path]:
    """Yield a temporary path in `staging` (default: beside `path`, same file system); rename it
    over `path` on success, delete it on failure."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = staging or path.parent
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f".{path.name}.{os.getpid()}{PARTIAL_MARK}"
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_if_changed(path: Path, data: bytes, staging: Path | None = None) -> bool:
    """Atomically write `data` unless the file already holds exactly that; returns whether it wrote.
    Keeps no-op builds from touching derived files (and their timestamps)."""
    if path.exists() and path.read_bytes() == data:
        return False
    with replacing(path, staging) as temporary:
        temporary.write_bytes(data)
    return True


def _writer_alive(path: Path) -> bool:
    """Whether the process named in a temporary file's name (`.name.PID.partial`) still runs."""
    try:
        pid = int(path.name.split(PARTIAL_MARK)[0].rsplit(".", 1)[1])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def remove_partials(folder: Path) -> int:
    """Delete temporary files that a killed process left under `folder`; returns how many."""
    stale = [p for p in folder.rglob(f".*{PARTIAL_MARK}*") if not _writer_alive(p)]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


@contextlib.contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on an output folder for the duration of a build.

    The lock is an flock on `folder/.build.lock`, so the kernel releases it when the holder
    dies, however it dies. The file names the holder, for the message the next build shows.
    """
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / LOCK_NAME, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise LockedError(f"another build holds this output folder ({holder}); wait for it to finish", folder) from None
    try:
        handle.seek(0)
        handle.truncate()
        started = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        handle.write(f"pid {os.getpid()}, user {getpass.getuser()} on {socket.gethostname()}, since {started}")
        handle.flush()
        yield
    finally:
        handle.truncate(0)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
