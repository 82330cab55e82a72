"""The three MediaPipe models, loaded lazily once per thread.

MediaPipe's Tasks ``FaceDetector`` and LiteRT's ``Interpreter`` hold mutable
state per call and are not safe to share between threads, so each worker
thread gets its own copy on first use (``threading.local``); the engine's
pool is small and long-lived, so this is "once per worker", never per image.
Importing this module loads nothing.

Each model is built, and run once on a blank input, inside
``quiet.native_logs_hidden``: that is where the native libraries print their
INFO/WARNING chatter (see ``quiet`` for what and why); errors still show.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from importlib import resources
from pathlib import Path
from typing import Any, Callable, TypeVar

from autocull.errors import FileProblem

from .quiet import native_logs_hidden

log = logging.getLogger(__name__)

SHORT_RANGE = "face_detection_short_range.tflite"
FULL_RANGE = "face_detection_full_range_sparse.tflite"
MESH = "face_landmark.tflite"

# Detector confidence below which a box is not even looked at. MediaPipe's own default.
DETECTION_CONFIDENCE = 0.5
# Non-max suppression inside one detector run (MediaPipe's default).
SUPPRESSION_IOU = 0.3

_local = threading.local()
_loaded: set[str] = set()
_loaded_lock = threading.Lock()
_detectors: list[Any] = []  # every FaceDetector made, closed at exit before the C side goes away

T = TypeVar("T")


class FaceModelError(FileProblem):
    """A face model could not be loaded or failed on one image.

    A ``FileProblem`` so the engine reports it per file and carries on with
    the next photo instead of taking a worker down.
    """

    code = "FACE_MODEL"


def model_dir() -> Path:
    """Folder holding the shipped ``.tflite`` files (``AUTOCULL_MODEL_DIR`` overrides it)."""
    override = os.environ.get("AUTOCULL_MODEL_DIR")
    if override:
        return Path(override)
    return Path(str(resources.files("autocull") / "models"))


def model_path(name: str) -> Path:
    path = model_dir() / name
    if not path.is_file():
        raise FaceModelError(f"face model {name} not found in {path.parent}; reinstall autocull")
    return path


def models_loaded() -> list[str]:
    """Names of the model files loaded so far in this process (any thread)."""
    with _loaded_lock:
        return sorted(_loaded)


def _cached(key: str, factory: Callable[[], T]) -> T:
    obj = getattr(_local, key, None)
    if obj is None:
        try:
            with native_logs_hidden(key):
                obj = factory()
        except FaceModelError:
            raise
        except (RuntimeError, ValueError, OSError) as exc:
            raise FaceModelError(f"could not load face model {key}: {exc}") from exc
        setattr(_local, key, obj)
        with _loaded_lock:
            _loaded.add(key)
        log.info("loaded %s in thread %s", key, threading.current_thread().name)
    return obj


def detector(name: str) -> Any:
    """This thread's MediaPipe Tasks ``FaceDetector`` for ``name`` (short or full range)."""

    def make() -> Any:
        from mediapipe.tasks.python import BaseOptions, vision

        options = vision.FaceDetectorOptions(
            base_options=BaseOptions(model_asset_path=str(model_path(name))),
            min_detection_confidence=DETECTION_CONFIDENCE,
            min_suppression_threshold=SUPPRESSION_IOU,
        )
        made = vision.FaceDetector.create_from_options(options)
        _warm_up_detector(made)  # before it is listed: a detector that fails here is not kept
        with _loaded_lock:
            _detectors.append(made)
        return made

    return _cached(name, make)


def _warm_up_detector(det: Any) -> None:
    """One detection on a blank image: the process's first inference logs a warning (absl, once)."""
    import mediapipe as mp
    import numpy as np

    det.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.zeros((64, 64, 3), np.uint8)))


@atexit.register
def _close_detectors() -> None:
    """Close detectors while MediaPipe can still do it (its ``__del__`` fails at interpreter teardown)."""
    with _loaded_lock:
        for det in _detectors:
            try:
                det.close()
            except (RuntimeError, ValueError, TypeError) as exc:
                log.debug("closing a face detector at exit: %s", exc)
        _detectors.clear()


def mesh_interpreter() -> Any:
    """This thread's LiteRT interpreter for the Face Mesh model (one CPU thread: workers run in parallel)."""

    def make() -> Any:
        from ai_edge_litert.interpreter import Interpreter

        interp = Interpreter(model_path=str(model_path(MESH)), num_threads=1)
        interp.allocate_tensors()
        _warm_up_interpreter(interp)
        return interp

    return _cached(MESH, make)


def _warm_up_interpreter(interp: Any) -> None:
    """One run on zeros, so any first-inference log lands in the quiet window too (inputs are set per call)."""
    import numpy as np

    for inp in interp.get_input_details():
        interp.set_tensor(inp["index"], np.zeros(inp["shape"], dtype=inp["dtype"]))
    interp.invoke()
