"""`episodes estimate`: how long an episode will be, before any audio is made, and how many words
to add or cut to land on its target.

Speech time is the number of words the voice will say (the script's spoken sentences and the
disclosure) times the voice's seconds per word: measured on this project's built episodes spoken
by the same voice at its own pace (the median, from what each build recorded), or, when nothing is
built yet, the voice profile's `words_per_minute`. The script's pauses and the production's padding
are added as planned, before the fit moves them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ..errors import PipelineError
from ..plan import BuildOptions, BuildPlan, EpisodeJob, Step
from ..project import Project
from .build import dry_run

DEFAULT_WORDS_PER_MINUTE = 170.0
"""A voice's pace when nothing it spoke has been measured and its profile does not say."""
ON_TARGET = 0.025
"""How near its target an estimate counts as on target (the fit's band: it changes nothing there)."""


@dataclass(frozen=True)
class Estimate:
    label: str
    words: int
    """Words the voice will say (the disclosure included)."""
    predicted_s: float
    """Speech, pauses and padding as planned, before the fit."""
    target_s: float
    window_s: tuple[float, float]
    seconds_per_word: float
    measured: bool
    """Whether the pace was measured on built episodes (else the profile's or the default)."""
    fitted_s: float
    """What the duration fit will make of it (pauses, then rate, then tempo): the built length."""

    @property
    def words_to_target(self) -> int:
        """Words to add (positive) or cut (negative) for the planned duration to meet the target."""
        return round((self.target_s - self.predicted_s) / self.seconds_per_word)

    @property
    def advice(self) -> str:
        """"on target", or how many words to add or cut (what `estimate` and the studio say)."""
        if abs(self.target_s - self.predicted_s) <= self.target_s * ON_TARGET:
            return "on target"
        change = self.words_to_target
        return f"{'add' if change > 0 else 'cut'} {abs(change)} words"

    @property
    def in_window(self) -> bool:
        low, high = self.window_s
        return low <= self.predicted_s <= high


@dataclass
class Estimates:
    rows: list[Estimate] = field(default_factory=list)
    errors: list[PipelineError] = field(default_factory=list)
    pace: dict[str, tuple[float, int]] = field(default_factory=dict)
    """Per voice: seconds per word, and the number of built episodes it was measured on (0: not measured)."""


def spoken_words(job: EpisodeJob) -> int:
    return sum(len(u.written.split()) for u in job.utterances if u.spoken)


def planned_pauses_s(job: EpisodeJob) -> float:
    """The pauses between sentences as written, and the padding around the narration."""
    pauses = [u.pause_after_ms for u in job.utterances][:-1]
    return (sum(pauses) + job.production.lead_pad_ms + job.production.tail_pad_ms) / 1000.0


def _measured_speech_s(step: Step) -> float | None:
    """Seconds of speech the voice gave this episode at its own pace, as its last build recorded
    (None when it was not built by this voice at rate 1.0, or by a recording)."""
    result = step.previous
    if result is None or not result.has_audio or result.engine != step.job.voice_identity:
        return None
    fit = result.fit or {}
    if fit.get("start_rate_factor") != 1.0 or fit.get("synthesis_rounds", 1) == 0 or "start_s" not in fit:
        return None
    return fit.get("speech_s") or fit["start_s"] - planned_pauses_s(step.job)


def voice_pace(plan: BuildPlan) -> dict[str, tuple[float, int]]:
    """Seconds per word of each voice (by identity), measured on its built episodes, with how many."""
    samples: dict[str, list[float]] = {}
    for step in plan.steps:
        speech = _measured_speech_s(step)
        words = spoken_words(step.job)
        if speech is not None and words:
            samples.setdefault(step.job.voice_identity, []).append(speech / words)
    return {identity: (statistics.median(values), len(values)) for identity, values in samples.items()}


def estimate_job(job: EpisodeJob, pace: dict[str, tuple[float, int]]) -> Estimate:
    measured = pace.get(job.voice_identity)
    if measured is not None:
        seconds_per_word = measured[0]
    else:
        seconds_per_word = 60.0 / ((job.voice.words_per_minute or DEFAULT_WORDS_PER_MINUTE) * job.voice.rate)
    words = spoken_words(job)
    speech_s = words * seconds_per_word
    return Estimate(job.label, words, speech_s + planned_pauses_s(job), job.production.target_duration_s,
                    job.production.window_s, seconds_per_word, measured is not None, fitted_duration_s(job, speech_s))


def fitted_duration_s(job: EpisodeJob, speech_s: float) -> float:
    """The fit's answer for an episode of `speech_s` seconds of speech at the voice's own pace, the
    voice taken to stretch as it is told (each new rate's speech predicted from the first)."""
    from ..audio import fit
    from ..driver.audio import MAX_FIT_ATTEMPTS

    production = job.production
    pauses = [u.pause_after_ms for u in job.utterances][:-1]
    limits = fit.limits_for(production, production.window_s)
    pads_s = (production.lead_pad_ms + production.tail_pad_ms) / 1000.0
    attempts = [(1.0, speech_s)]
    while True:
        choice = fit.choose(attempts, pauses, pads_s, limits, len(attempts) < MAX_FIT_ATTEMPTS)
        if not choice.resynthesize:
            return choice.duration_s
        attempts.append((choice.rate, speech_s / choice.rate))


def project_pace(project: Project) -> dict[str, tuple[float, int]]:
    """Each voice's pace (by identity) measured on this project's built episodes, with how many."""
    return voice_pace(dry_run(project, [], BuildOptions()))


def estimates_of(plan: BuildPlan) -> dict[str, Estimate]:
    """Every planned episode's estimate by label, each voice's pace measured on the plan's built episodes."""
    pace = voice_pace(plan)
    return {step.job.label: estimate_job(step.job, pace) for step in plan.steps}


def estimate(project: Project, targets: list[str], options: BuildOptions | None = None) -> Estimates:
    """Estimates for the targeted episodes (all if none), with the pace each voice was measured at."""
    options = options or BuildOptions()
    plan = dry_run(project, [], options)
    pace = voice_pace(plan)
    chosen = dry_run(project, targets, options) if targets else plan
    return Estimates([estimate_job(s.job, pace) for s in chosen.steps], chosen.errors, pace)
