"""SQLite store: analyses keyed by path, the failure lane, policy, feedback, watch folders.

WAL mode so readers (status, plugins polling) never wait on the writer. A photo
row is valid while the file's size, mtime and the analyzer version match, so an
unchanged file is never analysed twice. Metrics live as JSON (a new metric needs
no migration); what is filtered or grouped on is promoted to columns.
Schema changes go through ``MIGRATIONS`` (PRAGMA user_version), from the first day.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import json
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
import orjson

from .config import create_private
from .records import Analysis

log = logging.getLogger(__name__)


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """executescript() would commit on its own; one statement at a time stays in our transaction."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def _v1(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE photos(
            path TEXT PRIMARY KEY,
            folder TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            analyzer_version TEXT NOT NULL,
            analyzed_at REAL NOT NULL,
            capture_ts REAL,
            camera_key TEXT,
            phash TEXT,
            dhash TEXT,
            sharpness REAL,
            subject_sharpness REAL,
            exposure REAL,
            face_count INTEGER,
            analysis TEXT NOT NULL,
            verdict TEXT,
            stars INTEGER,
            quality REAL
        );
        CREATE INDEX photos_folder_ts ON photos(folder, capture_ts);
        CREATE INDEX photos_ts ON photos(capture_ts);
        CREATE INDEX photos_verdict ON photos(verdict);
        CREATE TABLE failures(
            path TEXT PRIMARY KEY,
            code TEXT NOT NULL,
            message TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            first_at REAL NOT NULL,
            last_at REAL NOT NULL
        );
        CREATE TABLE policies(
            name TEXT PRIMARY KEY,
            body TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL
        );
        CREATE TABLE settings(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE feedback(
            path TEXT PRIMARY KEY,
            rating INTEGER NOT NULL,
            pick TEXT NOT NULL,
            label TEXT NOT NULL,
            source TEXT NOT NULL,
            at REAL NOT NULL
        );
        CREATE TABLE watch_folders(
            path TEXT PRIMARY KEY,
            added_at REAL NOT NULL,
            active INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE changes(
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            path TEXT NOT NULL,
            folder TEXT NOT NULL,
            at REAL NOT NULL
        );
        """,
    )


def _v2(db: sqlite3.Connection) -> None:
    """Each stored verdict records the policy version it was decided under (0: before versions existed)."""
    db.execute("ALTER TABLE photos ADD COLUMN policy_version INTEGER NOT NULL DEFAULT 0")


def _v3(db: sqlite3.Connection) -> None:
    """Learned taste: CLIP vectors per (photo, model), ratings per profile, trained models, cached text vectors.

    An embedding remembers the file's size and mtime it was made from, so it also serves photos that were only
    rated (``autocull teach`` on a past shoot), never analysed. Feedback gains a profile ("wedding",
    "landscape"): the same photo may be rated in two profiles.
    """
    _run_script(
        db,
        """
        CREATE TABLE embeddings(
            path TEXT NOT NULL,
            model TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            vector BLOB NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY(path, model)
        );
        CREATE INDEX embeddings_model ON embeddings(model);
        CREATE TABLE embedding_failures(
            path TEXT NOT NULL,
            model TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY(path, model)
        );
        CREATE TABLE feedback3(
            profile TEXT NOT NULL,
            path TEXT NOT NULL,
            rating INTEGER NOT NULL,
            pick TEXT NOT NULL,
            label TEXT NOT NULL,
            source TEXT NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY(profile, path)
        );
        INSERT INTO feedback3(profile, path, rating, pick, label, source, at)
            SELECT 'default', path, rating, pick, label, source, at FROM feedback;
        DROP TABLE feedback;
        ALTER TABLE feedback3 RENAME TO feedback;
        CREATE TABLE taste_models(
            profile TEXT NOT NULL,
            model TEXT NOT NULL,
            body TEXT NOT NULL,
            trained_at REAL NOT NULL,
            PRIMARY KEY(profile, model)
        );
        CREATE TABLE text_vectors(
            model TEXT NOT NULL,
            text TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY(model, text)
        )
        """,
    )


def _v4(db: sqlite3.Connection) -> None:
    """Watching: a deleted photo is marked gone (its history kept), a moved one found again by size and content
    hash; failures remember the file they failed on and when the watcher tries again or gave up; watched folders
    remember how they are watched; each client of the change feed has its own acknowledged cursor, per folder
    filter (a client reading two folders separately keeps two)."""
    _run_script(
        db,
        """
        ALTER TABLE photos ADD COLUMN gone_at REAL;
        ALTER TABLE photos ADD COLUMN content_hash TEXT;
        CREATE INDEX photos_gone_size ON photos(size) WHERE gone_at IS NOT NULL;
        ALTER TABLE failures ADD COLUMN size INTEGER;
        ALTER TABLE failures ADD COLUMN mtime_ns INTEGER;
        ALTER TABLE failures ADD COLUMN next_at REAL;
        ALTER TABLE failures ADD COLUMN given_up INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE watch_folders ADD COLUMN mode TEXT NOT NULL DEFAULT 'auto';
        CREATE TABLE change_cursors(
            client_id TEXT NOT NULL,
            folder TEXT NOT NULL DEFAULT '',
            seq INTEGER NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY(client_id, folder)
        )
        """,
    )


MIGRATIONS = [_v1, _v2, _v3, _v4]  # index i migrates user_version i -> i+1
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True)
class StoredPhoto:
    path: str
    size: int
    mtime_ns: int
    analyzer_version: str
    analysis: Analysis


@dataclass(frozen=True)
class FailureRow:
    path: str
    code: str
    message: str
    attempts: int
    last_at: float
    given_up: bool = False
    next_at: Optional[float] = None  # when the watcher tries again (None: given up, or not the watcher's)
    size: Optional[int] = None  # the file as it failed (None: failed outside the watcher)
    mtime_ns: Optional[int] = None


@dataclass(frozen=True)
class Stamp:
    """What the store knows of one photo's file: enough to tell unchanged, changed, gone."""

    size: int
    mtime_ns: int
    analyzer_version: str
    gone: bool
    hashed: bool = True  # its content hash is known (False: analysed by a cull, or before the watcher kept one)


@dataclass(frozen=True)
class WatchRow:
    path: str
    added_at: float
    active: bool
    mode: str  # auto | events | polling


LIVE = "gone_at IS NULL"  # the stored photos that still exist (a deleted one keeps its row, marked gone)


class ParsedAnalyses:
    """Analyses already parsed, by path, each with the digest of the stored text it was parsed from.

    Parsing a stored analysis (JSON into nested frozen dataclasses) costs far more than deciding it, and a
    policy change re-decides every stored photo from the same rows. A row is served from here only while its
    stored text is byte for byte what was parsed (the digest is checked on every read), so a row rewritten by
    anyone, this process or another, is parsed anew.

    Bounded by bytes, not rows: an analysis with faces weighs several times one without, so a row count does
    not bound memory. ``max_bytes`` caps the sum of the stored texts' lengths; the parsed objects take about
    2.2 times that (measured: a 1.7 KB text is 3.3 KB of objects, each face adds ~0.6 KB of text and 1.6 KB of
    objects). Least recently used first out, so new shoots are admitted for the daemon's whole lifetime and
    rows no longer read (moved, deleted) age out even when nobody forgets them.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._rows: OrderedDict[str, tuple[bytes, Analysis, int]] = OrderedDict()  # oldest used first
        self._bytes = 0
        self._lock = threading.Lock()

    def parse(self, path: str, body: bytes) -> Optional[Analysis]:
        """The analysis stored as ``body`` (None when unreadable), parsed once per distinct text."""
        digest = hashlib.blake2b(body, digest_size=16).digest()
        with self._lock:
            hit = self._rows.get(path)
            if hit is not None and hit[0] == digest:
                self._rows.move_to_end(path)
                return hit[1]
        analysis = _parse(path, body)
        with self._lock:
            self._drop(path)
            if analysis is not None and len(body) <= self.max_bytes:
                self._rows[path] = (digest, analysis, len(body))
                self._bytes += len(body)
                while self._bytes > self.max_bytes:
                    self._bytes -= self._rows.popitem(last=False)[1][2]
        return analysis

    def forget(self, paths: Iterable[str]) -> None:
        with self._lock:
            for p in paths:
                self._drop(p)

    def _drop(self, path: str) -> None:  # under the lock
        old = self._rows.pop(path, None)
        if old is not None:
            self._bytes -= old[2]

    def __contains__(self, path: object) -> bool:
        return path in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    @property
    def nbytes(self) -> int:
        """The summed length of the stored texts held (the bound is on this)."""
        return self._bytes


PARSED_BYTES = 32 << 20  # of stored JSON: ~70 MB of parsed objects, ~19,000 photos without faces (fewer with)


class Store:
    """One connection guarded by a lock; SQLite is fast enough that this is not the bottleneck."""

    def __init__(self, path: Path, flavour: ModuleType = os.path, *, parsed_bytes: int = PARSED_BYTES) -> None:
        """``flavour``: the path rules folders follow (``os.path``; tests pass ``ntpath`` to run Windows' rules).
        ``parsed_bytes``: how much stored text the parsed analyses kept may sum to (``ParsedAnalyses``; 0 parses
        every read)."""
        self.path = path
        self._flavour = flavour
        self._lock = threading.RLock()
        self.parsed = ParsedAnalyses(parsed_bytes)
        create_private(path)  # SQLite gives the -wal and -shm files the database file's mode
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.create_function("normcase", 1, flavour.normcase, deterministic=True)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    # -------------------------------------------------------------- basics --
    def _migrate(self) -> None:
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path} was written by a newer AutoCull (schema {version})")
            for i in range(version, SCHEMA_VERSION):
                with self.transaction():
                    MIGRATIONS[i](self._db)
                    self._db.execute(f"PRAGMA user_version={i + 1}")

    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    class _Tx:
        def __init__(self, store: "Store") -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            self.store._db.execute("BEGIN IMMEDIATE")
            return self.store._db

        def __exit__(self, exc_type: Any, *_: Any) -> None:
            try:
                self.store._db.execute("ROLLBACK" if exc_type else "COMMIT")
            finally:
                self.store._lock.release()

    def transaction(self) -> "Store._Tx":
        return Store._Tx(self)

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -------------------------------------------------------------- photos --
    def get_valid(self, path: str, size: int, mtime_ns: int, analyzer_version: str) -> Optional[Analysis]:
        """The stored analysis if the file is unchanged since it was analysed."""
        rows = self._query(
            "SELECT CAST(analysis AS BLOB) FROM photos WHERE path=? AND size=? AND mtime_ns=? AND analyzer_version=?"
            " AND " + LIVE,
            (path, size, mtime_ns, analyzer_version),
        )
        return self.parsed.parse(path, rows[0][0]) if rows else None

    def put_analysis(self, path: str, size: int, mtime_ns: int, analyzer_version: str, a: Analysis) -> None:
        """Store one analysis. A NaN or infinite number in it is refused (ValueError), never stored: the store
        only holds what it can serve back."""
        refused = self.put_analyses([(path, size, mtime_ns, a)], analyzer_version)
        if refused:
            raise ValueError(refused[path])

    def put_analyses(self, rows: Sequence[tuple[str, int, int, Analysis]], analyzer_version: str) -> dict[str, str]:
        """Store several analyses, (path, size, mtime_ns, analysis) each, in one transaction (the analysis
        writer's batch). Returns path -> why for those refused (a number that is not finite); the rest are
        stored."""
        refused: dict[str, str] = {}
        values: list[tuple] = []
        now = time.time()
        for path, size, mtime_ns, a in rows:
            try:
                body = json.dumps(a.to_dict(), allow_nan=False)
            except ValueError:
                refused[path] = f"the analysis of {path} holds a number that is not finite; not stored"
                continue
            face_count = len(a.faces) if a.faces_checked else None
            values.append(
                (
                    path,
                    self._flavour.dirname(path),
                    size,
                    mtime_ns,
                    analyzer_version,
                    now,
                    a.exif.capture_ts,
                    a.exif.camera_key(),
                    a.phash,
                    a.dhash,
                    a.sharpness.score,
                    a.subject.score,
                    a.exposure.score,
                    face_count,
                    body,
                )
            )
        if not values:
            return refused
        with self.transaction() as db:
            db.executemany(
                """INSERT OR REPLACE INTO photos(path, folder, size, mtime_ns, analyzer_version, analyzed_at,
                   capture_ts, camera_key, phash, dhash, sharpness, subject_sharpness, exposure, face_count,
                   analysis) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
                values,
            )
            db.executemany("DELETE FROM failures WHERE path=?", [(v[0],) for v in values])
            db.executemany(
                "DELETE FROM embeddings WHERE path=? AND (size!=? OR mtime_ns!=?)",
                [(v[0], v[2], v[3]) for v in values],
            )
        self.parsed.forget([v[0] for v in values])
        return refused

    def analyses(self, paths: Iterable[str]) -> dict[str, Analysis]:
        """The stored analyses of these photos; a gone one (deleted, or moved away) has none: nothing is decided
        for a file that is not there."""
        out: dict[str, Analysis] = {}
        paths = list(paths)
        for i in range(0, len(paths), 500):
            chunk = paths[i : i + 500]
            rows = self._query(
                f"SELECT path, CAST(analysis AS BLOB) FROM photos WHERE path IN ({','.join('?' * len(chunk))})"
                f" AND {LIVE}",
                chunk,
            )
            out.update((p, a) for p, j in rows if (a := self.parsed.parse(p, j)) is not None)
        return out

    def all_paths(self) -> list[str]:
        return [r[0] for r in self._query(f"SELECT path FROM photos WHERE {LIVE} ORDER BY path")]

    def _under(self, column: str, folder: str, scope: str = "tree") -> tuple[str, tuple[str, ...]]:
        """A WHERE clause: ``column`` is ``folder`` itself ("itself"), lies below it ("below": for a file's path)
        or either ("tree"), as the OS compares names (``paths.within``'s rule). Equality and a range on the
        prefix, not LIKE: LIKE ignores ASCII case (two folders on POSIX) and its wildcards '%' and '_' occur in
        folder names. On Windows both sides are ``normcase``-folded (case, '/'), so C:\\Photos asked as c:/photos
        is found."""
        flavour, sep = self._flavour, self._flavour.sep
        base = folder.rstrip(sep + (flavour.altsep or ""))
        # a root ('/', 'C:\\', '\\\\nas\\share\\') is stored with its separator, as dirname gives it
        itself = base if flavour.splitdrive(base)[1] else base + sep
        # every name below sorts from base+sep up to (not with) base+the character after sep: a prefix range
        low, high = base + sep, base + chr(ord(sep) + 1)
        value = column
        if flavour.__name__ == "ntpath":
            value = f"normcase({column})"
            itself, low, high = (flavour.normcase(x) for x in (itself, low, high))
        below = f"({value}>=? AND {value}<?)"
        if scope == "itself":
            return f"{value}=?", (itself,)
        if scope == "below":
            return below, (low, high)
        return f"({value}=? OR {below})", (itself, low, high)

    def paths_under(self, folder: str, *, top_level_only: bool = False) -> list[str]:
        where, args = self._under("folder", folder, "itself" if top_level_only else "tree")
        return [r[0] for r in self._query(f"SELECT path FROM photos WHERE {where} AND {LIVE} ORDER BY path", args)]

    def timed_between(self, folder: str, t0: float, t1: float) -> list[str]:
        """Stored photos in this folder taken in [t0, t1] (burst context)."""
        return [
            r[0]
            for r in self._query(
                f"SELECT path FROM photos WHERE folder=? AND capture_ts BETWEEN ? AND ? AND {LIVE}", (folder, t0, t1)
            )
        ]

    def timed_within(self, folder: str, windows: Sequence[tuple[float, float]]) -> list[str]:
        """Stored photos in this folder taken inside any of these disjoint time windows (each [lo, hi], sorted):
        the burst-window query. A few windows are read one by one; many (a chunk of a library: one per lone
        frame) in one read of the times over their span, filtered here, so a chunk costs one query, not one per
        photo. Either way the same photos as ``timed_between`` over each window."""
        if len(windows) <= 4:
            return [p for lo, hi in windows for p in self.timed_between(folder, lo, hi)]
        ordered = sorted(windows)
        los = [lo for lo, _ in ordered]
        reach = list(itertools.accumulate((hi for _, hi in ordered), max))  # the furthest end up to each window
        rows = self._query(
            f"SELECT path, capture_ts FROM photos WHERE folder=? AND capture_ts BETWEEN ? AND ? AND {LIVE}",
            (folder, los[0], reach[-1]),
        )
        out = []
        for path, ts in rows:
            k = bisect.bisect_right(los, ts) - 1  # every window up to k starts at or before ts
            if k >= 0 and ts <= reach[k]:
                out.append(path)
        return out

    def hashes(self, folder: str, *, timed: bool) -> list[tuple[str, str, str]]:
        """(path, pHash, dHash) of the stored photos in this folder with (or without) a capture time: which could
        be near-duplicates of a frame, known without reading their analyses."""
        return self._query(
            "SELECT path, COALESCE(phash, ''), COALESCE(dhash, '') FROM photos WHERE folder=? AND capture_ts IS "
            + ("NOT NULL" if timed else "NULL")
            + f" AND {LIVE}",
            (folder,),
        )

    def set_verdicts(
        self, rows: Iterable[tuple[str, str, int, float]], policy_version: int, *, same: Sequence[str] = ()
    ) -> None:
        """Promote (path, verdict, stars, quality) decided under ``policy_version``, for filtering and counts;
        ``same``: photos whose stored verdict, stars and quality were decided again unchanged, so only their
        policy version moves on (a policy change rewrites what changed, not the library). One transaction.

        Only the apply stage calls this (see apply.py).
        """
        with self.transaction() as db:
            db.executemany(
                "UPDATE photos SET verdict=?, stars=?, quality=?, policy_version=? WHERE path=?",
                [(v, s, q, policy_version, p) for p, v, s, q in rows],
            )
            for i in range(0, len(same), 500):
                chunk = list(same[i : i + 500])
                db.execute(
                    f"UPDATE photos SET policy_version=? WHERE path IN ({','.join('?' * len(chunk))})",
                    [policy_version, *chunk],
                )

    def verdict_rows(self, paths: Sequence[str]) -> dict[str, tuple[Optional[str], Optional[int], Optional[float]]]:
        """path -> (verdict, stars, quality) as last promoted (None, None, None: never decided)."""
        rows = self._for_paths("SELECT path, verdict, stars, quality FROM photos WHERE path IN ({})", paths)
        return {p: (v, s, q) for p, v, s, q in rows}

    def verdicts(self, paths: Optional[Sequence[str]] = None) -> dict[str, tuple[Optional[str], Optional[int]]]:
        """path -> (verdict, stars) as last promoted, for ``paths`` (default: every stored photo)."""
        if paths is None:
            return {p: (v, s) for p, v, s in self._query(f"SELECT path, verdict, stars FROM photos WHERE {LIVE}")}
        out: dict[str, tuple[Optional[str], Optional[int]]] = {}
        for i in range(0, len(paths), 500):
            chunk = list(paths[i : i + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._query(f"SELECT path, verdict, stars FROM photos WHERE path IN ({marks})", chunk)
            out.update((p, (v, s)) for p, v, s in rows)
        return out

    def stale_verdicts(self, policy_version: int) -> list[str]:
        """Stored photos without a verdict made under this policy version (none when all agree)."""
        rows = self._query(
            f"SELECT path FROM photos WHERE (verdict IS NULL OR policy_version != ?) AND {LIVE} ORDER BY path",
            (policy_version,),
        )
        return [r[0] for r in rows]

    def verdict_counts(self) -> dict[str, int]:
        return {
            v or "": n for v, n in self._query(f"SELECT verdict, COUNT(*) FROM photos WHERE {LIVE} GROUP BY verdict")
        }

    def photo_count(self) -> int:
        return int(self._query(f"SELECT COUNT(*) FROM photos WHERE {LIVE}")[0][0])

    def forget_missing(self, paths: Iterable[str]) -> None:
        paths = list(paths)
        with self.transaction() as db:
            db.executemany("DELETE FROM photos WHERE path=?", [(p,) for p in paths])
        self.parsed.forget(paths)

    # ------------------------------------------------------------ failures --
    def record_failure(self, path: str, code: str, message: str) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute(
                """INSERT INTO failures(path, code, message, attempts, first_at, last_at) VALUES(?,?,?,1,?,?)
                   ON CONFLICT(path) DO UPDATE SET code=excluded.code, message=excluded.message,
                   attempts=attempts+1, last_at=excluded.last_at""",
                (path, code, message, now, now),
            )

    def failures(self, limit: int = 0) -> list[FailureRow]:
        sql = (
            "SELECT path, code, message, attempts, last_at, given_up, next_at, size, mtime_ns FROM failures"
            " ORDER BY last_at DESC"
        )
        rows = self._query(sql + (" LIMIT ?" if limit > 0 else ""), (limit,) if limit > 0 else ())
        return [_failure_row(r) for r in rows]

    def failure(self, path: str) -> Optional[FailureRow]:
        rows = self._query(
            "SELECT path, code, message, attempts, last_at, given_up, next_at, size, mtime_ns FROM failures"
            " WHERE path=?",
            (path,),
        )
        return _failure_row(rows[0]) if rows else None

    def schedule_retry(self, path: str, size: int, mtime_ns: int, retries: int, backoff: float) -> Optional[FailureRow]:
        """After a failed attempt by the watcher: remember the file it failed on, and either when to try again
        (``backoff`` doubled per attempt) or, past ``retries`` retries, that it is given up."""
        with self.transaction() as db:
            row = db.execute("SELECT attempts FROM failures WHERE path=?", (path,)).fetchone()
            if row is None:
                return None
            attempts = int(row[0])
            given_up = attempts > retries
            next_at = None if given_up else time.time() + backoff * 2 ** (attempts - 1)
            db.execute(
                "UPDATE failures SET size=?, mtime_ns=?, given_up=?, next_at=? WHERE path=?",
                (size, mtime_ns, int(given_up), next_at, path),
            )
        return self.failure(path)

    def give_up(self, path: str, code: str, message: str, size: int, mtime_ns: int) -> None:
        """A file no attempt can help (its name cannot be stored): listed as given up at once, until it changes."""
        now = time.time()
        with self.transaction() as db:
            db.execute(
                """INSERT OR REPLACE INTO failures(path, code, message, attempts, first_at, last_at, size, mtime_ns,
                   next_at, given_up) VALUES(?,?,?,1,?,?,?,?,NULL,1)""",
                (path, code, message, now, now, size, mtime_ns),
            )

    def clear_failure(self, path: str) -> None:
        """The file changed since it failed: its attempts start again."""
        with self.transaction() as db:
            db.execute("DELETE FROM failures WHERE path=?", (path,))

    def failure_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM failures")[0][0])

    # -------------------------------------------------------------- policy --
    def get_setting(self, key: str) -> Optional[str]:
        rows = self._query("SELECT value FROM settings WHERE key=?", (key,))
        return rows[0][0] if rows else None

    def set_settings(self, values: Mapping[str, str]) -> None:
        """Set several settings in one transaction: a reader sees all of them changed or none."""
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO settings(key, value) VALUES(?,?)", list(values.items()))

    def save_preset(self, name: str, values: dict[str, Any], description: str = "") -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO policies(name, body, description, updated_at) VALUES(?,?,?,?)",
                (name, json.dumps(values), description, time.time()),
            )

    def presets(self) -> dict[str, tuple[str, str]]:
        """name -> (description, body as stored): the engine parses and validates it, so one bad row
        written by an older version costs that row's bad values, not every preset."""
        return {n: (d, b) for n, b, d in self._query("SELECT name, body, description FROM policies")}

    # ------------------------------------------------------------ feedback --
    def put_feedback(self, items: Iterable[tuple[str, int, str, str]], source: str, profile: str = "default") -> int:
        now = time.time()
        rows = [(profile, p, r, pk, lb, source, now) for p, r, pk, lb in items]
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO feedback(profile, path, rating, pick, label, source, at) VALUES(?,?,?,?,?,?,?)",
                rows,
            )
        return len(rows)

    def feedback(self, profile: str = "default") -> list[tuple[str, int, str, str, Optional[str]]]:
        """(path, rating, pick, label, current verdict) for every photo rated in this profile."""
        return self._query(
            "SELECT f.path, f.rating, f.pick, f.label, p.verdict FROM feedback f LEFT JOIN photos p ON p.path = f.path"
            " WHERE f.profile=? ORDER BY f.path",
            (profile,),
        )

    def profiles_rating(self, paths: Iterable[str]) -> list[str]:
        """Profiles in which any of these photos is rated (they retrain when the photos get new vectors)."""
        rows = self._for_paths("SELECT DISTINCT profile FROM feedback WHERE path IN ({})", paths)
        return sorted({r[0] for r in rows})

    def profiles(self) -> list[str]:
        """Profiles with ratings or a trained model."""
        rows = self._query("SELECT profile FROM feedback UNION SELECT profile FROM taste_models ORDER BY 1")
        return [r[0] for r in rows]

    # ---------------------------------------------------------- embeddings --
    def put_embeddings(self, model: str, rows: Iterable[tuple[str, int, int, np.ndarray]]) -> int:
        """Store (path, size, mtime_ns, vector) under ``model``. A vector that is not finite or not of unit
        length is refused (ValueError), never stored."""
        now = time.time()
        clean = []
        for path, size, mtime_ns, vec in rows:
            v = np.asarray(vec, dtype=np.float32).ravel()
            norm = float(np.linalg.norm(v)) if v.size else 0.0
            if not v.size or not np.all(np.isfinite(v)) or abs(norm - 1.0) > 1e-3:
                raise ValueError(f"the embedding of {path} is not a finite unit vector; not stored")
            clean.append((path, model, size, mtime_ns, v.tobytes(), now))
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embeddings(path, model, size, mtime_ns, vector, at) VALUES(?,?,?,?,?,?)", clean
            )
        return len(clean)

    def embeddings(self, paths: Iterable[str], model: str) -> dict[str, np.ndarray]:
        """path -> unit float32 vector under ``model``, for those paths that have one."""
        rows = self._for_paths("SELECT path, vector FROM embeddings WHERE model=? AND path IN ({})", paths, model)
        return {p: np.frombuffer(b, dtype=np.float32) for p, b in rows}

    def embedding_stamps(self, paths: Iterable[str], model: str) -> dict[str, tuple[int, int]]:
        """path -> (size, mtime_ns) of the file each stored embedding was made from."""
        rows = self._for_paths(
            "SELECT path, size, mtime_ns FROM embeddings WHERE model=? AND path IN ({})", paths, model
        )
        return {p: (s, m) for p, s, m in rows}

    def _for_paths(self, sql: str, paths: Iterable[str], *args: Any) -> list[tuple]:
        """``sql`` (its ``IN ({})`` filled with placeholders) over ``paths``, 500 at a time (SQLite's limit on
        parameters), ``args`` first."""
        out: list[tuple] = []
        paths = list(paths)
        for i in range(0, len(paths), 500):
            chunk = paths[i : i + 500]
            out += self._query(sql.format(",".join("?" * len(chunk))), [*args, *chunk])
        return out

    def unembedded(self, model: str, limit: int) -> list[tuple[str, int, int]]:
        """(path, size, mtime_ns) of stored photos, then rated photos, that have no embedding under ``model`` made
        from their current file (photos first: they are what culls decide)."""
        photos = self._query(
            """SELECT p.path, p.size, p.mtime_ns FROM photos p LEFT JOIN embeddings e
               ON e.path = p.path AND e.model = ? AND e.size = p.size AND e.mtime_ns = p.mtime_ns
               LEFT JOIN embedding_failures f
               ON f.path = p.path AND f.model = ? AND f.size = p.size AND f.mtime_ns = p.mtime_ns
               WHERE e.path IS NULL AND f.path IS NULL AND p.gone_at IS NULL ORDER BY p.path LIMIT ?""",
            (model, model, limit),
        )
        if len(photos) >= limit:
            return photos
        rated = self._query(
            """SELECT DISTINCT f.path, -1, -1 FROM feedback f LEFT JOIN embeddings e ON e.path = f.path AND e.model = ?
               LEFT JOIN photos p ON p.path = f.path LEFT JOIN embedding_failures x ON x.path = f.path AND x.model = ?
               WHERE e.path IS NULL AND p.path IS NULL AND x.path IS NULL ORDER BY f.path LIMIT ?""",
            (model, model, limit - len(photos)),
        )
        return photos + rated

    def put_embedding_failures(self, model: str, rows: Iterable[tuple[str, int, int, str]]) -> None:
        """Record (path, size, mtime_ns, reason) that could not be embedded under ``model`` (missing, unreadable,
        changed since analysed): the background work skips them until the file changes, so one deleted photo
        never holds a model change back."""
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO embedding_failures(path, model, size, mtime_ns, reason) VALUES(?,?,?,?,?)",
                [(p, model, s, m, r) for p, s, m, r in rows],
            )

    def embedded_photos(self, model: str) -> int:
        """Stored photos with a vector under ``model``."""
        return int(
            self._query(
                "SELECT COUNT(*) FROM embeddings e JOIN photos p ON p.path = e.path"
                " WHERE e.model=? AND p.gone_at IS NULL",
                (model,),
            )[0][0]
        )

    def embedding_counts(self) -> dict[str, int]:
        """model -> how many photos have a vector under it."""
        return {m: n for m, n in self._query("SELECT model, COUNT(*) FROM embeddings GROUP BY model")}

    def all_embeddings(self, model: str, paths: Optional[Sequence[str]] = None) -> tuple[list[str], np.ndarray]:
        """(paths, matrix) of the stored photos (or of ``paths``) with a vector under ``model``, in path order."""
        if paths is None:
            rows = self._query(
                "SELECT e.path, e.vector FROM embeddings e JOIN photos p ON p.path = e.path WHERE e.model=?"
                " AND p.gone_at IS NULL ORDER BY e.path",
                (model,),
            )
            names = [r[0] for r in rows]
            vecs = [np.frombuffer(r[1], dtype=np.float32) for r in rows]
        else:
            found = self.embeddings(paths, model)
            names = [p for p in dict.fromkeys(paths) if p in found]
            vecs = [found[p] for p in names]
        return names, (np.vstack(vecs) if vecs else np.zeros((0, 0), dtype=np.float32))

    def put_text_vectors(self, model: str, rows: Mapping[str, np.ndarray]) -> None:
        """Cache the text vectors of the content vocabulary (finite unit vectors only, like photos' vectors)."""
        for text, vec in rows.items():
            v = np.asarray(vec, dtype=np.float32).ravel()
            if not v.size or not np.all(np.isfinite(v)) or abs(float(np.linalg.norm(v)) - 1.0) > 1e-3:
                raise ValueError(f"the text vector of {text!r} is not a finite unit vector; not stored")
        with self.transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO text_vectors(model, text, vector) VALUES(?,?,?)",
                [(model, t, np.asarray(v, dtype=np.float32).tobytes()) for t, v in rows.items()],
            )

    def text_vectors(self, model: str) -> dict[str, np.ndarray]:
        rows = self._query("SELECT text, vector FROM text_vectors WHERE model=?", (model,))
        return {t: np.frombuffer(b, dtype=np.float32) for t, b in rows}

    # -------------------------------------------------------- taste models --
    def put_taste_model(self, profile: str, model: str, body: str, trained_at: float) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO taste_models(profile, model, body, trained_at) VALUES(?,?,?,?)",
                (profile, model, body, trained_at),
            )

    def taste_model(self, profile: str, model: str) -> Optional[str]:
        rows = self._query("SELECT body FROM taste_models WHERE profile=? AND model=?", (profile, model))
        return rows[0][0] if rows else None

    # ------------------------------------------------------------- watching --
    def add_watch(self, path: str, mode: str = "auto") -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO watch_folders(path, added_at, active, mode) VALUES(?,?,1,?)",
                (path, time.time(), mode),
            )

    def remove_watch(self, path: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM watch_folders WHERE path=?", (path,)).rowcount > 0

    def watch_folders(self) -> list[WatchRow]:
        rows = self._query("SELECT path, added_at, active, mode FROM watch_folders ORDER BY path")
        return [WatchRow(p, a, bool(x), m) for p, a, x, m in rows]

    def count_under(self, folder: str) -> int:
        """Stored photos (not gone) under this folder, at any depth."""
        where, args = self._under("folder", folder)
        return int(self._query(f"SELECT COUNT(*) FROM photos WHERE {where} AND {LIVE}", args)[0][0])

    def stamps_under(self, folder: str) -> dict[str, Stamp]:
        """path -> what is stored of its file, for every photo row under this folder (gone ones included):
        the watcher's catch-up compares the tree with this in one read."""
        where, args = self._under("folder", folder)
        rows = self._query(
            "SELECT path, size, mtime_ns, analyzer_version, gone_at, content_hash IS NOT NULL FROM photos"
            f" WHERE {where}",
            args,
        )
        return {p: Stamp(s, m, v, g is not None, bool(h)) for p, s, m, v, g, h in rows}

    def failures_under(self, folder: str) -> dict[str, FailureRow]:
        where, args = self._under("path", folder, "below")
        rows = self._query(
            "SELECT path, code, message, attempts, last_at, given_up, next_at, size, mtime_ns FROM failures"
            f" WHERE {where}",
            args,
        )
        return {r[0]: _failure_row(r) for r in rows}

    def mark_gone(self, paths: Iterable[str]) -> int:
        """These files were deleted: photo rows stay (history, ratings), out of every listing and count; failure
        rows go (a deleted broken file is no longer a failure to list). Returns how many photos were marked."""
        now = time.time()
        marked = 0
        paths = list(paths)
        with self.transaction() as db:
            for p in paths:
                marked += db.execute(f"UPDATE photos SET gone_at=? WHERE path=? AND {LIVE}", (now, p)).rowcount
                db.execute("DELETE FROM failures WHERE path=?", (p,))
        self.parsed.forget(paths)  # a gone photo is never read again (``LIVE``); its slot goes to one that is
        return marked

    def set_content_hash(self, path: str, size: int, mtime_ns: int, digest: str) -> None:
        """Remember the content hash of the file the stored analysis was made from (a move is found by it)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE photos SET content_hash=? WHERE path=? AND size=? AND mtime_ns=?",
                (digest, path, size, mtime_ns),
            )

    def gone_with_size(self, size: int, analyzer_version: str) -> list[tuple[str, int, Optional[str]]]:
        """(path, mtime_ns, content hash) of gone photos of this size analysed by this analyzer: where a file
        that appeared may have come from."""
        return self._query(
            "SELECT path, mtime_ns, content_hash FROM photos"
            " WHERE gone_at IS NOT NULL AND size=? AND analyzer_version=?",
            (size, analyzer_version),
        )

    def move_photo(self, old: str, new: str, size: int, mtime_ns: int, digest: str) -> bool:
        """Re-key a photo's record to the path its file moved to: analysis, verdict, ratings and CLIP vectors
        follow it, so a move is never analysed again. False when ``old`` has no row."""
        with self.transaction() as db:
            if db.execute("SELECT 1 FROM photos WHERE path=?", (old,)).fetchone() is None:
                return False
            for table in ("photos", "failures", "embedding_failures"):
                db.execute(f"DELETE FROM {table} WHERE path=?", (new,))
            db.execute(
                "UPDATE photos SET path=?, folder=?, size=?, mtime_ns=?, content_hash=?, gone_at=NULL WHERE path=?",
                (new, self._flavour.dirname(new), size, mtime_ns, digest, old),
            )
            db.execute("UPDATE OR REPLACE feedback SET path=? WHERE path=?", (new, old))
            db.execute(
                "UPDATE OR REPLACE embeddings SET path=?, size=?, mtime_ns=? WHERE path=?", (new, size, mtime_ns, old)
            )
            db.execute("DELETE FROM embedding_failures WHERE path=?", (old,))
            db.execute("DELETE FROM failures WHERE path=?", (old,))
        self.parsed.forget([old, new])  # the old path has no row now; the new one's row was replaced
        return True

    def revive(self, path: str, size: int, mtime_ns: int) -> bool:
        """A gone photo's file is back unchanged (restored from the trash): it counts again, no new analysis."""
        with self.transaction() as db:
            return (
                db.execute(
                    "UPDATE photos SET gone_at=NULL WHERE path=? AND size=? AND mtime_ns=? AND gone_at IS NOT NULL",
                    (path, size, mtime_ns),
                ).rowcount
                > 0
            )

    def client_cursor(self, client_id: str, folder: str = "") -> int:
        """The last cursor this client acknowledged for this folder filter (0: none yet)."""
        rows = self._query("SELECT seq FROM change_cursors WHERE client_id=? AND folder=?", (client_id, folder))
        return int(rows[0][0]) if rows else 0

    def save_client_cursor(self, client_id: str, seq: int, folder: str = "") -> None:
        """The client acknowledged everything up to ``seq`` (it sent that cursor back: it applied what came
        before)."""
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO change_cursors(client_id, folder, seq, at) VALUES(?,?,?,?)",
                (client_id, folder, seq, time.time()),
            )

    def log_changes(self, paths: Iterable[str]) -> None:
        now = time.time()
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO changes(path, folder, at) VALUES(?,?,?)",
                [(p, self._flavour.dirname(p), now) for p in paths],
            )

    def changes_since(self, seq: int, limit: int, folder: str = "") -> list[tuple[int, str]]:
        if folder:
            where, args = self._under("folder", folder)
            return self._query(
                f"SELECT seq, path FROM changes WHERE seq>? AND {where} ORDER BY seq LIMIT ?", (seq, *args, limit)
            )
        return self._query("SELECT seq, path FROM changes WHERE seq>? ORDER BY seq LIMIT ?", (seq, limit))


def _failure_row(r: Sequence[Any]) -> FailureRow:
    return FailureRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], r[8])


def _loads(body: str | bytes) -> Any:
    """``json.loads`` of a stored text, through orjson: the first policy change after a start parses every
    stored analysis, and orjson does it in a third of the time, to the same values (floats correctly rounded).
    What orjson refuses and ``json`` reads (NaN or Infinity, which ``json.dumps`` writes; an integer past 64
    bits) is read by ``json``."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _parse(path: str, body: str | bytes) -> Optional[Analysis]:
    """A stored analysis, or None when its row is unreadable (damaged by hand or by another program): the photo
    is then analysed again and the row written anew, never an error that poisons every later read."""
    try:
        analysis = Analysis.from_dict(_loads(body))
        if not isinstance(analysis, Analysis):  # valid JSON, but not an object: nothing to decide from
            raise TypeError(f"a stored analysis is an object, not {type(analysis).__name__}")
        return analysis
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("the stored analysis of %s is unreadable (%s); it will be analysed again", path, exc)
        return None
