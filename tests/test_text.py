"""Text front end: normalisation, lexicon and sentence splitting."""

from __future__ import annotations

import pytest

from pipeline.text import Lexicon, LexiconEntry, load_lexicon, normalize, prepare, split_sentences


@pytest.mark.parametrize(
    "written, spoken",
    [
        ("a 70B model", "a seventy billion model"),
        ("a 48GB card", "a forty-eight gigabytes card"),
        ("cuts cost 10-100x", "cuts cost ten to one hundred times"),
        ("about 3x faster", "about three times faster"),
        ("4-bit weights", "four-bit weights"),
        ("under 1% of them", "under one percent of them"),
        ("1 GB only", "one gigabyte only"),
        ("in 2023 it changed", "in twenty twenty-three it changed"),
        ("the 1st try", "the first try"),
        ("10,000 steps", "ten thousand steps"),
        ("pairs (instruction, response) matter", "pairs, instruction, response, matter"),
        ("fast — and cheap", "fast, and cheap"),
        ("A/B tests & more", "A or B tests and more"),
        ("3.5 vs. 2.1", "three point five versus two point one"),
        ("IA³", "IA cubed"),
        ("NF4 and GPT4", "NF four and GPT four"),
    ],
)
def test_normalize(written, spoken):
    assert normalize(written) == spoken


def test_lexicon_whole_words_longest_first_and_case():
    lexicon = Lexicon([
        LexiconEntry("LoRA", "Laura"),
        LexiconEntry("QLoRA", "queue Laura"),
        LexiconEntry("DARE", "dare method"),
        LexiconEntry("alpaca", "al packa", match_case=False),
    ])
    assert lexicon.apply("QLoRA builds on LoRA; LoRAs and LoRA's adapters.") == (
        "queue Laura builds on Laura; Lauras and Laura's adapters."
    )
    assert lexicon.apply("DARE is not dare.") == "dare method is not dare."
    assert lexicon.apply("Alpaca and ALPACA") == "al packa and al packa"
    assert lexicon.apply("LoRAX stays") == "LoRAX stays"


def test_lexicon_file_and_prepare(tmp_path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("IA³: I A three\nFLAN: {say: flan, match_case: false}\n")
    lexicon = load_lexicon(path)
    assert prepare("[Guanaco]{gwa nah co} uses IA³ with flan 2x.", lexicon) == (
        "gwa nah co uses I A three with flan two times."
    )


def test_lexicon_errors_name_the_line(tmp_path):
    path = tmp_path / "lexicon.yaml"
    path.write_text("LoRA: Laura\nPEFT: {sound: peft}\n")
    with pytest.raises(Exception, match=r"lexicon.yaml:2: entry `PEFT` needs `say:`"):
        load_lexicon(path)


def test_split_sentences():
    text = "It works, e.g. here. Does it? Yes! Version 3.5 is out. \"Quoted.\" Last one"
    assert [s for _, s in split_sentences(text)] == [
        "It works, e.g. here.", "Does it?", "Yes!", "Version 3.5 is out.", "\"Quoted.\"", "Last one",
    ]
