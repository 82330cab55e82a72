"""The real ``autocull serve`` for end-to-end tests: one way to start, call and stop it.

It runs on free loopback ports (port 0, read back from ``state.json``) with its
own home folder; output goes to ``daemon.log`` there (a pipe nobody reads
would stall a chatty daemon).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class Daemon:
    def __init__(
        self, home: Path, *, config: str | None = None, start_timeout: float = 90.0, env: dict | None = None
    ) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        if config is not None:
            (home / "config.toml").write_text(config)
        exe = ROOT / ".venv" / "bin" / "autocull"
        cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "autocull"]
        self.log_path = home / "daemon.log"
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            cmd + ["serve", "--http-port", "0", "--grpc-port", "0"],
            env=dict(os.environ, AUTOCULL_HOME=str(home), **(env or {})),
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._channel: Any = None
        self._stub: Any = None
        deadline = time.time() + start_timeout
        while time.time() < deadline:
            state = self._read_state()
            if state.get("pid") == self.proc.pid:
                self.state = state
                self.token: str = state["token"]
                self.meta = (("x-autocull-token", self.token),)
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise AssertionError("daemon did not start: " + self.log())

    def _read_state(self) -> dict:
        try:
            return json.loads((self.home / "state.json").read_text())
        except (OSError, ValueError):  # not written yet, or mid-write
            return {}

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    # ------------------------------------------------------------- gRPC
    @property
    def stub(self) -> Any:
        if self._stub is None:
            import grpc

            from autocull.v1 import autocull_pb2_grpc as pb_grpc

            self._channel = grpc.insecure_channel(f"127.0.0.1:{self.state['grpc_port']}")
            self._stub = pb_grpc.AutoCullStub(self._channel)
        return self._stub

    def grpc(self, method: str, request: Any, **kw: Any) -> Any:
        """Call ``method`` over gRPC with the token (``metadata=`` replaces it)."""
        return getattr(self.stub, method)(request, metadata=kw.pop("metadata", self.meta), timeout=300, **kw)

    # ------------------------------------------------------- JSON / HTTP
    def http(
        self, method: str, body: dict, headers: dict | None = None, conn: http.client.HTTPConnection | None = None
    ) -> tuple[int, dict]:
        """POST ``body`` to ``method`` as the Lua plugins do; (status, answer). A header set to None is left out.

        ``conn``: an open (kept-alive) connection to reuse; without one each call opens its own.
        """
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.state["http_port"], timeout=300)
        h = {"Content-Type": "application/json", "X-AutoCull-Token": self.token}
        h.update(headers or {})
        conn.request(
            "POST",
            f"/autocull.v1.AutoCull/{method}",
            json.dumps(body).encode(),
            {k: v for k, v in h.items() if v is not None},
        )
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw or b"{}")
        except ValueError:
            raise AssertionError(f"{method}: HTTP {resp.status}, not JSON: {raw[:300]!r}") from None

    def raw(self, timeout: float = 10.0) -> socket.socket:
        """A plain TCP connection to the HTTP port, for requests no HTTP library would send."""
        return socket.create_connection(("127.0.0.1", self.state["http_port"]), timeout=timeout)

    @staticmethod
    def exchange(sock: socket.socket, data: bytes, *, head: bool = False) -> tuple[int, dict[str, str], bytes]:
        """Send raw bytes, read one HTTP answer: (status, headers with lower-case names, body)."""
        sock.sendall(data)
        resp = http.client.HTTPResponse(sock, method="HEAD" if head else "POST")
        resp.begin()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body

    def request_bytes(
        self, method: str, body: bytes, headers: dict | None = None, *, verb: str = "POST", path: str | None = None
    ) -> bytes:
        """An HTTP/1.1 request as bytes, with the Host, token and Content-Type the plugins send (None drops one)."""
        h = {
            "Host": f"127.0.0.1:{self.state['http_port']}",
            "Content-Type": "application/json",
            "X-AutoCull-Token": self.token,
            "Content-Length": str(len(body)),
        }
        h.update(headers or {})
        lines = [f"{verb} {path or '/autocull.v1.AutoCull/' + method} HTTP/1.1"]
        lines += [f"{k}: {v}" for k, v in h.items() if v is not None]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogatepass") + body

    def post(self, method: str, body: dict) -> dict:
        """:meth:`http` that must succeed."""
        status, answer = self.http(method, body)
        assert status == 200, (method, status, answer)
        return answer

    # -------------------------------------------------------------- stop
    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM, as a service manager would; kill only if it hangs. Returns the exit code."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(5)
            return self.proc.returncode
        finally:
            if self._channel is not None:
                self._channel.close()
            self._log.close()
