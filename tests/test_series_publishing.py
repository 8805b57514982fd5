"""What series.yaml says about publishing (owner, season, licence, people, disclosure, narrator,
category, base URL), the one clock, and Apple's metadata lint: parsed with file and line errors,
and linted the way Apple asks."""

from __future__ import annotations

import dataclasses
import math
import textwrap
from pathlib import Path

import pytest

from pipeline.disclosure import DEFAULT_DISCLOSURE, is_synthetic, with_disclosure
from pipeline.durations import clock, iso_duration, whole_seconds
from pipeline.errors import ConfigError
from pipeline.publish.lint import apple_lint
from pipeline.script import load_episodes
from pipeline.settings import License, Owner, Person, Season, load_series
from pipeline.urls import check_base_url

from .conftest import REPO, SERIES_YAML

FULL = """\
owner:
  name: Ann Owner
  email: ann@example.org
season:
  number: 2
  name: Alignment
license: CC-BY-4.0
people:
  - name: Ann Owner
    role: host
    href: https://example.org/ann
  - name: Joe
    role: narrator
    img: https://example.org/joe.png
disclosure: This episode is read by a computer voice.
narrator: Joe
locked: false
category: science > natural sciences
"""


def series_file(tmp_path: Path, extra: str) -> Path:
    folder = tmp_path / "scripts" / "show"
    folder.mkdir(parents=True)
    (folder / "series.yaml").write_text(SERIES_YAML + textwrap.dedent(extra))
    return folder


def test_publishing_fields_are_parsed(tmp_path):
    series = load_series(series_file(tmp_path, FULL))
    assert series.owner == Owner("Ann Owner", "ann@example.org")
    assert series.season == Season(2, "Alignment")
    assert series.license == License("CC-BY-4.0")
    assert series.people == (Person("Ann Owner", "host", href="https://example.org/ann"),
                             Person("Joe", "narrator", img="https://example.org/joe.png"))
    assert series.disclosure == "This episode is read by a computer voice."
    assert (series.narrator, series.locked) == ("Joe", False)
    assert series.category == "Science > Natural Sciences"  # as Apple spells it


def test_defaults_disclose_and_name_the_narrator(tmp_path):
    series = load_series(series_file(tmp_path, "season: 3\nlicense: {identifier: my-licence, url: https://x.org/l}\n"))
    assert series.owner is None and series.people == () and series.locked
    assert series.season == Season(3, "Testing")  # named after the topic
    assert series.license == License("my-licence", "https://x.org/l")
    assert series.disclosure == DEFAULT_DISCLOSURE and series.narrator == "Narrator"
    assert load_series(series_file(tmp_path / "b", "disclosure: false\n")).disclosure is None


# (series.yaml lines appended to the conftest's 7-line file, the line named, and the message)
BAD = [
    ("owner: Ann\n", 8, "`owner` must be a mapping with name, email"),
    ("owner:\n  name: Ann\n  email: ann at example\n", 10, "`owner.email` 'ann at example' is not an email address"),
    ("owner:\n  name: Ann\n  mail: a@b.org\n", 10, "unknown `owner` field `mail`"),
    ("owner:\n  email: a@b.org\n", 8, "`owner.name` has no value"),
    ("season: 0\n", 8, "`season` must be a whole number from 1 to 9999"),
    ("season:\n  number: 1\n  name: " + "x" * 129 + "\n", 10, "`season.name` is 129 characters; at most 128"),
    ("license: my-licence\n", 8, "give the licence's `url:` too"),
    ("license:\n  identifier: mine\n  url: javascript:x\n", 10, "`license.url` must be an absolute http(s) URL"),
    ("people:\n  - name: Ann\n    href: https://u:p@example.org/\n", 10, "`people.href` must be an absolute http(s) URL"),
    ("people: Ann\n", 8, "`people` must be a list"),
    ("disclosure: [a, b]\n", 8, "`disclosure` must be text"),
    ("disclosure: " + "word " * 70 + "\n", 8, "`disclosure` is 349 characters; at most 300"),
    ("narrator: <Joe>\n", 8, "`narrator` may not hold <, > or &"),
    ("locked: maybe\n", 8, "`locked` must be true or false"),
    ('category: Tech"nology\n', 8, "`category` 'Tech\"nology' is not one of Apple's categories (did you mean 'Technology'?)"),
    ("category: Documentary\n", 8, "`category` 'Documentary' is a subcategory: write `Society & Culture > Documentary`"),
    ("category: Science > Quantum\n", 8, "`category` 'Quantum' is not a subcategory of Science"),
    ('base_url: https://example.org/"x"\n', 8, "base_url must be an absolute http(s) URL, such as "
     "https://example.org/podcast, but it holds \", which a URL may not hold"),
    ("base_url: https://user:secret@example.org/x\n", 8, "holds a user name or password"),
    ("base_url: https://example.org/<x>\n", 8, "holds < >, which a URL may not hold"),
]


