"""The native face-model libraries keep their log chatter off the photographer's terminal.

MediaPipe (with LiteRT and TFLite linked in) and the LiteRT interpreter print
"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", LiteRT's
"INFO: [environment.cc:36] ..." lines, dozens of "WARNING: [model_load.cc:402]
Sparsity tensors ..." and an absl "W0000 00:00:..." line straight to file
descriptor 2. A real cull in a subprocess must show none of them, while our own
messages and real model errors stay visible.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from autocull.measure.faces import FaceModelError, models
from autocull.measure.faces.quiet import native_logs_hidden

from imagegen import sample_rgb, save_jpeg

# What the native loggers print: TFLite/LiteRT ("INFO: ...", "WARNING: [file.cc:N] ..."),
# absl/glog ("W0000 00:00:1795455406.082316 7337 file.cc:N] ...") and absl's preamble.
NATIVE = re.compile(
    r"^(?:INFO|WARNING|VERBOSE): |^[IWEF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ |"
    r"absl::InitializeLog|InitGoogle|TensorFlow Lite|XNNPACK|LiteRT",
    re.MULTILINE | re.IGNORECASE,
)


def _run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AUTOCULL_HOME": str(tmp_path / "home")}  # a fresh home: no daemon, in-process
    env.pop("AUTOCULL_MODEL_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "autocull", *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_a_cull_with_faces_prints_no_native_log_lines(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    save_jpeg(photos / "astronaut.jpg", sample_rgb("astronaut"))
    done = _run_cli(tmp_path, "cull", str(photos))
    assert done.returncode == 0, done.stderr
    # the face models really ran: the verdict talks about the face and its eyes
    assert "astronaut.jpg" in done.stdout and "face" in done.stdout, done.stdout
    # our own notice is still there ...
    assert "autocull: no daemon running; culling in-process" in done.stderr, done.stderr
    # ... and nothing from the native libraries
    noise = NATIVE.findall(done.stderr)
    assert not noise, f"native log lines on stderr:\n{done.stderr}"
    assert all(line.startswith("autocull: ") for line in done.stderr.splitlines() if line.strip()), done.stderr


# --------------------------------------------------------- the helper itself --
def _fd2_identity() -> tuple[int, int]:
    st = os.fstat(2)
    return st.st_dev, st.st_ino


def test_chatter_is_dropped_and_other_output_kept(capfd: pytest.CaptureFixture[str]) -> None:
    before = _fd2_identity()
    with native_logs_hidden("test model"):
        os.write(
            2,
            b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
            b"WARNING: [model_load.cc:402] Sparsity tensors may not yet be fully supported.\n"
            b"W0000 00:00:1795455406.082316    7337 inference_runner_litert.cc:1418] not aligned\n"
            b"E0000 00:00:1795455406.082316    7337 something.cc:1] a real native error\n"
            b"a line some other thread printed\n",
        )
    assert _fd2_identity() == before
    err = capfd.readouterr().err
    assert "a real native error" in err and "a line some other thread printed" in err
    assert not NATIVE.search(err.replace("E0000 00:00:1795455406.082316    7337 something.cc:1]", "")), err


def test_on_failure_everything_written_is_shown_and_fd2_restored(capfd: pytest.CaptureFixture[str]) -> None:
    before = _fd2_identity()
    with pytest.raises(RuntimeError, match="boom"):
        with native_logs_hidden("test model"):
            os.write(2, b"INFO: context that explains the failure\n")
            raise RuntimeError("boom")
    assert _fd2_identity() == before
    assert "INFO: context that explains the failure" in capfd.readouterr().err


def test_concurrent_loads_restore_fd2(capfd: pytest.CaptureFixture[str]) -> None:
    before = _fd2_identity()
    start = threading.Barrier(4)

    def load(i: int) -> None:
        start.wait()
        with native_logs_hidden(f"model {i}"):
            os.write(2, f"INFO: chatter {i}\nkept {i}\n".encode())

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(load, range(4)))
    assert _fd2_identity() == before
    err = capfd.readouterr().err
    assert all(f"kept {i}" in err for i in range(4)) and "chatter" not in err, err


def test_a_corrupt_model_still_shows_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "models"
    bad.mkdir()
    (bad / models.MESH).write_bytes(b"\x00this is not a flatbuffer" * 100)
    monkeypatch.setenv("AUTOCULL_MODEL_DIR", str(bad))
    with ThreadPoolExecutor(1) as pool:  # a fresh thread: its models are not loaded yet
        with pytest.raises(FaceModelError, match="could not load face model") as info:
            pool.submit(models.mesh_interpreter).result()
    err = capfd.readouterr().err
    # whatever the native side said about it reaches stderr (LiteRT prints "ERROR: ..." here)
    assert "not a valid Flatbuffer" in str(info.value) or "not a valid Flatbuffer" in err, (info.value, err)


def test_the_one_inference_warning_is_hidden_whenever_it_comes(
    capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # LiteRT prints its unaligned-tensor warning once per process, at whichever inference first gets an
    # unaligned input (the allocator decides: not always the warm-up). Detections stay in a quiet window
    # until that line has been caught, and run without one afterwards.
    from autocull.measure.faces import quiet

    monkeypatch.setattr(quiet, "_inference_warned", threading.Event())
    warning = (
        b"WARNING: Logging before InitGoogle() is written to STDERR\n"
        b"W0000 00:00:1795983401.957274    1629 inference_runner_litert.cc:1433] Input tensor memory "
        b"is not aligned according to LiteRt's memory alignment requirements. Reallocating memory.\n"
    )
    with quiet.inference_logs_hidden("detector"):
        os.write(2, b"our own line\n")
    with quiet.inference_logs_hidden("detector"):
        os.write(2, warning)
    assert quiet._inference_warned.is_set()
    with quiet.inference_logs_hidden("detector"):
        os.write(2, b"after: not captured any more\n")
    err = capfd.readouterr().err
    assert not NATIVE.search(err), err
    assert "our own line" in err and "after: not captured any more" in err
