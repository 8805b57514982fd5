"""Stumbles: what a listener could not follow in a written sentence (for `episodes lint`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.script import parse_episode
from pipeline.stumbles import Stumble, find_stumbles
from pipeline.text import Lexicon, LexiconEntry, load_lexicon, split_sentences

REPO = Path(__file__).resolve().parents[1]
NO_LEXICON = Lexicon([])


def reasons(written: str, lexicon: Lexicon = NO_LEXICON) -> list[tuple[str, str]]:
    return [(s.token, s.reason.split(":")[0]) for s in find_stumbles(written, lexicon)]


def test_a_formula_is_one_stumble_with_its_reading_and_column():
    written = "The score is 1/(60 + rank) for each item."
    assert find_stumbles(written, NO_LEXICON) == [
        Stumble("1/(60 + rank)", "one slash, sixty plus rank",
                "a formula: its grouping and symbols are lost by ear; say it in words", 13),
    ]
    assert written[13:13 + len("1/(60 + rank)")] == "1/(60 + rank)"


@pytest.mark.parametrize("written, token", [
    ("Then x = a + b holds.", "x = a + b"),
    ("It is f(x) = 2x + 1, clearly.", "f(x) = 2x + 1"),
    ("We get (a + b) here.", "(a + b)"),
    ("Add 2 * 3 + 4 = 10 in total.", "2 * 3 + 4 = 10"),
])
def test_formulas_are_found_without_the_words_around_them(written, token):
    assert reasons(written) == [(token, "a formula")]


@pytest.mark.parametrize("written", [
    "Pairs (instruction, response) matter.",  # brackets in prose: no operator
    "A/B tests & more (see above).",  # "/" read as "or"
    "It moved 10 GB/s at 3-5% cost, x ≥ 5.",  # one operator is a phrase, not a formula
    "C++ and C# are languages.",
    "On March 3, 2024 at 08:30 am it weighed 40 kg.",
])
def test_prose_with_symbols_has_no_stumbles(written):
    assert find_stumbles(written, NO_LEXICON) == []


def test_symbols_read_by_name_and_silent_marks_are_listed_in_order():
    assert reasons("Use a | b, § 5, and a*b.") == [
        ("|", "a symbol read by its name"), ("§", "a symbol read by its name"),
        ("*", "a mark the voice does not read"),
    ]
    assert find_stumbles("Use a | b.", NO_LEXICON)[0].reading == "vertical bar"


def test_acronyms_outside_the_lexicon_and_the_known_list():
    lexicon = Lexicon([LexiconEntry("RLAIF", "R L AI F")])
    assert reasons("RLAIF, RLHF and GPUs on NVDA and RTX cards.", lexicon) == [
        ("NVDA", "an acronym neither the lexicon nor the known list covers; check it with `episodes say`"),
        ("RTX", "an acronym neither the lexicon nor the known list covers; check it with `episodes say`"),
    ]
    assert reasons("[NASA]{nasa} and NF4 and LoRA and 40 GB.") == []


def test_letters_the_voice_cannot_read():
    [stumble] = find_stumbles("In Chinese, 你好 means hello.", NO_LEXICON)
    assert (stumble.token, stumble.reason, stumble.column) == ("你好", "letters the voice cannot read", 12)


def test_a_number_too_long_to_read_is_a_stumble_not_an_error():
    [stumble] = find_stumbles(f"The key is {'7' * 20}.", NO_LEXICON)
    assert "too long to read aloud" in stumble.reason


def test_a_token_the_lexicon_rewrote_has_no_column():
    lexicon = Lexicon([LexiconEntry("Foo", "a | b")])
    [stumble] = find_stumbles("We say Foo here.", lexicon)
    assert (stumble.token, stumble.column) == ("|", None)


def test_the_shipped_series_has_no_stumbles():
    lexicon = load_lexicon(REPO / "voices" / "lexicon.yaml")
    found = []
    for path in sorted((REPO / "scripts" / "fine-tuning").glob("*.md")):
        for block in parse_episode(path).blocks:
            for _, sentence in split_sentences(block.text):
                found += [(path.name, s) for s in find_stumbles(sentence, lexicon)]
    assert found == []
