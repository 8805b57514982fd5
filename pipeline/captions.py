"""Captions and transcripts from the sentence timings the build already knows.

Each sentence's start and end in the final audio come from assembly: sentence clips are placed
sample-exactly, and resampling and MP3 encoding keep the timeline (ffmpeg removes the encoder
delay using the LAME header). A sentence too long for one caption (two lines of 42 characters)
is split at word boundaries, its time shared out by characters.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass

import srt
from webvtt import Caption, WebVTT

LINE_CHARS = 42
LINES_PER_CUE = 2


@dataclass(frozen=True)
class Cue:
    start_s: float
    end_s: float
    text: str

    def to_dict(self) -> dict[str, object]:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "text": self.text}


def split_cue(cue: Cue, max_chars: int = LINE_CHARS * LINES_PER_CUE) -> list[Cue]:
    """Split a cue whose text is longer than `max_chars`, sharing its time out by characters."""
    if len(cue.text) <= max_chars:
        return [cue]
    pieces = textwrap.wrap(cue.text, max_chars)
    total = sum(len(p) for p in pieces)
    cues, start = [], cue.start_s
    for piece in pieces:
        end = start + (cue.end_s - cue.start_s) * len(piece) / total
        cues.append(Cue(start, end, piece))
        start = end
    return cues


def _lines(text: str) -> str:
    return "\n".join(textwrap.wrap(text, LINE_CHARS))


def _timestamp(seconds: float) -> str:
    milliseconds = int(round(seconds * 1000))
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


def to_webvtt(cues: list[Cue]) -> str:
    document = WebVTT()
    for cue in cues:
        document.captions.append(Caption(_timestamp(cue.start_s), _timestamp(cue.end_s), _lines(cue.text)))
    return document.content


def to_srt(cues: list[Cue]) -> str:
    return srt.compose([
        srt.Subtitle(index, dt.timedelta(seconds=cue.start_s), dt.timedelta(seconds=cue.end_s), _lines(cue.text))
        for index, cue in enumerate(cues, start=1)
    ])


def to_transcript(title: str, narration: str) -> str:
    """Plain-text transcript: the title, then the narration paragraphs as written."""
    return f"{title}\n\n{narration}\n"
