"""Issue 16's throughput figures, all in one run on one corpus, with the targets beside them. Prints; never asserts.

On the same N camera-size JPEGs (bench/corpus.py: 24 MP, q92, 5-10 MB, from real photos), one after another:

- bare decode ceiling: Pillow ``draft`` to 1/4 scale, one process per core, nothing else;
- technical pass: ``autocull cull`` cold in its own process, fresh home, faces on, CLIP off (AUTOCULL_CLIP=off),
  the engine analysing in its pool of worker processes (``workers.ProcessAnalyzer``), one per core (config
  ``workers = 0``) and one worker process (``workers = 1``): scaling;
- full pass: the same with the default CLIP model (ViT-B-32) built with random weights (same cost as real ones;
  nothing can be downloaded here) and loaded the way a user's weights file is (``[clip] pretrained = <file>``);
- cached re-run: the full pass's home again, nothing changed;
- re-deciding 10,000 stored photos after a policy change: the corpus's analyses cloned to 10,000 rows and
  given their verdicts (an engine opened and closed on that home, as after a cull), then ``SetPolicy`` over the
  daemon's JSON API (what a plugin sends), timed round trip. The first change after a fresh ``autocull serve``
  is timed on its own ("cold": what a user's first change after a restart costs, nothing parsed yet), the later
  ones apart ("warm"); the cold one is never folded into a best-of;
- a plain reference as a typical script is written: full-resolution decode, Laplacian + Tenengrad, MediaPipe
  face detector + face mesh per image, histograms, pHash (DCT, as imagehash does), one process;
- the daemon: time from ``autocull serve`` to its first status answer (a fresh home with CLIP set, and the
  10,000-photo home with current verdicts, so start-up measures start-up and no catch-up), and its peak RSS (and
  its process tree's) while it culls the corpus with CLIP loaded, until every photo has its vector.

Every process timing includes interpreter start and model loading (what the user waits for). The corpus is
read once before the first timing so every figure sees the same (warm) page cache. ``--profile`` adds a
cProfile (pyinstrument when installed) of the technical pass on one core. Run from the repo::

    PYTHONPATH=server .venv/bin/python bench/bench_throughput.py [--quick] [--n 60] [--corpus DIR] [--profile]
        [--only redecide,first-answer]     # parts: see STEPS
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import io
import json
import os
import platform
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import DEFAULT_TESTDATA, make_corpus  # noqa: E402 - bench/ is not a package

ROOT = Path(__file__).resolve().parents[1]
MODELS = Path(os.environ.get("AUTOCULL_MODELS", "/work/shared/models"))
CLIP_MODEL = "ViT-B-32"  # taste.clip's default model
STEPS = ("ceiling", "technical", "technical-net", "scaling", "full", "reference", "first-answer", "daemon", "redecide")


# ------------------------------------------------------------------ helpers --
@dataclass
class Figure:
    name: str
    value: float  # images/s, seconds or MB as ``unit`` says
    unit: str
    note: str = ""


@dataclass
class Report:
    figures: dict[str, Figure] = field(default_factory=dict)

    def add(self, key: str, name: str, value: float, unit: str, note: str = "") -> Figure:
        fig = self.figures[key] = Figure(name, value, unit, note)
        print(f"  {name:<52} {value:9.2f} {unit:<9} {note}", flush=True)
        return fig

    def get(self, key: str) -> Optional[float]:
        f = self.figures.get(key)
        return f.value if f else None


def python() -> list[str]:
    return [sys.executable]


def env_for(home: Path, **extra: str) -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(ROOT / "server"), os.environ.get("PYTHONPATH", "")]))
    return dict(os.environ, AUTOCULL_HOME=str(home), PYTHONPATH=path, **extra)


def write_config(home: Path, body: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(body)
    return home


def warm_cache(files: list[Path]) -> None:
    for p in files:
        with open(p, "rb") as fh:
            while fh.read(1 << 22):
                pass


# ------------------------------------------------------------ the ceiling --
def _draft_decode(path: str) -> int:
    from PIL import Image

    with Image.open(path) as im:
        im.draft("RGB", (im.width // 4, im.height // 4))
        im.load()
        return im.width * im.height


def decode_ceiling(files: list[Path]) -> float:
    """Seconds for Pillow to draft-decode every file at 1/4 scale, one process per core."""
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_draft_decode, [str(files[0])] * (os.cpu_count() or 1)))  # processes up, Pillow imported
        t = time.perf_counter()
        list(pool.map(_draft_decode, [str(p) for p in files], chunksize=1))
        return time.perf_counter() - t


# ------------------------------------------------------------- autocull --
def cull(home: Path, folder: Path, env: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """``autocull cull --json folder`` in a fresh process; (wall seconds, the answer's counts)."""
    t = time.perf_counter()
    out = subprocess.run(
        python() + ["-m", "autocull", "cull", "--json", str(folder)],
        env=env,
        capture_output=True,
        text=True,
        timeout=7200,
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"autocull cull failed ({out.returncode}): {out.stderr[-2000:]}")
    return wall, json.loads(out.stdout)["counts"]


def counts_note(c: dict[str, Any]) -> str:
    return (
        f"{c.get('keep', 0)} keep / {c.get('review', 0)} review / {c.get('reject', 0)} reject / "
        f"{c.get('failed', 0)} failed; {c.get('analyzed', 0)} analysed, {c.get('cached', 0)} cached"
    )


def clip_weights(folder: Path) -> Path:
    """ViT-B-32 with seeded random weights, saved as a state dict: loads through ``pretrained = <file>``."""
    path = folder / "vit-b-32-random.pt"
    if not path.exists():
        import open_clip
        import torch

        torch.manual_seed(16)
        model = open_clip.create_model(CLIP_MODEL, pretrained=None)
        folder.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), path)
    return path


