"""Speech QA of built episodes: did the voice say the words? (the `qa` extra)

Each built episode's MP3 is decoded and its sentences, whose places the manifest records, are
transcribed together (pipeline.qa packs them into shared windows) and scored against what was
meant to be said. The results go into the manifest entry: the median word error, the flagged
sentences (line, expected, heard) and each sentence's word start times, which make the caption
boundaries inside long sentences exact. DNSMOS gives each episode a quality score.
"""

from __future__ import annotations

import dataclasses
import statistics
from typing import TYPE_CHECKING, Any

from .manifest import EpisodeResult
from .plan import EpisodeJob

if TYPE_CHECKING:
    from .qa.asr import AsrModel
    from .qa.score import Sentence, SentenceCheck
    from .text import Lexicon

MOS_WINDOWS = 3
"""DNSMOS windows scored per episode (about 1 CPU-second, within 0.16 of scoring every window)."""


def sentences_of(job: EpisodeJob, entry: EpisodeResult) -> list[Sentence]:
    """The episode's spoken sentences with their places in the final audio, from the manifest."""
    from .qa.score import Sentence

    spoken = [u for u in job.utterances if u.spoken]
    return [Sentence(u.line, u.written, u.spoken, s["start_s"], s["end_s"]) for u, s in zip(spoken, entry.sentences)]


def check_episodes(model: AsrModel, items: list[tuple[EpisodeJob, EpisodeResult]], lexicon: Lexicon,
                   mos: bool = True) -> list[tuple[list[SentenceCheck], Any]]:
    """Transcribe and score every episode's sentences together; with `mos`, DNSMOS each episode."""
    from .audio.codec import decode
    from .qa.check import EpisodeSpeech, check_speech

    speech = []
    for job, entry in items:
        audio, rate = decode(job.out_path)
        speech.append(EpisodeSpeech(audio, rate, sentences_of(job, entry)))
    checks = check_speech(model, speech, lexicon)
    scores: list[Any] = [None] * len(items)
    if mos:
        from .qa.mos import dnsmos

        scores = [dnsmos(e.audio, e.rate, max_windows=MOS_WINDOWS) for e in speech]
    return list(zip(checks, scores))


def flagged_record(job: EpisodeJob, check: SentenceCheck) -> dict[str, Any]:
    """A flagged sentence as the manifest, the review page and `check --asr` show it."""
    return {"file": str(job.episode.path), "line": check.line, "expected": " ".join(check.expected),
            "heard": " ".join(check.heard), "word_error": round(check.word_error, 3)}


def with_checks(entry: EpisodeResult, job: EpisodeJob, checks: list[SentenceCheck], mos: Any) -> EpisodeResult:
    """The entry with its speech QA: median word error, flagged sentences, word start times."""
    sentences = [{**s, "word_error": round(c.word_error, 3), "word_starts_s": c.word_starts_s}
                 for s, c in zip(entry.sentences, checks)]
    return dataclasses.replace(
        entry, sentences=sentences,
        word_error=round(statistics.median(c.word_error for c in checks), 3) if checks else None,
        flagged=[flagged_record(job, c) for c in checks if c.flagged],
        mos=mos.to_dict() if mos is not None else entry.mos)
