"""File safety: atomic replacement, the output-folder lock, signal-safe commits, and cleanup after
a killed build.

Nothing half-written ever sits under a final name: files are written under a hidden `.partial`
name, in a staging folder on the same file system (`out/.partial/` for a build, so an output
folder never holds a partial MP3), and renamed into place. A build killed outright (SIGKILL)
can leave such a temporary file; the next build removes it while it holds the lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import getpass
import os
import signal
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from .errors import ConfigError, LockedError

LOCK_NAME = ".build.lock"
PARTIAL_MARK = ".partial"


def ensure_folder(path: Path) -> Path:
    """Create a folder (and its parents) or say plainly why it cannot be one."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError("is a file, but a folder is needed here; move it away", path) from None
    except NotADirectoryError:
        raise ConfigError("a parent of this folder is a file; move it away", path) from None
    except PermissionError:
        raise ConfigError("no permission to create this folder", path) from None
    if not path.is_dir():
        raise ConfigError("is not a folder", path)
    return path


def _temporary(path: Path, staging: Path | None) -> Path:
    folder = ensure_folder(staging or path.parent)
    return folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}{PARTIAL_MARK}"


@contextlib.contextmanager
def replacing(path: Path, staging: Path | None = None) -> Iterator[Path]:
    """Yield a temporary path in `staging` (default: beside `path`, same file system); rename it
    over `path` on success, delete it on failure."""
    ensure_folder(path.parent)
    temporary = _temporary(path, staging)
    try:
        yield temporary
        try:
            os.replace(temporary, path)
        except OSError as exc:
            what = "a folder is in the way" if path.is_dir() else exc.strerror or str(exc)
            raise ConfigError(f"cannot write here: {what}", path) from None
    finally:
        temporary.unlink(missing_ok=True)


def create_once(path: Path, data: bytes) -> bool:
    """Write `path` atomically unless it exists; first writer wins. Returns whether this call wrote it.

    A hard link never replaces an existing name, so two writers racing on one name cannot both win.
    """
    ensure_folder(path.parent)
    temporary = _temporary(path, None)
    try:
        temporary.write_bytes(data)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # A file system without hard links: exclusive creation, then the bytes, then a rename.
            if path.exists():
                return False
            os.replace(temporary, path)
        return True
    finally:
        temporary.unlink(missing_ok=True)


def write_if_changed(path: Path, data: bytes, staging: Path | None = None) -> bool:
    """Atomically write `data` unless the file already holds exactly that; returns whether it wrote.
    Keeps no-op builds from touching derived files (and their timestamps)."""
    if path.is_file() and path.read_bytes() == data:
        return False
    with replacing(path, staging) as temporary:
        temporary.write_bytes(data)
    return True


def _writer_alive(path: Path) -> bool:
    """Whether the process named in a temporary file's name (`.name.PID.TID.partial`) still runs."""
    try:
        pid = int(path.name.split(PARTIAL_MARK)[0].rsplit(".", 2)[1])
        os.kill(pid, 0)
    except (ValueError, IndexError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def remove_partials(folder: Path) -> int:
    """Delete temporary files that a killed process left under `folder`; returns how many."""
    stale = [p for p in folder.rglob(f".*{PARTIAL_MARK}") if p.is_file() and not _writer_alive(p)]
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold off Ctrl-C and SIGTERM while a short commit runs (rename the MP3, write the manifest),
    so an interrupt lands before or after it, never between the two."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def ignoring_signals() -> Iterator[None]:
    """After a first Ctrl-C, finish saving and publishing whatever more interrupts arrive."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def file_lock(path: Path, shared: bool, busy_message: str) -> Iterator[object]:
    """flock a file (the kernel releases it when the holder dies, however it dies); raises
    LockedError with `busy_message` (where "{holder}" stands for the holder's note) when it is taken."""
    ensure_folder(path.parent)
    try:
        handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held, locked, across the caller's block
    except IsADirectoryError:
        raise ConfigError("is a folder, but the lock file goes here; remove it", path) from None
    except PermissionError:
        raise ConfigError("no permission to write here (is the folder read-only?)", path.parent) from None
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise LockedError(busy_message.format(holder=holder), path.parent) from None
    try:
        yield handle
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _holder_note() -> str:
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    return f"pid {os.getpid()}, user {getpass.getuser()} on {socket.gethostname()}, since {started}"


@contextlib.contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on an output folder for the duration of a build. The lock file names
    the holder, for the message the next build shows."""
    busy = "another build holds this output folder ({holder}); wait for it to finish"
    with file_lock(folder / LOCK_NAME, False, busy) \
            as handle:
        handle.seek(0)
        handle.truncate()
        handle.write(_holder_note())
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
