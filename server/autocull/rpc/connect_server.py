"""JSON (and binary) over HTTP for the Lua plugins and any Connect client: connectrpc served by Hypercorn.

``POST /autocull.v1.AutoCull/<Method>`` with ``Content-Type: application/json`` (protobuf's JSON
mapping both ways) or ``application/proto``; WatchJob as a Connect server stream. Errors are
Connect error JSON ``{"code", "message"}`` with the Connect protocol's HTTP status. The gate
(``connect_gate``) checks Host, Origin and token and bounds body size, body time and requests in
flight; Hypercorn closes a connection silent for ``Limits.idle_timeout``. The server runs its own
event loop in one thread; the core's blocking calls run in a bounded thread pool.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from connectrpc.compat import google_protobuf_binary_codec
from hypercorn.asyncio import serve
from hypercorn.config import Config

from ..v1.autocull_connect import AutoCullASGIApplication
from .connect_gate import Gate, Limits, routes
from .connect_service import SERVICE, ConnectService, JsonCodec
from .service import AutoCullCore

log = logging.getLogger(__name__)
DEFAULT_LIMITS = Limits()


class ConnectServer:
    """One listening socket, one event-loop thread; ``start()`` then ``stop()``."""

    def __init__(
        self, core: AutoCullCore, *, host: str, port: int, token: str, limits: Limits = DEFAULT_LIMITS
    ) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family, backlog=128)
        self.port: int = sock.getsockname()[1]
        self.limits = limits
        self._pool = ThreadPoolExecutor(max_workers=limits.max_in_flight, thread_name_prefix="connect")
        self._ready = threading.Event()
        self._stopping: Optional[asyncio.Event] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._error: Optional[BaseException] = None
        app = AutoCullASGIApplication(
            ConnectService(core, self._pool),  # type: ignore[arg-type]  # implements the protocol structurally
            read_max_bytes=limits.max_body,
            codecs=[JsonCodec(), google_protobuf_binary_codec()],
        )
        self._app = Gate(
            app,
            token=token,
            port=self.port,
            bound_host=host,
            table=routes(SERVICE),
            limits=limits,
            on_ready=self._ready.set,
        )
        self._fd = sock.detach()  # hypercorn serves on it; closed here if it never starts
        self._config = _config(self._fd, limits)
        self._thread = threading.Thread(target=self._run, name="connect-http", daemon=True)

    def start(self, timeout: float = 30.0) -> None:
        """Serve in the background; returns once requests are answered (raises if serving failed)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05) and self._thread.is_alive() and time.monotonic() < deadline:
            pass  # a server that failed ends its thread: no need to wait out the timeout
        if not self._ready.is_set():
            raise RuntimeError(f"the HTTP server did not start: {self._error!r}")

    def stop(self) -> None:
        """Stop accepting, give in-flight requests ``limits.grace`` seconds, close every connection."""
        if self._thread.ident is None:  # never started (the daemon failed to start): nothing runs
            self._pool.shutdown(wait=False)
            os.close(self._fd)
            return
        if self._loop is not None and self._stopping is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(self.limits.grace + 3.0)
        if self._thread.is_alive():
            log.warning("the HTTP server did not stop within %.0f s", self.limits.grace + 3.0)
        # Calls still running finish before the daemon closes the store under them (each is short: jobs run
        # elsewhere, and a blocking Cull has been answered UNAVAILABLE by now).
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        self._stopping = asyncio.Event()
        try:
            loop.run_until_complete(
                serve(
                    self._app,  # type: ignore[arg-type]  # an ASGI 3 callable; hypercorn's type is narrower
                    self._config,
                    shutdown_trigger=self._stopping.wait,
                    mode="asgi",
                )
            )
        except Exception as exc:  # recorded for start() and logged; the thread ends
            self._error = exc
            log.error("the HTTP server failed: %s", exc, exc_info=exc)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def _config(fd: int, limits: Limits) -> Config:
    config = Config()
    config.bind = [f"fd://{fd}"]
    config.keep_alive_timeout = limits.idle_timeout
    config.graceful_timeout = limits.grace
    config.errorlog = logging.getLogger("autocull.rpc.http")
    config.accesslog = None
    config.include_server_header = False
    return config
