"""Talking to the daemon from a command: the gRPC client of a running daemon (found through state.json) or,
without one, the engine in-process on the same store, and a cull job's answers page by page. Shared by the
commands that cull (``cli``, ``report``, ``export``), so they need not import each other.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from .config import TOKEN_HEADER, read_state


# ------------------------------------------------------------------ clients --
class DaemonClient:
    """gRPC client of a running daemon, found through state.json."""

    def __init__(self, state: dict[str, Any]) -> None:
        import grpc

        from .v1 import autocull_pb2 as pb
        from .v1 import autocull_pb2_grpc as pb_grpc

        self.pb = pb
        self.channel = grpc.insecure_channel(f"{state.get('host', '127.0.0.1')}:{state['grpc_port']}")
        self.stub = pb_grpc.AutoCullStub(self.channel)
        self.meta = ((TOKEN_HEADER, state["token"]),)

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.stub, method)(request, metadata=self.meta, timeout=600)

    def close(self) -> None:
        self.channel.close()


def answering(home: Path, port_key: str = "grpc_port") -> Optional[dict[str, Any]]:
    """The running daemon's state.json when its port (``port_key``) takes a connection, else None."""
    state = read_state(home)
    if not state or not state.get("pid") or not state.get(port_key):
        return None
    try:
        with socket.create_connection((state.get("host", "127.0.0.1"), int(state[port_key])), timeout=0.5):
            pass
    except (OSError, ValueError):
        return None
    return state


def find_daemon(home: Path) -> Optional[DaemonClient]:
    state = answering(home)
    return DaemonClient(state) if state else None


def in_process_core(home: Path) -> Any:
    from .engine import Engine
    from .jobs import JobManager
    from .rpc.paging import pack
    from .rpc.service import AutoCullCore

    engine = Engine.open(home)
    return AutoCullCore(engine, JobManager(engine, pack))


class LocalCore:
    """Same call interface as DaemonClient, on an in-process core."""

    def __init__(self, home: Path) -> None:
        from .v1 import autocull_pb2 as pb

        self.pb = pb
        self.core = in_process_core(home)

    def call(self, method: str, request: Any) -> Any:
        return getattr(self.core, method)(request)

    def close(self) -> None:
        self.core.jobs.shutdown()
        self.core.engine.close()


def connect(home: Path, *, announce: str = "") -> Any:
    """The running daemon, else the engine in-process on the same store (said on stderr when ``announce``).

    Either way the client has ``pb``, ``call`` and ``close``.
    """
    client = find_daemon(home)
    if client is not None:
        return client
    if announce:
        print(f"autocull: no daemon running; {announce} in-process on {home}", file=sys.stderr)
    return LocalCore(home)


def absolute_paths(paths: Sequence[str]) -> list[str]:
    return [os.path.abspath(os.path.expanduser(p)) for p in paths]


def parse_overrides(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"autocull: expected KEY=VALUE, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def draw_progress(done: int, total: int, stage: str) -> None:
    if not sys.stderr.isatty():
        return
    width = 30
    filled = int(width * done / total) if total else 0
    sys.stderr.write(f"\r{stage:<10} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    sys.stderr.flush()


PAGE_SIZE = 1000  # decisions per GetJob answer; the daemon caps it (a 4 MiB gRPC message)


def daemon_gone(exc: BaseException) -> bool:
    """The daemon went away (or is going): a gRPC UNAVAILABLE, or CANCELLED (a server that stops cancels the
    calls still in flight; this client cancels none of its own), or the in-process domain error."""
    code = getattr(exc, "code", None)
    if callable(code):
        import grpc

        return code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED)
    return code == "UNAVAILABLE"


def job_pages(client: Any, job: Any) -> Iterator[Any]:
    """The started cull ``job`` as it runs: each answer of GetJob, with the next page of its decisions in
    ``job.decisions`` (pages at once while they wait, else every 0.2 s), until it is done, cancelled or failed;
    the last one yielded holds its final state and counts. Progress is drawn on a terminal's stderr."""
    pb = client.pb
    finished = (pb.JOB_STATE_DONE, pb.JOB_STATE_CANCELLED, pb.JOB_STATE_FAILED)
    have = 0
    while True:
        job = client.call("GetJob", pb.GetJobRequest(job_id=job.id, decisions_from=have, page_size=PAGE_SIZE))
        yield job
        have += len(job.decisions)
        draw_progress(job.done, job.total, job.stage)
        if have < job.decisions_total and job.decisions:
            continue  # the next page at once
        if job.state in finished:
            return
        time.sleep(0.2)
