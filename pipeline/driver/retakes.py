"""Speech QA during a build (`build --asr`): hear every episode built, retake misheard sentences.

A flagged sentence of a voice that is not deterministic is spoken again (up to MAX_TAKES times)
and the take heard best is kept; a deterministic voice's (or a recording's) gets a hint instead,
never an endless loop. Each episode's checks go into its result, its captions are re-timed on the
recognised words, and DNSMOS scores become a gate against the series' median.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..events import Progress
from ..execute import Executor
from ..files import deferred_signals
from ..gates import quality_gates
from ..manifest import EpisodeResult
from ..plan import EpisodeJob, Step
from .commits import Driver, Listener

if TYPE_CHECKING:
    from ..qa.score import SentenceCheck

MAX_TAKES = 3
"""Retakes speech QA may ask for, per misheard sentence."""


def listener(model_name: str | None) -> Listener:
    """The speech check of a build, its model loaded now."""
    from ..qa.asr import load_asr

    model = load_asr(model_name)
    return lambda driver, executor, steps: speech_qa(driver, model, executor, steps)


def speech_qa(driver: Driver, model: Any, executor: Executor, steps: list[Step]) -> int:
    """Check what the voice said in every episode built, retaking what it must; returns the tasks retried."""
    from ..engines import spec_of

    best: dict[tuple[str, str], tuple[float, int]] = {}
    """(episode, spoken sentence) -> (lowest word error, its take)."""
    retried = 0
    pending = steps
    for round_number in range(MAX_TAKES + 1):
        again = []
        for step, entry, checks in _checked(driver, model, pending):
            job = step.job
            spoken = [u.spoken for u in job.utterances if u.spoken]
            for text, check in zip(spoken, checks):
                take = entry.takes.get(text, 0)
                if (job.label, text) not in best or check.word_error < best[job.label, text][0]:
                    best[job.label, text] = (check.word_error, take)
            flagged = [text for text, check in zip(spoken, checks) if check.flagged]
            if flagged and (job.episode.audio is not None or spec_of(job.voice.engine).deterministic):
                remedy = ("it is a recording: record the sentence again" if job.episode.audio is not None else
                          "this voice always says it the same way: add a lexicon entry or reword the sentence")
                entry.warnings.extend(f"{job.episode.path}:{record['line']}: heard {record['heard']!r} for "
                                      f"{record['expected']!r}; {remedy}" for record in entry.flagged)
                driver.record(step, entry)
            elif flagged and round_number < MAX_TAKES:
                takes = {**entry.takes, **{text: entry.takes.get(text, 0) + 1 for text in flagged}}
                again.append(dataclasses.replace(step, previous=dataclasses.replace(entry, takes=takes)))
        if not again:
            break
        for step in again:
            driver.emit(Progress(step.job.label, f"retaking {len(step.previous.flagged)} misheard sentences"))
        retried += driver.make_audio(executor, again, refit_rate=False)
        pending = again
    final = []
    for step in steps:
        entry = driver.results[step.job.label]
        if entry.status != "built":
            continue
        chosen = {text: take for (label, text), (_, take) in best.items() if label == step.job.label and take}
        if chosen != entry.takes:
            final.append(dataclasses.replace(step, previous=dataclasses.replace(entry, takes=chosen)))
    if final:  # an earlier take was heard better than the last: build with the best ones
        retried += driver.make_audio(executor, final, refit_rate=False)
        list(_checked(driver, model, final))
    _score_gates(driver, steps)
    return retried


def _checked(driver: Driver, model: Any, steps: list[Step]) -> Iterator[tuple[Step, EpisodeResult,
                                                                               list[SentenceCheck]]]:
    """Check the built episodes among `steps`; record each one's results (and its captions, now
    timed on the recognised words) and yield (step, entry, sentence checks)."""
    from ..speech_check import check_episodes, with_checks

    built = [s for s in steps if driver.results[s.job.label].status == "built"]
    if not built:
        return
    for step in built:
        driver.emit(Progress(step.job.label, "listening"))
    items = [(s.job, driver.results[s.job.label]) for s in built]
    for step, (checks, mos) in zip(built, check_episodes(model, items, driver.catalog.lexicon)):
        with deferred_signals():
            entry = _recaption(driver, step.job, with_checks(driver.results[step.job.label], step.job, checks, mos))
            driver.record(step, entry)
        yield step, entry, checks


def _recaption(driver: Driver, job: EpisodeJob, entry: EpisodeResult) -> EpisodeResult:
    """Captions again, their inner boundaries at the recognised words' onsets."""
    spans = [(s["start_s"], s["end_s"]) for s in entry.sentences]
    cues = driver.write_captions(job, spans, [s.get("word_starts_s") for s in entry.sentences])
    return dataclasses.replace(entry, captions=[c.to_dict() for c in cues])


def _score_gates(driver: Driver, steps: list[Step]) -> None:
    """DNSMOS against each series' median: a gate on every scored episode of the series."""
    for key in {s.job.store_key for s in steps}:
        series_steps = [s for s in driver.plan.steps if s.job.store_key == key]
        if not series_steps:
            continue
        entries = driver.entries(series_steps[0].job)
        verdicts = quality_gates({e.file: e.mos["overall"] for e in entries.values() if e.status != "error" and e.mos})
        for step in series_steps:
            stored = entries.get(step.job.file)
            if stored is None or step.job.label not in driver.results or step.job.file not in verdicts:
                continue
            gates = [g for g in stored.gates if g["name"] != "quality score"] + [verdicts[step.job.file].record()]
            driver.regate(step, gates)
