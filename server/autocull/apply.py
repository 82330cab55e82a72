"""Apply: the only writer of verdicts, always under the active policy.

decide makes new decisions and stores nothing; this stage stores them. One lock
orders policy changes and verdict writes, and a decision is made under the
policy that is active *when it is written*, stamped with that policy's version.
So a job that started before a policy change can never store verdicts of the
old policy over those of the new one, and a what-if (a one-off preset, policy
overrides) is answered without touching what is stored.

Verdicts go to the store under the lock; when the policy's ``xmp_sidecars``
says so they are then queued, still in store order, for the one background
sidecar writer (``sidecar.SidecarWriter``), which writes them outside the lock:
a policy change over a large library never blocks Decide, GetChanges or a job
on disk writes, and a cull never waits on sidecars. The writer skips work a
newer policy version made stale, so a sidecar never ends on an older verdict
than the store. A sidecar that cannot be written is logged for that photo; it
never fails the verdict.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import logging
import threading
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Optional, Sequence, TypeVar

from .policy import Policy, parse_stored
from .records import Decision
from .sidecar import SidecarSettings, SidecarWriter, under
from .store import Store

log = logging.getLogger(__name__)

T = TypeVar("T")
CHUNK = 2000  # photos decided and stored at once (their burst neighbours come from the store)

# Decide a set of stored photos under a policy: the decisions of the paths and of their burst neighbours.
DecideSet = Callable[[Sequence[str], Policy], Mapping[str, Decision]]
# The same photos' (verdict, stars, quality) exactly as DecideSet's decisions hold them, with no decision built.
DecideRows = Callable[[Sequence[str], Policy], Mapping[str, tuple[str, int, float]]]


@dataclass(frozen=True)
class ActivePolicy:
    """The policy verdicts are stored under, its preset name and its version (bumped by every change)."""

    policy: Policy
    preset: str
    version: int


class Verdicts:
    """Holds the active policy and writes the verdicts made under it."""

    def __init__(self, store: Store, decide_set: DecideSet, decide_rows: Optional[DecideRows] = None) -> None:
        self._store = store
        self._decide_set = decide_set
        self._decide_rows = decide_rows
        self._lock = threading.RLock()
        self._active = _load_active(store)
        self.sidecars = SidecarWriter()
        self.sidecars.supersede(self._active.version)

    def locked(self, work: Callable[[ActivePolicy], T]) -> T:
        """Run ``work(active)`` while no verdict or policy changes (an on-demand sidecar write is queued so)."""
        with self._lock:
            return work(self._active)

    @property
    def active(self) -> ActivePolicy:
        with self._lock:
            return self._active

    def apply(self, paths: Sequence[str]) -> tuple[dict[str, Decision], ActivePolicy]:
        """Decide these stored photos (and their burst neighbours) under the active policy and store the verdicts.

        Returns the decisions and the policy they were made under.
        """
        with self._lock:
            active = self._active
            decisions = self._decide_set(paths, active.policy)
            self._write(decisions, active)
        return {p: dataclasses.replace(d, policy_version=active.version) for p, d in decisions.items()}, active

    def change(self, build: Callable[[ActivePolicy], tuple[Policy, str]]) -> tuple[Policy, int, int]:
        """Make ``build(active)`` the active policy (and preset name) and re-decide every stored photo under it.

        Returns (policy, redecided, changed). The new policy is built from the active one under the lock, so
        two changes at once never lose one; the policy, its version and every verdict change together, so
        nobody stores a verdict of the old policy in between.
        """
        with self._lock:
            new, preset = build(self._active)
            version = self._active.version + 1
            self._store.set_settings(
                {"active_policy": json.dumps(new.to_dict()), "active_preset": preset, "policy_version": str(version)}
            )
            self._active = ActivePolicy(new, preset, version)
            self.sidecars.supersede(version)  # sidecars still queued under the old policy are not written
            redecided, changed = self._redecide(self._store.all_paths())
            return new, redecided, changed

    def catch_up(self) -> int:
        """Decide what lags the active policy: verdicts of an older policy (a stop between a policy change and
        its verdicts) or none at all (a stop or cancel between analysis and apply). Returns how many."""
        with self._lock:
            stale = self._store.stale_verdicts(self._active.version)
            if stale:
                log.warning("%d stored photos have no verdict under the active policy; deciding them", len(stale))
                self._redecide(stale)
            return len(stale)

    def _redecide(self, paths: Sequence[str]) -> tuple[int, int]:
        """Decide and store ``paths`` a chunk at a time (memory stays flat over a library). (redecided, changed).

        Only verdicts that changed are rewritten; the rest move on to the active policy version in one statement.
        """
        redecided = changed = 0
        policy = self._active.policy
        # Only the verdict rows are stored; whole decisions are built only when sidecars are to be written.
        light = self._decide_rows is not None and policy.xmp_sidecars == "off"
        for start in range(0, len(paths), CHUNK):
            chunk = paths[start : start + CHUNK]
            decisions: Mapping[str, Decision] = {}
            with _no_cycle_collection():
                if self._decide_rows is not None and light:
                    rows = dict(self._decide_rows(chunk, policy))
                else:
                    decisions = self._decide_set(chunk, policy)
                    rows = {p: (d.verdict, d.stars, d.quality) for p, d in decisions.items()}
            before = self._store.verdict_rows(list(rows))
            moved = [p for p, row in rows.items() if before.get(p) != row]
            self._store.set_verdicts(
                ((p, *rows[p]) for p in moved),
                self._active.version,
                same=[p for p in rows if before.get(p) == rows[p]],
            )
            self._sidecars(decisions, self._active)
            redecided += sum(1 for p in chunk if p in rows)
            changed += sum(1 for p in chunk if p in rows and before.get(p, (None,) * 3)[:2] != rows[p][:2])
        return redecided, changed

    def _write(self, decisions: Mapping[str, Decision], active: ActivePolicy) -> None:
        self._store.set_verdicts(((p, d.verdict, d.stars, d.quality) for p, d in decisions.items()), active.version)
        self._sidecars(decisions, active)

    def _sidecars(self, decisions: Mapping[str, Decision], active: ActivePolicy) -> None:
        """Queue the stored verdicts for the sidecars the policy asks for (written outside the lock)."""
        mode = active.policy.xmp_sidecars
        if mode == "off" or not decisions:
            return
        chosen = [dataclasses.replace(d, policy_version=active.version) for d in decisions.values()]
        if mode == "watched":
            folders = watched_folders(self._store)
            chosen = [d for d in chosen if under(d.path, folders)]
        if chosen:
            self.sidecars.submit(chosen, SidecarSettings.of(active.policy), active.version)


@contextlib.contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cycle collector while a chunk is decided, as bulk loaders do.

    Deciding a chunk allocates a few hundred thousand small objects that all live until the chunk is stored;
    each of them counts toward the collector's thresholds, so it keeps walking every object the daemon holds
    (the parsed analyses among them) and finds nothing: a fifth of a policy change went there. Decisions
    hold no cycles; whatever a chunk leaves is collected once the collector is back on.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def watched_folders(store: Store) -> list[str]:
    """The active watched folders' paths."""
    return [row.path for row in store.watch_folders() if row.active]


def _load_active(store: Store) -> ActivePolicy:
    """The stored active policy, keeping every value that still validates; each dropped one is logged."""
    kept, dropped = parse_stored(store.get_setting("active_policy") or "{}")
    for why in dropped:
        log.warning("the stored active policy: %s", why)
    return ActivePolicy(
        Policy.from_dict(kept), store.get_setting("active_preset") or "", int(store.get_setting("policy_version") or 0)
    )


def policy_or_active(policy: Optional[Policy], active: ActivePolicy) -> tuple[Policy, int]:
    """The policy to decide under and the version to stamp: 0 for a what-if policy, which is never stored."""
    if policy is None or policy == active.policy:
        return active.policy, active.version
    return policy, 0
