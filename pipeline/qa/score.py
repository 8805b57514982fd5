"""Scoring what was heard against what each sentence was meant to say.

Both sides go through the project's own front end (lexicon, then numbers and symbols spelled
out), so "70B", "70 billion" and "seventy billion" compare equal, and so do "QLoRA" and the
lexicon's "queue Lora". Then case and punctuation are dropped and hyphens split words. Words
written together on one side and apart on the other ("InstructGPT" / "Instruct GPT") match.

Recognised words are given to the sentence whose time span holds their midpoint, so a sentence
that sounds like another is scored against its own text and flagged with its own line.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import PipelineError
from ..text import Lexicon, prepare
from .asr import Word

EDGE_TOLERANCE_S = 0.15
"""A word whose midpoint is this close outside a sentence's span still belongs to it."""
SKIP_WORD_S = 0.2
SKIP_ONSET_S = 1.0
"""Costs (in seconds of shift) of leaving a word off a pause end, and a pause end unused: see
snap_to_onsets. tiny.en's word times are off by up to about 0.3 s; a pause end is exact."""
MAX_MERGE = 3
"""Up to this many words on one side may be one word on the other."""
_WORD_RE = re.compile(r"[\w']+")
LETTER_NAMES = {
    "b": {"bee", "be"}, "c": {"see", "sea"}, "g": {"gee"}, "i": {"eye"}, "j": {"jay"}, "k": {"kay"},
    "o": {"oh"}, "p": {"pee"}, "q": {"queue", "cue"}, "r": {"are"}, "t": {"tee", "tea"}, "u": {"you"},
    "y": {"why"},
}
"""A letter sounds like its name: the lexicon's "queue Lora" is heard as "Q LoRA"."""
HOMOPHONES = [{"two", "to", "too"}, {"four", "for"}, {"eight", "ate"}, {"one", "won"}]
"""Number words and the words that sound the same: "two lessons" is heard as "to lessons"."""


# ---- normalisation --------------------------------------------------------------------------


def _spoken(text: str, lexicon: Lexicon) -> str:
    try:
        return prepare(text, lexicon)
    except (PipelineError, ValueError, OverflowError):
        # Recognised text is whatever the model wrote; a token the front end cannot read is
        # compared as written rather than stopping the check.
        return " ".join(_spoken_word(w, lexicon) for w in text.split())


def _spoken_word(word: str, lexicon: Lexicon) -> str:
    try:
        return prepare(word, lexicon)
    except (PipelineError, ValueError, OverflowError):
        return word


def normalise(text: str, lexicon: Lexicon) -> list[str]:
    """The words a listener hears in `text`: front end, lower case, no punctuation, hyphens split."""
    spoken = _spoken(text, lexicon).lower().replace("-", " ").replace("–", " ")
    return [w.replace("'", "") for w in _WORD_RE.findall(spoken) if w.strip("'_")]


# ---- alignment ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of an alignment: expected[e0:e1] against heard[h0:h1]."""

    kind: str
    """"ok" (equal, or the same letters split differently), "sub", "del" (expected word not
    heard) or "ins" (heard word not expected)."""
    e0: int
    e1: int
    h0: int
    h1: int


def same_word(a: str, b: str) -> bool:
    """Equal, a single letter and a word that sounds like its name, or a number word and its
    homophone."""
    return (a == b or b in LETTER_NAMES.get(a, ()) or a in LETTER_NAMES.get(b, ())
            or any(a in group and b in group for group in HOMOPHONES))


def _joins_to(parts: Sequence[str], word: str) -> bool:
    """`parts` run together are `word`, where a last part "is" may stand for a possessive "s":
    "OpenAI's" and "OpenAI is" sound the same."""
    joined = "".join(parts)
    return joined == word or (parts[-1] == "is" and joined[:-2] + "s" == word)


