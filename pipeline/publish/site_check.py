"""Offline checks of a published site as a listener's browser and a podcast app would meet it:
no bookkeeping or staging files, every page with a language, title, description and icon, every
local link and player source there, valid `<time>` values, each feed valid against its files,
and one clock (a page shows the length its feed gives).

The same checks serve out/<series>/ (the review page and the build's feed) and any folder
`episodes publish` wrote. A full HTML and accessibility audit (the W3C checker, axe) needs Java
and a browser, so the tests run those; these checks are the part `episodes check` can run
anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

from .catalog import content_version
from .problems import Problem
from .rules import validate_feed

LINKING = (("a", "href"), ("link", "href"), ("img", "src"), ("audio", "src"), ("source", "src"), ("script", "src"))
DATE_RE = r"\d{4}-\d{2}-\d{2}"
TIME_VALUE_RE = re.compile(rf"^({DATE_RE}(T\d{{2}}:\d{{2}}(:\d{{2}}(\.\d+)?)?(Z|[+-]\d{{2}}:\d{{2}})?)?"
                           r"|\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                           r"|P(\d+D)?(T(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?)$")
"""What HTML accepts in a `<time>`'s datetime (or its text, without one): a date, a date and time,
a time, or a duration (`PT85S`); a subset that covers what the product writes."""
REPUBLISH = "run `episodes publish` again (or `episodes build` for out/)"


def validate_site(site_dir: Path) -> list[Problem]:
    """Every problem in the site folder `site_dir` (or a series' out/ folder): files that do not
    belong, each HTML page, each feed.xml against the files beside it, and durations."""
    problems: list[Problem] = []
    for path in sorted(site_dir.rglob(".*")):
        if path.name == ".build.lock":
            continue
        problems.append(Problem(_name(path, site_dir), "site-bookkeeping", "", "a hidden file or folder is "
                                "published with the site", "delete it: `episodes publish` keeps its records in "
                                "out/.sites/ and stages nothing in the site"))
    for page in sorted(site_dir.rglob("*.html")):
        if not any(part.startswith(".") for part in page.relative_to(site_dir).parts):
            problems += check_page(page, site_dir)
    for feed in sorted(site_dir.rglob("feed.xml")):
        if any(part.startswith(".") for part in feed.relative_to(site_dir).parts):
            continue
        problems += validate_feed(feed.read_bytes(), _name(feed, site_dir.parent), feed.parent)
        page = feed.parent / "index.html"
        if page.is_file():
            problems += durations_agree(page, feed, site_dir)
    return problems


def _name(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def check_page(page: Path, site_dir: Path) -> list[Problem]:
    """One page: language, title, description, icon, local links and sources, `<time>` values."""
    import lxml.html

    name = _name(page, site_dir.parent)
    try:
        root = lxml.html.fromstring(page.read_bytes())
    except (OSError, ValueError) as exc:
        return [Problem(name, "page-html", "", f"cannot be read as HTML ({exc})", REPUBLISH)]
    problems: list[Problem] = []

    def problem(rule: str, element: str, message: str, fix: str = REPUBLISH) -> None:
        problems.append(Problem(name, rule, element, message, fix))

    if not (root.get("lang") or "").strip():
        problem("page-lang", "<html>", "has no lang=", "set `language:` in series.yaml and publish again")
    if not (root.findtext(".//title") or "").strip():
        problem("page-title", "<head>", "has no <title>")
    descriptions = [m.get("content") or "" for m in root.iter("meta") if (m.get("name") or "").lower() == "description"]
    if not any(d.strip() for d in descriptions):
        problem("page-description", "<head>", "has no <meta name=\"description\"> (search results show it)")
    icons = [link.get("href") or "" for link in root.iter("link") if "icon" in (link.get("rel") or "").lower().split()]
    if not icons:
        problem("page-icon", "<head>", "has no icon (<link rel=\"icon\">): browsers ask for /favicon.ico and get a 404")
    ids = {element.get("id") for element in root.iter() if isinstance(element.tag, str) and element.get("id")}
    for tag, attribute in LINKING:
        for element in root.iter(tag):
            url = (element.get(attribute) or "").strip()
            if url:
                missing = _missing_target(url, page, site_dir, ids)
                if missing:
                    problem("page-link", f"<{tag} {attribute}=\"{url}\">", missing)
    for element in root.iter("time"):
        value = element.get("datetime")
        shown = value if value is not None else element.text_content().strip()
        if not TIME_VALUE_RE.match(shown or ""):
            where = "datetime" if value is not None else "text (and no datetime=)"
            problem("page-time", f"<time>{element.text_content().strip()}</time>",
                    f"its {where} {shown!r} is not a date, time or duration HTML accepts")
    for element in root.iter("audio"):
        url = element.get("src") or ""
        query = parse_qs(urlsplit(url).query).get("v")
        target = _local(url, page)
        if query and target is not None and target.is_file() and query[0] != content_version(target):
            problem("page-version", f"<audio src=\"{url}\">", f"?v={query[0]} is not the content version of "
                    f"{target.name} ({content_version(target)})")
    return problems


def _local(url: str, page: Path) -> Path | None:
    """The file a relative URL on `page` names (query and fragment dropped); None for other schemes."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None
    path = unquote(parts.path)
    return page if not path else (page.parent / PurePosixPath(path)).resolve()


def _missing_target(url: str, page: Path, site_dir: Path, ids: set[str | None]) -> str | None:
    """Why a link on the page leads nowhere, or None: a relative file that is not there or lies
    outside the site, a fragment naming no element, or an address off the site."""
    parts = urlsplit(url)
    if parts.scheme == "data":
        return None
    if parts.scheme or parts.netloc:
        return f"leads off the site ({parts.scheme or 'network'}): pages link only to files beside them"
    target = _local(url, page)
    assert target is not None
    if not target.is_relative_to(site_dir.resolve()):
        return "leads outside the site folder"
    if not target.is_file():
        return f"names {target.relative_to(site_dir.resolve()).as_posix()}, which is not there"
    if parts.fragment and target == page.resolve() and parts.fragment not in ids:
        return f"names #{parts.fragment}, which no element of the page has"
    return None


def durations_agree(page: Path, feed: Path, site_dir: Path) -> list[Problem]:
    """One clock: each episode's length on the page (`<time class="duration" datetime="PT85S">`)
    is the feed's `itunes:duration` for the same MP3."""
    import lxml.html
    from lxml import etree

    from .feed import ITUNES_NS
    from .rules import _parser

    try:
        channel = etree.fromstring(feed.read_bytes(), _parser()).find("channel")
        root = lxml.html.fromstring(page.read_bytes())
    except (OSError, ValueError, etree.XMLSyntaxError):
        return []
    in_feed = {}
    for item in channel.findall("item") if channel is not None else []:
        enclosure = item.find("enclosure")
        if enclosure is not None:
            in_feed[PurePosixPath(urlsplit(enclosure.get("url", "")).path).stem] = (
                item.findtext(f"{{{ITUNES_NS}}}duration") or "").strip()
    problems = []
    for element in root.xpath("//*[starts-with(@id, 'episode-')]"):
        stem = element.get("id").removeprefix("episode-")
        times = element.xpath(".//time[contains(concat(' ', @class, ' '), ' duration ')]/@datetime")
        if stem in in_feed and times:
            shown = re.fullmatch(r"PT(\d+)S", times[0])
            if shown is None or shown.group(1) != in_feed[stem]:
                problems.append(Problem(_name(page, site_dir.parent), "durations-agree", f"#{element.get('id')}",
                                        f"the page gives {times[0]}, the feed {in_feed[stem]!r} seconds",
                                        REPUBLISH))
    return problems
