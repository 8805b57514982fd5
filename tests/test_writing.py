"""Writing a series: a scaffold that builds, an estimate before any audio, names that work."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.commands.build import build
from pipeline.commands.estimate import estimate
from pipeline.plan import BuildOptions
from pipeline.project import Project, load_catalog, select
from pipeline.script import parse_episode
from pipeline.settings import load_series

from .conftest import TONE_VOICE

runner = CliRunner()


def episodes(project: Path, *args: str):
    return runner.invoke(app, ["--project", str(project), *args])


def test_a_new_series_and_episode_build_and_publish(tmp_path, tone_engine, project):
    root = tmp_path / "fresh"
    (root / "voices").mkdir(parents=True)
    (root / "voices" / "joe.yaml").write_text(TONE_VOICE)
    (root / "scripts").mkdir()
    made = episodes(root, "new", "series", "retrieval", "--title", "Retrieval Explained", "--topic", "Search: hybrid")
    assert made.exit_code == 0, made.output
    series = load_series(root / "scripts" / "retrieval")  # the template parses, cover included
    assert (series.title, series.topic, series.cover.name) == ("Retrieval Explained", "Search: hybrid", "cover.png")
    again = episodes(root, "new", "series", "retrieval", "--title", "Other", "--topic", "Other")
    assert again.exit_code == 2 and "already exists" in again.output
    assert load_series(root / "scripts" / "retrieval").title == "Retrieval Explained"  # untouched
    first = episodes(root, "new", "episode", "retrieval", "Hybrid search: BM25 & vectors!")
    second = episodes(root, "new", "episode", "retrieval", "Reranking")
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    scripts = sorted(p.name for p in (root / "scripts" / "retrieval").glob("*.md"))
    assert scripts == ["01-hybrid-search-bm25-vectors.md", "02-reranking.md"]
    parsed = parse_episode(root / "scripts" / "retrieval" / scripts[0])
    assert (parsed.number, parsed.title) == (1, "Hybrid search: BM25 & vectors!")
    assert re.search(r"About \d+ words make 90 seconds", (root / "scripts" / "retrieval" / scripts[0]).read_text())
    same = episodes(root, "new", "episode", "retrieval", "Reranking")
    assert same.exit_code == 2 and "already called 'reranking'" in same.output
    report = build(Project(root), [], BuildOptions(jobs=1, overrides={"target_duration_s": 6.0,
                                                                         "duration_tolerance_s": 5.0}))
    assert [r.status for r in report.results] == ["built", "built"], [r.error for r in report.results]
    published = episodes(root, "publish", "--base-url", "https://example.org/shows")
    assert published.exit_code == 0, published.output
    assert (root / "out" / "site" / "retrieval" / "01-hybrid-search-bm25-vectors.mp3").is_file()


@pytest.mark.parametrize("name", ["test-series/02-beta", "test-series/02", "test-series/2", "test-series/beta",
                                  "beta", "02-beta", "2", "scripts/test-series/02-beta.md"])
def test_every_name_form_resolves(project, name):
    if name.endswith(".md"):
        name = str(project / name)
    catalog = load_catalog(Project(project))
    chosen = select(catalog, [name])
    assert not chosen.errors and [e.stem for _, e in chosen.episodes] == ["02-beta"]


def test_an_unknown_name_says_the_forms_and_an_ambiguous_one_lists_its_matches(project, tone_engine):
    other = project / "scripts" / "other-series"
    other.mkdir()
    (other / "series.yaml").write_text((project / "scripts" / "test-series" / "series.yaml").read_text())
    for name in ("01-alpha.md", "02-beta.md"):
        (other / name).write_text((project / "scripts" / "test-series" / name).read_text())
    catalog = load_catalog(Project(project))
    assert len(select(catalog, ["beta"]).episodes) == 2
    assert len(select(catalog, ["other-series/beta"]).episodes) == 1
    assert "SERIES/NN-slug" in str(select(catalog, ["other-series/gamma"]).errors[0])
    result = episodes(project, "preview", "beta")
    assert result.exit_code == 2 and "other-series/02-beta" in result.output and "test-series/02-beta" in result.output


def test_the_estimate_learns_the_voice_from_built_episodes_and_lands_near_the_build(project, tone_engine):
    before = estimate(Project(project), [])
    assert [r.label for r in before.rows] == ["test-series/01-alpha", "test-series/02-beta", "test-series/03-gamma"]
    assert not any(r.measured for r in before.rows)
    build(Project(project), [], BuildOptions(jobs=1, overrides={"target_duration_s": 30.0, "duration_tolerance_s": 25.0}))
    after = estimate(Project(project), [], BuildOptions(overrides={"target_duration_s": 30.0,
                                                                   "duration_tolerance_s": 25.0}))
    built = json.loads((project / "out" / "test-series" / "manifest.json").read_text())["episodes"]
    assert all(r.measured for r in after.rows)
    for row, entry in zip(after.rows, built):
        natural = entry["fit"]["start_s"]  # as written: the fit moved nothing at this wide a window... or did
        assert row.predicted_s == pytest.approx(natural, rel=0.05), (row, entry["fit"])
    assert after.rows[0].words_to_target > 0  # 30 s is far more than these few words fill


def test_estimate_on_the_command_line_says_what_to_add(project, tone_engine):
    result = episodes(project, "estimate", "test-series/01-alpha")
    assert result.exit_code == 0, result.output
    assert re.search(r"test-series/01-alpha\s+\d+\s+0:\d\d\s+~0:\d\d\s+0:16\s+((add|cut) \d+ words|on target)",
                     result.output), result.output


def test_lint_finds_planted_stumbles_with_their_lines(project):
    script = project / "scripts" / "test-series" / "02-beta.md"
    script.write_text(script.read_text() + "\nThe score is 1/(60 + rank) for each list.\n\nAsk the XQZ team.\n")
    result = episodes(project, "lint")
    assert result.exit_code == 1, result.output
    lines = {int(m.group(1)): m.group(0) for m in re.finditer(rf"{re.escape(str(script))}:(\d+): [^\n]+", result.output)}
    text = script.read_text().splitlines()
    formula = next(n for n, line in enumerate(text, 1) if "1/(60" in line)
    acronym = next(n for n, line in enumerate(text, 1) if "XQZ" in line)
    assert set(lines) == {formula, acronym}, result.output
    assert "'1/(60 + rank)' is read 'one slash, sixty plus rank'" in lines[formula]
    assert "XQZ" in lines[acronym]
    assert episodes(project, "lint", "test-series/01-alpha").exit_code == 0  # the others are clean


def test_say_reads_a_script_as_it_will_be_spoken(project, tone_engine):
    script = project / "scripts" / "test-series" / "01-alpha.md"
    script.write_text(script.read_text() + "\nIt costs $5 in 2024.\n")
    result = episodes(project, "say", "--script", str(script))
    assert result.exit_code == 0, result.output
    assert "It costs five dollars in twenty twenty-four." in result.output and "written: It costs $5 in 2024." in result.output
    refused = episodes(project, "say", str(script))
    assert refused.exit_code == 2 and "is a script: read it with `episodes say --script" in refused.output
    played = episodes(project, "say", "Hello there.", "--play")
    assert played.exit_code == 0 and not (project / "out" / "say.mp3").exists()  # nothing left in the project
