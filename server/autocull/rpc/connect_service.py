"""The core as the Connect service the generated app calls, and the JSON codec the plugins read.

The generated ``AutoCullASGIApplication`` calls ``svc.get_status(request, ctx)`` and so on; each
of those here runs the synchronous core method in a worker thread (the core blocks: a Cull waits
for its job) and turns a domain error into a ConnectError through the one status table.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from concurrent.futures import Executor
from typing import Any, AsyncIterator, Callable

from connectrpc.code import Code
from connectrpc.errors import ConnectError
from google.protobuf import json_format
from google.protobuf.message import Message

from ..v1 import autocull_pb2 as pb
from .convert import message_to_json_dict
from .service import AutoCullCore
from .status import for_error, message_of

log = logging.getLogger(__name__)
SERVICE = pb.DESCRIPTOR.services_by_name["AutoCull"]
_END = object()


class JsonCodec:
    """protobuf's JSON mapping with every field printed (the Lua clients read defaults); an empty body is {}."""

    def name(self) -> str:
        return "json"

    def encode(self, message: Message) -> bytes:
        try:
            return json.dumps(message_to_json_dict(message), ensure_ascii=False).encode("utf-8")
        except (json_format.Error, ValueError) as exc:  # e.g. a NaN in a Struct: a bug of ours, said as one
            log.error("internal error: cannot write %s as JSON: %s", message.DESCRIPTOR.name, exc, exc_info=exc)
            raise ConnectError(Code.INTERNAL, f"internal error: cannot write the answer as JSON: {exc}") from None

    def decode(self, data: bytes | bytearray, message_class: type[Any]) -> Any:
        message = message_class()
        try:
            json_format.Parse(bytes(data).decode("utf-8") or "{}", message, ignore_unknown_fields=True)
        except (json_format.ParseError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ConnectError(Code.INVALID_ARGUMENT, f"bad JSON for {message.DESCRIPTOR.name}: {exc}") from None
        return message


def snake_case(name: str) -> str:
    """``GetStatus`` -> ``get_status``: the method names protoc-gen-connectrpc gives the service."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def connect_error(exc: BaseException) -> ConnectError:
    """A domain error as the Connect error the one status table names; an unexpected one is logged."""
    if isinstance(exc, ConnectError):
        return exc
    _, code, _ = for_error(exc)
    if code == "internal":
        log.error("internal error in a Connect call: %s", exc, exc_info=exc)
    return ConnectError(Code(code), message_of(exc))


class ConnectService:
    """Every RPC of the proto as the async method the generated Connect app calls."""

    def __init__(self, core: AutoCullCore, pool: Executor) -> None:
        self._pool = pool
        for method in SERVICE.methods:
            impl = getattr(core, method.name)
            setattr(self, snake_case(method.name), self._stream(impl) if method.server_streaming else self._unary(impl))

    def _unary(self, impl: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
        async def call(request: Any, ctx: Any) -> Any:
            try:
                return await asyncio.get_running_loop().run_in_executor(self._pool, impl, request)
            except Exception as exc:  # every error becomes an answer; the server keeps serving
                raise connect_error(exc) from exc

        return call

    def _stream(self, impl: Callable[[Any, Callable[[], bool]], Any]) -> Callable[[Any, Any], AsyncIterator[Any]]:
        async def call(request: Any, ctx: Any) -> AsyncIterator[Any]:
            active = threading.Event()
            active.set()
            loop = asyncio.get_running_loop()
            try:
                events = impl(request, active.is_set)
                while (item := await loop.run_in_executor(self._pool, next, events, _END)) is not _END:
                    yield item
            except Exception as exc:
                raise connect_error(exc) from exc
            finally:
                active.clear()  # the core's generator stops at its next check

        return call
