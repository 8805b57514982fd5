"""The normalisation table: how numbers, units and symbols in a script are read aloud.

This table is the contract of pipeline/spoken (with tests/test_readings.py): every row must read exactly as given.
"""

from __future__ import annotations

import pytest

from pipeline.errors import PipelineError, ScriptError
from pipeline.spoken import UnreadableNumberError, normalize, unreadable_characters

ISSUE_ROWS = [
    # issue 11: written, what a listener expects
    ("2048 tokens", "two thousand forty-eight tokens"),
    ("from 2019-2023", "from twenty nineteen to twenty twenty-three"),
    ("$1.5B", "one point five billion dollars"),
    ("~10 GB", "about ten gigabytes"),
    ("1/2 of the data", "half of the data"),
    ("2e-5", "two times ten to the minus five"),
    ("a 3x3 grid", "a three by three grid"),
    ("-0.5", "minus zero point five"),
    ("1.0 GB", "one point zero gigabytes"),
    ("the 2020s", "the twenty twenties"),
    ("a 3:1 ratio", "a three to one ratio"),
    ("3h", "three hours"),
    ("€5", "five euros"),
]

README_ROWS = [
    # behaviours the README promises
    ("a 70B model", "a seventy billion model"),
    ("a 48GB card", "a forty-eight gigabyte card"),
    ("cuts cost 10-100x", "cuts cost ten to one hundred times"),
    ("4-bit weights", "four-bit weights"),
    ("under 1% of them", "under one percent of them"),
    ("in 2023 it changed", "in twenty twenty-three it changed"),
    ("pairs (instruction, response) matter", "pairs, instruction, response, matter"),
    ("fast — and cheap", "fast, and cheap"),
    ("NF4 weights", "NF four weights"),
    ("e.g. this, i.e. that", "for example, this, that is, that"),
    ("3.5 vs. 2.1", "three point five versus two point one"),
    ("Hu et al. showed", "Hu and colleagues showed"),
]

