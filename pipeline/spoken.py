"""Reading numbers, units and symbols aloud: one pass over the text's tokens.

A TTS front end reads "2e-5", "$1.5B" or "the 2020s" badly, so the text is rewritten for the ear
before synthesis. The text is scanned once, left to right. A *number chain* is read as a whole:
numbers with their sign, currency, exponent, multiplier and unit, joined by range dashes, `x`
(dimensions), `:` (ratios and times), `/` (fractions) or `.` (versions), together with an
identifier glued in front (`GPT-4`, `NF4`, `v2`). Everything else that needs words (`e.g.`, `&`,
dashes, brackets) is a symbol token. Nothing is rewritten twice, so rules cannot interfere.

Rules a producer can rely on (tests/test_spoken.py holds the full table):
- Cardinals are American style, without "and": 2048 -> "two thousand forty-eight".
- Years: a bare whole number from 1100 to 2099 reads as a year ("twenty twenty-three") unless a
  count noun follows it (a lowercase word ending in -s that is not a common verb or adverb, or a
  plural acronym such as GPUs) or it starts a hyphenated compound ("2048-token"). So
  "in 2023" and "a 2023 study" are years, "2048 tokens" is a count. A range of such numbers reads
  as years ("2019-2023", "2019-23"). A 4-digit number after an acronym reads in pairs, as product
  numbers are said ("RTX 4090" -> "RTX forty ninety"), and so do 4-digit dimensions ("1920x1080").
- Decades: "1990s", "the 2020s", "'90s", "the 80s"; a power of ten with -s before "of" is a
  plural ("100s of" -> "hundreds of"); any other number with a bare -s is seconds ("30s" after
  anything but "the", "their", "early", ... is thirty seconds).
- Units read singular only after exactly "1"; multipliers K, M, B, T (glued, or one space after
  for K/M/B/T) are thousand, million, billion, trillion; a currency symbol is read after the
  amount ("$1.5B" -> "one point five billion dollars"); cents and pence after whole amounts.
- Decimals read each digit after the point ("1.0" -> "one point zero"); a leading zero reads
  digit by digit ("007"). More than 15 digits before or after the point is an error: nobody
  can follow it read aloud.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Iterable

from num2words import num2words

from .errors import ScriptError

MAX_DIGITS = 15
"""Longest run of digits read aloud; a longer one is an UnreadableNumberError."""


class UnreadableNumberError(ScriptError):
    """A number too long to read aloud; `plan_utterances` re-raises it with file and line."""


# ---- words for numbers ----------------------------------------------------------------------

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_FRACTIONS = {2: ("half", "halves"), 4: ("quarter", "quarters")}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


def _check_length(digits: str) -> None:
    if len(digits) > MAX_DIGITS:
        raise UnreadableNumberError(f"number too long to read aloud: {digits[:12]}…; write it in words")


def _tidy(words: str) -> str:
    """num2words says "two thousand and forty-eight, ..."; a US narrator drops "and" and commas."""
    return " ".join(w for w in words.replace(",", " ").split() if w != "and")


def cardinal(digits: str) -> str:
    """"2048" -> "two thousand forty-eight"; "007" -> "zero zero seven"."""
    digits = digits.replace(",", "")
    _check_length(digits)
    if len(digits) > 1 and digits.startswith("0"):
        return " ".join(_DIGIT_WORDS[int(d)] for d in digits)
    return _tidy(num2words(int(digits)))


def ordinal(digits: str) -> str:
    """"21" -> "twenty-first"."""
    _check_length(digits)
    return _tidy(num2words(int(digits), to="ordinal"))


def year(digits: str) -> str:
    """"2023" -> "twenty twenty-three"; "2005" -> "two thousand five"; "1905" -> "nineteen oh-five"."""
    return _tidy(num2words(int(digits), to="year"))


def decimal(whole: str, fraction: str | None) -> str:
    """"1", "0" -> "one point zero": each digit after the point, so written precision is heard."""
    words = cardinal(whole) if whole else ""
    if fraction is None:
        return words
    _check_length(fraction)
    return f"{words} point {' '.join(_DIGIT_WORDS[int(d)] for d in fraction)}".strip()


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


def _fraction(numerator: int, denominator: int) -> str:
    if (numerator, denominator) == (1, 2):
        return "half"
    singular, many = _FRACTIONS.get(denominator, (None, None))
    if singular is None:
        singular = ordinal(str(denominator))
        many = plural(singular)
    return f"{cardinal(str(numerator))} {singular if numerator == 1 else many}"


# ---- tokens ---------------------------------------------------------------------------------

_UNITS: dict[str, tuple[str, str]] = {
    "PB": ("petabyte", "petabytes"), "TB": ("terabyte", "terabytes"), "GB": ("gigabyte", "gigabytes"),
    "MB": ("megabyte", "megabytes"), "KB": ("kilobyte", "kilobytes"), "kB": ("kilobyte", "kilobytes"),
    "TiB": ("tebibyte", "tebibytes"), "GiB": ("gibibyte", "gibibytes"), "MiB": ("mebibyte", "mebibytes"),
    "KiB": ("kibibyte", "kibibytes"),
    "Gbps": ("gigabit per second", "gigabits per second"), "Mbps": ("megabit per second", "megabits per second"),
    "kbps": ("kilobit per second", "kilobits per second"), "Kbps": ("kilobit per second", "kilobits per second"),
    "ns": ("nanosecond", "nanoseconds"), "µs": ("microsecond", "microseconds"),
    "μs": ("microsecond", "microseconds"), "ms": ("millisecond", "milliseconds"),
    "s": ("second", "seconds"), "sec": ("second", "seconds"), "secs": ("second", "seconds"),
    "min": ("minute", "minutes"), "mins": ("minute", "minutes"),
    "h": ("hour", "hours"), "hr": ("hour", "hours"), "hrs": ("hour", "hours"),
    "Hz": ("hertz", "hertz"), "kHz": ("kilohertz", "kilohertz"), "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "W": ("watt", "watts"), "kW": ("kilowatt", "kilowatts"), "MW": ("megawatt", "megawatts"),
    "FLOPS": ("flops", "flops"), "FLOPs": ("flops", "flops"), "GFLOPS": ("gigaflops", "gigaflops"),
    "TFLOPS": ("teraflops", "teraflops"), "PFLOPS": ("petaflops", "petaflops"),
    "dB": ("decibel", "decibels"), "px": ("pixel", "pixels"), "tok": ("token", "tokens"),
    "nm": ("nanometer", "nanometers"), "mm": ("millimeter", "millimeters"),
    "cm": ("centimeter", "centimeters"), "km": ("kilometer", "kilometers"),
    "am": ("a m", "a m"), "pm": ("p m", "p m"), "a.m": ("a m", "a m"), "p.m": ("p m", "p m"),
}
_PER = {"/s": "per second", "/h": "per hour"}
_MULTIPLIERS = {"k": "thousand", "K": "thousand", "M": "million", "B": "billion", "bn": "billion",
                "T": "trillion", "thousand": "thousand", "million": "million", "billion": "billion",
                "trillion": "trillion"}
_CURRENCIES = {  # symbol: (one, many, minor unit one, minor unit many)
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", None, None),
    "₹": ("rupee", "rupees", None, None),
}
_SIGNS = {"-": "minus", "−": "minus", "+": "plus", "±": "plus or minus"}
_OP_WORDS = {"range": "to", "by": "by", "colon": "to", "slash": "over", "dot": "point"}


def _alternation(words: Iterable[str]) -> str:
    """A regex alternative of the words, longest first, so "ms" is tried before "s"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_CUR = re.escape("".join(_CURRENCIES))
