"""Peak memory stays bounded whatever a folder holds.

A flat-colour 169-megapixel PNG is half a megabyte on disk and passes every
guard, yet decoding it whole takes a process to ~0.8 GB. Four of them used
to decode at once (one per worker) and took the daemon to 1.6 GB; now they
draw from one pixel budget and decode one after another, and the worker
processes of a pool share that one budget. Measured for real: the Engine
culls the folder in a fresh subprocess that samples its workers' RSS.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from autocull.budget import PixelBudget
from autocull.config import Config
from autocull.engine import Engine
from autocull.pipeline import AnalysisSettings, FileResult
from autocull.workers import FAULT_KILL_HOLDING, ProcessAnalyzer

from imagegen import sample_rgb

HUGE = (13_000, 13_000)  # 169 MP: below the default per-image limit (250 MP) and Pillow's own guard (179 MP)
WORKERS = 4  # as many workers as huge files: without the budget all four decode at once


def flat_png(path: Path, size: tuple[int, int], rgb: tuple[int, int, int] = (90, 140, 200)) -> Path:
    """A valid 8-bit RGB PNG of one colour, streamed row by row (the full image never exists here)."""
    width, height = size
    row = b"\x00" + bytes(rgb) * width
    comp = zlib.compressobj(6)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        for kind, body in (
            (b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
            (b"IDAT", idat),
            (b"IEND", b""),
        ):
            fh.write(struct.pack(">I", len(body)) + kind + body)
            fh.write(struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return path


@pytest.fixture(scope="module")
def huge_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = flat_png(tmp_path_factory.mktemp("huge") / "pano.png", HUGE)
    assert path.stat().st_size < 1_000_000  # the point: tiny on disk
    return path


def _folder(root: Path, huge: Path, n: int) -> Path:
    folder = root / f"{n}-huge"
    folder.mkdir()
    for i in range(n):
        shutil.copyfile(huge, folder / f"pano-{i}.png")
    return folder


_CULL = """
import json, sys, threading, time
from pathlib import Path
from autocull.config import Config
from autocull.engine import Engine

def rss_mb(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration):
        return 0.0

engine = Engine.open(Path(sys.argv[1]), Config(workers=int(sys.argv[3]), faces=False))
peak, done = [0.0], threading.Event()

def sample():  # the decodes happen in the workers: their RSS summed, every 20 ms
    while not done.is_set():
        peak[0] = max(peak[0], sum(rss_mb(p) for p in engine.analyzer.worker_pids()))
        time.sleep(0.02)

sampler = threading.Thread(target=sample)
sampler.start()
result = engine.run([sys.argv[2]])
done.set()
sampler.join()
idle = sum(rss_mb(p) for p in engine.analyzer.worker_pids())  # the same workers, their decodes freed
pool = engine.analyzer.budget
engine.close()
print(json.dumps({"decode_mb": peak[0] - idle, "budget_peak": pool.peak, "budget_capacity": pool.capacity,
                  "decisions": [[d.path, d.verdict, d.error_code] for d in result.decisions]}))
