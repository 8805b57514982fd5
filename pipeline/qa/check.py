"""The speech check in one call: transcribe every episode's sentences together, score each
against the script, and hear the flagged ones again before flagging them.

tiny.en mishears some correctly spoken sentences ("prompt tuning" as "proptuning"); a second,
more careful reading (beam search, then the sentence alone in its window) clears most of these,
while a sentence whose audio is wrong matches its text in no reading. A sentence keeps the
reading closest to its text, with one exception: a later reading that hears fewer words than
the first (by more than one) does not replace it. Beam search and single-sentence windows tend
to drop repeated words, and words heard beyond the text (a repeated ending, babble) are exactly
what must stay flagged. Only flagged sentences are read again, so the extra cost is small.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..text import Lexicon
from .asr import AsrModel, Clip, pause_ends, transcribe_many
from .score import Sentence, SentenceCheck, check_sentences

RELISTEN = ({"beam_size": 5}, {"beam_size": 5, "separate": True})
"""The readings a flagged sentence gets after the first (greedy, packed)."""


@dataclass(frozen=True)
class EpisodeSpeech:
    """An episode's audio and its sentences."""

    audio: np.ndarray
    """Float samples, (n,) or (n, channels)."""
    rate: int
    sentences: list[Sentence]


def check_speech(model: AsrModel, episodes: list[EpisodeSpeech], lexicon: Lexicon, threshold: float = 0.35,
                 max_wrong_run: int = 4, relisten: bool = True) -> list[list[SentenceCheck]]:
    """Every sentence's check, per episode (see score.check_sentences for the flag rule)."""
    checks = _read(model, episodes, lexicon, threshold, max_wrong_run, {})
    for options in RELISTEN if relisten else ():
        flagged = [[i for i, c in enumerate(episode) if c.flagged] for episode in checks]
        if not any(flagged):
            break
        subset = [EpisodeSpeech(e.audio, e.rate, [e.sentences[i] for i in f]) for e, f in zip(episodes, flagged)]
        again = _read(model, subset, lexicon, threshold, max_wrong_run, options)
        for episode, indices, new in zip(checks, flagged, again):
            for index, check in zip(indices, new):
                if better_reading(episode[index], check):
                    episode[index] = check
    return checks


def better_reading(first: SentenceCheck, again: SentenceCheck) -> bool:
    """Whether a later reading of a flagged sentence replaces the first (see the module's note)."""
    if len(again.heard) < len(first.heard) - 1:
        return False
    return again.word_error < first.word_error or (first.flagged and not again.flagged)


def _read(model: AsrModel, episodes: list[EpisodeSpeech], lexicon: Lexicon, threshold: float, max_wrong_run: int,
          options: dict) -> list[list[SentenceCheck]]:
    clips = [Clip(e.audio, e.rate, [(s.start_s, s.end_s) for s in e.sentences]) for e in episodes]
    words = transcribe_many(model, clips, **options)
    return [check_sentences(w, e.sentences, lexicon, threshold, max_wrong_run, onsets)
            for w, e, onsets in zip(words, episodes, _onsets(episodes))]


def _onsets(episodes: list[EpisodeSpeech]) -> list[np.ndarray]:
    mono = [e.audio if e.audio.ndim == 1 else e.audio.mean(axis=1) for e in episodes]
    return [pause_ends(m, e.rate) for m, e in zip(mono, episodes)]
