"""Measure stage: pure functions from pixels to metric records.

``analyze`` is the stage's one door: it runs every metric on a decoded frame,
faces included when asked. The modules can be used on their own
(``sharpness``, ``exposure``, ``noise``, ``phash``/``dhash``,
``subject_region``, ``faces.find_faces``); ``image`` holds the pixel helpers
they share.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from autocull.measure.edges import EdgePoints, edge_points
from autocull.measure.exposure import exposure
from autocull.measure.faces import find_faces
from autocull.measure.hashes import dhash, hamming, phash
from autocull.measure.horizon import tilt
from autocull.measure.image import to_gray, union_box
from autocull.measure.noise import estimate_sigma, noise, sigma_from_sobel
from autocull.measure.sharpness import Filtered, filter_bank, measure_region, sharpness, with_double
from autocull.measure.subject import subject_region
from autocull.records import Analysis, DecodedImage, FaceMetrics, RegionReader, SharpnessMetrics

__all__ = [
    "analyze",
    "sharpness",
    "to_gray",
    "exposure",
    "noise",
    "estimate_sigma",
    "phash",
    "dhash",
    "hamming",
    "subject_region",
    "union_box",
]


def _face_subject(
    gray: np.ndarray,
    faces: Sequence[FaceMetrics],
    sigma: float,
    bank: Filtered | None = None,
    points: EdgePoints | None = None,
) -> SharpnessMetrics:
    """Sharpness of the largest main face; of the median-scoring one in a group."""
    measured = [
        (
            f,
            f.sharpness
            if f.sharpness is not None
            else measure_region(gray, box=f.box, noise_sigma=sigma, bank=bank, points=points).metrics,
        )
        for f in faces
    ]
    if len(measured) >= 3:
        ranked = sorted(measured, key=lambda fm: fm[1].score)
        return ranked[(len(ranked) - 1) // 2][1]  # lower median: a group is as sharp as its middle face
    largest = max(measured, key=lambda fm: fm[0].box.w * fm[0].box.h)
    return largest[1]


def analyze(
    decoded: DecodedImage, *, faces: bool | Sequence[FaceMetrics] | None = False, region: RegionReader | None = None
) -> Analysis:
    """Every metric of one decoded frame, faces included when asked.

    Parameters
    ----------
    decoded : DecodedImage
        Upright uint8 RGB at analysis size, with the file's facts.
    faces : bool or sequence of FaceMetrics
        True: find the faces (:func:`~autocull.measure.faces.find_faces`; its
        models load on first use) and judge their eyes and sharpness. False or
        None: do not look (``faces_checked`` is then False). A sequence is a
        detection result made elsewhere (tests), used as is; empty means
        "looked, found none". Faces with ``main=True`` define the subject:
        their union box, and the sharpness of the largest (for three or more,
        the median-scoring one), measured on the analysis image when the face
        has none.
    region : RegionReader, optional
        Reads the original at a higher resolution, for faces too small to
        judge at analysis size (``decode.region_reader``); without it they are
        judged on the analysis image.

    Returns
    -------
    Analysis

    Raises
    ------
    FaceModelError
        A face model could not load or failed on this image (a ``FileProblem``).
    """
    rgb = decoded.rgb
    gray = to_gray(rgb)
    # Filter the frame once: the noise estimate, the frame's sharpness and
    # every box measured below read slices of the same responses.
    bank = filter_bank(gray) if min(gray.shape) >= 3 else None
    sigma = sigma_from_sobel(gray, bank.sx, bank.sy, bank.scratch) if bank is not None else estimate_sigma(gray)
    if faces is True:  # the face measures read the same gray frame and noise level
        faces = find_faces(decoded, region, gray=gray, sigma=sigma)
    elif faces is False:
        faces = None
    points = edge_points(gray, noise_sigma=sigma, sx=bank.sx, sy=bank.sy) if bank is not None else None
    whole, stats, double = measure_region(gray, noise_sigma=sigma, bank=bank, points=points)
    main = [f for f in (faces or ()) if f.main]
    if main:
        subject_box = union_box([f.box for f in main])
        subject = _face_subject(gray, main, sigma, bank, points)
        source = "faces"
    else:
        subject_box, source = subject_region(gray, noise_sigma=sigma, stats=stats)
        subject = measure_region(gray, box=subject_box, noise_sigma=sigma, bank=bank, points=points).metrics
    # A second copy of the scene (camera shake) doubles the subject as much as the frame.
    subject = with_double(subject, double)
    width, height = decoded.full_size
    return Analysis(
        width=int(width),
        height=int(height),
        format=decoded.format,
        exif=decoded.exif,
        sharpness=whole,
        subject=subject,
        subject_box=subject_box,
        subject_source=source,
        exposure=exposure(rgb),
        noise=noise(gray, sigma=sigma),
        phash=phash(gray),
        dhash=dhash(gray),
        faces=tuple(faces) if faces is not None else (),
        faces_checked=faces is not None,
        analysis_size=decoded.size,
        source=decoded.source,
        tilt=tilt(gray),
    )
