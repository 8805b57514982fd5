"""Every stage key, computed here and nowhere else: what each output depends on.

An output is up to date when the digest of everything that produced it is unchanged (the action
keys of Bazel and ccache). Each stage's key is a small mapping of named components, so a changed
key also says which input changed:

- sentence: the sentence as the engine reads it, the voice identity and the speaking rate; the
  sentence cache is keyed on it;
- plan: an episode's sentences as written and spoken (script, lexicon, pauses, the text code);
- audio: the spoken sentences and pauses, the voice, every production setting, the sound design and
  recording, the audio-processing format version and the encoder (and the takes the producer
  picked, for an episode with picks);
- approval: the audio key and the sentence-cache entries an approved episode was assembled from;
- tags: every tag value, the track total and the cover's bytes included;
- sidecars: what captions and the transcript are made from;
- publish: what a series' manifest export, review page and feed are made from.

The memo that keeps these cheap to compute (file checksums, sentence plans) lives here too.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .engines import sha256_file
from .outputs import AUDIO

if TYPE_CHECKING:
    from .state import Store

TAGS_FORMAT = "3"
"""Bump when the tag table (pipeline/tags.py) writes different frames for the same values."""
SIDECARS_FORMAT = "3"
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
    """What a build remembers between runs to stay fast, kept in the state store: file checksums
    keyed by (path, size, mtime, inode), so a no-op build does not read a 60 MB voice model again;
    each episode's sentence plan keyed by everything it is made from (script, lexicon, pauses, the
    text code itself); and checks passed by a file's contents (a cover that opens). A file that
    changes in any way is hashed anew; a lost memo costs time only. What is learnt is written in
    one transaction by `save`.
    """

    def __init__(self, store: Store | None):
        self.store = store
        self._files: dict[str, tuple[Any, str]] = store.memo_files() if store is not None else {}
        self._new_files: dict[str, tuple[Any, str]] = {}
        self._plans: dict[str, Any] = {}
        self._new_plans: dict[str, Any] = {}
        self._new_checks: set[str] = set()

    def _known(self, key: str, stamp: Any) -> str | None:
        known = self._files.get(key)
        return known[1] if known is not None and known[0] == stamp else None

    def _learn(self, key: str, stamp: Any, value: str) -> str:
        self._files[key] = self._new_files[key] = (stamp, value)
        return value

    def __call__(self, path: Path) -> str:
        """SHA-256 of a file."""
        stamp, key = file_stamp(path), str(path.resolve())
        return self._known(key, stamp) or self._learn(key, stamp, sha256_file(path))

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
        found = self._known(key, "ffmpeg")
        if found and os.path.isfile(found):
            return found
        return self._learn(key, "ffmpeg", ffmpeg_path())

    def encoder_version(self, ffmpeg: str) -> str:
        """ffmpeg's and LAME's version, read from the binary once per binary."""
        stat = os.stat(ffmpeg)
        stamp = ["encoder", stat.st_size, stat.st_mtime_ns]
        known = self._known(ffmpeg, stamp)
        if known:
            return known
        from .audio.ffmpeg import run_ffmpeg

        result = run_ffmpeg([ffmpeg, "-hide_banner", "-h", "encoder=libmp3lame"]).stdout.decode(errors="replace")
        banner = run_ffmpeg([ffmpeg, "-version"]).stdout.decode(errors="replace").splitlines()[:1]
        return self._learn(ffmpeg, stamp, digest(banner, result))

    def plan(self, key: str) -> Any:
        """A remembered sentence plan, or None."""
        if key not in self._plans and self.store is not None:
            self._plans[key] = self.store.memo_plan(key)
        return self._plans.get(key)

    def remember_plan(self, key: str, value: Any) -> None:
        self._plans[key] = self._new_plans[key] = value

    def checked(self, key: str) -> bool:
        """Whether a check keyed by a file's checksum (a cover that opens) passed before."""
        return key in self._new_checks or (self.store is not None and self.store.memo_checked(key))

    def remember_checked(self, key: str) -> None:
        self._new_checks.add(key)

    def save(self, keep_plans: set[str] | None = None) -> None:
        """Write what was learnt; `keep_plans` drops plans no current episode uses."""
        if self.store is None:
            return
        if not (self._new_files or self._new_plans or self._new_checks) and keep_plans is None:
            return
        self.store.save_memo(self._new_files, self._new_plans, self._new_checks, keep_plans)
        self._new_files, self._new_plans, self._new_checks = {}, {}, set()