_NUM = r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)?(?:\.(?P<frac>\d+))?"
_SIDE_RE = re.compile(rf"""
    (?P<sign>[-−+±])?
    (?:(?P<cur>[{_CUR}])\s?)?
    (?=\.?\d){_NUM}
    (?:(?P<exp>[eE][-−+]?\d+)|\^(?P<pow>[-−+]?\d+))?
    (?:
        (?P<ord>st|nd|rd|th)(?!\w)
      | (?P<pl>['’]?s)(?!\w)
      | (?P<mult>k|K|M|B|bn|T|\s(?:[KMBT]|bn|thousand|million|billion|trillion))(?!\w)
      | (?P<unit>{_alternation(_UNITS)}|\s(?:{_alternation(u for u in _UNITS if len(u) > 1)}))
        (?P<per>/[sh])?(?!\w)
      | \s?(?P<pct>%)
      | \s?(?P<deg>°)(?:\s?(?P<scale>[CF])(?!\w))?
      | (?P<times>x(?!\w)|×(?!\s*\d))
    )?
    """, re.VERBOSE)
_OP_RE = re.compile(rf"""
    (?P<range>-(?=[{_CUR}]?\d)|\s?–\s?(?=[-−]?[{_CUR}]?\d)|\s+to\s+(?=[-−]?[{_CUR}]?\d))
  | (?P<by>\s?[x×]\s?(?=\d))
  | (?P<colon>:(?=\d))
  | (?P<slash>/(?=\d))
  | (?P<dot>\.(?=\d))
    """, re.VERBOSE)
