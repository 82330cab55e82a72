"""Domain errors: one type per failure a photographer can act on.

Raised inside the stages, caught at the job boundary and turned into a per-file
``error`` (code + message) in the answer and a row in the failure lane. The RPC
layer maps the request-level ones (``InvalidArgument``, ``NotFound``...) to
status codes in one place.

Per-file codes and request-level codes are two separate sets of names: no
``FileProblem`` shares its code with a request-level error, so a per-file
failure can never be read (or mapped by the transport) as a refused request.
Per-file codes: FILE_NOT_FOUND, VANISHED, UNREADABLE, BAD_PATH, NOT_A_FILE,
EMPTY, UNSUPPORTED, CORRUPT, TOO_LARGE (and FACE_MODEL, measure/faces/models.py).
An ``OSError`` on one photo's path becomes its ``FileProblem`` in one place,
:func:`file_problem`, chosen by errno.
"""

from __future__ import annotations

import errno
import os


class AutoCullError(Exception):
    """Base class. ``code`` is the stable machine-readable name sent to clients."""

    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- per-file errors (a file failed; the job carries on) -------------------
class FileProblem(AutoCullError):
    """A single photo could not be analysed."""

    code = "FILE_ERROR"


class FileMissing(FileProblem):
    """No such file or folder (when the request named it)."""

    code = "FILE_NOT_FOUND"


class FileVanished(FileProblem):
    """The file existed when the job started but was gone when it was read."""

    code = "VANISHED"


class FileUnreadable(FileProblem):
    """No permission, or an I/O error from the OS."""

    code = "UNREADABLE"


class BadPath(FileProblem):
    """The path itself cannot be used: too long (ENAMETOOLONG), a part of it is a file (ENOTDIR), or
    symbolic links that loop (ELOOP)."""

    code = "BAD_PATH"


class NotAFile(FileProblem):
    code = "NOT_A_FILE"


class EmptyFile(FileProblem):
    code = "EMPTY"


class UnsupportedFormat(FileProblem):
    """Not an image we can decode (e.g. a text file named .jpg)."""

    code = "UNSUPPORTED"


class CorruptImage(FileProblem):
    """Looks like an image but its data is truncated or broken."""

    code = "CORRUPT"


class WorkerCrashed(FileProblem):
    """The process analysing this file alone ended without an answer: a native decoder or model crash, the
    OOM killer, or (on a cluster) its node lost. The file costs itself, never the job."""

    code = "CRASHED"


class ImageTooLarge(FileProblem):
    """More pixels than the configured limit (decompression-bomb guard)."""

    code = "TOO_LARGE"


_MISSING_TEXT = {FileMissing: "no such file or folder", FileVanished: "the file disappeared before it could be read"}
_BY_ERRNO: dict[int, tuple[type[FileProblem], str]] = {
    errno.EACCES: (FileUnreadable, "permission denied"),
    errno.EPERM: (FileUnreadable, "permission denied"),
    errno.ENAMETOOLONG: (BadPath, "the path is too long for the file system"),
    errno.ENOTDIR: (BadPath, "a part of the path is a file, not a folder"),
    errno.ELOOP: (BadPath, "symbolic links loop (or too many levels of links)"),
    errno.EISDIR: (NotAFile, "is a folder, not a photo"),
}


def file_problem(
    exc: OSError, path: str | os.PathLike[str], *, missing: type[FileProblem] = FileMissing, doing: str = ""
) -> FileProblem:
    """The per-file error an OS error on one photo's path means, by errno: the one place that maps them.

    ``missing`` is what ENOENT means where it happens (FileMissing for a path a request names,
    FileVanished for a file the scan already saw); ``doing`` says when, e.g. "reading".
    Any other errno (EIO, ESTALE...) means the OS could not read it: FileUnreadable.
    """
    if exc.errno == errno.ENOENT:
        cls, text = missing, _MISSING_TEXT.get(missing, "no such file or folder")
    else:
        cls, text = _BY_ERRNO.get(exc.errno or 0, (FileUnreadable, f"cannot read it ({exc.strerror or exc})"))
    return cls(f"{os.fspath(path)}: {text}{f' ({doing})' if doing else ''}")


# --- request-level errors (the whole request is refused) ------------------
class InvalidArgument(AutoCullError):
    code = "INVALID_ARGUMENT"


class NotFound(AutoCullError):
    code = "NOT_FOUND"


class FailedPrecondition(AutoCullError):
    """The request is fine but the daemon lacks what it needs (CLIP not installed, off, or its weights broken)."""

    code = "FAILED_PRECONDITION"


class Unimplemented(AutoCullError):
    code = "UNIMPLEMENTED"


class Unauthenticated(AutoCullError):
    code = "UNAUTHENTICATED"


class PermissionDenied(AutoCullError):
    code = "PERMISSION_DENIED"


class Unavailable(AutoCullError):
    """The daemon cannot answer now (it is shutting down); the same request later can succeed."""

    code = "UNAVAILABLE"
