"""Captions and transcripts from the sentence timings the build already knows.

Each sentence's start and end in the final audio come from assembly: sentence clips are placed
sample-exactly, and resampling and MP3 encoding keep the timeline (ffmpeg removes the encoder
delay using the LAME header). A sentence too long for one caption (two lines of 42 characters)
is split at word boundaries into the fewest cues that fit, balanced in length; its time is shared
out by characters, or by word start times where the caller has them.
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
    """One caption: its text and when it is shown, in seconds from the start of the episode."""

    start_s: float
    end_s: float
    text: str

    def to_dict(self) -> dict[str, object]:
        return {"start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3), "text": self.text}


def _fits_line(text: str) -> bool:
    return len(text) <= LINE_CHARS or " " not in text


def wrap_lines(text: str) -> list[str]:
    """A cue's text as display lines of at most LINE_CHARS characters, broken at spaces.

    Two lines are balanced (the break that makes the longer line shortest), which reads better
    than a full line over a one-word line. A word longer than LINE_CHARS stands on its own line.
    """
    words = text.split()
    if not words:
        return []
    whole = " ".join(words)
    if _fits_line(whole):
        return [whole]
    best: tuple[int, list[str]] | None = None
    for split in range(1, len(words)):
        top, bottom = " ".join(words[:split]), " ".join(words[split:])
        if _fits_line(top) and _fits_line(bottom) and (best is None or max(len(top), len(bottom)) < best[0]):
            best = (max(len(top), len(bottom)), [top, bottom])
    if best is not None:
        return best[1]
    return textwrap.wrap(whole, LINE_CHARS, break_long_words=False, break_on_hyphens=False)


def _fits_cue(words: list[str]) -> bool:
    return len(textwrap.wrap(" ".join(words), LINE_CHARS, break_long_words=False,
                             break_on_hyphens=False)) <= LINES_PER_CUE


def _cue_breaks(words: list[str]) -> list[int]:
    """Word indices where cues start: the fewest cues that each fit LINES_PER_CUE lines, then
    the split that makes the longest cue shortest, so no cue is left with a stray word."""
    n = len(words)
    reach = []  # reach[i]: the most words from i on that still fit one cue
    for i in range(n):
        j = i + 1
        while j < n and _fits_cue(words[i:j + 1]):
            j += 1
        reach.append(j)
    count, i = 0, 0
    while i < n:
        i, count = reach[i], count + 1
    offsets = [0]
    for word in words:
        offsets.append(offsets[-1] + len(word) + 1)
    # best[c][j]: (longest cue, breaks) splitting words[:j] into c cues.
    best: list[dict[int, tuple[int, list[int]]]] = [{0: (0, [])}]
    for c in range(1, count + 1):
        layer: dict[int, tuple[int, list[int]]] = {}
        for i, (longest, breaks) in best[c - 1].items():
            for j in range(i + 1, reach[i] + 1):
                candidate = (max(longest, offsets[j] - offsets[i] - 1), [*breaks, i])
                if j not in layer or candidate[0] < layer[j][0]:
                    layer[j] = candidate
        best.append(layer)
    return best[count][n][1]


def split_cue(cue: Cue, word_starts_s: list[float] | None = None) -> list[Cue]:
    """Split a sentence's cue into cues of at most two lines of LINE_CHARS characters.

    Time is shared out by characters, unless `word_starts_s` gives the start time of each word of
    `cue.text` (as `str.split` splits it): then each inner boundary is the start of the cue's
    first word.
    """
    words = cue.text.split()
    if word_starts_s is not None and len(word_starts_s) != len(words):
        raise ValueError(f"{len(word_starts_s)} word start times for {len(words)} words")
    if _fits_cue(words):
        return [cue]
    breaks = _cue_breaks(words)
    pieces = [" ".join(words[a:b]) for a, b in zip(breaks, [*breaks[1:], len(words)])]
    if word_starts_s is not None:
        inner = [min(max(word_starts_s[b], cue.start_s), cue.end_s) for b in breaks[1:]]
        inner = [max(inner[:k + 1]) for k in range(len(inner))]  # never running backwards
    else:
        total = sum(len(p) for p in pieces)
        inner, elapsed = [], 0
        for piece in pieces[:-1]:
            elapsed += len(piece)
            inner.append(cue.start_s + (cue.end_s - cue.start_s) * elapsed / total)
    bounds = [cue.start_s, *inner, cue.end_s]
    return [Cue(bounds[k], bounds[k + 1], piece) for k, piece in enumerate(pieces)]


def _lines(text: str) -> str:
    return "\n".join(wrap_lines(text))


def _timestamp(seconds: float) -> str:
    milliseconds = int(round(seconds * 1000))
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}.{rest % 1000:03d}"


_VTT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
"""WebVTT cue text is markup: `<` opens a tag, `&` a character reference, and `-->` may not appear;
escaped, any narration shows as written."""


def _vtt_text(text: str) -> str:
    return text.translate(_VTT_ESCAPES)


def to_webvtt(cues: list[Cue], speaker: str | None = None) -> str:
    """WebVTT captions; with a `speaker` (the narrator's name), each cue is a voice span
    `<v Speaker>`, which players show or announce as who is speaking."""
    document = WebVTT()
    voice = f"<v {_vtt_text(' '.join(speaker.split()))}>" if speaker and speaker.strip() else ""
    for cue in cues:
        lines = [_vtt_text(line) for line in wrap_lines(cue.text)]
        if voice and lines:
            lines[0] = voice + lines[0]
        document.captions.append(Caption(_timestamp(cue.start_s), _timestamp(cue.end_s), lines))
    return document.content


def to_srt(cues: list[Cue]) -> str:
    """SubRip captions: plain text, as written (SRT has no markup and no escapes)."""
    return srt.compose([
        srt.Subtitle(index, dt.timedelta(seconds=cue.start_s), dt.timedelta(seconds=cue.end_s), _lines(cue.text))
        for index, cue in enumerate(cues, start=1)
    ])


def to_transcript(title: str, narration: str) -> str:
    """Plain-text transcript: the title, then the narration paragraphs as written."""
    return f"{title}\n\n{narration}\n"