_CHAIN_START = rf"""
    (?<!\w)(?P<ident>[^\W\d_]+)(?P<joint>-)?(?=\d)
  | (?<![\w.])(?P<approx>[~≈]\s?)?(?P<hash>\#(?=\d))?(?P<apos>['’](?=\d0s(?!\w)))?
    (?=[-−+±]?(?:[{_CUR}]\s?)?\.?\d)
  | (?=\d)
"""
_SYMBOLS: list[tuple[str, str]] = [
    (r"\be\.g\.,?", "for example,"),
    (r"\bi\.e\.,?", "that is,"),
    (r"\bet al\.?", "and colleagues"),
    (r"\betc\.", "et cetera."),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\b[Nn]o\.\s?(?=\d)", "number "),
    (r"\b[Aa]pprox\.", "approximately"),
    (r"\+\+", " plus plus"),
    (r"(?<=\b[A-Za-z])\#(?!\w)", " sharp"),
    (r"\s*—\s*|\s*--\s*|\s+[–-]\s+", ", "),
    (r"[“”„]", '"'),
    (r"[‘’]", "'"),
    (r"…", "..."),
    (r"\s*\(\s*", ", "),
    (r"\s*\)", ","),
    (r"\s*&\s*", " and "),
    (r"(?<=[^\W\d_])/s\b", " per second"),
    (r"(?<=\w)/(?=\w)", " or "),
    (r"\s*\+\s*(?=\w)", " plus "),
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
_TOKEN_RE = re.compile(
    rf"(?P<chain>(?x:{_CHAIN_START}))|" + "|".join(f"(?P<s{i}>{p})" for i, (p, _) in enumerate(_SYMBOLS))
)

_YEAR_PREFIXES = {"mid", "pre", "post", "early", "late"}
_SCREEN_WORDS = {"video", "videos", "resolution", "display", "displays", "monitor", "monitors", "screen", "screens",
                 "tv", "tvs", "footage", "content", "camera", "cameras"}
_DECADE_WORDS = {"the", "their", "his", "her", "its", "our", "my", "your", "early", "late", "mid"}
_NOT_COUNT_NOUNS = {  # words ending in -s that follow a year: "2023 was", "2024 brings"
    "has", "was", "does", "its", "yes", "always", "perhaps", "sometimes", "series", "news", "means", "whereas",
    "besides", "towards", "afterwards", "marks", "brings", "sees", "seems", "looks", "remains", "becomes",
    "gives", "shows", "makes", "takes", "comes", "goes", "gets", "keeps", "begins", "ends", "starts",
    "introduces", "lets", "says", "changes", "turns", "offers", "follows", "proves", "needs", "feels",
    "promises", "delivers",
}
_WORD_AFTER_RE = re.compile(r"(?P<compound>-(?=[^\W\d_]))?\s?(?P<word>[^\W\d_][\w'’]*)?")
_WORD_BEFORE_RE = re.compile(r"(?P<word>[^\W\d_]+)[\s-]?$")


def _is_count_noun(word: str) -> bool:
    """Whether a word after a number makes it a count: "2048 tokens", "1200 GPUs"."""
    if re.fullmatch(r"[A-Z][A-Z0-9]*s", word):
        return True
    return (word.islower() and len(word) >= 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))
            and word not in _NOT_COUNT_NOUNS)


