"""Recorded narration: a person's reading used instead of a voice, and where its sentences are.

A recording has no sentence boundaries, so captions need them found: the speech is split into
regions at its pauses, and a small dynamic programme chooses which pauses end sentences so that
each sentence's speaking time matches its share of the script's text, with the longest pauses
preferred where the script has its longest breaks (paragraphs, `[pause]` marks).

Speech is told from silence as in pipeline.audio.dsp, with one addition: a microphone's room
tone sits well above a synthesized voice's digital silence, so the threshold also clears the
recording's own noise floor.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import AudioError
from .codec import decode_mono
from .dsp import EDGE_KEEP_MS, FRAME_MS, SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS, frame_levels_db

NOISE_FLOOR_PERCENTILE = 5.0
"""The quietest frames of a recording (this percentile of frame levels) are its room tone."""
ABOVE_NOISE_DB = 10.0
"""Speech must stand this far above the room tone..."""
NOISE_CAP_BELOW_PEAK_DB = 30.0
"""...but the threshold never rises above the loudest frame less this (a recording with few pauses)."""
MIN_GAP_MS = 30.0
"""Silences shorter than this (stop consonants) do not split speech into regions."""
DURATION_SIGMA = 0.2
"""Expected spread of a sentence's speaking time around its text-length share (fraction)..."""
DURATION_FLOOR_S = 0.3
"""...plus this much, so short sentences are not held to a few frames."""
PAUSE_SIGMA = math.log(2.0)
"""Expected spread (natural log of the ratio) of a boundary pause around its expected length."""
MAX_RECORDING_S = 30 * 60.0
"""Longest recording accepted (twenty times an overview's length); a longer one is refused as it
is decoded, before it fills memory."""
MAX_REGIONS = 1200
"""Most speech regions the alignment chooses sentence ends among (its cost grows with their
square): a recording of short bursts is merged at its shortest gaps down to this many, and a
script of more sentences than this is refused."""
CLIP_LEVEL = 0.999
"""A sample at or above this magnitude (-0.01 dBFS) sits at full scale..."""
CLIP_RUN = 3
"""...and this many such samples in a row are a flattened peak: clipping."""
MIN_SPEECH_SHARE = 0.5
"""A recording whose seconds sound like speech less often than this gets a warning..."""
SPEECH_SWING_DB = 12.0
"""...where a second sounds like speech when its 10 ms levels swing by this much (syllables and
word gaps; steady noise swings by a few dB)."""


def speech_frames(audio: np.ndarray, rate: int) -> np.ndarray:
    """Boolean per 10 ms frame: True where someone speaks, False in pauses and room tone."""
    levels = frame_levels_db(audio, rate)
    if len(levels) == 0:
        return levels.astype(bool)
    peak = float(levels.max())
    noise = float(np.percentile(levels, NOISE_FLOOR_PERCENTILE))
    threshold = max(peak - SILENCE_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS,
                    min(noise + ABOVE_NOISE_DB, peak - NOISE_CAP_BELOW_PEAK_DB))
    return levels > threshold


def load_recording(path: Path) -> tuple[np.ndarray, int]:
    """A recorded narration as mono float32 samples and their rate (any format ffmpeg reads),
    decoded as a stream, so a file longer than MAX_RECORDING_S is refused before it fills memory.

    Raises:
        AudioError: naming the file, when ffmpeg cannot read it, it lasts too long or it holds
            no sound.
    """
    mono, rate = decode_mono(path, MAX_RECORDING_S)
    if not speech_frames(mono, rate).any():
        raise AudioError("the recording is silent", path)
    return mono, rate


def recording_warnings(audio: np.ndarray, rate: int, path: Path) -> list[str]:
    """`path: ...` warnings about a recording that will still be built: one that is clipped, and
    one that holds little speech (the wrong file, a noise or tone test, a blank take).

    Clipped: a run of CLIP_RUN or more samples in a row at or above CLIP_LEVEL (a flattened
    peak), on any channel of `audio` ((n,) or (n, channels)). Little speech: fewer than
    MIN_SPEECH_SHARE of the recording's one-second windows sound like speech, that is, hold sound
    (`speech_frames`) whose 10 ms levels swing by SPEECH_SWING_DB or more, as syllables and the
    gaps between words do; steady noise, hum, a tone or music without pauses does not swing so.
    """
    warnings = []
    runs, first = clipped_runs(audio)
    if runs:
        minutes, seconds = divmod(first / rate, 60.0)
        warnings.append(f"{path}: the recording is clipped: {runs} place{'s' if runs != 1 else ''} where "
                        f"{CLIP_RUN} or more samples in a row sit at full scale (first at {int(minutes)}:"
                        f"{seconds:04.1f}); record it again with more headroom")
    mono = audio.mean(axis=1, dtype=np.float32) if audio.ndim == 2 else audio
    share = speech_share(mono, rate)
    if share < MIN_SPEECH_SHARE:
        warnings.append(f"{path}: the recording holds little speech (only {share:.0%} of its seconds sound like "
                        "a voice); is it the right file?")
    return warnings