"""


def _cull_in_subprocess(home: Path, folder: Path) -> dict:
    """Cull ``folder`` with the real Engine in a fresh process: how much its workers' summed RSS rose while
    decoding (MB), its pool's pixel budget, and its decisions."""
    done = subprocess.run(
        [sys.executable, "-c", _CULL, str(home), str(folder), str(WORKERS)], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the workers' RSS from /proc")
def test_four_huge_pngs_take_no_more_memory_than_one(tmp_path: Path, huge_png: Path) -> None:
    one = _cull_in_subprocess(tmp_path / "home1", _folder(tmp_path, huge_png, 1))
    four = _cull_in_subprocess(tmp_path / "home4", _folder(tmp_path, huge_png, 4))
    for run, n in ((one, 1), (four, 4)):
        assert len(run["decisions"]) == n
        assert all(verdict and not code for _, verdict, code in run["decisions"]), run["decisions"]
        assert HUGE[0] * HUGE[1] <= run["budget_peak"] <= run["budget_capacity"]
    # one huge file really is expensive (the test measures something), and four cost about the same, though
    # each went to a worker of its own: four decoding at once would take ~4x
    assert one["decode_mb"] > 400, one["decode_mb"]
    assert four["decode_mb"] < one["decode_mb"] * 1.5, (one["decode_mb"], four["decode_mb"])


def test_an_image_over_the_limit_is_refused_by_name_while_the_rest_of_the_folder_is_culled(
    tmp_path: Path, huge_png: Path
) -> None:
    folder = tmp_path / "shoot"
    folder.mkdir()
    shutil.copyfile(huge_png, folder / "pano.png")
    for name in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(sample_rgb(name)).save(folder / f"{name}.jpg", quality=90)
    engine = Engine.open(tmp_path / "home", Config(max_pixels=150_000_000, faces=False))
    try:
        result = engine.run([str(folder)])
    finally:
        engine.close()
    by_name = {Path(d.path).name: d for d in result.decisions}
    assert set(by_name) == {"pano.png", "astronaut.jpg", "coffee.jpg", "chelsea.jpg"}
    pano = by_name.pop("pano.png")
    assert pano.error_code == "TOO_LARGE"
    assert "13000x13000 = 169 MP" in pano.error_message and "limit of 150 MP" in pano.error_message, pano
    assert str(folder / "pano.png") in pano.error_message
    for d in by_name.values():
        assert d.verdict in ("keep", "review", "reject") and not d.error_code, d
    assert result.counts.failed == 1 and result.counts.total == 4


def test_an_image_over_the_default_limit_gets_too_large_naming_its_size(tmp_path: Path) -> None:
    folder = tmp_path / "shoot"
    folder.mkdir()
    flat_png(folder / "giant.png", (16_000, 16_000))  # 256 MP
    Image.fromarray(sample_rgb("astronaut")).save(folder / "astronaut.jpg", quality=90)
    engine = Engine.open(tmp_path / "home", Config(faces=False))
    try:
        result = engine.run([str(folder)])
    finally:
        engine.close()
    by_name = {Path(d.path).name: d for d in result.decisions}
    giant = by_name["giant.png"]
    assert giant.error_code == "TOO_LARGE"
    assert "16000x16000 = 256 MP is more than the limit of 250 MP" in giant.error_message, giant.error_message
    assert by_name["astronaut.jpg"].verdict in ("keep", "review", "reject")


def test_a_panorama_over_pillows_own_guard_but_under_our_limit_is_culled(tmp_path: Path) -> None:
    """A 200 MP stitched panorama: Pillow alone refuses anything over ~179 MP; the photographer's limit is 250."""
    folder = tmp_path / "shoot"
    folder.mkdir()
    flat_png(folder / "pano.png", (20_000, 10_000))
    engine = Engine.open(tmp_path / "home", Config(faces=False))
    try:
        (pano,) = engine.run([str(folder)]).decisions
    finally:
        engine.close()
    assert not pano.error_code, pano.error_message
    assert pano.verdict in ("keep", "review", "reject")


# ------------------------------------------------------------- the budget itself
def test_the_budget_never_lets_more_pixels_in_than_its_capacity_and_serves_in_order() -> None:
    budget = PixelBudget(100)
    order: list[str] = []
    lock = threading.Lock()

    def decode(name: str, pixels: int) -> None:
        with budget.hold(pixels):
            with lock:
                order.append(name)
                assert budget.in_use <= budget.capacity
            time.sleep(0.05)

    first = threading.Thread(target=decode, args=("big-1", 80))
    first.start()
    time.sleep(0.01)
    threads = [threading.Thread(target=decode, args=args) for args in (("big-2", 80), ("small", 10))]
    for t in threads:
        t.start()
        time.sleep(0.01)
    for t in [first, *threads]:
        t.join(5)
    assert order == ["big-1", "big-2", "small"]  # the small one fits next to big-1 but queued behind big-2
    assert budget.peak <= 100 and budget.in_use == 0


def test_an_image_larger_than_the_whole_budget_runs_alone_instead_of_waiting_forever() -> None:
    budget = PixelBudget(100)
    with budget.hold(1_000) as held:
        assert held == 100 and budget.in_use == 100
    assert budget.in_use == 0


# ----------------------------------------------------- one budget for the worker processes of a pool
SMALL_BUDGET = 12_000_000  # a pool's budget small enough for a light test
BIG = (3_000, 3_000)  # 9 MP: more than half of it, so two never fit at once
NEVER = lambda: False  # noqa: E731


def _wait_for(ready, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def test_two_workers_given_two_huge_images_hold_no_more_than_the_pools_budget(tmp_path: Path) -> None:
    pano_a = str(flat_png(tmp_path / "pano-a.png", BIG))
    pano_b = str(flat_png(tmp_path / "pano-b.png", BIG, (200, 120, 40)))
    warm = tmp_path / "warm.jpg"
    Image.fromarray(sample_rgb("coffee")).save(warm, quality=90)
    settings = AnalysisSettings(faces=False)
    pool = ProcessAnalyzer(2, pixel_budget=SMALL_BUDGET)
    got: list = []
    try:
        assert isinstance(dict(pool.analyze([str(warm)], settings, NEVER))[str(warm)], FileResult)
        shared = pool.budget  # made with the pool, in this process, and handed to each worker
        assert shared is not None and shared.capacity == SMALL_BUDGET
        runner = threading.Thread(target=lambda: got.extend(pool.analyze([pano_a, pano_b], settings, NEVER)))
        cost = BIG[0] * BIG[1]
        with shared.hold(SMALL_BUDGET - cost + 1):  # neither image fits beside this: both workers must queue
            runner.start()
            _wait_for(lambda: shared.waiting == 2, "both workers waiting on the one budget")
        runner.join(120)
        assert not runner.is_alive()
        assert len(pool.worker_pids()) == 2
    finally:
        pool.close()
    assert sorted(p for p, _ in got) == sorted([pano_a, pano_b])
    assert all(isinstance(outcome, FileResult) for _, outcome in got), got
    # one image at a time across the two processes; both at once would have been 18 MP
    assert cost <= shared.peak <= SMALL_BUDGET, shared.peak
    assert shared.in_use == 0 and shared.waiting == 0


def test_a_worker_killed_holding_the_budget_does_not_block_the_next_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doomed = str(flat_png(tmp_path / "doomed.png", (800, 600)))  # a good image: the fault seam kills
    good = []
    for name in ("astronaut", "coffee", "chelsea"):
        Image.fromarray(sample_rgb(name)).save(tmp_path / f"{name}.jpg", quality=90)
        good.append(str(tmp_path / f"{name}.jpg"))
    monkeypatch.setenv(FAULT_KILL_HOLDING, "doomed")
    settings = AnalysisSettings(faces=False)
    pool = ProcessAnalyzer(2, pixel_budget=SMALL_BUDGET)
    first: dict = {}
    got: dict = {}
    runner = None
    try:
        # The other worker waits for the pixels the dead one held; the pool must see the death and move on, well
        # before the files' deadline (file_timeout_seconds: 30 minutes for these tasks), even when the executor
        # itself missed it (a worker it started on demand and was not yet watching).
        runner = threading.Thread(target=lambda: first.update(pool.analyze([doomed, *good], settings, NEVER)))
        runner.start()
        runner.join(180)
        assert not runner.is_alive(), "the job waits for pixels a dead worker held, and no one noticed it died"
        assert first[doomed].code == "CRASHED"
        assert all(isinstance(first[p], FileResult) for p in good), first
        leaked = pool.budget
        assert pool.replaced == 1 and leaked is not None
        assert leaked.in_use == leaked.capacity  # the worker really died holding all of it

        later = [str(flat_png(tmp_path / "pano.png", BIG)), *good]
        runner = threading.Thread(target=lambda: got.update(pool.analyze(later, settings, NEVER)))
        runner.start()
        runner.join(180)
        assert not runner.is_alive(), "the next job waits for pixels a dead worker held"
        assert set(got) == set(later) and all(isinstance(o, FileResult) for o in got.values()), got
        fresh = pool.budget
        assert fresh is not leaked and fresh is not None
        assert BIG[0] * BIG[1] <= fresh.peak <= SMALL_BUDGET and fresh.in_use == 0
    finally:
        if runner is not None and runner.is_alive():  # a failed run: free its workers so close() returns
            for pid in pool.worker_pids():
                os.kill(pid, signal.SIGKILL)
        pool.close()


def test_a_process_local_budget_is_refused_passage_to_another_process() -> None:
    with pytest.raises(TypeError, match="process-local"):
        pickle.dumps(PixelBudget(100))