# ---- reading a chain ------------------------------------------------------------------------


class _Context:
    """The words around a chain, which decide years, decades and ratios."""

    def __init__(self, text: str, start: int, end: int, decade_mark: bool = False):
        after = _WORD_AFTER_RE.match(text, end)
        self.compound = bool(after and after.group("compound"))
        self.next = (after.group("word") or "") if after else ""
        before = _WORD_BEFORE_RE.search(text[max(0, start - 40):start])
        self.previous = before.group("word") if before else ""
        self.decade_mark = decade_mark
        """An apostrophe before the number: "'90s"."""

    @property
    def count_follows(self) -> bool:
        return self.compound or _is_count_noun(self.next)

    @property
    def after_acronym(self) -> bool:
        return len(self.previous) >= 2 and self.previous.isupper() and self.previous.isalpha()


_Side = dict[str, "str | None"]
_SUFFIXES = ("sign", "cur", "frac", "exp", "pow", "ord", "pl", "mult", "unit", "per", "pct", "deg", "scale", "times")


def _digits_only(side: _Side) -> bool:
    """Digits and nothing else: no sign, currency, commas, fraction, exponent or suffix."""
    return bool(side["int"]) and (side["int"] or "").isdigit() and all(side[k] is None for k in _SUFFIXES)


def _bare(side: _Side) -> bool:
    """A plain whole number, as years and counts are written."""
    return _digits_only(side) and not (side["int"] or "").startswith("0")


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and digits.isdigit() and 1100 <= int(digits) <= 2099


def _sign(side: _Side) -> str:
    return _SIGNS[side["sign"]] + " " if side["sign"] else ""


def _number_words(side: _Side, as_year: bool) -> str:
    digits = side["int"] or ""
    if as_year and side["frac"] is None and len(digits) == 4 and digits.isdigit():
        return year(digits)
    return decimal(digits, side["frac"])


def _core(side: _Side, as_year: bool) -> str:
    """The spoken number: sign, digits, exponent and multiplier (the unit comes after)."""
    words = ordinal((side["int"] or "0").replace(",", "")) if side["ord"] else _number_words(side, as_year)
    if side["exp"]:
        exponent = side["exp"][1:].replace("−", "-").lstrip("+")
        words += f" times ten to the {'minus ' if exponent.startswith('-') else ''}{cardinal(exponent.lstrip('-'))}"
    elif side["pow"]:
        power = side["pow"].replace("−", "-").lstrip("+")
        words += f" to the {'minus ' if power.startswith('-') else ''}{cardinal(power.lstrip('-'))}"
    if side["mult"]:
        words += " " + _MULTIPLIERS[side["mult"].strip()]
    return _sign(side) + words


def _is_resolution(side: _Side, context: _Context) -> bool:
    """"4K video", "8K display": K is said as the letter."""
    return side["mult"] == "K" and side["int"] in ("2", "4", "5", "8") and side["frac"] is None and (
        context.next.lower() in _SCREEN_WORDS)


def _plural_number(side: _Side, context: _Context, as_year: bool, ident: bool, possessive: bool) -> str | None:
    """A number with -s: a decade ("1990s", "the 80s", "'90s"), "hundreds of", or in a name
    ("A100s"); None when it is not one of those (then -s is seconds, or 's a possessive)."""
    digits = side["int"] or ""
    if ident and not possessive:
        return plural(_number_words(side, as_year))
    if side["frac"] is not None or not digits.isdigit() or not digits.endswith("0"):
        return None
    if _is_year(digits):
        return plural(year(digits))
    if len(digits) == 2 and (context.decade_mark or context.previous.lower() in _DECADE_WORDS):
        return plural(cardinal(digits))
    if not possessive and re.fullmatch(r"10+", digits) and context.next == "of":
        return plural(cardinal(digits)).removeprefix("one ")
    return None


