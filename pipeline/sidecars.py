"""The files beside each MP3: WebVTT and SRT captions, the plain transcript, and the review plot.

Captions are timed from the sentence spans the build knows exactly (or, for a re-caption after a
text-only edit, from the spans the manifest recorded), split into cues of at most two lines.
"""

from __future__ import annotations

from .captions import Cue, split_cue, to_srt, to_transcript, to_webvtt
from .script import Episode
from .text import Utterance


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


def sidecar_files(episode: Episode, cues: list[Cue]) -> dict[str, bytes]:
    """Captions and transcript, by file suffix."""
    return {
        ".vtt": to_webvtt(cues).encode(),
        ".srt": to_srt(cues).encode(),
        ".txt": to_transcript(episode.title, episode.narration).encode(),
    }
