"""Text front end: sentences, the pronunciation lexicon, and the plan of what to synthesize.

The order is fixed: inline `[written]{spoken}` overrides, then the lexicon (whole words,
case-sensitive unless an entry says otherwise), then numbers, units, dates, times and symbols
(the spoken package).
What comes out is what the engine reads; the written form is kept for transcripts and captions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ConfigError, ScriptError
from .script import Episode, spoken_text, written_text
from .settings import load_yaml_file

_ABBREVIATIONS = {"e.g", "i.e", "etc", "vs", "dr", "mr", "mrs", "prof", "st", "approx", "fig"}
_ABBREVIATIONS_CASED = {"Ms"}
"""Abbreviations only as capitalised: "Ms. Smith", but "200 ms. Then" ends a sentence."""
_ABBREVIATIONS_BEFORE_NUMBER = {"no", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
                                "dec"}
"""Abbreviations only before a number: "No. 5", "Mar. 3", but "The answer is no. Then" is two sentences."""
_ABBREVIATIONS_BEFORE_LOWER = {"a.m", "p.m"}
"""Abbreviations only before a lower-case word: "at 9 a.m. on Monday", but "at 9 a.m. Then" ends."""
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
                {e.word.casefold(): e.say for e in entries if not e.match_case},
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
        """Replace every whole-word occurrence of an entry by its spoken form."""
        for pattern, table in self._patterns:
            if pattern is None:
                continue
            ignore_case = bool(pattern.flags & re.IGNORECASE)
            # .get: case-insensitive matching may pair letters casefold() does not ("ſ" and "s").
            text = pattern.sub(
                lambda m, t=table, i=ignore_case: t.get(m.group(1).casefold() if i else m.group(1), m.group(1)),
                text,
            )
        return text


def load_lexicon(path: Path) -> Lexicon:
    """Read `word: spoken form` lines, or `word: {say: ..., match_case: false}`."""
    if not path.exists():
        return Lexicon([], None)
    data = load_yaml_file(path)
    entries = []
    for word, value in data.items():
        line = data.line_of(word)
        if not isinstance(word, str):
            raise ConfigError(f"entry {word!r} must be text: quote it (\"{word}\": ...)", path, line)
        if not word.strip():
            raise ConfigError("an entry has an empty word: give the word to replace before the colon", path, line)
        if isinstance(value, dict):
            unknown = set(value) - {"say", "match_case"}
            if unknown or "say" not in value:
                raise ConfigError(f"entry `{word}` needs `say:` (and optionally `match_case:`)", path, line)
            say, match_case = value["say"], value.get("match_case", True)
            if not isinstance(match_case, bool):
                raise ConfigError(f"entry `{word}`: `match_case` must be true or false", path, line)
        else:
            say, match_case = value, True
        if isinstance(say, bool) or not isinstance(say, (str, int, float)) or not str(say).strip():
            raise ConfigError(f"entry `{word}` has no spoken form", path, line)
        entries.append(LexiconEntry(word.strip(), str(say).strip(), match_case))
    return Lexicon(entries, path)


def prepare(text: str, lexicon: Lexicon) -> str:
    """Marked-up narration -> what the engine reads."""
    from .spoken import normalize  # imported here: num2words and the reading tables are not needed to plan from memory

    return normalize(lexicon.apply(spoken_text(text)))


def split_sentences(text: str) -> list[tuple[int, str]]:
    """Split narration into sentences; returns (character offset, sentence) pairs.

    A full stop after a known abbreviation ("e.g.", "vs.", "No. 5") or inside a number does not
    end a sentence. The sentence is the unit of synthesis, caching and caption timing.
    """
    sentences = []
    start = 0
    for match in _SENTENCE_END_RE.finditer(text):
        before = text[start : match.start()].split()
        last_word = before[-1].rstrip(".") if before else ""
        if match.group(0).startswith(".") and _is_abbreviation(last_word, text[match.end():]):
            continue
        sentences.append((start, text[start : match.end()].strip()))
        start = match.end()
    if text[start:].strip():
        sentences.append((start, text[start:].strip()))
    return sentences


def _is_abbreviation(word: str, rest: str) -> bool:
    if word.lower() in _ABBREVIATIONS or word in _ABBREVIATIONS_CASED:
        return True
    if word.lower() in _ABBREVIATIONS_BEFORE_LOWER:
        return rest[:1].islower()
    return word.lower() in _ABBREVIATIONS_BEFORE_NUMBER and rest[:1].isdigit()


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
    """Turn an episode's blocks into the list of sentences to synthesize, with their pauses.

    Raises ScriptError naming the line for a pause over `max_pause_ms`, a sentence with nothing
    to say, or a number too long to read aloud.
    """
    from .spoken import UnreadableNumberError

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
        line, counted = block.line, 0
        for index, (offset, sentence) in enumerate(sentences):
            line += block.text.count("\n", counted, offset)  # counted on from the last sentence: linear
            counted = offset
            try:
                spoken = prepare(sentence, lexicon)
            except UnreadableNumberError as exc:
                raise ScriptError(exc.message, episode.path, line) from None
            written = " ".join(written_text(sentence).split())
            if not re.search(r"\w", spoken):
                raise ScriptError(f"nothing to say in {written!r}", episode.path, line)
            last = index == len(sentences) - 1
            plan.append(Utterance(written, spoken, line, block_pause if last else sentence_pause_ms))
    return plan


def unreadable_warnings(plan: list[Utterance], path: Path) -> list[str]:
    """`file:line: ...` warnings for sentences holding letters the voice cannot read.

    A Latin-alphabet voice spells CJK, Arabic or Cyrillic out letter by letter ("Chinese
    letter") or skips it; the build goes on, but the producer should hear about it.
    """
    from .spoken import unreadable_characters

    warnings = []
    for utterance in plan:
        letters = unreadable_characters(utterance.spoken)
        if letters:
            shown = letters if len(letters) <= 12 else letters[:12] + "…"
            warnings.append(
                f"{path}:{utterance.line}: the voice cannot read {shown!r}; write it in Latin letters "
                "or give a spoken form with [written]{spoken}"
            )
    return warnings