def _tail(side: _Side, one: bool) -> str:
    """What follows the number: its unit, percent, degrees, "times", or currency."""
    parts = []
    if side["unit"]:
        singular, many = _UNITS[side["unit"].strip()]
        parts.append(singular if one else many)
        if side["per"]:
            parts.append(_PER[side["per"]])
    elif side["pct"]:
        parts.append("percent")
    elif side["deg"]:
        parts.append("degree" if one else "degrees")
        if side["scale"]:
            parts.append("Celsius" if side["scale"] == "C" else "Fahrenheit")
    elif side["times"]:
        parts.append("times")
    if side["cur"]:
        singular, many, _, _ = _CURRENCIES[side["cur"]]
        parts.append(singular if one else many)
    return " ".join(parts)


def _is_one(side: _Side) -> bool:
    return side["int"] == "1" and side["frac"] is None and not (side["mult"] or side["exp"] or side["pow"])


def _money(side: _Side) -> str | None:
    """"$4.99" -> "four dollars and ninety-nine cents"; None where the plain reading serves."""
    cur, frac = side["cur"], side["frac"]
    if not cur or frac is None or len(frac) != 2 or any(side[k] for k in ("mult", "exp", "pow", "pl", "ord")):
        return None
    one, many, minor_one, minor_many = _CURRENCIES[cur]
    if minor_one is None:
        return None
    whole = (side["int"] or "0").replace(",", "")
    major = f"{cardinal(whole)} {one if whole == '1' else many}"
    if frac == "00":
        return _sign(side) + major
    minor = f"{cardinal(frac.lstrip('0'))} {minor_one if frac == '01' else minor_many}"
    return _sign(side) + (minor if int(whole) == 0 else f"{major} and {minor}")


def _read_side(side: _Side, context: _Context, *, as_year: bool = False, ident: bool = False,
               one: bool | None = None) -> tuple[str, str]:
    """A side's (number, unit) words."""
    money = _money(side)
    if money is not None:
        return money, ""
    suffix = side["pl"]
    if suffix:
        plain = dict(side, pl=None)
        possessive = suffix[0] in "'’"
        words = _plural_number(plain, context, as_year, ident, possessive)
        if words is not None:
            return _sign(side) + words, ""
        if possessive:
            return _core(plain, as_year) + "'s", ""
        return _core(plain, False), "second" if _is_one(plain) else "seconds"
    if _is_resolution(side, context):
        return f"{cardinal(side['int'] or '')} K", ""
    return _core(side, as_year), _tail(side, _is_one(side) if one is None else one)


def _join(core: str, tail: str) -> str:
    return f"{core} {tail}" if tail else core


def _parse_chain(text: str, pos: int) -> tuple[list[_Side], list[str], int]:
    """Sides and the operators between them, from `pos`; returns where the chain ends."""
    sides, ops = [], []
    match = _SIDE_RE.match(text, pos)
    assert match is not None, "the chain start promises a number"
    sides.append(match.groupdict())
    pos = match.end()
    while True:
        op = _OP_RE.match(text, pos)
        if op is None or op.lastgroup == "dot" and sides[-1]["frac"] is None:
            break
        side = _SIDE_RE.match(text, op.end())
        if side is None or side.group("sign") and op.lastgroup != "range":
            break
        sides.append(side.groupdict())
        ops.append(op.lastgroup or "")
        pos = side.end()
    return sides, ops, pos


def _date(year_digits: str, month: str, day: str) -> str | None:
    try:
        date = dt.date(int(year_digits), int(month), int(day))
    except (ValueError, OverflowError):  # not a date: "13/45/2020", or a month of ten digits
        return None
    return f"{_MONTHS[date.month - 1]} {ordinal(str(date.day))}, {year(year_digits)}"


