"""The per-file pipeline (issue 16): path + settings -> the file's analysis or its own error, nothing else.

It is what a pool of worker processes and Ray workers will run, so these tests hold it to what they rely on:
on real photos it gives exactly the analysis the engine stores; a bad file gives that file's FileProblem (the
same code the engine's failure lane records); settings, results and errors survive pickling; and in a freshly
spawned process (nothing inherited but the arguments) the analysis is the same as in this one.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import multiprocessing
import os
import pickle
import shutil
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from autocull import decode, library, pipeline
from autocull.engine import Engine
from autocull.errors import AutoCullError, CorruptImage, FileProblem, FileVanished, NotAFile
from autocull.pipeline import AnalysisSettings, FileResult

from imagegen import truncate_copy
from realphotos import TESTDATA, copy_photos

# Real photos of different kinds: a camera JPEG, a frame of a burst, a face crop (faces and eyes measured),
# a camera RAW.
PHOTOS = (
    "camera/sharp/rbh-013.jpg",
    "burst/scenario-1/scenario-1-a.jpg",
    "faces/open/face_1.jpg",
    "raw/NIKON_D1X_UB20_O35.NEF",
)
SPAWN_TIMEOUT = 600  # seconds: a fresh interpreter imports numpy, Pillow and the face models on a shared machine


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory) -> Path:
    """Copies of the real photos (the store keys on path, size and mtime) and a corrupt one beside them."""
    folder = copy_photos(tmp_path_factory.mktemp("shoot"), PHOTOS)
    truncate_copy(TESTDATA / PHOTOS[0], folder / "truncated.jpg", 0.3)
    return folder


@pytest.fixture(scope="module")
def culled(library_dir, tmp_path_factory):
    """The library culled by the engine: (engine, its pipeline settings). The store holds what it analysed."""
    engine = Engine.open(tmp_path_factory.mktemp("home"))
    engine.run([str(library_dir)])
    yield engine, engine.analysis_settings()
    engine.close()


def photos(folder: Path) -> list[str]:
    return [str(folder / Path(rel).name) for rel in PHOTOS]


def same(a: Any, b: Any) -> bool:
    """Equal analyses: every field equal, floats to 1e-7 relative.

    Not bit for bit, and that is the measure stage, not the split: once the face models have run in a thread,
    an FFT-based number (``sharpness.motion``) can differ in its 9th digit between threads and processes on the
    same file with the same code (seen before the split too: main thread 0.023372644569525074, a pool thread
    0.02337264450549821 on faces/open/face_1.jpg). Decisions use far coarser steps.
    """
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-7, abs_tol=1e-12)
    return bool(a == b) and type(a) is type(b)


def test_the_pipeline_gives_the_analysis_the_engine_stores(library_dir, culled):
    engine, settings = culled
    paths = photos(library_dir)
    stored = engine.store.analyses(paths)
    assert set(stored) == set(paths)
    for path in paths:
        result = pipeline.analyze_file(path, settings)
        st = os.stat(path)
        assert (result.path, result.size, result.mtime_ns) == (path, st.st_size, st.st_mtime_ns)
        assert same(result.analysis, stored[path]), path
    a = stored[paths[0]]  # and the comparison sees a real difference
    assert not same(
        a, dataclasses.replace(a, sharpness=dataclasses.replace(a.sharpness, motion=a.sharpness.motion + 1e-4))
    )
    assert not same(a, dataclasses.replace(a, phash="0" * 16 if a.phash != "0" * 16 else "f" * 16))
    face = pipeline.analyze_file(paths[2], settings).analysis
    if settings.faces:  # the face crop is measured as a face: the face models ran inside the pipeline
        assert face.faces_checked and face.faces


def test_a_bad_file_is_its_own_file_problem_with_the_code_the_failure_lane_records(library_dir, culled, tmp_path):
    engine, settings = culled
    lane = {Path(f.path).name: f.code for f in engine.store.failures()}
    with pytest.raises(CorruptImage) as corrupt:
        pipeline.analyze_file(str(library_dir / "truncated.jpg"), settings)
    assert corrupt.value.code == lane["truncated.jpg"] == "CORRUPT"
    assert "truncated.jpg" in corrupt.value.message

    folder = tmp_path / "folder.jpg"
    folder.mkdir()
    with pytest.raises(NotAFile, match="is a folder, not a photo"):
        pipeline.analyze_file(str(folder), settings)

    gone = tmp_path / "gone.jpg"
    shutil.copyfile(TESTDATA / PHOTOS[0], gone)
    gone.unlink()  # scanned, then removed before it was read
    with pytest.raises(FileVanished, match="disappeared"):
        pipeline.analyze_file(str(gone), settings)

    # attempt() answers the same errors instead of raising them (a batch sent to a worker loses nothing)
    for path, kind in ((library_dir / "truncated.jpg", CorruptImage), (folder, NotAFile), (gone, FileVanished)):
        outcome = pipeline.attempt(str(path), settings)
        assert type(outcome) is kind and str(path) in outcome.message
    assert isinstance(pipeline.attempt(photos(library_dir)[0], settings), FileResult)


def test_what_is_not_the_files_fault_is_told_apart():
    assert pipeline.as_problem("/p.jpg", MemoryError()).code == "FILE_ERROR"
    internal = pipeline.as_problem("/p.jpg", KeyError("x"))
    assert not isinstance(internal, FileProblem)
    assert internal.code == "INTERNAL" and "internal error" in internal.message


def test_clip_pixels_come_at_the_size_asked_and_only_when_asked(library_dir, culled):
    _, settings = culled
    path = photos(library_dir)[0]
    assert pipeline.analyze_file(path, AnalysisSettings(faces=False, clip_size=0)).clip_rgb is None
    result = pipeline.analyze_file(path, AnalysisSettings(faces=False, clip_size=448))
    rgb, analysed = result.clip_rgb, decode.decode(path).rgb
    assert rgb is not None and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    assert max(rgb.shape[:2]) == 448 < max(analysed.shape[:2])
    assert abs(rgb.shape[1] / rgb.shape[0] - analysed.shape[1] / analysed.shape[0]) < 0.01  # same picture
    assert pipeline.ANALYSIS_SIZE == decode.ANALYSIS_SIZE


@pytest.mark.parametrize("failure", [MemoryError(), ValueError("the resize broke")])
def test_a_failure_making_the_clip_pixels_costs_the_vector_not_the_photo(library_dir, monkeypatch, caplog, failure):
    """The analysis is made before the pixels for CLIP are scaled: if that step fails (simulated here by
    replacing the resize inside this process: out of memory, or a defect) the photo keeps its analysis."""
    path = photos(library_dir)[0]
    settings = AnalysisSettings(faces=False, clip_size=448)
    whole = pipeline.analyze_file(path, settings)

    def broken(rgb: np.ndarray, long_edge: int) -> np.ndarray:
        raise failure

    monkeypatch.setattr(pipeline, "clip_pixels", broken)
    with caplog.at_level(logging.ERROR, logger="autocull.pipeline"):
        result = pipeline.attempt(path, settings)
    assert isinstance(result, FileResult), result
    assert result.clip_rgb is None and same(result.analysis, whole.analysis)
    logged = [r for r in caplog.records if path in r.getMessage() and "CLIP" in r.getMessage()]
    assert logged and logged[0].exc_info and logged[0].exc_info[1] is failure  # with its traceback


def test_an_internal_error_is_logged_with_its_traceback_where_it_happened(library_dir, caplog):
    """In a worker process or on Ray the caller only gets the message back: the traceback is logged here."""
    path = photos(library_dir)[0]
    broken = AnalysisSettings(faces=False, max_pixels=None)  # a defect in whoever built the settings
    with caplog.at_level(logging.ERROR, logger="autocull.pipeline"):
        outcome = pipeline.attempt(path, broken)
    assert type(outcome) is AutoCullError and outcome.code == "INTERNAL"
    assert outcome.message.startswith(f"{path}: internal error: ") and "NoneType" in outcome.message
    logged = [r for r in caplog.records if path in r.getMessage()]
    assert len(logged) == 1 and logged[0].levelno == logging.ERROR
    assert logged[0].exc_info and isinstance(logged[0].exc_info[1], TypeError)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="autocull.pipeline"):  # a file's own problem is no defect
        assert isinstance(pipeline.attempt(str(library_dir / "truncated.jpg"), AnalysisSettings()), CorruptImage)
    assert not [r for r in caplog.records if r.name == "autocull.pipeline"]


def test_settings_results_and_errors_pickle_round_trip(library_dir, culled):
    _, settings = culled
    assert pickle.loads(pickle.dumps(settings)) == settings
    result = pipeline.analyze_file(photos(library_dir)[2], AnalysisSettings(faces=settings.faces, clip_size=448))
    back = pickle.loads(pickle.dumps(result))
    assert back == result and back.analysis == result.analysis
    assert back.clip_rgb is not None and result.clip_rgb is not None
    assert np.array_equal(back.clip_rgb, result.clip_rgb)
    error = pipeline.attempt(str(library_dir / "truncated.jpg"), settings)
    again = pickle.loads(pickle.dumps(error))
    assert isinstance(again, AutoCullError)
    assert (type(again), again.code, again.message) == (type(error), error.code, error.message)
    status = library.photo_status(photos(library_dir)[0])
    assert pickle.loads(pickle.dumps(status)) == status


def test_a_spawned_process_gives_the_same_analysis_as_this_one(library_dir, culled):
    """The property a process pool and Ray rely on: nothing but the arguments crosses, the answer is the same."""
    _, settings = culled
    paths = photos(library_dir) + [str(library_dir / "truncated.jpg")]
    here = [pipeline.attempt(p, settings) for p in paths]
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        there = list(pool.map(pipeline.attempt, paths, [settings] * len(paths), timeout=SPAWN_TIMEOUT))
        with pytest.raises(CorruptImage):  # a raised file error crosses the process boundary as itself
            pool.submit(pipeline.analyze_file, paths[-1], settings).result(timeout=SPAWN_TIMEOUT)
    for path, mine, theirs in zip(paths, here, there):
        assert type(theirs) is type(mine), path
        if isinstance(mine, FileResult):
            assert (theirs.path, theirs.size, theirs.mtime_ns) == (mine.path, mine.size, mine.mtime_ns)
            assert same(theirs.analysis, mine.analysis), path
        else:
            assert (theirs.code, theirs.message) == (mine.code, mine.message)
    assert sum(isinstance(r, FileResult) for r in there) == len(PHOTOS)
