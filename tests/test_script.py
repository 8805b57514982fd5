"""Script parsing: front matter, body markup, and errors that name the file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import ScriptError
from pipeline.script import load_episodes, parse_episode, spoken_text, written_text

from .conftest import episode_text


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_front_matter_and_paragraphs(tmp_path):
    path = write(tmp_path, "04-lora.md", episode_text(4, "lora", """\
        # Section heading, not spoken
        First paragraph, line one
        continues here. Second sentence.
        <!-- a note for the producer -->

        - A list item becomes narration.
        """))
    episode = parse_episode(path)
    assert (episode.number, episode.slug, episode.stem) == (4, "lora", "04-lora")
    assert episode.title == "Episode 4 — lora"
    assert episode.date == "2026-02-19"
    assert episode.tags == ("Testing",)
    assert [b.text for b in episode.blocks] == [
        "First paragraph, line one\ncontinues here. Second sentence.",
        "A list item becomes narration.",
    ]
    assert [b.line for b in episode.blocks] == [10, 14]
    assert all(b.pause_after_ms is None for b in episode.blocks)
    assert "note" not in episode.narration and "heading" not in episode.narration


def test_pause_marks_and_inline_pronunciation(tmp_path):
    path = write(tmp_path, "01-x.md", episode_text(1, "x", """\
        Say [LoRA]{Laura} twice. [pause 1.2s] Then go on.

        [pause 400ms]

        Last [pause] words.
        """))
    blocks = parse_episode(path).blocks
    assert [(b.text, b.pause_after_ms) for b in blocks] == [
        ("Say [LoRA]{Laura} twice.", 1200),
        ("Then go on.", 400),
        ("Last", None),
        ("words.", None),
    ]
    assert written_text(blocks[0].text) == "Say LoRA twice."
    assert spoken_text(blocks[0].text) == "Say Laura twice."


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("---\ntitle: [unclosed\n---\nWords.\n", 2, "invalid YAML"),
        ("---\nsummary: no title\n---\nWords.\n", 2, "missing required field `title`"),
        ("---\ntitle: T\nslug: ../../escape\n---\nWords.\n", 3, "slug '../../escape'"),
        ("---\ntitle: T\n---\n\n<!-- only a note -->\n", 4, "no narration"),
        ("---\ntitle: T\ncolour: blue\n---\nWords.\n", 3, "unknown front-matter field `colour`"),
        ("---\ntitle: T\n---\nOne.\nTwo [pause long] three.\n", 5, "bad pause mark"),
        ("title: T\nWords.\n", 1, "must start with a `---`"),
        ("---\ntitle: T\nepisode: zero\n---\nWords.\n", 3, "episode number"),
    ],
)
def test_errors_name_file_and_line(tmp_path, text, line, fragment):
    path = write(tmp_path, "07-bad.md", text)
    with pytest.raises(ScriptError) as caught:
        parse_episode(path)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert fragment in str(caught.value)


def test_non_utf8_reports_the_line(tmp_path):
    path = write(tmp_path, "01-latin.md", "---\ntitle: T\n---\nFine line.\nCaf\xe9 line.\n".encode("latin-1"))
    with pytest.raises(ScriptError, match=r"01-latin.md:5: not UTF-8"):
        parse_episode(path)


def test_duplicates_are_errors_and_other_scripts_survive(tmp_path):
    write(tmp_path, "01-a.md", episode_text(1, "a", "Words here."))
    write(tmp_path, "02-b.md", episode_text(1, "b", "Words here."))
    write(tmp_path, "03-c.md", episode_text(3, "c", "Words here."))
    write(tmp_path, "04-broken.md", "---\ntitle: [\n---\nx\n")
    episodes, errors = load_episodes(tmp_path)
    assert [e.slug for e in episodes] == ["c"]
    messages = sorted(str(e) for e in errors)
    assert any(m.endswith("01-a.md:3: duplicate episode number 1, also used by 02-b.md") for m in messages)
    assert any("02-b.md" in m and "also used by 01-a.md" in m for m in messages)
    assert any("04-broken.md:2: invalid YAML" in m for m in messages)
