"""The Podcasting 2.0 namespace's rules, as data: for each `podcast:*` tag a producer's feed may
hold, where it may stand, how often, what its value and attributes must be.

Written from the namespace's own prose spec (tags/*.md) and schema (podcast.xsd); where they
disagree the prose wins (the schema requires `name` on <podcast:season> and `owner` on
<podcast:locked>, the spec calls both optional; the feed writer always writes both, so the feed
passes either). `check_podcast_element` gives one failure per broken rule; rules.py reports them.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from typing import Any

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
EMAIL_RE = re.compile(r"^[^@\s<>\"'(),;:]+@[^@\s<>\"'(),;:]+\.[^@\s<>\"'(),;:.]+$")
LANGUAGE_RE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
TRANSCRIPT_TYPES = ("text/plain", "text/html", "text/vtt", "application/json", "application/x-subrip",
                    "application/srt")
MEDIUMS = ("podcast", "music", "video", "film", "audiobook", "newsletter", "blog", "publisher", "course")
KNOWN_LICENSES = frozenset(name.casefold() for name in (
    # licenseslugs.txt in the namespace's repository, and the other Creative Commons 4.0 licences.
    "ARR", "CC-BY-4.0", "CC-BY-NC-4.0", "CC-BY-NC-ND-4.0", "POD-V4V-1.0",
    "CC0-1.0", "CC-BY-SA-4.0", "CC-BY-ND-4.0", "CC-BY-NC-SA-4.0"))
"""Licence identifiers a feed may give without a `url` (any other licence needs one)."""


@dataclass(frozen=True)
class Attribute:
    """One attribute of a tag: whether it must be there, and what its value must be."""

    name: str
    kind: str
    """A key of VALUE_CHECKS."""
    required: bool = False


@dataclass(frozen=True)
class Tag:
    """One `podcast:*` tag: parents, count, node value and attributes."""

    name: str
    parents: tuple[str, ...]
    """"channel" and/or "item"."""
    multiple: bool
    """Whether a parent may hold more than one."""
    value: str
    """What the node value must be: a key of VALUE_CHECKS."""
    attributes: tuple[Attribute, ...] = ()


def _text(limit: int, required: bool = True):
    def check(value: str) -> str | None:
        if required and not value.strip():
            return "is empty"
        return f"is {len(value)} characters; the namespace allows at most {limit}" if len(value) > limit else None
    return check


def _number(pattern: str, what: str):
    def check(value: str) -> str | None:
        return None if re.fullmatch(pattern, value.strip()) else f"{value!r} is not {what}"
    return check


def _one_of(*choices: str):
    def check(value: str) -> str | None:
        return None if value.strip() in choices else f"{value!r} is not one of {', '.join(choices)}"
    return check


def _url(value: str) -> str | None:
    """Present: whether it is a usable absolute URL is the feed rules' `absolute-urls` check."""
    return None if value.strip() else "is empty"


def _rfc2822(value: str) -> str | None:
    try:
        email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return f"{value!r} is not an RFC 2822 date"
    return None


VALUE_CHECKS: dict[str, Any] = {
    "empty": lambda value: None if not value.strip() else "must be empty (the tag's data is in its attributes)",
    "uuid": lambda value: None if UUID_RE.match(value.strip()) else f"{value.strip()!r} is not a UUID",
    "integer": _number(r"[0-9]+", "a whole number"),
    "positive integer": _number(r"0*[1-9][0-9]*", "a whole number of at least 1"),
    "decimal": _number(r"[0-9]+(\.[0-9]+)?", "a decimal number"),
    "yes/no": _one_of("yes", "no"),
    "name": _text(128),
    "optional name": _text(128, required=False),
    "display": _text(32, required=False),
    "free text": _text(4000, required=False),
    "url": _url,
    "email": lambda value: None if EMAIL_RE.match(value.strip()) else f"{value!r} is not an email address",
    "language": lambda value: None if LANGUAGE_RE.match(value.strip()) else f"{value!r} is not a language code",
    "transcript type": _one_of(*TRANSCRIPT_TYPES),
    "captions": _one_of("captions"),
    "chapters type": _one_of("application/json+chapters", "application/json"),
    "mime": _number(r"[\w.+-]+/[\w.+-]+", "a MIME type"),
    "medium": _one_of(*MEDIUMS, *(m + "L" for m in MEDIUMS), "mixed"),
    "date": _rfc2822,
}

