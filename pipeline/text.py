"""Text front end: sentences, the pronunciation lexicon and normalisation for the ear.

The order is fixed: inline `[written]{spoken}` overrides, then the lexicon (whole words,
case-sensitive unless an entry says otherwise), then numbers, units and symbols. What comes out
is what the engine reads; the written form is kept for transcripts and captions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from num2words import num2words

from .errors import ConfigError, ScriptError
from .script import Episode, spoken_text, written_text
from .settings import load_yaml_file

_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "dr", "mr", "mrs", "ms", "prof", "st", "approx", "no", "fig"}
_SENTENCE_END_RE = re.compile(r"[.!?]+[\"')\]”’]*\s+")


@dataclass(frozen=True)
class LexiconEntry:
    """One word and how to say it."""

    word: str
    say: str
    match_case: bool = True
    """False matches the word in any letter case."""


class Lexicon:
    """Whole-word replacements, longest first, so `QLoRA` wins over `LoRA`."""

    def __init__(self, entries: list[LexiconEntry], source: Path | None = None):
        self.entries = entries
        self.source = source
        self._patterns = [
            (self._pattern([e for e in entries if e.match_case], 0), {e.word: e.say for e in entries if e.match_case}),
            (
                self._pattern([e for e in entries if not e.match_case], re.IGNORECASE),
                {e.word.lower(): e.say for e in entries if not e.match_case},
            ),
        ]

    @staticmethod
    def _pattern(entries: list[LexiconEntry], flags: int) -> re.Pattern[str] | None:
        if not entries:
            return None
        words = sorted((e.word for e in entries), key=len, reverse=True)
        alternation = "|".join(re.escape(w) for w in words)
        # Plural and possessive endings stay attached: "LoRAs", "DPO's".
        return re.compile(rf"(?<![\w])({alternation})(?=(?:'s|s)?(?![\w]))", flags)

    def apply(self, text: str) -> str:
        for pattern, table in self._patterns:
            if pattern is None:
                continue
            ignore_case = bool(pattern.flags & re.IGNORECASE)
            text = pattern.sub(lambda m, t=table, i=ignore_case: t[m.group(1).lower() if i else m.group(1)], text)
        return text


def load_lexicon(path: Path) -> Lexicon:
    """Read `word: spoken form` lines, or `word: {say: ..., match_case: false}`."""
    if not path.exists():
        return Lexicon([], None)
    data = load_yaml_file(path)
    entries = []
    for word, value in data.items():
        line = data.line_of(str(word))
        if isinstance(value, dict):
            unknown = set(value) - {"say", "match_case"}
            if unknown or "say" not in value:
                raise ConfigError(f"entry `{word}` needs `say:` (and optionally `match_case:`)", path, line)
            say, match_case = value["say"], bool(value.get("match_case", True))
        else:
            say, match_case = value, True
        if not isinstance(say, (str, int, float)) or not str(say).strip():
            raise ConfigError(f"entry `{word}` has no spoken form", path, line)
        entries.append(LexiconEntry(str(word), str(say).strip(), match_case))
    return Lexicon(entries, path)


# ---- numbers, units and symbols -------------------------------------------------------------

_NUMBER = r"\d+(?:\.\d+)?"
_UNITS = {
    "TB": ("terabyte", "terabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"),
    "KB": ("kilobyte", "kilobytes"),
    "B": ("billion", "billion"),
    "M": ("million", "million"),
    "K": ("thousand", "thousand"),
    "k": ("thousand", "thousand"),
    "%": ("percent", "percent"),
    "ms": ("millisecond", "milliseconds"),
}
_UNIT_RE = re.compile(rf"({_NUMBER})\s?({'|'.join(sorted(map(re.escape, _UNITS), key=len, reverse=True))})(?![A-Za-z])")
_RANGE_TIMES_RE = re.compile(rf"({_NUMBER})\s*[-–]\s*({_NUMBER})\s*[x×](?![\w])")
_TIMES_RE = re.compile(rf"({_NUMBER})\s*[x×](?![\w])")
_RANGE_RE = re.compile(rf"(?<![\w.])({_NUMBER})\s*[–-]\s*({_NUMBER})(?![\w.])")
_ORDINAL_RE = re.compile(r"\b(\d+)(?:st|nd|rd|th)\b")
_YEAR_RE = re.compile(r"(?<![\w.])(1[89]\d\d|20\d\d)(?![\w.%])")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}\b)")
_LETTERS_DIGITS_RE = re.compile(r"(?<=[A-Za-z])(?=\d)")
_DIGITS_RE = re.compile(_NUMBER)
_SYMBOLS = [
    (re.compile(r"\bvs\.?(?=\s)"), "versus"),
    (re.compile(r"\be\.g\.,?"), "for example,"),
    (re.compile(r"\bi\.e\.,?"), "that is,"),
    (re.compile(r"\bet al\.?"), "and colleagues"),
    (re.compile(r"\betc\."), "et cetera."),
    (re.compile(r"\+\+"), " plus plus"),
    (re.compile(r"\s*[—]\s*|\s+[–-]\s+"), ", "),
    (re.compile(r"[“”„]"), '"'),
    (re.compile(r"[‘’]"), "'"),
    (re.compile(r"…"), "..."),
    (re.compile(r"\s*\(\s*"), ", "),
    (re.compile(r"\s*\)"), ","),
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"~\s*(?=\d)"), "about "),
    (re.compile(r"(?<=\w)/(?=\w)"), " or "),
    (re.compile(r"\s*\+\s*(?=\w)"), " plus "),
    (re.compile(r"²"), " squared"),
    (re.compile(r"³"), " cubed"),
    (re.compile(r"\$\s?(" + _NUMBER + r")"), r"\1 dollars"),
]


def _words(number: str) -> str:
    return num2words(float(number) if "." in number else int(number))


def _unit(match: re.Match[str]) -> str:
    singular, plural = _UNITS[match.group(2)]
    return f"{_words(match.group(1))} {singular if match.group(1) == '1' else plural}"


def normalize(text: str) -> str:
    """Spell out what a TTS front end reads badly: numbers, units, ranges, multipliers, symbols."""
    text = _THOUSANDS_RE.sub("", text)
    text = _RANGE_TIMES_RE.sub(lambda m: f"{_words(m.group(1))} to {_words(m.group(2))} times", text)
    text = _TIMES_RE.sub(lambda m: f"{_words(m.group(1))} times", text)
    text = _UNIT_RE.sub(_unit, text)
    text = _RANGE_RE.sub(lambda m: f"{_words(m.group(1))} to {_words(m.group(2))}", text)
    text = _ORDINAL_RE.sub(lambda m: num2words(int(m.group(1)), to="ordinal"), text)
    text = _YEAR_RE.sub(lambda m: num2words(int(m.group(1)), to="year"), text)
    text = _LETTERS_DIGITS_RE.sub(" ", text)  # "NF4" -> "NF 4", so the digit is read as a number
    for pattern, replacement in _SYMBOLS:
        text = pattern.sub(replacement, text)
    text = _DIGITS_RE.sub(lambda m: _words(m.group(0)), text)
    text = re.sub(r",\s*([,.!?;:])", r"\1", text)
    return " ".join(text.split()).strip(" ,")


def prepare(text: str, lexicon: Lexicon) -> str:
    """Marked-up narration -> what the engine reads."""
    return normalize(lexicon.apply(spoken_text(text)))


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Split narration into sentences; returns (character offset, sentence) pairs.

    A full stop after a known abbreviation ("e.g.", "vs.") or inside a number does not end a
    sentence. The sentence is the unit of synthesis, caching and caption timing.
    """
    sentences = []
    start = 0
    for match in _SENTENCE_END_RE.finditer(text):
        before = text[start : match.start()].split()
        last_word = before[-1].lower().rstrip(".") if before else ""
        if match.group(0).startswith(".") and last_word in _ABBREVIATIONS:
            continue
        sentences.append((start, text[start : match.end()].strip()))
        start = match.end()
    if text[start:].strip():
        sentences.append((start, text[start:].strip()))
    return sentences


