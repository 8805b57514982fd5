"""Where each sentence of a script is written, so that one sentence can be changed and every other
byte of the file left as it was (the studio's edits).

The parser (script.py) reads narration into blocks and text.py splits blocks into sentences;
neither keeps source offsets. Each sentence is found again in the file here: the span of source
whose narration, read by the same tokenizer, is that sentence, searched from the line the
sentence starts on, between the places a sentence can start and end. A sentence that cannot be
found that way (markup such as a comment inside it) is refused with a message, never guessed.
Every edit is then checked by parsing the new text as the file: the edited sentence may read
differently, every other sentence must read exactly as before, or the edit is refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import ScriptError
from .script import _LIST_MARK_RE, _QUOTE_RE, Episode, _inline, _Pause, _Say, parse_script
from .settings import read_text
from .text import Utterance, split_sentences

_END_RE = re.compile(r"[.!?]+[\"')\]”’]*")
"""Where a sentence may end: its closing punctuation (and quotes or brackets after it)."""
_START_RE = re.compile(r"[.!?]+[\"')\]”’]*\s+")
"""The same with the space after it: a sentence may start where this ends (text.py's rule)."""
Planner = Callable[[Episode], Sequence[Utterance]]
"""An episode's sentences as a build plans them (lexicon, pauses): how an edit is checked."""


def version_of(data: bytes) -> str:
    """The version of a script a page read: the SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SentenceSource:
    """One sentence of a script and where it is written."""

    line: int
    """Line the sentence starts on."""
    marked: str
    """The sentence as the plan reads it, `[written]{spoken}` marks in place, spaces normalised."""
    span: tuple[int, int] | None
    """Start and end in the script's text (newlines as `\\n`, no byte-order mark); None when the
    sentence could not be found."""


@dataclass(frozen=True)
class ScriptSource:
    """A script as read, with the place of each of its sentences (in the order a build speaks them)."""

    path: Path
    data: bytes
    raw: str
    """The file's text as decoded (its own line endings and byte-order mark kept)."""
    text: str
    """The text the parser reads: `\\r\\n` as `\\n`, no byte-order mark."""
    sentences: tuple[SentenceSource, ...]

    @property
    def version(self) -> str:
        return version_of(self.data)

    def source_of(self, index: int) -> str | None:
        """What the script says for the sentence, markup included (None when it was not found)."""
        span = self.sentences[index].span
        return None if span is None else self.text[span[0]:span[1]]

    def _raw_offset(self, offset: int) -> int:
        """An offset in `text` as an offset in `raw`."""
        lead = len(self.raw) - len(self.raw.lstrip("\ufeff"))
        if "\r\n" not in self.raw:
            return lead + offset
        position, seen = lead, 0
        while seen < offset:
            position += 2 if self.raw.startswith("\r\n", position) else 1
            seen += 1
        return position


def read_source(path: Path) -> ScriptSource:
    """Read a script and find each of its sentences; raises ScriptError as a build would for a
    script that does not parse."""
    raw = read_text(path, ScriptError)
    return source_of_text(path, raw)


def source_of_text(path: Path, raw: str) -> ScriptSource:
    """A script's text (as the file at `path` would hold it) with the place of each sentence."""
    episode = parse_script(raw, path)
    text = raw.replace("\r\n", "\n").lstrip("\ufeff")
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    located: list[SentenceSource] = []
    for block in episode.blocks:
        found = split_sentences(block.text)
        line, counted, after = block.line, 0, 0
        for index, (offset, sentence) in enumerate(found):
            line += block.text.count("\n", counted, offset)
            counted = offset
            next_line = (block.line + block.text.count("\n", 0, found[index + 1][0]) if index + 1 < len(found)
                         else None)
            marked = " ".join(sentence.split())
            span = _find(text, starts, line, next_line, marked, max(after, starts[line - 1]), path)
            if span is not None:
                after = span[1]
            located.append(SentenceSource(line, marked, span))
    return ScriptSource(path, raw.encode("utf-8"), raw, text, tuple(located))


def _find(text: str, starts: list[int], line: int, next_line: int | None, marked: str, not_before: int,
          path: Path) -> tuple[int, int] | None:
    """The first span starting on `line` (at or after `not_before`) whose narration is `marked`,
    ending on a line before the next sentence's (or on it, when both share a line)."""
    last_line = min(next_line or line + 50, len(starts))
    line_start = starts[line - 1]
    line_text = text[line_start: _line_end(text, starts, line)]
    candidates = [line_start + _content_start(line_text)]
    candidates += [line_start + m.end() for m in _START_RE.finditer(line_text)]
    ends: list[int] = []
    for number in range(line, last_line + 1):
        begin = starts[number - 1]
        content = text[begin: _line_end(text, starts, number)]
        ends += [begin + m.end() for m in _END_RE.finditer(content)]
        ends.append(begin + len(content.rstrip()))
    for start in sorted({c for c in candidates if c >= not_before}):
        for end in sorted({e for e in ends if e > start}):
            if _narration(text, starts, start, end, path) == marked:
                return start, end
    return None


def _line_end(text: str, starts: list[int], line: int) -> int:
    return starts[line] - 1 if line < len(starts) else len(text)


def _content_start(line: str) -> int:
    """Where a line's narration starts: after indentation, quote and list markers."""
    stripped = line.strip()
    unquoted = _QUOTE_RE.sub("", stripped)
    content = _LIST_MARK_RE.sub("", unquoted)
    return (len(line) - len(line.lstrip())) + (len(stripped) - len(content))


def _narration(text: str, starts: list[int], start: int, end: int, path: Path) -> str | None:
    """A span of source read as narration, as parse_body reads it, spaces normalised; None when
    it is not narration alone (a pause mark, markup cut in half)."""
    line = bisect_right(starts, start)
    read: list[str] = []
    for index, part in enumerate(text[start:end].split("\n")):
        if index > 0 or start == starts[line - 1]:
            part = _LIST_MARK_RE.sub("", _QUOTE_RE.sub("", part.strip()))
        try:
            pieces = _inline(part, path, line + index)
        except ScriptError:
            return None
        if any(isinstance(p, _Pause) for p in pieces):
            return None
        read.append("".join(p if isinstance(p, str) else f"[{p.written}]{{{p.spoken}}}" for p in pieces
                            if isinstance(p, (str, _Say))))
    return " ".join("\n".join(read).split())


@dataclass(frozen=True)
class Edit:
    """A sentence changed: the script's new bytes and the new sentence(s) as planned."""

    data: bytes
    utterances: tuple[Utterance, ...]
    """What the edited sentence became (one sentence, or several if the new text has several)."""
    position: int
    """Index of the first of them among the script's sentences."""


def replace_sentence(source: ScriptSource, index: int, new_text: str, plan: Planner) -> Edit:
    """The script with sentence `index` (of its sentences, in order) replaced by `new_text`, every
    other byte as it was. Raises ScriptError (naming the script and line) when the sentence cannot
    be found, when the new text does not parse, or when it would change how any other sentence
    reads (a paragraph break or a missing full stop would)."""
    path = source.path
    if not 0 <= index < len(source.sentences):
        raise ScriptError(f"the script has no sentence {index + 1} (it has {len(source.sentences)})", path)
    sentence = source.sentences[index]
    if sentence.span is None:
        raise ScriptError("the studio cannot find where this sentence is written (markup it does not follow, "
                          "such as a comment inside it); edit it in your editor", path, sentence.line)
    text = new_text.replace("\r\n", "\n").strip()
    if not text:
        raise ScriptError("the new sentence is empty; to delete a sentence, edit the script in your editor",
                          path, sentence.line)
    start, end = (source._raw_offset(offset) for offset in sentence.span)
    ending = "\r\n" if "\r\n" in source.raw else "\n"
    raw = source.raw[:start] + text.replace("\n", ending) + source.raw[end:]
    before = _readings(parse_script(source.raw, path))
    episode = parse_script(raw, path)
    after = _readings(episode)
    at = [i for i, reading in enumerate(before) if reading[1]][index]
    rest = len(before) - at - 1
    middle = after[at: len(after) - rest]
    def read(readings: list[tuple[int, str, int | None]]) -> list[tuple[str, int | None]]:
        return [reading[1:] for reading in readings]

    if (len(after) < at + rest + 1 or read(after[:at]) != read(before[:at])
            or read(after[len(after) - rest:]) != read(before[at + 1:]) or not all(r[1] for r in middle)):
        raise ScriptError("the new text would change how the sentences around it are read (a missing full stop "
                          "joins it to the next one); write one or more whole sentences, or edit the script in "
                          "your editor", path, sentence.line)
    blocks = sorted({reading[0] for reading in middle})
    planned = list(plan(dataclasses.replace(episode, blocks=tuple(episode.blocks[b] for b in blocks))))
    first = sum(1 for reading in after[:at] if reading[0] in blocks)
    return Edit(raw.encode("utf-8"), tuple(planned[first:first + len(middle)]), index)


def _readings(episode: Episode) -> list[tuple[int, str, int | None]]:
    """What decides how each utterance of an episode is read, in order: its block, the sentence
    (empty for a block that is only a pause) and the pause after it (-1: the voice's sentence
    pause; None: the paragraph pause)."""
    found: list[tuple[int, str, int | None]] = []
    for number, block in enumerate(episode.blocks):
        sentences = split_sentences(block.text) or [(0, "")]
        found += [(number, " ".join(sentence.split()), block.pause_after_ms if index == len(sentences) - 1 else -1)
                  for index, (_, sentence) in enumerate(sentences)]
    return found


def mark_word(source: ScriptSource, index: int, word: str, say: str) -> str:
    """The sentence's source with each whole-word `word` outside marks and links written as the
    pronunciation mark `[word]{say}`; raises ScriptError when the sentence does not hold it."""
    sentence = source.sentences[index]
    original = source.source_of(index)
    if original is None:
        raise ScriptError("the studio cannot find where this sentence is written; edit it in your editor",
                          source.path, sentence.line)
    word, say = word.strip(), " ".join(say.split())
    if not word or not say or any(c in word + say for c in "[]{}"):
        raise ScriptError("a pronunciation mark needs a word and how to say it, without brackets or braces",
                          source.path, sentence.line)
    inside = _marked_regions(original)
    found = [m for m in re.finditer(rf"(?<!\w){re.escape(word)}(?!\w)", original)
             if not any(a <= m.start() < b for a, b in inside)]
    if not found:
        raise ScriptError(f"{word!r} is not written in this sentence outside a mark or link", source.path,
                          sentence.line)
    pieces, position = [], 0
    for match in found:
        pieces += [original[position:match.start()], f"[{match.group()}]{{{say}}}"]
        position = match.end()
    return "".join(pieces) + original[position:]


def _marked_regions(text: str) -> list[tuple[int, int]]:
    """Spans of `[...]` with the `{...}` or `(...)` after it: marks and links, left alone."""
    return [(m.start(), m.end()) for m in re.finditer(r"!?\[[^\[\]]*\](?:\{[^{}]*\}|\([^()]*\))?", text)]
