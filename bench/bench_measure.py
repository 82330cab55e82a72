"""Per-stage timing of the measure stage at 1280 px (analysis size).

Usage: .venv/bin/python bench/bench_measure.py [repeats]
Prints the machine, the corpus (scikit-image sample photos resized to a
1280 px long edge), the date and the median wall and CPU ms per image of
each stage (on a shared machine the two drift apart; compare runs by ratio).

Where ``analyze`` (no faces) spends its time at 1280x853 on one core, about
half of what it did (220-250 ms before the filter bank, 110-130 ms after on
this shared 2-cpu VM; compare runs by ratio, not by ms): the cepstral streak
detector on the frame and the subject box (~27 %), the Gaussian derivative
filter bank (~17 %), the nine derivative products and windows of the
edge-width sharpness, frame and box (~19 %), exposure (~11 %, half of it the
partitions for its percentiles), the noise estimate (~8 %), gray conversion,
hashes, subject region.
Already done, do not look for them again: one filter bank per frame (one
allocation: fresh memory costs ~1.5 ms per image-sized array) that the
noise estimate and every box slice; gray and exposure through cv2.LUT tables
(bit-exact with the float formula); percentiles from a single partition at
just the needed ranks; area resizing for the hashes without cv2's slow
non-integer INTER_AREA path; no image-sized float64 temporaries.
Left: the streak detector's FFTs and per-tile statistics, the nine
derivative products per window (18 full-resolution passes), cv2's
non-integer INTER_AREA for the streak detector's half-size level.
Tried, not worth it: products in cache-sized strips (the planes fit in L3
anyway), the derivatives as 1-D filter2D passes (~20 % of the bank, but no
longer bit-exact), per-tile contrast from block means (not exact at the
threshold), matrix products for the hash resize (OpenBLAS threads then spin
on the other core), per-channel vs multi-channel GaussianBlur (<1 ms).
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import sys
import time

import cv2
import numpy as np

from autocull.measure import analyze, dhash, estimate_sigma, exposure, noise, phash, sharpness, subject_region, to_gray
from autocull.measure.doubled import doubled_edges
from autocull.measure.edges import edge_points, edge_spread
from autocull.measure.horizon import tilt
from autocull.measure.motion import motion_blur
from autocull.measure.sharpness import filter_bank
from autocull.measure.spectra import first_spectra
from autocull.records import DecodedImage, ExifInfo

CORPUS = ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "camera", "retina"]


def load() -> list[np.ndarray]:
    import skimage.data as d

    out = []
    for name in CORPUS:
        a = getattr(d, name)()
        if a.ndim == 2:
            a = np.repeat(a[:, :, None], 3, axis=2)
        h, w = a.shape[:2]
        s = 1280 / max(h, w)
        out.append(
            cv2.resize(a, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
        )
    return out


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    cv2.setNumThreads(1)
    images = load()
    stages = {
        "to_gray": lambda im, g, s: to_gray(im),
        "noise sigma": lambda im, g, s: estimate_sigma(g),
        "noise": lambda im, g, s: noise(g, sigma=s),
        "filter_bank": lambda im, g, s: filter_bank(g),
        "motion_blur (frame)": lambda im, g, s: motion_blur(g, noise_sigma=s),
        # The real-camera-blur measure: edge rise on the main edges (frame and a
        # subject box read the same points) and the double-edge detector, whose
        # tile spectra are shared with motion_blur (timed on their own here).
        "edge rise (own Sobel)": lambda im, g, s: edge_spread(edge_points(g, noise_sigma=s)),
        "tile spectra (shared)": lambda im, g, s: first_spectra(g, (s / 255.0) ** 2),
        "doubled edges (+ spectra)": lambda im, g, s: doubled_edges(first_spectra(g, (s / 255.0) ** 2)),
        "horizon tilt": lambda im, g, s: tilt(g),
        "sharpness (frame)": lambda im, g, s: sharpness(g, noise_sigma=s),
        "subject_region": lambda im, g, s: subject_region(g, noise_sigma=s),
        "exposure": lambda im, g, s: exposure(im),
        "phash+dhash": lambda im, g, s: (phash(g), dhash(g)),
        "analyze (all)": lambda im, g, s: analyze(
            DecodedImage(rgb=im, full_size=im.shape[1::-1], format="JPEG", exif=ExifInfo()), faces=[]
        ),
    }
    sys.stdout.write(f"# bench_measure {datetime.datetime.now().isoformat(timespec='seconds')}\n")
    sys.stdout.write(
        f"# machine: {platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus, "
        f"python {platform.python_version()}, numpy {np.__version__}, cv2 {cv2.__version__}, "
        "cv2 threads 1\n"
    )
    sys.stdout.write(
        f"# corpus: {len(images)} scikit-image photos at 1280 px long edge "
        f"({', '.join(CORPUS)}), {repeats} repeats, median wall / CPU\n"
    )
    for name, fn in stages.items():
        wall, cpu = [], []
        for im in images:
            g = to_gray(im)
            s = estimate_sigma(g)
            fn(im, g, s)  # warm-up
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                fn(im, g, s)
                wall.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
        sys.stdout.write(f"{name:28s} {statistics.median(wall):7.1f} ms/image  (CPU {statistics.median(cpu):6.1f})\n")


if __name__ == "__main__":
    main()
