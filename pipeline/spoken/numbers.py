"""Words for numbers: cardinals, ordinals, years, decimals, fractions (American, no "and")."""

from __future__ import annotations

from num2words import num2words

from ..errors import ScriptError

MAX_DIGITS = 15
"""Longest run of digits read aloud; a longer one is an UnreadableNumberError."""

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_FRACTIONS = {2: ("half", "halves"), 4: ("quarter", "quarters")}


class UnreadableNumberError(ScriptError):
    """A number too long to read aloud; `plan_utterances` re-raises it with file and line."""


def check_length(digits: str) -> None:
    if len(digits) > MAX_DIGITS:
        raise UnreadableNumberError(f"number too long to read aloud: {digits[:12]}…; write it in words")


def _tidy(words: str) -> str:
    """num2words says "two thousand and forty-eight, ..."; a US narrator drops "and" and commas."""
    return " ".join(w for w in words.replace(",", " ").split() if w != "and")


def cardinal(digits: str) -> str:
    """"2048" -> "two thousand forty-eight"; "007" -> "zero zero seven"."""
    digits = digits.replace(",", "")
    check_length(digits)
    if len(digits) > 1 and digits.startswith("0"):
        return " ".join(DIGIT_WORDS[int(d)] for d in digits)
    return _tidy(num2words(int(digits)))


def ordinal(digits: str) -> str:
    """"21" -> "twenty-first"."""
    check_length(digits)
    return _tidy(num2words(int(digits), to="ordinal"))


def year(digits: str) -> str:
    """"2023" -> "twenty twenty-three"; "2005" -> "two thousand five"; "1905" -> "nineteen oh-five"."""
    return _tidy(num2words(int(digits), to="year"))


def decimal(whole: str, fraction: str | None) -> str:
    """"1", "0" -> "one point zero": each digit after the point, so written precision is heard."""
    words = cardinal(whole) if whole else ""
    if fraction is None:
        return words
    check_length(fraction)
    return f"{words} point {' '.join(DIGIT_WORDS[int(d)] for d in fraction)}".strip()


def plural(words: str) -> str:
    """"twenty" -> "twenties", "one hundred" -> "one hundreds" (the last word only)."""
    head, _, last = words.rpartition(" ")
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last.endswith(("x", "s")):
        last += "es"
    else:
        last += "s"
    return f"{head} {last}".strip()


def fraction(numerator: int, denominator: int) -> str:
    """(1, 2) -> "half"; (3, 4) -> "three quarters"; (2, 3) -> "two thirds"."""
    if (numerator, denominator) == (1, 2):
        return "half"
    singular, many = _FRACTIONS.get(denominator, (None, None))
    if singular is None:
        singular = ordinal(str(denominator))
        many = plural(singular)
    return f"{cardinal(str(numerator))} {singular if numerator == 1 else many}"
