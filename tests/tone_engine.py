"""A test double registered as a real engine plugin (`engine: tone`): speaks each word as a tone
burst whose length scales exactly with 1/rate, with silence around each sentence like a real voice.

Fast and deterministic, so trimming, pauses, fitting and levelling can be tested without a model,
in the driver's process or in worker processes (conftest registers the entry point for both).
Behaviour for fault tests comes from the environment, which workers inherit:
EPISODES_TONE_DELAY_S (seconds to sleep per sentence), EPISODES_TONE_DIE_ON (a word: a worker
speaking a sentence holding it exits at once, as if killed), EPISODES_TONE_DIE_ONCE (a marker
file: only the first such worker dies) and EPISODES_TONE_HANG_FILE (a file holding a word and the
driver's process id: the first other process to speak a sentence holding the word removes the
file and hangs, as a deadlocked engine would).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import numpy as np

from pipeline.engines import EngineSpec

SPEC = EngineSpec("tone", "tests.tone_engine", "numpy", "(the tests' tone engine)", (), 0.05, deterministic=True)
CALLS: list[tuple[str, float]] = []
"""Every sentence spoken in this process: (text, rate)."""


class ToneEngine:
    sample_rate = 22050

    def __init__(self, seconds_per_letter: float = 0.05, level: float = 0.3):
        self.seconds_per_letter = seconds_per_letter
        self.level = level

    def synthesize(self, text: str, rate: float) -> np.ndarray:
        delay = float(os.environ.get("EPISODES_TONE_DELAY_S") or 0)
        if delay:
            time.sleep(delay)
        die_on = os.environ.get("EPISODES_TONE_DIE_ON")
        if die_on and die_on in text and multiprocessing.parent_process() is not None:
            once = os.environ.get("EPISODES_TONE_DIE_ONCE")
            if not once or not os.path.exists(once):
                if once:
                    open(once, "w").close()
                os._exit(9)  # only in a worker process: the driver itself never dies here
        _hang_if_asked(text)
        if "explode" in text:
            raise RuntimeError("model exploded")
        CALLS.append((text, rate))
        parts = [np.zeros(int(0.2 * self.sample_rate), dtype=np.float32)]
        for index, word in enumerate(text.split()):
            n = int(self.sample_rate * self.seconds_per_letter * len(word) / rate)
            t = np.arange(n) / self.sample_rate
            tone = self.level * np.sin(2 * np.pi * (180 + 20 * (index % 5)) * t) * np.hanning(n)
            parts += [tone.astype(np.float32), np.zeros(int(0.04 * self.sample_rate / rate), dtype=np.float32)]
        parts.append(np.zeros(int(0.3 * self.sample_rate), dtype=np.float32))
        return np.concatenate(parts)


def _hang_if_asked(text: str) -> None:
    marker = os.environ.get("EPISODES_TONE_HANG_FILE")
    try:
        word, driver = Path(marker).read_text().split() if marker else ("", "")
    except (OSError, ValueError):
        return
    if word and word in text and os.getpid() != int(driver):
        try:
            os.remove(marker)
        except FileNotFoundError:
            return  # another worker took it
        time.sleep(3600)


def model_files(profile) -> list[Path]:
    """`model:` may name a file (any bytes) standing for a model, to test voice identity."""
    path = profile.resolve(profile.model)
    return [path] if path.is_file() else []


def load(profile, threads: int) -> ToneEngine:
    return ToneEngine()
