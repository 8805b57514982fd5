"""Content-addressed sentence cache: synthesized audio keyed on everything that changes its sound.

The key (pipeline.fingerprint.sentence_key) covers the sentence as the engine reads it, the voice's
identity and the speaking rate. Engines are not deterministic, so reusing cached audio byte for byte
is what keeps untouched sentences sounding exactly as before.

An entry is one file: magic, sample rate, sample count, SHA-256 of the samples, then float32
samples. The first writer of a key wins (an entry is never replaced), so an MP3 always matches the
entries it was built from. Entries are verified on read; a corrupt one is deleted and reported, and
the sentence is synthesized again.

A cache may be shared by several projects ($EPISODES_CACHE). Each build registers the entries its
project uses (`users/<project>.json`) and holds a shared lock on the cache while it runs; pruning
takes the lock exclusively and keeps every registered project's entries unless told otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from .errors import ConfigError
from .files import create_once, ensure_folder, file_lock, replacing, write_if_changed

if TYPE_CHECKING:
    import numpy as np

MAGIC = b"EPC1"
_HEADER = struct.Struct("<4sIQ32s")
LOCK_NAME = ".lock"
USERS = "users"


class CorruptEntry(Exception):
    """A cache entry failed verification."""


@dataclass(frozen=True)
class CacheStats:
    entries: int
    bytes: int


@dataclass(frozen=True)
class CacheUser:
    """A project that registered the entries it uses."""

    project: str
    keys: frozenset[str]

    @property
    def exists(self) -> bool:
        return Path(self.project).is_dir()


class SentenceCache:
    """A folder of verified audio entries, two hex digits of fan-out."""

    def __init__(self, folder: Path):
        self.folder = folder

    def check(self) -> SentenceCache:
        """Make sure the folder can hold a cache; a clear error naming it otherwise."""
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError("the sentence cache must be a folder, but this is a file "
                              "(check $EPISODES_CACHE)", self.folder)
        ensure_folder(self.folder)
        return self

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pcm"

    def get(self, key: str) -> tuple[np.ndarray, int] | None:
        """The cached samples and rate, None if absent; raises CorruptEntry (after deleting it)."""
        import numpy as np

        path = self.path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            magic, rate, count, checksum = _HEADER.unpack_from(raw)
            data = raw[_HEADER.size :]
            if magic != MAGIC or len(data) != count * 4 or hashlib.sha256(data).digest() != checksum:
                raise ValueError
        except (struct.error, ValueError):
            path.unlink(missing_ok=True)
            raise CorruptEntry(f"cache entry {path.name} was corrupt and has been discarded") from None
        return np.frombuffer(data, dtype="<f4").copy(), rate

    def put(self, key: str, samples: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
        """Store an entry unless one exists (first writer wins); returns the samples now stored under
        the key, which are another writer's when it got there first."""
        import numpy as np

        data = np.ascontiguousarray(samples, dtype="<f4").tobytes()
        header = _HEADER.pack(MAGIC, rate, len(data) // 4, hashlib.sha256(data).digest())
        if create_once(self.path(key), header + data):
            return np.frombuffer(data, dtype="<f4").copy(), rate
        try:
            existing = self.get(key)
        except CorruptEntry:
            existing = None
        if existing is None:  # the other writer's entry was corrupt: store ours in its place
            with replacing(self.path(key)) as temporary:
                temporary.write_bytes(header + data)
            return np.frombuffer(data, dtype="<f4").copy(), rate
        return existing

    def _entries(self) -> Iterator[Path]:
        return self.folder.glob("??/*.pcm")

    def keys(self) -> set[str]:
        return {p.stem for p in self._entries()}

    def stats(self) -> CacheStats:
        sizes = [p.stat().st_size for p in self._entries()]
        return CacheStats(len(sizes), sum(sizes))

    # -- sharing between projects ----------------------------------------------------------------

    def _user_file(self, project: Path) -> Path:
        name = hashlib.sha256(str(project.resolve()).encode()).hexdigest()[:16]
        return self.folder / USERS / f"{name}.json"

    def register(self, project: Path, keys: Iterable[str]) -> None:
        """Record the entries `project` uses, so pruning from another project keeps them."""
        document = {"project": str(project.resolve()), "keys": sorted(set(keys))}
        write_if_changed(self._user_file(project), json.dumps(document).encode("utf-8"))

    def users(self) -> list[CacheUser]:
        found = []
        for path in sorted((self.folder / USERS).glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                found.append(CacheUser(str(data["project"]), frozenset(data["keys"])))
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return found

    @contextlib.contextmanager
    def in_use(self) -> Iterator[None]:
        """Held (shared) by a build for its whole run, so no prune deletes entries it is writing."""
        with file_lock(self.folder / LOCK_NAME, True, "the sentence cache is being pruned ({holder}); try again shortly"):
            yield

    def prune(self, keep: set[str]) -> CacheStats:
        """Delete entries whose key is not in `keep`; returns what was removed. Refused while any
        build (of any project sharing the cache) is running."""
        removed_entries = removed_bytes = 0
        with file_lock(self.folder / LOCK_NAME, False, "a build is using the sentence cache ({holder}); prune when it ends"):
            for path in list(self._entries()):
                if path.stem not in keep:
                    size = path.stat().st_size
                    path.unlink(missing_ok=True)
                    removed_entries += 1
                    removed_bytes += size
            for folder in self.folder.glob("??"):
                if folder.is_dir() and not any(folder.iterdir()):
                    os.rmdir(folder)
        return CacheStats(removed_entries, removed_bytes)
