"""JSON over HTTP/1.1 (Connect-style unary) for the Lua plugins: an adapter over AutoCullCore.

``POST /autocull.v1.AutoCull/<Method>``, ``Content-Type: application/json``, protobuf's
JSON mapping both ways; errors as ``{"code": ..., "message": ...}`` with a non-200 status.
Refuses browser requests (an ``Origin`` header) and any ``Host`` that is not loopback
(DNS rebinding), and every request must carry the token.
"""
from __future__ import annotations

import hmac
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf import json_format

from ..config import TOKEN_HEADER
from ..errors import AutoCullError, InvalidArgument, PermissionDenied, Unauthenticated, Unimplemented
from ..v1 import autocull_pb2 as pb
from .convert import message_to_json_dict
from .service import AutoCullCore
from .status import for_error, message_of

log = logging.getLogger(__name__)
SERVICE = pb.DESCRIPTOR.services_by_name["AutoCull"]
PREFIX = f"/{SERVICE.full_name}/"
MAX_BODY = 64 * 1024 * 1024
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def _host_is_loopback(host_header: str) -> bool:
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[: host.find("]") + 1]
    elif ":" in host:
        host = host.rsplit(":", 1)[0]
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "AutoCull"
    core: AutoCullCore
    token: bytes

    def log_message(self, fmt: str, *args: Any) -> None:
        log.debug("http %s - " + fmt, self.address_string(), *args)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def _error(self, exc: BaseException) -> None:
        _, code, status = for_error(exc)
        if status == 500:
            log.error("internal error in %s: %s", self.path, exc, exc_info=exc)
        self._send(status, {"code": code, "message": message_of(exc)})

    def _check(self) -> None:
        if self.headers.get("Origin") is not None:
            raise PermissionDenied("requests from a browser page are refused")
        if not _host_is_loopback(self.headers.get("Host", "")):
            raise PermissionDenied("Host must be a loopback address")
        given = (self.headers.get(TOKEN_HEADER) or "").encode()
        if not hmac.compare_digest(given, self.token):
            raise Unauthenticated(f"missing or wrong {TOKEN_HEADER} header: read the token from the daemon's "
                                  "state.json")

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        try:
            self._check()
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise InvalidArgument(f"request body too large ({length} bytes)")
            body = self.rfile.read(length) if length else b""
            if not self.path.startswith(PREFIX):
                raise Unimplemented(f"no such endpoint {self.path}; use POST {PREFIX}<Method>")
            method = SERVICE.methods_by_name.get(self.path[len(PREFIX):])
            if method is None:
                raise Unimplemented(f"no method {self.path[len(PREFIX):]!r} in {SERVICE.full_name}")
            if method.server_streaming:
                raise Unimplemented(f"{method.name} streams and is gRPC only; over JSON poll GetJob instead")
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                raise InvalidArgument("Content-Type must be application/json")
            from google.protobuf import message_factory

            request = message_factory.GetMessageClass(method.input_type)()
            try:
                json_format.Parse(body.decode("utf-8") or "{}", request, ignore_unknown_fields=True)
            except (json_format.ParseError, UnicodeDecodeError) as exc:
                raise InvalidArgument(f"bad JSON for {method.input_type.name}: {exc}") from None
            response = getattr(self.core, method.name)(request)
            self._send(200, message_to_json_dict(response))
        except Exception as exc:  # every error becomes an answer; the server keeps serving
            self._error(exc)

    def _refuse_method(self) -> None:
        try:
            self._check()
            raise Unimplemented("only POST is supported")
        except AutoCullError as exc:
            self._error(exc)

    do_GET = do_PUT = do_DELETE = do_OPTIONS = _refuse_method  # noqa: N815


def create_http_server(core: AutoCullCore, *, host: str, port: int, token: str) -> tuple[ThreadingHTTPServer, int]:
    handler = type("Handler", (_Handler,), {"core": core, "token": token.encode()})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server, server.server_address[1]


def serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    t = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    t.start()
    return t
