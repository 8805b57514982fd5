"""Checks of what a series publishes beyond the feed's syntax: Apple's metadata guidelines, the
disclosure of a synthetic voice wherever the episode is described, and a feed that should exist.

Apple asks for clean metadata ("Optimize your show's metadata"): no episode numbers in titles
(they go in `itunes:episode`), a description that says something (not the title or the author
again, not a host's placeholder), within its limits; and its content guidelines ask for AI use
to be disclosed in each episode's or show's metadata. Each problem names series.yaml or the
episode script and the line, and says how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from ..disclosure import is_synthetic, with_disclosure
from ..script import Episode
from ..settings import Series
from .problems import ERROR, WARNING, Problem

MAX_DESCRIPTION_BYTES = 4000
"""Apple's limit for a show's or an episode's description."""
MAX_TITLE_CHARACTERS = 255
"""Longer titles are cut short in apps and directories."""
PLACEHOLDER_RE = re.compile(
    r"lorem ipsum|\b(todo|tbd|fixme|placeholder|untitled)\b|\bx{3,}\b|goes here|\binsert (a |an |the |your )?"
    r"(title|description|summary|name)\b|new podcast weblog|^\s*podcast by\b|\[(title|description|summary|name)\]",
    re.IGNORECASE)
"""Text hosts and templates leave behind ("Description goes here", "Podcast by ...", "TODO")."""
NUMBERED_RE = re.compile(r"\b(episode|ep\.?)\s*#?\d+|#\d+\b|\bS\d+\s*E\d+\b", re.IGNORECASE)
"""An episode number written into a title: "Episode 3", "Ep. 3", "#3", "S1E3"."""


def _same(a: str, b: str) -> bool:
    """Equal once case, punctuation and spacing are set aside."""
    def fold(text: str) -> str:
        return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())
    return bool(fold(a)) and fold(a) == fold(b)


def _numbered(title: str, number: int | None) -> bool:
    """Whether the title carries an episode number: "Episode 3: ...", "#3", or its own number
    in front ("03 Broken Heirloom", "3. Broken Heirloom")."""
    if NUMBERED_RE.search(title):
        return True
    leading = re.match(r"\s*(\d{1,4})(?:\s*[.:)|\u2013\u2014-]\s|\s)", title)
    return number is not None and leading is not None and int(leading.group(1)) == number


def apple_lint(series: Series, episodes: list[Episode],
               synthetic: Callable[[Episode], bool] = is_synthetic) -> list[Problem]:
    """Apple's metadata guidelines on the series and its episodes' scripts; errors (placeholder
    text, a description that repeats the title or author or is too long) and warnings (episode
    numbers in titles, a long title, no `owner:`, `disclosure: false`)."""
    config = str(series.config_path)

    def at_series(rule: str, key: str, message: str, fix: str, severity: str = ERROR) -> Problem:
        return Problem(config, rule, "", message, fix, severity, series.lines.get(key))

    problems: list[Problem] = []
    if series.owner is None:
        problems.append(at_series("owner-missing", "title", "no `owner:`: Apple uses the owner's email to verify "
                                  "that the show is yours", "add `owner:` with `name:` and `email:`", WARNING))
    if series.disclosure is None and any(synthetic(e) for e in episodes):
        problems.append(at_series("disclosure-off", "disclosure", "`disclosure: false`: the synthetic voice of "
                                  f"{sum(map(synthetic, episodes))} episodes is not disclosed, which Apple's content "
                                  "guidelines and RSS.com require", "remove `disclosure: false` (or give the "
                                  "sentence to use)", WARNING))
    for key in ("title", "album", "author", "description"):
        value = getattr(series, key)
        if PLACEHOLDER_RE.search(value):
            problems.append(at_series("placeholder", key, f"`{key}` holds placeholder text: {value!r}",
                                      f"write the show's real {key}"))
    for key in ("title", "album"):
        if NUMBERED_RE.search(getattr(series, key)):
            problems.append(at_series("title-number", key, f"`{key}` holds an episode number: {getattr(series, key)!r}",
                                      "keep numbers out of titles (the feed gives each episode's number)", WARNING))
    description = series.description
    if not description.strip():
        problems.append(at_series("description-repeats", "title", "no `description:`: the feed would describe the "
                                  "show by its title", "write a `description:` of the show in a sentence or two"))
    elif any(_same(description, text) for text in (series.title, series.album, series.author,
                                                   f"{series.title} by {series.author}")):
        problems.append(at_series("description-repeats", "description", "`description` only repeats the show's "
                                  "title or author", "describe what the show is about"))
    size = len(with_disclosure(description, series.disclosure).encode("utf-8"))
    if size > MAX_DESCRIPTION_BYTES:
        problems.append(at_series("description-length", "description", f"`description` (with the disclosure) is "
                                  f"{size} bytes; Apple allows at most {MAX_DESCRIPTION_BYTES}", "shorten it"))
    for episode in episodes:
        problems += _episode_lint(series, episode, synthetic(episode))
    return problems


