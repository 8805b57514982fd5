"""Perceived quality without a reference: Microsoft's DNSMOS (P.835), through `speechmos`'s
bundled ONNX model.

DNSMOS scores 9.01 s windows for signal (the voice), background (noise) and overall quality, on
a 1..5 scale. `speechmos.dnsmos.run` slides that window by 1 s and also runs the P.808 model,
which costs about 55 CPU-seconds for a 90 s episode; here each part of the episode is scored
once (windows side by side, spread evenly so the last one ends with the audio), by the P.835
model only, in one batched call: 10 windows, 3.7 CPU-seconds, for a 90 s episode.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.dsp import resample
from ..errors import EngineError
from .asr import INSTALL_HINT

SAMPLE_RATE = 16000
"""DNSMOS's input rate."""


@dataclass(frozen=True)
class Mos:
    """DNSMOS P.835 scores, each 1..5 (higher is better), averaged over the windows."""

    signal: float
    """SIG: distortion of the voice itself."""
    background: float
    """BAK: intrusiveness of noise."""
    overall: float
    """OVRL: overall quality."""
    windows: int
    """How many 9.01 s windows were scored."""

    def to_dict(self) -> dict[str, float]:
        return {"signal": round(self.signal, 3), "background": round(self.background, 3),
                "overall": round(self.overall, 3)}


@functools.lru_cache(maxsize=2)
def _session(threads: int):
    if importlib.util.find_spec("speechmos") is None or importlib.util.find_spec("onnxruntime") is None:
        raise EngineError(f"quality scores need the `speechmos` package, which is not installed; "
                          f"install it with: {INSTALL_HINT}")
    import onnxruntime
    import speechmos.dnsmos

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    model = Path(speechmos.dnsmos.__file__).parent / "dnsmos_models" / "sig_bak_ovr.onnx"
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


def window_starts(length: int, window: int, max_windows: int | None = None) -> list[int]:
    """Starts of evenly spread windows that cover `length` samples, each part about once (or at
    most `max_windows` of them, spread over the whole length)."""
    count = max(1, round(length / window))
    if max_windows:
        count = min(count, max_windows)
    return [int(round(s)) for s in np.linspace(0, max(0, length - window), count)]


def dnsmos(audio: np.ndarray, rate: int, threads: int = 1, max_windows: int | None = None) -> Mos:
    """DNSMOS signal, background and overall scores of a recording ((n,) or (n, channels) floats).

    About 0.37 CPU-seconds per 9 s window; `max_windows` scores a sample of the recording instead
    (3 windows: 1.1 CPU-seconds, within 0.16 of the full overall score on the shipped series).
    """
    import speechmos.dnsmos

    session = _session(threads)
    mono = audio if audio.ndim == 1 else audio.mean(axis=1)
    x = np.clip(resample(mono.astype(np.float32), rate, SAMPLE_RATE), -1.0, 1.0)
    window = int(speechmos.dnsmos.INPUT_LENGTH * SAMPLE_RATE)
    if len(x) == 0:
        raise ValueError("no audio to score")
    while len(x) < window:  # as DNSMOS does for short clips: repeat the clip
        x = np.concatenate([x, x])
    batch = np.stack([x[s : s + window] for s in window_starts(len(x), window, max_windows)]).astype(np.float32)
    raw = session.run(None, {session.get_inputs()[0].name: batch})[0]
    # speechmos's calibration polynomials (P.835, not personalised); the method uses no state.
    signal, background, overall = speechmos.dnsmos.DNSMOS.get_polyfit_val(None, raw[:, 0], raw[:, 1], raw[:, 2], False)
    return Mos(float(np.mean(signal)), float(np.mean(background)), float(np.mean(overall)), len(batch))
