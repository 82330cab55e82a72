"""Analysis in worker processes: ``pipeline.Analyzer`` on a pool of processes on this machine.

Why processes: the measure stage is Python and NumPy glue between native calls, so threads share one GIL
(two analysis threads ran 1.09x one); and a native crash (a segfault in LibRaw, libjpeg or a model runtime)
or the OOM killer ends only the worker it hits, not the daemon.

- Workers start from a forkserver on Linux (the pipeline's modules preloaded there once, so a new worker
  starts warm and no thread of the daemon is ever forked), by ``spawn`` elsewhere (macOS, Windows). The face
  models load in each worker on first use and stay loaded while the pool lives.
- The pool starts on first use, not with the daemon, and is released after ``idle_seconds`` without work
  (an idle daemon does not hold a copy of the models per core).
- A few files per task (``pipeline.attempt_batch``) and a bounded number of tasks in flight: memory stays
  flat whatever the number of files; only a result's CLIP pixels (when asked) cross back besides the analysis.
  Paths are pulled from the caller's iterable as tasks are sent, so the caller may check each one lazily.
- The workers of one pool draw their decodes from one pixel budget (``budget.PixelBudget`` made from the
  pool's context): several huge images decode one after another across the pool, as they did across the
  threads of one process, instead of one per worker at once. A pool replaced after a crash gets a new budget
  (the dead worker may have died holding pixels); a process re-running files alone has one of its own.
- A worker that dies breaks every task in flight (``BrokenProcessPool``; a death the executor missed is seen
  here within a ``SLICE`` and the pool's other workers killed, see ``_dead_worker``): the pool is replaced and
  the files of the broken tasks are run again one at a time, each alone in a process of its own, so the file that kills
  its process alone is known. It lands in the failure lane (``WorkerCrashed``); the others are analysed.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
import weakref
from collections import deque
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from itertools import islice
from multiprocessing.connection import wait as wait_ready
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from . import budget, pipeline
from .budget import DEFAULT_PIXEL_BUDGET, PixelBudget
from .errors import FailedPrecondition, WorkerCrashed
from .pipeline import AnalysisSettings, Outcome

log = logging.getLogger(__name__)

BATCH = 4  # files per task: a round trip costs a little, and a crash sends at most this many files to be re-run
IDLE_SECONDS = 180.0  # the default of config.worker_idle_seconds
# What the forkserver imports once, so each worker forked from it starts with them loaded (mediapipe starts
# no thread at import, so forking after it is safe; its models are made in each worker, after the fork).
PRELOAD = ["autocull.workers", "autocull.pipeline", "autocull.decode", "autocull.measure", "mediapipe"]

# Fault injection, for tests only: a worker that meets a file whose path contains this text kills itself with
# SIGKILL, as a decoder's segfault or the OOM killer would (no real input crashes a decoder on demand). Read in
# the parent when a pool starts and handed to each worker (a forkserver keeps the environment it started with).
FAULT_KILL_ON = "AUTOCULL_FAULT_KILL_ON"
# The same, but the worker dies while holding the whole pixel budget, as a decoder crashing mid-decode would.
FAULT_KILL_HOLDING = "AUTOCULL_FAULT_KILL_HOLDING"
# The same, but the worker hangs (sleeps for good), as a decoder stuck in a loop on a crafted file would.
FAULT_HANG_ON = "AUTOCULL_FAULT_HANG_ON"
# Any text: a worker's start-up fails (as a broken install, a full /dev/shm or an fd limit would make it).
FAULT_WORKER_START = "AUTOCULL_FAULT_WORKER_START"
# The same, but the worker takes SLOW_SECONDS longer over the file: a healthy slow file (deadline tests).
FAULT_SLOW_ON = "AUTOCULL_FAULT_SLOW_ON"
SLOW_SECONDS = 2.0
Faults = tuple[Optional[str], ...]  # (kill on, kill holding, hang on, start fails, slow on): None when unset

FILE_TIMEOUT = 300.0  # the default of config.file_timeout_seconds: seconds one file may take in a worker
SLICE = 1.0  # seconds between two looks at cancel, close and deadlines while waiting for workers
CANCEL_GRACE = 5.0  # seconds a cancelled call waits for its running tasks before their workers are stopped
CLOSE_WAIT = 10.0  # seconds close() waits for the workers to finish before killing them


class WorkersClosed(Exception):
    """The analyzer was closed (the daemon is stopping) while a call was still running: it ends with this."""


def context() -> Any:
    """forkserver on Linux (warm, fork-safe), spawn elsewhere (macOS: fork is unsafe with its frameworks;
    Windows: the only one)."""
    if sys.platform.startswith("linux"):
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)  # takes effect when the forkserver starts (once per process)
        return ctx
    return multiprocessing.get_context("spawn")


# ------------------------------------------------------------------ in the worker --
_faults: Faults = (None, None, None, None, None)


def _init_worker(faults: Faults, pixels: PixelBudget) -> None:
    """Each worker's start: a watch on the daemon; the pool's pixel budget; the fault seams (tests only); SIGINT
    left to the parent (Ctrl+C stops the daemon, which shuts the pool down)."""
    global _faults
    _exit_with_parent()
    _faults = faults
    if faults[3]:
        raise RuntimeError(f"fault injected by {FAULT_WORKER_START}")
    budget.install(pixels)
    if hasattr(signal, "SIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _exit_with_parent() -> None:
    """End this process when the daemon that started it is gone, however it went (SIGKILL, a crash).

    A worker never sees EOF on its own: it holds both ends of the pool's call queue (and, from a forkserver,
    the server's alive pipe), so without this every idle worker of a killed daemon stays forever, holding its
    face models, and so does the forkserver (it exits once the last worker has let go of its alive pipe).
    ``parent_process()`` is the daemon for a forkserver's child too (its sentinel is the daemon's pipe)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait_ready([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _check_fault(path: str) -> None:
    kill_on, kill_holding, hang_on, _, slow_on = _faults
    if slow_on and slow_on in path:
        time.sleep(SLOW_SECONDS)
    if hang_on and hang_on in path:
        while True:
            time.sleep(3600)
    if kill_on and kill_on in path:
        os.kill(os.getpid(), signal.SIGKILL)
    if kill_holding and kill_holding in path:
        pixels = budget.current()
        with pixels.hold(pixels.capacity):
            os.kill(os.getpid(), signal.SIGKILL)


def _models() -> list[str]:
    faces = sys.modules.get("autocull.measure.faces")
    return list(faces.models_loaded()) if faces is not None and hasattr(faces, "models_loaded") else []


def run_batch(paths: Sequence[str], settings: AnalysisSettings) -> tuple[list[Outcome], list[str]]:
    """One task: the outcomes of a few files (``pipeline.attempt_batch``) and the models this worker has
    loaded (the daemon's status lists them)."""
    for path in paths:
        _check_fault(path)
    return pipeline.attempt_batch(paths, settings), _models()


def _run_alone(conn: Any, faults: Faults, capacity: int) -> None:
    """A process that analyses one file per request on ``conn`` until told to stop (None); it decodes one file
    at a time, so a budget of its own (new with each such process) bounds it as the pool's would. It says
    "ready" once started, or why it could not start."""
    try:
        _init_worker(faults, PixelBudget(capacity))
    except BaseException as exc:
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        raise
    conn.send(("ready", ""))
    while True:
        request = conn.recv()
        if request is None:
            return
        path, settings = request
        _check_fault(path)
        conn.send(pipeline.attempt(path, settings))


# ------------------------------------------------------------------ in the parent --
def timeout_reason(path: str, seconds: float) -> WorkerCrashed:
    """The failure-lane error of a file that was still being analysed, alone, after ``seconds``."""
    return WorkerCrashed(
        f"{path}: analysing this file took longer than {seconds:g} s, so it was stopped (its decoder hung on it; "
        "the limit is file_timeout_seconds in config.toml)"
    )


# Windows exit codes of a process a native fault ended (NTSTATUS), as Python reports them (unsigned).
NTSTATUS = {
    0xC0000005: "an access violation (a native crash)",
    0xC00000FD: "a stack overflow",
    0xC0000409: "a stack buffer overrun (a native crash)",
    0xC000001D: "an illegal instruction",
    0xC0000094: "an integer division by zero",
    0xC0000017: "running out of memory",
    0xC000013A: "Ctrl+C",
}


class WorkersCannotStart(FailedPrecondition):
    """A worker process died before it could take a file: the environment's fault (a broken install, a full
    /dev/shm, an fd limit, a script without a __main__ guard under spawn), not any file's."""


def crash_reason(path: str, exitcode: Optional[int]) -> WorkerCrashed:
    """The failure-lane error of a file whose process ended without answering."""
    if exitcode is not None and (exitcode & 0xFFFFFFFF) in NTSTATUS:
        how = f"ended by {NTSTATUS[exitcode & 0xFFFFFFFF]}, code 0x{exitcode & 0xFFFFFFFF:08X}"
    elif exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        how = f"ended by signal {name}"
        if -exitcode == getattr(signal, "SIGKILL", -1):
            how += ": a native crash, or the system ran out of memory and killed it"
    else:
        how = f"exited with code {exitcode}"
    return WorkerCrashed(f"{path}: the decoder crashed on this file (worker process {how})")


class _Alone:
    """One process that runs files one at a time, so a crash (or a hang) is that file's: used only to re-run
    the files of tasks a dead or stuck worker broke. Replaced after each crash; closed when the re-runs are done."""

    def __init__(self, ctx: Any, faults: Faults, capacity: int, timeout: float) -> None:
        self._ctx, self._faults, self._capacity, self._timeout = ctx, faults, capacity, timeout
        self._proc: Any = None
        self._conn: Any = None

    def run(self, path: str, settings: AnalysisSettings, stop: Callable[[], bool]) -> Optional[Outcome]:
        """The file's outcome: its analysis, or its crash or timeout as a ``WorkerCrashed``; None once ``stop()``
        (the process is killed: its answer is not wanted)."""
        if self._proc is not None and not self._proc.is_alive():
            self._kill()  # it died between files (none of them was in it): not this file's doing
        for tries_left in (1, 0):
            if self._proc is None and not self._start(stop):
                return None
            try:
                self._conn.send((path, settings))
                break
            except OSError:  # it died just now, before it had the file: once more on a new process
                code = self._kill()
                if not tries_left:
                    return crash_reason(path, code)
        deadline = time.monotonic() + self._timeout
        try:
            while not wait_ready([self._conn, self._proc.sentinel], timeout=SLICE):
                if stop():
                    self._kill()
                    return None
                if time.monotonic() >= deadline:
                    self._kill()
                    return timeout_reason(path, self._timeout)
            if self._conn.poll():
                outcome: Outcome = self._conn.recv()
                return outcome
        except (EOFError, OSError):
            pass
        except Exception as exc:  # an answer that would not unpickle: the file's problem, said as such
            self._kill()
            return WorkerCrashed(f"{path}: the worker's answer for this file could not be read ({exc})")
        return crash_reason(path, self._kill())

    def _start(self, stop: Callable[[], bool]) -> bool:
        """Start the process and wait for its "ready"; False once ``stop()``. Raises WorkersCannotStart if it
        dies (or says it failed) before that: no file is to blame."""
        self._conn, child = self._ctx.Pipe()
        self._proc = self._ctx.Process(target=_run_alone, args=(child, self._faults, self._capacity), daemon=True)
        self._proc.start()
        child.close()
        why = ""
        try:
            while not wait_ready([self._conn, self._proc.sentinel], timeout=SLICE):
                if stop():
                    self._kill()
                    return False
            if self._conn.poll():
                state, why = self._conn.recv()
                if state == "ready":
                    return True
        except Exception as exc:  # EOF, a broken pipe, garbage: it did not start
            why = why or f"{type(exc).__name__}: {exc}"
        code = self._kill()
        raise WorkersCannotStart(
            f"analysis workers cannot start: {why or f'the worker process exited with code {code}'} "
            "(see the daemon's log; nothing is wrong with the photos)"
        )

    def _kill(self) -> Optional[int]:
        """End the process (it crashed, hung, or is not wanted any more); its exit code."""
        self._proc.kill()
        self._proc.join()
        code: Optional[int] = self._proc.exitcode
        self._conn.close()
        self._proc = self._conn = None
        return code

    def close(self) -> None:
        if self._proc is None:
            return
        try:
            self._conn.send(None)
        except OSError:
            pass
        self._proc.join(timeout=10)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._conn.close()
        self._proc = self._conn = None


class ProcessAnalyzer:
    """``pipeline.Analyzer`` on a pool of worker processes, shared by every job and the watcher of an engine
    (thread-safe); see the module's docstring."""

    def __init__(
        self,
        workers: int,
        idle_seconds: float = IDLE_SECONDS,
        batch: int = BATCH,
        pixel_budget: int = DEFAULT_PIXEL_BUDGET,
        file_timeout: float = FILE_TIMEOUT,
    ) -> None:
        self.workers = max(1, workers)
        self.file_timeout = file_timeout  # seconds a file may take (a task of n: (n + batch) times it, see _overdue)
        self.idle_seconds = idle_seconds
        self.batch = max(1, batch)
        self.pixel_budget = pixel_budget  # decoded pixels the whole pool holds at once
        self.budget: Optional[PixelBudget] = None  # the running (or last) pool's, made with it
        self._lock = threading.Lock()
        self._pool: Optional[ProcessPoolExecutor] = None
        self._active = 0  # analyze calls running: the pool is never released under one
        self._last_used = time.monotonic()
        self._wake = threading.Condition(self._lock)
        self._reaper: Optional[threading.Thread] = None
        self._closed = False
        self._stopped: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()  # pools whose workers were killed
        self._models: set[str] = set()
        self.replaced = 0  # pools replaced after a worker died (status and tests)

    # ---------------------------------------------------------------- pool --
    def _executor(self) -> ProcessPoolExecutor:
        """The pool, started on first use (and again after an idle release or a crash)."""
        with self._lock:
            if self._closed:
                raise WorkersClosed("the analysis workers were closed (the daemon is stopping)")
            if self._pool is None:
                ctx = context()
                self.budget = PixelBudget(self.pixel_budget, ctx)  # new with each pool: none held by the dead
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=ctx, initializer=_init_worker, initargs=(_fault_setting(), self.budget)
                )
                if self._reaper is None and self.idle_seconds > 0:
                    self._reaper = threading.Thread(target=self._reap, name="workers-idle", daemon=True)
                    self._reaper.start()
            return self._pool

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """Drop a broken pool (once, however many tasks saw it break); the next task starts a new one."""
        with self._lock:
            if self._pool is not broken:
                return
            self._pool = None
            self._models.clear()
            self.replaced += 1
        log.warning("an analysis worker died; starting new workers and re-running its files one at a time")
        # Its futures already hold the error. The executor terminated the workers it knew of, but one it was
        # starting on demand as the pool broke is missed, takes a task and may wait for good (for pixels the
        # dead one held): killed here, or the executor's thread waits on it forever (and so does exit).
        _kill_pool(broken, cancel=False)

    def _terminate(self, pool: ProcessPoolExecutor, why: str) -> None:
        """Kill the workers of a pool a task hung in, and drop it: its other tasks break and are re-run alone
        (as after a crash); the next task starts a new pool."""
        with self._lock:
            if pool in self._stopped:
                return
            self._stopped.add(pool)
            if self._pool is pool:
                self._pool = None
                self._models.clear()
                self.replaced += 1
        log.warning("stopping the analysis workers: %s", why)
        _kill_pool(pool)

    def _reap(self) -> None:
        """Release the pool once no call has used it for ``idle_seconds`` (woken as each call ends)."""
        with self._lock:
            while not self._closed:
                if self._pool is None or self._active > 0:
                    self._wake.wait()
                    continue
                idle_for = time.monotonic() - self._last_used
                if idle_for < self.idle_seconds:
                    self._wake.wait(self.idle_seconds - idle_for)
                    continue
                pool, self._pool = self._pool, None
                self._models.clear()
                self._lock.release()
                try:
                    log.info("analysis workers idle for %.0f s: released", idle_for)
                    _kill_pool(pool, CLOSE_WAIT)  # bounded: a task an abandoned call left hung must not hold it
                finally:
                    self._lock.acquire()
            self._reaper = None

    @property
    def running(self) -> bool:
        """Whether worker processes are up now."""
        with self._lock:
            return self._pool is not None

    def worker_pids(self) -> list[int]:
        """The process ids of the running workers (tests kill one to play the OOM killer)."""
        with self._lock:
            procs = getattr(self._pool, "_processes", None) or {}  # the executor keeps no public list
            return sorted(procs)

    def models_loaded(self) -> list[str]:
        """The models the running workers have loaded."""
        with self._lock:
            return sorted(self._models)

    def close(self) -> None:
        """Stop the workers: those still working get ``CLOSE_WAIT`` seconds, then are killed (a hung file never
        holds up the daemon's stop); a call still running ends with ``WorkersClosed``."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
            self._wake.notify_all()
        if pool is not None:
            _kill_pool(pool, CLOSE_WAIT)

    # ------------------------------------------------------------- analyse --
    def analyze(
        self, paths: Iterable[str], settings: AnalysisSettings, cancelled: Callable[[], bool]
    ) -> Iterator[tuple[str, Outcome]]:
        """``pipeline.Analyzer.analyze``. The files of tasks a dead worker broke are re-run one at a time; once
        ``cancelled()``, no file is submitted and a broken task's files are not re-run (nor yielded)."""
        with self._lock:
            self._active += 1
        try:
            yield from self._analyze(paths, settings, cancelled)
        finally:
            with self._lock:
                self._active -= 1
                self._last_used = time.monotonic()
                self._wake.notify_all()

    def _analyze(
        self, paths: Iterable[str], settings: AnalysisSettings, cancelled: Callable[[], bool]
    ) -> Iterator[tuple[str, Outcome]]:
        batches = self._batches(iter(paths))
        limit = 2 * self.workers  # tasks in flight: every worker busy, one more waiting each
        pending: dict[Future, tuple[ProcessPoolExecutor, list[str]]] = {}
        started: dict[Future, float] = {}  # when each task was first seen running: its deadline counts from there
        again: deque[list[str]] = deque()  # tasks a stopped pool never started: sent again as they were
        alone: Optional[_Alone] = None
        cancel_seen: Optional[float] = None

        def stop() -> bool:
            return cancelled() or self._closed

        try:
            while True:
                while len(pending) < limit and not stop():
                    batch = again.popleft() if again else next(batches, None)
                    if batch is None:
                        break
                    pending.update(self._submit(batch, settings))
                if not pending:
                    break
                done, _ = wait(pending, timeout=SLICE, return_when=FIRST_COMPLETED)
                cancel_seen = self._overdue(pending, started, stop, cancel_seen)
                # A cancelled future is "done" for wait() only once its executor notices it, which a stopped
                # pool never does: it is taken as done here.
                done |= {fut for fut in pending if fut.cancelled()}
                for fut in done:
                    pool, batch = pending.pop(fut)
                    started.pop(fut, None)
                    try:
                        outcomes, models = fut.result()
                    except CancelledError:  # never started: cancelled here, or its pool was stopped under it
                        if not stop():
                            again.append(batch)  # no suspect: it goes to the next pool as it was
                        continue
                    except BrokenProcessPool:  # a worker died, or was killed as it hung
                        self._replace(pool)
                        if stop():
                            continue
                        alone = alone or _Alone(context(), _fault_setting(), self.pixel_budget, self.file_timeout)
                        for path in batch:
                            outcome = alone.run(path, settings, stop)
                            if outcome is None:
                                break
                            yield path, outcome
                        continue
                    except Exception as exc:  # the task itself failed (a result that would not pickle): a defect
                        log.error("analysis task failed: %r", exc)
                        for path in batch:
                            yield path, pipeline.as_problem(path, exc)
                        continue
                    with self._lock:
                        self._models.update(models)
                    yield from zip(batch, outcomes)
            if self._closed:
                raise WorkersClosed("the analysis workers were closed (the daemon is stopping)")
        finally:
            for fut in pending:
                fut.cancel()
            if alone is not None:
                alone.close()

    def _overdue(
        self,
        pending: dict[Future, tuple[ProcessPoolExecutor, list[str]]],
        started: dict[Future, float],
        stop: Callable[[], bool],
        cancel_seen: Optional[float],
    ) -> Optional[float]:
        """Between two waits: a pool one of whose workers died has its other workers killed (the executor may
        not have seen the death, see ``_dead_worker``), so its tasks break and their files are re-run alone. A task
        running longer than its files' deadline has its pool's workers killed (its
        files are then re-run alone, each with the deadline). Once cancelled, the tasks not started are
        cancelled and the running ones get ``CANCEL_GRACE`` seconds before their workers are killed too.
        Returns when the cancel was first seen."""
        now = time.monotonic()
        for pool in {pool for fut, (pool, _) in pending.items() if not fut.done()}:
            dead = _dead_worker(pool)
            if dead is not None:
                self._terminate(pool, f"worker process {dead} died and its pool had not noticed")
        for fut, (pool, batch) in list(pending.items()):
            if fut.done():  # finished (or broke) at its deadline: nothing left to stop
                continue
            if fut.running():
                started.setdefault(fut, now)
            # "Running" means moved into the executor's call queue, which holds one task more than there are
            # workers: the clock may include a task ahead of it on its worker, so that task's files count too.
            if fut in started and now - started[fut] > (len(batch) + self.batch) * self.file_timeout:
                self._terminate(pool, f"a task ran past {self.file_timeout:g} s a file; its files are run again alone")
        if not stop():
            return None
        for fut in pending:
            fut.cancel()  # only those no worker has taken yet
        if cancel_seen is None:
            return now
        if now - cancel_seen > CANCEL_GRACE:
            for pool in {pool for pool, _ in pending.values()}:
                self._terminate(pool, f"cancelled, and tasks still running after {CANCEL_GRACE:g} s")
        return cancel_seen

    def _batches(self, paths: Iterator[str]) -> Iterator[list[str]]:
        """The tasks' files, pulled as tasks are sent. A small job is spread over every worker (the first
        ``workers * batch`` paths are read ahead to tell); a big one goes ``batch`` files per task."""
        head = list(islice(paths, self.workers * self.batch))
        size = max(1, min(self.batch, math.ceil(len(head) / self.workers)))
        for k in range(0, len(head), size):
            yield head[k : k + size]
        while chunk := list(islice(paths, size)):
            yield chunk

    def _submit(
        self, batch: list[str], settings: AnalysisSettings
    ) -> dict[Future, tuple[ProcessPoolExecutor, list[str]]]:
        """Submit one task; a pool that broke before this task reached it is replaced and the task goes to
        the new one (it never ran, so it is no suspect)."""
        for _ in range(3):
            pool = self._executor()
            try:
                return {pool.submit(run_batch, batch, settings): (pool, batch)}
            except BrokenProcessPool:
                self._replace(pool)
            except RuntimeError:  # "cannot schedule new futures after shutdown": closed, or stopped as it hung
                if self._closed:
                    raise WorkersClosed("the analysis workers were closed (the daemon is stopping)") from None
                self._replace(pool)
        raise WorkersCannotStart("analysis workers cannot start: they keep dying as they start (see the daemon's log)")


def _fault_setting() -> Faults:
    names = (FAULT_KILL_ON, FAULT_KILL_HOLDING, FAULT_HANG_ON, FAULT_WORKER_START, FAULT_SLOW_ON)
    return tuple(os.environ.get(name) or None for name in names)


def _dead_worker(pool: ProcessPoolExecutor) -> Optional[int]:
    """The pid of a worker of ``pool`` that has ended, or None.

    The executor notices a dead worker only through the sentinels its manager thread waits on, and that list
    is taken before a worker started on demand is registered (``submit`` wakes the thread, then starts the
    process): a worker that dies while left out of the list goes unseen until some other task answers. If
    the others wait for pixels the dead one held in the pool's budget, none ever does, and the call would
    hang until the files' deadline. Looked at here every ``SLICE``, without reading the exit code (the
    executor's thread reads it)."""
    procs = list((getattr(pool, "_processes", None) or {}).items())  # the executor keeps no public list
    try:
        ended = set(wait_ready([proc.sentinel for _, proc in procs], timeout=0)) if procs else set()
    except (OSError, ValueError):  # a sentinel closed as the executor shut down: nothing to stop any more
        return None
    return next((pid for pid, proc in procs if proc.sentinel in ended), None)


def _kill_pool(pool: ProcessPoolExecutor, wait_for: float = 0.0, cancel: bool = True) -> None:
    """Shut a pool down without waiting on a hung worker: ``wait_for`` seconds for its workers to finish, then
    they are killed (the executor then fails what they held with BrokenProcessPool). ``cancel``: its tasks not
    started yet are cancelled (not for a broken pool: its futures hold the error already)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # the executor keeps no public list
    pool.shutdown(wait=False, cancel_futures=cancel)
    deadline = time.monotonic() + wait_for
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        if proc.is_alive():
            proc.kill()
    for proc in procs:
        proc.join(5)
