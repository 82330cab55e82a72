"""Domain error -> transport status, in one table for both transports."""
from __future__ import annotations

import grpc

from ..errors import AutoCullError

# domain code -> (gRPC status, Connect code name, HTTP status)
_TABLE = {
    "INVALID_ARGUMENT": (grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument", 400),
    "NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "not_found", 404),
    "UNIMPLEMENTED": (grpc.StatusCode.UNIMPLEMENTED, "unimplemented", 501),
    "UNAUTHENTICATED": (grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", 401),
    "PERMISSION_DENIED": (grpc.StatusCode.PERMISSION_DENIED, "permission_denied", 403),
    "CANCELLED": (grpc.StatusCode.CANCELLED, "canceled", 499),
    "UNAVAILABLE": (grpc.StatusCode.UNAVAILABLE, "unavailable", 503),
}
_INTERNAL = (grpc.StatusCode.INTERNAL, "internal", 500)


def for_error(exc: BaseException) -> tuple[grpc.StatusCode, str, int]:
    if isinstance(exc, AutoCullError):
        return _TABLE.get(exc.code, _INTERNAL)
    return _INTERNAL


def message_of(exc: BaseException) -> str:
    return exc.message if isinstance(exc, AutoCullError) else f"internal error: {exc}"
