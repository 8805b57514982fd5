"""The files beside each MP3 that the sidecars stage writes (see outputs.py): WebVTT captions with
the narrator's voice spans, SRT captions, and the plain transcript.

Captions are timed from the sentence spans the build knows exactly (or, for a re-caption after a
text-only edit, from the spans the store recorded), split into cues of at most two lines. The
disclosure of a synthetic voice, spoken last, is in the captions and ends the transcript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .captions import Cue, split_cue, to_srt, to_transcript, to_webvtt
from .outputs import SIDECARS, made_by
from .text import Utterance

if TYPE_CHECKING:
    from .plan import EpisodeJob


def caption_cues(utterances: tuple[Utterance, ...] | list[Utterance], spans: list[tuple[float, float]],
                 word_starts: list[list[float] | None] | None = None) -> list[Cue]:
    """Cues for the spoken sentences (in order) at their spans; `word_starts` (one list per spoken
    sentence, from speech recognition) makes the boundaries inside long sentences exact."""
    spoken = [u for u in utterances if u.spoken]
    cues: list[Cue] = []
    for index, (utterance, (start, end)) in enumerate(zip(spoken, spans)):
        cue = Cue(start, end, utterance.written)
        starts = word_starts[index] if word_starts else None
        cues += split_cue(cue, starts) if starts else split_cue(cue)
    return cues


def _transcript(job: EpisodeJob, cues: list[Cue]) -> str:
    narration = job.episode.narration + (f"\n\n{job.disclosure}" if job.disclosure else "")
    return to_transcript(job.episode.title, narration)


WRITERS: dict[str, Callable[[EpisodeJob, list[Cue]], str]] = {
    ".vtt": lambda job, cues: to_webvtt(cues, job.series.narrator),
    ".srt": lambda job, cues: to_srt(cues),
    ".txt": _transcript,
}
"""One writer per output the sidecars stage makes."""


def sidecar_files(job: EpisodeJob, cues: list[Cue]) -> dict[str, bytes]:
    """Captions and transcript, by file suffix."""
    return {output.suffix: WRITERS[output.suffix](job, cues).encode() for output in made_by(SIDECARS)}
