"""Symbols and marks outside numbers: what each is read as, and which are silent.

Every character of a sentence ends up in exactly one of three places: in a word the voice reads
as written, in a reading from these tables (or a number's, see reader.py), or among the SILENT
marks, which only shape the pauses. A symbol in none of the tables is read by its Unicode name
("§" -> "section sign"), so nothing is ever dropped without a word.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from .numbers import DIGIT_WORDS
from .units import PER_WORDS

Replacement = str | Callable[[re.Match[str]], str]

_PER = "|".join(re.escape(w) for w in sorted(PER_WORDS, key=len, reverse=True))

SYMBOLS: list[tuple[str, Replacement]] = [
    # abbreviations
    (r"\be\.g\.,?", "for example,"),
    (r"\bi\.e\.,?", "that is,"),
    (r"\bet al\.?", "and colleagues"),
    (r"\betc\.", "et cetera."),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\b[Nn]o\.\s?(?=\d)", "number "),
    (r"\b[Aa]pprox\.", "approximately"),
    # programming and operators
    (r"\+\+", " plus plus"),
    (r"(?<=\b[A-Za-z])\#(?!\w)", " sharp"),
    (r"\s*!=\s*", " is not equal to "),
    (r"\s*==\s*", " equals "),
    (r"\s*<=\s*", " at most "),
    (r"\s*>=\s*", " at least "),
    (r"\s*->\s*", " to "),
    (r"(?<=\d)\s*\*\s*(?=[-−]?\d)", " times "),
    (r"(?<=[^\W\d_])\^(?=[-−+]?\d)", " to the "),
    # dashes, quotes, brackets: pauses
    (r"\s*—\s*|\s*--\s*|\s+[–-]\s+", ", "),
    (r"[“”„]", '"'),
    (r"[‘’]", "'"),
    (r"…", "..."),
    (r"\s*[(\[{]\s*", ", "),
    (r"\s*[)\]}]", ","),
    # words joined by symbols
    (r"\s*&\s*", " and "),
    (rf"(?<=[^\W\d_])/(?P<per>{_PER})(?!\w)", lambda m: " per " + PER_WORDS[m.group("per")]),
    (r"(?<=\w)/(?=\w)", " or "),
    (r"\s*\+\s*(?=\w)", " plus "),
    (r"(?<![\w)\]])[-−](?=\()", "minus "),
    (r"\s*±\s*", " plus or minus "),
    (r"\s*≈\s*", " approximately "),
    (r"\s*≥\s*", " at least "),
    (r"\s*≤\s*", " at most "),
    (r"\s*→\s*", " to "),
    (r"\s*×\s*", " times "),
    (r"\s*=\s*", " equals "),
    (r"(?<=\w)@(?=\w)", " at "),
    (r"°", " degrees"),
    (r"%", " percent"),
    (r"²", " squared"),
    (r"³", " cubed"),
]
"""Pattern -> its words, tried in order where no number starts."""

SILENT = frozenset(".,;:!?'\"()[]{}-–—_*`•·«»¡¿")
"""Marks that are not read: sentence punctuation, quotes, brackets, dashes and hyphens, and
leftover Markdown emphasis. Spaces, control and format characters are silent too."""

_QUIET = frozenset("*_`•·«»")
"""Silent marks that some voices would name ("asterisk"): replaced by a space."""

NAMES: dict[str, str] = {
    "<": "less than", ">": "greater than", "|": "vertical bar", "\\": "backslash", "^": "caret", "~": "tilde",
    "@": "at", "#": "hash", "$": "dollar", "€": "euro", "£": "pound", "¥": "yen", "₹": "rupee", "+": "plus",
    "=": "equals", "/": "slash", "&": "and", "−": "minus", "±": "plus or minus", "÷": "divided by",
    "√": "square root of", "∞": "infinity", "§": "section", "¶": "paragraph", "©": "copyright",
    "®": "registered", "™": "trademark", "†": "dagger", "‡": "double dagger", "½": "one half",
    "¼": "one quarter", "¾": "three quarters", "⅓": "one third", "⅔": "two thirds", "′": "prime",
    "″": "double prime", "°": "degrees", "%": "percent", "‰": "per mille", "≠": "is not equal to",
    "≈": "approximately", "≤": "at most", "≥": "at least", "×": "times", "→": "to", "←": "from",
}
"""Words for symbols standing on their own (the tables above handle them between words)."""


def is_silent(char: str) -> bool:
    """Whether a character is never read alone: a SILENT mark, a space, a control or format
    character, or a combining mark with no letter before it (an accent on nothing)."""
    return char in SILENT or char.isspace() or unicodedata.category(char)[0] in "CZM"


def is_letter(char: str) -> bool:
    """Letters and combining marks: read as part of their word."""
    return unicodedata.category(char)[0] in "LM"


def starts_word(char: str) -> bool:
    """A letter: a word starts there (a combining mark only continues one)."""
    return unicodedata.category(char)[0] == "L"


def name_of(char: str) -> str:
    """A symbol's words: from NAMES, or its Unicode name ("§" section, "😀" grinning face)."""
    if char in NAMES:
        return NAMES[char]
    name = unicodedata.name(char, "symbol").lower().removesuffix(" sign")
    return re.sub(r"\d", lambda digit: " " + DIGIT_WORDS[int(digit.group())] + " ", name)  # "type-1-2"


def silent_form(char: str) -> str:
    """What a silent mark becomes in the text the voice reads."""
    return " " if char in _QUIET or unicodedata.category(char)[0] == "C" else char
