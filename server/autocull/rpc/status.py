"""Domain error -> transport status, in one table for both transports.

The HTTP column is the Connect protocol's own code -> HTTP status mapping, so an
answer written by the Connect library and one written by our request gate agree.
"""

from __future__ import annotations

import grpc

from ..errors import AutoCullError

# domain code -> (gRPC status, Connect code name, HTTP status)
_TABLE = {
    "INVALID_ARGUMENT": (grpc.StatusCode.INVALID_ARGUMENT, "invalid_argument", 400),
    "FAILED_PRECONDITION": (grpc.StatusCode.FAILED_PRECONDITION, "failed_precondition", 400),
    "NOT_FOUND": (grpc.StatusCode.NOT_FOUND, "not_found", 404),
    "UNIMPLEMENTED": (grpc.StatusCode.UNIMPLEMENTED, "unimplemented", 501),
    "UNAUTHENTICATED": (grpc.StatusCode.UNAUTHENTICATED, "unauthenticated", 401),
    "PERMISSION_DENIED": (grpc.StatusCode.PERMISSION_DENIED, "permission_denied", 403),
    "RESOURCE_EXHAUSTED": (grpc.StatusCode.RESOURCE_EXHAUSTED, "resource_exhausted", 429),
    "DEADLINE_EXCEEDED": (grpc.StatusCode.DEADLINE_EXCEEDED, "deadline_exceeded", 504),
    "UNAVAILABLE": (grpc.StatusCode.UNAVAILABLE, "unavailable", 503),
    "CANCELLED": (grpc.StatusCode.CANCELLED, "canceled", 499),
}
_INTERNAL = (grpc.StatusCode.INTERNAL, "internal", 500)
_HTTP_OF_CONNECT = {connect: http for _, connect, http in (*_TABLE.values(), _INTERNAL)}


def for_error(exc: BaseException) -> tuple[grpc.StatusCode, str, int]:
    if isinstance(exc, AutoCullError):
        return _TABLE.get(exc.code, _INTERNAL)
    return _INTERNAL


def http_status_of(connect_code: str) -> int:
    """The HTTP status the Connect protocol gives a Connect code (500 for one we do not use)."""
    return _HTTP_OF_CONNECT.get(connect_code, 500)


def message_of(exc: BaseException) -> str:
    return exc.message if isinstance(exc, AutoCullError) else f"internal error: {exc}"