def align_words(expected: Sequence[str], heard: Sequence[str]) -> list[Step]:
    """Minimum-edit alignment (Levenshtein on words), where a run of up to MAX_MERGE words on one
    side equal to one word on the other is a free match. Among alignments with the fewest errors,
    the one with the fewest substitutions (the most equal words lined up) wins, then the one whose
    substituted words more often share their first letter ("the" heard as "that")."""
    n, m = len(expected), len(heard)
    worst = (n + m + 1, 0, 0)
    cost = [[worst] * (m + 1) for _ in range(n + 1)]
    back: list[list[tuple[str, int, int]]] = [[("", 0, 0)] * (m + 1) for _ in range(n + 1)]
    cost[0][0] = (0, 0, 0)
    for i in range(n + 1):
        for j in range(m + 1):
            if i == 0 and j == 0:
                continue
            # ((errors, substitutions, substitutions with another first letter), kind, di, dj)
            options: list[tuple[tuple[int, int, int], str, int, int]] = []
            if i and j:
                errors, subs, unlike = cost[i - 1][j - 1]
                e, h = expected[i - 1], heard[j - 1]
                if same_word(e, h):
                    options.append(((errors, subs, unlike), "ok", 1, 1))
                else:
                    options.append(((errors + 1, subs + 1, unlike + (e[:1] != h[:1])), "sub", 1, 1))
            for k in range(2, MAX_MERGE + 1):
                if i >= 1 and j >= k and _joins_to(heard[j - k : j], expected[i - 1]):
                    options.append((cost[i - 1][j - k], "ok", 1, k))
                if j >= 1 and i >= k and heard[j - 1] == "".join(expected[i - k : i]):
                    options.append((cost[i - k][j - 1], "ok", k, 1))
            if i:
                errors, subs, unlike = cost[i - 1][j]
                options.append(((errors + 1, subs, unlike), "del", 1, 0))
            if j:
                errors, subs, unlike = cost[i][j - 1]
                options.append(((errors + 1, subs, unlike), "ins", 0, 1))
            best = min(options, key=lambda option: option[0])
            cost[i][j] = best[0]
            back[i][j] = best[1:]
    steps = []
    i, j = n, m
    while i or j:
        kind, di, dj = back[i][j]
        steps.append(Step(kind, i - di, i, j - dj, j))
        i, j = i - di, j - dj
    return steps[::-1]


def error_count(steps: Sequence[Step]) -> int:
    return sum(1 for s in steps if s.kind != "ok")


def longest_wrong_run(steps: Sequence[Step]) -> int:
    """Most consecutive wrong words (substituted, missing or extra) in the alignment."""
    longest = run = 0
    for step in steps:
        run = 0 if step.kind == "ok" else run + 1
        longest = max(longest, run)
    return longest


