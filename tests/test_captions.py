"""Captions: cues of at most two lines of 42 characters, timed by characters or by word starts.

The caption files are read back with the `webvtt` and `srt` parsers, not with our own code.
"""

from __future__ import annotations

import html
import io
import itertools

import pytest
import srt
import webvtt

from pipeline.captions import LINE_CHARS, Cue, split_cue, to_srt, to_webvtt, wrap_lines
from pipeline.script import load_episodes
from pipeline.text import load_lexicon, plan_utterances

from .conftest import REPO

LONG = ("Quality beats quantity: a small set of varied, expert-written examples teaches more than a large pile "
        "of sloppy ones.")


def vtt_cues(cues: list[Cue]) -> list[tuple[float, float, list[str]]]:
    """(start, end, lines) of each cue, as the webvtt package reads our file."""
    parsed = webvtt.from_buffer(io.StringIO(to_webvtt(cues)))
    return [(_seconds(c.start), _seconds(c.end), c.text.split("\n")) for c in parsed]


def _seconds(stamp: str) -> float:
    hours, minutes, seconds = stamp.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def test_a_short_sentence_is_one_cue_unchanged():
    cue = Cue(1.0, 2.5, "A short sentence.")
    assert split_cue(cue) == [cue]
    assert vtt_cues([cue]) == [(1.0, 2.5, ["A short sentence."])]


def test_no_one_word_third_line():
    text = "Training is gentle: a low learning rate, and often just one to three passes over the data."
    # The old split (84 characters, then wrapped at 42) left "the" alone on a third line.
    assert [wrap_lines(c.text) for c in split_cue(Cue(0, 6, text))] == [
        ["Training is gentle: a", "low learning rate, and"], ["often just one to three", "passes over the data."],
    ]


def test_a_sentence_that_fits_two_lines_is_one_balanced_cue():
    text = "Training is gentle: a low learning rate, and often one to three passes."
    assert split_cue(Cue(0, 6, text)) == [Cue(0, 6, text)]
    assert wrap_lines(text) == ["Training is gentle: a low learning", "rate, and often one to three passes."]


def test_a_long_sentence_is_split_into_balanced_cues_timed_by_characters():
    cues = split_cue(Cue(10.0, 16.0, LONG))
    assert [c.text for c in cues] == [
        "Quality beats quantity: a small set of varied, expert-written",
        "examples teaches more than a large pile of sloppy ones.",
    ]  # the old 84-character split left "more" alone on a third line
    total = sum(len(c.text) for c in cues)
    assert cues[0].start_s == 10.0 and cues[-1].end_s == 16.0
    assert cues[0].end_s == pytest.approx(10.0 + 6.0 * len(cues[0].text) / total) == cues[1].start_s
    parsed = vtt_cues(cues)
    assert [lines for _, _, lines in parsed] == [
        ["Quality beats quantity: a small", "set of varied, expert-written"],
        ["examples teaches more than", "a large pile of sloppy ones."],
    ]


def test_word_start_times_set_the_inner_boundaries():
    words = LONG.split()
    starts = [10.0 + 0.3 * index for index in range(len(words))]
    cues = split_cue(Cue(10.0, 16.0, LONG), starts)
    second_first_word = words.index("examples")
    assert [(c.start_s, c.end_s) for c in cues] == [(10.0, starts[second_first_word]), (starts[second_first_word], 16.0)]
    with pytest.raises(ValueError, match="3 word start times for 19 words"):
        split_cue(Cue(10.0, 16.0, LONG), [10.0, 11.0, 12.0])


def test_word_start_times_outside_the_cue_are_clamped_and_never_run_backwards():
    text = " ".join(["word"] * 40)
    starts = [5.0 - index * 0.01 for index in range(40)]
    cues = split_cue(Cue(1.0, 2.0, text), starts)
    assert len(cues) > 1
    assert all(a.start_s <= a.end_s == b.start_s <= b.end_s for a, b in itertools.pairwise(cues))
    assert cues[-1].end_s == 2.0


def test_a_word_longer_than_a_line_stands_alone():
    word = "x" * 50
    cues = split_cue(Cue(0, 4, f"Before {word} and after it, with a few more words to wrap around."))
    for cue in cues:
        assert len(wrap_lines(cue.text)) <= 2
    assert word in [line for cue in cues for line in wrap_lines(cue.text)]


def test_srt_has_the_same_lines():
    cues = split_cue(Cue(0, 6, LONG))
    parsed = list(srt.parse(to_srt(cues)))
    assert [s.content.split("\n") for s in parsed] == [lines for _, _, lines in vtt_cues(cues)]
    assert parsed[0].start.total_seconds() == 0 and parsed[-1].end.total_seconds() == 6


def test_the_series_never_gets_a_third_line_or_a_long_line():
    lexicon = load_lexicon(REPO / "voices" / "lexicon.yaml")
    episodes, _ = load_episodes(REPO / "scripts" / "fine-tuning")
    sentence_cues, start = [], 0.0
    for episode in episodes:
        for utterance in plan_utterances(episode, lexicon, 400, 750, 1500):
            if utterance.spoken:
                sentence_cues.append(Cue(start, start + len(utterance.written) / 15, utterance.written))
                start = sentence_cues[-1].end_s + 0.4
    cues = [piece for cue in sentence_cues for piece in split_cue(cue)]
    parsed = vtt_cues(cues)
    assert len(sentence_cues) > 250 and len(parsed) == len(cues)
    assert max(len(lines) for _, _, lines in parsed) == 2
    assert max(len(line) for _, _, lines in parsed for line in lines) <= LINE_CHARS
    assert " ".join(" ".join(lines) for _, _, lines in parsed).split() == " ".join(
        c.text for c in sentence_cues).split()


@pytest.mark.parametrize("text", [
    "The arrow --> points on.", "Q&A: is a < b, and b > c?", "<b>not a tag</b> &amp; not a reference",
    "-->", "A sentence ending in an arrow -->",
])
def test_any_narration_is_a_valid_cue_shown_as_written(text):
    # `-->` may not appear in WebVTT cue text, `<` opens a tag and `&` a reference: escaped, a
    # player shows the text exactly as written. SRT has no markup and keeps it as it is.
    cues = [Cue(0.0, 2.0, text), Cue(2.0, 4.0, "Next.")]
    document = to_webvtt(cues)
    assert document.count("-->") == 2  # the two timing lines only
    parsed = webvtt.from_buffer(io.StringIO(document))
    assert [html.unescape(c.raw_text) for c in parsed] == [text, "Next."]
    assert [s.content for s in srt.parse(to_srt(cues))] == [text, "Next."]


def test_a_speaker_becomes_a_voice_span_on_every_cue():
    cues = [*split_cue(Cue(0, 6, LONG)), Cue(6, 7, "Short.")]
    parsed = webvtt.from_buffer(io.StringIO(to_webvtt(cues, speaker="Joe  Narrator")))
    assert [c.voice for c in parsed] == ["Joe Narrator"] * 3
    assert [c.text.split("\n") for c in parsed] == [lines for _, _, lines in vtt_cues(cues)]
    assert all(c.raw_text.startswith("<v Joe Narrator>") for c in parsed)
    odd = webvtt.from_buffer(io.StringIO(to_webvtt(cues[-1:], speaker="A<B> & C")))[0]
    assert html.unescape(odd.voice) == "A<B> & C" and odd.text == "Short."
    assert [c.voice for c in webvtt.from_buffer(io.StringIO(to_webvtt(cues)))] == [None] * 3
    assert "<v" not in to_srt(cues)  # SRT has no voice spans
