"""Offline feed validation: a valid feed passes, and a feed broken in exactly one way fails with
exactly that rule's message, one line naming the feed and the element."""

from __future__ import annotations

import dataclasses
import functools
import io
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from pipeline.cover import load_cover, render_cover
from pipeline.errors import ConfigError
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


# -- Podcasting 2.0: the namespace's own schema, and its rules as data ---------------------------

NAMESPACE_DATA = Path(__file__).parent / "data" / "podcast-namespace"


@functools.lru_cache(maxsize=1)
def namespace_schema() -> tuple[etree.XMLSchema, set[str]]:
    """The namespace's XML Schema (through its wrapper, which gives it the podcast namespace), and
    the names of the elements it declares."""
    schema = etree.XMLSchema(etree.parse(str(NAMESPACE_DATA / "podcast-wrapper.xsd")))
    declared = {e.get("name") for e in etree.parse(str(NAMESPACE_DATA / "podcast.xsd")).getroot()
                .findall("{http://www.w3.org/2001/XMLSchema}element")}
    return schema, declared


def schema_errors(xml: bytes) -> tuple[list[str], set[str]]:
    """Each podcast:* element of the feed validated alone against the schema (wrapped as its
    test-wrapper expects); returns the errors and the names the schema does not declare."""
    schema, declared = namespace_schema()
    errors, undeclared = [], set()
    for element in etree.fromstring(xml).iter(f"{{{PODCAST_NS}}}*"):
        name = etree.QName(element).localname
        if name not in declared:
            undeclared.add(name)
            continue
        wrapper = etree.Element(f"{{{PODCAST_NS}}}test-wrapper")
        wrapper.append(etree.fromstring(etree.tostring(element)))
        if not schema.validate(wrapper):
            errors += [f"{name}: {e.message}" for e in schema.error_log]
    return errors, undeclared


def test_every_podcast_element_of_the_feed_is_valid_against_the_namespace_schema(files):
    xml = feed_bytes(files)
    errors, undeclared = schema_errors(xml)
    assert errors == []
    # The schema lags the spec (its README): guid, license and txt are specified but not declared there.
    assert undeclared == {"guid", "license", "txt"}
    written = {etree.QName(e).localname for e in etree.fromstring(xml).iter(f"{{{PODCAST_NS}}}*")}
    assert written == {"guid", "txt", "locked", "license", "person", "season", "episode", "transcript"}


def test_the_schema_check_can_fail():
    broken = etree.tostring(etree.fromstring(
        f'<rss xmlns:podcast="{PODCAST_NS}"><podcast:season name="S">two</podcast:season>'
        f'<podcast:locked owner="a@example.org">maybe</podcast:locked></rss>'.encode()))
    errors, _ = schema_errors(broken)
    assert len(errors) == 2 and errors[0].startswith("season:") and errors[1].startswith("locked:")


NAMESPACE_DEFECTS = [
    # (where: "channel" or item number, the element added, the one problem expected)
    ("channel", '<podcast:season name="S">1</podcast:season>',
     "<podcast:season> may not stand in <channel> (only in <item>)"),
    ("channel", "<podcast:guid>917393e3-1b1e-5cef-ace4-edaa54e1f810</podcast:guid>",
     "<podcast:guid> appears 2 times; the namespace allows one per <channel>"),
    (1, f'<podcast:transcript url="{URL}01-alpha.txt"/>', "<podcast:transcript> has no type= (required)"),
    (1, f'<podcast:transcript url="{URL}01-alpha.txt" type="application/pdf"/>',
     "<podcast:transcript> type= 'application/pdf' is not one of text/plain, text/html, text/vtt, application/json, "
     "application/x-subrip, application/srt"),
    ("channel", f'<podcast:person role="guest">{"x" * 129}</podcast:person>',
     "<podcast:person> value is 129 characters; the namespace allows at most 128"),
    ("channel", "<podcast:person> </podcast:person>", "<podcast:person> value is empty"),
    ("channel", "<podcast:medium>radio</podcast:medium>", "<podcast:medium> value 'radio' is not one of podcast, "),
    ("channel", "<podcast:funding>Support us</podcast:funding>", "<podcast:funding> has no url= (required)"),
    ("channel", "<podcast:hologram/>", "<podcast:hologram> is not a Podcasting 2.0 tag this check knows"),
    (3, '<podcast:chapters url="https://cdn.example.org/c.json" type="application/json+chapters" lang="en"/>',
     "<podcast:chapters> has an attribute the namespace does not define: lang="),
    ("channel", '<podcast:trailer url="https://cdn.example.org/t.mp3" pubdate="April 1st">Soon</podcast:trailer>',
     "<podcast:trailer> pubdate= 'April 1st' is not an RFC 2822 date"),
]


