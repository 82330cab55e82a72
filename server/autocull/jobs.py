"""Long work as jobs: start -> id, poll progress and decisions, cancel.

Lua clients poll (Lightroom's HTTP calls have per-phase timeouts, so no single
long request); gRPC clients may also wait on ``changed`` to stream progress.
Jobs run one after another on one thread; each job fans its files out to the
engine's analysis pool. A job keeps each decision once, as the serialized protobuf
the answers are made of (about 0.8 KB, where the Python record takes about 4 KB:
a 100,000-photo job holds some 80 MB), and answers hand it out a page at a time.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from . import cluster
from .engine import Cancelled, Counts, CullResult, Engine
from .errors import AutoCullError, NotFound, Unavailable
from .library import normalise_request_path
from .records import Decision

log = logging.getLogger(__name__)

FINISHED = ("done", "cancelled", "failed")
SHUTTING_DOWN = "daemon shutting down"
KEEP_BYTES = 256 * 1024 * 1024  # decisions kept by finished jobs (a 100,000-photo job holds about 80 MB)


@dataclass
class Job:
    id: str
    state: str = "queued"  # queued | running | done | cancelled | failed
    stage: str = "queued"
    done: int = 0
    total: int = 0
    decisions: list[bytes] = field(default_factory=list)  # packed by JobManager.pack, in emit order
    counts: Counts = field(default_factory=Counts)
    counts_so_far: Counts = field(default_factory=Counts, repr=False)  # of the decisions emitted
    message: str = ""
    current_path: str = ""
    created: float = field(default_factory=time.time)
    finished: float = 0.0
    cancel_requested: bool = False
    # why a job that ended failed or cancelled did not finish, with the cause's own code (a blocking
    # Cull answers it: INTERNAL for an internal error, UNAVAILABLE when the daemon stopped, ...)
    error: Optional[AutoCullError] = None
    size: int = 0  # bytes of the decisions held
    _emitted: set = field(default_factory=set, repr=False)


class _JobProgress:
    """Adapter the engine reports to; every change wakes the waiters."""

    def __init__(self, manager: "JobManager", job: Job) -> None:
        self.m, self.job = manager, job

    def stage(self, name: str, total: int) -> None:
        with self.m.cond:
            self.job.stage = name
            if name == "analyzing":
                self.job.total, self.job.done = total, 0
            self.m.cond.notify_all()

    def advance(self, path: str) -> None:
        with self.m.cond:
            self.job.done += 1
            self.job.current_path = path
            self.m.cond.notify_all()

    def emit(self, decisions: Sequence[Decision]) -> None:
        packed = [(d, self.m.pack(d)) for d in decisions if d.path not in self.job._emitted]  # outside the lock
        with self.m.cond:
            for d, blob in packed:
                if d.path not in self.job._emitted:
                    self.job._emitted.add(d.path)
                    self.job.decisions.append(blob)
                    self.job.size += len(blob)
                    self.job.counts_so_far.add(d)
            self.m.cond.notify_all()

    def cancelled(self) -> bool:
        return self.job.cancel_requested or self.m.stopping


class JobManager:
    def __init__(
        self,
        engine: Engine,
        pack: Callable[[Decision], bytes],
        *,
        keep_finished: int = 50,
        keep_bytes: int = KEEP_BYTES,
    ) -> None:
        """``pack`` turns a decision into the compact bytes a job keeps (the transport's serialized form, so a
        page is answered without converting again); the RPC layer passes it in."""
        self.engine, self.pack = engine, pack
        self.jobs: dict[str, Job] = {}
        self.cond = threading.Condition()
        self.stopping = False
        self._runner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="job")
        self._keep, self._keep_bytes = keep_finished, keep_bytes
        self._waiters = 0  # blocking Culls waiting for their job (shutdown lets them answer first)

    def start(
        self,
        paths: Sequence[str],
        *,
        policy_overrides: Optional[dict[str, Any]] = None,
        preset: str = "",
        top_level_only: bool = False,
        reanalyze: bool = False,
        analyze_only: bool = False,
        ray_address: str = "",
    ) -> Job:
        """Queue a cull. ``ray_address`` (checked here, before queueing) analyses on that Ray cluster instead of
        the engine's own workers; the cache check and the store writes stay here either way."""
        if self.stopping:
            raise Unavailable(SHUTTING_DOWN)
        # A one-off policy is checked before queueing; without one the job decides under whatever policy is
        # active when it gets there (None), which is also what apply stores.
        policy = self.engine.resolve_policy(policy_overrides, preset) if policy_overrides or preset else None
        for p in paths:  # refuse bad paths before queueing, too
            normalise_request_path(p)
        if ray_address:  # a bad address or no Ray here is said now, not after the job's turn comes
            ray_address = cluster.check_address(ray_address)
            cluster.require_ray()
        job = Job(id=uuid.uuid4().hex[:12])
        with self.cond:  # shutdown() sets stopping under this lock, so no job is queued on a stopped runner
            if self.stopping:
                raise Unavailable(SHUTTING_DOWN)
            self.jobs[job.id] = job
            self._prune()
            self._runner.submit(
                self._run, job, list(paths), policy, top_level_only, reanalyze, analyze_only, ray_address
            )
        return job

    def _run(self, job: Job, paths: list[str], policy: Any, top: bool, re: bool, only: bool, ray: str = "") -> None:
        with self.cond:
            if job.cancel_requested or self.stopping:
                self._finish(job, "cancelled", "cancelled before it started", self._cancel_cause())
                return
            job.state = "running"
            self.cond.notify_all()
        progress = _JobProgress(self, job)
        analyzer: Optional[cluster.RayAnalyzer] = None
        try:
            if ray:
                progress.stage("joining the Ray cluster", 0)
                analyzer = cluster.RayAnalyzer(ray, file_timeout=self.engine.config.file_timeout_seconds)
            result: CullResult = self.engine.run(
                paths,
                policy=policy,
                top_level_only=top,
                reanalyze=re,
                analyze_only=only,
                progress=progress,
                collect=False,
                analyzer=analyzer,
            )
            with self.cond:
                job.counts = result.counts
                self._finish(job, "done", "")
        except Cancelled:
            with self.cond:
                cause = self._cancel_cause()
                self._finish(job, "cancelled", f"{cause.message}; photos analysed so far are kept in the store", cause)
        except AutoCullError as exc:
            with self.cond:
                self._finish(job, "failed", exc.message, exc)
        except Exception as exc:  # a job failing must not take the daemon with it
            log.exception("job %s failed", job.id)
            with self.cond:
                self._finish(job, "failed", f"internal error: {exc}", AutoCullError(f"internal error: {exc}"))
        finally:
            if analyzer is not None:
                analyzer.close()

    def _cancel_cause(self) -> AutoCullError:
        """Why a job stops early: the daemon going away (try again later) or a client's CancelJob."""
        return Unavailable(SHUTTING_DOWN) if self.stopping else Cancelled("the job was cancelled")

    def _finish(self, job: Job, state: str, message: str, error: Optional[AutoCullError] = None) -> None:
        job.state, job.message, job.finished, job.error = state, message, time.time(), error
        if state != "done":
            job.stage = state
            job.counts = job.counts_so_far
        self.cond.notify_all()

    def _prune(self) -> None:
        """Forget the oldest finished jobs beyond ``keep_finished`` or beyond ``keep_bytes`` of decisions held
        (a few culls of 100,000 photos must not hold gigabytes); the newest finished job is always kept."""
        finished = sorted((j for j in self.jobs.values() if j.state in FINISHED), key=lambda j: j.finished)
        held = sum(j.size for j in finished)
        for j in finished[:-1]:
            if len(finished) <= self._keep and held <= self._keep_bytes:
                break
            del self.jobs[j.id]
            finished = finished[1:]
            held -= j.size

    def get(self, job_id: str) -> Job:
        with self.cond:
            job = self.jobs.get(job_id)
        if job is None:
            raise NotFound(f"no job {job_id!r} (finished jobs are kept for a while, then forgotten)")
        return job

    def cancel(self, job_id: str) -> Job:
        job = self.get(job_id)
        with self.cond:
            if job.state not in FINISHED:
                job.cancel_requested = True
                self.cond.notify_all()
        return job

    def wait_finished(self, job: Job) -> Job:
        """Block until the job ends (the blocking Cull). A job that did not finish raises its cause."""
        with self.cond:
            self._waiters += 1
            try:
                self.cond.wait_for(lambda: job.state in FINISHED)
            finally:
                self._waiters -= 1
                self.cond.notify_all()
        if job.state != "done":
            raise job.error or AutoCullError(job.message or f"the job ended {job.state}")
        return job

    def wait_change(self, job: Job, seen: tuple, timeout: float = 1.0) -> tuple:
        """Block until the job's progress differs from ``seen`` (for streaming)."""

        def snapshot() -> tuple:
            return (job.state, job.stage, job.done, len(job.decisions))

        with self.cond:
            self.cond.wait_for(lambda: snapshot() != seen, timeout=timeout)
            return snapshot()

    def running(self) -> int:
        with self.cond:
            return sum(1 for j in self.jobs.values() if j.state in ("queued", "running"))

    def shutdown(self, *, grace: float = 10.0) -> None:
        """Cancel what runs (the store stays consistent: each photo is one transaction) and wait.

        Blocking Culls are woken with UNAVAILABLE; they get up to ``grace`` seconds to take their
        answer before the transports close.
        """
        with self.cond:
            self.stopping = True
            for j in self.jobs.values():
                if j.state not in FINISHED:
                    j.cancel_requested = True
            self.cond.notify_all()
        self._runner.shutdown(wait=True, cancel_futures=False)
        with self.cond:
            self.cond.wait_for(lambda: self._waiters == 0, timeout=grace)
