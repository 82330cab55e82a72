"""The request gate in front of the Connect app: who may call, which requests get through, how many at once.

An ASGI middleware, so every check runs before any body is decoded: the Host must name loopback
exactly (DNS rebinding), a browser page (an ``Origin`` header) is refused, the token must match,
the path must be one of the service's methods, the method POST and the Content-Type one the
method speaks. The body is read here, bounded in size and time, before the Connect app sees it; a
refused request's small body is read and dropped, so it can never be taken for a next request.
Refusals are Connect error JSON (``{"code", "message"}``) with the status the Connect protocol uses.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Iterable, Mapping, Optional, Union

from ..config import TOKEN_HEADER
from .status import http_status_of

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNARY_TYPES = frozenset({"application/json", "application/proto"})
STREAM_TYPES = frozenset({"application/connect+json", "application/connect+proto"})
# A refused request's body up to this size is read and dropped (the connection stays usable);
# a bigger one is not read at all and the connection is closed after the answer.
DRAIN_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Limits:
    """What one client may take from the daemon."""

    max_body: int = 32 * 1024 * 1024  # bytes in one request body (a 100,000-path Cull is ~10 MB)
    idle_timeout: float = 5.0  # seconds a connection may stay silent between requests
    body_timeout: float = 10.0  # seconds to receive one whole request body
    max_in_flight: int = 32  # requests served at once; more are answered "unavailable"
    grace: float = 2.0  # seconds in-flight requests get at shutdown


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str
    headers: tuple[tuple[bytes, bytes], ...] = ()

    @classmethod
    def of(cls, code: str, message: str) -> Refusal:
        """A refusal with the HTTP status the Connect protocol gives ``code``."""
        return cls(http_status_of(code), code, message)

    def body(self) -> bytes:
        return json.dumps({"code": self.code, "message": self.message}, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Route:
    """One RPC path: the service prefix and the Content-Types its Connect form uses."""

    prefix: str
    content_types: frozenset[str]
    streaming: bool


def routes(service: Any) -> dict[str, Route]:
    """Path -> Route for every method of a protobuf ServiceDescriptor."""
    prefix = f"/{service.full_name}/"
    return {
        prefix + m.name: Route(prefix, STREAM_TYPES if m.server_streaming else UNARY_TYPES, m.server_streaming)
        for m in service.methods
    }


def host_allowed(host: str, port: int, bound_host: str) -> bool:
    """True when a Host header names loopback exactly: a loopback name, optionally with our own port."""
    names = {"127.0.0.1", "localhost", "[::1]", f"[{bound_host}]" if ":" in bound_host else bound_host}
    host = host.lower()
    if host in names:
        return True
    name, colon, given_port = host.rpartition(":")
    return bool(colon) and name in names and given_port == str(port)


def header_map(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    """ASGI headers (lower-case bytes) -> name -> every value given."""
    out: dict[str, list[str]] = {}
    for name, value in raw:
        out.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return out


def check(
    method: str,
    path: str,
    headers: Mapping[str, list[str]],
    *,
    token: bytes,
    port: int,
    bound_host: str,
    table: Mapping[str, Route],
    max_body: int,
) -> Optional[Refusal]:
    """Why a request is refused before its body is read, or None. Pure: headers in, answer out."""
    hosts = headers.get("host", [])
    if len(hosts) != 1 or not host_allowed(hosts[0].strip(), port, bound_host):
        return Refusal.of("permission_denied", "Host must be a loopback address (127.0.0.1, localhost or [::1])")
    if "origin" in headers:
        return Refusal.of("permission_denied", "requests from a browser page are refused")
    tokens = headers.get(TOKEN_HEADER, [])
    given = tokens[0].encode("latin-1") if len(tokens) == 1 else b""
    if not hmac.compare_digest(given, token):
        return Refusal.of(
            "unauthenticated", f"missing or wrong {TOKEN_HEADER} header: read the token from the daemon's state.json"
        )
    if method != "POST":  # before the path: every endpoint here is POST, so any other method is 405 (also HEAD)
        return Refusal(405, "unimplemented", f"{method} is not supported; use POST", ((b"allow", b"POST"),))
    route = table.get(path)
    if route is None:
        any_route = next(iter(table.values()))
        if path.startswith(any_route.prefix):
            return Refusal.of(
                "unimplemented", f"no method {path[len(any_route.prefix) :]!r} in {any_route.prefix.strip('/')}"
            )
        return Refusal(404, "not_found", f"no such endpoint {path!r}; use POST {any_route.prefix}<Method>")
    ctype = (headers.get("content-type") or [""])[0].partition(";")[0].strip().lower()
    if ctype not in route.content_types:
        hint = " (it streams: use a Connect streaming client, or poll GetJob)" if route.streaming else ""
        return Refusal(
            415, "invalid_argument", f"Content-Type must be {' or '.join(sorted(route.content_types))}{hint}"
        )
    lengths = headers.get("content-length", [])
    if lengths:
        if len(lengths) != 1 or not lengths[0].strip().isdigit():
            return Refusal.of("invalid_argument", "Content-Length must be one non-negative number")
        if int(lengths[0]) > max_body:
            return Refusal(
                413, "resource_exhausted", f"request body too large ({lengths[0]} bytes; at most {max_body})"
            )
    return None


async def answer(send: Send, refusal: Refusal, *, close: bool) -> None:
    body = refusal.body()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *refusal.headers]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def read_body(receive: Receive, limit: int, timeout: float) -> Union[bytes, Refusal, None]:
    """The whole request body, a Refusal when it is too big or not all there within ``timeout`` s, None when the
    client left. One deadline for the whole body, so a client sending a byte now and then cannot hold a slot."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
        except asyncio.TimeoutError:
            return Refusal(408, "deadline_exceeded", f"the request body was not all there within {timeout:g} s")
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return Refusal(413, "resource_exhausted", f"request body too large (more than {limit} bytes)")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """A receive() that hands out the body already read, then the real one (a client disconnect)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def with_length(send: Send) -> Send:
    """A send() that gives a one-piece answer a Content-Length (simple HTTP clients want one) and no-store."""
    held: list[Message] = []

    async def framed(message: Message) -> None:
        if message["type"] == "http.response.start":
            held.append(message)
            return
        if held and message["type"] == "http.response.body":
            start = held.pop()
            extra = [(b"cache-control", b"no-store")]
            if not message.get("more_body", False):
                extra.append((b"content-length", str(len(message.get("body", b""))).encode()))
            await send({**start, "headers": [*start.get("headers", []), *extra]})
        await send(message)

    return framed


class Gate:
    """ASGI middleware: check, bound and count every request before the Connect app sees it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        token: str,
        port: int,
        bound_host: str,
        table: Mapping[str, Route],
        limits: Limits,
        on_ready: Callable[[], None] = lambda: None,
    ) -> None:
        self.app, self.token, self.port, self.bound_host = app, token.encode(), port, bound_host
        self.table, self.limits, self.on_ready = table, limits, on_ready
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._watch_startup(send))
            return
        if scope["type"] != "http":  # a WebSocket upgrade: closing before accepting answers 403
            await send({"type": "websocket.close", "code": 1008})
            return
        refusal = check(
            scope["method"],
            scope["path"],
            header_map(scope["headers"]),
            token=self.token,
            port=self.port,
            bound_host=self.bound_host,
            table=self.table,
            max_body=self.limits.max_body,
        )
        if refusal is None and self.in_flight >= self.limits.max_in_flight:
            refusal = Refusal.of(
                "unavailable", f"more than {self.limits.max_in_flight} requests at once; try again shortly"
            )
        if refusal is not None:
            await self._refuse(scope, receive, send, refusal)
            return
        self.in_flight += 1
        try:
            body = await read_body(receive, self.limits.max_body, self.limits.body_timeout)
            if isinstance(body, Refusal):
                await answer(send, body, close=True)
            elif body is not None:
                await self.app(scope, replay(body, receive), with_length(send))
        finally:
            self.in_flight -= 1

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, refusal: Refusal) -> None:
        """Answer; a small body is read and dropped first so the connection stays in step."""
        lengths = header_map(scope["headers"]).get("content-length", [])
        small = not lengths or (lengths[0].strip().isdigit() and int(lengths[0]) <= DRAIN_LIMIT)
        drained = small and isinstance(await read_body(receive, DRAIN_LIMIT, self.limits.body_timeout), bytes)
        await answer(send, refusal, close=not drained)

    def _watch_startup(self, send: Send) -> Send:
        async def watched(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                self.on_ready()

        return watched