@pytest.mark.parametrize("where, added, expected", NAMESPACE_DEFECTS)
def test_each_podcast_namespace_rule_is_checked(files, where, added, expected):
    def plant(root):
        parent = channel(root) if where == "channel" else item(root, where)
        parent.append(etree.fromstring(f'<x xmlns:podcast="{PODCAST_NS}">{added}</x>'.encode())[0])

    problems = validate_feed(edit(feed_bytes(files), plant), "feed.xml", files)
    assert [p.rule for p in problems] == ["podcast-namespace"], [str(p) for p in problems]
    assert problems[0].message.startswith(expected), problems[0].message


@pytest.mark.parametrize("change, expected", [
    (lambda r: channel(r).find(f"{{{PODCAST_NS}}}locked").set("owner", "not-an-address"),
     "<podcast:locked> owner= 'not-an-address' is not an email address"),
    (lambda r: setattr(channel(r).find(f"{{{PODCAST_NS}}}locked"), "text", "maybe"),
     "<podcast:locked> value 'maybe' is not one of yes, no"),
    (lambda r: setattr(channel(r).find(f"{{{PODCAST_NS}}}license"), "text", "my-own-licence"),
     "<podcast:license> 'my-own-licence' is not a well-known licence, so it needs url="),
    (lambda r: setattr(item(r, 1).find(f"{{{PODCAST_NS}}}season"), "text", "0"),
     "<podcast:season> value '0' is not a whole number of at least 1"),
    (lambda r: item(r, 2).find(f"{{{PODCAST_NS}}}episode").set("display", "Day five, the fortnight-long special"),
     "<podcast:episode> display= is 36 characters; the namespace allows at most 32"),
    (lambda r: setattr(item(r, 2).find(f"{{{PODCAST_NS}}}episode"), "text", "five"),
     "<podcast:episode> value 'five' is not a decimal number"),
])
def test_the_feeds_own_podcast_tags_are_checked(files, change, expected):
    problems = validate_feed(edit(feed_bytes(files), change), "feed.xml", files)
    assert [p.message for p in problems] == [expected]


@pytest.mark.parametrize("category, expected", [
    ('<itunes:category text="Tech"/>', "<itunes:category> 'Tech' is not one of Apple's categories"),
    ('<itunes:category text="Science"><itunes:category text="Quantum"/></itunes:category>',
     "<itunes:category> 'Quantum' is not one of Apple's subcategories of Science"),
])
def test_the_category_is_one_of_apples(files, category, expected):
    def replace(root):
        remove(channel(root), f"{{{ITUNES_NS}}}category")
        channel(root).append(etree.fromstring(f'<x xmlns:itunes="{ITUNES_NS}">{category}</x>'.encode())[0])

    problems = validate_feed(edit(feed_bytes(files), replace), "feed.xml", files)
    assert [(p.rule, p.message) for p in problems] == [("channel-category", expected)]


def test_a_subcategory_is_written_under_its_category(files):
    info = dataclasses.replace(series(files), category="Science > Natural Sciences")
    root = etree.fromstring(render_feed(info, [], URL, None))
    category = channel(root).find(f"{{{ITUNES_NS}}}category")
    assert category.get("text") == "Science" and category[0].get("text") == "Natural Sciences"


def test_a_category_apple_does_not_know_is_refused_before_the_feed_library_sees_it(files):
    info = dataclasses.replace(series(files), category='Tech"nology')
    with pytest.raises(ConfigError, match=r"`category` 'Tech\"nology' is not one of Apple's categories"):
        render_feed(info, [], URL, None)


