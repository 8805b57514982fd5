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


def test_hash_without_a_space_is_narration_not_a_heading(tmp_path):
    path = write(tmp_path, "01-x.md", episode_text(1, "x", """\
        # A heading
        ## Another heading
        #1 is the rank it reached.
        #
        """))
    assert [b.text for b in parse_episode(path).blocks] == ["#1 is the rank it reached."]


@pytest.mark.parametrize(
    "line_text, fragment",
    [
        ("Say [LoRA]{ twice.", "malformed pronunciation mark near 'Say [LoRA]{ twice.'"),
        ("Say []{} twice.", "malformed pronunciation mark"),
        ("Say [x]{} twice.", "pronunciation mark '[x]{}' needs text in both parts"),
        ("Say [ ]{x} twice.", "needs text in both parts"),
        ("Say [LoRA is ]{x twice.", "malformed pronunciation mark"),
        ("Say LoRA]{Laura} twice.", "malformed pronunciation mark"),
        ("Say {Laura} twice.", "malformed pronunciation mark"),
        ("Say [Lo [RA]{ra}]{x} twice.", "malformed pronunciation mark"),
    ],
)
def test_malformed_pronunciations_name_the_line(tmp_path, line_text, fragment):
    path = write(tmp_path, "01-x.md", episode_text(1, "x", f"A fine line.\n{line_text}\n"))
    with pytest.raises(ScriptError) as caught:
        parse_episode(path)
    assert caught.value.line == 10
    assert fragment in caught.value.message and "write [written]{spoken}" in caught.value.message


def front(tmp_path: Path, fields: str, name: str = "03-gamma.md") -> Path:
    return write(tmp_path, name, f"---\ntitle: T\n{fields}\n---\nWords.\n")


@pytest.mark.parametrize(
    "value",
    ["19 Feb 2026", "2026-13-45", "2026-02-30", "next tuesday", "2026/02/19", "19-02-2026", "", "2026",
     "2026-2-19", "0019-02-19", "[2026, 2, 19]", "2026-02-19 10:00:00", "!!timestamp 0019-02-19"],
)
def test_bad_dates_name_the_date_line(tmp_path, value):
    path = front(tmp_path, f"summary: S\ndate: {value}")
    with pytest.raises(ScriptError) as caught:
        parse_episode(path)
    assert caught.value.line == 4
    assert "`date` must be a date written YYYY-MM-DD" in caught.value.message


@pytest.mark.parametrize("value, stored", [("2026-02-19", "2026-02-19"), ("'2026-02-19'", "2026-02-19"),
                                            ("2024-02-29", "2024-02-29")])
def test_good_dates_are_stored_as_iso_text(tmp_path, value, stored):
    assert parse_episode(front(tmp_path, f"date: {value}")).date == stored


def test_an_explicit_timestamp_tag_is_accepted(tmp_path):
    assert parse_episode(front(tmp_path, "date: !!timestamp 2026-02-19")).date == "2026-02-19"


def test_a_missing_date_is_allowed(tmp_path):
    assert parse_episode(front(tmp_path, "summary: S")).date == ""


@pytest.mark.parametrize(
    "value, message",
    [
        ("99999999999999999999999", "episode 999999999999… is outside 1..999 (number episodes 1..N)"),
        ("1000", "episode 1000 is outside 1..999 (number episodes 1..N)"),
        ("0", "episode 0 is outside 1..999 (number episodes 1..N)"),
        ("-3", "episode -3 is outside 1..999 (number episodes 1..N)"),
        *[(value, "episode number missing or not a whole number from 1 to 999 (set `episode:` or name the file "
                  "NN-slug.md)") for value in ("3.5", "'3'", "true", "")],
    ],
)
def test_episode_numbers_must_be_1_to_999(tmp_path, value, message):
    path = front(tmp_path, f"episode: {value}")
    with pytest.raises(ScriptError) as caught:
        parse_episode(path)
    assert (caught.value.line, caught.value.message) == (3, message)


def test_a_huge_number_in_the_file_name_is_an_error_naming_the_file(tmp_path):
    path = write(tmp_path, "99999999999999999999999-lora.md", "---\ntitle: T\n---\nWords.\n")
    with pytest.raises(ScriptError) as caught:
        parse_episode(path)
    assert caught.value.path == path and caught.value.line is None
    assert str(caught.value) == f"{path}: episode 999999999999… is outside 1..999 (number episodes 1..N)"


