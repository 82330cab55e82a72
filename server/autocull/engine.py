"""The engine: the one core object the daemon, the CLI and the watcher share.

It turns paths into decisions: scan -> analyse what the store does not have
(decode + measure, in worker processes:
``workers.ProcessAnalyzer``) -> decide from stored analyses, a chunk at
a time, with burst context from the store -> apply (``apply.Verdicts``, the only
writer of verdicts, under the active policy). It speaks domain records only;
the RPC layer converts them to protobuf.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Protocol, Sequence

import numpy as np

from . import ANALYZER_VERSION, __version__, bursts, library, pipeline
from .apply import CHUNK, ActivePolicy, Verdicts, policy_or_active
from .config import DB_FILE, Config, default_home, ensure_home
from .decide import decide_all, verdict_rows
from .errors import AutoCullError, FailedPrecondition, FileProblem, InvalidArgument, NotFound

# The library's names, still importable from here (the watcher's rules, the CLI, the RPC layer and the jobs use
# them); ``_merge``/``_windows`` are the burst-window helpers ``_burst_context`` uses.
from .library import IMAGE_EXTENSIONS, RAW_EXTENSIONS, image_files, is_image_name, normalise_request_path, stat_photo
from .library import merge_windows as _merge
from .library import uncovered_windows as _windows
from .pipeline import AnalysisSettings, FileResult
from .policy import BUILTIN_PRESETS, Policy, parse_stored
from .records import Analysis, Decision
from .store import Store
from .taste.service import BACKFILL_SIZE, Taste
from .thumbs import THUMB_SIZE, ThumbCache
from .workers import ProcessAnalyzer, WorkersClosed

__all__ = [
    "IMAGE_EXTENSIONS",
    "RAW_EXTENSIONS",
    "Cancelled",
    "Counts",
    "CullResult",
    "Engine",
    "Progress",
    "QuietProgress",
    "image_files",
    "is_image_name",
    "normalise_request_path",
    "stat_photo",
]

log = logging.getLogger(__name__)

# Analyses stored per transaction (and embedded per CLIP batch) by the one writer; a batch is written once it
# is this full or its first result this old, so a slow file never holds the others back for long.
WRITE_BATCH = 32
WRITE_SECONDS = 1.0


@dataclass
class Counts:
    total: int = 0
    keep: int = 0
    review: int = 0
    reject: int = 0
    failed: int = 0
    bursts: int = 0
    analyzed: int = 0
    cached: int = 0
    _burst_ids: set[str] = field(default_factory=set, repr=False, compare=False)

    @classmethod
    def of(cls, decisions: Sequence[Decision]) -> "Counts":
        """Verdict, failure and burst counts over a set of decisions."""
        counts = cls()
        for d in decisions:
            counts.add(d)
        return counts

    def add(self, d: Decision) -> None:
        """Count one more decision (bursts by their distinct ids; a bracket is no burst)."""
        self.total += 1
        if d.error_code:
            self.failed += 1
        elif d.verdict in ("keep", "review", "reject"):
            setattr(self, d.verdict, getattr(self, d.verdict) + 1)
        if d.burst_id and not d.bracket:
            self._burst_ids.add(d.burst_id)
            self.bursts = len(self._burst_ids)


@dataclass
class CullResult:
    decisions: list[Decision] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)


class Progress(Protocol):
    """What a running job is told; the job manager implements it."""

    def stage(self, name: str, total: int) -> None: ...
    def advance(self, path: str) -> None: ...
    def emit(self, decisions: Sequence[Decision]) -> None: ...
    def cancelled(self) -> bool: ...


class QuietProgress:
    """Progress nobody watches; cancelled once ``stop`` (if given) is set, e.g. by a stopping daemon."""

    def __init__(self, stop: Optional[threading.Event] = None) -> None:
        self._stop = stop

    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, path: str) -> None:
        pass

    def emit(self, decisions: Sequence[Decision]) -> None:
        pass

    def cancelled(self) -> bool:
        return self._stop is not None and self._stop.is_set()


class Cancelled(AutoCullError):
    code = "CANCELLED"


class _Gauge:
    """A count several threads change (jobs and the watcher share the pool): locked, never below zero."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    def add(self, n: int) -> None:
        with self._lock:
            self._value = max(0, self._value + n)

    @property
    def value(self) -> int:
        with self._lock:
            return self._value