OWN_ROWS = [
    # currency
    ("£20 a month", "twenty pounds a month"),
    ("¥500", "five hundred yen"),
    ("$1 only", "one dollar only"),
    ("$4.99", "four dollars and ninety-nine cents"),
    ("$0.50 per hour", "fifty cents per hour"),
    ("$2 billion", "two billion dollars"),
    ("$5-10 each", "five to ten dollars each"),
    ("~$5", "about five dollars"),
    # grouping, decimals, percentages, signs
    ("1,000,000 rows", "one million rows"),
    ("0.01% of tokens", "zero point zero one percent of tokens"),
    ("3-5% better", "three to five percent better"),
    ("±2%", "plus or minus two percent"),
    ("+5% accuracy", "plus five percent accuracy"),
    ("−3 dB", "minus three decibels"),
    ("agent 007", "agent zero zero seven"),
    # ordinals
    ("1st, 2nd, 3rd and 21st", "first, second, third and twenty-first"),
    # multipliers, with and without a space
    ("7B vs 7 B", "seven billion versus seven billion"),
    ("a 13B-parameter model", "a thirteen billion-parameter model"),
    ("100k steps", "one hundred thousand steps"),
    ("1.5M tokens", "one point five million tokens"),
    ("5T tokens", "five trillion tokens"),
    ("4K video", "four K video"),
    # scientific notation and powers
    ("1e-4", "one times ten to the minus four"),
    ("a 2.5e3 budget", "a two point five times ten to the three budget"),
    ("10^6 samples", "ten to the six samples"),
    # fractions, ratios, times, durations
    ("3/4 of it", "three quarters of it"),
    ("1/3 of the data", "one third of the data"),
    ("9/10 developers", "nine out of ten developers"),
    ("24/7", "twenty-four seven"),
    ("a 16/32 split", "a sixteen over thirty-two split"),
    ("at 10:30", "at ten thirty"),
    ("at 10:05am", "at ten oh five AM"),
    ("at 9:00", "at nine o'clock"),
    ("a 1:10 ratio", "a one to ten ratio"),
    ("16:9", "sixteen to nine"),
    ("1:23:45", "one hour twenty-three minutes forty-five seconds"),
    # units of time, data, rate, frequency, temperature
    ("5 ms and 200ms", "five milliseconds and two hundred milliseconds"),
    ("1 ms", "one millisecond"),
    ("a 30s timeout", "a thirty second timeout"),
    ("1.5s", "one point five seconds"),
    ("5 min", "five minutes"),
    ("24h", "twenty-four hours"),
    ("10 GB/s", "ten gigabytes per second"),
    ("50 tok/s", "fifty tokens per second"),
    ("100 tokens/s", "one hundred tokens per second"),
    ("2.4GHz", "two point four gigahertz"),
    ("700W", "seven hundred watts"),
    ("312 TFLOPS", "three hundred twelve teraflops"),
    ("25°C", "twenty-five degrees Celsius"),
    ("-40 °F", "minus forty degrees Fahrenheit"),
    ("1° off", "one degree off"),
    # multipliers and dimensions
    ("2x", "two times"),
    ("1.5x faster", "one point five times faster"),
    ("8×A100", "eight times A one hundred"),
    ("8x H100 GPUs", "eight times H one hundred GPUs"),
    ("224x224x3", "two hundred twenty-four by two hundred twenty-four by three"),
    ("1920x1080", "nineteen twenty by ten eighty"),
    # names and versions
    ("x86", "x eighty-six"),
    ("x86-64", "x eighty-six sixty-four"),
    ("v2", "version two"),
    ("v2.0.1", "version two point zero point one"),
    ("GPT-4", "GPT four"),
    ("GPT-4o", "GPT four o"),
    ("GPT-3's size", "GPT three's size"),
    ("Llama 3.1", "Llama three point one"),
    ("Llama-3.1-8B", "Llama three point one eight billion"),
    ("Qwen2.5-72B", "Qwen two point five seventy-two billion"),
    ("A100s", "A one hundreds"),
    ("COVID-19", "COVID nineteen"),
    ("T5 and mp3", "T five and mp three"),
    ("3D and 2FA", "three D and two FA"),
    ("RTX 4090", "RTX forty ninety"),
    ("Python 3.10.2", "Python three point ten point two"),
    ("C++ and C#", "C plus plus and C sharp"),
    # years, decades and counts
    ("A 2023 study", "A twenty twenty-three study"),
    ("2023 was big", "twenty twenty-three was big"),
    ("2023 marks a shift", "twenty twenty-three marks a shift"),
    ("since 2005", "since two thousand five"),
    ("in 1905", "in nineteen oh-five"),
    ("2023's results", "twenty twenty-three's results"),
    ("1200 GPUs", "one thousand two hundred GPUs"),
    ("a 2048-token window", "a two thousand forty-eight-token window"),
    ("in 2048 tokens", "in two thousand forty-eight tokens"),
    ("1024-2048 tokens", "one thousand twenty-four to two thousand forty-eight tokens"),
    ("2019-23", "twenty nineteen to twenty-three"),
    ("2019–2023", "twenty nineteen to twenty twenty-three"),
    ("from 2019 to 2023", "from twenty nineteen to twenty twenty-three"),
    ("mid-2023", "mid twenty twenty-three"),
    ("2099", "twenty ninety-nine"),
    ("2100", "two thousand one hundred"),
    ("1099", "one thousand ninety-nine"),
    ("2,023", "two thousand twenty-three"),
    ("the 1990s", "the nineteen nineties"),
    ("the 2000s", "the two thousands"),
    ("'90s music", "nineties music"),
    ("the ’90s", "the nineties"),
    ("the 80s", "the eighties"),
    ("100s of GPUs", "hundreds of GPUs"),
    ("10s of thousands", "tens of thousands"),
    # dates
    ("on 2026-02-19", "on February nineteenth, twenty twenty-six"),
    ("on 2/19/2026", "on February nineteenth, twenty twenty-six"),
    # negative ranges
    ("-10 to -5 dB", "minus ten to minus five decibels"),
    ("-5–5 dB", "minus five to five decibels"),
    ("from -1 to 1", "from minus one to one"),
    # symbols and abbreviations
    ("#1 in prose", "number one in prose"),
    ("No. 5 and no. 6", "number five and number six"),
    ("A/B tests & more", "A or B tests and more"),
    ("IA³ and x²", "IA cubed and x squared"),
    ("x ≥ 5", "x at least five"),
    ("approx. 5", "approximately five"),
    ("lists, etc.", "lists, et cetera."),
    ("“quoted” and it’s", '"quoted" and it\'s'),
    ("wait… what", "wait... what"),
    ("5 - 3", "five, three"),
    # words stay words
    ("Plan B", "Plan B"),
    ("no numbers here", "no numbers here"),
]


@pytest.mark.parametrize("written, spoken", ISSUE_ROWS + README_ROWS + OWN_ROWS, ids=lambda v: v)
def test_reads(written, spoken):
    assert normalize(written) == spoken


def test_table_is_large_enough():
    assert len(OWN_ROWS) >= 25


@pytest.mark.parametrize("written", ["1" * 16, "9" * 400, "0." + "1" * 16, "1e" + "9" * 20, "#" + "7" * 30])
def test_a_number_too_long_to_read_is_a_short_script_error(written):
    with pytest.raises(UnreadableNumberError) as caught:
        normalize(f"We saw {written} of them.")
    assert isinstance(caught.value, ScriptError) and isinstance(caught.value, PipelineError)
    message = str(caught.value)
    assert message.startswith("number too long to read aloud: ") and message.endswith("write it in words")
    assert len(message) < 80


def test_fifteen_digits_are_still_read():
    assert normalize("999999999999999").startswith("nine hundred ninety-nine trillion")


@pytest.mark.parametrize(
    "text, letters",
    [
        ("Hello world, café, naïve, Øresund", ""),
        ("the α and β parameters, 5 µs", ""),
        ("In Chinese, 你好 means hello", "你好"),
        ("مرحبا and Привет", "مرحباПривет"),
        ("日本語 and 日本", "日本語"),
    ],
)
def test_unreadable_characters(text, letters):
    assert unreadable_characters(text) == letters
