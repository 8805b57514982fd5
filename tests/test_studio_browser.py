"""The studio end to end in a real browser (Playwright driving Debian's Chromium), against
`episodes studio` started as the producer starts it: open the address it prints, play a sentence,
edit it in the page and hear the new audio, check the script changed in exactly that sentence,
rebuild with streamed progress and hear the new MP3, approve, and publish approved episodes only;
on the shipped series, fix a word's pronunciation through the lexicon without leaving the page.
The page must log no console error (a script or style refused by the page's policy would)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.commands.build import build
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.publish_site import publish_project
from pipeline.state import open_store

from . import test_studio
from .conftest import REPO, TONE_VOICE
from .test_publish import CHROMIUM, _require_browser
from .test_site import axe_violations
from .test_studio import SERIES, _write_project

wobbly = test_studio.wobbly
"""The wobble voice's project (a fixture of test_studio's, shared)."""

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--autoplay-policy=no-user-gesture-required"]
SCREENSHOT = REPO / "docs" / "studio.png"


@contextlib.contextmanager
def running_studio(project: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`episodes studio --port 0` in its own process; yields the address it printed."""
    process = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "--project", str(project), "studio",
                                "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                               env=env)
    try:
        line = process.stdout.readline().strip()
        assert re.fullmatch(r"Studio at http://127\.0\.0\.1:\d+/\?token=[\w-]+", line), (line, process.stderr.read())
        yield line.removeprefix("Studio at ")
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def browser_page(url: str) -> Iterator:
    sync_api = _require_browser()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.problems = []
            page.on("console", lambda m: page.problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
            page.goto(url)
            yield page
        finally:
            browser.close()


def playing(page, selector: str) -> None:
    """Wait until the player has played some of its audio."""
    page.wait_for_function(f"() => {{ const a = document.querySelector({selector!r}); "
                           "return a && a.currentTime > 0.05 && !a.error; }", timeout=30_000)


def sentence(page, index: int):
    return page.locator(f"#sentence-{index}")


def rebuild(page, button: str = "button[data-action=rebuild]") -> list[str]:
    """Press a rebuild button and wait for its streamed progress to end; returns the log lines."""
    page.locator(button).click()
    try:
        page.wait_for_selector("#build[data-done]", timeout=120_000)
    finally:
        log = page.locator("#build-log li").all_inner_texts()
    assert page.locator("#build").get_attribute("data-done") == "ok", (log, page.problems)
    return log


def mp3_version(project: Path, stem: str) -> str:
    return hashlib.sha256((project / "out" / SERIES / f"{stem}.mp3").read_bytes()).hexdigest()[:12]


def test_hear_edit_rehear_rebuild_approve_and_publish_in_the_browser(tmp_path):
    _require_browser()
    project = _write_project(tmp_path / "project")
    assert not build(Project(project), [], BuildOptions(jobs=1)).failed
    script = project / "scripts" / SERIES / "01-alpha.md"
    before = script.read_bytes()
    old_version = mp3_version(project, "01-alpha")
    with running_studio(project) as url, browser_page(url) as page:
        assert "token=" not in page.url  # kept out of the address bar once the cookie is set
        assert axe_violations(page) == []
        page.get_by_role("link", name=f"{SERIES}/01-alpha").click()
        page.wait_for_selector("#sentence-1")
        assert axe_violations(page) == []
        first_audio = sentence(page, 1).get_attribute("data-audio")
        words_before = int(re.search(r"As written: (\d+) words", page.locator("#estimate").inner_text())[1])
        sentence(page, 1).get_by_role("button", name="Play", exact=True).click()
        playing(page, "#sentence-player")
        assert page.evaluate("document.getElementById('sentence-player').currentSrc").endswith(first_audio)

        sentence(page, 1).get_by_role("button", name="Edit").click()
        sentence(page, 1).locator("textarea").fill("A second sentence follows it very closely.")
        sentence(page, 1).get_by_role("button", name="Save and hear it").click()
        page.wait_for_function("() => document.getElementById('sentence-player').currentSrc.includes("
                               f"'/audio/sentence/') && !document.getElementById('sentence-player').currentSrc"
                               f".endsWith({first_audio!r})")
        playing(page, "#sentence-player")
        assert sentence(page, 1).locator(".text").inner_text() == "A second sentence follows it very closely."
        assert script.read_bytes() == before.replace(b"follows it closely.", b"follows it very closely.")
        assert "stale" in page.locator("#episode-status").inner_text()
        page.wait_for_function(f"() => document.getElementById('estimate').textContent"
                               f".startsWith('As written: {words_before + 1} words')")  # "very"

        log = rebuild(page)
        assert log[0] == "1 of 1 episodes need work" and any("mastering" in line for line in log)
        assert log[-1] == "done"
        new_version = mp3_version(project, "01-alpha")
        assert new_version != old_version
        page.wait_for_function(f"() => document.getElementById('episode-player').src.endsWith('?v={new_version}')")
        page.evaluate("document.getElementById('episode-player').play()")
        playing(page, "#episode-player")
        assert page.locator("#episode-status").inner_text() == "built"

        sentence(page, 1).get_by_role("button", name="Play in episode").click()
        page.wait_for_function("() => { const a = document.getElementById('episode-player'); "
                               f"return a.currentTime >= {float(sentence(page, 1).get_attribute('data-start'))}; }}")

        page.get_by_role("button", name="Approve").click()
        page.wait_for_selector("#approved")
        assert page.problems == []
    site = publish_project(Project(project), "https://example.org", None, approved_only=True)
    assert site.episodes == 1
    assert sorted(p.name for p in (project / "out" / "site" / SERIES).glob("*.mp3")) == ["01-alpha.mp3"]


def test_another_take_is_heard_picked_and_built_in_the_browser(wobbly, tmp_path):
    _require_browser()
    plugin = tmp_path / "plugins" / "wobble_test_engine-1.0.dist-info"  # the wobble voice, for the studio's process
    plugin.mkdir(parents=True)
    (plugin / "METADATA").write_text("Metadata-Version: 2.1\nName: wobble-test-engine\nVersion: 1.0\n")
    (plugin / "entry_points.txt").write_text("[audio_overviews.engines]\nwobble = tests.test_studio:WOBBLE\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin.parent), os.environ.get("PYTHONPATH", "")])}
    with running_studio(wobbly, env) as url, browser_page(url) as page:
        page.goto(url.split("?")[0] + f"episode/{SERIES}/01-alpha")
        item = sentence(page, 2)
        spoken = item.locator(".text").inner_text()
        item.get_by_role("button", name="Another take").click()
        item.locator("ul.takes li").nth(1).wait_for()
        assert item.locator("ul.takes li").all_inner_texts() == ["take 1 Play Use", "take 2 Play Use"]
        playing(page, "#sentence-player")
        item.locator("ul.takes li").nth(1).get_by_role("button", name="Use").click()
        page.wait_for_selector("#sentence-2 ul.takes li.in-use[data-take='1']")
        assert "changed: takes" in page.locator("#episode-status").inner_text()
        log = rebuild(page)
        assert log[-1] == "done" and page.locator("#episode-status").inner_text() == "built"
        assert page.problems == []
    store = open_store(wobbly / "out", write=False)
    try:
        entry = store.episodes(SERIES)["01-alpha.mp3"]
    finally:
        store.close()
    assert entry.takes == {spoken: 1} and entry.synthesized_sentences == 0


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> Path:
    """The shipped series with the tone voice in place of Piper, built."""
    _require_browser()
    project = tmp_path_factory.mktemp("shipped") / "project"
    shutil.copytree(REPO / "scripts", project / "scripts")
    shutil.copytree(REPO / "voices", project / "voices")
    (project / "voices" / "joe.yaml").write_text(TONE_VOICE)
    report = build(Project(project), [], BuildOptions())
    assert not report.failed and len(report.results) == 16
    return project


def test_a_producer_fixes_a_word_in_the_shipped_series_and_publishes_it_from_the_browser(shipped):
    label = "fine-tuning/01-sft"
    lexicon = shipped / "voices" / "lexicon.yaml"
    before = lexicon.read_text()
    with running_studio(shipped) as url, browser_page(url) as page:
        rows = page.locator("table.episodes tbody tr")
        assert rows.count() == 16
        page.get_by_role("link", name=label).click()
        page.wait_for_selector("#sentence-0")
        target = page.locator("li.sentence", has_text="InstructGPT").first
        index = int(target.get_attribute("data-index"))
        box = page.evaluate("""(index) => {
            const text = document.querySelector(`#sentence-${index} .text`).firstChild;
            const start = text.textContent.indexOf('InstructGPT');
            const range = document.createRange();
            range.setStart(text, start + 2);
            range.setEnd(text, start + 3);
            const r = range.getBoundingClientRect();
            return {x: r.x + r.width / 2, y: r.y + r.height / 2};
        }""", index)
        page.mouse.dblclick(box["x"], box["y"])  # a double-click selects the word, as a producer would
        page.wait_for_selector("#pronounce:not([hidden])")
        assert page.locator("#pronounce-word").input_value() == "InstructGPT"
        page.locator("#pronounce-say").fill("Instruct G P T")
        page.get_by_role("button", name="Listen").click()
        page.wait_for_function("() => document.getElementById('pronounce-reading').textContent.includes("
                               "'Instruct G P T')")
        playing(page, "#sentence-player")
        page.get_by_role("button", name="Save to the lexicon").click()
        page.wait_for_selector("#affected button[data-action=rebuild-affected]")
        affected = page.locator("ul.affected li").all_inner_texts()
        assert affected and all("Instruct G P T" in line for line in affected)
        labels = sorted({line.split(",")[0] for line in affected})
        assert label in labels
        assert axe_violations(page) == []
        page.evaluate("window.scrollTo(0, 0)")  # the panel stays docked at the bottom of the window
        assert page.locator("#pronounce").is_visible()
        page.screenshot(path=str(SCREENSHOT if os.environ.get("EPISODES_UPDATE_SCREENSHOT") == "1"
                                 else shipped / "studio.png"))
        log = rebuild(page, "#affected button[data-action=rebuild-affected]")
        assert log[0] == f"{len(labels)} of {len(labels)} episodes need work"
        page.get_by_role("button", name="Approve").click()
        page.wait_for_selector("#approved")
        assert page.problems == []
    assert lexicon.read_text() == before + "InstructGPT: Instruct G P T\n"
    store = open_store(shipped / "out", write=False)
    try:
        entries = store.episodes("fine-tuning")
    finally:
        store.close()
    for name in labels:  # each changed sentence spoken once: the one auditioned, in the page already
        entry = entries[f"{name.split('/')[1]}.mp3"]
        changed = sum(1 for line in affected if line.startswith(name + ","))
        assert entry.synthesized_sentences == changed - (name == label), name
    site = publish_project(Project(shipped), "https://example.org", None, approved_only=True)
    assert site.episodes == 1
    assert [p.name for p in (shipped / "out" / "site" / "fine-tuning").glob("*.mp3")] == ["01-sft.mp3"]
