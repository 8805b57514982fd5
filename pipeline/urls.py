"""Public URLs a producer gives (--base-url, series.yaml's base_url, a person's page, a license):
checked once, the same way everywhere, and cheap to import (series files are read on every
command).

A URL is written into every feed URL and page, so what would break XML, HTML or a listener's
privacy is refused with the file and line: quotes, angle brackets and other characters URLs may
not hold, and a `user:password@` part (it would publish the credentials in every enclosure URL).
Non-ASCII is encoded, as browsers do: the host in IDNA (punycode), the path percent-encoded.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from .errors import ConfigError

REFUSED_CHARACTERS = "\"'<>`{}|\\^"
"""Characters a URL may not hold unencoded (RFC 3986) that break markup where the URL is written."""
_PATH_SAFE = "/%:@!$&()*+,;=-._~"
"""What stays as written when a path is encoded: its delimiters and existing %XX escapes."""


def url_problem(url: str) -> str | None:
    """Why `url` is not a usable absolute http(s) URL, or None (non-ASCII is not a problem here:
    `normalized_url` encodes it)."""
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        return "holds spaces or control characters"
    refused = sorted({c for c in url if c in REFUSED_CHARACTERS})
    if refused:
        return f"holds {' '.join(refused)}, which a URL may not hold (percent-encode them)"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError:
        return "is not a well-formed URL"
    if parts.scheme not in ("http", "https") or not host:
        return "is not http(s) with a host name"
    if parts.username is not None or parts.password is not None:
        return "holds a user name or password (user:password@): they would be published in every URL"
    return None


def normalized_url(url: str) -> str:
    """`url` with a non-ASCII host in IDNA and a non-ASCII path, query or fragment percent-encoded
    (UTF-8); ValueError when the host cannot be encoded."""
    if url.isascii():
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"host {host!r} cannot be written in IDNA") from None
    netloc = ascii_host + (f":{parts.port}" if parts.port is not None else "")
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=_PATH_SAFE),
                       quote(parts.query, safe=_PATH_SAFE + "?"), quote(parts.fragment, safe=_PATH_SAFE + "?")))


def check_url(url: str, source: str, path: Path | None = None, line: int | None = None) -> str:
    """An absolute http(s) URL as it will be written (non-ASCII encoded), or a ConfigError naming
    `source` and saying what is wrong."""
    text = url.strip()
    problem = url_problem(text)
    if problem is None:
        try:
            text = normalized_url(text)
        except ValueError as exc:
            problem = str(exc)
    if problem is not None:
        raise ConfigError(f"{source} must be an absolute http(s) URL, such as https://example.org/podcast, "
                          f"but it {problem} (got {url!r})", path, line)
    return text


def check_base_url(url: str, source: str, path: Path | None = None, line: int | None = None) -> str:
    """A base URL without trailing slashes (files are addressed under it): an absolute http(s)
    URL with a host and no query or fragment; else a ConfigError naming `source` (e.g.
    "--base-url", or "base_url" with series.yaml as `path` and its `line`)."""
    text = check_url(url, source, path, line)
    parts = urlsplit(text)
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ConfigError(f"{source} must be an absolute http(s) URL without a query or fragment, such as "
                          f"https://example.org/podcast (got {url!r})", path, line)
    return text.rstrip("/")
