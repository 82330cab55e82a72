"""Analysis on a Ray cluster: the per-file pipeline (``pipeline.attempt_batch``) run unchanged by Ray workers.

The store stays on the machine that runs the cull: the engine checks the cache, sends only what the store lacks
here, and stores what comes back (one writer). Workers read the files themselves, so every node must see them
under the same path (shared storage mounted at the same place, e.g. a studio's NAS at /mnt/nas everywhere); a
path a node does not see is that file's "not found" error, never the job's.

Workers import ``autocull`` from their own environment: install the same version with the ``[cluster]`` extra on
every node (a container image or one shared virtualenv). No ``runtime_env`` is used: shipping the package
(``py_modules``) needs ``ray[default]`` on every node and still not autocull's dependencies (numpy, Pillow,
mediapipe...), which the nodes must have anyway. Instead the first thing a run does is ask a worker for its
analyzer version and refuse a cluster whose analyses would differ from this machine's (the store's cache would
mix them). On a local cluster (``ray start --head`` on this machine) workers inherit this
environment.

``ray`` is imported here only, and only when a cull asks for it: never on a start-up path.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import os
import re
import socket
import time
from collections import deque
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, Optional

from . import ANALYZER_VERSION, pipeline
from .errors import FailedPrecondition, FileMissing, FileVanished, InvalidArgument, WorkerCrashed
from .pipeline import AnalysisSettings, Outcome
from .workers import CANCEL_GRACE, FILE_TIMEOUT, SLICE, timeout_reason

log = logging.getLogger(__name__)

BATCH = 4  # files per task: a round trip shared by a few files, and a crash costs a re-run of at most this many
PER_CPU = 2  # tasks in flight per CPU of the cluster: workers never wait for the next task, memory stays flat
INSTALL_HINT = "Ray is not installed where the cull runs: install autocull[cluster] (pip install 'autocull[cluster]')"

_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)"
_ADDRESS = re.compile(rf"(?P<scheme>ray://)?(?P<host>{_HOST}):(?P<port>[0-9]{{1,5}})")


def check_address(address: str) -> str:
    """The Ray address a request names, checked; raises InvalidArgument for anything else.

    ``auto``: the cluster this machine already belongs to (``ray start`` ran here, or RAY_ADDRESS);
    ``HOST:PORT``: a head node's address (its GCS port, 6379 by default);
    ``ray://HOST:PORT``: a head node through Ray Client (port 10001 by default).

    Not ``local`` (a private Ray the daemon would start for one cull): Ray 2.x binds its services to the
    machine's network address whatever node IP it is given, so the loopback-only daemon would open ports on the
    LAN, and on one machine the worker processes already use every core. A cluster is the photographer's own,
    started with ``ray start``.
    """
    text = address.strip()
    if text == "local":
        raise InvalidArgument(
            "--ray local is not offered: a private Ray would listen on the network, and on one machine the "
            "built-in worker processes already use every core; start a cluster with `ray start --head` and "
            "give --ray auto"
        )
    if text == "auto":
        return text
    match = _ADDRESS.fullmatch(text)
    if match is None or not 0 < int(match["port"]) < 65536:
        raise InvalidArgument(
            f"not a Ray address: {address[:200]!r}; give auto, HOST:PORT (a head node, e.g. 10.0.0.5:6379) "
            "or ray://HOST:PORT"
        )
    host = match["host"]
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise InvalidArgument(f"not a Ray address: {address[:200]!r} (bad IPv6 address)") from None
    return text


def require_ray() -> None:
    """Raise FailedPrecondition unless Ray can be imported here (checked without importing it)."""
    if importlib.util.find_spec("ray") is None:
        raise FailedPrecondition(INSTALL_HINT)


def _analyzer_version() -> str:
    """What a worker answers first: the analyzer version its autocull computes."""
    return ANALYZER_VERSION


class RayAnalyzer:
    """``pipeline.Analyzer`` on a Ray cluster: batches of paths as Ray tasks, a bounded number in flight,
    results as they finish. A task whose worker died costs its files a re-run one by one; a file that kills its
    worker alone lands in the failure lane (``WorkerCrashed``)."""

    def __init__(
        self,
        address: str,
        *,
        batch: int = BATCH,
        task: Callable[..., list[Outcome]] = pipeline.attempt_batch,
        file_timeout: float = FILE_TIMEOUT,
    ):
        """Connect (``ray.init``) to the cluster at ``address`` (see ``check_address``). ``task`` is the function
        each Ray task runs; the per-file pipeline unless a test gives another."""
        self.address = check_address(address)
        require_ray()
        import ray

        self._ray = ray
        self.batch = max(1, batch)
        # Seconds a file may take: a task is cancelled once sent longer than its files' worth plus the PER_CPU - 1
        # tasks it may wait behind on its CPU, then its files run alone, a file alone past it failing.
        self.file_timeout = file_timeout
        self.sent = 0  # files handed to Ray tasks so far (retries included): what a cull cost the cluster
        self._owned = not ray.is_initialized()  # a Ray this process already joined is left as it was
        if self._owned:
            _probe(self.address)
            try:
                ray.init(address=self.address, logging_level=logging.WARNING)
            except Exception as exc:  # ConnectionError, a timeout, a version mismatch: said in one line
                raise FailedPrecondition(f"could not join the Ray cluster at {self.address}: {exc}") from None
        # Ray's own retries are off: a crash is handled here, per file, so one bad file is not run four times.
        self._remote = ray.remote(max_retries=0)(task)
        self._check_workers()

    def _check_workers(self) -> None:
        """Refuse a cluster whose workers cannot import autocull, or compute another analyzer version."""
        ray = self._ray
        try:
            theirs = ray.get(ray.remote(max_retries=0)(_analyzer_version).remote(), timeout=300)
        except Exception as exc:
            self.close()
            raise FailedPrecondition(
                f"the Ray workers at {self.address} cannot run autocull ({_first_line(exc)}): install the same "
                "autocull with the [cluster] extra on every node"
            ) from None
        if theirs != ANALYZER_VERSION:
            self.close()
            raise FailedPrecondition(
                f"the Ray workers at {self.address} run analyzer version {theirs}, this machine {ANALYZER_VERSION}: "
                "install the same autocull on every node (the store would mix their analyses)"
            )

    def in_flight(self) -> int:
        """Tasks kept submitted at once: ``PER_CPU`` per CPU the cluster has now (at least 2)."""
        cpus = int(self._ray.cluster_resources().get("CPU", 1))
        return max(2, PER_CPU * cpus)

    def analyze(
        self, paths: Iterable[str], settings: AnalysisSettings, cancelled: Callable[[], bool]
    ) -> Iterator[tuple[str, Outcome]]:
        """Yield (path, outcome) for every path submitted, as tasks finish; once ``cancelled()`` no more are
        submitted (those in flight are still answered, so what was analysed is stored). ``paths`` is pulled a
        task's worth at a time, as a task is sent."""
        ray = self._ray
        limit = self.in_flight()
        remaining = iter(paths)
        fresh = iter(lambda: list(islice(remaining, self.batch)), [])  # until a chunk comes back empty
        retry: deque[str] = deque()  # files of a batch whose worker died: each is run alone
        pending: dict[Any, list[str]] = {}
        sent_at: dict[Any, float] = {}
        overdue: set[Any] = set()  # tasks cancelled for running past their deadline
        cancel_seen = 0.0
        cancel_sent = forced = False
        try:
            while True:
                while len(pending) < limit and not cancelled():
                    chunk = [retry.popleft()] if retry else next(fresh, None)
                    if chunk is None:
                        break
                    ref = self._remote.remote(chunk, settings)
                    pending[ref], sent_at[ref] = chunk, time.monotonic()
                    self.sent += len(chunk)
                if not pending:
                    return
                done, _ = ray.wait(list(pending), num_returns=1, timeout=SLICE)
                now = time.monotonic()
                if cancelled():  # what is in flight gets CANCEL_GRACE seconds to answer, then is cancelled
                    cancel_seen = cancel_seen or now
                    if not cancel_sent and now - cancel_seen > CANCEL_GRACE:
                        cancel_sent = True
                        for ref in pending:
                            ray.cancel(ref)
                    elif not forced and now - cancel_seen > 2 * CANCEL_GRACE:
                        forced = True  # a task in native code ignores the cancel: its worker is killed
                        for ref in pending:
                            ray.cancel(ref, force=True)
                for ref, chunk in pending.items():
                    # Counted from .remote(): the task may first wait behind the PER_CPU - 1 tasks queued ahead.
                    allowed = (len(chunk) + (PER_CPU - 1) * self.batch) * self.file_timeout
                    if ref not in overdue and ref not in done and now - sent_at[ref] > allowed:
                        overdue.add(ref)
                        ray.cancel(ref, force=True)
                for ref in done:
                    chunk = pending.pop(ref)
                    del sent_at[ref]
                    if ref in overdue:
                        overdue.discard(ref)
                        if len(chunk) > 1:
                            retry.extend(chunk)
                        elif not cancelled():
                            yield chunk[0], timeout_reason(chunk[0], self.file_timeout)
                        continue
                    try:
                        outcomes = ray.get(ref)
                    except ray.exceptions.TaskCancelledError:
                        continue  # cancelled with the job: its files were not analysed
                    except ray.exceptions.RayTaskError as exc:
                        _fatal_if_setup(exc, self.address)
                        if not cancelled():
                            yield from self._lost(chunk, exc, retry)
                        continue
                    except ray.exceptions.RayError as exc:  # the worker or its node died, the object is lost...
                        if not cancelled():  # (or was killed by the forced cancel): not the file's doing
                            yield from self._lost(chunk, exc, retry)
                        continue
                    for path, outcome in zip(chunk, outcomes):
                        yield path, _unseen(path, outcome)
        finally:
            for ref in pending:  # a consumer that stops early (an exception) leaves nothing running
                ray.cancel(ref, force=True)

    def _lost(self, chunk: list[str], exc: BaseException, retry: deque[str]) -> Iterator[tuple[str, Outcome]]:
        """A task that did not answer: its files go again one by one; a file alone is that file's failure."""
        if len(chunk) > 1:
            log.warning("a Ray task of %d files did not answer (%s); running them one by one", len(chunk), exc)
            retry.extend(chunk)
            return
        path = chunk[0]
        log.warning("%s: the Ray worker analysing it died: %s", path, exc)
        why = _first_line(exc)
        yield path, WorkerCrashed(f"{path}: the worker analysing this file died ({why}); other files went on")

    def close(self) -> None:
        """Leave the cluster if this analyzer joined it (idempotent); the cluster itself keeps running."""
        if self._owned and self._ray.is_initialized():
            self._ray.shutdown()
        self._owned = False


