"""Building and scrolling the review page (`autocull report`) of N stored photos.

Two libraries of ``--photos`` files each, every one a hard link of a source photo under its own name and stored
with its source's analysis (the store keys on path, size and mtime, so the cull in ``report`` reads no image):

- camera: sources are 24 MP camera-like JPEGs made by ``bench/corpus.py`` from the real photos (5-10 MB each),
  so "thumbnails not yet made" costs what a photographer's own files cost (a reduced decode of each);
- small real photos (``--testdata``: camera, bursts, face crops as stored there, mostly small files): the
  earlier numbers, kept for comparison.

For each library the real command runs twice in a fresh process each: first with no thumbnail of its files in the
cache (every one made by a reduced decode, in parallel), then again (every one copied from the cache). Prints wall
times and sizes on disk. ``--browser`` opens the camera library's page in headless chromium: time until its script
built the grid, until the grid's first frame was painted and until the first screen of thumbnails has loaded;
then scrolls the page top to bottom, ``--scroll-step`` px per frame from inside requestAnimationFrame, and prints
the frame intervals (median, 95th percentile, frames over 50 ms). Prints, never asserts.

Run: PYTHONPATH=server .venv/bin/python bench/bench_report.py [--photos 5000] [--browser] [--corpus-dir DIR]
     [--warm-only --no-small]   (the page and its scrolling only: no cold report, no second library)
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from bench_redecide import real_photos  # noqa: E402
from corpus import DEFAULT_TESTDATA, make_corpus  # noqa: E402


def du(path: Path) -> int:
    """Bytes on disk under ``path`` (files only)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def cull_sources(home: Path, photos: list[str], what: str) -> dict[str, Any]:
    """Cull the source photos once; their stored analyses by path."""
    from autocull.engine import Engine

    eng = Engine.open(home)
    try:
        t = time.perf_counter()
        eng.run(photos)
        print(f"culled {len(photos)} {what} in {time.perf_counter() - t:.1f} s")
        return dict(eng.store.analyses(photos))
    finally:
        eng.close()


def build_library(home: Path, library: Path, analyses: dict[str, Any], n: int, thumbs: bool = False) -> int:
    """``n`` hard links of the analysed sources, each stored with its source's analysis (and with ``thumbs`` its
    source's cached thumbnail, the same pixels: the report then makes none); their bytes in all."""
    from autocull import ANALYZER_VERSION
    from autocull.engine import Engine
    from autocull.thumbs import ThumbCache

    sources = sorted(analyses)
    cache = ThumbCache(home)
    made = {src: cache.get(src) for src in sources} if thumbs else {}
    eng = Engine.open(home)
    total = 0
    try:
        for i in range(n):
            src = sources[i % len(sources)]
            dest = library / f"{i // 250:03d}" / f"IMG_{i:05d}{Path(src).suffix.lower()}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dest)
            except OSError:  # another file system: a copy
                dest.write_bytes(Path(src).read_bytes())
            st = dest.stat()
            total += st.st_size
            eng.store.put_analysis(str(dest), st.st_size, st.st_mtime_ns, ANALYZER_VERSION, analyses[src])
            thumb = made.get(src)
            if thumb is not None:
                cache.put(str(dest), st.st_size, st.st_mtime_ns, thumb.read_bytes())
    finally:
        eng.close()
    return total


def report(home: Path, library: Path, out: Path) -> tuple[float, str]:
    """One `autocull report` in a fresh process: wall seconds and its summary line."""
    env = dict(os.environ, AUTOCULL_HOME=str(home))
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "autocull", "report", str(library), "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - t, done.stdout.strip().splitlines()[-1]


# Runs before the page's own script (DevTools: addScriptToEvaluateOnNewDocument): notes when the page's script
# has built the grid (it sets data-ready) and when the frame after that one begins (double requestAnimationFrame:
# the grid's first frame has been painted).
WATCH_READY = """
window.__bench = {};
window.__loaded = new Set();  // every thumbnail that loaded, even if its tile left the DOM since (windowing)
document.addEventListener('load', function (e) {
  if (e.target.tagName === 'IMG') window.__loaded.add(e.target.getAttribute('src'));
}, true);
new MutationObserver(function (_, obs) {
  if (!document.body || document.body.getAttribute('data-ready') !== '1') return;
  obs.disconnect();
  window.__bench.ready = performance.now();
  requestAnimationFrame(function () { requestAnimationFrame(function () {
    window.__bench.painted = performance.now();
  }); });
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-ready']});  // no <html> yet
"""

# Until every thumbnail of the first screen has loaded: ms since navigation start.
FIRST_SCREEN = """
var done = arguments[arguments.length - 1];
(function wait() {
  var imgs = Array.from(document.querySelectorAll('.tile img')).filter(function (i) {
    var r = i.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight;
  });
  if (imgs.length && imgs.every(function (i) { return i.complete; })) done([performance.now(), imgs.length]);
  else setTimeout(wait, 10);
})();
"""

# Scroll top to bottom, ``step`` px per frame, from inside requestAnimationFrame; the interval between frames.
SCROLL = """
var step = arguments[0], done = arguments[arguments.length - 1], gaps = [], last = null;
window.scrollTo(0, 0);
function frame() {
  var now = performance.now();
  if (last !== null) gaps.push(now - last);
  last = now;
  var before = window.scrollY;
  window.scrollBy(0, step);
  if (window.scrollY === before) {
    done({gaps: gaps, height: document.documentElement.scrollHeight, loaded: window.__loaded.size,
          tiles: document.querySelectorAll('.tile').length});
  } else requestAnimationFrame(frame);
}
requestAnimationFrame(function () { last = performance.now(); requestAnimationFrame(frame); });
"""


