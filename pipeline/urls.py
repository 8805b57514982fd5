"""Public URLs a producer gives (--base-url, series.yaml's base_url): checked once, the same way
everywhere, and cheap to import (series files are read on every command)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError


def is_absolute_http_url(url: str) -> bool:
    """Whether `url` is an absolute http(s) URL with a host (no spaces or control characters)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return (parts.scheme in ("http", "https") and bool(host)
            and not any(c.isspace() or ord(c) < 32 for c in url))


def check_base_url(url: str, source: str, path: Path | None = None, line: int | None = None) -> str:
    """The URL without trailing slashes, if it is an absolute http(s) URL with a host and no
    query or fragment (files are addressed under it); else a ConfigError naming `source`
    (e.g. "--base-url", or "base_url" with series.yaml as `path` and its `line`)."""
    text = url.strip()
    if not is_absolute_http_url(text) or urlsplit(text).query or urlsplit(text).fragment:
        raise ConfigError(f"{source} must be an absolute http(s) URL, such as https://example.org/podcast "
                          f"(got {url!r})", path, line)
    return text.rstrip("/")
