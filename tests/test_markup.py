"""Script markup: one tokenizer reads everything in a script body that is not narration. Each
form is either understood (and never spoken) or an error naming its line: never read aloud."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ScriptError
from pipeline.script import parse_episode, spoken_text, written_text
from pipeline.text import Lexicon, plan_utterances

from .conftest import episode_text

BODY_LINE = 9
"""The first body line of `episode_text`'s scripts."""


def blocks_of(tmp_path: Path, body: str) -> list[tuple[str, str, int | None]]:
    """(written, spoken, pause after) of each block of a script with this body."""
    path = tmp_path / "01-x.md"
    path.write_text(episode_text(1, "x", body), encoding="utf-8")
    return [(" ".join(written_text(b.text).split()), " ".join(spoken_text(b.text).split()), b.pause_after_ms)
            for b in parse_episode(path).blocks]


def error_of(tmp_path: Path, body: str) -> ScriptError:
    path = tmp_path / "01-x.md"
    path.write_text(episode_text(1, "x", body), encoding="utf-8")
    with pytest.raises(ScriptError) as caught:
        parse_episode(path)
    assert str(caught.value).startswith(f"{path}:{caught.value.line}: ")
    return caught.value


@pytest.mark.parametrize("mark, ms", [
    ("[pause]", None), ("[pause 1.2s]", 1200), ("[pause 800ms]", 800), ("[pause2s]", 2000),
    ("[ pause 1s ]", 1000), ("[Pause 1.5 S]", 1500), ("[PAUSE 250 ms]", 250), ("[pause 0s]", 0),
])
def test_pause_marks_in_any_spacing_or_case(tmp_path, mark, ms):
    assert blocks_of(tmp_path, f"Before the pause {mark} after it.") == [
        ("Before the pause", "Before the pause", ms), ("after it.", "after it.", None)]


@pytest.mark.parametrize("mark", ["[pause two seconds]", "[pause x]", "[pause 2]", "[pause -1s]", "[pause 1,5s]",
                                  "[pauses]", "[pause 2 sec]"])
def test_a_bad_pause_mark_says_the_right_form(tmp_path, mark):
    error = error_of(tmp_path, f"Fine line.\nBefore {mark} after.")
    assert error.line == BODY_LINE + 1
    assert error.message == f"bad pause mark {mark!r}: write [pause], [pause 1.5s] or [pause 800ms]"


@pytest.mark.parametrize("digits", ["9" * 400, "86401", "1" + "0" * 20 + ".5"])
def test_an_absurd_pause_is_an_error_on_its_line_not_an_overflow(tmp_path, digits):
    error = error_of(tmp_path, f"Fine line.\nWait [pause {digits}s] here.")
    assert error.line == BODY_LINE + 1
    assert "asks for more than a day; a pause is at most 10000 ms" in error.message
    assert len(error.message) < 200


def test_a_long_pause_within_a_day_is_left_to_max_pause_ms(tmp_path):
    assert blocks_of(tmp_path, "Wait [pause 3600s] here.")[0][2] == 3_600_000  # plan_utterances refuses it


@pytest.mark.parametrize("body, written, spoken", [
    ("Say [LoRA]{Laura} twice.", "Say LoRA twice.", "Say Laura twice."),
    ("Say [**LoRA**]{Laura} twice.", "Say LoRA twice.", "Say Laura twice."),
    ("Read [the paper](https://arxiv.org/abs/2106.09685) today.", "Read the paper today.", "Read the paper today."),
    ('A [link with a title](https://example.org "Title") here.', "A link with a title here.",
     "A link with a title here."),
    ("See [Foo](https://en.wikipedia.org/wiki/Foo_(bar)) too.", "See Foo too.", "See Foo too."),
    ("An image ![a diagram](figures/adapter.png) is not read.", "An image is not read.", "An image is not read."),
    ("A <b>bold</b> and <em>stressed</em> word.", "A bold and stressed word.", "A bold and stressed word."),
    ('A <span class="note">spanned</span> word.<br/>', "A spanned word.", "A spanned word."),
    ("Code <script>alert('hi')</script> is not read.", "Code is not read.", "Code is not read."),
    ("Style <style>p { color: red }</style> neither.", "Style neither.", "Style neither."),
    ("A note <!-- for the producer --> stays unread.", "A note stays unread.", "A note stays unread."),
    ("> A quoted line is narration.", "A quoted line is narration.", "A quoted line is narration."),
    ("> > - A nested quote with a list marker.", "A nested quote with a list marker.",
     "A nested quote with a list marker."),
    ("If x<y and y>z then x<z.", "If x<y and y>z then x<z.", "If x<y and y>z then x<z."),
    ("A `code` word and **strong** one.", "A code word and strong one.", "A code word and strong one."),
    ("A [<i>styled</i>]{stiled} mark.", "A styled mark.", "A stiled mark."),
])
def test_markup_speaks_only_its_narration(tmp_path, body, written, spoken):
    assert blocks_of(tmp_path, body) == [(written, spoken, None)]


