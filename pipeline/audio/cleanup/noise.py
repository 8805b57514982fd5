"""Broadband noise reduction: RNNoise (Xiph's recurrent network, weights compiled into the
`pyrnnoise` wheel's library; nothing is downloaded).

RNNoise works on 10 ms frames at 48 kHz and int16-scaled floats. The recording is resampled to
48 kHz (soxr, streaming), denoised frame by frame, and resampled back, a piece at a time, so the
only full-length array is the float32 result. RNNoise delays its output by DELAY_48K samples;
that is removed, so every word stays where it was (tests/test_cleanup.py checks the alignment).
Measured in the whole chain on bench/bench_cleanup.py's recording (pink noise at 10 dB SNR)
against a spectral gate with the noise profile of the recording's own pauses (`noisereduce`) and a
decision-directed Wiener filter on the same profile: DNSMOS overall 3.11 for RNNoise, 2.83 and
2.72 for the others (README, "Cleaning recordings"). The pauses still measure the noise, before
and after.
About 0.1 CPU-second per second of audio.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
from pathlib import Path

import numpy as np

from ...errors import AudioError
from .frames import CHUNK_SAMPLES

RATE = 48000
"""RNNoise's sample rate."""
DELAY_48K = 960
"""RNNoise's output lags its input by two 10 ms frames."""
SCALE = 32768.0
"""RNNoise reads samples on the int16 scale."""


LIBRARY_NAMES = ("librnnoise.so", "librnnoise.dylib", "rnnoise.dll")
"""What `pyrnnoise` calls its build of the library on Linux, macOS and Windows."""


@functools.lru_cache(maxsize=1)
def _library() -> tuple[ctypes.CDLL, int]:
    """RNNoise's C library as the `pyrnnoise` wheel ships it, and its frame size.

    The library is found without importing `pyrnnoise`, whose package imports its file-reading
    side (PyAV, matplotlib: a third of a second and tens of megabytes in every worker); its
    Python wrapper would also round each frame to int16. The library is called directly, on
    float32, through ctypes.

    Raises:
        AudioError: when `pyrnnoise` is not installed.
    """
    spec = importlib.util.find_spec("pyrnnoise")
    folder = Path(spec.origin).parent if spec is not None and spec.origin else None
    found = [folder / name for name in LIBRARY_NAMES if folder is not None and (folder / name).is_file()]
    if not found:
        raise AudioError("noise reduction needs RNNoise from the `pyrnnoise` package, which is not installed "
                         "(pip install -e .), or turn the step off (cleanup: {noise: off})")
    library = ctypes.CDLL(str(found[0]))
    library.rnnoise_create.restype = ctypes.c_void_p
    library.rnnoise_create.argtypes = [ctypes.c_void_p]
    library.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    library.rnnoise_process_frame.restype = ctypes.c_float
    library.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    library.rnnoise_get_frame_size.restype = ctypes.c_int
    return library, int(library.rnnoise_get_frame_size())


class _Denoiser:
    """One RNNoise state fed 48 kHz samples of any length; returns the denoised samples that are
    ready, already shifted by its delay."""

    def __init__(self) -> None:
        self.library, self.frame = _library()
        self.state = self.library.rnnoise_create(None)
        self.pending = np.zeros(0, dtype=np.float32)
        self.to_skip = DELAY_48K

    def close(self) -> None:
        self.library.rnnoise_destroy(self.state)

    def feed(self, samples: np.ndarray) -> np.ndarray:
        buffer = np.concatenate([self.pending, samples * np.float32(SCALE)]).astype(np.float32)
        usable = len(buffer) // self.frame * self.frame
        out = np.empty(usable, dtype=np.float32)
        base_in, base_out = buffer.ctypes.data, out.ctypes.data
        step = self.frame * 4
        for offset in range(0, usable * 4, step):
            self.library.rnnoise_process_frame(self.state, base_out + offset, base_in + offset)
        self.pending = buffer[usable:]
        skipped = min(self.to_skip, len(out))
        self.to_skip -= skipped
        out = out[skipped:]
        out /= np.float32(SCALE)
        return out


def reduce_noise(x: np.ndarray, rate: int) -> np.ndarray:
    """`x` (mono float32, any rate) with its background noise removed by RNNoise; same length."""
    import soxr

    up = soxr.ResampleStream(rate, RATE, 1, dtype="float32", quality="HQ") if rate != RATE else None
    down = soxr.ResampleStream(RATE, rate, 1, dtype="float32", quality="HQ") if rate != RATE else None
    denoiser = _Denoiser()
    out = np.zeros(len(x), dtype=np.float32)
    written = 0
    try:
        starts = range(0, max(len(x), 1), CHUNK_SAMPLES)
        for start in starts:
            last = start == starts[-1]
            piece = np.ascontiguousarray(x[start : start + CHUNK_SAMPLES], dtype=np.float32)
            high = up.resample_chunk(piece, last=last) if up else piece
            if last:  # flush the delay and the last partial frame with silence
                high = np.concatenate([high, np.zeros(DELAY_48K + denoiser.frame, dtype=np.float32)])
            clean = denoiser.feed(high)
            low = down.resample_chunk(clean, last=last) if down else clean
            take = min(len(low), len(out) - written)
            out[written : written + take] = low[:take]
            written += take
    finally:
        denoiser.close()
    return out