def in_browser(index: Path, step: int) -> None:
    """Open the page in headless chromium, time its first screen, scroll it through; print the numbers."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from browser import chromium

    with chromium() as driver:
        driver.set_script_timeout(900)
        driver.command_executor._client_config.timeout = 900  # the HTTP read to chromedriver: 120 s by default
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_READY})
        t = time.perf_counter()
        driver.get(index.as_uri())
        while driver.execute_script("return (window.__bench || {}).painted") is None:
            if time.perf_counter() - t > 300:
                raise SystemExit(f"chromium: the page did not paint its grid in 300 s: {driver.get_log('browser')}")
            time.sleep(0.01)
        wall = time.perf_counter() - t
        marks = driver.execute_script("return window.__bench")
        first_screen, shown = driver.execute_async_script(FIRST_SCREEN)
        tiles = driver.execute_script("return document.querySelectorAll('.tile').length")
        photos = driver.execute_script(
            "return JSON.parse(document.getElementById('autocull-data').textContent).photos.length"
        )
        print(
            f"chromium, {photos} photos, {tiles} tiles in the DOM: grid built {marks['ready']:.0f} ms after "
            f"navigation, first painted at {marks['painted']:.0f} ms (wall {wall:.2f} s); "
            f"first screen of {shown} thumbnails loaded at {first_screen:.0f} ms"
        )
        got = driver.execute_async_script(SCROLL, step)
        gaps = sorted(got["gaps"])
        p95 = gaps[min(len(gaps) - 1, int(0.95 * len(gaps)))]
        print(
            f"scroll top to bottom ({got['height']} px, {step} px per frame): {len(gaps)} frames in "
            f"{sum(gaps) / 1e3:.1f} s; frame time median {statistics.median(gaps):.1f} ms, p95 {p95:.1f} ms, "
            f"max {gaps[-1]:.0f} ms, {sum(g > 50 for g in gaps)} frames over 50 ms; "
            f"{got['loaded']} thumbnails loaded on the way; {got['tiles']} tiles in the DOM at the bottom"
        )


def bench_library(
    label: str, home: Path, tmp: Path, key: str, analyses: dict[str, Any], n: int, warm_only: bool = False
) -> Path:
    """Cold then warm report of one library (``warm_only``: the thumbnails put in the cache beforehand, the warm
    report only); prints the table; the warm report's folder."""
    library = tmp / f"library-{key}"
    size = build_library(home, library, analyses, n, thumbs=warm_only)
    print(f"library '{label}': {n} photos ({size / 1e9:.2f} GB) from {len(analyses)} sources, stored")
    rows = []
    phases = (("thumbnails not yet made", "cold"), ("thumbnails already made", "warm"))
    for phase, out in phases[1:] if warm_only else phases:
        wall, line = report(home, library, tmp / f"{key}-{out}")
        print(line)
        rows.append((phase, wall, tmp / f"{key}-{out}"))
    print(f"\n| report of {n} stored photos, {label} | wall s | index.html | thumbs/ | per photo |")
    print("|---|---|---|---|---|")
    for phase, wall, out in rows:
        index, thumbs = (out / "index.html").stat().st_size, du(out / "thumbs")
        print(
            f"| {phase} | {wall:.2f} | {index / 1e6:.2f} MB | {thumbs / 1e6:.1f} MB "
            f"| {(index + thumbs) / n / 1e3:.1f} KB |"
        )
    print()
    return rows[-1][2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", type=Path, default=DEFAULT_TESTDATA)
    ap.add_argument("--photos", type=int, default=1000)
    ap.add_argument("--corpus", type=int, default=24, help="24 MP source JPEGs to make (bench/corpus.py)")
    ap.add_argument("--corpus-dir", type=Path, help="keep the corpus here and reuse it next time")
    ap.add_argument("--no-small", action="store_true", help="skip the library of small real photos")
    ap.add_argument("--browser", action="store_true", help="also open and scroll the page in chromium")
    ap.add_argument(
        "--warm-only",
        action="store_true",
        help="skip the slow cold report: each photo gets its source's cached thumbnail, the warm report only",
    )
    ap.add_argument("--scroll-step", type=int, default=150, help="px scrolled per frame")
    args = ap.parse_args()
    print(
        f"# report bench  {time.strftime('%Y-%m-%d %H:%M')}  {platform.machine()} {os.cpu_count()} cores  "
        f"load {os.getloadavg()[0]:.1f}  python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "home"
        t = time.perf_counter()
        corpus = make_corpus(args.corpus_dir or tmp / "corpus", args.corpus, testdata=args.testdata)
        print(
            f"corpus: {len(corpus.jpegs)} x 24 MP JPEGs, {corpus.jpeg_bytes / len(corpus.jpegs) / 1e6:.1f} MB each "
            f"({time.perf_counter() - t:.0f} s)"
        )
        camera = cull_sources(home, [str(p) for p in corpus.jpegs], "24 MP corpus JPEGs")
        page = bench_library("24 MP camera JPEGs", home, tmp, "camera", camera, args.photos, args.warm_only)
        if not args.no_small:
            small = [p for p in real_photos(args.testdata) if p.lower().endswith((".jpg", ".jpeg"))]
            bench_library(
                "small real photos",
                home,
                tmp,
                "small",
                cull_sources(home, small, "real photos"),
                args.photos,
                args.warm_only,
            )
        print(f"home thumbnail cache: {du(home / 'thumbs') / 1e6:.1f} MB")
        if args.browser:
            in_browser(page / "index.html", args.scroll_step)


if __name__ == "__main__":
    main()
