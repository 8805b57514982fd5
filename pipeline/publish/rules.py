"""Offline podcast-feed validation: RSS 2.0, Apple Podcasts' and Podcasting 2.0's rules, as data.

There is no offline podcast-feed validator on PyPI, so each rule is one entry of RULES: an id,
the scope it runs on (the document, the feed root, the channel, each item, the artwork), what it
checks, a message template, how to fix it, and a function that returns the fields of each failure
it finds. Every problem is one line naming the feed and the element, e.g.
`feed.xml: <item> 3 (03-qlora): enclosure length 123 differs from the file's 456 bytes; to fix: ...`.

Sources: the RSS 2.0 specification (rssboard.org), Apple Podcasts' "Podcast RSS feed
requirements" and category list, and the Podcasting 2.0 namespace (its tags/*.md and
podcast.xsd, as data in podcast_namespace.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from lxml import etree
from PIL import Image

from ..cover import artwork_colour_problem, open_image
from ..errors import ConfigError
from ..urls import url_problem
from .catalog import content_version
from .categories import APPLE_CATEGORIES, is_apple_category
from .feed import ITUNES_NS, PODCAST_NS
from .podcast_namespace import EMAIL_RE, check_podcast_elements
from .problems import ERROR, Problem

ATOM_NS = "http://www.w3.org/2005/Atom"
MAX_DESCRIPTION_BYTES = 4000
ARTWORK_PX = (1400, 3000)
ARTWORK_SUFFIXES = (".jpg", ".jpeg", ".png")
URL_FIELDS = (("link", None), (f"{{{ATOM_NS}}}link", "href"), ("image/url", None), ("image/link", None),
              (f"{{{ITUNES_NS}}}image", "href"), ("enclosure", "url"), (f"{{{PODCAST_NS}}}transcript", "url"),
              (f"{{{PODCAST_NS}}}person", "href"), (f"{{{PODCAST_NS}}}person", "img"),
              (f"{{{PODCAST_NS}}}license", "url"), (f"{{{PODCAST_NS}}}chapters", "url"),
              (f"{{{PODCAST_NS}}}trailer", "url"), (f"{{{PODCAST_NS}}}funding", "url"))
"""Where a channel or item holds a URL: child path, and attribute (None = the element's text)."""
PREFIXES = {ITUNES_NS: "itunes", PODCAST_NS: "podcast", ATOM_NS: "atom"}

Failures = list[dict[str, Any]]


@dataclass(frozen=True)
class Artwork:
    """The feed's cover as found beside it: file name and bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class Rule:
    """One check of a feed: where it runs, what it checks, how a failure reads and is fixed."""

    id: str
    scope: str
    """"document" (the bytes), "feed" (the <rss> root), "channel", "item" or "artwork"."""
    checks: str
    """What the rule checks, in a sentence (for the docs and the tests)."""
    message: str
    """A str.format template filled with each failure's fields."""
    fix: str
    """How to fix it (a template too: `{series}` is the series folder the feed is in)."""
    find: Callable[[Any, Path | None], Failures]
    """The failures in the scope's subject (bytes, element or Artwork), given the files' folder."""
    severity: str = ERROR


def _text(element: Any, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None else ""


def _required_text(path: str) -> Callable[[Any, Path | None], Failures]:
    return lambda element, files: [] if _text(element, path) else [{}]


def _not_well_formed(document: bytes, files: Path | None) -> Failures:
    try:
        etree.fromstring(document, _parser())
    except etree.XMLSyntaxError as exc:
        return [{"error": " ".join(str(exc).split())}]
    return []


def _parser() -> etree.XMLParser:
    """No entities resolved, nothing fetched: the feed is data, never instructions to the parser."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _rss_version(root: Any, files: Path | None) -> Failures:
    return [] if root.tag == "rss" and root.get("version") == "2.0" else [
        {"tag": root.tag, "version": root.get("version")}]


def _one_channel(root: Any, files: Path | None) -> Failures:
    count = len(root.findall("channel"))
    return [] if count == 1 else [{"count": count}]


def _unique_guids(root: Any, files: Path | None) -> Failures:
    positions: dict[str, list[int]] = {}
    for index, item in enumerate(root.findall("channel/item"), start=1):
        if _text(item, "guid"):
            positions.setdefault(_text(item, "guid"), []).append(index)
    return [{"guid": guid, "items": ", ".join(map(str, where))} for guid, where in positions.items() if len(where) > 1]


def _channel_image(channel: Any, files: Path | None) -> Failures:
    image = channel.find(f"{{{ITUNES_NS}}}image")
    href = (image.get("href") or "").strip() if image is not None else ""
    if not href:
        return [{"problem": "is missing"}]
    if url_problem(href):
        return [{"problem": f"href {href!r} is not an absolute http(s) URL"}]
    if not urlsplit(href).path.lower().endswith(ARTWORK_SUFFIXES):
        return [{"problem": f"href {href!r} does not end in .jpg, .jpeg or .png"}]
    return []


def _category(channel: Any, files: Path | None) -> Failures:
    categories = channel.findall(f"{{{ITUNES_NS}}}category")
    if not categories or not (categories[0].get("text") or "").strip():
        return [{"problem": "is missing (Apple requires a category)"}]
    failures = []
    for category in categories:
        parent = category.get("text") or ""
        subs = [sub.get("text") or "" for sub in category.findall(f"{{{ITUNES_NS}}}category")]
        if not is_apple_category(parent):
            failures.append({"problem": f"{parent!r} is not one of Apple's categories"})
        failures += [{"problem": f"{sub!r} is not one of Apple's subcategories of {parent}"}
                     for sub in subs if parent in APPLE_CATEGORIES and not is_apple_category(parent, sub)]
    return failures


def _explicit(channel: Any, files: Path | None) -> Failures:
    value = _text(channel, f"{{{ITUNES_NS}}}explicit")
    return [] if value in ("true", "false") else [{"value": value}]


def _owner(channel: Any, files: Path | None) -> Failures:
    owner = channel.find(f"{{{ITUNES_NS}}}owner")
    if owner is None:
        return []
    email = _text(owner, f"{{{ITUNES_NS}}}email")
    problems = [] if _text(owner, f"{{{ITUNES_NS}}}name") else [{"problem": "has no <itunes:name>"}]
    if not EMAIL_RE.match(email):
        problems.append({"problem": f"<itunes:email> {email!r} is not an email address"})
    return problems


def _podcast_guid(channel: Any, files: Path | None) -> Failures:
    return [] if channel.find(f"{{{PODCAST_NS}}}guid") is not None else [{}]


def _podcast_namespace(element: Any, files: Path | None) -> Failures:
    return [{"problem": problem} for problem in check_podcast_elements(element, etree.QName(element).localname)]


def _description_length(element: Any, files: Path | None) -> Failures:
    size = len(_text(element, "description").encode("utf-8"))
    return [{"size": size}] if size > MAX_DESCRIPTION_BYTES else []


def _absolute_urls(element: Any, files: Path | None) -> Failures:
    failures = []
    for path, attribute in URL_FIELDS:
        for found in element.findall(path):
            url = ((found.get(attribute) if attribute else found.text) or "").strip()
            problem = url_problem(url) if url else None
            if problem:
                name = etree.QName(found)
                shown = f"{PREFIXES[name.namespace]}:{name.localname}" if name.namespace in PREFIXES else path
                failures.append({"element": shown + (f" {attribute}" if attribute else ""), "url": url,
                                 "problem": problem})
    return failures


def _enclosure(item: Any, files: Path | None) -> Failures:
    enclosure = item.find("enclosure")
    if enclosure is None:
        return [{"problem": "is missing"}]
    problems = []
    if not (enclosure.get("url") or "").strip():
        problems.append("has no url")
    length = (enclosure.get("length") or "").strip()
    if not length.isdigit() or int(length) == 0:
        problems.append(f"length {length!r} is not a positive whole number of bytes")
    kind = (enclosure.get("type") or "").strip()
    if not re.fullmatch(r"(audio|video)/[\w.+-]+", kind):
        problems.append(f"type {kind!r} is not an audio or video MIME type")
    return [{"problem": problem} for problem in problems]


def _item_numbers(item: Any, files: Path | None) -> Failures:
    failures = []
    for name in ("episode", "season"):
        value = _text(item, f"{{{ITUNES_NS}}}{name}")
        if item.find(f"{{{ITUNES_NS}}}{name}") is not None and not re.fullmatch(r"0*[1-9][0-9]*", value):
            failures.append({"problem": f"<itunes:{name}> {value!r} is not a whole number of at least 1"})
    duration = item.find(f"{{{ITUNES_NS}}}duration")
    clock = r"[0-9]+|([0-9]+:)?[0-5]?[0-9]:[0-5][0-9]"
    if duration is not None and not re.fullmatch(clock, (duration.text or "").strip()):
        failures.append({"problem": f"<itunes:duration> {duration.text!r} is not whole seconds (or h:mm:ss)"})
    return failures


def _local_file(url: str, files: Path) -> Path | None:
    """The file a URL names, looked up by its last path segment in `files`; None if not there."""
    name = PurePosixPath(unquote(urlsplit(url.strip()).path)).name
    path = files / name
    return path if name and path.is_file() else None


def _enclosure_file(item: Any, files: Path | None) -> Failures:
    enclosure = item.find("enclosure")
    url = enclosure.get("url") if enclosure is not None else None
    if files is None or not url:
        return []
    path = _local_file(url, files)
    if path is None:
        return [{"problem": f"enclosure {PurePosixPath(urlsplit(url).path).name or url} is not in {files}"}]
    length, size = (enclosure.get("length") or "").strip(), path.stat().st_size
    if length == str(size):
        return []
    return [{"problem": f"enclosure length {length} differs from the file's {size} bytes"}]


def _enclosure_version(item: Any, files: Path | None) -> Failures:
    enclosure = item.find("enclosure")
    url = (enclosure.get("url") or "") if enclosure is not None else ""
    path = _local_file(url, files) if files is not None and url else None
    if path is None:
        return []
    given = parse_qs(urlsplit(url).query).get("v", [""])[0]
    actual = content_version(path)
    if given == actual:
        return []
    found = f"v={given}" if given else "no ?v= content version"
    return [{"problem": f"{found}, but {path.name} is v={actual}: apps that downloaded the old audio keep it"}]


def _transcript_files(item: Any, files: Path | None) -> Failures:
    if files is None:
        return []
    urls = [t.get("url") for t in item.findall(f"{{{PODCAST_NS}}}transcript") if t.get("url")]
    return [{"name": PurePosixPath(urlsplit(u).path).name or u, "folder": str(files)}
            for u in urls if _local_file(u, files) is None]


def _opened(artwork: Artwork) -> Image.Image | None:
    try:
        return open_image(artwork.data, Path(artwork.name))
    except ConfigError:
        return None


def _artwork_format(artwork: Artwork, files: Path | None) -> Failures:
    image = _opened(artwork)
    if image is None:
        return [{"problem": "is not a JPEG or PNG image"}]
    named = "PNG" if artwork.name.lower().endswith(".png") else "JPEG"
    return [] if image.format == named else [{"problem": f"holds a {image.format} image under a {named} name"}]


def _artwork_size(artwork: Artwork, files: Path | None) -> Failures:
    image = _opened(artwork)
    if image is None:
        return []
    low, high = ARTWORK_PX
    return [] if all(low <= side <= high for side in image.size) else [{"width": image.width, "height": image.height}]


def _artwork_square(artwork: Artwork, files: Path | None) -> Failures:
    image = _opened(artwork)
    return [{"width": image.width, "height": image.height}] if image is not None and image.width != image.height else []


def _artwork_colour(artwork: Artwork, files: Path | None) -> Failures:
    image = _opened(artwork)
    problem = artwork_colour_problem(image) if image is not None else None
    return [{"problem": problem}] if problem else []


REBUILD = "write the feed with `episodes build --base-url URL` or `episodes publish`, not by hand"
REPUBLISH = ("run `episodes build` (for out/) or `episodes publish` (for the site) again, so the feed and the files "
             "agree")
COVER = "set `cover:` in series.yaml to a square 1400-3000 px RGB JPEG or PNG, or run `episodes cover {series}`"

RULES: tuple[Rule, ...] = (
    Rule("well-formed", "document", "The feed is well-formed XML.",
         "is not well-formed XML ({error})", REBUILD, _not_well_formed),
    Rule("rss-version", "feed", "RSS 2.0: the root element is <rss version=\"2.0\">.",
         "the root element must be <rss version=\"2.0\"> (found <{tag}> version {version!r})", REBUILD, _rss_version),
    Rule("one-channel", "feed", "RSS 2.0: <rss> holds exactly one <channel>.",
         "<rss> must hold exactly one <channel> (found {count})", REBUILD, _one_channel),
    Rule("unique-guids", "feed", "Every item has its own <guid>.",
         "<guid> {guid!r} is shared by items {items}; each episode needs its own",
         "give each episode its own `slug:` (the guid is made from it)", _unique_guids),
    Rule("channel-title", "channel", "RSS 2.0 and Apple: the channel has a <title>.",
         "<title> is missing or empty", "set `title:` (and `album:`) in series.yaml", _required_text("title")),
    Rule("channel-link", "channel", "RSS 2.0: the channel has a <link>.",
         "<link> is missing or empty", "set `base_url:` in series.yaml or pass --base-url", _required_text("link")),
    Rule("channel-description", "channel", "RSS 2.0 and Apple: the channel has a <description>.",
         "<description> is missing or empty", "set `description:` in series.yaml", _required_text("description")),
    Rule("channel-language", "channel", "Apple: the channel has a <language>.",
         "<language> is missing or empty (Apple requires it)", "set `language:` in series.yaml (e.g. en)",
         _required_text("language")),
    Rule("channel-image", "channel", "Apple: <itunes:image href> is an absolute http(s) URL to a .jpg, .jpeg or .png.",
         "<itunes:image> {problem} (Apple requires an absolute http(s) URL to a .jpg, .jpeg or .png)", COVER,
         _channel_image),
    Rule("channel-category", "channel", "Apple: the channel's <itunes:category> (and subcategory) is on Apple's list.",
         "<itunes:category> {problem}",
         "set `category:` in series.yaml to one of Apple's categories, e.g. Technology or `Science > Physics`",
         _category),
    Rule("channel-explicit", "channel", "Apple: <itunes:explicit> is true or false.",
         "<itunes:explicit> is {value!r}; Apple accepts only true or false",
         "set `explicit: true` or `explicit: false` in series.yaml", _explicit),
    Rule("channel-owner", "channel", "Apple: <itunes:owner> has a name and an email address.",
         "<itunes:owner> {problem}", "set `owner:` with `name:` and `email:` in series.yaml", _owner),
    Rule("podcast-guid", "channel", "Podcasting 2.0: the channel has a <podcast:guid>.",
         "<podcast:guid> is missing", REBUILD, _podcast_guid),
    Rule("podcast-namespace", "channel item", "Podcasting 2.0: every podcast:* element stands where the namespace "
         "allows, as often as it allows, with the value and attributes it requires.",
         "{problem}", "correct the series.yaml field it comes from (owner, season, license, people) and publish again",
         _podcast_namespace),
    Rule("description-length", "channel item", "Apple: a <description> is at most 4000 bytes.",
         "<description> is {size} bytes; Apple allows at most 4000",
         "shorten `description:` in series.yaml or the episode's `summary:`", _description_length),
    Rule("absolute-urls", "channel item", "Every link, image, enclosure and transcript URL is absolute http(s), "
         "without credentials or characters a URL may not hold.",
         "<{element}> {url!r} {problem}", "set an absolute http(s) `base_url:` in series.yaml or pass --base-url",
         _absolute_urls),
    Rule("item-title", "item", "RSS 2.0 and Apple: every item has a <title>.",
         "<title> is missing or empty", "set `title:` in the episode script's front matter", _required_text("title")),
    Rule("item-enclosure", "item", "Apple: every item has an <enclosure> with url, length in bytes and an audio type.",
         "<enclosure> {problem}", REPUBLISH, _enclosure),
    Rule("item-guid", "item", "Apple: every item has a <guid>.",
         "<guid> is missing or empty", REBUILD, _required_text("guid")),
    Rule("item-numbers", "item", "Apple: <itunes:episode> and <itunes:season> are whole numbers from 1, "
         "<itunes:duration> whole seconds.",
         "{problem}", "set `episode:` in the script or `season:` in series.yaml to a whole number from 1",
         _item_numbers),
    Rule("enclosure-file", "item", "With the files at hand: the enclosure's file exists and its size is the length.",
         "{problem}", REPUBLISH, _enclosure_file),
    Rule("enclosure-version", "item", "With the files at hand: the enclosure URL's ?v= is the file's content "
         "version, so apps fetch corrected audio.",
         "<enclosure url> has {problem}", REPUBLISH, _enclosure_version),
    Rule("transcript-file", "item", "With the files at hand: every transcript file exists.",
         "transcript {name} is not in {folder}", REPUBLISH, _transcript_files),
    Rule("artwork-format", "artwork", "Apple: the artwork is a JPEG or PNG image, as its name says.",
         "{problem}", COVER, _artwork_format),
    Rule("artwork-size", "artwork", "Apple: the artwork is 1400 to 3000 px on each side.",
         "is {width}x{height} px; Apple requires 1400 to 3000 px", COVER, _artwork_size),
    Rule("artwork-square", "artwork", "Apple: the artwork is square.",
         "is {width}x{height} px; artwork must be square", COVER, _artwork_square),
    Rule("artwork-colour", "artwork", "Apple: the artwork is in the RGB colour space (no palette, alpha channel, "
         "CMYK or grey).",
         "{problem}; Apple requires RGB colour", COVER, _artwork_colour),
)


def _apply(scope: str, subject: Any, where: str, feed_name: str, files_dir: Path | None) -> list[Problem]:
    series = PurePosixPath(feed_name).parent.name or "SERIES"
    return [Problem(feed_name, rule.id, where, rule.message.format(**fields), rule.fix.format(series=series),
                    rule.severity)
            for rule in RULES if scope in rule.scope.split() for fields in rule.find(subject, files_dir)]


def _item_label(index: int, item: Any) -> str:
    """`<item> 3 (03-qlora)`: position in the feed and the enclosure's file stem (or the title)."""
    enclosure = item.find("enclosure")
    url = enclosure.get("url") if enclosure is not None else None
    name = PurePosixPath(urlsplit(url).path).stem if url else _text(item, "title")
    return f"<item> {index}" + (f" ({name})" if name else "")


def _artwork(channel: Any, files_dir: Path | None) -> Artwork | None:
    """The cover the channel's itunes:image names, if it is in `files_dir`."""
    image = channel.find(f"{{{ITUNES_NS}}}image")
    href = image.get("href") if image is not None else None
    path = _local_file(href, files_dir) if href and files_dir is not None else None
    return Artwork(path.name, path.read_bytes()) if path is not None else None


def validate_feed(feed_xml: bytes, feed_name: str, files_dir: Path | None) -> list[Problem]:
    """Every rule broken by the feed, in document order; empty when it passes.

    With `files_dir` (the folder the feed's files are published from), enclosures, their content
    versions, transcripts and the artwork are also checked against the files themselves.
    `feed_name` names the feed in each problem ("fine-tuning/feed.xml": its folder is taken as
    the series' name in fixes). Warnings (Problem.severity) do not fail a check.
    """
    problems = _apply("document", feed_xml, "<rss>", feed_name, files_dir)
    if problems:
        return problems
    root = etree.fromstring(feed_xml, _parser())
    problems = _apply("feed", root, f"<{root.tag}>", feed_name, files_dir)
    channels = root.findall("channel")
    if root.tag != "rss" or len(channels) != 1:
        return problems
    channel = channels[0]
    problems += _apply("channel", channel, "<channel>", feed_name, files_dir)
    for index, item in enumerate(channel.findall("item"), start=1):
        problems += _apply("item", item, _item_label(index, item), feed_name, files_dir)
    artwork = _artwork(channel, files_dir)
    if artwork is not None:
        problems += _apply("artwork", artwork, f"artwork {artwork.name}", feed_name, files_dir)
    return problems