@functools.lru_cache(maxsize=1)
def text_code_digest() -> str:
    """The code that turns scripts into sentences (parser, lexicon, normaliser) and num2words'
    version: part of every remembered sentence plan, so a change to how text is read re-plans."""
    from importlib.metadata import version

    folder = Path(__file__).parent
    files = [folder / "script.py", folder / "text.py", *sorted((folder / "spoken").glob("*.py"))]
    parts = [path.read_bytes() for path in files]
    return hashlib.sha256(b"\0".join(parts) + version("num2words").encode()).hexdigest()[:20]


def combine(components: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """A stage key: each named component digested."""
    return {name: digest(value) for name, value in components}


def plan_key(script_sha: str, lexicon_sha: str, pauses: tuple[int, ...], script: Path, disclosure: str | None) -> str:
    """Key of an episode's sentence plan: the script, the lexicon, the pauses, the disclosure
    sentence and the text code."""
    return digest(script_sha, lexicon_sha, pauses, text_code_digest(), str(script), disclosure)


def sound_digest(design: Any, file_digest: Callable[[Path], str]) -> object:
    """The sound design's settings and its files' contents."""
    if design is None:
        return "-"
    return {f.name: file_digest(value) if isinstance(value, Path) else value
            for f in dataclasses.fields(design) for value in [getattr(design, f.name)]}


def audio_key(utterances: Sequence[Any], voice: tuple[str, float] | None, production: Any, sound: Any,
              recording: object, encoder: str, file_digest: Callable[[Path], str],
              picks: dict[str, int] | None = None) -> dict[str, str]:
    """The audio stage's key. `voice` is (identity, rate), None for a person's recording, whose
    `recording` digest covers the file and its clean-up; the voice's name and the loudness
    tolerance (a gate's setting) do not change the sound. `picks` (the take the producer picked
    for sentences, by spoken text) adds a `takes` component, only for an episode with picks, so
    every other episode's key stays as it was."""
    from .audio import AUDIO_FORMAT

    return combine([
        ("spoken text", [(u.spoken, u.pause_after_ms) for u in utterances]),
        ("voice", "-" if voice is None else list(voice)),
        ("settings", settings_digest(dataclasses.replace(production, voice="", loudness_tolerance_lu=0.5))),
        ("sound", sound_digest(sound, file_digest)),
        ("recording", recording),
        ("software", [AUDIO_FORMAT, encoder]),
    ] + ([("takes", sorted(picks.items()))] if picks is not None else []))


def approval_fingerprint(result: Any) -> str | None:
    """The audio an approval is tied to, from a built episode's result (None without audio): its
    audio key (every input of its sound) and the sentence-cache entries the audio was assembled
    from (which take of each sentence, at which rate). Any change that alters the audio changes
    it; re-tagging does not."""
    if result is None or not result.has_audio:
        return None
    text = json.dumps([result.keys.get(AUDIO, {}), list(result.cache_keys)], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def tags_key(values: Any, file_digest: Callable[[Path | None], str]) -> dict[str, str]:
    """The tags stage's key: each tag value by name, the cover by its file's checksum."""
    fields = {f.name: getattr(values, f.name) for f in dataclasses.fields(values) if f.name != "cover"}
    fields["cover"] = file_digest(values.cover)
    fields["format"] = TAGS_FORMAT
    return combine(fields.items())


def sidecars_key(utterances: Sequence[Any], title: str, narration: str, speaker: str,
                 disclosure: str | None) -> dict[str, str]:
    """The sidecars stage's key: what the captions (and their speaker) and the transcript are made from."""
    return combine([
        ("captions", [[u.written, u.line] for u in utterances if u.spoken] + [speaker, SIDECARS_FORMAT]),
        ("transcript", [title, narration, disclosure, SIDECARS_FORMAT]),
    ])


def publish_key(base_url: str, revision: int, sources: list[Path | None], outputs: list[Path]) -> str:
    """A series' publishing key: the base URL, its results (the store's revision for the series),
    the bytes of the files it is made from (series file, cover), and the state on disk of the
    files it covers (MP3s, exports), so a file changed or removed by hand is published again."""
    from . import __version__

    hashed = hashlib.sha256(f"{__version__}|{base_url}|{revision}".encode())
    for path in sources:
        hashed.update(path.read_bytes() if path is not None and path.exists() else b"-")
    for path in outputs:
        try:
            stat = path.stat()
            hashed.update(f"{path.name}|{stat.st_size}|{stat.st_mtime_ns}".encode())
        except OSError:
            hashed.update(f"{path.name}|-".encode())
    return hashed.hexdigest()
