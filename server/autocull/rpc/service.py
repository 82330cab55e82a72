"""The one core service object: protobuf requests in, protobuf responses out.

Both transports (gRPC and JSON over HTTP) are thin adapters over this class, so
there is no second schema. Methods raise domain errors (``errors.py``); each
transport maps them to its status codes in one place.
"""

from __future__ import annotations

import bisect
import os
import time
from typing import Any, Callable, Iterator

from ..engine import Counts, Engine
from ..errors import FailedPrecondition, InvalidArgument, Unimplemented
from ..jobs import Job, JobManager
from ..library import normalise_request_path
from ..policy import describe
from ..v1 import autocull_pb2 as pb
from . import paging
from .convert import (
    JOB_STATES,
    LABEL_NAMES,
    PICK_NAMES,
    counts_to_pb,
    decision_to_pb,
    dict_to_struct,
    struct_to_dict,
    to_value,
)

CHANGES_PAGE = 500
SEARCH_DEFAULT, SEARCH_MAX = 100, 10_000
SELECT_MAX = 10_000


def _with_profile(overrides: dict[str, Any] | None, profile: str) -> dict[str, Any] | None:
    """A request's profile is one more policy value for that request (checked like the others)."""
    if not profile:
        return overrides
    return {**(overrides or {}), "profile": profile}


_MODE_PB = {"auto": pb.WATCH_MODE_AUTO, "events": pb.WATCH_MODE_EVENTS, "polling": pb.WATCH_MODE_POLLING}