# ---- sentences ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sentence:
    """A sentence of the script and where it sits in the audio."""

    line: int
    """Script line where the sentence starts."""
    written: str
    """As the transcript shows it."""
    spoken: str
    """What the engine read (after lexicon and normalisation)."""
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SentenceCheck:
    """How one sentence was heard."""

    line: int
    expected: list[str]
    """Normalised words the sentence should be heard as."""
    heard: list[str]
    """Normalised words recognised in its span."""
    word_error: float
    """(substituted + missing + extra words) / expected words; can exceed 1."""
    wrong_run: int
    """Longest run of consecutive wrong words."""
    flagged: bool
    word_starts_s: list[float] | None = field(default=None)
    """Start time of each written word (str.split of the sentence), on the audio's timeline;
    None when too little of the sentence was recognised to place its words."""

    def to_dict(self) -> dict[str, object]:
        """For the manifest, --json output and a verdict cache (from_dict reads it back)."""
        return {
            "line": self.line, "expected": " ".join(self.expected), "heard": " ".join(self.heard),
            "word_error": round(self.word_error, 4), "wrong_run": self.wrong_run, "flagged": self.flagged,
            "word_starts_s": self.word_starts_s,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SentenceCheck:
        return cls(int(data["line"]), str(data["expected"]).split(), str(data["heard"]).split(),
                   float(data["word_error"]), int(data["wrong_run"]), bool(data["flagged"]),
                   None if data.get("word_starts_s") is None else [float(t) for t in data["word_starts_s"]])

    def moved(self, delta_s: float, line: int | None = None) -> SentenceCheck:
        """The same verdict for the same audio placed `delta_s` later (and on another line): a
        cached verdict reused when earlier sentences changed."""
        starts = None if self.word_starts_s is None else [round(t + delta_s, 3) for t in self.word_starts_s]
        return replace(self, line=self.line if line is None else line, word_starts_s=starts)


def assign_words(words: Sequence[Word], sentences: Sequence[Sentence],
                 tolerance_s: float = EDGE_TOLERANCE_S) -> list[list[Word]]:
    """Give each word to the sentence whose span holds its midpoint (or is within `tolerance_s`
    of it, the nearest such); words near no sentence are dropped."""
    owned: list[list[Word]] = [[] for _ in sentences]
    for word in words:
        middle = (word.start_s + word.end_s) / 2
        distances = [max(s.start_s - middle, middle - s.end_s, 0.0) for s in sentences]
        if distances:
            nearest = min(range(len(sentences)), key=distances.__getitem__)
            if distances[nearest] <= tolerance_s:
                owned[nearest].append(word)
    return owned


_SPLIT_NUMBER_RE = (
    (re.compile(r"\d[,.]$"), re.compile(r"^\s*\d{3}(?!\d)")),
    (re.compile(r"\d$"), re.compile(r"^[,.]\d{3}(?!\d)")),
)


def _split_number(before: str, after: str) -> bool:
    return any(end.search(before) and start.match(after) for end, start in _SPLIT_NUMBER_RE)


def join_split_numbers(words: Sequence[Word]) -> list[Word]:
    """Whisper's word splitter cuts "13,000" into "13," and "000", or into "13" and ",000"; put
    such numbers back together."""
    joined: list[Word] = []
    for word in words:
        if joined and _split_number(joined[-1].text, word.text):
            last = joined.pop()
            word = Word(last.start_s, word.end_s, last.text + word.text.strip(),
                        min(last.probability, word.probability))
        joined.append(word)
    return joined


def _heard_tokens(words: Sequence[Word], lexicon: Lexicon) -> tuple[list[str], list[float]]:
    """Normalised heard words, each with a start time (a recognised word read as several words,
    like "2023", shares its time out by letters)."""
    tokens: list[str] = []
    starts: list[float] = []
    for word in join_split_numbers(words):
        parts = normalise(word.text, lexicon)
        total = sum(len(p) for p in parts) or 1
        position = 0
        for part in parts:
            tokens.append(part)
            starts.append(word.start_s + (word.end_s - word.start_s) * position / total)
            position += len(part)
    return tokens, starts


def _written_owners(written_words: list[str], expected: list[str], lexicon: Lexicon) -> list[int | None]:
    """For each expected (normalised) word, the index of the written word it comes from."""
    pieces: list[str] = []
    owners: list[int] = []
    for index, word in enumerate(written_words):
        for piece in normalise(word, lexicon):
            pieces.append(piece)
            owners.append(index)
    result: list[int | None] = [None] * len(expected)
    for step in align_words(expected, pieces):
        if step.kind in ("ok", "sub"):
            for e in range(step.e0, step.e1):
                result[e] = owners[step.h0]
    return result


def snap_to_onsets(times: Sequence[float], onsets: Sequence[float], skip_time_s: float = SKIP_WORD_S,
                   skip_onset_s: float = SKIP_ONSET_S) -> list[float]:
    """Move word start estimates onto pause ends: the order-keeping matching of words to pause
    ends with the least total shift, where a word may keep its estimate (most words follow no
    pause) for `skip_time_s` and a pause end may go unused (it nearly always starts a word) for
    `skip_onset_s`. With a pause before every word, every word lands on its own onset."""
    n, m = len(times), len(onsets)
    if not n or not m:
        return list(times)
    cost = np.zeros((n + 1, m + 1))
    cost[0, :] = np.arange(m + 1) * skip_onset_s
    cost[:, 0] = np.arange(n + 1) * skip_time_s
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + abs(times[i - 1] - onsets[j - 1]),
                             cost[i - 1, j] + skip_time_s, cost[i, j - 1] + skip_onset_s)
    snapped = list(times)
    i, j = n, m
    while i and j:
        if np.isclose(cost[i, j], cost[i - 1, j - 1] + abs(times[i - 1] - onsets[j - 1])):
            snapped[i - 1] = float(onsets[j - 1])
            i, j = i - 1, j - 1
        elif np.isclose(cost[i, j], cost[i - 1, j] + skip_time_s):
            i -= 1
        else:
            j -= 1
    return snapped


