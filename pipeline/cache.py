"""Content-addressed sentence cache: synthesized audio keyed on everything that changes its sound.

The key covers the sentence as the engine reads it (after lexicon and normalisation), the
engine and model identity (model file hash, speaker, package version) and the speaking rate.
Engines are not deterministic, so reusing cached audio byte for byte is what keeps untouched
sentences sounding exactly as before.

An entry is one file: magic, sample rate, sample count, SHA-256 of the samples, then float32
samples. Entries are written atomically and verified on read; a corrupt one is deleted and
reported, and the sentence is synthesized again.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .files import replacing

MAGIC = b"EPC1"
_HEADER = struct.Struct("<4sIQ32s")


class CorruptEntry(Exception):
    """A cache entry failed verification."""


def sentence_key(engine_identity: str, spoken: str, rate: float) -> str:
    """The cache key of one sentence spoken by one engine at one rate."""
    digest = hashlib.sha256()
    for part in (engine_identity, spoken, f"{rate:.4f}"):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheStats:
    entries: int
    bytes: int


class SentenceCache:
    """A folder of verified audio entries, two hex digits of fan-out."""

    def __init__(self, folder: Path):
        self.folder = folder

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.pcm"

    def get(self, key: str) -> tuple[np.ndarray, int] | None:
        """The cached samples and rate, None if absent; raises CorruptEntry (after deleting it)."""
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

    def put(self, key: str, samples: np.ndarray, rate: int) -> None:
        data = np.ascontiguousarray(samples, dtype="<f4").tobytes()
        header = _HEADER.pack(MAGIC, rate, len(data) // 4, hashlib.sha256(data).digest())
        with replacing(self.path(key)) as temporary:
            temporary.write_bytes(header + data)

    def keys(self) -> set[str]:
        return {p.stem for p in self.folder.glob("*/*.pcm")}

    def stats(self) -> CacheStats:
        files = list(self.folder.glob("*/*.pcm"))
        return CacheStats(len(files), sum(f.stat().st_size for f in files))

    def prune(self, keep: set[str]) -> CacheStats:
        """Delete entries whose key is not in `keep`; returns what was removed."""
        removed = CacheStats(0, 0)
        for path in self.folder.glob("*/*.pcm"):
            if path.stem not in keep:
                size = path.stat().st_size
                path.unlink(missing_ok=True)
                removed = CacheStats(removed.entries + 1, removed.bytes + size)
        for folder in self.folder.glob("*"):
            if folder.is_dir() and not any(folder.iterdir()):
                os.rmdir(folder)
        return removed