def _when(t: float) -> str:
    """A moment as local ISO time, as the rest of the API writes it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t))


_FINISHED_PB = frozenset((pb.JOB_STATE_DONE, pb.JOB_STATE_CANCELLED, pb.JOB_STATE_FAILED))


class AutoCullCore:
    def __init__(self, engine: Engine, jobs: JobManager, watcher: Any = None) -> None:
        self.engine, self.jobs, self.watcher = engine, jobs, watcher

    # ---------------------------------------------------------------- status
    def GetStatus(self, req: pb.GetStatusRequest) -> pb.GetStatusResponse:
        s = self.engine.status()
        return pb.GetStatusResponse(
            version=s["version"],
            analyzer_version=s["analyzer_version"],
            models_loaded=s["models_loaded"],
            queue_depth=s["queue_depth"],
            jobs_running=self.jobs.running(),
            photos_stored=s["photos_stored"],
            failures=s["failures"],
            verdicts=counts_to_pb(s["verdicts"]),
            watched=self._watched(),
            decodes=s["decodes"],
            home=s["home"],
            uptime_seconds=s["uptime_seconds"],
            clip=s["clip"],
            embedded=s["embedded"],
            profiles=[self._taste_pb(t) for t in s["profiles"]],
            taste_busy=not self.engine.taste.idle(),
        )

    def _taste_pb(self, t: Any) -> pb.TasteProfile:
        line = self.engine.policy.preference_min_quality
        return pb.TasteProfile(
            profile=t.profile,
            labels=t.labels,
            embedded=t.embedded,
            ready=t.ready,
            auc=t.auc or 0.0,
            spearman=t.spearman or 0.0,
            needed=t.needed,
            trusted=bool(t.ready and t.quality is not None and t.quality >= line),
            sentence=t.sentence,
        )

    # ------------------------------------------------------------------ cull
    def _job_args(self, req: pb.CullRequest) -> dict[str, Any]:
        if not req.paths:
            raise InvalidArgument("no paths given")
        return dict(
            policy_overrides=_with_profile(
                struct_to_dict(req.policy_overrides) if req.HasField("policy_overrides") else None, req.profile
            ),
            preset=req.preset,
            top_level_only=req.top_level_only,
            reanalyze=req.reanalyze,
            analyze_only=req.analyze_only,
            ray_address=req.ray_address,
        )

    def Cull(self, req: pb.CullRequest) -> pb.CullResponse:
        """Wait for the job; answer its counts and first page (the rest: GetJob on ``job_id``).

        A job that did not finish answers its cause's code: UNAVAILABLE when the daemon stopped,
        CANCELLED after a CancelJob, INTERNAL for an internal error, never OK with a part.
        """
        size = paging.page_size(req.page_size)
        job = self.jobs.wait_finished(self.jobs.start(list(req.paths), **self._job_args(req)))
        first = self._job_pb(job, 0, size)
        more = len(first.decisions) < first.decisions_total
        token = paging.encode_token({"job": job.id, "from": len(first.decisions)}) if more else ""
        return pb.CullResponse(
            decisions=first.decisions,
            counts=first.counts,
            next_page_token=token,
            decisions_total=first.decisions_total,
            job_id=job.id,
        )

    def StartJob(self, req: pb.CullRequest) -> pb.Job:
        return self._job_pb(self.jobs.start(list(req.paths), **self._job_args(req)), 0, paging.DEFAULT_PAGE)

    def GetJob(self, req: pb.GetJobRequest) -> pb.Job:
        return self._job_pb(self.jobs.get(req.job_id), req.decisions_from, paging.page_size(req.page_size))

    def CancelJob(self, req: pb.CancelJobRequest) -> pb.Job:
        return self._job_pb(self.jobs.cancel(req.job_id), 0, paging.DEFAULT_PAGE)

    def WatchJob(self, req: pb.GetJobRequest, is_active: Callable[[], bool]) -> Iterator[pb.Job]:
        """A message per change; decisions that arrived meanwhile follow in messages of one page each."""
        job = self.jobs.get(req.job_id)
        size = paging.page_size(req.page_size)
        sent = max(0, req.decisions_from)
        seen: tuple = ()
        while is_active():
            seen = self.jobs.wait_change(job, seen, timeout=1.0)
            while True:
                msg = self._job_pb(job, sent, size)
                sent += len(msg.decisions)
                yield msg
                if sent >= msg.decisions_total or not msg.decisions or not is_active():
                    break
            if msg.state in _FINISHED_PB and sent >= msg.decisions_total:
                return

    def _job_pb(self, job: Job, start: int, size: int) -> pb.Job:
        """The job's state with one page of its decisions from ``start`` on."""
        start = max(0, start)
        with self.jobs.cond:  # one consistent snapshot; the page is converted outside the lock
            page = job.decisions[start : start + size]
            msg = pb.Job(
                id=job.id,
                state=JOB_STATES[job.state],
                stage=job.stage,
                done=job.done,
                total=job.total,
                decisions_from=start,
                decisions_total=len(job.decisions),
                counts=counts_to_pb(job.counts),
                message=job.message,
                current_path=job.current_path,
            )
        msg.decisions.extend(paging.page_of(page, size))
        return msg

    def Decide(self, req: pb.DecideRequest) -> pb.CullResponse:
        """One page of decisions, in path order; only that page's photos are decided (burst neighbours
        come from the store), so memory stays flat whatever the request names."""
        size = paging.page_size(req.page_size)
        request_fp = paging.fingerprint(list(req.paths), req.top_level_only)
        after = paging.read_decide_token(req.page_token, request_fp)
        overrides = struct_to_dict(req.policy_overrides) if req.HasField("policy_overrides") else None
        policy = self.engine.resolve_policy(_with_profile(overrides, req.profile), req.preset)
        paths = self._stored_paths(req)
        start = bisect.bisect_right(paths, after) if after else 0
        page = paths[start : start + size]
        decisions = self.engine.decide_paths(page, policy)
        msgs = paging.page_of([paging.pack(d) for d in decisions], size)
        last = page[-1] if len(msgs) == len(decisions) and page else msgs[-1].path if msgs else after
        more = bisect.bisect_right(paths, last) < len(paths) if last else bool(paths)
        counts = Counts.of(decisions[: len(msgs)])
        counts.cached = len(msgs)
        return pb.CullResponse(
            decisions=msgs,
            counts=counts_to_pb(counts),
            decisions_total=len(paths),
            next_page_token=paging.decide_token(last, request_fp) if more else "",
        )

    def _stored_paths(self, req: pb.DecideRequest) -> list[str]:
        """Every stored photo the request names, sorted (the order pages follow)."""
        paths = self.engine.stored_paths(list(req.paths), top_level_only=req.top_level_only)
        if any(not os.path.isdir(normalise_request_path(p)) for p in req.paths):
            stored = set(self.engine.store.all_paths())  # a file named directly may not be in the store
            paths = [p for p in paths if p in stored]
        return sorted(paths)

    # ---------------------------------------------------------------- policy
    def _policy_pb(self, redecided: int = 0, changed: int = 0) -> pb.PolicyResponse:
        p = self.engine.policy.to_dict()
        fields = [
            pb.PolicyField(
                name=f["name"],
                value=to_value(p[f["name"]]),
                default_value=to_value(f["default"]),
                description=f["description"],
            )
            for f in describe()
        ]
        return pb.PolicyResponse(
            values=dict_to_struct(p), fields=fields, preset=self.engine.preset, redecided=redecided, changed=changed
        )

    def GetPolicy(self, req: pb.GetPolicyRequest) -> pb.PolicyResponse:
        return self._policy_pb()

    def SetPolicy(self, req: pb.SetPolicyRequest) -> pb.PolicyResponse:
        _, redecided, changed = self.engine.set_policy(
            struct_to_dict(req.values), preset=req.preset, reset=req.reset, save_as=req.save_as
        )
        return self._policy_pb(redecided, changed)

    def ListPresets(self, req: pb.ListPresetsRequest) -> pb.ListPresetsResponse:
        return pb.ListPresetsResponse(
            presets=[
                pb.Preset(name=n, description=d, builtin=b, values=dict_to_struct(v))
                for n, (d, v, b) in sorted(self.engine.presets().items())
            ]
        )

    # -------------------------------------------------------------- feedback
    def SendFeedback(self, req: pb.SendFeedbackRequest) -> pb.SendFeedbackResponse:
        items = [
            (f.path, f.rating, PICK_NAMES.get(f.pick, "none"), LABEL_NAMES.get(f.color_label, "none"))
            for f in req.items
        ]
        answer = self.engine.feedback(items, req.source, req.profile)
        answer["taste"] = self._taste_pb(answer["taste"])
        return pb.SendFeedbackResponse(**answer)

    # ---------------------------------------------------------- search, select
    def Search(self, req: pb.SearchRequest) -> pb.SearchResponse:
        limit = req.limit if 0 < req.limit <= SEARCH_MAX else SEARCH_MAX if req.limit > SEARCH_MAX else SEARCH_DEFAULT
        hits, searched, without = self.engine.search(
            req.text, list(req.paths), top_level_only=req.top_level_only, limit=limit
        )
        return pb.SearchResponse(
            hits=[pb.SearchHit(path=p, similarity=s) for p, s in hits],
            searched=searched,
            without_vector=without,
            model=self.engine.taste.serving(),
        )

    def Select(self, req: pb.SelectRequest) -> pb.SelectResponse:
        if not 1 <= req.best <= SELECT_MAX:
            raise InvalidArgument(f"best must be between 1 and {SELECT_MAX}, not {req.best}")
        overrides = struct_to_dict(req.policy_overrides) if req.HasField("policy_overrides") else None
        policy = self.engine.resolve_policy(_with_profile(overrides, req.profile), req.preset)
        found = self.engine.select(
            list(req.paths), req.best, diverse=req.diverse, policy=policy, top_level_only=req.top_level_only
        )
        return pb.SelectResponse(
            photos=[
                pb.Selected(path=d.path, quality=d.quality, scene=scene, stars=d.stars) for d, scene in found["photos"]
            ],
            keepers=found["keepers"],
            scenes=found["scenes"],
            note=found["note"],
        )

    # -------------------------------------------------------------- watching
    def _need_watcher(self) -> Any:
        if self.watcher is None:
            raise Unimplemented("folder watching runs only in the daemon (`autocull serve`)")
        return self.watcher

    def _watched(self) -> list[pb.WatchFolder]:
        return [
            pb.WatchFolder(
                path=f.path,
                active=f.active,
                photos=f.photos,
                added_at=_when(f.added_at),
                mode=_MODE_PB.get(f.mode, pb.WATCH_MODE_AUTO),
                polling=f.polling,
            )
            for f in (self.watcher.folders() if self.watcher else [])
        ]

    def AddWatchFolder(self, req: pb.WatchFolderRequest) -> pb.WatchFoldersResponse:
        mode = {v: k for k, v in _MODE_PB.items()}.get(req.mode, "auto")
        self._need_watcher().add(req.path, mode)
        return pb.WatchFoldersResponse(folders=self._watched())

    def RemoveWatchFolder(self, req: pb.WatchFolderRequest) -> pb.WatchFoldersResponse:
        self._need_watcher().remove(req.path)
        return pb.WatchFoldersResponse(folders=self._watched())

    def ListWatchFolders(self, req: pb.ListWatchFoldersRequest) -> pb.WatchFoldersResponse:
        return pb.WatchFoldersResponse(folders=self._watched())

    def GetChanges(self, req: pb.GetChangesRequest) -> pb.GetChangesResponse:
        """Decisions logged after the cursor. With a ``client_id`` the daemon keeps that client's acknowledged
        cursor, per folder filter: a cursor the client sends is its acknowledgement that it applied everything
        before it (saved), and an empty one continues from the last acknowledged. A page served is not
        acknowledged until its next_cursor comes back, so a page a client could not apply (a Lightroom catalog
        busy) comes again."""
        client = req.client_id.strip()
        if len(client) > 200 or any(ord(c) < 32 for c in client):
            raise InvalidArgument("client_id must be at most 200 printable characters")
        folder = normalise_request_path(req.folder) if req.folder else ""  # C:/x/ and C:\x are one folder
        try:
            given = int(req.cursor) if req.cursor else None
        except ValueError:
            raise InvalidArgument(f"bad cursor {req.cursor!r}: pass back next_cursor as it came") from None
        if given is not None and given < 0:
            raise InvalidArgument(f"bad cursor {req.cursor!r}: pass back next_cursor as it came")
        store = self.engine.store
        if given is None:
            cursor = store.client_cursor(client, folder) if client else 0
        else:
            cursor = given
            if client:
                store.save_client_cursor(client, given, folder)
        limit = req.limit if 0 < req.limit <= CHANGES_PAGE else CHANGES_PAGE
        rows = store.changes_since(cursor, limit + 1, folder)
        more = len(rows) > limit
        rows = rows[:limit]
        paths = list(dict.fromkeys(p for _, p in rows))
        decisions = self.engine.decide_paths(paths) if paths else []  # gone photos have none: nothing to apply
        next_cursor = str(rows[-1][0]) if rows else str(cursor)
        return pb.GetChangesResponse(
            decisions=[decision_to_pb(d) for d in decisions], next_cursor=next_cursor, more=more
        )

    # ---------------------------------------------------------------- bursts
    def GetBursts(self, req: pb.GetBurstsRequest) -> pb.GetBurstsResponse:
        groups = self.engine.bursts_for(list(req.paths), top_level_only=req.top_level_only)
        return pb.GetBurstsResponse(
            bursts=[
                pb.Burst(
                    id=gid,
                    paths=[d.path for d in ds],
                    best_path=ds[0].path if ds else "",
                    bracket=any(d.bracket for d in ds),
                    size=len(ds),
                )
                for gid, ds in groups
            ]
        )

    # -------------------------------------------------------------- sidecars
    def WriteSidecars(self, req: pb.WriteSidecarsRequest) -> pb.WriteSidecarsResponse:
        """Merge the stored verdicts into the photos' XMP sidecars now; one result per photo, per-file errors."""
        from ..taste.ratings import RatingsUnavailable

        if not req.paths:
            raise InvalidArgument("no paths given")
        try:
            results = self.engine.write_sidecars(list(req.paths), top_level_only=req.top_level_only)
        except RatingsUnavailable as exc:
            raise FailedPrecondition(f"XMP sidecars cannot be written here: {exc.message}") from None
        return pb.WriteSidecarsResponse(
            results=[
                pb.SidecarResult(
                    path=r.path,
                    sidecar=r.sidecar,
                    written=r.written,
                    error=pb.FileError(code=r.error_code, message=r.error_message) if r.error_code else None,
                )
                for r in results
            ],
            written=sum(1 for r in results if r.written),
            failed=sum(1 for r in results if r.error_code),
        )

    # -------------------------------------------------------------- failures
    def ListFailures(self, req: pb.ListFailuresRequest) -> pb.ListFailuresResponse:
        return pb.ListFailuresResponse(
            failures=[
                pb.Failure(
                    path=f.path,
                    code=f.code,
                    message=f.message,
                    attempts=f.attempts,
                    last_attempt=_when(f.last_at),
                    given_up=f.given_up,
                    next_attempt=_when(f.next_at) if f.next_at is not None and not f.given_up else "",
                )
                for f in self.engine.store.failures(req.limit)
            ]
        )
