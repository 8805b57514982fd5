"""Content-addressed sentence cache: synthesized audio keyed on everything that changes its sound.

The key (pipeline.fingerprint.sentence_key) covers the sentence as the engine reads it, the voice's
identity and the speaking rate. Engines are not deterministic, so reusing cached audio byte for byte
is what keeps untouched sentences sounding exactly as before.

An entry is one file holding the audio in the engine's native sample format, losslessly: 16-bit
audio (Piper's) as FLAC, about a quarter of the float32 it was kept as before (a 90-second episode
in well under 2 MB); float audio (Coqui, plugins) as float32. The header holds the format, sample
rate, sample count and the payload's SHA-256. Entries of the previous format (float32, `EPC1`) are
still read. The first writer of a key wins (an entry is never replaced), so an MP3 always matches
the entries it was built from: `put` returns the samples as stored, which later builds read back
bit for bit. Entries are verified on read; a corrupt one is deleted and reported, and the sentence
is synthesized again.

A cache may be shared by several projects ($EPISODES_CACHE). Each build registers the entries its
project uses (`users/<project>.json`) and holds a shared lock on the cache while it runs; pruning
takes the lock exclusively and keeps every registered project's entries unless told otherwise.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError
from .files import create_once, ensure_folder, file_lock, replacing, write_if_changed

if TYPE_CHECKING:
    import numpy as np

MAGIC = b"EPC2"
_HEADER = struct.Struct("<4sIQB32s")
"""magic, sample rate, sample count, encoding, SHA-256 of the payload."""
FLAC16, FLOAT32 = 1, 2
"""Encodings: 16-bit samples as FLAC; float32 samples as they are."""
OLD_MAGIC = b"EPC1"
_OLD_HEADER = struct.Struct("<4sIQ32s")
"""The previous format: float32 samples after magic, rate, count and checksum."""
FLAC_LEVEL = 0.5
"""soundfile's FLAC compression level (0-1): 0.51 of the 16-bit size at 2 ms per 6 s sentence;
the highest level saves 3 % more at six times the time."""
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
        """The cached samples (float32) and rate, None if absent; raises CorruptEntry (after deleting it)."""
        path = self.path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return _decoded(raw)
        except (struct.error, ValueError, RuntimeError):
            path.unlink(missing_ok=True)
            raise CorruptEntry(f"cache entry {path.name} was corrupt and has been discarded") from None

    def put(self, key: str, samples: np.ndarray, rate: int, sample_format: str = "float32") -> tuple[np.ndarray, int]:
        """Store an entry unless one exists (first writer wins); returns the samples now stored under
        the key (as a later `get` reads them), which are another writer's when it got there first.
        `sample_format` is the engine's native one: "int16" audio is kept as 16-bit FLAC."""
        entry = _encoded(samples, rate, sample_format)
        if create_once(self.path(key), entry):
            return _decoded(entry)
        try:
            existing = self.get(key)
        except CorruptEntry:
            existing = None
        if existing is None:  # the other writer's entry was corrupt: store ours in its place
            with replacing(self.path(key)) as temporary:
                temporary.write_bytes(entry)
            return _decoded(entry)
        return existing

    def _entries(self) -> Iterator[Path]:
        return self.folder.glob("??/*.pcm")

    def stored_keys(self) -> set[str]:
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
        busy = "the sentence cache is being pruned ({holder}); try again shortly"
        with file_lock(self.folder / LOCK_NAME, True, busy):
            yield

    def prune(self, keep: set[str]) -> CacheStats:
        """Delete entries whose key is not in `keep`; returns what was removed. Refused while any
        build (of any project sharing the cache) is running."""
        removed_entries = removed_bytes = 0
        busy = "a build is using the sentence cache ({holder}); prune when it ends"
        with file_lock(self.folder / LOCK_NAME, False, busy):
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


def _encoded(samples: np.ndarray, rate: int, sample_format: str) -> bytes:
    import numpy as np

    if sample_format == "int16":
        import soundfile

        pcm = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)
        buffer = io.BytesIO()
        soundfile.write(buffer, pcm, rate, format="FLAC", subtype="PCM_16", compression_level=FLAC_LEVEL)
        encoding, payload, count = FLAC16, buffer.getvalue(), len(pcm)
    else:
        payload = np.ascontiguousarray(samples, dtype="<f4").tobytes()
        encoding, count = FLOAT32, len(payload) // 4
    return _HEADER.pack(MAGIC, rate, count, encoding, hashlib.sha256(payload).digest()) + payload


def _decoded(raw: bytes) -> tuple[np.ndarray, int]:
    """Samples (float32) and rate of an entry; ValueError (or struct.error) when it does not verify."""
    import numpy as np

    if raw[:4] == OLD_MAGIC:
        _, rate, count, checksum = _OLD_HEADER.unpack_from(raw)
        data = raw[_OLD_HEADER.size:]
        if len(data) != count * 4 or hashlib.sha256(data).digest() != checksum:
            raise ValueError("corrupt")
        return np.frombuffer(data, dtype="<f4").copy(), rate
    magic, rate, count, encoding, checksum = _HEADER.unpack_from(raw)
    payload = raw[_HEADER.size:]
    if magic != MAGIC or hashlib.sha256(payload).digest() != checksum:
        raise ValueError("corrupt")
    if encoding == FLAC16:
        import soundfile

        pcm, _ = soundfile.read(io.BytesIO(payload), dtype="int16")
        samples = pcm.astype(np.float32) / np.float32(32768.0)
    elif encoding == FLOAT32:
        samples = np.frombuffer(payload, dtype="<f4").copy()
    else:
        raise ValueError("unknown encoding")
    if len(samples) != count:
        raise ValueError("corrupt")
    return samples, rate