def clip_config(weights: Path, workers: int = 0) -> str:
    return f'workers = {workers}\n[clip]\nmodel = "{CLIP_MODEL}"\npretrained = "{weights}"\n'


def embedded(home: Path, env: dict[str, str]) -> str:
    out = subprocess.run(
        python() + ["-m", "autocull", "status"], env=env, capture_output=True, text=True, timeout=600
    ).stdout
    return next((line.strip() for line in out.splitlines() if "vector" in line), "?")


# --------------------------------------------------------------- daemon --
class Daemon:
    """``autocull serve`` on free loopback ports in its own home; JSON calls as the plugins make them."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.log = open(home / "daemon.log", "wb")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            python() + ["-m", "autocull", "serve", "--http-port", "0", "--grpc-port", "0"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.state: dict[str, Any] = {}

    def first_answer(self, timeout: float = 120.0) -> float:
        """Seconds from the spawn to the first answered GetStatus (state.json polled every 10 ms)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited: {(self.home / 'daemon.log').read_text()[-2000:]}")
            try:
                state = json.loads((self.home / "state.json").read_text())
            except (OSError, ValueError):
                state = {}
            if state.get("pid") == self.proc.pid:
                self.state = state
                try:
                    status, _ = self.call("GetStatus", {}, timeout=5)
                    if status == 200:
                        return time.perf_counter() - self.t0
                except OSError:
                    pass
            time.sleep(0.01)
        raise RuntimeError("daemon did not answer")

    def call(self, method: str, body: dict, timeout: float = 600) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.state["http_port"], timeout=timeout)
        try:
            conn.request(
                "POST",
                f"/autocull.v1.AutoCull/{method}",
                json.dumps(body).encode(),
                {"Content-Type": "application/json", "X-AutoCull-Token": self.state["token"]},
            )
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read() or b"{}")
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def _proc_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pss_kb(pid: int) -> int:
    """The process's proportional set size: each shared page divided among the processes sharing it, so a
    tree's sum counts the forkserver's preloaded pages once, not once per worker as a sum of RSS does."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


class RssWatch:
    """Samples the RSS and PSS of a process and its descendants (from /proc, every 0.2 s) in a thread; keeps the
    peaks."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak_tree_kb, self.peak_pss_kb, self._stop = pid, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            pids = _descendants(self.pid)
            self.peak_tree_kb = max(self.peak_tree_kb, sum(_proc_kb(p, "VmRSS") for p in pids))
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(p) for p in pids))

    def stop(self) -> tuple[float, float]:
        """(peak RSS of the process itself from the kernel's VmHWM, peak of the sampled tree), in MB."""
        hwm = _proc_kb(self.pid, "VmHWM")
        self._stop.set()
        self._thread.join()
        return hwm / 1024, self.peak_tree_kb / 1024


