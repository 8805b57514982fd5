"""Synthesis engines behind one interface, chosen per voice profile from a registry.

An engine is loaded once per worker process and voice, then speaks one sentence at a time:
`synthesize(text, rate)` returns mono float32 samples at `sample_rate`. `rate` is a speaking-rate
factor (1.0 = the model's natural pace, 1.1 = 10% faster).

The registry (`specs.py`) holds one `EngineSpec` per engine: the built-in Piper and Coqui entries,
plus any that an installed package declares under the `audio_overviews.engines` entry-point group.
A third engine is one module (with `load` and `model_files`) and one line.

A voice's identity, which keys the sentence cache and the up-to-date check, is computed here from
the profile and the contents of the files that define the voice, without loading the model.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import os
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ..errors import EngineError
from .specs import ENTRY_POINT_GROUP, EngineSpec, engine_installed, registry, spec_of

__all__ = ["ENTRY_POINT_GROUP", "Engine", "EngineSpec", "engine_installed", "load_engine", "registry", "spec_of",
           "voice_files", "voice_identity"]

if TYPE_CHECKING:
    import numpy as np

    from ..settings import VoiceProfile


class Engine(Protocol):
    sample_rate: int
    """Sample rate of the audio `synthesize` returns."""

    def synthesize(self, text: str, rate: float) -> np.ndarray:
        """Speak one sentence; mono float32 samples in -1..1."""
        ...


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