def _read_range(a: _Side, b: _Side, context: _Context) -> str:
    """"2019-2023", "2019-23" (years), "3-5%", "$5-10", "10-100x": the unit is said once, at the end."""
    first, second = a["int"] or "", b["int"] or ""
    if _bare(a) and _bare(b) and _is_year(first) and not context.count_follows:
        if _is_year(second) and int(second) > int(first):
            return f"{year(first)} to {year(second)}"
        if len(second) == 2 and int(second) > int(first) % 100:
            return f"{year(first)} to {cardinal(second)}"
    core_a, tail_a = _read_side(a, context, one=False)
    core_b, tail_b = _read_side(b, context, one=False)
    if tail_a and not tail_b:
        return f"{core_a} to {_join(core_b, tail_a)}"
    if tail_a == tail_b or not tail_a:
        return f"{core_a} to {_join(core_b, tail_b)}"
    return f"{_join(core_a, tail_a)} to {_join(core_b, tail_b)}"


def _read_colon(sides: list[_Side], context: _Context) -> str | None:
    """"10:30" (a time), "1:23:45" (a duration); None for a ratio."""
    last = dict(sides[-1], unit=None, per=None)
    if not (all(_digits_only(s) for s in sides[:-1]) and _digits_only(last)):
        return None
    digits = [s["int"] or "" for s in sides]
    if len(sides) == 3 and all(len(d) == 2 for d in digits[1:]) and not sides[-1]["unit"]:
        parts = [(int(d), name) for d, name in zip(digits, ("hour", "minute", "second")) if int(d)]
        return " ".join(f"{cardinal(str(n))} {name if n == 1 else name + 's'}" for n, name in parts) or "zero"
    if len(sides) != 2:
        return None
    hours, minutes = digits
    if context.next.lower() == "ratio" or len(minutes) != 2 or int(hours) > 24 or int(minutes) > 59:
        return None
    if minutes == "00":
        words = cardinal(hours) if sides[-1]["unit"] else f"{cardinal(hours)} o'clock"
    elif minutes.startswith("0"):
        words = f"{cardinal(hours)} oh {cardinal(minutes[1])}"
    else:
        words = f"{cardinal(hours)} {cardinal(minutes)}"
    return _join(words, _tail(sides[-1], False))


def _read_slash(sides: list[_Side], context: _Context) -> str | None:
    """"1/2" -> "half", "3/4" -> "three quarters", "9/10 people", "24/7", "2/19/2026" (a date)."""
    if not all(_digits_only(s) for s in sides):
        return None
    digits = [s["int"] or "" for s in sides]
    if len(sides) == 3:
        month, day, year_digits = digits
        return _date(year_digits, month, day) or _date(year_digits, day, month) if len(year_digits) == 4 else None
    numbers = [int(d) for d in digits]
    if numbers == [24, 7]:
        return "twenty-four seven"
    if len(numbers) == 2 and 0 < numbers[0] < numbers[1] <= 10:
        if context.count_follows or context.next in ("people", "children"):  # "9/10 developers"
            return f"{cardinal(digits[0])} out of {cardinal(digits[1])}"
        return _fraction(*numbers)
    return None


def _read_chain(text: str, match: re.Match[str]) -> tuple[str, int]:
    """One chain -> its words, and where it ends in `text`."""
    sides, ops, end = _parse_chain(text, match.end())
    context = _Context(text, match.start(), end, decade_mark=bool(match.group("apos")))
    ident = match.group("ident")
    if ident:
        words = _read_identified(ident, bool(match.group("joint")), sides, ops, context)
    else:
        words = _read_plain(sides, ops, context)
        if match.group("hash"):
            words = "number " + words
        if match.group("approx"):
            words = ("about " if match.group("approx").strip() == "~" else "approximately ") + words
    if end < len(text) and text[end].isalnum():
        words += " "  # "4o" -> "four o"
    return words, end