TAGS: dict[str, Tag] = {tag.name: tag for tag in (
    Tag("guid", ("channel",), False, "uuid"),
    Tag("locked", ("channel",), False, "yes/no", (Attribute("owner", "email"),)),
    Tag("license", ("channel", "item"), False, "name", (Attribute("url", "url"),)),
    Tag("person", ("channel", "item"), True, "name",
        (Attribute("role", "name"), Attribute("group", "name"), Attribute("img", "url"), Attribute("href", "url"))),
    Tag("season", ("item",), False, "positive integer", (Attribute("name", "name"),)),
    Tag("episode", ("item",), False, "decimal", (Attribute("display", "display"),)),
    Tag("transcript", ("item",), True, "empty",
        (Attribute("url", "url", True), Attribute("type", "transcript type", True), Attribute("language", "language"),
         Attribute("rel", "captions"))),
    Tag("chapters", ("item",), False, "empty",
        (Attribute("url", "url", True), Attribute("type", "chapters type", True))),
    Tag("txt", ("channel", "item"), True, "free text", (Attribute("purpose", "name"),)),
    Tag("trailer", ("channel",), True, "name",
        (Attribute("url", "url", True), Attribute("pubdate", "date", True), Attribute("length", "integer"),
         Attribute("type", "mime"), Attribute("season", "positive integer"))),
    Tag("medium", ("channel",), False, "medium"),
    Tag("funding", ("channel",), True, "optional name", (Attribute("url", "url", True),)),
)}
"""The tags this check knows, from the namespace's tags/*.md and podcast.xsd."""


def check_podcast_elements(parent: Any, parent_name: str) -> list[str]:
    """Every broken namespace rule among the `podcast:*` children of `parent` (a <channel> or an
    <item>), one sentence each, naming the element."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for element in parent:
        if not isinstance(element.tag, str) or not element.tag.startswith(f"{{{PODCAST_NS}}}"):
            continue
        name = element.tag.split("}", 1)[1]
        seen[name] = seen.get(name, 0) + 1
        tag = TAGS.get(name)
        shown = f"<podcast:{name}>"
        if tag is None:
            problems.append(f"{shown} is not a Podcasting 2.0 tag this check knows ({', '.join(sorted(TAGS))})")
            continue
        if parent_name not in tag.parents:
            places = ", ".join(f"<{p}>" for p in tag.parents)
            problems.append(f"{shown} may not stand in <{parent_name}> (only in {places})")
            continue
        problem = VALUE_CHECKS[tag.value](element.text or "")
        if problem:
            problems.append(f"{shown} value {problem}")
        known = {a.name for a in tag.attributes}
        for attribute in tag.attributes:
            value = element.get(attribute.name)
            if value is None:
                if attribute.required:
                    problems.append(f"{shown} has no {attribute.name}= (required)")
                continue
            problem = VALUE_CHECKS[attribute.kind](value)
            if problem:
                problems.append(f"{shown} {attribute.name}= {problem}")
        problems += [f"{shown} has an attribute the namespace does not define: {extra}="
                     for extra in sorted(set(element.attrib) - known)]
        if name == "license" and element.get("url") is None and (element.text or "").strip().casefold() \
                not in KNOWN_LICENSES:
            problems.append(f"{shown} {(element.text or '').strip()!r} is not a well-known licence, so it needs url=")
    problems += [f"<podcast:{name}> appears {count} times; the namespace allows one per <{parent_name}>"
                 for name, count in seen.items() if name in TAGS and not TAGS[name].multiple and count > 1]
    return problems
