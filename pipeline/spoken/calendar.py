"""Dates and clock times, read as a newsreader says them.

- Month first: "March 3, 2024", "march 3 2024", "Mar. 3rd" -> "March third, twenty twenty-four".
- Day first: "3 March 2024", "3rd of March" -> "the third of March, twenty twenty-four".
- Numeric: "2024-03-05", "3/5/2024" (month first, or day first where the month would be over 12).
- Clock: "08:30 am", "8:30AM", "8.30am", "7pm", "11:15 p.m." -> "eight thirty AM", "seven PM",
  "eleven fifteen PM"; "17:45" -> "seventeen forty-five", "17:00" -> "seventeen hundred", "9:00" ->
  "nine o'clock".
  Hours never keep a leading zero. AM and PM are written in capitals for the voice: the bundled
  voice reads "a m" as "uh em" (the article), and "AM" as the two letters (tiny.en heard "eight
  thirty AM" as 8:30 a.m. in 12 of 12 takes, "eight thirty a m" in 1 of 12; "PM" and "p m" 12/12).
"""

from __future__ import annotations

import datetime as dt
import re

from .numbers import cardinal, ordinal, year

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
_ABBREVIATIONS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
                  "oct": 10, "nov": 11, "dec": 12}
_MONTH_NUMBERS = {**{m.lower(): i for i, m in enumerate(MONTHS, 1)}, **_ABBREVIATIONS}
AMBIGUOUS_MONTHS = frozenset({"march", "may", "mar"})
"""Month names that are also common words: in lower case they are a month only with a year or
an ordinal day ("may 5th", "march 3 2024"), or after "on" ("on may 5")."""
MONTH_PATTERN = "|".join(sorted(_MONTH_NUMBERS, key=len, reverse=True))
"""Regex alternative of month names and abbreviations (lower case; match with re.IGNORECASE)."""

NUMBERED_NOUNS = frozenset({"version", "chapter", "section", "page", "part", "step", "figure", "table", "episode",
                            "issue", "volume", "level", "round", "phase", "stage", "grade", "item", "line", "lesson"})
"""Words a number belongs to: "Chapter 12 March" is chapter twelve, then March."""

MERIDIEMS = {"am": "AM", "pm": "PM"}
"""Spoken forms of the day halves; see the module docstring for why capitals."""


def month_number(name: str) -> int | None:
    """"March", "mar.", "SEPT" -> 3, 3, 9; None for anything else."""
    return _MONTH_NUMBERS.get(name.lower().rstrip("."))


def is_month(name: str, *, year_given: bool, ordinal_day: bool, after_on: bool) -> bool:
    """Whether a month-like word next to a day number is a month (see AMBIGUOUS_MONTHS)."""
    if month_number(name) is None:
        return False
    if name.islower() and name.rstrip(".") in AMBIGUOUS_MONTHS:
        return year_given or ordinal_day or after_on
    return True


def _valid(month: int, day: int, year_digits: str | None) -> bool:
    try:
        dt.date(int(year_digits) if year_digits else 2000, month, day)  # 2000: a leap year
    except (ValueError, OverflowError):
        return False
    return True


def _year_words(year_digits: str | None) -> str:
    return f", {year(year_digits)}" if year_digits else ""


def date_month_first(month: int, days: list[int], year_digits: str | None) -> str | None:
    """"March third, twenty twenty-four"; "March third to fifth" for a range of days."""
    if not all(_valid(month, d, year_digits) for d in days) or days != sorted(set(days)):
        return None
    return f"{MONTHS[month - 1]} {' to '.join(ordinal(str(d)) for d in days)}{_year_words(year_digits)}"


def date_day_first(month: int, days: list[int], year_digits: str | None, the: bool = True) -> str | None:
    """"the third of March, twenty twenty-four"; `the=False` when the text already says "the"."""
    if not all(_valid(month, d, year_digits) for d in days) or days != sorted(set(days)):
        return None
    named = " to the ".join(ordinal(str(d)) for d in days)
    return f"{'the ' if the else ''}{named} of {MONTHS[month - 1]}{_year_words(year_digits)}"


def numeric_date(year_digits: str, month: str, day: str) -> str | None:
    """"2026", "02", "19" -> "February nineteenth, twenty twenty-six"; None when not a date."""
    if len(month) > 2 or len(day) > 2 or not _valid(int(month), int(day), year_digits):
        return None
    return date_month_first(int(month), [int(day)], year_digits)


def meridiem(written: str) -> str:
    """"p.m.", "PM", "am" -> "PM", "PM", "AM"."""
    return MERIDIEMS[re.sub(r"[\W_]", "", written).lower()]


def clock(hours: str, minutes: str | None, marker: str | None) -> str | None:
    """A time of day in words, or None when the numbers cannot be one ("13pm", "10:75").

    `marker` is "AM" or "PM" (already spoken form) or None; `minutes` None for "7pm".
    """
    hour = int(hours)
    if (marker and not 1 <= hour <= 12) or hour > 24 or len(hours) > 2:
        return None
    suffix = f" {marker}" if marker else ""
    if minutes is None:
        return f"{cardinal(str(hour))}{suffix}" if marker else None
    if len(minutes) != 2 or int(minutes) > 59:
        return None
    minute = int(minutes)
    if minute == 0:
        if marker:
            return f"{cardinal(str(hour))}{suffix}"
        if hour in (0, 24):
            return "midnight"
        return f"{cardinal(str(hour))} hundred" if hour > 12 else f"{cardinal(str(hour))} o'clock"
    said = f"oh {cardinal(str(minute))}" if minute < 10 else cardinal(str(minute))
    return f"{cardinal(str(hour))} {said}{suffix}"
