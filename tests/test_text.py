"""Text front end: lexicon, sentence splitting, and the plan of sentences (normalisation rows: test_spoken.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ConfigError, ScriptError
from pipeline.script import Episode, parse_episode
from pipeline.spoken import normalize
from pipeline.text import (
    Lexicon,
    LexiconEntry,
    load_lexicon,
    plan_utterances,
    prepare,
    split_sentences,
    unreadable_warnings,
)

from .conftest import episode_text


@pytest.mark.parametrize(
    "written, spoken",
    [
        ("a 70B model", "a seventy billion model"),
        ("a 48GB card", "a forty-eight gigabyte card"),
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


def test_no_is_an_abbreviation_only_before_a_number():
    text = "The answer is no. Then we stop. See No. 5 and no. 6 here. It took 200 ms. Ms. Smith agreed."
    assert [s for _, s in split_sentences(text)] == [
        "The answer is no.", "Then we stop.", "See No. 5 and no. 6 here.", "It took 200 ms.", "Ms. Smith agreed.",
    ]


def test_clock_marks_and_month_abbreviations_end_a_sentence_only_where_one_ends():
    text = "We met at 9 a.m. on Monday. It ended at 5 p.m. Then we left. See Mar. 3 and Dec. 5 for it. In Dec. Nothing."
    assert [s for _, s in split_sentences(text)] == [
        "We met at 9 a.m. on Monday.", "It ended at 5 p.m.", "Then we left.", "See Mar. 3 and Dec. 5 for it.",
        "In Dec.", "Nothing.",
    ]


def test_a_sentence_with_a_time_and_a_date_is_read_whole(tmp_path):
    parsed = episode(tmp_path, "We met at 08:30 am on march 3 2024. It weighs 40 kg.\n")
    assert [u.spoken for u in plan_utterances(parsed, Lexicon([]), 400, 750, 1500)] == [
        "We met at eight thirty AM on March third, twenty twenty-four.", "It weighs forty kilograms.",
    ]


@pytest.mark.parametrize(
    "yaml_text, line, fragment",
    [
        ('LoRA: Laura\n"": empty\n', 2, "empty word"),
        ("LoRA: Laura\n'   ': blank\n", 2, "empty word"),
        ("LoRA: Laura\n2023: twenty twenty-three\n", 2, "entry 2023 must be text"),
        ("LoRA: Laura\n1.5: one and a half\n", 2, "entry 1.5 must be text"),
        ("LoRA: Laura\nyes: indeed\n", 2, "must be text"),
        ("LoRA: Laura\nPEFT: {say: peft, match_case: maybe}\n", 2, "`match_case` must be true or false"),
        ("LoRA: Laura\nPEFT: [a, b]\n", 2, "has no spoken form"),
        ("LoRA: Laura\nPEFT:\n", 2, "has no spoken form"),
        ("LoRA: Laura\n? [a, b]\n: x\n", 2, "invalid YAML"),
    ],
)
def test_bad_lexicon_entries_name_the_line(tmp_path, yaml_text, line, fragment):
    path = tmp_path / "lexicon.yaml"
    path.write_text(yaml_text)
    with pytest.raises(ConfigError) as caught:
        load_lexicon(path)
    assert fragment in caught.value.message
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_an_empty_key_no_longer_changes_every_sentence(tmp_path):
    path = tmp_path / "lexicon.yaml"
    path.write_text('"": empty\n')
    with pytest.raises(ConfigError):
        load_lexicon(path)


def test_case_insensitive_entries_survive_unusual_letters():
    lexicon = Lexicon([LexiconEntry("s", "ess", match_case=False), LexiconEntry("kelvin", "K", match_case=False)])
    assert lexicon.apply("ſ S s \u212aelvin") == "ess ess ess K"


def episode(tmp_path: Path, body: str) -> Episode:
    path = tmp_path / "01-x.md"
    path.write_text(episode_text(1, "x", body))
    return parse_episode(path)


def test_a_number_too_long_to_read_names_the_file_and_line(tmp_path):
    parsed = episode(tmp_path, f"First line is fine.\nThe key is {'7' * 400}, really.\n")
    with pytest.raises(ScriptError) as caught:
        plan_utterances(parsed, Lexicon([]), 400, 750, 1500)
    assert caught.value.path == parsed.path and caught.value.line == 10
    assert str(caught.value) == f"{parsed.path}:10: number too long to read aloud: 777777777777…; write it in words"


def test_unreadable_letters_are_warned_about_with_file_and_line(tmp_path):
    parsed = episode(tmp_path, "Hello is said differently.\n\nIn Chinese, 你好. In Arabic, مرحبا.\n\n"
                               "Or write [你好]{nee how} with a spoken form.\n")
    plan = plan_utterances(parsed, Lexicon([]), 400, 750, 1500)
    assert unreadable_warnings(plan, parsed.path) == [
        f"{parsed.path}:11: the voice cannot read '你好'; write it in Latin letters or give a spoken form "
        "with [written]{spoken}",
        f"{parsed.path}:11: the voice cannot read 'مرحبا'; write it in Latin letters or give a spoken form "
        "with [written]{spoken}",
    ]
