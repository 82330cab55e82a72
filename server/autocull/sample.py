"""A sample folder to try AutoCull on, made from photos that ship with scikit-image.

Real photos, plus what a shoot produces: a missed focus, a camera shake, a frame
far too dark, a blown one, and a short burst with capture times in EXIF.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter


def _exif(ts: str, sub: str, model: str = "Sample Camera") -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "AutoCull"
    exif[0x0110] = model
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = ts
    ifd[0x9291] = sub
    return exif


def _motion(img: Image.Image, length: int) -> Image.Image:
    import cv2

    k = np.zeros((length, length), np.float32)
    k[length // 2, :] = 1.0 / length
    return Image.fromarray(cv2.filter2D(np.asarray(img), -1, k))


def make_sample(folder: Path) -> list[Path]:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    photos = {
        "astronaut": data.astronaut(),
        "coffee": data.coffee(),
        "chelsea": data.chelsea(),
        "rocket": data.rocket(),
    }
    written: list[Path] = []

    def save(name: str, img: Image.Image, exif: Image.Exif | None = None) -> None:
        path = folder / f"{name}.jpg"
        if exif is not None:
            img.save(path, quality=92, exif=exif)
        else:
            img.save(path, quality=92)
        written.append(path)

    for name, arr in photos.items():
        save(name, Image.fromarray(arr))
    astro = Image.fromarray(photos["astronaut"])
    save("astronaut-missed-focus", astro.filter(ImageFilter.GaussianBlur(4)))
    save("coffee-camera-shake", _motion(Image.fromarray(photos["coffee"]), 15))
    dark = (np.asarray(photos["chelsea"]).astype(np.float32) * 0.06).astype(np.uint8)
    save("chelsea-too-dark", Image.fromarray(dark))
    bright = np.clip(np.asarray(photos["rocket"]).astype(np.float32) * 4.0, 0, 255).astype(np.uint8)
    save("rocket-blown", Image.fromarray(bright))
    for i, blur in enumerate((0, 1.5, 3)):
        frame = astro.crop((4 * i, 2 * i, 512 - 8 + 4 * i, 512 - 4 + 2 * i))
        if blur:
            frame = frame.filter(ImageFilter.GaussianBlur(blur))
        save(f"burst-{i + 1}", frame, _exif("2024:06:01 14:03:07", f"{i * 30:02d}"))
    return written
