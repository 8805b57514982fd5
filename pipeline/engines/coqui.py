"""Coqui TTS (the `coqui-tts` package): VITS-style models, single- or multi-speaker, and XTTS v2.

A model is a Coqui model name (downloaded and cached by Coqui on a connected machine) or a local
checkpoint: `model:` a .pth file with `config:` its config.json, or a folder holding both (the
layout of an XTTS download). Speaking rate maps to the model's own control: XTTS takes `speed`,
VITS-family models divide their `length_scale`.

XTTS reads at most a few hundred characters per call (a per-language limit), so longer sentences
are split at clause boundaries and the pieces joined. Its sampling can also run away, repeating
words or trailing off into babble: any output far longer than the text can take is synthesized
again, and after a few tries the sentence fails with a clear message.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EngineError
from ..settings import VoiceProfile

SLOWEST_CHARS_PER_S = 4.0
"""No real reading is slower than this; audio longer than the text allows is a runaway."""
RUNAWAY_GRACE_S = 2.0
RUNAWAY_RETRIES = 3
DEFAULT_CHAR_LIMIT = 250
RATE_MODELS = {"Vits", "GlowTTS", "Xtts"}


@dataclass
class CoquiEngine:
    tts: Any
    """The loaded `TTS.api.TTS` object."""
    profile: VoiceProfile
    kind: str
    """Model class name: "Vits", "Xtts", ..."""
    base_length_scale: float | None

    @property
    def sample_rate(self) -> int:
        return int(self.tts.synthesizer.output_sample_rate)

    def synthesize(self, text: str, rate: float) -> np.ndarray:
        pieces = split_for_limit(text, self._char_limit()) if self.kind == "Xtts" else [text]
        return np.concatenate([self._guarded(piece, rate) for piece in pieces]).astype(np.float32)

    def _char_limit(self) -> int:
        tokenizer = getattr(self.tts.synthesizer.tts_model, "tokenizer", None)
        limits = getattr(tokenizer, "char_limits", {}) or {}
        return int(limits.get(self.profile.language.split("-")[0], DEFAULT_CHAR_LIMIT))

    def _guarded(self, text: str, rate: float) -> np.ndarray:
        longest_s = len(text) / (SLOWEST_CHARS_PER_S * rate) + RUNAWAY_GRACE_S
        for _ in range(RUNAWAY_RETRIES):
            audio = np.asarray(self._speak(text, rate), dtype=np.float32)
            if len(audio) / self.sample_rate <= longest_s:
                return audio
        raise EngineError(
            f"the model kept producing runaway audio ({len(audio) / self.sample_rate:.1f} s for "
            f"{len(text)} characters, at most {longest_s:.1f} s expected) in {RUNAWAY_RETRIES} tries; "
            "reword the sentence or split it",
            self.profile.path,
        )

    def _speak(self, text: str, rate: float) -> list[float]:
        if self.kind == "Xtts":
            return self.tts.tts(text, language=self.profile.language.split("-")[0],
                                speaker_wav=str(self.profile.resolve(self.profile.speaker_wav)),
                                speed=rate, split_sentences=False)
        if self.base_length_scale is not None:
            self.tts.synthesizer.tts_model.length_scale = self.base_length_scale / rate
        elif rate != 1.0:
            raise EngineError(
                f"{self.kind} models have no speaking-rate control; set min_rate and max_rate to 1.0 "
                "for episodes with this voice",
                self.profile.path,
            )
        return self.tts.tts(text, speaker=self.profile.speaker, split_sentences=False)


_CLAUSE_BREAKS = (r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+")


def split_for_limit(text: str, limit: int) -> list[str]:
    """Split text into pieces of at most `limit` characters, at the strongest break available:
    semicolons and colons, then commas, then spaces. No text is dropped."""
    if len(text) <= limit:
        return [text]
    for pattern in _CLAUSE_BREAKS:
        parts = re.split(pattern, text)
        if len(parts) > 1:
            pieces, current = [], ""
            for part in parts:
                candidate = f"{current} {part}".strip()
                if current and len(candidate) > limit:
                    pieces.append(current)
                    current = part
                else:
                    current = candidate
            pieces.append(current)
            if all(len(p) <= limit for p in pieces):
                return pieces
            return [q for p in pieces for q in split_for_limit(p, limit)]
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def _local_model(profile: VoiceProfile) -> tuple[Path, Path] | None:
    """(checkpoint, config) when `model:` names a local file or folder, else None."""
    path = profile.resolve(profile.model)
    looks_local = profile.model.startswith((".", "/", "~")) or path.exists() or profile.config
    if not looks_local:
        return None
    beside = path / "config.json" if path.is_dir() else path.with_name("config.json")
    config = profile.resolve(profile.config) or profile.resolve(str(beside))  # in the project, like the model
    checkpoint = path
    if not checkpoint.exists():
        raise EngineError(f"Coqui model not found: {checkpoint}", profile.path)
    if not config.is_file():
        raise EngineError(f"Coqui model config not found: {config} (set `config:` in the profile)", profile.path)
    return checkpoint, config


def _check_reference(profile: VoiceProfile) -> Path:
    if not profile.speaker_wav:
        raise EngineError("an XTTS voice needs `speaker_wav:`, a reference recording of the voice to clone",
                          profile.path)
    reference = profile.resolve(profile.speaker_wav)
    if not reference.is_file():
        raise EngineError(f"reference audio for XTTS not found: {reference}", profile.path)
    from ..audio.codec import decode

    try:
        samples, rate = decode(reference)
    except Exception as exc:  # decode raises AudioError; anything else is unreadable too
        raise EngineError(f"reference audio for XTTS is unreadable: {reference} ({exc})", profile.path) from None
    if len(samples) < rate:
        raise EngineError(f"reference audio for XTTS is under a second long: {reference}", profile.path)
    return reference


def model_files(profile: VoiceProfile) -> list[Path]:
    """The files that define the voice: a local checkpoint's weights, config and speaker files,
    and the XTTS reference recording. A model named for Coqui to download has none here; its name
    and the coqui-tts version stand for it."""
    files: list[Path] = []
    local = _local_model(profile)
    if local is not None:
        checkpoint, config = local
        weights = sorted(p for p in checkpoint.iterdir() if p.suffix in (".pth", ".json")) if checkpoint.is_dir() \
            else [checkpoint, *sorted(checkpoint.parent.glob("speakers*.pth"))]
        weights = [profile.resolve(str(p)) for p in weights]  # a link out of the project is refused
        files += [*weights, config] if config not in weights else weights
    if profile.speaker_wav:
        reference = profile.resolve(profile.speaker_wav)
        if reference.is_file():
            files.append(reference)
    return files


def load(profile: VoiceProfile, threads: int) -> CoquiEngine:
    import torch
    from TTS.api import TTS

    torch.set_num_threads(threads)
    local = _local_model(profile)
    is_xtts = "xtts" in profile.model.lower()
    if is_xtts and local is None and os.environ.get("COQUI_TOS_AGREED") != "1":
        raise EngineError(
            "XTTS v2 is released under the Coqui Public Model License; read it, then set "
            "COQUI_TOS_AGREED=1 to let Coqui download the model", profile.path)
    try:
        if local is None:
            tts = TTS(model_name=profile.model, progress_bar=False)
        else:
            tts = TTS(model_path=str(local[0]), config_path=str(local[1]), progress_bar=False)
    except EngineError:
        raise
    except Exception as exc:  # network, missing files and bad checkpoints all land here
        hint = ("" if local else
                "; if this machine is offline, download the model on a connected machine "
                f"(`tts --model_name {profile.model} --list_speaker_idxs`) and point `model:` at the checkpoint "
                "and `config:` at its config.json")
        raise EngineError(f"cannot load Coqui model {profile.model}: {exc}{hint}", profile.path) from exc
    model = tts.synthesizer.tts_model
    kind = type(model).__name__
    if kind == "Xtts":
        _check_reference(profile)
    speakers = tts.speakers or []
    if profile.speaker is not None and kind != "Xtts" and profile.speaker not in speakers:
        raise EngineError(f"speaker {profile.speaker!r} is not in this model "
                          f"(known: {', '.join(speakers[:20]) or 'single-speaker model'})", profile.path)
    if profile.speaker is None and speakers and kind != "Xtts":
        raise EngineError(f"this model has several speakers; set `speaker:` (for example {speakers[0]!r})",
                          profile.path)
    base = float(model.length_scale) if kind in RATE_MODELS and kind != "Xtts" else None
    return CoquiEngine(tts, profile, kind, base)
