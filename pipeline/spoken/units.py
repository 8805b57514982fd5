"""The unit table: every symbol a number may carry, with its spoken names.

One row per unit: the spellings accepted (exact case), then its singular and plural. Case
carries meaning and the table says which: an upper-case B is a byte and a lower-case b after an
upper-case prefix a bit ("MB" megabytes, "Mb" megabits); written all in lower case ("16gb",
"500mb") is how people write bytes, except in rates ("gbps" is gigabits per second). Units are
only read after a number ("5 m", "5m"): "m" on its own is a letter. A one-letter unit also needs
the number glued to it or a space and then no word ("5 s.", "5 s and"), so "Plan 5 A" and the
like stay as written. Temperatures (°C), percent, multipliers (K, M, B) and currencies are read
in pipeline/spoken/reader.py.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    """How a unit is said after a number."""

    one: str
    """After exactly "1": "one kilogram"."""
    many: str
    """After anything else: "1.0 kilograms", "2 kilograms"."""


_ROWS: list[tuple[str, str, str | None]] = [
    # spellings               singular                     plural (None: singular + "s")
    # data sizes: B byte, b bit; all lower case is bytes
    ("kB KB kb", "kilobyte", None),
    ("MB mb", "megabyte", None),
    ("GB gb", "gigabyte", None),
    ("TB tb", "terabyte", None),
    ("PB pb", "petabyte", None),
    ("KiB", "kibibyte", None),
    ("MiB", "mebibyte", None),
    ("GiB", "gibibyte", None),
    ("TiB", "tebibyte", None),
    ("Kb", "kilobit", None),
    ("Mb", "megabit", None),
    ("Gb", "gigabit", None),
    ("Tb", "terabit", None),
    # data rates
    ("bps", "bit per second", "bits per second"),
    ("kbps Kbps", "kilobit per second", "kilobits per second"),
    ("Mbps mbps", "megabit per second", "megabits per second"),
    ("Gbps gbps", "gigabit per second", "gigabits per second"),
    ("Tbps tbps", "terabit per second", "terabits per second"),
    # time
    ("ns", "nanosecond", None),
    ("µs μs us", "microsecond", None),
    ("ms", "millisecond", None),
    ("s sec secs", "second", None),
    ("min mins", "minute", None),
    ("h hr hrs", "hour", None),
    ("wk wks", "week", None),
    ("yr yrs", "year", None),
    # length and speed
    ("nm", "nanometer", None),
    ("µm μm", "micrometer", None),
    ("mm", "millimeter", None),
    ("cm", "centimeter", None),
    ("m", "meter", None),
    ("km", "kilometer", None),
    ("mm² mm2", "square millimeter", None),
    ("cm² cm2", "square centimeter", None),
    ("m²", "square meter", None),
    ("km² km2", "square kilometer", None),
    ("cm³ cm3", "cubic centimeter", None),
    ("m³", "cubic meter", None),
    ("ft", "foot", "feet"),
    ("yd yds", "yard", None),
    ("mi", "mile", None),
    ("mph", "mile per hour", "miles per hour"),
    ("kph", "kilometer per hour", "kilometers per hour"),
    # mass and volume
    ("mg", "milligram", None),
    ("g", "gram", None),
    ("kg kgs", "kilogram", None),
    ("t", "ton", None),
    ("lb lbs", "pound", None),
    ("oz", "ounce", None),
    ("ml mL", "milliliter", None),
    ("L", "liter", None),
    # frequency, power, energy, electricity
    ("Hz hz", "hertz", "hertz"),
    ("kHz khz", "kilohertz", "kilohertz"),
    ("MHz mhz", "megahertz", "megahertz"),
    ("GHz ghz", "gigahertz", "gigahertz"),
    ("W", "watt", None),
    ("kW", "kilowatt", None),
    ("MW", "megawatt", None),
    ("GW", "gigawatt", None),
    ("Wh", "watt-hour", None),
    ("kWh", "kilowatt-hour", None),
    ("MWh", "megawatt-hour", None),
    ("GWh", "gigawatt-hour", None),
    ("TWh", "terawatt-hour", None),
    ("V", "volt", None),
    ("mV", "millivolt", None),
    ("kV", "kilovolt", None),
    ("mA", "milliamp", None),
    ("mAh", "milliamp-hour", None),
    # compute, sound, images, text
    ("FLOP", "flop", None),
    ("FLOPs FLOPS flops", "flops", "flops"),
    ("GFLOPS GFLOPs", "gigaflops", "gigaflops"),
    ("TFLOPS TFLOPs", "teraflops", "teraflops"),
    ("PFLOPS PFLOPs", "petaflops", "petaflops"),
    ("EFLOPS EFLOPs", "exaflops", "exaflops"),
    ("dB", "decibel", None),
    ("dBFS", "decibel full scale", "decibels full scale"),
    ("dBTP", "decibel true peak", "decibels true peak"),
    ("px", "pixel", None),
    ("fps", "frame per second", "frames per second"),
    ("dpi", "dot per inch", "dots per inch"),
    ("rpm", "revolution per minute", "revolutions per minute"),
    ("ppm", "part per million", "parts per million"),
    ("tok", "token", None),
]


def _table(rows: list[tuple[str, str, str | None]]) -> dict[str, Unit]:
    table: dict[str, Unit] = {}
    for spellings, one, many in rows:
        for symbol in spellings.split():
            assert symbol not in table, f"unit {symbol!r} is in the table twice"
            table[symbol] = Unit(one, many or one + "s")
    return table


UNITS: dict[str, Unit] = _table(_ROWS)
"""Unit symbol (exact case) -> its spoken names."""

SPACED_LETTERS = frozenset("smhgWVL")
"""One-letter units also read after a space ("5 s", "3 m"), when no word follows."""
GLUED_ONLY = frozenset({"us", "t"})
"""Units that are also words or letters, read only glued to the number ("50us", "5t")."""

PER_WORDS: dict[str, str] = {
    **{symbol: unit.one for symbol, unit in UNITS.items()},
    "d": "day", "day": "day", "wk": "week", "week": "week", "mo": "month", "month": "month", "yr": "year",
    "year": "year", "hour": "hour", "minute": "minute", "second": "second",
}
"""What may follow a slash after a number or a word: "km/h", "$5/month", "tokens/s"."""