def _probe(address: str, timeout: float = 5.0) -> None:
    """Refuse at once a head node nobody answers on (``ray.init`` would wait for it for minutes)."""
    match = _ADDRESS.fullmatch(address)
    if match is None:  # auto: Ray finds the cluster this machine joined
        return
    host = match["host"].strip("[]")
    try:
        with socket.create_connection((host, int(match["port"])), timeout=timeout):
            pass
    except OSError as exc:
        raise FailedPrecondition(
            f"could not join the Ray cluster at {address}: nothing answers there ({exc}); is its head node running "
            "(`ray start --head`)?"
        ) from None


def _unseen(path: str, outcome: Outcome) -> Outcome:
    """A file the worker did not find but this machine sees: its node does not share the storage under the
    same path, which is said as that file's "not found" (the others go on)."""
    if isinstance(outcome, (FileVanished, FileMissing)) and os.path.exists(path):
        return FileMissing(
            f"{path}: not found on the Ray node that read it: every node must see the photos under the same path "
            "(shared storage mounted at the same place)"
        )
    return outcome


def _fatal_if_setup(exc: Any, address: str) -> None:
    """A task that raised an ImportError is a cluster without autocull's dependencies, not a bad file: the
    whole cull stops with that, rather than every file failing with it."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, ImportError):
        raise FailedPrecondition(
            f"the Ray workers at {address} cannot import what autocull needs ({cause}): install autocull[cluster] "
            "on every node"
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def open_analyzer(address: Optional[str]) -> Optional[RayAnalyzer]:
    """The analyzer a cull asked for: None for this machine's own pool, else a RayAnalyzer at ``address``."""
    return RayAnalyzer(address) if address else None