@dataclass(frozen=True)
class Utterance:
    """One sentence as written, as spoken, where it came from, and the pause after it."""

    written: str
    """For transcripts and captions."""
    spoken: str
    """What the engine reads; empty for a pure pause."""
    line: int
    """Script line where the sentence starts."""
    pause_after_ms: int


def plan_utterances(
    episode: Episode,
    lexicon: Lexicon,
    sentence_pause_ms: int,
    paragraph_pause_ms: int,
    max_pause_ms: int,
) -> list[Utterance]:
    """Turn an episode's blocks into the list of sentences to synthesize, with their pauses."""
    plan: list[Utterance] = []
    for block in episode.blocks:
        block_pause = paragraph_pause_ms if block.pause_after_ms is None else block.pause_after_ms
        if block_pause > max_pause_ms:
            raise ScriptError(
                f"pause of {block_pause} ms is longer than max_pause_ms ({max_pause_ms} ms)",
                episode.path,
                block.pause_line,
            )
        sentences = split_sentences(block.text)
        if not sentences:
            plan.append(Utterance("", "", block.line, block_pause))
            continue
        for index, (offset, sentence) in enumerate(sentences):
            line = block.line + block.text[:offset].count("\n")
            spoken = prepare(sentence, lexicon)
            written = " ".join(written_text(sentence).split())
            if not re.search(r"\w", spoken):
                raise ScriptError(f"nothing to say in {written!r}", episode.path, line)
            last = index == len(sentences) - 1
            plan.append(Utterance(written, spoken, line, block_pause if last else sentence_pause_ms))
    return plan
