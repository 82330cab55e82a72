"""gRPC transport: an adapter over AutoCullCore, with health, reflection and the token check."""

from __future__ import annotations

import hmac
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from ..config import TOKEN_HEADER
from ..v1 import autocull_pb2 as pb
from ..v1 import autocull_pb2_grpc as pb_grpc
from .service import AutoCullCore
from .status import for_error, message_of

log = logging.getLogger(__name__)
SERVICE = pb.DESCRIPTOR.services_by_name["AutoCull"]


class _Auth(grpc.ServerInterceptor):
    """Every call carries the token; a browser Origin is refused (no CSRF from a web page)."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def intercept_service(self, continuation: Callable, details: grpc.HandlerCallDetails) -> Any:
        meta = {k.lower(): v for k, v in (details.invocation_metadata or ())}
        if "origin" in meta:
            return _deny(grpc.StatusCode.PERMISSION_DENIED, "requests from a browser page are refused")
        given = meta.get(TOKEN_HEADER, "")
        if not hmac.compare_digest(given.encode() if isinstance(given, str) else given, self._token):
            return _deny(
                grpc.StatusCode.UNAUTHENTICATED,
                f"missing or wrong {TOKEN_HEADER}: read the token from the daemon's state.json",
            )
        return continuation(details)


def _deny(code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    def abort(request: Any, context: grpc.ServicerContext) -> Any:
        context.abort(code, message)

    return grpc.unary_unary_rpc_method_handler(abort)


def _servicer(core: AutoCullCore) -> pb_grpc.AutoCullServicer:
    """Build the generated servicer with every method delegating to the core."""
    servicer = pb_grpc.AutoCullServicer()
    for method in SERVICE.methods:
        impl = getattr(core, method.name)
        if method.server_streaming:

            def stream(request: Any, context: grpc.ServicerContext, impl: Callable = impl) -> Any:
                try:
                    yield from impl(request, context.is_active)
                except Exception as exc:  # mapped to a status, never a dead server
                    _abort(context, exc)

            setattr(servicer, method.name, stream)
        else:

            def unary(request: Any, context: grpc.ServicerContext, impl: Callable = impl) -> Any:
                try:
                    return impl(request)
                except Exception as exc:
                    _abort(context, exc)

            setattr(servicer, method.name, unary)
    return servicer


def _abort(context: grpc.ServicerContext, exc: Exception) -> None:
    code, _, _ = for_error(exc)
    if code == grpc.StatusCode.INTERNAL:
        log.exception("internal error in RPC")
    context.abort(code, message_of(exc))


def create_server(core: AutoCullCore, *, host: str, port: int, token: str) -> tuple[grpc.Server, int]:
    """Bind on loopback; port 0 picks a free one. Returns (server, bound port); call .start()."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=16, thread_name_prefix="grpc"),
        interceptors=[_Auth(token)],
        options=[("grpc.so_reuseport", 0)],  # on Linux gRPC sets SO_REUSEPORT: a second server would share the port
    )
    pb_grpc.add_AutoCullServicer_to_server(_servicer(core), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for name in ("", SERVICE.full_name):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection((SERVICE.full_name, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    try:
        bound = server.add_insecure_port(f"{host}:{port}")
    except RuntimeError:  # grpcio >= 1.5x raises where older ones returned 0
        bound = 0
    if bound == 0:
        raise OSError(f"could not listen on {host}:{port} (port in use?)")
    return server, bound