def clipped_runs(audio: np.ndarray) -> tuple[int, int]:
    """How many runs of CLIP_RUN or more samples at or above CLIP_LEVEL `audio` holds (over all
    channels), and the sample where the first starts (0 when there is none)."""
    frames = audio if audio.ndim == 2 else audio[:, None]
    runs, first = 0, len(frames)
    for channel in frames.T:
        hot = np.concatenate([[False], np.abs(channel) >= CLIP_LEVEL, [False]]).astype(np.int8)
        changes = np.diff(hot)
        starts, ends = np.flatnonzero(changes == 1), np.flatnonzero(changes == -1)
        long_enough = starts[ends - starts >= CLIP_RUN]
        runs += len(long_enough)
        if len(long_enough):
            first = min(first, int(long_enough[0]))
    return runs, first if runs else 0


def speech_share(audio: np.ndarray, rate: int) -> float:
    """The share of one-second windows of a mono recording that sound like speech: sound in them
    (`speech_frames`) and a swing of at least SPEECH_SWING_DB between their loudest and quietest
    10 ms frame."""
    levels = frame_levels_db(audio, rate)
    per_window = int(round(1000.0 / FRAME_MS))
    windows = len(levels) // per_window
    if windows == 0:
        return 0.0
    shaped = levels[: windows * per_window].reshape(windows, per_window)
    active = speech_frames(audio, rate)[: windows * per_window].reshape(windows, per_window)
    swinging = shaped.max(axis=1) - shaped.min(axis=1) >= SPEECH_SWING_DB
    return float(np.count_nonzero(swinging & active.any(axis=1))) / windows


def sentence_spans(
    audio: np.ndarray, rate: int, sentences: list[str], pauses_ms: list[int] | None = None
) -> list[tuple[float, float]]:
    """(start_s, end_s) of each sentence in a recording of them read in order, with the margin
    `trim_silence` keeps around a synthesized sentence (never past the middle of a pause).

    `sentences` is the spoken text of each sentence; `pauses_ms` the script's pause after each
    (paragraph breaks longer), which tells where the recording's longest pauses belong.

    Raises:
        AudioError: when the recording holds no speech.
    """
    if not sentences:
        return []
    active = speech_frames(audio, rate)
    if not active.any():
        raise AudioError("the recording holds no speech to align the script with")
    if len(sentences) > MAX_REGIONS:
        raise AudioError(f"the script has {len(sentences)} sentences; a recording is aligned with at most "
                         f"{MAX_REGIONS}: split the episode")
    levels = frame_levels_db(audio, rate)
    regions = _split_to_count(_merge_to_at_most(_speech_regions(active), MAX_REGIONS), levels, len(sentences))
    ends = _choose_boundaries(regions, active, sentences, pauses_ms)
    starts = [0] + [last + 1 for last in ends[:-1]]
    frame_s = max(1, int(rate * FRAME_MS / 1000.0)) / rate  # as frame_levels_db cuts them: 220 samples at 22.05 kHz
    keep = EDGE_KEEP_MS / 1000.0 / frame_s
    bounds = [0.0] + [(regions[i][0] + regions[i - 1][1]) / 2 for i in starts[1:]] + [len(active)]
    return [
        (max(regions[first][0] - keep, bounds[index]) * frame_s,
         min(regions[last][1] + keep, bounds[index + 1]) * frame_s)
        for index, (first, last) in enumerate(zip(starts, ends))
    ]