def _episode_lint(series: Series, episode: Episode, synthetic: bool) -> list[Problem]:
    def at(rule: str, key: str, message: str, fix: str, severity: str = ERROR) -> Problem:
        return Problem(str(episode.path), rule, "", message, fix, severity, episode.field_lines.get(key))

    problems = []
    if _numbered(episode.title, episode.number):
        problems.append(at("title-number", "title", f"the title holds an episode number: {episode.title!r}",
                           "remove the number from `title:` (the feed gives it as `itunes:episode`)", WARNING))
    if len(episode.title) > MAX_TITLE_CHARACTERS:
        problems.append(at("title-length", "title", f"the title is {len(episode.title)} characters; apps cut titles "
                           f"longer than {MAX_TITLE_CHARACTERS}", "shorten `title:`", WARNING))
    for key, value in (("title", episode.title), ("summary", episode.summary)):
        if PLACEHOLDER_RE.search(value):
            problems.append(at("placeholder", key, f"`{key}` holds placeholder text: {value!r}",
                               f"write the episode's real {key}"))
    if not episode.summary.strip():
        problems.append(at("description-repeats", "title", "no `summary:`: the feed would describe the episode by "
                           "its title", "write a `summary:` of the episode in a sentence"))
    elif _same(episode.summary, episode.title) or _same(episode.summary, series.author):
        problems.append(at("description-repeats", "summary", "`summary` only repeats the title or the author",
                           "say what the episode is about"))
    size = len(with_disclosure(episode.summary, series.disclosure if synthetic else None).encode("utf-8"))
    if size > MAX_DESCRIPTION_BYTES:
        problems.append(at("description-length", "summary", f"the description is {size} bytes; Apple allows at most "
                           f"{MAX_DESCRIPTION_BYTES}", "shorten `summary:`"))
    return problems


def missing_feed(series: Series, folder: Path, base_url: str | None) -> list[Problem]:
    """An error when a base URL is known (given, or series.yaml's) but `folder` has no feed.xml."""
    if not (base_url or series.base_url) or (folder / "feed.xml").is_file():
        return []
    return [Problem(f"{folder.name}/feed.xml", "feed-missing", "", "no feed, although the series has a base URL",
                    "run `episodes build` (or `episodes publish`) to write it")]


def _comment(mp3: Path) -> str | None:
    """The ID3 comment (COMM) text of an MP3; None when it has no readable tag."""
    from mutagen import MutagenError
    from mutagen.id3 import ID3

    try:
        frames = ID3(mp3).getall("COMM")
    except (MutagenError, OSError):
        return None
    return " ".join(str(text) for frame in frames for text in frame.text)


def _page_texts(page: Path) -> tuple[str, dict[str, str]] | None:
    """A page's text outside its episodes' articles, and each article's text by its id."""
    import lxml.html

    try:
        root = lxml.html.fromstring(page.read_bytes())
    except (OSError, ValueError):
        return None
    meta = " ".join(m.get("content") or "" for m in root.iter("meta") if m.get("name") == "description")
    articles = {}
    for element in root.xpath("//*[starts-with(@id, 'episode-')]"):
        articles[element.get("id")] = " ".join(element.text_content().split())
        element.getparent().remove(element)
    return " ".join((meta + " " + root.text_content()).split()), articles


def _feed_texts(feed: Path) -> tuple[str, dict[str, str]] | None:
    """A feed's channel description, and each item's description by its enclosure's file stem."""
    from lxml import etree

    from .rules import _parser

    try:
        channel = etree.fromstring(feed.read_bytes(), _parser()).find("channel")
    except (OSError, etree.XMLSyntaxError):
        return None
    if channel is None:
        return None
    items = {}
    for item in channel.findall("item"):
        enclosure = item.find("enclosure")
        url = enclosure.get("url", "") if enclosure is not None else ""
        items[Path(url.split("?")[0]).stem] = item.findtext("description") or ""
    return channel.findtext("description") or "", items


def disclosure_problems(series: Series, synthetic: Mapping[str, bool], folder: Path) -> list[Problem]:
    """Whether each synthetic episode in `folder` (out/<series>/ or a published site's series
    folder) is disclosed in the words of `series.disclosure`: its ID3 comment, its item's and the
    channel's description in feed.xml, and its entry and the show's text on index.html (each
    checked where the file is there). `synthetic` maps each built episode's stem (`01-sft`) to
    whether a voice engine spoke it. With `disclosure: false`, one warning instead."""
    spoken = sorted(stem for stem, is_spoken in synthetic.items() if is_spoken)
    if not spoken:
        return []
    if series.disclosure is None:
        return [Problem(str(series.config_path), "disclosure-off", "", f"`disclosure: false`: {len(spoken)} episodes "
                        "with a synthetic voice are not disclosed", "remove `disclosure: false`", WARNING,
                        series.lines.get("disclosure"))]
    text = " ".join(series.disclosure.split())
    fix = "run `episodes build` (and `episodes publish` for the site): they write the disclosure"
    problems: list[Problem] = []

    def lacks(file: str, element: str, what: str) -> None:
        problems.append(Problem(file, "disclosure", element, f"{what} does not disclose the synthetic voice "
                                f"({text!r})", fix))

    for stem in spoken:
        mp3 = folder / f"{stem}.mp3"
        if mp3.is_file() and text not in " ".join((_comment(mp3) or "").split()):
            lacks(f"{folder.name}/{mp3.name}", "ID3 COMM", "the comment tag")
    feed = _feed_texts(folder / "feed.xml") if (folder / "feed.xml").is_file() else None
    if feed is not None:
        channel, items = feed
        if text not in " ".join(channel.split()):
            lacks(f"{folder.name}/feed.xml", "<channel>", "the show's <description>")
        for stem in spoken:
            if stem in items and text not in " ".join(items[stem].split()):
                lacks(f"{folder.name}/feed.xml", f"<item> ({stem})", "the episode's <description>")
    page = _page_texts(folder / "index.html") if (folder / "index.html").is_file() else None
    if page is not None:
        show, articles = page
        if text not in show:
            lacks(f"{folder.name}/index.html", "", "the page's description of the show")
        for stem in spoken:
            article = articles.get(f"episode-{stem}")
            if article is not None and text not in article:
                lacks(f"{folder.name}/index.html", f"#episode-{stem}", "the episode's entry")
    return problems