def word_starts(sentence: Sentence, expected: list[str], steps: Sequence[Step], heard_starts: list[float],
                lexicon: Lexicon, onsets: Sequence[float] = ()) -> list[float] | None:
    """Start time of each written word: from the heard word it aligned to, else interpolated by
    character position between its timed neighbours (the span's edges are anchors); then moved
    onto the pause ends (`onsets`) in the span, see snap_to_onsets. None when fewer than half the
    written words were heard."""
    written_words = sentence.written.split()
    if not written_words:
        return None
    owners = _written_owners(written_words, expected, lexicon)
    timed: dict[int, float] = {}
    for step in steps:
        if step.kind not in ("ok", "sub"):
            continue
        for e in range(step.e0, step.e1):
            owner = owners[e]
            if owner is not None and owner not in timed:
                timed[owner] = heard_starts[step.h0]
    if len(timed) * 2 < len(written_words):
        return None
    offsets, position = [], 0
    for word in written_words:
        position = sentence.written.index(word, position)
        offsets.append(position)
        position += len(word)
    anchors = sorted([(0, sentence.start_s), (len(sentence.written), sentence.end_s)]
                     + [(offsets[i], t) for i, t in timed.items()])
    estimates = []
    for index, offset in enumerate(offsets):
        if index in timed:
            estimates.append(timed[index])
            continue
        before = max((a for a in anchors if a[0] <= offset), key=lambda a: a[0])
        after = min((a for a in anchors if a[0] > offset), key=lambda a: a[0], default=before)
        span = after[0] - before[0]
        estimates.append(before[1] if span == 0 else before[1] + (after[1] - before[1]) * (offset - before[0]) / span)
    inside = [o for o in onsets if sentence.start_s - EDGE_TOLERANCE_S <= o < sentence.end_s]
    starts, floor = [], sentence.start_s
    for value in snap_to_onsets(estimates, inside):
        floor = min(max(value, floor), sentence.end_s)
        starts.append(round(floor, 3))
    return starts


def check_sentence(sentence: Sentence, words: Sequence[Word], lexicon: Lexicon, threshold: float,
                   max_wrong_run: int, onsets: Sequence[float] = ()) -> SentenceCheck:
    """Score one sentence against the words heard in its span."""
    expected = normalise(sentence.spoken, lexicon)
    heard, heard_starts = _heard_tokens(words, lexicon)
    steps = align_words(expected, heard)
    error = error_count(steps) / max(1, len(expected))
    run = longest_wrong_run(steps)
    flagged = error > threshold or run >= max_wrong_run
    starts = None if flagged else word_starts(sentence, expected, steps, heard_starts, lexicon, onsets)
    return SentenceCheck(sentence.line, expected, heard, error, run, flagged, starts)


def check_sentences(words: Sequence[Word], sentences: Sequence[Sentence], lexicon: Lexicon,
                    threshold: float = 0.35, max_wrong_run: int = 4,
                    onsets: Sequence[float] = ()) -> list[SentenceCheck]:
    """Score every sentence of an episode against the words recognised in the episode's audio.

    A sentence is flagged when its word error passes `threshold` or it holds a run of
    `max_wrong_run` or more wrong words (a dropped clause, babble at its end). `onsets`: the
    audio's pause ends (asr.pause_ends), which place words the recogniser missed.
    """
    owned = assign_words(words, sentences)
    return [check_sentence(s, w, lexicon, threshold, max_wrong_run, onsets) for s, w in zip(sentences, owned)]


def summarise(checks: Sequence[SentenceCheck]) -> dict[str, object]:
    """Series- or episode-level figures: sentence count, flagged count, median and worst word error."""
    errors = [c.word_error for c in checks]
    return {
        "sentences": len(checks),
        "flagged": sum(c.flagged for c in checks),
        "median_word_error": round(statistics.median(errors), 4) if errors else None,
        "worst_word_error": round(max(errors), 4) if errors else None,
        "mean_word_error": round(statistics.fmean(errors), 4) if errors else None,
    }