# ------------------------------------------------------------ re-decide --
def clone_analyses(home: Path, total: int) -> int:
    """Fill the home's store with ``total`` photos by cloning its analyses under new paths (a big library);
    capture times spread 10 s apart so bursts group as in a real shoot. Returns the rows written."""
    import dataclasses

    from autocull.config import DB_FILE
    from autocull.store import Store

    store = Store(home / DB_FILE)
    try:
        analyses = list(store.analyses(store.all_paths()).items())
        if not analyses:
            raise RuntimeError("no stored analyses to clone")
        for i in range(total - len(analyses)):
            _, a = analyses[i % len(analyses)]
            exif = dataclasses.replace(a.exif, capture_ts=(a.exif.capture_ts or 0) + 10 * i or None)
            path = f"/library/{i // 500:03d}/IMG_{i:05d}.jpg"
            store.put_analysis(path, 1, 1, "bench", dataclasses.replace(a, exif=exif))
        return store.photo_count()
    finally:
        store.close()


_SETTLE = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from autocull.engine import Engine\n"
    "eng = Engine.open(Path(sys.argv[1]))\n"  # its catch_up decides every row without a current verdict
    "left = eng.store.stale_verdicts(eng.verdicts.active.version)\n"
    "print(json.dumps({'stored': eng.store.photo_count(), 'left': len(left)}))\n"
    "eng.close()\n"
)


def settle_verdicts(home: Path, env: dict[str, str]) -> dict[str, int]:
    """Give every stored photo its verdict under the active policy, as a cull leaves a library: an engine opened
    on the home (its start-up catch-up decides them) and closed, in its own process. Without this the daemon's
    start would re-decide the whole library before its first answer, and leave its parsed analyses warm."""
    out = subprocess.run(python() + ["-c", _SETTLE, str(home)], env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"settling verdicts failed: {out.stderr[-2000:]}")
    settled: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    if settled["left"]:
        raise RuntimeError(f"{settled['left']} stored photos still without a current verdict")
    return settled


# ------------------------------------------------------------ reference --
def reference(folder: Path) -> dict[str, Any]:
    """A typical hand-written culling script: full decode, Laplacian + Tenengrad, face detector + mesh per
    image, histograms, pHash; one process, models loaded once. Returns what it found (so nothing is skipped)."""
    import cv2
    import mediapipe as mp
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter
    from mediapipe.tasks.python import BaseOptions, vision
    from PIL import Image
    from scipy.fft import dctn

    detector = vision.FaceDetector.create_from_options(
        vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(MODELS / "face_detection_short_range.tflite"))
        )
    )
    mesh = Interpreter(model_path=str(MODELS / "face_landmark.tflite"))
    mesh.allocate_tensors()
    mesh_in, mesh_out = mesh.get_input_details()[0], mesh.get_output_details()[0]
    found: dict[str, Any] = {"images": 0, "faces": 0, "lap": [], "phash": []}
    for path in sorted(folder.glob("*.jpg")):
        rgb = np.asarray(Image.open(path).convert("RGB"))  # full resolution, as most scripts do
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        lap = cv2.Laplacian(gray, cv2.CV_64F).var()
        gx = cv2.Sobel(gray, cv2.CV_64F, 1, 0, ksize=3)
        gy = cv2.Sobel(gray, cv2.CV_64F, 0, 1, ksize=3)
        tenengrad = float(np.mean(gx * gx + gy * gy))
        result = detector.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))
        for det in result.detections:
            b = det.bounding_box
            cx, cy, side = b.origin_x + b.width / 2, b.origin_y + b.height / 2, 1.5 * max(b.width, b.height)
            x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
            crop = rgb[y0 : int(y0 + side), x0 : int(x0 + side)]
            if crop.size == 0:
                continue
            face = cv2.resize(crop, (192, 192)).astype(np.float32)[None] / 255.0
            mesh.set_tensor(mesh_in["index"], face)
            mesh.invoke()
            mesh.get_tensor(mesh_out["index"])
            found["faces"] += 1
        np.histogram(gray, bins=256, range=(0, 256))
        for c in range(3):
            cv2.calcHist([rgb], [c], None, [256], [0, 256])
        small = np.asarray(Image.fromarray(gray).resize((32, 32), Image.Resampling.LANCZOS), dtype=np.float64)
        low = dctn(small, norm="ortho")[:8, :8]
        found["phash"].append(int("".join("1" if v else "0" for v in (low > np.median(low)).ravel()), 2))
        found["lap"].append(round(float(lap), 1))
        found["tenengrad"] = tenengrad
        found["images"] += 1
    return found


