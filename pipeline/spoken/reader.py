"""The pass that reads a sentence: numbers, dates, symbols and words, left to right, once.

A *number chain* is read as a whole: numbers with their sign, currency, exponent, multiplier,
unit and clock mark, joined by range dashes, `x` (dimensions), `:` (times and ratios), `/`
(fractions and dates) or `.` (versions), together with an identifier glued in front (`GPT-4`,
`NF4`, `v2`). A *date* written with a month name is read as a whole too. Everything else is a
symbol from the tables in symbols.py, a word the voice reads as written, or a silent mark.
Nothing is rewritten twice, so rules cannot interfere, and every character lands in exactly one
Reading, so nothing is dropped without a word.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from . import calendar
from .numbers import cardinal, decimal, fraction, ordinal, plural, year
from .symbols import SYMBOLS, is_letter, is_silent, name_of, silent_form, starts_word
from .units import GLUED_ONLY, PER_WORDS, SPACED_LETTERS, UNITS


@dataclass(frozen=True)
class Reading:
    """One stretch of the written text and what the voice is given for it."""

    start: int
    """Offset of the stretch in the text."""
    end: int
    written: str
    spoken: str
    kind: str
    """"number", "date", "symbol" (a table's reading), "name" (a symbol read by its name),
    "word" (read as written), "mark" (silent punctuation) or "space"."""


# ---- the grammar ----------------------------------------------------------------------------

_MULTIPLIERS = {"k": "thousand", "K": "thousand", "M": "million", "mn": "million", "b": "billion", "B": "billion",
                "bn": "billion", "T": "trillion", "thousand": "thousand", "million": "million", "billion": "billion",
                "trillion": "trillion"}
_CURRENCIES = {  # symbol: (one, many, minor unit one, minor unit many)
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", None, None),
    "₹": ("rupee", "rupees", None, None),
}
_SIGNS = {"-": "minus", "−": "minus", "–": "minus", "+": "plus", "±": "plus or minus"}
_OP_WORDS = {"range": "to", "by": "by", "colon": "to", "slash": "over", "dot": "point"}


def _alternation(words) -> str:
    """A regex alternative of the words, longest first, so "ms" is tried before "m"."""
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_CUR = re.escape("".join(_CURRENCIES))
_NUM = r"(?P<int>\d{1,3}(?:,\d{3})+(?!\d)|\d+)?(?:\.(?P<frac>\d+))?"
_GLUED = _alternation(UNITS)
_SPACED = _alternation(u for u in UNITS if (len(u) > 1 or u in SPACED_LETTERS) and u not in GLUED_ONLY)
_HYPHENED = _alternation(u for u in UNITS if len(u) > 1 and u not in GLUED_ONLY)
_SIDE_RE = re.compile(rf"""
    (?P<sign>[-−+±–])?
    (?:(?P<cur>[{_CUR}])\s?)?
    (?P<csign>[-−+])?
    (?=\.?\d){_NUM}
    (?:(?P<exp>[eE][-−+]?\d+)|\^(?P<pow>[-−+]?\d+))?
    (?:
        (?P<ord>st|nd|rd|th)(?!\w)
      | (?P<pl>['’]?s)(?!\w)
      | (?P<mult>k|K|M|mn|b|B|bn|T|\s(?:[KMBT]|bn|thousand|million|billion|trillion))(?!\w)
      | \s?(?P<ampm>[aApP]\.[mM](?:\.(?=\s+[a-z0-9]|[,;:]))?|[aApP][mM])(?!\w)
      | (?P<unit>{_GLUED}|\s(?:{_SPACED}))(?![\w'’])
      | -(?P<hunit>{_HYPHENED})(?![\w'’])
      | \s?(?P<pct>%)
      | \s?(?P<deg>°)(?:\s?(?P<scale>[CF])(?!\w))?
      | (?P<times>x(?!\w)(?!\s?[-+=*/^]\s?\w)|×(?!\s*\d))
    )?
    (?:/(?P<per>{_alternation(PER_WORDS)})(?![\w'’]))?
    """, re.VERBOSE)
_OP_RE = re.compile(rf"""
    (?P<range>-(?=[{_CUR}]?\d)|(?:–|\s–\s)(?=[-−]?[{_CUR}]?\d)|\s+to\s+(?=[-−]?[{_CUR}]?\d))
  | (?P<by>\s?[x×]\s?(?=\d))
  | (?P<colon>:(?=\d))
  | (?P<slash>/(?=\d))
  | (?P<dot>\.(?=\d))
    """, re.VERBOSE)
_CHAIN_START = rf"""
    (?<!\w)(?P<ident>[^\W\d_]+)(?P<joint>-)?(?=\d)
  | (?<![\w.])(?P<approx>[~≈]\s?)?(?P<hash>\#(?=\d))?(?P<apos>['’](?=\d0s(?!\w)))?
    (?=[-−+±–]?(?:[{_CUR}]\s?)?[-−+]?\.?\d)
  | (?=\d)
"""
_ORD = r"(?:st|nd|rd|th)"
_DATE_END = r"(?![\w%°'’]|[.,:/–-]\d)"
"""A day or year must end there: "March 3kg" or "May 3.5" is no date."""
_DATE = rf"""
    (?<![\w.])(?P<month>[A-Za-z]{{3,9}})\.?\s+(?P<day>[0-3]?\d)(?P<ord>{_ORD})?
      (?:\s?[-–]\s?(?P<last>[0-3]?\d){_ORD}?)?(?:,?\s+(?P<year>\d{{4}}))?{_DATE_END}
  | (?<![\w.,/$€£¥₹+±–−-])(?P<dday>[0-3]?\d)(?P<dord>{_ORD})?(?:\s?[-–]\s?(?P<dlast>[0-3]?\d){_ORD}?)?
      \s+(?:of\s+)?(?P<dmonth>[A-Za-z]{{3,9}})\.?(?:,?\s+(?P<dyear>\d{{4}}))?{_DATE_END}
"""
"""A date with a month name; the word is checked against the month names in code (a regex
alternative of them, tried at every position, tripled the time of the pass)."""
_PATTERNS = {
    "date": re.compile(f"(?x:{_DATE})"),
    "number": re.compile(f"(?x:{_CHAIN_START})"),
    "symbol": re.compile("|".join(f"(?P<s{i}>{p})" for i, (p, _) in enumerate(SYMBOLS))),
}
"""What a token can start with, in order of precedence where two start at the same place. They are
searched apart, not as one alternation: Python tries every alternative at every position, which
made one combined pattern twice as slow."""

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
_NOT_NOUNS = {"of", "or", "and", "to", "per", "in", "on", "at", "for", "from", "with", "by", "than", "each", "is",
              "was", "are", "were"}
"""Words after "a 2 TB" that do not make the unit an adjective ("a 2 TB or larger disk")."""


def _is_count_noun(word: str) -> bool:
    """Whether a word after a number makes it a count: "2048 tokens", "1200 GPUs"."""
    if re.fullmatch(r"[A-Z][A-Z0-9]*s", word):
        return True
    return (word.islower() and len(word) >= 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))
            and word not in _NOT_COUNT_NOUNS)


class _Context:
    """The words around a chain, which decide years, decades, ratios and "m"."""

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
    def attributive(self) -> bool:
        """"a 48GB card", "an 8 kg bag": a unit before a noun is singular, as in "a forty-eight gigabyte card"."""
        return self.previous.lower() in ("a", "an") and bool(self.next) and self.next.lower() not in _NOT_NOUNS

    @property
    def after_acronym(self) -> bool:
        return len(self.previous) >= 2 and self.previous.isupper() and self.previous.isalpha()


# ---- reading one side of a chain ------------------------------------------------------------

_Side = dict[str, "str | None"]
_SUFFIXES = ("sign", "cur", "csign", "frac", "exp", "pow", "ord", "pl", "mult", "ampm", "unit", "hunit", "per", "pct",
             "deg", "scale", "times")


def _digits_only(side: _Side) -> bool:
    """Digits and nothing else: no sign, currency, commas, fraction, exponent or suffix."""
    return bool(side["int"]) and (side["int"] or "").isdigit() and all(side[k] is None for k in _SUFFIXES)


def _bare(side: _Side) -> bool:
    """A plain whole number, as years and counts are written."""
    return _digits_only(side) and not (side["int"] or "").startswith("0")


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and digits.isdigit() and 1100 <= int(digits) <= 2099


def _sign(side: _Side) -> str:
    return "".join(_SIGNS[s] + " " for s in (side["sign"], side["csign"]) if s)


def _number_words(side: _Side, as_year: bool) -> str:
    digits = side["int"] or ""
    if as_year and side["frac"] is None and len(digits) == 4 and digits.isdigit():
        return year(digits)
    if side["ampm"] and digits.isdigit() and side["frac"] is None:
        return cardinal(str(int(digits)))  # "08am": hours keep no leading zero
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


def _resolve_m(side: _Side, context: _Context) -> _Side:
    """"5m" is five meters, but "$5m" and "5m tokens" are five million."""
    if side["unit"] == "m" and (side["cur"] or context.count_follows):
        return dict(side, unit=None, mult="M")
    return side


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


def _per(side: _Side) -> str:
    per = side["per"]
    return f" per {PER_WORDS[per]}" if per else ""


def _tail(side: _Side, one: bool) -> str:
    """What follows the number: its unit, percent, degrees, "times", clock mark or currency."""
    parts = []
    if side["unit"]:
        unit = UNITS[side["unit"].strip()]
        parts.append(unit.one if one else unit.many)
    elif side["ampm"]:
        parts.append(calendar.meridiem(side["ampm"]))
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
    return " ".join(parts) + _per(side)


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
        return _sign(side) + major + _per(side)
    minor = f"{cardinal(frac.lstrip('0'))} {minor_one if frac == '01' else minor_many}"
    return _sign(side) + (minor if int(whole) == 0 else f"{major} and {minor}") + _per(side)


def _read_side(side: _Side, context: _Context, *, as_year: bool = False, ident: bool = False,
               one: bool | None = None) -> tuple[str, str]:
    """A side's (number, unit) words."""
    side = _resolve_m(side, context)
    money = _money(side)
    if money is not None:
        return money, ""
    if side["hunit"]:  # "a 5-kg bag": a unit in a compound is singular, as in "a five-kilogram bag"
        return f"{_core(side, as_year)}-{UNITS[side['hunit']].one}", ""
    suffix = side["pl"]
    if suffix:
        plain = dict(side, pl=None)
        possessive = suffix[0] in "'’"
        words = _plural_number(plain, context, as_year, ident, possessive)
        if words is not None:
            return _sign(side) + words, _per(side)
        if possessive:
            return _core(plain, as_year) + "'s", _per(side)
        return _core(plain, False), ("second" if (_is_one(plain) if one is None else one) else "seconds") + _per(side)
    if _is_resolution(side, context):
        return f"{cardinal(side['int'] or '')} K", _per(side)
    return _core(side, as_year), _tail(side, _is_one(side) if one is None else one)


def _join(core: str, tail: str) -> str:
    return f"{core} {tail}" if tail and not tail.startswith(" ") else core + tail


# ---- reading a chain ------------------------------------------------------------------------


def _parse_chain(text: str, pos: int) -> tuple[list[_Side], list[str], int]:
    """Sides and the operators between them, from `pos`; returns where the chain ends."""
    sides, ops = [], []
    match = _SIDE_RE.match(text, pos)
    assert match is not None, "the chain start promises a number"
    sides.append(match.groupdict())
    pos = match.end()
    while True:
        op = _OP_RE.match(text, pos)
        if op is None or (op.lastgroup == "dot" and sides[-1]["frac"] is None):
            break
        side = _SIDE_RE.match(text, op.end())
        if side is None or ((side.group("sign") or side.group("csign")) and op.lastgroup != "range"):
            break
        sides.append(side.groupdict())
        ops.append(op.lastgroup or "")
        pos = side.end()
    return sides, ops, pos


def _read_range(a: _Side, b: _Side, context: _Context) -> str:
    """"2019-2023", "2019-23" (years), "3-5%", "$5-10", "10-100x": a unit written once is said once,
    at the end; written at both ends ("$40-$60", "9am-11am") it is said at both."""
    first, second = a["int"] or "", b["int"] or ""
    if _bare(a) and _bare(b) and _is_year(first) and not context.count_follows:
        if _is_year(second) and int(second) > int(first):
            return f"{year(first)} to {year(second)}"
        if len(second) == 2 and int(second) > int(first) % 100:
            return f"{year(first)} to {cardinal(second)}"
    core_b, tail_b = _read_side(b, context, one=context.attributive)
    core_a, tail_a = _read_side(a, context, one=context.attributive)
    if tail_a and tail_b:
        return f"{_join(*_read_side(a, context))} to {_join(core_b, tail_b)}"
    return f"{core_a} to {_join(core_b, tail_a or tail_b)}"


def _read_colon(sides: list[_Side], context: _Context) -> str | None:
    """"10:30", "08:30 am" (times), "1:23:45" (a duration); None for a ratio."""
    last = dict(sides[-1], unit=None, per=None, ampm=None)
    if not (all(_digits_only(s) for s in sides[:-1]) and _digits_only(last)):
        return None
    digits = [s["int"] or "" for s in sides]
    if len(sides) == 3 and all(len(d) == 2 for d in digits[1:]) and not (sides[-1]["unit"] or sides[-1]["ampm"]):
        parts = [(int(d), name) for d, name in zip(digits, ("hour", "minute", "second")) if int(d)]
        return " ".join(f"{cardinal(str(n))} {name if n == 1 else name + 's'}" for n, name in parts) or "zero"
    if len(sides) != 2 or context.next.lower() == "ratio":
        return None
    marker = calendar.meridiem(sides[-1]["ampm"]) if sides[-1]["ampm"] else None
    words = calendar.clock(digits[0], digits[1], marker)
    if words is None:
        return None
    if sides[-1]["unit"]:
        words = words.removesuffix(" o'clock")
    return _join(words, _tail(dict(sides[-1], ampm=None), False))


def _read_slash(sides: list[_Side], context: _Context) -> str | None:
    """"1/2" -> "half", "3/4" -> "three quarters", "9/10 people", "24/7", "2/19/2026" (a date)."""
    if not all(_digits_only(s) for s in sides):
        return None
    digits = [s["int"] or "" for s in sides]
    if len(sides) == 3:
        first, second, third = digits
        if len(first) == 4:
            return calendar.numeric_date(first, second, third)
        if len(third) == 4:
            return calendar.numeric_date(third, first, second) or calendar.numeric_date(third, second, first)
        return None
    numbers = [int(d) for d in digits]
    if numbers == [24, 7]:
        return "twenty-four seven"
    if len(numbers) == 2 and 0 < numbers[0] < numbers[1] <= 10:
        if context.count_follows or context.next in ("people", "children"):  # "9/10 developers"
            return f"{cardinal(digits[0])} out of {cardinal(digits[1])}"
        return fraction(*numbers)
    return None


def _read_version(sides: list[_Side], ops: list[str], context: _Context, ident: str = "") -> str | None:
    """"3.10.2", "v3.10", "version 3.10": each part of a version is a number of its own ("three point
    ten point two"); None for a plain decimal ("3.10" alone reads "three point one zero")."""
    if any(op != "dot" for op in ops) or not all(_digits_only(dict(s, frac=None)) for s in sides):
        return None
    if not ops and ident not in ("v", "V") and context.previous.lower() != "version":
        return None
    parts = [p for s in sides for p in (s["int"], s["frac"]) if p is not None]
    return " point ".join(cardinal(p) for p in parts)


def _read_identified(ident: str, joint: bool, sides: list[_Side], ops: list[str], context: _Context) -> str:
    """`GPT-4`, `NF4`, `v2.0.1`, `A100s`, `mid-2023`, `RTX4090`: a name with numbers in it."""
    name = "version" if ident in ("v", "V") and not joint else ident
    version = _read_version(sides, ops, context, ident)
    if version is not None:
        return f"{name} {version}"
    pairs = ident.lower() in _YEAR_PREFIXES or (len(ident) >= 2 and ident.isupper())
    parts = []
    for index, side in enumerate(sides):
        if index:
            parts.append(" " if ops[index - 1] == "range" else f" {_OP_WORDS[ops[index - 1]]} ")
        as_year = pairs and len(side["int"] or "") == 4 and (side["int"] or "").isdigit() and side["frac"] is None
        parts.append(_join(*_read_side(side, context, as_year=as_year, ident=True)))
    return f"{name} {''.join(parts)}"


def _read_plain(sides: list[_Side], ops: list[str], context: _Context) -> str:
    if not ops:
        side = sides[0]
        version = _read_version(sides, ops, context)
        if version is not None:
            return version
        digits = side["int"] or ""
        possessive = bool(side["pl"]) and side["pl"][0] in "'’"
        as_year = _bare(dict(side, pl=None)) and (
            (context.after_acronym and len(digits) == 4)
            or (_is_year(digits) and (possessive or not context.count_follows)))
        if side["ampm"] and _digits_only(dict(side, ampm=None, frac=None)):  # "7pm", "8.30am" (British)
            marker = calendar.meridiem(side["ampm"])
            return calendar.clock(digits, side["frac"], marker) or _join(*_read_side(side, context))
        return _join(*_read_side(side, context, as_year=as_year, one=True if context.attributive else None))
    kinds = set(ops)
    special: str | None = _read_version(sides, ops, context)
    if special is not None:
        return special
    if kinds == {"range"} and len(sides) == 2:
        special = _read_range(sides[0], sides[1], context)
    elif kinds == {"range"} and [len(s["int"] or "") for s in sides] == [4, 2, 2] and all(map(_digits_only, sides)):
        special = calendar.numeric_date(*(s["int"] or "" for s in sides))
    elif "range" in kinds and len(kinds) > 1:  # "9:30-10:15 am": each end read on its own
        special = _read_segments(sides, ops, context)
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


def _read_segments(sides: list[_Side], ops: list[str], context: _Context) -> str:
    """A range whose ends are themselves chains ("9:30-10:15", "1/2-3/4"): each end in full."""
    segments: list[tuple[list[_Side], list[str]]] = [([sides[0]], [])]
    for op, side in zip(ops, sides[1:]):
        if op == "range":
            segments.append(([side], []))
        else:
            segments[-1][0].append(side)
            segments[-1][1].append(op)
    return " to ".join(_read_plain(s, o, context) for s, o in segments)


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


# ---- dates with month names -----------------------------------------------------------------


def _read_date(text: str, match: re.Match[str]) -> str | None:
    """"March 3, 2024", "3rd of March" and their ranges; None when it is not a date after all."""
    day_first = match.group("dmonth") is not None
    name = match.group("dmonth") if day_first else match.group("month")
    day, last, year_digits, suffix = (match.group(g) for g in (
        ("dday", "dlast", "dyear", "dord") if day_first else ("day", "last", "year", "ord")))
    before = text[max(0, match.start() - 12):match.start()].lower()
    if day_first and before.split()[-1:] and before.split()[-1] in calendar.NUMBERED_NOUNS:
        return None
    if not calendar.is_month(name, year_given=bool(year_digits), ordinal_day=bool(suffix),
                             after_on=bool(re.search(r"\bon\s+$", before))):
        return None
    month = calendar.month_number(name)
    assert month is not None, "the pattern only matches month names"
    days = [int(day)] + ([int(last)] if last else [])
    if day_first:
        return calendar.date_day_first(month, days, year_digits, the=not re.search(r"\bthe\s+$", before))
    return calendar.date_month_first(month, days, year_digits)


# ---- the pass -------------------------------------------------------------------------------

_SYMBOL_WORDS = {f"s{i}": words for i, (_, words) in enumerate(SYMBOLS)}


def _gap(text: str, start: int, end: int) -> Iterator[Reading]:
    """The text between numbers and symbols: words as written, silent marks, symbols by name."""
    i = start
    while i < end:
        char = text[i]
        j = i + 1
        if starts_word(char):
            while j < end and (is_letter(text[j]) or (text[j] in "_'’.-" and j + 1 < end and is_letter(text[j + 1]))):
                j += 1
            yield Reading(i, j, text[i:j], text[i:j], "word")
        elif char.isspace():
            while j < end and text[j].isspace():
                j += 1
            yield Reading(i, j, text[i:j], " ", "space")
        elif is_silent(char):
            yield Reading(i, j, char, silent_form(char), "mark")
        else:
            yield Reading(i, j, char, f" {name_of(char)} ", "name")
        i = j


def readings(text: str) -> list[Reading]:
    """The single left-to-right pass: every character of `text` in exactly one Reading, in order.

    Raises UnreadableNumberError for a number over 15 digits.
    """
    out: list[Reading] = []
    pos = dates_from = 0
    ahead: dict[str, re.Match[str] | None] = {}
    """Each pattern's next match at or after `pos` (a match found earlier stays valid)."""
    while True:
        for kind, pattern in _PATTERNS.items():
            start_at = max(pos, dates_from) if kind == "date" else pos
            match = ahead.get(kind, pattern)  # the pattern itself: not searched yet
            if match is pattern or (match is not None and match.start() < start_at):
                ahead[kind] = pattern.search(text, start_at)
        found = [(m.start(), order, kind, m) for order, (kind, m) in enumerate(ahead.items()) if m is not None]
        if not found:
            break
        start, _, kind, match = min(found)
        if kind == "date":
            words = _read_date(text, match)
            if words is None:  # not a date after all ("Llama 3"): its number is read as a number
                dates_from = start + 1
                continue
            end = match.end()
        elif kind == "number":
            words, end = _read_chain(text, match)
        else:
            replacement = _SYMBOL_WORDS[match.lastgroup or ""]
            words = replacement if isinstance(replacement, str) else replacement(match)
            end = match.end()
        out.extend(_gap(text, pos, start))
        out.append(Reading(start, end, text[start:end], words, kind))
        pos = end
    out.extend(_gap(text, pos, len(text)))
    return out