def test_apple_categories_agree_with_the_namespace_list():
    """Apple's 19 categories and 110 names in all; the Podcast Index's flat list splits Apple's
    names into words and adds five of its own."""
    import json

    from pipeline.publish.categories import APPLE_CATEGORIES

    index = {c["name"] for c in json.loads((NAMESPACE_DATA / "categories.json").read_text())["Categories"]}
    names = [*APPLE_CATEGORIES, *(child for children in APPLE_CATEGORIES.values() for child in children)]
    assert len(APPLE_CATEGORIES) == 19 and len(names) == len(set(names)) == 110
    words = {w for n in names for w in [n, n.replace(" ", "-"), *n.replace("&", " ").split()]}
    assert index - words == {"Climate", "Cryptocurrency", "Role-Playing", "Tabletop", "Weather"}
    assert all(n in index or n.replace(" ", "-") in index or any(w in index for w in n.split()) for n in names)


def test_a_palette_cover_is_not_rgb_artwork(files):
    xml = feed_bytes(files)
    write_cover(files, Image.new("RGB", (1400, 1400), (20, 30, 200)).quantize(colors=16))
    problems = validate_feed(xml, "feed.xml", files)
    assert [p.message for p in problems] == ["is a palette (indexed-colour) image; Apple requires RGB colour"]


@pytest.mark.parametrize("url, problem", [
    ("https://user:secret@cdn.example.org/show/01-alpha.mp3", "holds a user name or password"),
    ('https://cdn.example.org/show/"01-alpha.mp3', 'holds ", which a URL may not hold'),
])
def test_credentials_and_quotes_in_a_feed_url_are_named(files, url, problem):
    xml = edit(feed_bytes(files), lambda r: item(r, 1).find(f"{{{PODCAST_NS}}}transcript").set("url", url))
    problems = [p for p in validate_feed(xml, "feed.xml", None) if p.rule == "absolute-urls"]
    assert len(problems) == 1 and problem in problems[0].message


# -- real clients --------------------------------------------------------------------------------

def test_podcastparser_reads_the_feed_as_an_app_would(files):
    podcastparser = pytest.importorskip("podcastparser")
    parsed = podcastparser.parse(URL + "feed.xml", io.BytesIO(feed_bytes(files)))
    assert parsed["title"] == "Show: Tests" and parsed["type"] == "episodic"
    assert parsed["description"] == "A show. Narrated by an AI-generated synthetic voice."
    episodes = sorted(parsed["episodes"], key=lambda e: e["number"])
    assert [e["number"] for e in episodes] == [1, 2, 3]
    assert [e["total_time"] for e in episodes] == [91, 92, 93]
    assert [e["guid"] for e in episodes] == [f"urn:audio-overviews:show:{slug}" for slug in SLUGS]
    for number, episode in enumerate(episodes, start=1):
        [enclosure] = episode["enclosures"]
        mp3 = files / f"{number:02d}-{SLUGS[number - 1]}.mp3"
        assert enclosure["url"] == f"{URL}{mp3.name}?v={content_version(mp3)}"
        assert enclosure["file_size"] == mp3.stat().st_size and enclosure["mime_type"] == "audio/mpeg"
        assert episode["description"].endswith("Narrated by an AI-generated synthetic voice.")
        # podcastparser 0.6 maps podcast:* only under an old namespace URI (a GitHub page), not the
        # namespace's own https://podcastindex.org/namespace/1.0, so it reads no transcript here.


def test_feedparser_reads_owner_season_people_and_licence(files):
    feedparser = pytest.importorskip("feedparser")
    parsed = feedparser.parse(feed_bytes(files))
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.feed.publisher_detail == {"name": "Ann Owner", "email": "ann@example.org"}
    assert parsed.feed.tags[0]["term"] == "Technology"
    assert [e.itunes_season for e in parsed.entries] == ["2", "2", "2"]
    assert [e.itunes_duration for e in parsed.entries] == ["91", "92", "93"]
    root = etree.fromstring(feed_bytes(files))
    people = [(p.text, p.get("role"), p.get("href")) for p in channel(root).findall(f"{{{PODCAST_NS}}}person")]
    assert people == [("Ann Owner", "host", "https://example.org/ann"), ("Bob", "producer", None)]
    assert channel(root).find(f"{{{PODCAST_NS}}}locked").get("owner") == "ann@example.org"
    assert channel(root).findtext(f"{{{PODCAST_NS}}}license") == "CC-BY-4.0"
    assert item(root, 1).find(f"{{{PODCAST_NS}}}season").get("name") == "Tests"
