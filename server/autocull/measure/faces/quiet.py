"""Keep the face libraries' native log chatter off stderr while a model loads.

Where the lines come from (MediaPipe 1.2, ai-edge-litert 2.3): building a
MediaPipe ``FaceDetector`` prints LiteRT's ``INFO: [environment.cc:36] ...``
lines and, for the sparse full-range model, ~46 ``WARNING: [model_load.cc:402]
Sparsity tensors ...``; the first detector and the first LiteRT ``Interpreter``
in a process each print TFLite's ``INFO: Created TensorFlow Lite XNNPACK
delegate for CPU.``; one *inference* of the process may print absl's
``WARNING: Logging before InitGoogle() ...`` and a ``W0000 00:00:...
inference_runner_litert.cc:1418] Input tensor memory is not aligned ...``:
the first one whose input tensor lands unaligned, which depends on the
allocator (often the warm-up, sometimes a later detection). After that,
inference is silent. So ``models`` builds each model and runs a warm-up call
on a blank input inside :func:`native_logs_hidden`, once per worker thread,
and detections run inside :func:`inference_logs_hidden` until that one
warning has been caught.

Why a scoped redirect of file descriptor 2 and not the alternatives:

* Environment variables do not work even when set before the first import:
  three separate loggers are involved (LiteRT's own, TFLite's minimal logger,
  absl), all statically linked into ``libmediapipe.so``; ``GLOG_minloglevel``,
  ``TF_CPP_MIN_LOG_LEVEL`` and ``GOOGLE_STDERRTHRESHOLD`` were all tried and
  none silences them. They would also leak into child processes.
* MediaPipe's ``MpSetLoggingCallback`` adds an absl *sink*: it sees absl lines
  but does not stop them going to stderr, and it sees none of the LiteRT/TFLite
  lines.
* Redirecting fd 2 for the whole process (a pipe plus a filtering thread) would
  also swallow a crash's last words and change every other library's stderr.

So fd 2 points at a temporary file only while a model is built and warmed up
(a few times per worker, never per image). Because fd 2 is process-wide, one
lock serialises these windows, and fd 2 is restored in ``finally`` whatever
happens. The captured bytes are then replayed to the real fd 2: if loading
failed, all of them (so a corrupt model's ``ERROR: ...`` stays visible next to
the per-file ``FaceModelError``); if it succeeded, all but the recognised
INFO/WARNING chatter, so errors and what another thread printed during the
window still appear (at most a moment late) -- except another thread's own
lines that look like native INFO/WARNING chatter, which are dropped with it.
The dropped lines go to this module's debug log. A hard crash inside the window would lose its native
message (it went to the temporary file); loads are short and that is the price.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

_lock = threading.RLock()  # re-entrant: a nested window just captures into the outer one

# INFO/WARNING lines of TFLite's minimal logger and LiteRT ("INFO: ...", "WARNING: [file.cc:N] ..."),
# absl/glog INFO and WARNING lines ("W0000 00:00:1795455406.082316    7337 file.cc:N] ...") and
# absl's preamble about logging before initialisation. Errors (E..../F...., "ERROR: ...") are kept.
_CHATTER = re.compile(rb"^(?:(?:INFO|WARNING|VERBOSE): |[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ )")


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _write_fd2(data: bytes) -> None:
    while data:
        try:
            n = os.write(2, data)
        except OSError:
            return  # stderr is gone (closed, broken pipe): nothing more we can do
        data = data[n:]


def _replay(captured: bytes, what: str, failed: bool) -> None:
    if failed:
        _write_fd2(captured)
        return
    keep: list[bytes] = []
    dropped: list[bytes] = []
    for line in captured.splitlines(keepends=True):
        (dropped if _CHATTER.match(line) else keep).append(line)
    if keep:
        _write_fd2(b"".join(keep))
    if dropped:  # only what was hidden: the kept lines are on stderr already
        log.debug(
            "hid %d native log lines while running %s:\n%s",
            len(dropped),
            what,
            b"".join(dropped).decode("utf-8", "replace").rstrip(),
        )
        if any(_INFERENCE_WARNING in line for line in dropped):
            _inference_warned.set()


# The one inference warning of a process (LiteRT's "Input tensor memory is not
# aligned ... Reallocating" with absl's preamble) is printed only when an input
# tensor happens to land unaligned, which depends on the allocator's state: the
# warm-up inference does not always draw it, so a later detection could.
_INFERENCE_WARNING = b"tensor memory is not aligned"
_inference_warned = threading.Event()


@contextmanager
def inference_logs_hidden(what: str) -> Iterator[None]:
    """:func:`native_logs_hidden` around an inference, until the process has printed its one inference warning.

    Afterwards a no-op: inference is then silent for good. Until then the
    windows serialise detections across threads (fd 2 is process-wide); a
    detection takes a few milliseconds and a window adds well under one.
    """
    if _inference_warned.is_set():
        yield
        return
    with native_logs_hidden(what):
        yield


@contextmanager
def native_logs_hidden(what: str) -> Iterator[None]:
    """Run the body with fd 2 captured; replay what is not native chatter (everything if it raises).

    ``what`` names the model, for the debug log. Thread-safe: one window at a time in the process.
    """
    with _lock:
        try:
            sink = tempfile.TemporaryFile()
        except OSError as exc:  # no temporary space: load with the chatter rather than not at all
            log.debug("cannot capture native logs while loading %s: %s", what, exc)
            yield
            return
        with sink:
            _flush()
            try:
                saved = os.dup(2)
            except OSError as exc:  # no free descriptor, or no stderr at all: load with the chatter
                log.debug("cannot capture native logs while loading %s: %s", what, exc)
                yield
                return
            failed = True
            try:
                os.dup2(sink.fileno(), 2)
                yield
                failed = False
            finally:
                _flush()
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                _replay(sink.read(), what, failed)
