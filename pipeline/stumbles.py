"""Stumbles: the parts of a written sentence a listener could not follow once it is read aloud.

The front end reads everything (pipeline/spoken), but some writing only works on the page: a
formula's grouping ("1/(60 + rank)" is heard as "one slash, sixty plus rank"), a symbol read by
its name ("|", "§"), a mark that is silent where it carried meaning ("a*b"), an acronym the
voice may say as a word or wrongly, letters the voice cannot read. `find_stumbles` lists them
for the writer (`episodes lint`); it changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from .script import spoken_text
from .spoken import Reading, UnreadableNumberError, normalize, readings, unreadable_characters
from .spoken.symbols import is_letter
from .spoken.units import UNITS
from .text import Lexicon

KNOWN_ACRONYMS = frozenset({
    "AI", "AM", "API", "ASR", "BERT", "CEO", "CPU", "CSS", "CTO", "CUDA", "DPO", "EU", "FAQ", "GPT", "GPU", "HTML",
    "HTTP", "HTTPS", "IBM", "ID", "IDE", "IT", "JSON", "LLM", "LSTM", "MIT", "ML", "NASA", "NLP", "OK", "ONNX",
    "OS", "PC", "PDF", "PM", "PPO", "RAM", "RL", "RLHF", "RNN", "SDK", "SFT", "SQL", "SSD", "TPU", "TTS", "TV",
    "UI", "UK", "UN", "URL", "US", "USA", "USB", "UX", "XML"
})
"""Acronyms taken as known: common enough that a listener follows them spelled out (or said as a
word, "NASA"). A curated list, not measured one by one; the lexicon covers the rest."""

FORMULA_OPERATORS = frozenset({"+", "-", "–", "−", "*", "/", "=", "^", "<", ">", "≤", "≥", "≠", "÷", "×", "±",
                               "!=", "==", "<=", ">="})
_BRACKETS = frozenset("()[]{}")
_PROSE_MARKS = frozenset(".,;:!?'\"-")
"""Marks that may stay in what the voice reads: they shape pauses and are never read out."""
_ACRONYM_RE = re.compile(r"(?<![\w'’])(?P<word>[A-Z]{2,})(?:s|['’]s)?(?![\w'’])")


@dataclass(frozen=True)
class Stumble:
    """One token a listener could not follow."""

    token: str
    """As written (after inline pronunciations and the lexicon)."""
    reading: str
    """What the voice says for it."""
    reason: str
    column: int | None = None
    """Offset of the token in the written sentence; None where markup or the lexicon rewrote it."""


def _operator(reading: Reading) -> bool:
    """A reading that is an operator of a formula ("slash", "plus", "equals"), not a joining word."""
    said = reading.spoken.strip()
    return (reading.kind in ("symbol", "name") and reading.written.strip() in FORMULA_OPERATORS
            and said != "or" and not said.startswith("per "))


def _bracket(reading: Reading) -> bool:
    return reading.kind == "symbol" and reading.written.strip() in _BRACKETS


def _formulas(pieces: list[Reading]) -> list[tuple[int, int]]:
    """Index ranges [i, j) of formulas: operands joined by at least one operator, with a bracket or
    a second operator; the words around it are left out ("The score is 1/(60 + rank) each")."""
    marks = [(i, "op" if _operator(p) else "bracket" if _bracket(p) else "operand" if p.kind in ("number", "word")
              else "other") for i, p in enumerate(pieces) if p.kind != "space"]
    runs, run = [], []
    for index, mark in [*marks, (len(pieces), "other")]:
        if mark != "other":
            run.append((index, mark))
            continue
        symbols = [k for k, (_, m) in enumerate(run) if m != "operand"]
        operators = sum(m == "op" for _, m in run)
        if operators and (operators >= 2 or operators < len(symbols)):
            first, last = symbols[0], symbols[-1]
            opening = pieces[run[first][0]]
            before = pieces[run[first - 1][0]] if first > 0 else None
            if before and (run[first][1] == "op" or (before.end == opening.start and not opening.written[0].isspace())):
                first -= 1  # the operand before the first operator, or a function's name: "f(x)"
            if run[last][1] == "op" and last + 1 < len(run):
                last += 1  # the operand after the last operator
            runs.append((run[first][0], run[last][0] + 1))
        run = []
    return runs


class _Columns:
    """Finds tokens in the written sentence, left to right."""

    def __init__(self, written: str):
        self.written = written
        self.after: dict[str, int] = {}

    def find(self, token: str) -> int | None:
        found = self.written.find(token, self.after.get(token, 0))
        if found < 0:
            return None
        self.after[token] = found + 1
        return found


def _formula_stumbles(said: str, pieces: list[Reading]) -> tuple[list[tuple[int, Stumble]], set[int]]:
    """Formulas, and the indices of the readings inside them."""
    found, inside = [], set()
    for start, end in _formulas(pieces):
        token = said[pieces[start].start:pieces[end - 1].end].strip()
        inside.update(range(start, end))
        found.append((pieces[start].start, Stumble(
            token, normalize(token), "a formula: its grouping and symbols are lost by ear; say it in words")))
    return found, inside


def _symbol_stumbles(pieces: list[Reading], skip: set[int]) -> list[tuple[int, Stumble]]:
    """Symbols read by their names, and silent marks that are not prose punctuation ("a*b")."""
    found = []
    for index, piece in enumerate(pieces):
        if index in skip:
            continue
        if piece.kind == "name":
            found.append((piece.start, Stumble(piece.written, piece.spoken.strip(), "a symbol read by its name")))
        elif piece.kind == "mark" and piece.written not in _PROSE_MARKS and not piece.written.isspace():
            found.append((piece.start, Stumble(piece.written, "", "a mark the voice does not read")))
    return found


def _acronym_stumbles(written: str, lexicon: Lexicon) -> list[tuple[int, Stumble]]:
    """All-caps words in the script (the lexicon's own respellings are not looked at)."""
    covered = KNOWN_ACRONYMS | set(UNITS) | {entry.word for entry in lexicon.entries}
    return [(match.start(), Stumble(match.group(0), normalize(match.group(0)),
                                    "an acronym neither the lexicon nor the known list covers; "
                                    "check it with `episodes say`"))
            for match in _ACRONYM_RE.finditer(spoken_text(written)) if match.group("word") not in covered]


def _leftover_stumbles(said: str) -> list[tuple[int, Stumble]]:
    """Letters the voice cannot read, and any mark left in the reading that is not prose punctuation."""
    found = []
    letters = unreadable_characters(said)
    for match in re.finditer(f"[{re.escape(letters)}]+", said) if letters else ():
        found.append((match.start(), Stumble(match.group(0), match.group(0), "letters the voice cannot read")))
    spoken = normalize(said)
    for char in dict.fromkeys(spoken):
        if not (is_letter(char) or char.isalnum() or char.isspace() or char in _PROSE_MARKS):
            found.append((len(said), Stumble(char, spoken, "punctuation left in the reading")))
    return found


def find_stumbles(written: str, lexicon: Lexicon) -> list[Stumble]:
    """The tokens of one written sentence a listener could not follow after normalisation, in the
    order they are written (those the lexicon or markup rewrote, with no column, last)."""
    said = lexicon.apply(spoken_text(written))
    try:
        pieces = readings(said)
    except UnreadableNumberError as error:
        return [Stumble(said, "", error.message)]
    formulas, inside = _formula_stumbles(said, pieces)
    found = (formulas + _symbol_stumbles(pieces, inside) + _acronym_stumbles(written, lexicon)
             + _leftover_stumbles(said))
    columns = _Columns(written)
    placed = [(replace(stumble, column=columns.find(stumble.token)), position)
              for position, stumble in sorted(found, key=lambda pair: pair[0])]
    placed.sort(key=lambda pair: (pair[0].column is None, pair[0].column or 0, pair[1]))
    return [stumble for stumble, _ in placed]
