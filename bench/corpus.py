"""A camera-like corpus for throughput benches: 24 MP JPEGs (6000x4000, quality 92, 5-10 MB) from real photos.

Why not plain upscales: an upscaled photo is smooth and compresses to ~2 MB, so decode cost and I/O would be
far below a real camera's. Sensor-like grain (luminance noise at a per-image "ISO" plus coarser chroma noise)
brings the files to a camera's weight and entropy. Every image is a random crop/zoom/flip of one of the real
photos in ``testdata/camera`` and ``testdata/burst`` (read there, never copied into the repo); every third gets
one to three real face crops from ``testdata/faces/open`` pasted at a realistic size, so face detection and the
eye checks have work to do. The RAW files in ``testdata/raw`` are linked (symlinks, not copies) into ``raw/``.

Deterministic for a given seed and count; a folder already holding the same corpus (``corpus.json``) is reused.
Written with one process per core. Run::

    python bench/corpus.py [--out DIR] [--n 60] [--seed 16] [--testdata /work/shared/testdata]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

SIZE = (6000, 4000)  # 24 MP, 3:2 like most camera sensors
QUALITY = 92
DEFAULT_TESTDATA = Path(os.environ.get("AUTOCULL_TESTDATA", "/work/shared/testdata"))
MANIFEST = "corpus.json"
_PLATE_MARGIN = 256  # the noise plate is this much larger than a frame, so crops of it differ


@dataclass(frozen=True)
class Spec:
    """Everything that makes one corpus image (picklable: sent to the worker processes)."""

    index: int
    source: str
    zoom: float  # 1.0 = the whole 3:2 crop of the source, larger = tighter crop
    cx: float  # crop centre, 0..1 of the free room
    cy: float
    flip: bool
    luma_sigma: float  # luminance grain in 8-bit levels
    chroma_sigma: float
    faces: tuple[tuple[str, int, int, int], ...]  # (face crop path, x, y, side in px)
    seed: int


@dataclass(frozen=True)
class Corpus:
    folder: Path
    jpegs: list[Path]
    raws: list[Path]

    @property
    def jpeg_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.jpegs)


def sources(testdata: Path) -> list[Path]:
    """The real scene photos a corpus is made from (camera set first: they are the camera-like ones)."""
    found = sorted((testdata / "camera").rglob("*.jpg")) + sorted((testdata / "camera").rglob("*.png"))
    found += sorted((testdata / "burst").rglob("*.jpg"))
    if not found:
        raise SystemExit(f"no photos under {testdata}/camera or {testdata}/burst (--testdata?)")
    return found


def plan(testdata: Path, n: int, seed: int) -> list[Spec]:
    """The recipe of every image, drawn from one seeded generator (same seed, same corpus)."""
    rng = np.random.default_rng(seed)
    scenes = sources(testdata)
    faces = sorted((testdata / "faces" / "open").glob("*.jpg"))
    specs = []
    for i in range(n):
        pasted: list[tuple[str, int, int, int]] = []
        if faces and i % 3 == 0:
            for _ in range(int(rng.integers(1, 4))):
                side = int(rng.integers(250, 700))  # a face of 250-700 px in 6000x4000: a portrait to a group
                x = int(rng.integers(0, SIZE[0] - side))
                y = int(rng.integers(0, SIZE[1] - side))
                pasted.append((str(faces[int(rng.integers(len(faces)))]), x, y, side))
        specs.append(
            Spec(
                index=i,
                source=str(scenes[i % len(scenes)]),
                zoom=float(rng.uniform(1.0, 1.35)),
                cx=float(rng.uniform()),
                cy=float(rng.uniform()),
                flip=bool(rng.integers(2)),
                luma_sigma=float(rng.uniform(3.5, 6.0)),  # about ISO 800-6400 on a modern sensor after NR
                chroma_sigma=float(rng.uniform(1.0, 3.0)),
                faces=tuple(pasted),
                seed=seed * 100_003 + i,
            )
        )
    return specs


_plate: np.ndarray | None = None


def _noise_plate() -> np.ndarray:
    """Unit-variance Gaussian noise (x16, int16) a little larger than a frame: drawn once per worker process,
    then cropped at a random offset per image (drawing 24 M normals per image would dominate the run)."""
    global _plate
    if _plate is None:
        rng = np.random.default_rng(0x16)
        shape = (SIZE[1] + _PLATE_MARGIN, SIZE[0] + _PLATE_MARGIN)
        _plate = (rng.standard_normal(shape, dtype=np.float32) * 16).astype(np.int16)
    return _plate


def _framed(src: Image.Image, spec: Spec) -> Image.Image:
    """A 3:2 crop of the source (zoomed and placed per spec) resized to 24 MP."""
    src = ImageOps.exif_transpose(src).convert("RGB")
    w, h = src.size
    cw = min(w, h * 1.5) / spec.zoom
    ch = cw / 1.5
    x0 = (w - cw) * spec.cx
    y0 = (h - ch) * spec.cy
    im = src.resize(SIZE, Image.Resampling.BICUBIC, box=(x0, y0, x0 + cw, y0 + ch))
    return ImageOps.mirror(im) if spec.flip else im


def render(spec: Spec) -> np.ndarray:
    """The image of one spec as an RGB uint8 array (grain included)."""
    with Image.open(spec.source) as src:
        im = _framed(src, spec)
    for face_path, x, y, side in spec.faces:
        with Image.open(face_path) as face:
            im.paste(face.convert("RGB").resize((side, side), Image.Resampling.BICUBIC), (x, y))
    rng = np.random.default_rng(spec.seed)
    plate = _noise_plate()
    ox, oy = (int(v) for v in rng.integers(0, _PLATE_MARGIN, 2))
    luma = plate[oy : oy + SIZE[1], ox : ox + SIZE[0]]
    out = np.asarray(im, dtype=np.int16) + (luma * (spec.luma_sigma / 16)).astype(np.int16)[..., None]
    # Chroma grain is blotchy (demosaicing and NR spread it): coarse noise, upsampled.
    coarse = rng.normal(0, spec.chroma_sigma, (SIZE[1] // 4, SIZE[0] // 4, 2)).astype(np.float32)
    for channel, k in ((0, 0), (2, 1)):
        blotch = Image.fromarray(coarse[..., k], mode="F").resize(SIZE, Image.Resampling.BILINEAR)
        out[..., channel] += np.asarray(blotch).astype(np.int16)
    return np.clip(out, 0, 255).astype(np.uint8)


def write_one(spec: Spec, folder: str) -> str:
    path = Path(folder) / f"IMG_{spec.index:04d}.jpg"
    Image.fromarray(render(spec)).save(path, "JPEG", quality=QUALITY)
    return str(path)


def link_raws(testdata: Path, folder: Path) -> list[Path]:
    """Symlink the real RAW files into ``folder/raw`` (referenced, not copied)."""
    raw_dir = folder / "raw"
    raw_dir.mkdir(parents=True, exist_ok=True)
    links = []
    for src in sorted((testdata / "raw").iterdir()) if (testdata / "raw").is_dir() else []:
        if not src.is_file():
            continue
        link = raw_dir / src.name
        if not link.is_symlink():
            link.symlink_to(src.resolve())
        links.append(link)
    return links


def make_corpus(folder: Path, n: int = 60, seed: int = 16, testdata: Path = DEFAULT_TESTDATA) -> Corpus:
    """Write (or reuse) the corpus in ``folder``: ``jpeg/IMG_nnnn.jpg`` and ``raw/`` links."""
    folder = Path(folder)
    specs = plan(testdata, n, seed)
    jpeg_dir = folder / "jpeg"
    wanted = {"n": n, "seed": seed, "size": SIZE, "quality": QUALITY, "specs": [asdict(s) for s in specs]}
    manifest = folder / MANIFEST
    jpegs = [jpeg_dir / f"IMG_{s.index:04d}.jpg" for s in specs]
    same = manifest.exists() and json.loads(manifest.read_text()) == json.loads(json.dumps(wanted))
    if not (same and all(p.exists() for p in jpegs)):
        jpeg_dir.mkdir(parents=True, exist_ok=True)
        for old in jpeg_dir.glob("IMG_*.jpg"):
            old.unlink()
        with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            list(pool.map(write_one, specs, [str(jpeg_dir)] * len(specs)))
        manifest.write_text(json.dumps(wanted, indent=1))
    return Corpus(folder, jpegs, link_raws(testdata, folder))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, help="folder to write into (default: a new temp dir, kept)")
    ap.add_argument("--n", type=int, default=60, help="number of 24 MP JPEGs")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--testdata", type=Path, default=DEFAULT_TESTDATA)
    args = ap.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="autocull-corpus-"))
    t = time.perf_counter()
    corpus = make_corpus(out, args.n, args.seed, args.testdata)
    sizes = [p.stat().st_size / 1e6 for p in corpus.jpegs]
    print(
        f"{out}: {len(corpus.jpegs)} x {SIZE[0]}x{SIZE[1]} JPEG q{QUALITY}, {min(sizes):.1f}-{max(sizes):.1f} MB "
        f"(mean {sum(sizes) / len(sizes):.1f} MB); {len(corpus.raws)} RAW files linked; "
        f"{time.perf_counter() - t:.1f} s"
    )


if __name__ == "__main__":
    main()
