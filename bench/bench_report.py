"""Building the review page (`autocull report`) for N stored photos: thumbnails not yet made, then already made.

Culls a few real photos (``--testdata``: camera, bursts, faces) once, then makes a library of ``--photos``
(default 1,000) files by hard-linking them under many names, and stores for each the analysis of its source (the
store keys on path, size and mtime, so the cull in ``report`` reads no image). Then runs the real command twice in
a fresh process each: first with no thumbnail in the cache (every one made by a reduced decode, in parallel), then
again (every one copied from the cache). Prints wall times and sizes on disk; ``--browser`` also times headless
chromium opening the page (until its script has built the grid). Prints, never asserts.

Run: PYTHONPATH=server .venv/bin/python bench/bench_report.py --testdata ../shared/testdata [--photos 5000] [--browser]
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_redecide import real_photos  # noqa: E402


def du(path: Path) -> int:
    """Bytes on disk under ``path`` (files only)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def build_library(home: Path, library: Path, testdata: Path, n: int) -> None:
    """Cull the real photos, then ``n`` hard links of them, each stored with its source's analysis."""
    from autocull import ANALYZER_VERSION
    from autocull.engine import Engine

    eng = Engine.open(home)
    try:
        photos = [p for p in real_photos(testdata) if p.lower().endswith((".jpg", ".jpeg"))]
        t = time.perf_counter()
        eng.run(photos)
        print(f"culled {len(photos)} real photos in {time.perf_counter() - t:.1f} s")
        analyses = eng.store.analyses(photos)
        sources = [p for p in photos if p in analyses]
        for i in range(n):
            src = sources[i % len(sources)]
            dest = library / f"{i // 250:03d}" / f"IMG_{i:05d}{Path(src).suffix.lower()}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dest)
            except OSError:  # another file system: a copy
                dest.write_bytes(Path(src).read_bytes())
            st = dest.stat()
            eng.store.put_analysis(str(dest), st.st_size, st.st_mtime_ns, ANALYZER_VERSION, analyses[src])
        print(f"library: {n} photos stored under {library}")
    finally:
        eng.close()


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


def open_in_browser(index: Path) -> float:
    """Seconds until headless chromium has the page's grid built (its script sets data-ready)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from browser import chromium

    with chromium() as driver:
        t = time.perf_counter()
        driver.get(index.as_uri())
        while driver.execute_script("return document.body.getAttribute('data-ready')") != "1":
            time.sleep(0.02)
        return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "testdata")
    ap.add_argument("--photos", type=int, default=1000)
    ap.add_argument("--browser", action="store_true", help="also time chromium opening the page")
    args = ap.parse_args()
    print(
        f"# report bench  {time.strftime('%Y-%m-%d %H:%M')}  {platform.machine()} {os.cpu_count()} cores  "
        f"python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        home, library = Path(tmp) / "home", Path(tmp) / "library"
        build_library(home, library, args.testdata, args.photos)
        rows = []
        for label, out in (("thumbnails not yet made", "cold"), ("thumbnails already made", "warm")):
            wall, line = report(home, library, Path(tmp) / out)
            print(line)
            rows.append((label, wall, Path(tmp) / out))
        print(f"\n| report of {args.photos} stored photos | wall s | index.html | thumbs/ | per photo |")
        print("|---|---|---|---|---|")
        for label, wall, out in rows:
            index, thumbs = (out / "index.html").stat().st_size, du(out / "thumbs")
            print(
                f"| {label} | {wall:.2f} | {index / 1e6:.2f} MB | {thumbs / 1e6:.1f} MB "
                f"| {(index + thumbs) / args.photos / 1e3:.1f} KB |"
            )
        print(f"home thumbnail cache: {du(home / 'thumbs') / 1e6:.1f} MB")
        if args.browser:
            print(f"chromium: page of {args.photos} photos ready in {open_in_browser(rows[1][2] / 'index.html'):.2f} s")


if __name__ == "__main__":
    main()