def test_headings_underlines_dividers_and_quotes_are_not_spoken(tmp_path):
    body = """\
        Introduction
        ============
        The first paragraph starts here.

        Details
        -------
        > Quoted narration continues.

        ---

        ***
        _ _ _

        # A heading in the ATX form
        ## Another
        The last paragraph.
        """
    assert blocks_of(tmp_path, body) == [
        ("The first paragraph starts here.", "The first paragraph starts here.", None),
        ("Quoted narration continues.", "Quoted narration continues.", None),
        ("The last paragraph.", "The last paragraph.", None),
    ]


def test_line_numbers_survive_multi_line_comments_and_scripts(tmp_path):
    path = tmp_path / "01-x.md"
    path.write_text(episode_text(1, "x", "One.\n<!-- a\nlong\nnote -->\n<script>\nx()\n</script>\nTwo [oops] three."))
    with pytest.raises(ScriptError) as caught:
        parse_episode(path)
    assert caught.value.line == BODY_LINE + 7


@pytest.mark.parametrize("body, line, message", [
    ("Fine.\nA note <!-- that never ends\nand goes on.", 1,
     "unclosed comment `<!--`: close it with `-->`"),
    ("Fine.\nCode <script>\nalert(1)", 1, "unclosed `<script>`: close it with `</script>`"),
    ("Fine.\nA [foo] here.", 1, "unknown mark '[foo]': write [pause], [pause 1.5s] or [pause 800ms] for a pause, "
                                "[written]{spoken} for a pronunciation, [text](link) for a link"),
    ("Fine.\nA [citation 1] here.", 1, "unknown mark '[citation 1]'"),
    ("Fine.\nSay [LoRA]{[pause 1s]} now.", 1, "malformed pronunciation mark near 'Say [LoRA]{[pause 1s]} now.' "
                                              "(a mark cannot hold another mark or a brace): write [written]{spoken}"),
    ("Fine.\nSay [[LoRA]{Laura}](https://x.org) now.", 1, "a mark cannot hold another mark"),
    ("Fine.\nSay [LoRA]{Laura now.", 1, "('{' is not closed by '}')"),
    ("Fine.\nAn [unclosed bracket here.", 1, "unclosed '[' near"),
    ("Fine.\nA stray } here.", 1, "(a stray '}')"),
    ("Fine.\nA [link](https://x.org with no end.", 1, "unclosed link near"),
    ("Fine.\nA [](https://x.org) link.", 1, "has no text to speak: write [text](link)"),
    ("Fine.\nVisit https://example.org/a?b=c today.", 1,
     "web address 'https://example.org/a?b=c' cannot be read aloud: write [words to say](https://example.org/a?b=c)"),
    ("Fine.\nVisit www.example.org.", 1, "web address 'www.example.org' cannot be read aloud"),
    ("Fine.\nVisit <https://example.org>.", 1, "web address 'https://example.org' cannot be read aloud"),
    ("Fine.\n[Read this](https://x.org) or https://y.org.", 1, "web address 'https://y.org'"),
    ("Fine.\n[https://x.org](https://x.org) is its own text.", 1, "web address 'https://x.org'"),
    ("One line.\nAnd another.\n=====", 2, "'===' under several lines of narration makes them a heading"),
])
def test_markup_errors_name_the_line(tmp_path, body, line, message):
    error = error_of(tmp_path, body)
    assert error.line == BODY_LINE + line
    assert message in error.message


def test_blocks_keep_their_lines_and_the_lines_of_what_ends_them(tmp_path):
    path = tmp_path / "01-x.md"
    path.write_text(episode_text(1, "x", "Intro.\n\nFirst [pause 1s] second.\nThird."))
    blocks = parse_episode(path).blocks
    assert [(b.text, b.line, b.pause_after_ms, b.pause_line) for b in blocks] == [
        ("Intro.", BODY_LINE, None, BODY_LINE + 1),
        ("First", BODY_LINE + 2, 1000, BODY_LINE + 2),
        ("second.\nThird.", BODY_LINE + 2, None, BODY_LINE + 4),  # ended by the blank line after it
    ]


def test_a_markdown_document_speaks_no_markup(tmp_path):
    """The spoken text of a script using every form holds none of the markup's characters."""
    path = tmp_path / "01-x.md"
    path.write_text(episode_text(1, "x", """\
        Fine-Tuning, Explained
        ======================
        <!-- read slowly -->
        > Fine-tuning adapts a model. [pause 1s] It is **cheap**.

        - Read [the LoRA paper](https://arxiv.org/abs/2106.09685) first.
        - Then try [QLoRA]{queue Lora} on <b>one</b> GPU.[ pause 800ms ]

        ---

        ![chart](chart.png) That is all. <br/>
        """))
    plan = plan_utterances(parse_episode(path), Lexicon([]), 400, 750, 1500)
    spoken = " ".join(u.spoken for u in plan)
    assert "queue Lora" in spoken and "the LoRA paper" in spoken
    for mark in ("[", "]", "{", "}", "<", ">", "=", "*", "#", "http", "arxiv", "chart", "Explained", "read slowly"):
        assert mark not in spoken, mark
    written = " ".join(u.written for u in plan)
    assert "QLoRA" in written and "queue" not in written
    assert [u.pause_after_ms for u in plan if u.spoken][:2] == [1000, 750]