def test_episode_numbers_beyond_the_series_are_errors(tmp_path):
    write(tmp_path, "01-a.md", episode_text(1, "a", "Words here."))
    write(tmp_path, "02-b.md", episode_text(7, "b", "Words here."))
    write(tmp_path, "03-c.md", episode_text(3, "c", "Words here."))
    write(tmp_path, "04-d.md", "---\ntitle: D\n---\nWords here.\n")
    write(tmp_path, "README.md", "Not a script.")
    episodes, errors = load_episodes(tmp_path)
    assert [e.slug for e in episodes] == ["a", "c", "d"]
    assert [str(e) for e in errors] == [
        f"{tmp_path / '02-b.md'}:3: episode 7 is outside 1..4 (this series has 4 scripts; number episodes 1..N)"
    ]
    write(tmp_path, "04-d.md", "---\ntitle: D\n---\nWords here.\n").rename(tmp_path / "05-d.md")
    write(tmp_path, "01-a.md", episode_text(1, "a", "Words here.")).unlink()
    _, errors = load_episodes(tmp_path)
    assert any(str(e) == f"{tmp_path / '05-d.md'}: episode 5 is outside 1..3 (this series has 3 scripts; "
               "number episodes 1..N)" for e in errors)


def test_audio_and_sound_fields(tmp_path):
    (tmp_path / "takes").mkdir()
    (tmp_path / "takes" / "three.wav").write_bytes(b"RIFF")
    episode = parse_episode(front(tmp_path, "audio: takes/three.wav\nsound:\n  bed: rain.wav\n  level_db: -20"))
    assert episode.audio == (tmp_path / "takes" / "three.wav").resolve()
    assert episode.field_lines["audio"] == 3
    assert episode.sound == {"bed": "rain.wav", "level_db": -20} and episode.sound.line_of("level_db") == 6
    assert parse_episode(front(tmp_path, "sound: off")).sound == "off"
    assert parse_episode(front(tmp_path, "sound: 'off'")).sound == "off"
    plain = parse_episode(front(tmp_path, "summary: S"))
    assert (plain.audio, plain.sound) == (None, None)


@pytest.mark.parametrize(
    "fields, fragment",
    [
        ("audio: takes/missing.wav", "recording not found: takes/missing.wav"),
        ("audio: ''", "`audio` must be the path of a recording"),
        ("audio: [a.wav]", "`audio` must be the path of a recording"),
        ("audio: \"a\\0b.wav\"", "is not usable"),
        ("audio: /etc/passwd", "recording /etc/passwd: must be inside the project folder"),
        ("audio: ../../../take.wav", "take.wav: must be inside the project folder"),
        ("audio: ~/take.wav", "recording '~/take.wav': `~` is not expanded here"),
        ("audio: takes", "takes is a folder, not a file: `audio` must name a sound file"),
        ("sound: loud", "`sound` must be `off` or a mapping"),
        ("sound: [rain]", "`sound` must be `off` or a mapping"),
    ],
)
def test_bad_audio_and_sound_name_the_line(tmp_path, fields, fragment):
    (tmp_path / "takes").mkdir()
    with pytest.raises(ScriptError) as caught:
        parse_episode(front(tmp_path, fields))
    assert caught.value.line == 3 and fragment in caught.value.message


def test_a_script_linking_out_of_the_project_is_refused_and_the_others_load(tmp_path):
    series = tmp_path / "project" / "scripts" / "series"
    series.mkdir(parents=True)
    write(series, "01-a.md", episode_text(1, "a", "Words here."))
    write(tmp_path, "02-b.md", episode_text(2, "b", "Words from outside."))
    (series / "02-b.md").symlink_to(tmp_path / "02-b.md")
    episodes, errors = load_episodes(series)
    assert [e.slug for e in episodes] == ["a"]
    assert [str(e) for e in errors] == [f"{series / '02-b.md'}: a link to {(tmp_path / '02-b.md').resolve()}: "
                                        f"must be inside the project folder {(tmp_path / 'project').resolve()}"]