@pytest.mark.parametrize("extra, line, message", BAD, ids=[b[2][:40] for b in BAD])
def test_a_bad_publishing_field_names_its_line(tmp_path, extra, line, message):
    folder = series_file(tmp_path, extra)
    with pytest.raises(ConfigError) as error:
        load_series(folder)
    assert str(error.value).startswith(f"{folder / 'series.yaml'}:{line}: "), str(error.value)
    assert message in str(error.value)


def test_a_non_ascii_base_url_is_encoded(tmp_path):
    series = load_series(series_file(tmp_path, "base_url: https://bücher.example/über/\n"))
    assert series.base_url == "https://xn--bcher-kva.example/%C3%BCber"
    assert check_base_url("https://example.org/a%20b/", "--base-url") == "https://example.org/a%20b"


def test_the_shipped_series_file_still_loads():
    series = load_series(REPO / "scripts" / "fine-tuning")
    assert series.category == "Technology" and series.disclosure == DEFAULT_DISCLOSURE


# -- one clock ------------------------------------------------------------------------------------

def test_one_clock_counts_whole_seconds_down_as_players_do():
    assert [whole_seconds(s) for s in (0.0, 0.4, 85.4, 85.6, 85.998, 89.99996, 90.0)] == [0, 0, 85, 85, 85, 90, 90]
    assert [clock(s) for s in (0.4, 59.999, 60.0, 85.6, 125.0, 3725.2)] == [
        "0:00", "0:59", "1:00", "1:25", "2:05", "1:02:05"]
    assert iso_duration(85.6) == "PT85S"
    assert whole_seconds(-1.0) == whole_seconds(math.nan) == 0


# -- disclosure -----------------------------------------------------------------------------------

def test_the_disclosure_follows_the_text_it_joins():
    assert with_disclosure("About LoRA.", DEFAULT_DISCLOSURE) == f"About LoRA. {DEFAULT_DISCLOSURE}"
    assert with_disclosure("", DEFAULT_DISCLOSURE) == DEFAULT_DISCLOSURE
    assert with_disclosure("About LoRA. ", None) == "About LoRA."


def test_an_episode_is_synthetic_unless_a_person_recorded_it(project):
    episodes, _ = load_episodes(project / "scripts" / "test-series")
    assert all(map(is_synthetic, episodes))
    assert not is_synthetic(dataclasses.replace(episodes[0], audio=project / "voice.wav"))


# -- Apple's metadata guidelines ------------------------------------------------------------------

def lint_lines(series, episodes) -> dict[str, str]:
    return {f"{Path(p.file).name}:{p.line}:{p.rule}": p.severity for p in apple_lint(series, episodes)}


