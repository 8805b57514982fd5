"""Stage fingerprints, computed in one place: what each stage's output depends on.

An output is up to date when the digest of everything that produced it is unchanged (the action
keys of Bazel and ccache). Each stage's key is a small mapping of named components, so a changed
key also says which input changed:

- sentence: the sentence as the engine reads it, the voice identity and the speaking rate; the
  sentence cache is keyed on it;
- audio: the spoken sentences and pauses, the voice, every production setting, the sound design and
  recording, the audio-processing format version and the encoder;
- tags: every tag value, the track total and the cover's bytes included;
- sidecars: what captions and the transcript are made from.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .engines import sha256_file

TAGS_FORMAT = "2"
"""Bump when the tag table (pipeline/tags.py) writes different frames for the same values."""
SIDECARS_FORMAT = "2"
"""Bump when captions or transcripts are laid out differently for the same sentences."""


def digest(*parts: Any) -> str:
    """A short stable digest of JSON-serialisable parts."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def sentence_key(voice_identity: str, spoken: str, rate: float, take: int = 0) -> str:
    """Cache key of one sentence spoken by one voice at one rate (and, for a retake after speech
    recognition flagged it, the take number)."""
    parts = [voice_identity, spoken, f"{rate:.4f}"] + ([f"take={take}"] if take else [])
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def changed(old: dict[str, str] | None, new: dict[str, str]) -> list[str]:
    """Names of the components whose digest differs (all of them when there is no old key)."""
    if not old:
        return list(new)
    return [name for name, value in new.items() if old.get(name) != value]


def settings_digest(settings: Any) -> str:
    """Digest of a frozen settings dataclass, field by field."""
    return digest(dataclasses.asdict(settings))


def file_stamp(path: Path) -> list[int]:
    """(size, mtime, inode): what says a file is still the one hashed before."""
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


@dataclass(frozen=True)
class KnownDigests:
    """File digests the driver already holds, sent with the work: a worker on the same machine
    finds a file with the same stamp and need not read it again (a voice model is tens of MB,
    XTTS's nearly 2 GB); a changed file, or any file on another machine, is hashed."""

    entries: tuple[tuple[str, tuple[int, ...], str], ...] = ()
    """(resolved path, stamp, SHA-256) per file."""

    def __call__(self, path: Path) -> str:
        where, stamp = str(path.resolve()), tuple(file_stamp(path))
        for known_path, known_stamp, value in self.entries:
            if known_path == where and known_stamp == stamp:
                return value
        return sha256_file(path)


class Memo:
    """What a build remembers between runs to stay fast: file checksums keyed by (path, size,
    mtime, inode), so a no-op build does not read a 60 MB voice model again; each episode's
    sentence plan keyed by everything it is made from (script, lexicon, pauses, the text code
    itself); and checks passed by a file's contents (a cover that opens). A file that changes in
    any way is hashed anew; a lost or damaged memo costs time only.
    """

    def __init__(self, store: Path | None):
        self.store = store
        self._files: dict[str, list[Any]] = {}
        self._plans: dict[str, Any] = {}
        self._verdicts: dict[str, bool] = {}
        self._dirty = False
        if store is not None:
            try:
                data = json.loads(store.read_text(encoding="utf-8"))
                self._files = dict(data["files"])
                self._plans = dict(data["plans"])
                self._verdicts = dict(data["verdicts"])
            except (OSError, ValueError, KeyError, TypeError):
                pass

    def __call__(self, path: Path) -> str:
        """SHA-256 of a file."""
        stamp = file_stamp(path)
        key = str(path.resolve())
        known = self._files.get(key)
        if isinstance(known, list) and len(known) == 2 and known[0] == stamp:
            return str(known[1])
        value = sha256_file(path)
        self._files[key] = [stamp, value]
        self._dirty = True
        return value

    def known(self, paths: Iterable[Path]) -> KnownDigests:
        """The digests of `paths` with their stamps, for workers on this machine (KnownDigests)."""
        return KnownDigests(tuple((str(path.resolve()), tuple(file_stamp(path)), self(path)) for path in paths))

    def of(self, path: Path | None) -> str:
        """Digest of an optional file: "-" for none or a missing one."""
        if path is None or not path.is_file():
            return "-"
        return self(path)

    def ffmpeg(self) -> str:
        """`ffmpeg_path()`, remembered: finding the binary imports imageio-ffmpeg and runs it
        (40 ms, an eighth of a no-op build). The path found last time holds while what decides
        the lookup (`lookup_key`) is unchanged and the file is still there."""
        from .audio.ffmpeg import ffmpeg_path, lookup_key

        key = lookup_key()
        if key is None:
            return ffmpeg_path()
        known = self._files.get(key)
        if isinstance(known, list) and len(known) == 2 and known[0] == "ffmpeg" and os.path.isfile(known[1]):
            return str(known[1])
        path = ffmpeg_path()
        self._files[key] = ["ffmpeg", path]
        self._dirty = True
        return path

    def encoder_version(self, ffmpeg: str) -> str:
        """ffmpeg's and LAME's version, read from the binary once per binary."""
        stat = os.stat(ffmpeg)
        stamp = ["encoder", stat.st_size, stat.st_mtime_ns]
        known = self._files.get(ffmpeg)
        if isinstance(known, list) and len(known) == 2 and known[0] == stamp:
            return str(known[1])
        result = subprocess.run([ffmpeg, "-hide_banner", "-h", "encoder=libmp3lame"], capture_output=True, text=True)
        banner = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.splitlines()[:1]
        value = digest(banner, result.stdout)
        self._files[ffmpeg] = [stamp, value]
        self._dirty = True
        return value

    def plan(self, key: str) -> Any:
        """A remembered sentence plan, or None."""
        return self._plans.get(key)

    def remember_plan(self, key: str, value: Any) -> None:
        self._plans[key] = value
        self._dirty = True

    def checked(self, key: str) -> bool:
        """Whether a check keyed by a file's checksum (a cover that opens) passed before."""
        return bool(self._verdicts.get(key))

    def remember_checked(self, key: str) -> None:
        self._verdicts[key] = True
        self._dirty = True

    def save(self, keep_plans: set[str] | None = None) -> None:
        """Write the memo (atomically); `keep_plans` drops plans no current episode uses."""
        if self.store is None or not self._dirty:
            return
        if keep_plans is not None:
            self._plans = {k: v for k, v in self._plans.items() if k in keep_plans}
        from .files import replacing

        try:
            with replacing(self.store) as temporary:
                temporary.write_text(json.dumps({"files": self._files, "plans": self._plans,
                                                 "verdicts": self._verdicts}), encoding="utf-8")
            self._dirty = False
        except OSError:
            pass  # a memo that cannot be saved costs time on the next build, nothing else


@functools.lru_cache(maxsize=1)
def text_code_digest() -> str:
    """The code that turns scripts into sentences (parser, lexicon, normaliser) and num2words'
    version: part of every remembered sentence plan, so a change to how text is read re-plans."""
    from importlib.metadata import version

    folder = Path(__file__).parent
    parts = [(folder / name).read_bytes() for name in ("script.py", "text.py", "spoken.py")]
    return hashlib.sha256(b"\0".join(parts) + version("num2words").encode()).hexdigest()[:20]


def combine(components: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """A stage key: each named component digested."""
    return {name: digest(value) for name, value in components}
