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
MOS_BELOW_MEDIAN = 0.3
"""An episode whose overall score falls this far below its series' median fails a gate."""


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


def mos_gates(entries: list[EpisodeResult]) -> dict[str, dict[str, Any]]:
    """Per episode file, the quality-score gate against the series' median overall score."""
    scored = [e for e in entries if e.mos]
    if len(scored) < 2:
        return {}
    median = statistics.median(e.mos["overall"] for e in scored)
    return {e.file: {"name": "quality score", "passed": e.mos["overall"] >= median - MOS_BELOW_MEDIAN,
                     "detail": f"DNSMOS overall {e.mos['overall']:.2f}, series median {median:.2f} "
                               f"(at most {MOS_BELOW_MEDIAN:g} below)"} for e in scored}


def check_built_episodes(project, model_name: str | None) -> list[tuple[EpisodeJob, list[SentenceCheck], Any]]:
    """`episodes check --asr`: every built episode that is up to date, checked; nothing written."""
    from .build import dry_run
    from .plan import AUDIO, BuildOptions
    from .project import load_catalog
    from .qa.asr import load_asr

    plan = dry_run(project, [], BuildOptions())
    items = [(s.job, s.previous) for s in plan.steps if AUDIO not in s.stages and s.previous is not None
             and s.previous.has_audio and s.previous.sentences]
    if not items:
        return []
    model = load_asr(model_name)
    results = check_episodes(model, items, load_catalog(project).lexicon, mos=False)
    return [(job, checks, mos) for (job, _), (checks, mos) in zip(items, results)]
