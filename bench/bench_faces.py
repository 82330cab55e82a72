"""Cost of face analysis: detection per image, mesh per face, and the effect on decode+analyze.

Corpus: scikit-image's astronaut (one face), coffee (none), and a crowd frame of real face
crops (../shared/testdata/faces/open, when present), each as a 6000x4000 JPEG and as a
1280 px JPEG. Prints milliseconds with the machine and date, so runs compare.
Run: .venv/bin/python bench/bench_faces.py [--repeat N]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image

log = logging.getLogger("bench_faces")
FACES = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "faces" / "open"


def _crowd(n: int = 24) -> np.ndarray:
    canvas = np.full((2000, 3000, 3), 128, np.uint8)
    crops = sorted(FACES.iterdir())[:n] if FACES.is_dir() else []
    for i, path in enumerate(crops):
        r, c = divmod(i, 6)
        face = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        face = cv2.resize(face, (260, 260), interpolation=cv2.INTER_AREA)
        canvas[150 + r * 450 : 410 + r * 450, 150 + c * 470 : 410 + c * 470] = face
    return canvas


def corpus(folder: Path) -> dict[str, Path]:
    from skimage import data

    sources = {"astronaut": data.astronaut(), "coffee": data.coffee()}
    if FACES.is_dir():
        sources["crowd24"] = _crowd()
    out = {}
    for name, rgb in sources.items():
        for label, size in (("24MP", (6000, 4000)), ("1280", (1280, 853))):
            path = folder / f"{name}_{label}.jpg"
            Image.fromarray(rgb).resize(size, Image.BICUBIC).save(path, quality=92)
            out[f"{name}_{label}"] = path
    return out


def ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm: models load on the first call
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from autocull.decode import decode, region_reader
    from autocull.measure import analyze
    from autocull.measure.faces import find_faces, mesh
    from autocull.measure.faces.detect import detect

    log.info(
        "machine: %s, %s cores, python %s; %s",
        platform.platform(),
        os.cpu_count(),
        platform.python_version(),
        time.strftime("%Y-%m-%d %H:%M"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        files = corpus(Path(tmp))
        log.info(
            "%-16s %6s %9s %10s %12s %14s %14s %8s",
            "image",
            "faces",
            "detect",
            "mesh/face",
            "find_faces",
            "decode+analyze",
            "+find_faces",
            "effect",
        )
        for name, path in files.items():
            decoded = decode(path)
            region = region_reader(path, decoded)
            faces = find_faces(decoded, region)
            # ms() runs each lambda before the loop moves on; the defaults bind this photo's values all the same.
            det = ms(lambda d=decoded: detect(d.rgb), args.repeat)
            crop = mesh.crop_transform((decoded.rgb.shape[1] / 2, decoded.rgb.shape[0] / 2), 300.0, 0.0)
            mesh_ms = ms(lambda d=decoded, c=crop: mesh.run_mesh(d.rgb, c), args.repeat)
            find = ms(lambda d=decoded, r=region: find_faces(d, r), args.repeat)
            base = ms(lambda p=path: analyze(decode(p)), args.repeat)
            full = ms(lambda p=path: analyze(d := decode(p), faces=True, region=region_reader(p, d)), args.repeat)
            log.info(
                "%-16s %6d %7.1fms %8.1fms %10.1fms %12.1fms %12.1fms %+7.0f%%",
                name,
                len(faces),
                det,
                mesh_ms,
                find,
                base,
                full,
                100 * (full - base) / base,
            )


if __name__ == "__main__":
    main()