def run_reference(folder: Path) -> tuple[float, dict[str, Any]]:
    t = time.perf_counter()
    out = subprocess.run(
        python() + [__file__, "--reference-of", str(folder)], capture_output=True, text=True, timeout=7200
    )
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise RuntimeError(f"reference failed: {out.stderr[-2000:]}")
    return wall, json.loads(out.stdout.strip().splitlines()[-1])


# -------------------------------------------------------------- profile --
def profile_technical(files: list[Path], home: Path) -> None:
    """Profile of the technical pass on one core (the per-file work in the main thread, so the profiler
    sees it): decode + measure for every file, as each of the engine's worker processes runs it."""
    os.environ["AUTOCULL_CLIP"] = "off"
    from autocull.config import Config, ensure_home
    from autocull.decode import decode, region_reader
    from autocull.measure import analyze

    config = Config.load(ensure_home(home))

    def work() -> None:
        for p in files:
            decoded = decode(str(p), analysis_size=config.analysis_size, max_pixels=config.max_pixels)
            analyze(decoded, faces=config.faces, region=region_reader(str(p), decoded))

    first = decode(str(files[0]), analysis_size=config.analysis_size, max_pixels=config.max_pixels)
    analyze(first, faces=config.faces, region=region_reader(str(files[0]), first))  # imports and models, unprofiled
    try:
        from pyinstrument import Profiler  # type: ignore[import-not-found]
    except ImportError:
        Profiler = None
    print(f"\n## profile: decode + measure of {len(files)} files, one core, faces {'on' if config.faces else 'off'}")
    if Profiler is not None:
        prof = Profiler()
        prof.start()
        work()
        prof.stop()
        print(prof.output_text(unicode=False, color=False))
        return
    cp = cProfile.Profile()
    cp.enable()
    work()
    cp.disable()
    for order, k in (("cumulative", 15), ("tottime", 12)):
        buf = io.StringIO()
        pstats.Stats(cp, stream=buf).strip_dirs().sort_stats(order).print_stats(k)
        text = buf.getvalue()
        print(f"(cProfile, top {k} by {order}; pyinstrument is not installed)")
        print(text[text.find("   ncalls") :].rstrip())


# ----------------------------------------------------------------- main --
def step(title: str, fn: Callable[[], None]) -> None:
    """One measurement; a failure is printed and the others still run."""
    try:
        fn()
    except Exception as exc:  # noqa: BLE001 - a bench reports what it could not measure and goes on
        print(f"  {title}: NOT MEASURED: {type(exc).__name__}: {str(exc)[-600:]}", flush=True)


