"""Review and publishing: captions, gates, the review page in a real browser, and the feed."""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import io
import json
import os
import shutil
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import lxml.html
import numpy as np
import pytest
import srt
import webvtt
from mutagen.id3 import ID3, TALB
from PIL import Image
from typer.testing import CliRunner

from pipeline.audio.codec import decode, encode_mp3
from pipeline.audio.dsp import frame_levels_db
from pipeline.cli import app
from pipeline.commands.build import build
from pipeline.commands.check import check
from pipeline.cover import render_cover
from pipeline.manifest import EpisodeResult
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.publish.review import mark_flagged, render_review_page
from pipeline.publish.rules import validate_feed
from pipeline.script import load_episodes
from pipeline.settings import load_series

from .conftest import ffmpeg_duration_s

ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
PODCAST = "{https://podcastindex.org/namespace/1.0}"
ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "https://cdn.example.org/test-series"
DISCLOSURE = "Narrated by an AI-generated synthetic voice."


@pytest.fixture
def published(project: Path, tone_engine) -> Path:
    """The test project with a cover, built with a base URL."""
    folder = project / "scripts" / "test-series"
    (folder / "series.yaml").write_text((folder / "series.yaml").read_text() + "cover: cover.png\n")
    (folder / "cover.png").write_bytes(render_cover(load_series(folder, require_cover=False)))
    report = build(Project(project), [], BuildOptions(base_url=BASE))
    assert not report.failed and not report.failed_gates, report.failed_gates
    return project


def out(project: Path) -> Path:
    return project / "out" / "test-series"


def onsets_s(path: Path) -> list[float]:
    """Times where sound starts after at least 300 ms of silence, read from the decoded MP3."""
    audio, rate = decode(path)
    levels = frame_levels_db(audio[:, 0], rate)
    sounding = levels > levels.max() - 45
    found, quiet = [], 30
    for index, is_sound in enumerate(sounding):
        if is_sound and quiet >= 30:
            found.append(index * 0.01)
        quiet = 0 if is_sound else quiet + 1
    return found


def test_captions_and_transcript_match_the_audio(published):
    folder = out(published)
    cues = webvtt.read(str(folder / "01-alpha.vtt"))
    subtitles = list(srt.parse((folder / "01-alpha.srt").read_text()))
    assert [c.text.replace("\n", " ") for c in cues] == [s.content.replace("\n", " ") for s in subtitles] == [
        "The first sentence has a handful of ordinary words.", "A second sentence follows it closely.",
        "A new paragraph starts here after a pause.", "It ends the episode with a few more words to say.",
        "Narrated by an AI-generated synthetic voice."]  # the disclosure, spoken last
    starts = [c.start_in_seconds + int(c.start.split(".")[1]) / 1000 for c in cues]
    detected = onsets_s(folder / "01-alpha.mp3")
    assert len(detected) == len(starts)
    for cue_start, onset in zip(starts, detected):
        assert abs(cue_start - onset) <= 0.05, (cue_start, onset)
    transcript = (folder / "01-alpha.txt").read_text()
    assert transcript.startswith("Episode 1 — alpha\n\nThe first sentence")
    assert transcript.endswith("to say.\n\nNarrated by an AI-generated synthetic voice.\n")