def test_the_shipped_series_passes_apples_lint_but_for_its_owner():
    series = load_series(REPO / "scripts" / "fine-tuning")
    episodes, _ = load_episodes(REPO / "scripts" / "fine-tuning")
    problems = apple_lint(series, episodes)
    assert [(p.rule, p.severity) for p in problems] == [("owner-missing", "warning")]
    assert str(problems[0]).endswith("to fix: add `owner:` with `name:` and `email:`")
    with_owner = dataclasses.replace(series, owner=Owner("GenAI Explained", "podcast@example.org"))
    assert apple_lint(with_owner, episodes) == []


def test_each_planted_metadata_fault_is_named_with_its_line(project):
    folder = project / "scripts" / "test-series"
    (folder / "series.yaml").write_text(SERIES_YAML.replace("description: A series for tests.",
                                                            "description: Test Series by Test Author")
                                        + "owner: {name: A, email: a@b.org}\ndisclosure: false\n")
    scripts = {
        "01-alpha.md": ("title: Episode 1 — alpha", "title: Episode 1 — alpha"),       # a number in the title
        "02-beta.md": ("summary: Summary of beta.", "summary: Description goes here"),  # placeholder
        "03-gamma.md": ("summary: Summary of gamma.", "summary: Episode 3 — gamma"),    # the title again
    }
    for name, (old, new) in scripts.items():
        path = folder / name
        path.write_text(path.read_text().replace(old, new))
    series = load_series(folder)
    episodes, _ = load_episodes(folder)
    found = lint_lines(series, episodes)
    assert found == {
        "series.yaml:9:disclosure-off": "warning",
        "series.yaml:4:description-repeats": "error",
        "01-alpha.md:2:title-number": "warning",
        "02-beta.md:2:title-number": "warning",
        "03-gamma.md:2:title-number": "warning",
        "02-beta.md:6:placeholder": "error",
        "03-gamma.md:6:description-repeats": "error",
    }


def test_a_title_may_start_with_a_number_that_is_not_the_episodes(project):
    folder = project / "scripts" / "test-series"
    episodes, _ = load_episodes(folder)
    titles = {"4-bit quantization, explained": False, "70B models on one GPU": False, "03 Broken Heirloom": False,
              "1. The first steps": True, "Ep. 4: more": True, "S1E1 — pilot": True, "#1 — the start": True}
    series = dataclasses.replace(load_series(folder), owner=Owner("A", "a@b.org"))
    for title, numbered in titles.items():
        episode = dataclasses.replace(episodes[0], title=title)
        rules = [p.rule for p in apple_lint(series, [episode])]
        assert ("title-number" in rules) == numbered, title


def test_a_description_over_apples_limit_is_an_error(project):
    folder = project / "scripts" / "test-series"
    series = dataclasses.replace(load_series(folder), owner=Owner("A", "a@b.org"), description="é" * 1990)
    problems = apple_lint(series, [])
    assert [p.message for p in problems] == ["`description` (with the disclosure) is 4025 bytes; Apple allows at "
                                             "most 4000"]


def test_the_id3_comment_carries_the_disclosure_after_the_summary(tmp_path):
    import numpy as np
    from mutagen.id3 import ID3

    from pipeline.audio.codec import encode_mp3
    from pipeline.tags import TagValues, write_tags

    path = tmp_path / "tone.mp3"
    encode_mp3(0.1 * np.sin(np.linspace(0, 2000, 44100))[:, None], 44100, path, 128)
    values = TagValues(title="T", album="A", artist="B", genre="Podcast", copyright="", track=1, track_total=1,
                       date="2026-02-19", summary="About LoRA.", narration="Words.", language="en", cover=None,
                       custom={}, disclosure=DEFAULT_DISCLOSURE)
    write_tags(path, values, None)
    assert [str(t) for f in ID3(path).getall("COMM") for t in f.text] == [f"About LoRA. {DEFAULT_DISCLOSURE}"]
    write_tags(path, dataclasses.replace(values, disclosure=""), None)  # a person's recording
    assert [str(t) for f in ID3(path).getall("COMM") for t in f.text] == ["About LoRA."]
