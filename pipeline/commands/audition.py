"""Auditioning what a voice will say: `episodes say` (a phrase, with the lexicon and normaliser
applied) and `episodes lexicon` (the entries, and with `--audit` which of them speech recognition
does not hear as the word)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import PipelineError
from ..paths import inside_project
from ..project import Project
from ..settings import Production, VoiceProfile, load_voices
from ..text import Lexicon, load_lexicon, prepare

if TYPE_CHECKING:
    from ..qa.audit import AuditResult

AUDITION_SUFFIXES = (".mp3", ".wav")


@dataclass(frozen=True)
class Reading:
    """What a voice makes of a phrase."""

    spoken: str
    """The text the voice reads, after the lexicon and normalisation."""
    phonemes: str | None
    """The phonemes it speaks, for engines that tell (Piper)."""


def voice_named(project: Project, name: str | None) -> VoiceProfile:
    profiles = load_voices(project.voices_dir)
    name = name or Production().voice
    if name not in profiles:
        raise PipelineError(f"unknown voice {name!r} (profiles: {', '.join(profiles) or 'none'})")
    return profiles[name]


def lexicon_of(project: Project) -> Lexicon:
    """The project's lexicon, which like every file in voices/ may not be a link out of the project."""
    path = project.voices_dir / "lexicon.yaml"
    inside_project(path.name, path.parent, project.root, "a link to", path, None)
    return load_lexicon(path)


def reading(project: Project, text: str, voice: VoiceProfile) -> Reading:
    """How the voice will read `text`, without speaking it."""
    from ..engines import load_engine

    spoken = prepare(text, lexicon_of(project))
    if not any(c.isalnum() for c in spoken):
        raise PipelineError(f"nothing to say in {text!r}")
    phonemes = getattr(load_engine(voice), "phonemes", None)
    return Reading(spoken, phonemes(spoken) if phonemes else None)


def check_output(out: Path) -> Path:
    """An audition's file must be an .mp3 or .wav in a folder that exists (said before any work)."""
    if out.suffix.lower() not in AUDITION_SUFFIXES:
        raise PipelineError(f"the output must end in .mp3 or .wav, not {out.suffix or '(no extension)'}", out)
    if not out.parent.is_dir():
        raise PipelineError("the folder for the output does not exist", out.parent)
    return out


def script_reading(project: Project, path: Path, voice: VoiceProfile) -> list[tuple[int, str, str]]:
    """A script as the voice will read it: (line, written, spoken) for each sentence, after its
    marks, the lexicon and the normaliser (the disclosure a build adds is not included)."""
    from ..script import parse_episode
    from ..settings import Production
    from ..text import plan_utterances

    production = Production()
    episode = parse_episode(path)
    utterances = plan_utterances(episode, lexicon_of(project), voice.sentence_pause_ms,
                                 production.paragraph_pause_ms, production.max_pause_ms)
    return [(u.line, u.written, u.spoken) for u in utterances if u.spoken]


def say(project: Project, spoken: str, voice: VoiceProfile, out: Path) -> Path:
    """Speak already-prepared text, levelled to the default target, into `out` (.mp3 or .wav)."""
    from ..audio.codec import encode_mp3, write_wav
    from ..audio.limiter import level
    from ..engines import load_engine

    check_output(out)
    engine = load_engine(voice)
    audio = engine.synthesize(spoken, voice.rate)
    production = Production()
    if len(audio) >= 0.4 * engine.sample_rate:
        audio = level(audio, engine.sample_rate, production.target_lufs, production.ceiling_dbtp)
    if out.suffix.lower() == ".wav":
        write_wav(audio, engine.sample_rate, out)
    else:
        encode_mp3(audio, engine.sample_rate, out, production.bitrate_kbps)
    return out


def audit_lexicon(project: Project, voice: VoiceProfile, asr_model: str | None) -> list[AuditResult]:
    """Speak each lexicon entry in a carrier sentence and say which are not heard as the word."""
    from ..engines import load_engine
    from ..qa.asr import load_asr
    from ..qa.audit import audit_lexicon as audit

    engine = load_engine(voice)
    return audit(lexicon_of(project), lambda text: (engine.synthesize(text, voice.rate), engine.sample_rate),
                 load_asr(asr_model))
