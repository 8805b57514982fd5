"""Offline feed validation: a valid feed passes, and a feed broken in exactly one way fails with
exactly that rule's message, one line naming the feed and the element."""

from __future__ import annotations

import dataclasses
import functools
import io
import uuid
from pathlib import Path
from typing import Callable

import pytest
from lxml import etree
from PIL import Image

from pipeline.cover import load_cover, render_cover
from pipeline.manifest import EpisodeResult
from pipeline.publish.catalog import PublishedEpisode, content_version
from pipeline.publish.feed import ITUNES_NS, PODCAST_NS, podcast_guid, render_feed
from pipeline.publish.rules import RULES, validate_feed
from pipeline.script import Episode
from pipeline.settings import License, Owner, Person, Season, Series

URL = "https://cdn.example.org/show/"
SLUGS = ("alpha", "beta", "gamma")


def png(image: Image.Image, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A published series folder: three episodes (stand-in MP3 bytes), sidecars and the cover."""
    folder = tmp_path / "show"
    folder.mkdir()
    for number, slug in enumerate(SLUGS, start=1):
        stem = f"{number:02d}-{slug}"
        (folder / f"{stem}.mp3").write_bytes(b"\xff\xfb" * (1000 * number))
        for suffix in (".vtt", ".srt", ".txt"):
            (folder / f"{stem}{suffix}").write_text("text")
    return folder


def series(folder: Path) -> Series:
    return Series(folder=folder, title="Show", topic="Tests", album="Show: Tests", author="Author",
                  description="A show.", cover=folder / "cover.png", owner=Owner("Ann Owner", "ann@example.org"),
                  season=Season(2, "Tests"), license=License("CC-BY-4.0"),
                  people=(Person("Ann Owner", "host", href="https://example.org/ann"), Person("Bob", "producer")))


@functools.lru_cache(maxsize=1)
def drawn_cover() -> bytes:
    return render_cover(series(Path("show")))


def feed_bytes(folder: Path) -> bytes:
    info = series(folder)
    (folder / "cover.png").write_bytes(drawn_cover())
    cover = load_cover(folder / "cover.png", folder)
    published = []
    for number, slug in enumerate(SLUGS, start=1):
        stem = f"{number:02d}-{slug}"
        episode = Episode(path=folder / f"{stem}.md", number=number, slug=slug, title=f"Episode {slug}",
                          date="2026-02-19", summary=f"About {slug}.", tags=("Testing",), voice=None,
                          overrides={}, blocks=(), field_lines={})
        result = EpisodeResult(number=number, slug=slug, title=episode.title, file=f"{stem}.mp3", status="built",
                               duration_s=90.0 + number, built_at="2026-02-20T10:00:00+00:00")
        mp3 = folder / f"{stem}.mp3"
        published.append(PublishedEpisode(episode, result, mp3.stat().st_size, content_version(mp3), True))
    return render_feed(info, published, URL, cover)


def edit(xml: bytes, change: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(xml)
    change(root)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def channel(root):
    return root.find("channel")


def item(root, index: int):
    return root.findall("channel/item")[index - 1]


def remove(element, path: str) -> None:
    element.remove(element.find(path))


def write_cover(folder: Path, image: Image.Image, image_format: str = "PNG") -> None:
    (folder / "cover.png").write_bytes(png(image, image_format))


# rule id -> (how to break the feed or its files, the one line expected)
CASES: dict[str, tuple[Callable[[bytes, Path], bytes], str]] = {
    "well-formed": (lambda xml, d: xml.replace(b"</channel>", b""),
                    "feed.xml: <rss>: is not well-formed XML ("),
    "rss-version": (lambda xml, d: edit(xml, lambda r: r.set("version", "0.91")),
                    "feed.xml: <rss>: the root element must be <rss version=\"2.0\"> (found <rss> version '0.91')"),
    "one-channel": (lambda xml, d: edit(xml, lambda r: r.append(etree.fromstring(b"<channel/>"))),
                    "feed.xml: <rss>: <rss> must hold exactly one <channel> (found 2)"),
    "unique-guids": (lambda xml, d: edit(xml, lambda r: setattr(item(r, 2).find("guid"), "text",
                                                                 item(r, 1).findtext("guid"))),
                     "feed.xml: <rss>: <guid> 'urn:audio-overviews:show:alpha' is shared by items 1, 2; "
                     "each episode needs its own"),
    "channel-title": (lambda xml, d: edit(xml, lambda r: remove(channel(r), "title")),
                      "feed.xml: <channel>: <title> is missing or empty"),
    "channel-link": (lambda xml, d: edit(xml, lambda r: remove(channel(r), "link")),
                     "feed.xml: <channel>: <link> is missing or empty"),
    "channel-description": (lambda xml, d: edit(xml, lambda r: setattr(channel(r).find("description"), "text", " ")),
                            "feed.xml: <channel>: <description> is missing or empty"),
    "channel-language": (lambda xml, d: edit(xml, lambda r: remove(channel(r), "language")),
                         "feed.xml: <channel>: <language> is missing or empty (Apple requires it)"),
    "channel-image": (lambda xml, d: edit(xml, lambda r: channel(r).find(f"{{{ITUNES_NS}}}image").set(
                          "href", URL + "cover.gif")),
                      f"feed.xml: <channel>: <itunes:image> href '{URL}cover.gif' does not end in .jpg, .jpeg or .png "
                      "(Apple requires an absolute http(s) URL to a .jpg, .jpeg or .png)"),
    "channel-category": (lambda xml, d: edit(xml, lambda r: remove(channel(r), f"{{{ITUNES_NS}}}category")),
                         "feed.xml: <channel>: <itunes:category> is missing (Apple requires a category)"),
    "channel-explicit": (lambda xml, d: edit(xml, lambda r: setattr(channel(r).find(f"{{{ITUNES_NS}}}explicit"),
                                                                     "text", "no")),
                         "feed.xml: <channel>: <itunes:explicit> is 'no'; Apple accepts only true or false"),
    "channel-owner": (lambda xml, d: edit(xml, lambda r: setattr(channel(r).find(f"{{{ITUNES_NS}}}owner/"
                                                                                f"{{{ITUNES_NS}}}email"), "text", "ann")),
                      "feed.xml: <channel>: <itunes:owner> <itunes:email> 'ann' is not an email address"),
    "podcast-guid": (lambda xml, d: edit(xml, lambda r: remove(channel(r), f"{{{PODCAST_NS}}}guid")),
                     "feed.xml: <channel>: <podcast:guid> is missing"),
    "podcast-namespace": (lambda xml, d: edit(xml, lambda r: setattr(channel(r).find(f"{{{PODCAST_NS}}}guid"),
                                                                      "text", "show-2026")),
                          "feed.xml: <channel>: <podcast:guid> value 'show-2026' is not a UUID"),
    "description-length": (lambda xml, d: edit(xml, lambda r: setattr(item(r, 3).find("description"), "text",
                                                                       "é" * 2001)),
                           "feed.xml: <item> 3 (03-gamma): <description> is 4002 bytes; Apple allows at most 4000"),
    "absolute-urls": (lambda xml, d: edit(xml, lambda r: item(r, 1).find(f"{{{PODCAST_NS}}}transcript").set(
                          "url", "01-alpha.vtt")),
                      "feed.xml: <item> 1 (01-alpha): <podcast:transcript url> '01-alpha.vtt' is not http(s) with a "
                      "host name"),
    "item-title": (lambda xml, d: edit(xml, lambda r: remove(item(r, 2), "title")),
                   "feed.xml: <item> 2 (02-beta): <title> is missing or empty"),
    "item-enclosure": (lambda xml, d: edit(xml, lambda r: item(r, 2).find("enclosure").set("type", "text/html")),
                       "feed.xml: <item> 2 (02-beta): <enclosure> type 'text/html' is not an audio or video MIME type"),
    "item-guid": (lambda xml, d: edit(xml, lambda r: remove(item(r, 1), "guid")),
                  "feed.xml: <item> 1 (01-alpha): <guid> is missing or empty"),
    "item-numbers": (lambda xml, d: edit(xml, lambda r: setattr(item(r, 2).find(f"{{{ITUNES_NS}}}episode"),
                                                                 "text", "0")),
                     "feed.xml: <item> 2 (02-beta): <itunes:episode> '0' is not a whole number of at least 1"),
    "enclosure-file": (lambda xml, d: edit(xml, lambda r: item(r, 3).find("enclosure").set("length", "123")),
                       "feed.xml: <item> 3 (03-gamma): enclosure length 123 differs from the file's 6000 bytes"),
    "enclosure-version": (lambda xml, d: ((d / "01-alpha.mp3").write_bytes(b"\xff\xfa" * 1000), xml)[1],
                          "feed.xml: <item> 1 (01-alpha): <enclosure url> has v={old}, but 01-alpha.mp3 is v={new}: "
                          "apps that downloaded the old audio keep it"),
    "transcript-file": (lambda xml, d: (d / "02-beta.srt").unlink() or xml,
                        "feed.xml: <item> 2 (02-beta): transcript 02-beta.srt is not in {files}"),
    "artwork-format": (lambda xml, d: write_cover(d, Image.new("RGB", (1400, 1400)), "JPEG") or xml,
                       "feed.xml: artwork cover.png: holds a JPEG image under a PNG name"),
    "artwork-size": (lambda xml, d: write_cover(d, Image.new("RGB", (1000, 1000))) or xml,
                     "feed.xml: artwork cover.png: is 1000x1000 px; Apple requires 1400 to 3000 px"),
    "artwork-square": (lambda xml, d: write_cover(d, Image.new("RGB", (1400, 1600))) or xml,
                       "feed.xml: artwork cover.png: is 1400x1600 px; artwork must be square"),
    "artwork-colour": (lambda xml, d: write_cover(d, Image.new("RGBA", (1400, 1400))) or xml,
                       "feed.xml: artwork cover.png: has an alpha channel (transparency); Apple requires RGB colour"),
}


def test_every_rule_has_a_case_and_says_what_it_checks():
    assert sorted(CASES) == sorted(rule.id for rule in RULES)
    for rule in RULES:
        assert rule.checks and rule.message and set(rule.scope.split()) <= {
            "document", "feed", "channel", "item", "artwork"}


def test_a_valid_feed_passes_with_and_without_its_files(files):
    xml = feed_bytes(files)
    assert validate_feed(xml, "feed.xml", files) == []
    assert validate_feed(xml, "feed.xml", None) == []


def test_the_fix_names_the_series_folder_the_feed_is_in(files):
    xml = edit(feed_bytes(files), lambda r: remove(channel(r), f"{{{ITUNES_NS}}}image"))
    [problem] = validate_feed(xml, "fine-tuning/feed.xml", files)
    assert str(problem) == ("fine-tuning/feed.xml: <channel>: <itunes:image> is missing (Apple requires an absolute "
                            "http(s) URL to a .jpg, .jpeg or .png); to fix: set `cover:` in series.yaml to a square "
                            "1400-3000 px RGB JPEG or PNG, or run `episodes cover fine-tuning`")


@pytest.mark.parametrize("rule", sorted(CASES))
def test_a_feed_broken_one_way_fails_that_rule_only(files, rule):
    xml = feed_bytes(files)
    old = content_version(files / "01-alpha.mp3")
    damage, expected = CASES[rule]
    problems = validate_feed(damage(xml, files), "feed.xml", files)
    assert [p.rule for p in problems] == [rule], [str(p) for p in problems]
    line = f"{problems[0].file}: {problems[0].element}: {problems[0].message}"
    assert "\n" not in str(problems[0])
    expected = expected.format(files=files, old=old, new=content_version(files / "01-alpha.mp3"))
    assert line.startswith(expected) if rule == "well-formed" else line == expected
    # Each problem says how to fix it, in the same line.
    assert problems[0].fix and str(problems[0]).endswith(f"; to fix: {problems[0].fix}")


def test_relative_urls_are_named_one_by_one(files):
    xml = feed_bytes(files).replace(URL.encode(), b"")
    problems = [p for p in validate_feed(xml, "feed.xml", files) if p.rule == "absolute-urls"]
    assert {p.element for p in problems} == {"<channel>", "<item> 1 (01-alpha)", "<item> 2 (02-beta)",
                                             "<item> 3 (03-gamma)"}
    assert ("feed.xml: <item> 2 (02-beta): <enclosure url> '02-beta.mp3?v=" in line and "is not http(s) with a host "
            "name; to fix: set an absolute http(s) `base_url:` in series.yaml or pass --base-url" in line
            for line in map(str, problems))
    assert any(p.rule == "channel-image" for p in validate_feed(xml, "feed.xml", files))


def test_the_parser_resolves_no_entities_and_fetches_nothing(files, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    xml = feed_bytes(files).replace(b"<?xml version='1.0' encoding='UTF-8'?>",
                                    f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "{secret.as_uri()}">]>'.encode())
    xml = xml.replace(b"<itunes:explicit>false</itunes:explicit>", b"<itunes:explicit>&x;</itunes:explicit>")
    problems = validate_feed(xml, "feed.xml", files)
    assert [p.message for p in problems] == ["<itunes:explicit> is ''; Apple accepts only true or false"]


def test_podcast_guid_matches_the_namespace_examples():
    # The Podcasting 2.0 guid page's two worked examples.
    assert podcast_guid("https://mp3s.nashownotes.com/pc20rss.xml") == "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    assert podcast_guid("http://podnews.net/rss/") == "9b024349-ccf0-5f69-a609-6b82873eab3c"
    assert uuid.UUID(podcast_guid(URL + "feed.xml")).version == 5


def test_podcast_guid_from_the_series_file_is_kept_when_the_feed_moves(files):
    kept = "917393e3-1b1e-5cef-ace4-edaa54e1f810"
    info = dataclasses.replace(series(files), podcast_guid=kept)
    guids = {}
    for url in (URL, "https://new-host.example.net/podcasts/show/"):
        for name, show in (("derived", series(files)), ("kept", info)):
            root = etree.fromstring(render_feed(show, [], url, None))
            guids[name, url] = channel(root).findtext(f"{{{PODCAST_NS}}}guid")
    assert guids["derived", URL] != guids["derived", "https://new-host.example.net/podcasts/show/"]
    assert guids["kept", URL] == guids["kept", "https://new-host.example.net/podcasts/show/"] == kept