def table(r: Report, n: int) -> None:
    ceiling, tech, ref = r.get("ceiling"), r.get("technical"), r.get("reference")
    one, full, redecide = r.get("technical_1"), r.get("full"), r.get("redecide")
    first, rss = r.get("first_answer"), r.get("rss_tree")

    def ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
        return a / b if a and b else None

    rows: list[tuple[str, Optional[float], str, Callable[[float], bool]]] = [
        ("technical / decode ceiling", ratio(tech, ceiling), ">= 0.50", lambda v: v >= 0.5),
        ("technical / plain reference", ratio(tech, ref), ">= 4.0x", lambda v: v >= 4.0),
        ("  same, steady state (start-up out)", ratio(r.get("technical_net"), ceiling), ">= 0.50", lambda v: v >= 0.5),
        ("full pass with CLIP, images/s", full, ">= 8", lambda v: v >= 8),
        ("  same, steady state (start-up out)", r.get("full_net"), ">= 8", lambda v: v >= 8),
        ("re-decide 10,000, first after restart (cold), s", redecide, "< 1 s", lambda v: v < 1),
        ("  same, later changes (warm, median), s", r.get("redecide_warm"), "< 1 s", lambda v: v < 1),
        ("serve -> first status answer (CLIP set), s", first, "< 1 s", lambda v: v < 1),
        ("  same, CLIP off, 10,000 stored (verdicts current)", r.get("first_answer_noclip"), "< 1 s", lambda v: v < 1),
        ("peak RSS, daemon with CLIP (tree), MB", rss, "< 1536 MB", lambda v: v < 1536),
        ("  same, main process alone (VmHWM), MB", r.get("rss_own"), "< 1536 MB", lambda v: v < 1536),
        ("  same, tree as PSS (shared pages once), MB", r.get("pss_tree"), "< 1536 MB", lambda v: v < 1536),
    ]
    print(f"\n## targets (issue 16, 2 cores; this run: {os.cpu_count()} cores, N = {n})")
    print(f"| {'figure':<51} | {'measured':>9} | {'target':<9} | reached |")
    print(f"|{'-' * 53}|{'-' * 11}|{'-' * 11}|---------|")
    for name, value, target, ok in rows:
        shown = f"{value:9.2f}" if value is not None else "      n/a"
        reached = ("yes" if ok(value) else "NO") if value is not None else "n/a"
        print(f"| {name:<51} | {shown} | {target:<9} | {reached:<7} |")
    print("\n## ratios")
    for name, a, b in [
        ("technical / ceiling", tech, ceiling),
        ("technical / reference", tech, ref),
        ("full (CLIP) / technical", full, tech),
        ("all cores / 1 worker process (technical)", tech, one),
        ("cached re-run / full", r.get("cached"), full),
        ("reference / ceiling", ref, ceiling),
    ]:
        v = ratio(a, b)
        print(f"  {name:<42} {v:7.2f}" if v is not None else f"  {name:<42}     n/a")