def test_feed_is_valid_rss_with_itunes_and_transcripts(published):
    folder = out(published)
    xml = (folder / "feed.xml").read_bytes()
    assert validate_feed(xml, "feed.xml", folder) == []
    root = ET.fromstring(xml)
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel.findtext("title") == "Test Series: Testing"
    assert channel.findtext("link") == f"{BASE}/"
    assert channel.find(f"{ATOM}link").get("href") == f"{BASE}/feed.xml"
    assert channel.findtext("description") == f"A series for tests. {DISCLOSURE}"
    assert channel.findtext("language") == "en"
    assert channel.find(f"{ITUNES}image").get("href") == f"{BASE}/cover.png"
    assert (folder / "cover.png").read_bytes() == (published / "scripts" / "test-series" / "cover.png").read_bytes()
    assert channel.find(f"{ITUNES}category").get("text") == "Technology"
    assert channel.findtext(f"{ITUNES}explicit") == "false"
    # Podcasting 2.0: UUIDv5 of the feed URL without its scheme, in the podcast namespace.
    assert channel.findtext(f"{PODCAST}guid") == str(uuid.uuid5(
        uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6"), "cdn.example.org/test-series/feed.xml"))
    items = channel.findall("item")
    assert [i.findtext("title") for i in items] == ["Episode 1 — alpha", "Episode 2 — beta", "Episode 3 — gamma"]
    for number, item in enumerate(items, start=1):
        stem = ["01-alpha", "02-beta", "03-gamma"][number - 1]
        guid = item.find("guid")
        assert guid.text == f"urn:audio-overviews:test-series:{stem[3:]}" and guid.get("isPermaLink") == "false"
        assert email.utils.parsedate_to_datetime(item.findtext("pubDate")).date().isoformat() == "2026-02-19"
        assert item.findtext("description") == f"Summary of {stem[3:]}. {DISCLOSURE}"
        enclosure = item.find("enclosure")
        digest = hashlib.sha256((folder / f"{stem}.mp3").read_bytes()).hexdigest()
        assert enclosure.get("url") == f"{BASE}/{stem}.mp3?v={digest[:12]}"
        assert int(enclosure.get("length")) == (folder / f"{stem}.mp3").stat().st_size
        assert enclosure.get("type") == "audio/mpeg"
        seconds = int(item.findtext(f"{ITUNES}duration"))  # whole seconds, counted down as players count
        assert 0 <= ffmpeg_duration_s(folder / f"{stem}.mp3") - seconds < 1.001
        assert item.findtext(f"{ITUNES}episode") == str(number)
        transcripts = {t.get("type"): t.get("url") for t in item.findall(f"{PODCAST}transcript")}
        assert transcripts == {"text/vtt": f"{BASE}/{stem}.vtt", "application/x-subrip": f"{BASE}/{stem}.srt",
                               "text/plain": f"{BASE}/{stem}.txt"}


def test_without_a_base_url_the_build_writes_no_feed(published):
    """Platforms refuse relative URLs, so a build without a base URL removes the feed it wrote."""
    assert (out(published) / "feed.xml").exists()
    build(Project(published), [], BuildOptions())
    assert not (out(published) / "feed.xml").exists()
    assert (out(published) / "index.html").exists()


def test_a_base_url_from_series_yaml_makes_the_feed(project, tone_engine):
    folder = project / "scripts" / "test-series"
    (folder / "series.yaml").write_text((folder / "series.yaml").read_text() + "base_url: https://example.org/t/\n")
    build(Project(project), ["alpha"], BuildOptions())
    root = ET.parse(out(project) / "feed.xml").getroot()
    assert [e.get("url").split("?v=")[0] for e in root.iter("enclosure")] == ["https://example.org/t/01-alpha.mp3"]


def test_an_undated_episode_is_dated_by_its_build_never_1970(project, tone_engine):
    script = project / "scripts" / "test-series" / "01-alpha.md"
    script.write_text(script.read_text().replace("date: 2026-02-19\n", ""))
    build(Project(project), ["alpha"], BuildOptions(base_url=BASE))
    built_at = json.loads((out(project) / "manifest.json").read_text())["episodes"][0]["built_at"]
    pub_date = ET.parse(out(project) / "feed.xml").getroot().find("channel/item").findtext("pubDate")
    assert email.utils.parsedate_to_datetime(pub_date) == dt.datetime.fromisoformat(built_at)


def test_a_jpeg_cover_keeps_its_itunes_image(project, tone_engine):
    folder = project / "scripts" / "test-series"
    (folder / "series.yaml").write_text((folder / "series.yaml").read_text() + "cover: art.jpeg\n")
    drawn = Image.open(io.BytesIO(render_cover(load_series(folder, require_cover=False)))).convert("RGB")
    drawn.save(folder / "art.jpeg", format="JPEG", quality=85)
    build(Project(project), ["alpha"], BuildOptions(base_url=BASE))
    xml = (out(project) / "feed.xml").read_bytes()
    href = ET.fromstring(xml).find(f"channel/{ITUNES}image").get("href")
    assert href == f"{BASE}/cover.jpg"
    assert Image.open(out(project) / "cover.jpg").format == "JPEG"
    assert validate_feed(xml, "feed.xml", out(project)) == []


def test_guids_never_change_on_rebuild(published):
    before = [g.text for g in ET.parse(out(published) / "feed.xml").getroot().iter("guid")]
    script = published / "scripts" / "test-series" / "02-beta.md"
    script.write_text(script.read_text().replace("handful", "bunch"))
    build(Project(published), [], BuildOptions(base_url=BASE))
    after = [g.text for g in ET.parse(out(published) / "feed.xml").getroot().iter("guid")]
    assert before == after


def damage(folder: Path) -> None:
    """Four faults a producer could ship: clipped, too quiet, wrong album tag, missing cover."""
    for name, gain in (("01-alpha.mp3", 4.0), ("02-beta.mp3", 10 ** (-10 / 20))):
        path = folder / name
        tags = ID3(path)
        audio, rate = decode(path)
        encode_mp3(np.clip(audio * gain, -1.0, 1.0), rate, path, 128)
        tags.save(path, v2_version=3)
    tags = ID3(folder / "03-gamma.mp3")
    tags.add(TALB(encoding=1, text="Another Album"))
    tags.delall("APIC")
    tags.save(folder / "03-gamma.mp3", v2_version=3)


def test_check_passes_on_a_build_and_names_each_fault_on_a_damaged_copy(published, tmp_path):
    result = CliRunner().invoke(app, ["--project", str(published), "check"])
    assert result.exit_code == 0, result.output
    copy = tmp_path / "copy"
    shutil.copytree(published, copy)
    damage(out(copy))
    failed = {(g.file, g.name) for g in check(Project(copy)).gates if not g.passed}
    assert ("01-alpha.mp3", "clipping") in failed
    assert ("01-alpha.mp3", "true peak") in failed
    assert ("02-beta.mp3", "loudness") in failed
    assert ("03-gamma.mp3", "series tags") in failed
    assert ("03-gamma.mp3", "cover") in failed
    assert not any(file == "02-beta.mp3" and name in ("clipping", "series tags") for file, name in failed)
    result = CliRunner().invoke(app, ["--project", str(copy), "check"])
    assert result.exit_code == 1
    assert "Another Album" in result.output and "missing" in result.output


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _require_browser():
    if os.environ.get("EPISODES_REQUIRE_BROWSER") == "1":
        assert CHROMIUM, "Chromium is required (apt-get install chromium)"
    elif not CHROMIUM:
        pytest.skip("no Chromium here (apt-get install chromium)")
    return pytest.importorskip("playwright.sync_api")


def test_review_page_in_a_real_browser(published, tmp_path):
    sync_api = _require_browser()
    page_path = out(published) / "index.html"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--no-first-run", "--disable-sync", "--autoplay-policy=no-user-gesture-required"])
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        problems: list[str] = []
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.goto(page_path.as_uri())
        players = page.evaluate("""async () => Promise.all([...document.querySelectorAll('audio')].map(a =>
            new Promise(done => {
              const report = () => done({src: a.currentSrc, duration: a.duration, error: a.error && a.error.code});
              if (a.readyState >= 1) report(); else { a.onloadedmetadata = report; a.onerror = report; a.load(); }
            })))""")
        images = page.evaluate("[...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])")
        page.click("#episode-02-beta details summary")
        page.click("#episode-02-beta .transcript p:nth-of-type(2)")
        seeked = page.evaluate("document.querySelector('#episode-02-beta audio').currentTime")
        screenshot = tmp_path / "review.png"
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    assert problems == []
    assert [Path(p["src"]).name for p in players] == ["01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3"]
    assert all(p["error"] is None and p["duration"] > 5 for p in players)
    assert len(images) == 4 and all(width > 0 for _, width in images)  # cover and three plots
    assert seeked >= 1.0  # clicking the second sentence moved the player to it
    assert screenshot.stat().st_size > 20_000


def test_a_partial_build_of_a_series_fails_no_tag_gate(project, tone_engine):
    report = build(Project(project), ["alpha", "gamma"], BuildOptions())
    assert report.failed_gates == []
    names = {(g.file, g.name): g.detail for g in report.series_gates}
    assert names[("01-alpha.mp3", "track total")] == "1/3, 3 episodes in the series"
    assert names[("test-series", "track numbers")] == "2 unique numbers within 1..3"
    missing = {(g.file, g.name) for g in check(Project(project)).gates if not g.passed}
    assert missing == {("02-beta.mp3", "exists")}  # check still reports the gap in the series


def test_a_new_base_url_alone_republishes_the_feed(published):
    build(Project(published), [], BuildOptions(base_url="https://mirror.example.net/ft"))
    urls = [e.get("url") for e in ET.parse(out(published) / "feed.xml").getroot().iter("enclosure")]
    assert urls[0].split("?v=")[0] == "https://mirror.example.net/ft/01-alpha.mp3"


def test_mark_flagged_attaches_a_sentence_to_the_cues_that_spell_it():
    captions = [{"start_s": 0.3, "text": "A short one."},
                {"start_s": 1.5, "text": "A long sentence split over"}, {"start_s": 2.5, "text": "two cues."},
                {"start_s": 4.0, "text": "A short one."}]
    flag = {"line": 7, "expected": "A long sentence  split over two cues.", "heard": "a wrong sentence", "word_error": 0.4}
    lines = mark_flagged(captions, [flag, {"line": 9, "expected": "Not in the captions.", "heard": "x", "word_error": 1}])
    assert [(line.flag is flag, line.first_of_flag) for line in lines] == [
        (False, False), (True, True), (True, False), (False, False)]
    assert [line.text for line in lines] == [c["text"] for c in captions]


def test_review_page_shows_recognition_and_dnsmos_and_marks_flagged_sentences(project):
    folder = project / "scripts" / "test-series"
    episodes, _ = load_episodes(folder)
    result = EpisodeResult(number=2, slug="beta", title="Episode 2 — beta", file="02-beta.mp3", status="built",
                           duration_s=12.0, integrated_lufs=-16.0, true_peak_dbtp=-1.2, lra_lu=3.0, word_count=40,
                           words_per_minute=200.0, built_at="2026-02-20T10:00:00+00:00",
                           captions=[{"start_s": 0.3, "end_s": 3.0, "text": "The first sentence."},
                                     {"start_s": 3.5, "end_s": 6.0, "text": "A second sentence follows it closely."}])
    # Fields the speech-recognition and DNSMOS stages add to the manifest entry.
    result.word_error = 0.031
    result.flagged = [{"line": 9, "expected": "A second sentence follows it closely.",
                       "heard": "a second sentence follows its clothes", "word_error": 0.33}]
    result.mos = {"signal": 3.41, "background": 4.02, "overall": 3.12}
    result.fit = {"pause_scale": 0.9, "rate_factor": 1.05, "tempo": 1.0}
    plain = EpisodeResult(number=3, slug="gamma", title="Episode 3 — gamma", file="03-gamma.mp3", status="built",
                          duration_s=11.0, integrated_lufs=-16.0, true_peak_dbtp=-1.2, lra_lu=3.0, word_count=40,
                          words_per_minute=200.0, captions=[{"start_s": 0.3, "end_s": 3.0, "text": "Plain."}])
    page = lxml.html.fromstring(render_review_page(load_series(folder), episodes,
                                                   {"02-beta.mp3": result, "03-gamma.mp3": plain}, []))
    beta = page.get_element_by_id("episode-02-beta")
    figures = beta.find_class("figures")[0].text_content()
    assert "word error 3.1% (median sentence)" in figures
    assert "DNSMOS 3.12 overall (signal 3.41, background 4.02)" in figures
    assert "pause scale ×0.900" in figures and "rate factor ×1.050" in figures
    flagged = beta.xpath(".//details[@class='transcript']/p[@class='flagged']")
    assert len(flagged) == 1 and "A second sentence follows it closely." in flagged[0].text_content()
    assert "⚠" in flagged[0].text_content()
    assert "heard: “a second sentence follows its clothes” (word error 33%, line 9)" in flagged[0].text_content()
    assert "line 9:" in beta.find_class("flagged-list")[0].text_content()
    gamma = page.get_element_by_id("episode-03-gamma")
    assert "word error" not in gamma.text_content() and "DNSMOS" not in gamma.text_content()
    assert not gamma.xpath(".//*[@class='flagged']")
    alpha = page.get_element_by_id("episode-01-alpha")
    assert "Not built" in alpha.text_content()
