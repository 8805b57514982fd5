"""The work a build hands out: plain values in, plain values out, no files read or written.

A worker (a local process or a Ray actor) runs these. It keeps each voice it has loaded for the
next sentence; everything else comes with the task, so no shared file system is needed.

    speak   one sentence by one voice at one rate -> raw samples
    finish  an assembled narration -> tempo, sound, master (encode, verify), gates, plot, QA
    check   a built MP3's bytes -> decoded, measured, its audio gates (`episodes check`)
"""

from __future__ import annotations

import functools
import socket
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audio.master import MasterResult, MasterSettings
from ..errors import EngineError, PipelineError
from ..fingerprint import KnownDigests
from ..settings import Production, VoiceProfile


def node_name() -> str:
    """Where this runs: the host name, and the Ray node when inside a Ray worker."""
    host = socket.gethostname()
    ray = __import__("sys").modules.get("ray")
    if ray is not None and ray.is_initialized():
        return f"{host}/{ray.get_runtime_context().get_node_id()[:8]}"
    return host


@dataclass(frozen=True)
class SpeakTask:
    voice: VoiceProfile
    identity: str
    """The voice identity the driver computed; a worker whose model files differ refuses."""
    digests: KnownDigests
    """The driver's digests of the voice's files, which a worker on its machine need not recompute."""
    text: str
    rate: float
    """Engine rate: the profile's own rate times the fit's factor."""


@dataclass(frozen=True)
class Spoken:
    samples: np.ndarray
    sample_rate: int
    node: str


@dataclass(frozen=True)
class FinishTask:
    """An episode's narration, assembled and fitted, to be made into a verified MP3."""

    file: str
    """The MP3's file name, for gate records."""
    narration: np.ndarray
    """Mono float32 speech with its pauses, without lead and tail padding."""
    rate: int
    spans: list[tuple[float, float]]
    """Each spoken sentence's (start, end) in `narration`, seconds."""
    tempo: float
    production: Production
    start: tuple[float, float] | None
    """(gain target, limiter ceiling) known to hold for these settings, or None."""
    sound: Any = None
    """The SoundDesign to mix the narration into, or None."""
    sources: dict[str, tuple[np.ndarray, int]] | None = None
    """The design's sound files, decoded once by the driver (workers need no shared files)."""
    plot: bool = True


@dataclass(frozen=True)
class Finished:
    mp3: bytes
    """Encoded and verified, not yet tagged."""
    mastered: MasterResult
    spans: list[tuple[float, float]]
    """Sentence spans on the final timeline (after padding, tempo and sound)."""
    gates: list[Any]
    plot_png: bytes | None
    node: str
    warnings: list[str] = field(default_factory=list)
    extra_s: float = 0.0
    """Seconds the intro and outro add beyond the fitted narration (0 when the programme is fitted)."""


@functools.lru_cache(maxsize=8)
def _checked_engine(voice: VoiceProfile, identity: str, digests: KnownDigests):
    from ..engines import load_engine, voice_identity

    here = voice_identity(voice, digests)
    if here != identity:
        raise EngineError(f"the voice `{voice.name}` on {node_name()} is not the one this build planned with "
                          "(its model files or engine version differ); install the same project and models on "
                          "every node", voice.path)
    return load_engine(voice)


def speak(task: SpeakTask) -> Spoken:
    engine = _checked_engine(task.voice, task.identity, task.digests)
    samples = engine.synthesize(task.text, task.rate)
    return Spoken(np.asarray(samples, dtype=np.float32), int(engine.sample_rate), node_name())


def finish(task: FinishTask) -> Finished:
    from ..audio.dsp import silence
    from ..audio.master import master
    from ..gates import audio_gates
    from ..plots import render_plot

    production = task.production
    narration, spans = task.narration, task.spans
    if task.tempo != 1.0:
        from ..audio.tempo import change_tempo

        narration = change_tempo(narration, task.rate, task.tempo)
        spans = [(start / task.tempo, end / task.tempo) for start, end in spans]
    lead = production.lead_pad_ms / 1000.0
    audio = np.concatenate([silence(production.lead_pad_ms, task.rate), narration.astype(np.float32),
                            silence(production.tail_pad_ms, task.rate)])
    spans = [(start + lead, end + lead) for start, end in spans]
    rate, programme, extra_s = task.rate, None, 0.0
    if task.sound is not None:
        from ..audio.dsp import resample
        from ..audio.mix import added_seconds, mix_programme

        rate = production.sample_rate_hz  # music mixed at a voice's 22.05 kHz would lose its top octave
        programme = mix_programme(resample(audio, task.rate, rate), rate, task.sound, task.sources)
        audio = programme.audio
        spans = [(start + programme.narration_offset_s, end + programme.narration_offset_s) for start, end in spans]
        extra_s = added_seconds(task.sound, task.sources or {}) if production.fit == "narration" else 0.0
    mastered = master(audio, rate, MasterSettings.of(production), task.start)
    gates = audio_gates(task.file, mastered.decoded, mastered.decoded_rate, mastered.report, production, extra_s)
    plot = None
    if task.plot:
        bed = None
        if programme is not None:
            from ..audio.mix import bed_level_db

            bed = bed_level_db(programme, rate, mastered.report.integrated_lufs)
        plot = render_plot(mastered.decoded, mastered.short_term_lufs, production.target_lufs, bed)
    return Finished(mastered.mp3, mastered, spans, gates, plot, node_name(), list(mastered.warnings), extra_s)


@dataclass(frozen=True)
class CheckTask:
    """A built episode to judge as a listener gets it: decoded and measured."""

    file: str
    mp3: bytes
    production: Production
    """The settings it was built with (what it is judged by)."""
    extra_s: float = 0.0
    """Seconds the intro and outro add beyond the window (`fit: narration`)."""


def check(task: CheckTask) -> list[Any]:
    from ..audio.codec import decode_bytes
    from ..audio.loudness import measure
    from ..gates import Gate, audio_gates

    try:
        audio, rate = decode_bytes(task.mp3)
    except PipelineError as exc:
        return [Gate(task.file, "decodes", False, exc.message)]
    return audio_gates(task.file, audio, rate, measure(audio, rate), task.production, task.extra_s)


def run(task: Any) -> Any:
    """Dispatch one task to its function (the one entry point workers call)."""
    if isinstance(task, SpeakTask):
        return speak(task)
    if isinstance(task, FinishTask):
        return finish(task)
    if isinstance(task, CheckTask):
        return check(task)
    raise PipelineError(f"unknown task {type(task).__name__}")


