"""Watched folders, end to end: the real daemon, real watchdog (inotify and its polling observer), real files.

What a photographer would notice: a photo copied in slowly is read once, when complete; a card's worth dropped
at once is all decided, each photo once; a rename or move costs no new analysis and a deleted photo leaves the
counts (its history kept); what arrived while the daemon was down is found on start; a broken file is tried a
few times, then listed as given up and left alone. Decodes are counted by the daemon (GetStatus.decodes).
No test asserts elapsed time: each waits for its condition with a generous timeout.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from autocull.store import Store
from autocull.watch.fstype import is_network_type, mount_type
from autocull.watch.rules import is_candidate
from autocull.watch.settle import Settler

from daemon import Daemon
from imagegen import jpeg_bytes, sample_rgb

SETTLE = 1.5  # a chunk of the slow copy comes every 0.2 s: far inside this
CONFIG = (
    f"watch_settle = {SETTLE}\nwatch_settle_network = {SETTLE}\nwatch_retry_backoff = 0.3\nwatch_interval = 0.3\n"
    "faces = false\nworkers = 2\nanalysis_size = 512\n"
)


def wait_for(cond: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {what}")


def noise_jpeg(path: Path, seed: int, size: tuple[int, int] = (96, 128)) -> Path:
    rgb = np.random.default_rng(seed).integers(0, 255, (*size, 3), dtype=np.uint8)
    path.write_bytes(jpeg_bytes(rgb, quality=85))
    return path


def decodes(d: Daemon) -> int:
    return int(d.post("GetStatus", {}).get("decodes", 0))


class Feed:
    """One client of the change feed, as the plugins are: its own id, and it sends back each next_cursor once it
    applied the page (its acknowledgement; the daemon saves it)."""

    def __init__(self, d: Daemon, client: str, folder: Path) -> None:
        self.d, self.client, self.folder = d, client, str(folder)
        self.paths: list[str] = []
        self.decisions: dict[str, dict] = {}
        self.cursor = ""

    def pull(self) -> list[str]:
        while True:
            page = self.d.post("GetChanges", {"clientId": self.client, "folder": self.folder, "cursor": self.cursor})
            for x in page.get("decisions", []):
                self.paths.append(x["path"])
                self.decisions[x["path"]] = x
            self.cursor = page.get("nextCursor", self.cursor)
            if not page.get("more"):
                return self.paths


def db_rows(home: Path, sql: str, args: tuple = ()) -> list[tuple]:
    db = sqlite3.connect(f"file:{home / 'autocull.db'}?mode=ro", uri=True)
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("watch") / "home", config=CONFIG)
    yield d
    d.stop()


def watch(d: Daemon, folder: Path, mode: str = "") -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    body: dict[str, Any] = {"path": str(folder)}
    if mode:
        body["mode"] = mode
    answer = d.post("AddWatchFolder", body)
    return next(f for f in answer["folders"] if f["path"] == str(folder))


# ------------------------------------------------------------------------------------------------ daemon tests --
def test_a_file_copied_slowly_in_chunks_is_analysed_once_after_it_is_complete(daemon, tmp_path):
    inbox = tmp_path / "slow"
    watch(daemon, inbox)
    feed = Feed(daemon, "slow-client", inbox)
    rgb = sample_rgb("astronaut")
    data = jpeg_bytes(rgb, quality=95)
    before = decodes(daemon)
    target = inbox / "IMG_0001.jpg"
    chunks = 20
    step = len(data) // chunks + 1
    with open(target, "wb") as fh:  # about four seconds of writing, a chunk every 0.2 s
        for k in range(chunks):
            fh.write(data[k * step : (k + 1) * step])
            fh.flush()
            time.sleep(0.2)
    wait_for(lambda: str(target) in feed.pull(), "the copied photo in the change feed")
    assert decodes(daemon) - before == 1, "analysed once, not once per write"
    assert feed.paths == [str(target)]
    assert feed.decisions[str(target)]["verdict"] in ("VERDICT_KEEP", "VERDICT_REVIEW", "VERDICT_REJECT")
    (size,) = db_rows(daemon.home, "SELECT size FROM photos WHERE path=?", (str(target),))[0]
    assert size == len(data), "the analysis is of the complete file"
    assert daemon.post("ListFailures", {}).get("failures", []) == []


def test_five_hundred_files_dropped_at_once_are_all_analysed_each_once_and_the_rest_ignored(daemon, tmp_path):
    inbox = tmp_path / "card"
    watch(daemon, inbox)
    feed = Feed(daemon, "card-client", inbox)
    staging = tmp_path / "staging"
    staging.mkdir()
    names = [f"DSC_{k:04d}.jpg" for k in range(500)]
    for k, name in enumerate(names):
        noise_jpeg(staging / name, k)
    junk = {  # none of these is a photo to analyse
        "DSC_9999.jpg.part": b"half a copy",
        ".hidden.jpg": jpeg_bytes(sample_rgb("coffee")),
        "._DSC_0001.jpg": b"\x00\x05\x16\x07AppleDouble",
        "DSC_0001.xmp": b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
        "DSC_0002.jpg~": b"editor backup",
        "notes.txt": b"shot list",
        "upload.tmp": b"temp",
    }
    for name, body in junk.items():
        (staging / name).write_bytes(body)
    before = decodes(daemon)
    for name in [*names, *junk]:  # dropped at once: renames into the folder, as fast as they go
        os.replace(staging / name, inbox / name)
    expected = {str(inbox / n) for n in names}
    wait_for(lambda: expected <= set(feed.pull()), "all 500 photos in the change feed", timeout=240)
    assert len(feed.paths) == 500, "each photo logged once"
    assert decodes(daemon) - before == 500, "each photo read once, the junk never"
    failed = {f["path"] for f in daemon.post("ListFailures", {}).get("failures", [])}
    assert not {p for p in failed if p.startswith(str(inbox))}
    folder = next(f for f in daemon.post("ListWatchFolders", {})["folders"] if f["path"] == str(inbox))
    assert folder["photos"] == 500


@pytest.mark.parametrize("mode", ["WATCH_MODE_EVENTS", "WATCH_MODE_POLLING"])
def test_a_rename_keeps_the_analysis_and_ratings_and_a_delete_marks_the_photo_gone(daemon, tmp_path, mode):
    inbox = tmp_path / f"moves-{mode}"
    info = watch(daemon, inbox, mode)
    assert info.get("polling", False) is (mode == "WATCH_MODE_POLLING")
    feed = Feed(daemon, f"moves-{mode}", inbox)
    a = noise_jpeg(inbox / "a.jpg", 1001)
    c = noise_jpeg(inbox / "c.jpg", 1002)
    wait_for(lambda: {str(a), str(c)} <= set(feed.pull()), "both photos decided")
    daemon.post("SendFeedback", {"items": [{"path": str(a), "rating": 4}], "source": "test"})
    before = decodes(daemon)
    stored_before = daemon.post("GetStatus", {})["photosStored"]

    b = inbox / "renamed.jpg"
    os.rename(a, b)
    (inbox / "sub").mkdir()
    c2 = inbox / "sub" / "c.jpg"
    os.rename(c, c2)
    wait_for(lambda: {str(b), str(c2)} <= set(feed.pull()), "the moved photos back in the feed")
    assert decodes(daemon) == before, "a move is not analysed again"
    assert db_rows(daemon.home, "SELECT path FROM photos WHERE path IN (?,?)", (str(a), str(c))) == []
    rows = db_rows(daemon.home, "SELECT path, gone_at FROM photos WHERE path IN (?,?)", (str(b), str(c2)))
    assert sorted(rows) == sorted([(str(b), None), (str(c2), None)])
    assert db_rows(daemon.home, "SELECT rating FROM feedback WHERE path=?", (str(b),)) == [(4,)]
    assert daemon.post("GetStatus", {})["photosStored"] == stored_before

    os.remove(b)
    wait_for(
        lambda: db_rows(daemon.home, "SELECT 1 FROM photos WHERE path=? AND gone_at IS NOT NULL", (str(b),)),
        "the deleted photo marked gone",
    )
    assert daemon.post("GetStatus", {})["photosStored"] == stored_before - 1
    listed = daemon.post("Decide", {"paths": [str(inbox)]}).get("decisions", [])
    assert [x["path"] for x in listed] == [str(c2)], "a gone photo is no longer listed"
    assert daemon.post("Decide", {"paths": [str(b)]}).get("decisions", []) == [], "nor decided when named"
    fresh = Feed(daemon, f"fresh-{mode}", inbox).pull()  # a new client reads the whole feed
    assert str(b) not in fresh and str(a) not in fresh and str(c2) in fresh, "no decision for a file not there"
    assert db_rows(daemon.home, "SELECT rating FROM feedback WHERE path=?", (str(b),)) == [(4,)], "history kept"

    trash = tmp_path / f"trash-{mode}"  # thrown away, then restored: back without a new analysis
    trash.mkdir()
    os.rename(c2, trash / "c.jpg")
    wait_for(lambda: daemon.post("GetStatus", {})["photosStored"] == stored_before - 2, "the thrown-away photo gone")
    seen = len(feed.pull())
    os.rename(trash / "c.jpg", c2)
    wait_for(lambda: str(c2) in feed.pull()[seen:], "the restored photo back in the feed")
    assert daemon.post("GetStatus", {})["photosStored"] == stored_before - 1
    assert decodes(daemon) == before


def test_a_review_page_written_into_a_watched_folder_is_not_culled_as_photos(daemon, tmp_path):
    """`autocull report -o` inside an import folder: its thumbnails land in a watched folder, as events and in the
    catch-up walk of a folder watched after it was written, and none of them is taken for a photo."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for k in range(3):
        noise_jpeg(shoot / f"IMG_{k:04d}.jpg", 3000 + k)
    cli = [sys.executable, "-m", "autocull", "--home", str(daemon.home), "report", str(shoot)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    made = subprocess.run([*cli, "-o", str(shoot / "review")], capture_output=True, text=True, env=env, timeout=300)
    assert made.returncode == 0, made.stderr
    thumbs = sorted((shoot / "review" / "thumbs").glob("*.jpg"))
    assert len(thumbs) == 3, "the page has a thumbnail per photo"

    watch(daemon, shoot)  # catch-up walk over a folder that already holds a review page
    feed = Feed(daemon, "review-client", shoot)
    before = decodes(daemon)
    shutil.copy(thumbs[0], shoot / "review" / "thumbs" / "extra.jpg")  # events inside the page's folder
    again = subprocess.run([*cli, "-o", str(shoot / "review")], capture_output=True, text=True, env=env, timeout=300)
    assert again.returncode == 0, again.stderr
    time.sleep(SETTLE * 2)  # the page's files settle before the next photo arrives, so they would be taken first
    late = noise_jpeg(shoot / "IMG_9999.jpg", 3999)
    wait_for(lambda: str(late) in feed.pull(), "the new photo in the change feed")
    assert decodes(daemon) - before == 1, "only the new photo was read"
    review = str(shoot / "review")
    assert not [p for p in feed.paths if p.startswith(review)], "no thumbnail was culled"
    failed = [f["path"] for f in daemon.post("ListFailures", {}).get("failures", [])]
    assert not [p for p in failed if p.startswith(review)]
    assert not db_rows(daemon.home, "SELECT path FROM photos WHERE path LIKE ?", (review + "%",))


def test_a_corrupt_file_is_retried_up_to_the_policy_count_then_given_up_and_never_read_again(daemon, tmp_path):
    daemon.post("SetPolicy", {"values": {"watch_retries": 2}})
    inbox = tmp_path / "broken"
    watch(daemon, inbox)
    feed = Feed(daemon, "broken-client", inbox)
    before = decodes(daemon)
    bad = inbox / "IMG_0666.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(4000))  # a JPEG's start, then noise

    def failure() -> dict:
        return next((f for f in daemon.post("ListFailures", {}).get("failures", []) if f["path"] == str(bad)), {})

    wait_for(lambda: failure().get("givenUp"), "the broken file given up")
    f = failure()
    assert f["attempts"] == 3 and not f.get("nextAttempt") and f["message"]
    read = decodes(daemon) - before
    assert read == 3, "tried once and retried twice"
    good = noise_jpeg(inbox / "IMG_0667.jpg", 7)  # the watcher goes on watching meanwhile
    wait_for(lambda: str(good) in feed.pull(), "a good photo next to it still decided")
    assert decodes(daemon) - before == read + 1
    st = bad.stat()  # touched, its content and times unchanged: an event names it, and it stays given up
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
    later = noise_jpeg(inbox / "IMG_0668.jpg", 9)  # nominated after the touch, so it settles no earlier
    wait_for(lambda: str(later) in feed.pull(), "a photo written after the touch decided")
    assert decodes(daemon) - before == read + 2 and failure()["attempts"] == 3
    out = subprocess.run(
        [sys.executable, "-m", "autocull", "status", "--failed"],
        env=dict(os.environ, AUTOCULL_HOME=str(daemon.home)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and str(bad) in out.stdout and "given up" in out.stdout
    noise_jpeg(bad, 8)  # fixed (copied again): read again at once, and the failure is gone
    wait_for(lambda: str(bad) in feed.pull(), "the fixed file decided")
    assert failure() == {}
    daemon.post("SetPolicy", {"values": {"watch_retries": 3}})


def test_a_card_pulled_out_and_put_back_loses_nothing_and_is_watched_again(daemon, tmp_path):
    card = tmp_path / "card" / "DCIM"
    watch(daemon, card)
    feed = Feed(daemon, "card-reader", card)
    first = noise_jpeg(card / "IMG_0001.jpg", 31)
    wait_for(lambda: str(first) in feed.pull(), "the first photo decided")
    stored = daemon.post("GetStatus", {})["photosStored"]
    before = decodes(daemon)
    pulled = tmp_path / "pulled"
    os.rename(card, pulled)  # the watched folder is gone with everything in it, as when a card is pulled

    def watched() -> dict:
        return next(f for f in daemon.post("GetStatus", {})["watched"] if f["path"] == str(card))

    time.sleep(4 * SETTLE)  # the watcher notices meanwhile; nothing may be marked gone
    assert db_rows(daemon.home, "SELECT gone_at FROM photos WHERE path=?", (str(first),)) == [(None,)]
    assert daemon.post("GetStatus", {})["photosStored"] == stored
    shutil.copytree(pulled, card)  # put back: a new folder at the same place (a card mounts anew), mtimes kept
    second = noise_jpeg(card / "IMG_0002.jpg", 32)  # and a photo taken meanwhile
    wait_for(lambda: str(second) in feed.pull(), "the new photo on the card decided")
    assert decodes(daemon) == before + 1, "the photo already decided is not read again"
    assert watched()["photos"] == 2


def test_each_client_keeps_its_own_cursor(daemon, tmp_path):
    inbox = tmp_path / "clients"
    watch(daemon, inbox)
    photo = noise_jpeg(inbox / "one.jpg", 4242)
    lightroom = Feed(daemon, "lightroom:catalog-1", inbox)
    wait_for(lambda: str(photo) in lightroom.pull(), "the photo in the first client's feed")

    def resume(client: str, cursor: str = "", folder: Path = inbox) -> dict:
        return daemon.post("GetChanges", {"clientId": client, "folder": str(folder), "cursor": cursor})

    served = resume("lightroom:catalog-1")  # the catalog was busy: the page was never applied, nor acknowledged
    assert [x["path"] for x in served["decisions"]] == [str(photo)], "a page served but not acknowledged comes again"
    assert resume("lightroom:catalog-1", served["nextCursor"]).get("decisions", []) == []  # applied: acknowledged
    again = resume("lightroom:catalog-1")
    assert again.get("decisions", []) == [], "an empty cursor continues after the last acknowledged page"
    darktable = resume("darktable:library")
    assert [x["path"] for x in darktable["decisions"]] == [str(photo)], "another client starts from the beginning"
    other = inbox.parent / "clients-other"  # the same client reading another folder keeps a cursor for it
    watch(daemon, other)
    second = noise_jpeg(other / "two.jpg", 4343)
    wait_for(lambda: resume("lightroom:catalog-1", folder=other).get("decisions"), "the other folder's photo")
    assert [x["path"] for x in resume("lightroom:catalog-1", folder=other)["decisions"]] == [str(second)]
    assert resume("lightroom:catalog-1").get("decisions", []) == [], "the first folder's cursor is untouched"


def test_photos_added_while_the_daemon_was_down_are_found_on_start(tmp_path):
    home = tmp_path / "home"
    inbox = tmp_path / "import"
    d = Daemon(home, config=CONFIG)
    try:
        watch(d, inbox)
        first = [noise_jpeg(inbox / f"old{k}.jpg", 500 + k) for k in range(2)]
        feed = Feed(d, "catch-up", inbox)
        wait_for(lambda: {str(p) for p in first} <= set(feed.pull()), "the first photos decided")
    finally:
        assert d.stop() == 0
    (inbox / "later").mkdir()
    late = [noise_jpeg(inbox / "later" / f"new{k}.jpg", 600 + k) for k in range(3)]
    os.remove(first[0])
    d = Daemon(home, config=CONFIG)
    try:
        feed = Feed(d, "catch-up", inbox)
        wait_for(lambda: {str(p) for p in late} <= set(feed.pull()), "the photos added meanwhile decided")
        assert decodes(d) == 3, "only what arrived is read; the unchanged photo is not"
        wait_for(
            lambda: db_rows(home, "SELECT 1 FROM photos WHERE path=? AND gone_at IS NOT NULL", (str(first[0]),)),
            "the photo deleted meanwhile marked gone",
        )
        assert d.post("GetStatus", {})["photosStored"] == 4
    finally:
        d.stop()


# -------------------------------------------------------------------------------------------- pieces, pure --
MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
40 27 0:40 / /mnt/nas rw,relatime - nfs4 nas:/photos rw,vers=4.2
41 27 0:41 / /mnt/smb\\040share rw,relatime - cifs //pc/share rw
42 27 0:42 / /home/me/remote rw - fuse.sshfs me@host:/pics rw
43 40 8:2 / /mnt/nas/local rw - ext4 /dev/sdb1 rw
"""


def test_the_file_system_type_is_that_of_the_longest_mount_over_the_folder():
    assert mount_type("/home/me/Pictures", MOUNTINFO) == "ext4"
    assert mount_type("/mnt/nas/2024/card", MOUNTINFO) == "nfs4"
    assert mount_type("/mnt/nas/local/x", MOUNTINFO) == "ext4"
    assert mount_type("/mnt/smb share/DCIM", MOUNTINFO) == "cifs"
    assert mount_type("/home/me/remote/a", MOUNTINFO) == "fuse.sshfs"
    assert mount_type("/mnt/nasty", MOUNTINFO) == "ext4"  # a name sharing a prefix is not inside
    assert [is_network_type(t) for t in ("nfs4", "cifs", "fuse.sshfs", "smb3", "9p", "ext4", "vfat", None)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_only_photos_are_candidates():
    home = "/home/me/.config/autocull"
    assert not is_candidate(os.fsdecode(b"/p/Caf\xe9.jpg"), home), "a name the store cannot hold is refused"
    good = ["/p/IMG_1.CR2", "/p/a b/DSC.jpg", "/p/x.HEIC"]
    bad = [
        "/p/IMG_1.CR2.xmp",
        "/p/IMG_1.xmp",
        "/p/IMG_1.jpg.part",
        "/p/IMG_1.jpg~",
        "/p/IMG_1.tmp",
        "/p/._IMG_1.jpg",
        "/p/.IMG_1.jpg",
        "/p/.thumbs/IMG_1.jpg",
        "/p/notes.txt",
        home + "/autocull.db",
        home + "/cache/x.jpg",
    ]
    assert [is_candidate(p, home) for p in good] == [True] * len(good)
    assert [is_candidate(p, home) for p in bad] == [False] * len(bad)


def test_a_file_is_ready_only_after_its_size_and_mtime_held_still_for_the_settle_period(tmp_path):
    f = tmp_path / "IMG.jpg"
    f.write_bytes(b"x" * 10)
    s = Settler(2.0)
    s.nominate(str(f))
    assert s.tick(0.0) == []  # first look
    assert s.tick(1.9) == []
    with open(f, "ab") as fh:
        fh.write(b"more")
    assert s.tick(2.5) == []  # it grew: the clock starts again
    assert s.tick(4.0) == []
    (ready,) = s.tick(4.6)
    assert (ready.path, ready.size) == (str(f), 14)
    assert s.tick(10.0) == [] and len(s) == 0  # handed out once
    s.nominate(str(tmp_path / "vanished.jpg"))
    assert s.tick(11.0) == [] and len(s) == 0
    s.nominate(str(f), settle=30.0)  # on a share: its own, longer period
    assert s.tick(20.0) == [] and s.tick(40.0) == []  # still after 20 s: not yet
    (ready,) = s.tick(50.0)
    assert ready.path == str(f)


def test_a_moved_record_takes_its_ratings_and_vectors_along_and_a_gone_one_leaves_every_count(tmp_path):
    from autocull.engine import Engine

    eng = Engine.open(tmp_path / "home")
    try:
        src = tmp_path / "in" / "a.jpg"
        src.parent.mkdir()
        noise_jpeg(src, 3)
        eng.run([str(src)])
        store: Store = eng.store
        st = src.stat()
        vec = np.ones(8, dtype=np.float32) / np.sqrt(8)
        store.put_embeddings("m", [(str(src), st.st_size, st.st_mtime_ns, vec)])
        store.put_feedback([(str(src), 5, "picked", "green")], "test")
        dest = tmp_path / "in" / "sub" / "b.jpg"
        dest.parent.mkdir()
        os.rename(src, dest)
        assert store.mark_gone([str(src)]) == 1
        assert store.all_paths() == [] and store.photo_count() == 0 and store.verdict_counts() == {}
        assert store.gone_with_size(st.st_size, eng.store.stamps_under(str(tmp_path))[str(src)].analyzer_version)
        assert store.move_photo(str(src), str(dest), st.st_size, st.st_mtime_ns, "h")
        assert store.all_paths() == [str(dest)] and store.paths_under(str(dest.parent)) == [str(dest)]
        assert list(store.embeddings([str(dest)], "m")) == [str(dest)] and store.embeddings([str(src)], "m") == {}
        assert [r[:2] for r in store.feedback()] == [(str(dest), 5)]
    finally:
        eng.close()


# ------------------------------------------------------------------------------------- review fixes (daemon) --
def test_a_deleted_broken_file_leaves_the_failure_list(daemon, tmp_path):
    daemon.post("SetPolicy", {"values": {"watch_retries": 0}})
    try:
        inbox = tmp_path / "broken-gone"
        watch(daemon, inbox)
        bad = inbox / "IMG_0777.jpg"
        bad.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(3000))

        def listed() -> list[str]:
            return [f["path"] for f in daemon.post("ListFailures", {}).get("failures", [])]

        wait_for(lambda: str(bad) in listed(), "the broken file listed")
        os.remove(bad)
        wait_for(lambda: str(bad) not in listed(), "the deleted broken file no longer listed")
    finally:
        daemon.post("SetPolicy", {"values": {"watch_retries": 3}})


def test_a_file_whose_name_is_not_utf8_is_listed_as_bad_path_and_the_rest_of_its_batch_is_decided(daemon, tmp_path):
    inbox = tmp_path / "latin1"
    watch(daemon, inbox)
    feed = Feed(daemon, "latin1", inbox)
    raw = os.path.join(os.fsencode(str(inbox)), b"Caf\xe9.jpg")  # as an old Latin-1 tool names it
    with open(raw, "wb") as fh:
        fh.write(jpeg_bytes(sample_rgb("coffee")))
    good = noise_jpeg(inbox / "IMG_0100.jpg", 100)  # settles with it, in the same batch
    wait_for(lambda: str(good) in feed.pull(), "the good photo next to it decided")
    shown = str(inbox) + "/Caf\\xe9.jpg"
    failure = wait_for(
        lambda: next((f for f in daemon.post("ListFailures", {}).get("failures", []) if f["path"] == shown), None),
        "the badly named file listed",
    )
    assert failure["code"] == "BAD_PATH" and failure.get("givenUp") and "UTF-8" in failure["message"]
    assert daemon.post("GetStatus", {})["photosStored"] > 0, "the daemon still answers"
    os.remove(raw)
    wait_for(
        lambda: shown not in [f["path"] for f in daemon.post("ListFailures", {}).get("failures", [])],
        "the failure gone with the file",
    )


def test_a_polled_folder_waits_out_the_network_settle_period(tmp_path):
    """A share's attribute cache makes a growing file look still for seconds: a polled folder waits longer
    (watch_settle_network), so a copy pausing longer than watch_settle is still read once, when complete."""
    config = "watch_settle = 0.5\nwatch_settle_network = 8\nwatch_interval = 0.3\nfaces = false\nworkers = 1\n"
    d = Daemon(tmp_path / "home", config=config)
    try:
        inbox = tmp_path / "share"
        info = watch(d, inbox, "WATCH_MODE_POLLING")
        assert info.get("polling")
        feed = Feed(d, "share", inbox)
        data = jpeg_bytes(sample_rgb("astronaut"), quality=95)
        target = inbox / "IMG_0001.jpg"
        third = len(data) // 3 + 1
        with open(target, "wb") as fh:  # pauses of 2 s: four times watch_settle, well inside the network one
            for k in range(3):
                fh.write(data[k * third : (k + 1) * third])
                fh.flush()
                time.sleep(2.0)
        wait_for(lambda: str(target) in feed.pull(), "the photo decided")
        assert decodes(d) == 1, "read once, complete"
        assert d.post("ListFailures", {}).get("failures", []) == []
    finally:
        d.stop()


# -------------------------------------------------------------------------- review fixes (watcher + engine) --
@pytest.fixture
def engine(tmp_path):
    from autocull.engine import Engine

    eng = Engine.open(tmp_path / "home")
    yield eng
    eng.close()


def same_size_jpegs(folder: Path, names: list[str], seeds: list[int], mtime_ns: int) -> list[Path]:
    """Different photos padded to one size (bytes after a JPEG's end are ignored), with one mtime."""
    bodies = [jpeg_bytes(np.random.default_rng(s).integers(0, 255, (96, 128, 3), dtype=np.uint8)) for s in seeds]
    size = max(len(b) for b in bodies)
    out = []
    for name, body in zip(names, bodies):
        p = folder / name
        p.write_bytes(body + b"\0" * (size - len(body)))
        os.utime(p, ns=(mtime_ns, mtime_ns))
        out.append(p)
    return out


def test_an_overwrite_by_unlink_and_rewrite_is_analysed_in_event_order(engine, tmp_path):
    from watchdog.events import FileClosedEvent, FileCreatedEvent, FileDeletedEvent, FileModifiedEvent

    from autocull import ANALYZER_VERSION
    from autocull.watcher import Watcher

    folder = tmp_path / "export"
    folder.mkdir()
    x = noise_jpeg(folder / "X.jpg", 1)
    engine.run([str(x)])
    os.remove(x)  # an exporter overwriting: unlink, then a new file under the same name
    noise_jpeg(x, 2, size=(120, 160))
    st = x.stat()
    w = Watcher(engine, interval=0.3, settle=0.3, backoff=0.3)
    for event in (
        FileDeletedEvent(str(x)),
        FileCreatedEvent(str(x)),
        FileModifiedEvent(str(x)),
        FileClosedEvent(str(x)),
    ):
        w._inbox.put(("event", event))  # queued before the watcher looks: it takes the delete first
    w.start()
    try:
        wait_for(
            lambda: engine.store.get_valid(str(x), st.st_size, st.st_mtime_ns, ANALYZER_VERSION),
            "the rewritten file analysed",
            timeout=60,
        )
    finally:
        w.stop()


def test_a_move_without_a_content_hash_is_taken_only_when_the_size_and_mtime_match_is_unique(engine, tmp_path):
    from autocull.watch.settle import Ready
    from autocull.watcher import Watcher

    folder = tmp_path / "culled"
    folder.mkdir()
    mtime = 1_700_000_000_000_000_000
    a, b = same_size_jpegs(folder, ["a.jpg", "b.jpg"], [11, 12], mtime)
    engine.run([str(a), str(b)])  # by a cull: no content hash stored
    store = engine.store
    w = Watcher(engine, interval=0.3, settle=0.3, backoff=0.3)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    os.rename(a, moved / "a.jpg")
    os.remove(b)
    store.mark_gone([str(a), str(b)])
    st = (moved / "a.jpg").stat()
    before = engine.decodes
    assert w.process([Ready(str(moved / "a.jpg"), st.st_size, st.st_mtime_ns)]) == 1
    gone = {p for p, s in store.stamps_under(str(folder)).items() if s.gone}
    assert gone == {str(a), str(b)}, "two gone photos fit: no guess, the file is analysed as a new one"
    assert engine.decodes == before + 1

    (solo,) = same_size_jpegs(folder, ["solo.jpg"], [13], mtime + 1)
    engine.run([str(solo)])  # one candidate alone, same extension: the move is taken
    os.rename(solo, moved / "solo.jpg")
    store.mark_gone([str(solo)])
    st = (moved / "solo.jpg").stat()
    before = engine.decodes
    assert w.process([Ready(str(moved / "solo.jpg"), st.st_size, st.st_mtime_ns)]) == 1
    assert str(solo) not in store.stamps_under(str(folder)), "its record followed it"
    assert engine.decodes == before, "and it was not read again"

    (shot,) = same_size_jpegs(folder, ["shot.jpg"], [14], mtime + 2)  # a lone candidate of another kind: no match
    engine.run([str(shot)])
    other = moved / "shot.png"
    os.rename(shot, other)
    store.mark_gone([str(shot)])
    st = other.stat()
    w.process([Ready(str(other), st.st_size, st.st_mtime_ns)])
    assert store.stamps_under(str(folder))[str(shot)].gone, "not taken for a file of another extension"


def test_catch_up_hashes_the_stored_photos_that_lack_a_content_hash(engine, tmp_path):
    from autocull.watcher import Watcher

    folder = tmp_path / "old-shoot"
    folder.mkdir()
    photo = noise_jpeg(folder / "IMG_1.jpg", 21)
    engine.run([str(photo)])  # analysed by a cull: no hash
    assert not engine.store.stamps_under(str(folder))[str(photo)].hashed
    engine.store.add_watch(str(folder))
    w = Watcher(engine, interval=0.3, settle=0.3, backoff=0.3)
    w.start()
    try:
        wait_for(lambda: engine.store.stamps_under(str(folder))[str(photo)].hashed, "its content hash stored", 60)
    finally:
        w.stop()


def test_a_bad_file_name_in_a_batch_fails_alone(engine, tmp_path):
    from autocull.watch.settle import Ready
    from autocull.watcher import Watcher

    folder = tmp_path / "mixed"
    folder.mkdir()
    raw = os.path.join(os.fsencode(str(folder)), b"Caf\xe9.jpg")
    with open(raw, "wb") as fh:
        fh.write(jpeg_bytes(sample_rgb("coffee")))
    good = noise_jpeg(folder / "ok.jpg", 5)
    bad_path = os.fsdecode(raw)
    w = Watcher(engine, interval=0.3, settle=0.3, backoff=0.3)
    batch = [Ready(p, (s := os.stat(p)).st_size, s.st_mtime_ns) for p in (bad_path, str(good))]
    assert w.process(batch) == 1
    assert engine.store.all_paths() == [str(good)]
    (f,) = engine.store.failures()
    assert f.code == "BAD_PATH" and f.given_up and f.path == str(folder) + "/Caf\\xe9.jpg"