def _read_identified(ident: str, joint: bool, sides: list[_Side], ops: list[str], context: _Context) -> str:
    """`GPT-4`, `NF4`, `v2.0.1`, `A100s`, `mid-2023`, `RTX4090`: a name with numbers in it."""
    pairs = ident.lower() in _YEAR_PREFIXES or len(ident) >= 2 and ident.isupper()
    parts = []
    for index, side in enumerate(sides):
        if index:
            parts.append(" " if ops[index - 1] == "range" else f" {_OP_WORDS[ops[index - 1]]} ")
        as_year = pairs and len(side["int"] or "") == 4 and (side["int"] or "").isdigit() and side["frac"] is None
        parts.append(_join(*_read_side(side, context, as_year=as_year, ident=True)))
    name = "version" if ident in ("v", "V") and not joint else ident
    return f"{name} {''.join(parts)}"


def _read_plain(sides: list[_Side], ops: list[str], context: _Context) -> str:
    if not ops:
        side = sides[0]
        digits = side["int"] or ""
        possessive = bool(side["pl"]) and side["pl"][0] in "'’"
        as_year = _bare(dict(side, pl=None)) and (
            context.after_acronym and len(digits) == 4
            or _is_year(digits) and (possessive or not context.count_follows))
        return _join(*_read_side(side, context, as_year=as_year))
    kinds = set(ops)
    special: str | None = None
    if kinds == {"range"} and len(sides) == 2:
        special = _read_range(sides[0], sides[1], context)
    elif kinds == {"range"} and [len(s["int"] or "") for s in sides] == [4, 2, 2] and all(map(_digits_only, sides)):
        special = _date(*(s["int"] or "" for s in sides))
    elif kinds == {"by"}:
        special = " by ".join(_join(*_read_side(s, context, as_year=_bare(s) and len(s["int"] or "") == 4))
                              for s in sides)
    elif kinds == {"colon"}:
        special = _read_colon(sides, context)
    elif kinds == {"slash"}:
        special = _read_slash(sides, context)
    if special is not None:
        return special
    parts = [_join(*_read_side(sides[0], context))]
    for op, side in zip(ops, sides[1:]):
        parts.append(f"{_OP_WORDS[op]} {_join(*_read_side(side, context))}")
    return " ".join(parts)


# ---- the pass -------------------------------------------------------------------------------

_SYMBOL_WORDS: dict[str, str] = {f"s{i}": words for i, (_, words) in enumerate(_SYMBOLS)}


def _scan(text: str) -> str:
    """The single left-to-right pass: each chain or symbol is replaced by its words."""
    out, pos = [], 0
    while True:
        match = _TOKEN_RE.search(text, pos)
        if match is None:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos:match.start()])
        if match.group("chain") is not None:
            words, pos = _read_chain(text, match)
            out.append(words)
        else:
            out.append(_SYMBOL_WORDS[match.lastgroup or ""])
            pos = match.end()


def normalize(text: str) -> str:
    """Spell out what a TTS front end reads badly: numbers, units, ranges, multipliers, symbols.

    Raises UnreadableNumberError (a ScriptError without file) for a number over 15 digits.
    """
    text = _scan(text)
    text = re.sub(r",\s*([,.!?;:])", r"\1", text)
    return " ".join(text.split()).strip(" ,")


_READABLE_SCRIPTS = ("LATIN", "GREEK")


def unreadable_characters(text: str) -> str:
    """Letters a Latin-alphabet voice cannot read (CJK, Arabic, Cyrillic, ...), each once, in order.

    Such a voice reads them letter by letter ("Chinese letter", "Arabic meem") or not at all, so
    the producer should be told. Greek letters are read by name and pass.
    """
    found: dict[str, None] = {}
    for char in text:
        if char.isascii() or not char.isalpha() or char in found:
            continue
        name = unicodedata.name(char, "")
        if not any(script in name for script in _READABLE_SCRIPTS) and not name.startswith("MICRO"):
            found[char] = None
    return "".join(found)
