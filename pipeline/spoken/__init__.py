"""Reading text aloud: numbers, units, dates, times and symbols spelled out for the voice.

A TTS front end reads "2e-5", "$1.5B", "08:30 am" or "40 kg" badly, so the text is rewritten for
the ear before synthesis, in one left-to-right pass (reader.py) over tables kept as data:
units.py (unit symbols), calendar.py (months, dates, clock times), symbols.py (symbols and the
silent marks), numbers.py (number words). Rules a producer can rely on (tests/test_spoken.py and
tests/test_readings.py hold the full tables):

- Cardinals are American style, without "and": 2048 -> "two thousand forty-eight".
- Years: a bare whole number from 1100 to 2099 reads as a year ("twenty twenty-three") unless a
  count noun follows it (a lowercase word ending in -s that is not a common verb or adverb, or a
  plural acronym such as GPUs) or it starts a hyphenated compound ("2048-token"). A range of
  such numbers reads as years ("2019-2023", "2019-23"). A 4-digit number after an acronym reads
  in pairs ("RTX 4090" -> "RTX forty ninety"), and so do 4-digit dimensions ("1920x1080").
- Decades: "1990s", "the 2020s", "'90s", "the 80s"; "100s of" -> "hundreds of"; any other
  number with a bare -s is seconds ("a 30s timeout").
- Units (units.py) read singular only after exactly "1"; with a hyphen they are singular
  ("a 5-kg bag" -> "a five-kilogram bag"); "/" after a unit or amount is "per" ("km/h", "$5/month").
  Multipliers K, M, B, T (and k, b, bn, mn) are thousand, million, billion, trillion; "m" is
  meters, but million after a currency or before a count ("$5m", "5m users").
- Currency is read after the amount ("$1.5B" -> "one point five billion dollars"); cents and pence
  after whole amounts.
- Ranges: a unit written once is said once, at the end ("3-7 lb" -> "three to seven pounds");
  written at both ends it is said at both ("$40-$60" -> "forty dollars to sixty dollars").
- Signs: "-", "−", "–" and "+" before a number are always read ("minus two"), wherever it stands.
- Decimals read each digit after the point ("1.0" -> "one point zero"); a leading zero reads
  digit by digit ("007"), except in hours ("08:30" -> "eight thirty"). More than 15 digits before
  or after the point is an error: nobody can follow it read aloud.
"""

from __future__ import annotations

import re

from .alphabets import unreadable_characters
from .numbers import MAX_DIGITS, UnreadableNumberError
from .reader import Reading, readings
from .symbols import SILENT

__all__ = ["MAX_DIGITS", "SILENT", "Reading", "UnreadableNumberError", "normalize", "readings",
           "unreadable_characters"]


def normalize(text: str) -> str:
    """Spell out what a TTS front end reads badly: numbers, units, dates, times and symbols.

    Raises UnreadableNumberError (a ScriptError without file) for a number over 15 digits.
    """
    text = "".join(reading.spoken for reading in readings(text))
    text = re.sub(r"\s*,\s*([,.!?;:])|\s+([,.!?;:])", r"\1\2", text)
    return " ".join(text.split()).strip(" ,")