def parts(text: str) -> list[str]:
    """``--only``'s value: known part names, run in the bench's own order."""
    chosen = {p.strip() for p in text.split(",") if p.strip()}
    unknown = chosen - set(STEPS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown part(s) {sorted(unknown)}; parts: {', '.join(STEPS)}")
    return [p for p in STEPS if p in chosen]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=60, help="corpus size (24 MP JPEGs)")
    ap.add_argument("--quick", action="store_true", help="a small corpus (12) for a quick look")
    ap.add_argument("--corpus", type=Path, help="corpus folder to write or reuse (default: a temp dir)")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--testdata", type=Path, default=DEFAULT_TESTDATA)
    ap.add_argument("--stored", type=int, default=10_000, help="photos in the store for the re-decide")
    ap.add_argument("--profile", action="store_true", help="also profile the technical pass (one core)")
    ap.add_argument("--only", type=parts, help=f"comma-separated parts to run, in this order: {','.join(STEPS)}")
    ap.add_argument("--reference-of", type=Path, help=argparse.SUPPRESS)  # the reference's own process
    args = ap.parse_args()
    if args.reference_of:
        print(json.dumps(reference(args.reference_of)))
        return
    n = 12 if args.quick and args.n == 60 else args.n
    tmp = Path(tempfile.mkdtemp(prefix="autocull-bench-"))
    try:
        run(args, n, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args: argparse.Namespace, n: int, tmp: Path) -> None:
    load = os.getloadavg()
    print(
        f"# AutoCull throughput (issue 16)  {time.strftime('%Y-%m-%d %H:%M')}  {platform.machine()} "
        f"{os.cpu_count()} cores  python {platform.python_version()}  load {load[0]:.2f} {load[1]:.2f} at start"
    )
    t = time.perf_counter()
    corpus = make_corpus(args.corpus or tmp / "corpus", n, args.seed, args.testdata)
    files, folder = corpus.jpegs, corpus.jpegs[0].parent
    mb = corpus.jpeg_bytes / len(files) / 1e6
    print(
        f"corpus: {len(files)} x 6000x4000 JPEG q92, mean {mb:.1f} MB ({time.perf_counter() - t:.0f} s); "
        f"{len(corpus.raws)} RAW files linked in {corpus.folder / 'raw'} (not in the timed set)"
    )
    warm_cache(files)
    r = Report()
    N = len(files)
    print("\n## figures")

    def ceiling() -> None:
        s = decode_ceiling(files)
        r.add("ceiling", "bare decode ceiling (draft 1/4, all cores)", N / s, "img/s", f"{s:.1f} s")

    def technical() -> None:
        home = write_config(tmp / "home-tech", "workers = 0\n")
        s, c = cull(home, folder, env_for(home, AUTOCULL_CLIP="off"))
        note = f"{s:.1f} s; {counts_note(c)}"
        r.add("technical", "technical pass, 1 worker process per core (cull, CLIP off)", N / s, "img/s", note)

    one = tmp / "one"
    one.mkdir(exist_ok=True)
    if not (one / files[0].name).exists():
        (one / files[0].name).symlink_to(files[0])

    def one_image(key: str, home: Path, env: dict[str, str]) -> float:
        """A cull of one image in a fresh process: interpreter, imports, store, models loaded, one image."""
        s, _ = cull(home, one, env)
        r.add(key, f"  cull of 1 image, fresh process ({home.name})", s, "s", "start + models + 1 image")
        return s

    def steady(key: str, name: str, total: Optional[float], single: float) -> None:
        """Images/s once started: (N - 1) images in the time the N-image cull took beyond the one-image cull."""
        if total and N > 1 and N / total > single:
            r.add(key, name, (N - 1) / (N / total - single), "img/s", "(N-1) / (t_N - t_1): start-up taken out")

    def technical_net() -> None:
        home = write_config(tmp / "home-one", "workers = 0\n")
        single = one_image("one_tech", home, env_for(home, AUTOCULL_CLIP="off"))
        steady("technical_net", "technical pass, steady state", r.get("technical"), single)

    def technical_1() -> None:
        home = write_config(tmp / "home-tech1", "workers = 1\n")
        s, c = cull(home, folder, env_for(home, AUTOCULL_CLIP="off"))
        note = f"{s:.1f} s; failed {c.get('failed', 0)}"
        r.add("technical_1", "technical pass, 1 worker process", N / s, "img/s", note)

    weights = tmp / "clip"

    def full() -> None:
        t = time.perf_counter()
        w = clip_weights(weights)
        print(
            f"  (random {CLIP_MODEL} weights written in {time.perf_counter() - t:.1f} s: {w.stat().st_size >> 20} MB)"
        )
        home = write_config(tmp / "home-full", clip_config(w))
        env = env_for(home)
        env.pop("AUTOCULL_CLIP", None)
        s, c = cull(home, folder, env)
        one_home = write_config(tmp / "home-one-clip", clip_config(w))
        one_env = env_for(one_home)
        one_env.pop("AUTOCULL_CLIP", None)
        steady("full_net", "full pass with CLIP, steady state", N / s, one_image("one_full", one_home, one_env))
        r.add("full", f"full pass with CLIP {CLIP_MODEL} (cull)", N / s, "img/s", f"{s:.1f} s; {embedded(home, env)}")
        s, c = cull(home, folder, env)
        r.add("cached", "cached re-run (same home, nothing changed)", N / s, "img/s", f"{s:.2f} s; {counts_note(c)}")

    def reference_() -> None:
        s, found = run_reference(folder)
        note = f"{s:.1f} s; {found['faces']} faces meshed in {found['images']} images"
        r.add("reference", "plain reference script (1 process)", N / s, "img/s", note)

    def clip_home(name: str) -> tuple[Path, dict[str, str]]:
        home = write_config(tmp / name, clip_config(clip_weights(weights)))
        env = env_for(home)
        env.pop("AUTOCULL_CLIP", None)
        return home, env

    def first_answer() -> None:
        home, env = clip_home("home-first")
        d = Daemon(home, env)
        try:
            r.add(
                "first_answer", "autocull serve -> first status answer", d.first_answer(), "s", "fresh home, CLIP set"
            )
        finally:
            d.stop()

    def daemon() -> None:
        home, env = clip_home("home-daemon")
        d = Daemon(home, env)
        try:
            started = d.first_answer()
            idle_mb = _proc_kb(d.proc.pid, "VmRSS") / 1024
            watch = RssWatch(d.proc.pid)
            t = time.perf_counter()
            cull(home, folder, env)  # the CLI finds the daemon: the job runs there
            culled = time.perf_counter() - t
            while True:  # the vectors are made in the daemon's background: wait for all of them
                _, st = d.call("GetStatus", {})
                if int(st.get("embedded", 0)) >= N and not st.get("tasteBusy"):
                    break
                if time.perf_counter() - t > 3600:
                    raise RuntimeError(f"vectors still missing after an hour: {st.get('clip')}")
                time.sleep(0.2)
            done = time.perf_counter() - t
            own, tree = watch.stop()
            r.add("daemon_cull", "daemon: cull done (verdicts)", N / culled, "img/s", f"{culled:.1f} s")
            r.add("daemon_full", "daemon: every photo with its CLIP vector", N / done, "img/s", f"{done:.1f} s")
            note = f"idle {idle_mb:.0f} MB; answered {started:.2f} s after start"
            r.add("rss_tree", "daemon peak RSS, process tree (CLIP loaded)", tree, "MB", note)
            r.add("rss_own", "daemon peak RSS, main process (VmHWM)", own, "MB")
            r.add("pss_tree", "daemon peak PSS, process tree (shared once)", watch.peak_pss_kb / 1024, "MB")
        finally:
            d.stop()

    def set_policy(d: Daemon, value: float) -> tuple[float, dict]:
        """One real change (every photo decided again), timed round trip over the JSON API."""
        t = time.perf_counter()
        status, answer = d.call("SetPolicy", {"values": {"sharpness_reject": value}})
        s = time.perf_counter() - t
        if status != 200:
            raise RuntimeError(f"SetPolicy: HTTP {status}: {answer}")
        return s, answer

    def redecide() -> None:
        home = tmp / "home-tech"
        env = env_for(home, AUTOCULL_CLIP="off")
        if not (home / "autocull.db").exists():  # the technical pass did not run: store the corpus's analyses
            write_config(home, "workers = 0\n")
            t = time.perf_counter()
            cull(home, folder, env)
            print(f"  (corpus culled into the store for cloning, {time.perf_counter() - t:.1f} s, not a figure)")
        t = time.perf_counter()
        rows = clone_analyses(home, args.stored)
        cloned = time.perf_counter() - t
        t = time.perf_counter()
        settled = settle_verdicts(home, env)
        print(
            f"  ({rows} photos in the store after cloning, {cloned:.1f} s; verdicts given in a separate engine "
            f"start, {time.perf_counter() - t:.1f} s; {settled['left']} left without a current verdict)"
        )
        d = Daemon(home, env)  # a fresh daemon: nothing parsed, verdicts current (what a restart gives)
        try:
            r.add(
                "first_answer_noclip",
                f"serve -> first status answer, CLIP off, {rows} stored",
                d.first_answer(),
                "s",
                "verdicts current: no catch-up",
            )
            cold, answer = set_policy(d, 0.31)  # from the default 0.25: a real change
            note = f"{answer.get('redecided')} re-decided, {answer.get('changed', 0)} changed"
            r.add("redecide", f"re-decide {rows}: 1st SetPolicy after start (cold)", cold, "s", note)
            warm = []
            for k, value in enumerate((0.25, 0.31, 0.25)):  # back and forth: the same verdicts move each time
                s, answer = set_policy(d, value)
                warm.append(s)
                print(
                    f"    SetPolicy #{k + 2} (warm): {s:.2f} s, {answer.get('redecided')} re-decided, "
                    f"{answer.get('changed', 0)} changed"
                )
            median = sorted(warm)[len(warm) // 2]
            note = "each: " + ", ".join(f"{w:.2f}" for w in warm)
            r.add("redecide_warm", f"re-decide {rows}: later SetPolicy (warm, median)", median, "s", note)
        finally:
            d.stop()

    steps: dict[str, tuple[str, Callable[[], None]]] = {
        "ceiling": ("bare decode ceiling", ceiling),
        "technical": ("technical pass", technical),
        "technical-net": ("technical pass, fixed cost", technical_net),
        "scaling": ("technical pass, 1 worker", technical_1),
        "full": ("full pass with CLIP", full),
        "reference": ("plain reference", reference_),
        "first-answer": ("serve -> first answer", first_answer),
        "daemon": ("daemon RSS", daemon),
        "redecide": ("re-decide", redecide),
    }
    for key in args.only or STEPS:
        step(*steps[key])
    table(r, N)
    load = os.getloadavg()
    print(f"\nload average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (the machine may be shared)")
    if args.profile:
        step("profile", lambda: profile_technical(files, tmp / "home-profile"))


if __name__ == "__main__":
    main()
