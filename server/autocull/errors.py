"""Domain errors: one type per failure a photographer can act on.

Raised inside the stages, caught at the job boundary and turned into a per-file
``error`` (code + message) in the answer and a row in the failure lane. The RPC
layer maps the request-level ones (``InvalidArgument``, ``NotFound``...) to
status codes in one place.
"""
from __future__ import annotations


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
    code = "NOT_FOUND"


class FileVanished(FileProblem):
    """The file existed when the job started but was gone when it was read."""

    code = "VANISHED"


class FileUnreadable(FileProblem):
    """No permission, or an I/O error from the OS."""

    code = "PERMISSION_DENIED"


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


class ImageTooLarge(FileProblem):
    """More pixels than the configured limit (decompression-bomb guard)."""

    code = "TOO_LARGE"


# --- request-level errors (the whole request is refused) ------------------
class InvalidArgument(AutoCullError):
    code = "INVALID_ARGUMENT"


class NotFound(AutoCullError):
    code = "NOT_FOUND"


class Unimplemented(AutoCullError):
    code = "UNIMPLEMENTED"


class Unauthenticated(AutoCullError):
    code = "UNAUTHENTICATED"


class PermissionDenied(AutoCullError):
    code = "PERMISSION_DENIED"


class Unavailable(AutoCullError):
    """The daemon cannot answer now (it is shutting down); the same request later can succeed."""

    code = "UNAVAILABLE"
