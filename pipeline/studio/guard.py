"""Who may talk to the studio, checked on every request before any route sees it (Jupyter's rules).

- The Host header must name the loopback address, localhost, or the address `--host` gave: a page
  on another site whose name was made to resolve to 127.0.0.1 (DNS rebinding) is refused.
- A random token, made at each start, must come with the request: in the address the studio
  printed (`?token=`), which also sets a cookie (HttpOnly, SameSite=Strict) that the page's own
  requests (fetches, audio) then carry.
- A request that changes anything (any method but GET and HEAD) must carry an Origin header naming
  the studio itself: another site's page cannot post to it, even with the cookie.

Anything else is answered 403 with the reason. Every response also gets headers that keep the
pages to their own scripts and out of other sites' frames, and out of caches.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
SAFE_METHODS = frozenset({"GET", "HEAD"})
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; media-src 'self'; script-src 'self'; "
                                 b"style-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                 b"form-action 'self'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


def new_token() -> str:
    return secrets.token_urlsafe(32)


def allowed_hosts(host: str) -> frozenset[str]:
    """Host names the studio answers to: loopback, plus the address it was told to bind (not a wildcard)."""
    name = host.strip("[]").lower()
    return LOOPBACK | ({name} if name not in WILDCARDS else set())


def host_name(header: str) -> str:
    """`127.0.0.1:8731` -> `127.0.0.1`, `[::1]:8731` -> `::1`, `LocalHost` -> `localhost`."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class Guard:
    """ASGI middleware: the token, Host and Origin checks, and the security headers."""

    def __init__(self, app: Any, token: str, hosts: frozenset[str], cookie: str):
        self.app = app
        self.token = token
        self.hosts = hosts
        self.cookie = cookie
        """The cookie's name (one per port: cookies do not tell ports apart)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await _refuse(scope, send, "only HTTP is served here")
            return
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope["headers"]}
        host = headers.get("host", "")
        if host_name(host) not in self.hosts:
            await _refuse(scope, send, f"the studio answers only as {', '.join(sorted(self.hosts))} "
                                       f"(this request names {host or 'no host'})")
            return
        if scope["method"] not in SAFE_METHODS and headers.get("origin") != f"http://{host}":
            await _refuse(scope, send, "a request that changes something must come from the studio's own page "
                                       "(its Origin header does not name the studio)")
            return
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        from_query = secrets.compare_digest(query.get("token", "").encode(), self.token.encode())
        cookie = SimpleCookie(headers.get("cookie", "")).get(self.cookie)
        from_cookie = cookie is not None and secrets.compare_digest(cookie.value.encode(), self.token.encode())
        if not (from_query or from_cookie):
            await _refuse(scope, send, "this needs the studio's token: open the address `episodes studio` printed")
            return

        async def secured(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {key.lower() for key, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                if b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                if from_query and not from_cookie:
                    extra.append((b"set-cookie", f"{self.cookie}={self.token}; HttpOnly; SameSite=Strict; "
                                                 "Path=/".encode()))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, secured)


async def _refuse(scope: Scope, send: Send, why: str) -> None:
    body = f"403 forbidden: {why}\n".encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *SECURITY_HEADERS,
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": body if scope.get("method") != "HEAD" else b""})
