"""The shipped Fine-Tuning series: structure against the topic page, and the lexicon at work."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from pipeline.script import load_episodes
from pipeline.settings import load_series
from pipeline.text import load_lexicon, prepare

from .conftest import REPO

SERIES = REPO / "scripts" / "fine-tuning"
PAGE = Path(__file__).parent / "data" / "fine-tuning-topic-page.txt"
META_RE = re.compile(r"^(?P<tags>.+?)(?P<date>\d{4}-\d{2}-\d{2})$")


def page_episodes() -> list[dict]:
    """Episodes from the topic page, top to bottom: a title line, its length, the title again,
    the summary, then the tags run together with the date."""
    lines = [text.strip() for text in PAGE.read_text(encoding="utf-8").splitlines() if text.strip()]
    found = []
    for index, line in enumerate(lines):
        if re.fullmatch(r"\d:\d\d", line):
            meta = META_RE.match(lines[index + 3])
            found.append({"title": lines[index - 1], "summary": lines[index + 2],
                          "tags_run": meta.group("tags"), "date": meta.group("date")})
    return found


def test_page_parses_to_sixteen_episodes():
    assert len(page_episodes()) == 16


def test_scripts_match_the_page_bottom_up():
    episodes, errors = load_episodes(SERIES)
    assert errors == []
    assert [e.number for e in episodes] == list(range(1, 17))
    assert len({e.slug for e in episodes}) == 16
    for episode, source in zip(episodes, reversed(page_episodes())):
        assert episode.title == source["title"]
        assert episode.summary == source["summary"]
        assert episode.date == source["date"] == "2026-02-19"
        assert "".join(episode.tags) == source["tags_run"]
        assert episode.path.name == f"{episode.number:02d}-{episode.slug}.md"
    assert episodes[0].title == "Supervised Fine-Tuning (SFT) — teaching instruction following"
    assert episodes[-1].title == "The alignment tax — capability cost of safety training"


def test_narration_is_sized_for_ninety_seconds_and_written_for_the_ear():
    episodes, _ = load_episodes(SERIES)
    for episode in episodes:
        assert 200 <= episode.word_count <= 270, (episode.stem, episode.word_count)
        assert not re.search(r"[()\[\]*#]", episode.narration), episode.stem  # no paper-only devices


def test_series_metadata_and_cover():
    series = load_series(SERIES)
    assert (series.title, series.topic, series.genre, series.language) == ("GenAI Explained", "Fine-Tuning", "Podcast", "en")
    assert series.album == "GenAI Explained: Fine-Tuning"
    assert series.production.target_duration_s == 90
    assert series.cover is not None and series.cover.stat().st_size < 500_000
    with Image.open(series.cover) as image:
        assert image.width == image.height and 1400 <= image.width <= 3000


@pytest.mark.parametrize("entry", load_lexicon(REPO / "voices" / "lexicon.yaml").entries, ids=lambda e: e.word)
def test_every_lexicon_entry_is_applied(entry):
    lexicon = load_lexicon(REPO / "voices" / "lexicon.yaml")
    spoken = prepare(f"We use {entry.word} here.", lexicon)
    assert spoken == f"We use {entry.say} here."


def test_lexicon_covers_the_terms_the_voice_misreads():
    words = {e.word for e in load_lexicon(REPO / "voices" / "lexicon.yaml").entries}
    assert {"LoRA", "QLoRA", "IA³", "RLAIF", "48GB"} <= words