class Engine:
    def __init__(self, home: Path, config: Config, store: Store) -> None:
        self.home = home
        self.config = config
        self.store = store
        self.started = time.time()
        self._decodes = _Gauge()
        self._reported: set[tuple[str, str]] = set()  # bad stored values already logged (once each)
        self.verdicts = Verdicts(store, self._decide_set, self._verdict_rows)
        # worker processes, started on the first file to analyse (never at start-up) and kept while used
        self.analyzer = ProcessAnalyzer(
            config.worker_count(),
            config.worker_idle_seconds,
            pixel_budget=config.pixel_budget,
            file_timeout=config.file_timeout_seconds,
        )
        self._queue = _Gauge()
        self.taste = Taste(
            store,
            config.clip_settings(),
            self._vectors_arrived,
            active_profile=lambda: self.policy.profile,
            min_labels=lambda: self.policy.preference_min_labels,
            max_pixels=config.max_pixels,
        )

    @classmethod
    def open(cls, home: Optional[Path] = None, config: Optional[Config] = None) -> "Engine":
        home = ensure_home(Path(home) if home else default_home())
        config = config or Config.load(home)
        engine = cls(home, config, Store(home / DB_FILE))
        engine.verdicts.catch_up()
        return engine

    def close(self, sidecar_timeout: Optional[float] = None) -> None:
        """Stop: analysis, taste, then the sidecar writer (it writes what apply queued, up to
        ``sidecar_timeout`` seconds, then drops the rest with a warning), then the store."""
        self.analyzer.close()
        self.taste.stop()
        self.verdicts.sidecars.close(sidecar_timeout)
        self.store.close()

    def flush_sidecars(self, timeout: Optional[float] = None) -> bool:
        """Wait until the sidecars of every verdict stored so far are written (False on timeout)."""
        return self.verdicts.sidecars.flush(timeout)

    def _vectors_arrived(self, paths: Sequence[str]) -> None:
        """New CLIP vectors or a new taste model: store the verdicts of the photos they touch anew (apply)."""
        stored = [p for p in paths if p] if paths else []
        for start in range(0, len(stored), CHUNK):
            self.verdicts.apply(stored[start : start + CHUNK])

    # ---------------------------------------------------------------- policy --
    def _stored_values(self, body: str, what: str) -> dict[str, Any]:
        """The valid values of a stored policy or preset; what was dropped is logged once per engine."""
        kept, dropped = parse_stored(body)
        for why in dropped:
            if (what, why) not in self._reported:
                self._reported.add((what, why))
                log.warning("%s: %s", what, why)
        return kept

    @property
    def policy(self) -> Policy:
        return self.verdicts.active.policy

    @property
    def queue_depth(self) -> int:
        """Files waiting for or in analysis, over every running job."""
        return self._queue.value

    @property
    def preset(self) -> str:
        return self.verdicts.active.preset

    def presets(self) -> dict[str, tuple[str, dict[str, Any], bool]]:
        """name -> (description, values, builtin)."""
        out = {n: (d, v, True) for n, (d, v) in BUILTIN_PRESETS.items()}
        for name, (desc, body) in self.store.presets().items():
            out[name] = (desc, self._stored_values(body, f"the stored preset {name!r}"), False)
        return out

    def resolve_policy(self, overrides: Optional[Mapping[str, Any]] = None, preset: str = "") -> Policy:
        base = self.policy
        if preset:
            base = self._preset_policy(preset)
        return base.with_values(overrides) if overrides else base

    def _preset_policy(self, name: str) -> Policy:
        presets = self.presets()
        if name not in presets:
            raise NotFound(f"no preset named {name!r}; presets: {', '.join(sorted(presets))}")
        return Policy().with_values(presets[name][1])

    def set_policy(
        self, values: Optional[Mapping[str, Any]] = None, *, preset: str = "", reset: bool = False, save_as: str = ""
    ) -> tuple[Policy, int, int]:
        """Change the active policy and re-decide every stored photo. Returns (policy, redecided, changed)."""
        if save_as in BUILTIN_PRESETS:
            raise InvalidArgument(f"{save_as!r} is a built-in preset; choose another name")

        def build(active: ActivePolicy) -> tuple[Policy, str]:  # under the apply lock: no change is lost
            base = Policy() if reset else active.policy
            if preset:
                base = self._preset_policy(preset)
            new = base.with_values(values or {})
            if save_as:
                self.store.save_preset(save_as, _diff_from_default(new), "saved by the user")
            return new, preset or save_as or ("" if reset or values else active.preset)

        return self.verdicts.change(build)

    # ------------------------------------------------------------------ scan --
    def scan(self, paths: Sequence[str], *, top_level_only: bool = False) -> tuple[list[str], list[Decision]]:
        """Expand folders into image files (``library.scan``). Bad entries become failed decisions, never
        exceptions."""
        files, problems = library.scan(paths, top_level_only=top_level_only)
        return files, [self._fail(path, exc) for path, exc in problems]

    # --------------------------------------------------------------- analyse --
    @property
    def decodes(self) -> int:
        return self._decodes.value

    def analysis_settings(self) -> AnalysisSettings:
        """What the per-file pipeline needs from the config; pixels for CLIP only while it can embed them."""
        return AnalysisSettings(
            analysis_size=self.config.analysis_size,
            max_pixels=self.config.max_pixels,
            faces=self.config.faces,
            clip_size=BACKFILL_SIZE if self.taste.usable else 0,
            thumb_size=THUMB_SIZE if self.config.thumbnails else 0,
        )

    def analyze_one(self, path: str, *, reanalyze: bool = False) -> tuple[Analysis, bool]:
        """(analysis, from_store). Raises FileProblem for a file that cannot be used.

        The file's status and the cache come from the library, the analysis from a worker process (so a file
        that crashes its decoder costs a worker, not this process); the store write and the CLIP vector stay
        here."""
        status = library.photo_status(path)
        if not reanalyze:
            stored = library.cached_analysis(self.store, status)
            if stored is not None:
                return stored, True
        for _, outcome in self.analyzer.analyze([path], self.analysis_settings(), lambda: False):
            self._decodes.add(1)  # handed to a decoder, whatever it found
            if not isinstance(outcome, FileResult):
                raise outcome
            refused = self._store_results([outcome])
            if refused:
                raise refused[path]
            return outcome.analysis, False
        raise AutoCullError(f"{path}: the analysis gave no answer")  # never: one path in, one outcome out

    def _store_results(self, results: Sequence[FileResult]) -> dict[str, AutoCullError]:
        """Store a batch of analyses in one transaction, keep their thumbnails and embed their CLIP pixels as one
        batch: the one writer of analyses. Returns the errors of those the store refused (a number that is not
        finite)."""
        refused = self.store.put_analyses([(r.path, r.size, r.mtime_ns, r.analysis) for r in results], ANALYZER_VERSION)
        self._keep_thumbnails(
            [(r.path, r.size, r.mtime_ns, r.thumb_jpeg) for r in results if r.thumb_jpeg and r.path not in refused]
        )
        items = [
            (r.path, r.size, r.mtime_ns, r.clip_rgb)
            for r in results
            if r.clip_rgb is not None and r.path not in refused
        ]
        if items:
            try:
                self.taste.embed_photos(items)
            except Exception:  # a failure costs the vectors, not the photos
                log.exception("could not embed %d photos", len(items))
        return {p: AutoCullError(f"{p}: internal error: {why}") for p, why in refused.items()}

    def _keep_thumbnails(self, thumbs: Sequence[tuple[str, int, int, bytes]]) -> None:
        """Keep each thumbnail made in the analysis pass under the key the analysis was stored with. A failure
        (a full disk, a read-only home) costs that thumbnail only: the report makes it later by a reduced
        decode."""
        cache = ThumbCache(self.home)
        for path, size, mtime_ns, jpeg in thumbs:
            try:
                cache.put(path, size, mtime_ns, jpeg)
            except Exception:  # OSError (ENOSPC, EROFS, EACCES) above all; never the photo's analysis
                log.exception("%s: could not keep its thumbnail", path)

    def _fail(self, path: str, exc: AutoCullError) -> Decision:
        code = exc.code if isinstance(exc, FileProblem) else "INTERNAL"
        try:
            self.store.record_failure(path, code, exc.message)
        except Exception:  # the failure lane must never take the job down with it
            log.exception("could not record failure for %s", path)
        return Decision.failed(path, code, exc.message)

    # ------------------------------------------------------------------ run --
    def run(
        self,
        paths: Sequence[str],
        *,
        policy: Optional[Policy] = None,
        top_level_only: bool = False,
        reanalyze: bool = False,
        analyze_only: bool = False,
        progress: Optional[Progress] = None,
        collect: bool = True,
        analyzer: Optional[pipeline.Analyzer] = None,
    ) -> CullResult:
        """Cull: scan, analyse what is missing, decide. Failed files are emitted at once, the rest a chunk at a time.

        The verdicts stored are always those of the active policy at the moment they are written (apply);
        ``policy`` (a one-off preset or overrides) only changes the answer. ``collect=False`` keeps only the
        counts in the result (a job takes its decisions from ``progress.emit``), so memory stays flat.
        """
        progress = progress or QuietProgress()
        progress.stage("scanning", 0)
        files, failed = self.scan(paths, top_level_only=top_level_only)
        progress.emit(failed)
        progress.stage("analyzing", len(files))
        ok: list[str] = []
        cached: set[str] = set()
        for path, outcome in self._analyze_all(files, reanalyze, progress, analyzer):
            if isinstance(outcome, Decision):
                failed.append(outcome)
                progress.emit([outcome])
            else:
                ok.append(path)
                if outcome:
                    cached.add(path)
        position = {p: k for k, p in enumerate(files)}
        ok.sort(key=position.__getitem__)  # answered in scan order, as the workers' finishing order is not
        decided: list[Decision] = []
        counts = Counts()
        progress.stage("deciding", len(ok))
        for start in range(0, len(ok), CHUNK):
            chunk = ok[start : start + CHUNK]
            if analyze_only or progress.cancelled():
                # No answer wanted, but what was analysed still gets its stored verdict (apply is what keeps
                # the store's verdicts whole); deciding is far quicker than the analysis that came before.
                self.verdicts.apply(chunk)
                continue
            answer = self._decide_and_apply(chunk, policy, cached)
            progress.emit(answer)
            for d in answer:
                counts.add(d)
            if collect:
                decided += answer
        if progress.cancelled():
            raise Cancelled("cancelled")
        for d in failed:
            counts.add(d)
        counts.cached, counts.analyzed = len(cached), len(ok) - len(cached)
        result = CullResult(counts=counts)
        if collect:
            by_path = {d.path: d for d in decided + failed}
            scanned = set(files)
            order = [p for p in files if p in by_path] + [d.path for d in failed if d.path not in scanned]
            result.decisions = [by_path[p] for p in dict.fromkeys(order)]
        progress.stage("done", len(files))
        return result

    def _decide_and_apply(self, paths: Sequence[str], policy: Optional[Policy], cached: set[str]) -> list[Decision]:
        """Store the verdicts of these analysed photos under the active policy; answer under ``policy``."""
        applied, under = self.verdicts.apply(paths)
        answer = (
            [applied[p] for p in paths if p in applied]
            if policy is None or policy == under.policy
            else self.decide_paths(paths, policy)
        )
        return [dataclasses.replace(d, cached=d.path in cached) for d in answer]

    def _analyze_all(
        self, files: Sequence[str], reanalyze: bool, progress: Progress, analyzer: Optional[pipeline.Analyzer] = None
    ):
        """Yield (path, from_store | failed Decision) as workers finish; stop submitting on cancel. Analysed
        by ``analyzer`` if given (Ray), else by this engine's worker processes."""
        yield from self._analyze_with(analyzer or self.analyzer, files, reanalyze, progress)

    def _analyze_with(self, analyzer: pipeline.Analyzer, files: Sequence[str], reanalyze: bool, progress: Progress):
        """``_analyze_all`` through an analyzer: the cache is checked here, the analyzer sees only what the
        store lacks, and what it answers is stored (and embedded) here, by this one writer, a batch at a time
        (one transaction, one CLIP batch). A file is yielded once its analysis is stored.

        The cache is checked as the analyzer asks for files, not all before the first is sent: on 100,000
        files the first is analysed at once instead of after tens of seconds of checks. A stored file is told
        to ``progress`` as soon as it is checked; checked while the analyzer waits for room, it is yielded with
        the analyzer's next answer. A long run of stored files (``most_waiting``) ends the analyzer's input:
        its tasks finish, the run is answered, and the next file to analyse starts the analyzer again."""
        most_waiting = 1024  # stored files checked and not yet yielded: what keeps this flat on any folder
        unchecked = iter(files)
        waiting: list[tuple[str, Any]] = []  # (path, True | its failed Decision), checked while the analyzer pulled
        queued = 0  # handed to the analyzer and not answered yet (the daemon's queue depth)
        batch: list[FileResult] = []
        since = time.monotonic()

        def check(path: str) -> Any:
            """None: to analyse; True: stored; or the Decision of a file that could not even be checked."""
            try:
                status = library.photo_status(path)
                stored = None if reanalyze else library.cached_analysis(self.store, status)
            except Exception as exc:
                progress.advance(path)
                return self._fail(path, pipeline.as_problem(path, exc))
            if stored is None:
                return None
            progress.advance(path)
            return True

        def feed(first: str):
            """``first``, then each file the store lacks as the analyzer asks; the others go to ``waiting``."""
            nonlocal queued
            todo: Optional[str] = first
            while todo is not None:
                queued += 1
                self._queue.add(1)
                yield todo
                todo = None
                for path in unchecked:
                    answer = check(path)
                    if answer is None:
                        todo = path
                        break
                    waiting.append((path, answer))
                    if len(waiting) >= most_waiting:
                        return

        def answer_waiting():
            ready = waiting[:]
            waiting.clear()
            yield from ready

        def flush():
            """Store the batch; yield each of its paths (or its failure, if the store refused it). The batch is
            taken before it is stored: a caller that stops while these are yielded must not store (and embed)
            it again."""
            taken = batch[:]
            batch.clear()
            if not taken:
                return
            refused = self._store_results(taken)
            for r in taken:
                yield r.path, (self._fail(r.path, refused[r.path]) if r.path in refused else False)

        try:
            while True:
                first = None
                for path in unchecked:  # answered here, at once, until a file to analyse turns up
                    if progress.cancelled():
                        return
                    answer = check(path)
                    if answer is None:
                        first = path
                        break
                    yield path, answer
                if first is None or progress.cancelled():
                    return
                for path, outcome in analyzer.analyze(feed(first), self.analysis_settings(), progress.cancelled):
                    queued -= 1
                    self._queue.add(-1)
                    progress.advance(path)
                    self._decodes.add(1)  # handed to a decoder, whatever it found
                    if isinstance(outcome, FileResult):
                        if not batch:
                            since = time.monotonic()
                        batch.append(outcome)
                        if len(batch) >= WRITE_BATCH or time.monotonic() - since >= WRITE_SECONDS:
                            yield from flush()
                    else:
                        yield path, self._fail(path, outcome)
                    yield from answer_waiting()
                yield from flush()
                yield from answer_waiting()
        except WorkersClosed as exc:  # the daemon is stopping under this job: it ends as cancelled
            raise Cancelled(str(exc)) from None
        finally:
            self._queue.add(-queued)
            if batch:  # the caller stopped early: what was analysed is still stored
                for _ in flush():
                    pass

    # --------------------------------------------------------------- decide --
    def decide_paths(self, paths: Sequence[str], policy: Optional[Policy] = None) -> list[Decision]:
        """Decisions for stored photos, with bursts grouped over the store. Reads only: no image, no write.

        Without ``policy`` (or with the active one) they are what is stored; another policy is a what-if.
        """
        chosen, version = policy_or_active(policy, self.verdicts.active)
        decisions = self._decide_set(paths, chosen)
        return [dataclasses.replace(decisions[p], cached=True, policy_version=version) for p in paths if p in decisions]

    def _decide_set(self, paths: Sequence[str], policy: Policy) -> dict[str, Decision]:
        """Decide stored photos with their stored burst neighbours (so half a burst still sees the other half).

        Returns the decisions of the photos asked for and of the neighbours in a group with one of them (a new
        best frame sets the old one aside). A neighbour in no such group is left out: its own group may reach
        beyond what was read here, so only a decision made with its whole group may be stored.
        """
        s = self._decide_inputs(paths, policy, content=True)
        decisions = decide_all(s.analyses, s.groups, policy, s.prefs, s.content)
        return {p: d for p, d in decisions.items() if p in s.settled}

    def _verdict_rows(self, paths: Sequence[str], policy: Policy) -> dict[str, tuple[str, int, float]]:
        """(verdict, stars, quality) of what ``_decide_set`` decides, as it would store them, with no decision
        built (a policy change stores only these; see ``decide.verdict_rows``)."""
        s = self._decide_inputs(paths, policy, content=False)
        rows = verdict_rows(s.analyses, s.groups, policy, s.prefs)
        return {p: r for p, r in rows.items() if p in s.settled}

    def _decide_inputs(self, paths: Sequence[str], policy: Policy, *, content: bool) -> "_DecideInputs":
        """What deciding stored photos reads: their analyses and their burst neighbours', taste terms, groups.

        ``settled``: the photos asked for and the neighbours in a group with one of them (a new best frame sets
        the old one aside). A neighbour in no such group is left out: its own group may reach beyond what was
        read here, so only a decision made with its whole group may be stored. ``content=False``: content
        labels are left unread (they only make keywords, which a verdict row does not hold)."""
        analyses = self.store.analyses(paths)
        context = self._burst_context(analyses, policy)
        everything = {**context, **analyses}
        vectors, prefs, labels = self._taste_terms(list(everything), policy, content=content)
        groups = (
            bursts.group([bursts.BurstItem.from_analysis(p, a, vectors.get(p)) for p, a in everything.items()], policy)
            if len(everything) > 1
            else []
        )
        settled = set(analyses)
        for g in groups:
            if not settled.isdisjoint(g.paths):
                settled.update(g.paths)
        return _DecideInputs(everything, groups, prefs, labels, settled)

    def _taste_terms(self, paths: Sequence[str], policy: Policy, *, content: bool = True) -> tuple[dict, dict, dict]:
        """(vectors, preferences, content labels) of these stored photos. Taste is an extra: whatever goes wrong
        in it (a damaged stored model, a vector of another size) is logged once and the photos are decided
        without it, never a failed cull. ``content=False``: no content labels (a verdict row holds none)."""
        try:
            vectors = self.taste.vectors(paths)
            prefs = (
                self.taste.preferences(vectors, policy.profile, policy.preference_min_quality)
                if policy.weight_preference > 0
                else {}
            )
            labels = (
                self.taste.content(vectors, policy.content_min_prob, policy.content_margin)
                if policy.content_keywords and content
                else {}
            )
            return vectors, prefs, labels
        except Exception as exc:
            if ("taste", str(exc)) not in self._reported:
                self._reported.add(("taste", str(exc)))
                log.exception("taste left out of these decisions")
            return {}, {}, {}

    def _burst_context(self, analyses: Mapping[str, Analysis], policy: Policy) -> dict[str, Analysis]:
        """Stored neighbours of the requested photos, so half a burst still sees the other half.

        Read per folder and only what could join a group: frames around each photo's own time (± the burst
        gap, widened while a chain of frames goes on), and untimed frames that are near-duplicates of a frame
        read (found from the stored hashes alone). Never one window from the earliest to the latest photo,
        nor every untimed file of the folder: a page of a big library must not load the library.
        """
        gap, line = policy.burst_gap_seconds, policy.burst_hash_distance
        found: dict[str, Analysis] = {}
        by_folder: dict[str, dict[str, Analysis]] = {}
        for p, a in analyses.items():
            by_folder.setdefault(os.path.dirname(p), {})[p] = a
        for folder, new in by_folder.items():
            untimed = [row for row in self.store.hashes(folder, timed=False) if row[0] not in analyses]
            timed: Optional[list[tuple[str, str, str]]] = None  # read once an untimed frame needs them
            covered: list[tuple[float, float]] = []
            for _ in range(10_000):  # a chain longer than this is a time-lapse, not a burst
                todo = _windows(
                    [a.exif.capture_ts for a in new.values() if a.exif.capture_ts is not None], gap, covered
                )
                paths = self.store.timed_within(folder, todo)
                covered = _merge(covered + todo)
                alike = bursts.lookalikes([(a.phash, a.dhash) for a in new.values()], untimed, line)
                untimed = [row for row in untimed if row[0] not in alike]
                lone = [(a.phash, a.dhash) for a in new.values() if a.exif.capture_ts is None]
                if lone:  # an untimed frame joins timed ones by look alone, wherever they are in time
                    if timed is None:
                        timed = [row for row in self.store.hashes(folder, timed=True) if row[0] not in analyses]
                    alike += bursts.lookalikes(lone, timed, line)
                    timed = [row for row in timed if row[0] not in alike]
                want = [p for p in dict.fromkeys(paths + alike) if p not in analyses and p not in found]
                if not want:
                    break
                new = self.store.analyses(want)
                found.update(new)
        return found

    # -------------------------------------------------------------- sidecars --
    def write_sidecars(self, paths: Sequence[str], *, top_level_only: bool = False) -> list[Any]:
        """Merge the stored verdicts of these photos (files or folders) into their XMP sidecars now, whatever
        the policy's xmp_sidecars says. One ``sidecar.SidecarResult`` per photo; raises only when XMP cannot be
        written on this machine at all."""
        from .sidecar import SidecarSettings, lacking

        files = self.stored_paths(paths, top_level_only=top_level_only)
        out: list[Any] = []
        for start in range(0, len(files), CHUNK):
            chunk = files[start : start + CHUNK]

            def queue(active: ActivePolicy, chunk: Sequence[str] = chunk) -> tuple[Any, list[Decision]]:
                decisions = [d for d in self.decide_paths(chunk) if not d.error_code]
                settings = SidecarSettings.of(active.policy)
                return self.verdicts.sidecars.submit(decisions, settings, active.version, wait=True), decisions

            # queued under the apply lock (in order with apply: never an older verdict over a newer one),
            # written by the sidecar writer outside it
            ticket, decisions = self.verdicts.locked(queue)
            results = ticket.wait() + lacking(chunk, decisions)
            order = {p: k for k, p in enumerate(chunk)}
            out += sorted(results, key=lambda r: order.get(r.path, len(order)))
        return out

    # --------------------------------------------------------------- bursts --
    def bursts_for(self, paths: Sequence[str], *, top_level_only: bool = False) -> list[Any]:
        files = self.stored_paths(paths, top_level_only=top_level_only)
        decisions = self.decide_paths(files)
        groups: dict[str, list[Decision]] = {}
        for d in decisions:
            if d.burst_id:
                groups.setdefault(d.burst_id, []).append(d)
        return [(gid, sorted(ds, key=lambda d: d.burst_rank)) for gid, ds in sorted(groups.items())]

    def stored_paths(self, paths: Sequence[str], *, top_level_only: bool = False) -> list[str]:
        """Stored photos named by these paths (files or folders); empty = all."""
        if not paths:
            return self.store.all_paths()
        out: list[str] = []
        for raw in paths:
            path = normalise_request_path(raw)
            if os.path.isdir(path):
                out += self.store.paths_under(path, top_level_only=top_level_only)
            else:
                out.append(path)
        return list(dict.fromkeys(out))

    # -------------------------------------------------------------- feedback --
    def feedback(self, items: Iterable[tuple[str, int, str, str]], source: str, profile: str = "") -> dict[str, Any]:
        """Store the photographer's ratings in a profile; vectors and the retrained model follow in the background."""
        from .taste.learn import Rating, keep_target

        profile = self._profile(profile)
        clean = [(normalise_request_path(p), max(-1, min(5, int(r))), pk, lb) for p, r, pk, lb in items]
        stored = self.store.put_feedback(clean, source or "unknown", profile) if clean else 0
        if clean:  # an empty call only asks how far the model is
            self.taste.request_training(profile)
        rows = self.store.feedback(profile)
        vectors = self.store.embedding_stamps([p for p, *_ in clean], self.taste.serving())
        unknown = sum(1 for p, *_ in clean if p not in vectors)
        compared = agree = 0
        for path, rating, pick, label, verdict in rows:
            kept = keep_target(Rating(path, rating, pick, label))  # the same rule the taste model learns from
            user = None if kept is None else "keep" if kept else "reject"
            if user and verdict:
                compared += 1
                agree += verdict == user
        state = self.taste_state(profile)
        return {
            "stored": stored,
            "total_labels": len(rows),
            "unknown": unknown,
            "agreement": (agree / compared) if compared else 0.0,
            "compared": compared,
            "model_state": state.sentence,
            "taste": state,
        }

    def _profile(self, profile: str) -> str:
        """A profile named in a request (checked as the policy checks it), else the active policy's."""
        if not profile:
            return self.policy.profile
        return self.policy.with_values({"profile": profile}).profile

    def taste_state(self, profile: str = "") -> Any:
        """The profile's taste model in numbers and a sentence (``taste.service.TasteState``)."""
        return self.taste.state(self._profile(profile))

    def train_now(self) -> None:
        """Embed what lacks a vector and train what waits, in this thread (the CLI without a daemon)."""
        self.taste.work_now()

    # ---------------------------------------------------------------- search --
    def search(
        self, text: str, paths: Sequence[str], *, top_level_only: bool = False, limit: int = 100
    ) -> tuple[list[tuple[str, float]], int, int]:
        """(hits best first, photos searched, photos asked for without a vector)."""
        from .taste.clip import ClipUnavailable

        if not text.strip():
            raise InvalidArgument("nothing to search for: give a text")
        asked = self.stored_paths(paths, top_level_only=top_level_only) if paths else None
        try:
            hits = self.taste.search(text, asked)
        except ClipUnavailable as exc:
            raise FailedPrecondition(f"search needs CLIP: {exc}") from None
        total = len(asked) if asked is not None else self.store.photo_count()
        return hits[:limit], len(hits), max(0, total - len(hits))

    def select(
        self,
        paths: Sequence[str],
        best: int,
        *,
        diverse: bool,
        policy: Optional[Policy] = None,
        top_level_only: bool = False,
    ) -> dict[str, Any]:
        """The ``best`` keepers by quality (taste included when it counts); with ``diverse``, the best of each
        scene first. Reads only: decisions come from the store as ``decide_paths`` makes them."""
        from .taste.select import best_order, diverse_order
        from .taste.select import scenes as scenes_of

        files = self.stored_paths(paths, top_level_only=top_level_only)
        keepers: list[Decision] = []
        for start in range(0, len(files), CHUNK):
            keepers += [d for d in self.decide_paths(files[start : start + CHUNK], policy) if d.verdict == "keep"]
        keepers.sort(key=lambda d: (-d.quality, d.path))
        merit = np.array([d.quality for d in keepers], dtype=np.float64)
        notes = []
        if len(keepers) < best:
            notes.append(f"only {len(keepers)} keepers among {len(files)} photos")
        scenes: list[int] = [0] * len(keepers)
        n_scenes = 0
        if diverse and keepers:
            vectors = self.taste.vectors([d.path for d in keepers])
            with_vec = [k for k, d in enumerate(keepers) if d.path in vectors]
            if not with_vec:
                raise FailedPrecondition(
                    "--diverse needs CLIP vectors and none of these keepers has one yet"
                    + ("" if self.taste.usable else f" ({self.taste.encoder.state()[1]})")
                )
            X = np.vstack([vectors[keepers[k].path] for k in with_vec])
            labels = scenes_of(X, merit[with_vec])
            order = diverse_order(X, merit[with_vec], min(best, len(with_vec)), scene=labels)
            n_scenes = len(set(labels.tolist()))
            chosen = [with_vec[i] for i in order]
            for i in range(len(with_vec)):
                scenes[with_vec[i]] = labels[i] + 1
            taken = set(chosen)
            rest = [k for k in range(len(keepers)) if k not in taken]
            chosen += rest[: max(0, best - len(chosen))]
            missing = len(keepers) - len(with_vec)
            if missing:
                notes.append(f"{missing} keepers have no CLIP vector yet and were ranked by quality only")
        else:
            chosen = best_order(merit, min(best, len(keepers)))
        return {
            "photos": [(keepers[k], scenes[k]) for k in chosen[:best]],
            "keepers": len(keepers),
            "scenes": n_scenes,
            "note": "; ".join(notes),
        }

    # ---------------------------------------------------------------- status --
    def status(self) -> dict[str, Any]:
        counts = Counts()
        for verdict, n in self.store.verdict_counts().items():
            if verdict in ("keep", "review", "reject"):
                setattr(counts, verdict, n)
        counts.total = self.store.photo_count()
        return {
            "version": __version__,
            "analyzer_version": ANALYZER_VERSION,
            "models_loaded": sorted(set(_models_loaded()) | set(self.analyzer.models_loaded())),
            "queue_depth": self.queue_depth,
            "photos_stored": counts.total,
            "failures": self.store.failure_count(),
            "verdicts": counts,
            "decodes": self.decodes,
            "home": str(self.home),
            "uptime_seconds": time.time() - self.started,
            "clip": self.taste.encoder.state()[1],
            "embedded": self.store.embedded_photos(self.taste.serving()) if self.taste.usable else 0,
            "profiles": [self.taste_state(p) for p in (self.store.profiles() or [self.policy.profile])],
        }


@dataclass(frozen=True)
class _DecideInputs:
    """What deciding a set of stored photos reads (``Engine._decide_inputs``)."""

    analyses: dict[str, Analysis]  # the photos asked for and their burst neighbours
    groups: list[bursts.Group]
    prefs: dict
    content: dict
    settled: set[str]  # whose decisions may be stored


def _diff_from_default(p: Policy) -> dict[str, Any]:
    default = Policy().to_dict()
    return {k: v for k, v in p.to_dict().items() if default.get(k) != v}


def _models_loaded() -> list[str]:
    import sys

    faces = sys.modules.get("autocull.measure.faces")
    if faces is None or not hasattr(faces, "models_loaded"):
        return []
    return list(faces.models_loaded())