def _speech_regions(active: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) frame ranges of speech, joined across silences shorter than MIN_GAP_MS."""
    padded = np.concatenate([[False], active, [False]]).astype(np.int8)
    changes = np.diff(padded)
    starts, ends = np.flatnonzero(changes == 1), np.flatnonzero(changes == -1)
    min_gap = max(1, int(round(MIN_GAP_MS / FRAME_MS)))
    regions = [(int(starts[0]), int(ends[0]))]
    for start, end in zip(starts[1:].tolist(), ends[1:].tolist()):
        if start - regions[-1][1] < min_gap:
            regions[-1] = (regions[-1][0], end)
        else:
            regions.append((start, end))
    return regions


def _merge_to_at_most(regions: list[tuple[int, int]], most: int) -> list[tuple[int, int]]:
    """Join regions across their shortest gaps until at most `most` are left: the longest gaps,
    where sentences most likely end, stay boundaries."""
    if len(regions) <= most:
        return regions
    gaps = np.array([regions[i + 1][0] - regions[i][1] for i in range(len(regions) - 1)])
    kept = np.sort(np.argsort(-gaps, kind="stable")[: most - 1])
    starts = [regions[0][0]] + [regions[i + 1][0] for i in kept.tolist()]
    ends = [regions[i][1] for i in kept.tolist()] + [regions[-1][1]]
    return list(zip(starts, ends))


def _split_to_count(regions: list[tuple[int, int]], levels: np.ndarray, count: int) -> list[tuple[int, int]]:
    """Split the longest regions at their quietest inner frame until there are `count` regions:
    a reader who runs sentences together leaves no pause to choose."""
    regions = list(regions)
    while len(regions) < count:
        index = max(range(len(regions)), key=lambda i: regions[i][1] - regions[i][0])
        first, end = regions[index]
        if end - first < 2:
            raise AudioError(f"the recording is too short to hold {count} sentences")
        cut = first + 1 + int(np.argmin(levels[first + 1 : end]))
        regions[index : index + 1] = [(first, cut), (cut, end)]
    return regions


def _text_weight(sentence: str) -> int:
    """A sentence's expected speaking time, in letters and digits."""
    return max(1, sum(ch.isalnum() for ch in sentence))


def _choose_boundaries(
    regions: list[tuple[int, int]], active: np.ndarray, sentences: list[str], pauses_ms: list[int] | None
) -> list[int]:
    """Index of the last region of each sentence, by dynamic programming over where each ends."""
    count, size = len(sentences), len(regions)
    if count == 1:
        return [size - 1]
    if pauses_ms is not None and len(pauses_ms) < count - 1:
        raise ValueError("pauses_ms must give the pause after every sentence but the last")
    speech = np.array([np.count_nonzero(active[a:b]) for a, b in regions], dtype=float)
    cumulative = np.concatenate([[0.0], np.cumsum(speech)])
    weights = np.array([_text_weight(s) for s in sentences], dtype=float)
    expected = cumulative[-1] * weights / weights.sum()
    sigma = DURATION_SIGMA * expected + DURATION_FLOOR_S * 1000.0 / FRAME_MS

    gaps = np.array([regions[j + 1][0] - regions[j][1] for j in range(size - 1)], dtype=float)
    wanted = np.ones(count - 1) if pauses_ms is None else np.maximum(np.asarray(pauses_ms[: count - 1], float), 1.0)
    reference = np.sort(gaps)[::-1][: count - 1].mean()  # the typical sentence pause of this reader
    wanted_gaps = wanted / wanted.mean() * reference
    # pause_cost[i, j]: sentence i ends at region j, so the boundary is gap j.
    pause_cost = (np.log((gaps[None, :] + 1.0) / (wanted_gaps[:, None] + 1.0)) / PAUSE_SIGMA) ** 2

    index = np.arange(size)
    speech_of = cumulative[index + 1][None, :] - cumulative[index][:, None]  # [k, j]: regions k..j
    valid = index[:, None] <= index[None, :]
    cost = np.where(valid[0], ((speech_of[0] - expected[0]) / sigma[0]) ** 2, np.inf)  # sentence 0 ends at j
    back = np.zeros((count, size), dtype=int)
    for i in range(1, count):
        # Sentence i spans regions k..j; sentence i-1 ended at region k-1, at boundary gap k-1.
        before = np.full(size, np.inf)
        before[1:] = cost[:-1] + pause_cost[i - 1]
        total = before[:, None] + np.where(valid, ((speech_of - expected[i]) / sigma[i]) ** 2, np.inf)
        back[i] = np.argmin(total, axis=0)
        cost = total[back[i], index]
    chosen = [size - 1]
    for i in range(count - 1, 0, -1):
        chosen.append(int(back[i][chosen[-1]]) - 1)
    return chosen[::-1]
