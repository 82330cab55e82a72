"""A bounded, seeded fuzz of the JSON API against the real daemon (issue 12).

A fixed number of requests built from one seed: random and malformed bodies (truncated JSON,
huge numbers, NaN and Infinity, lone surrogates, invalid UTF-8, deep nesting, wrong types),
headers (Content-Type, token, Host, Origin, Connect headers, compression) and paths, wrong
methods and broken HTTP framing. Every answer must be a well-formed HTTP response, never a 500:
a client error or success, with a Connect error JSON on every error of a well-formed request.
Afterwards the daemon is up, answers GetStatus and logged no internal error. A failure names
the case number; rerun with the same seed to reproduce it.
"""

from __future__ import annotations

import http.client
import json
import random
import socket
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor

from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon

pytestmark = pytest.mark.e2e
SEED = 20261212
CASES = 400
SERVICE = pb.DESCRIPTOR.services_by_name["AutoCull"]
CONNECT_CODES = {
    "canceled",
    "unknown",
    "invalid_argument",
    "deadline_exceeded",
    "not_found",
    "already_exists",
    "permission_denied",
    "resource_exhausted",
    "failed_precondition",
    "aborted",
    "out_of_range",
    "unimplemented",
    "internal",
    "unavailable",
    "data_loss",
    "unauthenticated",
}
NON_FINITE = ["nan", "NaN", "Infinity", "-inf", "1e999"]
RAW_NUMBERS = [
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "9" * 400,
    "-0",
    "1e-999",
    "0.1e1",
    "18446744073709551616",
    "-9223372036854775809",
]
WEIRD_STRINGS = [
    "",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "\ud800",
    "\udfff",
    "\x00",
    "é" * 3,
    "🙂",
    "\u202e",
    "a" * 5000,
    "..",
    "../../etc/passwd",
    "C:\\Windows",
    "\\\\server\\share",
    " ",
    "\n",
    "null",
]


@dataclass
class Case:
    n: int
    data: bytes
    well_formed: bool = True  # the HTTP framing is valid, so the answer must be Connect error JSON or success
    head: bool = False
    # 5xx answers that are the protocol's own: (status, Connect code), or (status, "") for broken HTTP
    allowed_5xx: set[tuple[int, str]] = field(default_factory=lambda: {(501, "unimplemented")})
    note: str = ""


class Fuzz:
    """Builds one case at a time from the seeded generator."""

    def __init__(self, rng: random.Random, daemon: Daemon, nowhere: Path) -> None:
        self.rng, self.daemon, self.nowhere = rng, daemon, nowhere
        self.port = daemon.state["http_port"]

    # ------------------------------------------------------------ values
    def text(self) -> str:
        r = self.rng
        kind = r.random()
        if kind < 0.3:
            return r.choice(WEIRD_STRINGS)
        if kind < 0.6:
            return "".join(r.choice(string.printable) for _ in range(r.randrange(0, 40)))
        ranges = [(0x20, 0x7F), (0xA0, 0xD7FF), (0xE000, 0x10FFFF)]
        return "".join(chr(r.randrange(*r.choice(ranges))) for _ in range(r.randrange(1, 20)))

    def path(self) -> str:
        """A path that names nothing on disk (absolute ones inside a folder that does not exist)."""
        r = self.rng
        return r.choice(
            [
                str(self.nowhere / self.text().replace("/", "_").replace("\x00", "")[:200]),
                str(self.nowhere / "a.jpg"),
                "relative/photo.jpg",
                self.text(),
                str(self.nowhere) + "/" * 3,
            ]
        )

    def number(self) -> Any:
        r = self.rng
        return r.choice(
            [
                0,
                1,
                -1,
                2**31,
                -(2**31) - 1,
                2**63,
                2**64,
                10**30,
                1.5,
                -0.0,
                1e308,
                -1e308,
                5e-324,
                r.randrange(-1000, 1000),
                r.random(),
            ]
        )

    def anything(self, depth: int = 0) -> Any:
        r = self.rng
        kind = r.randrange(8 if depth < 3 else 5)
        if kind == 0:
            return self.number()
        if kind == 1:
            return self.text()
        if kind == 2:
            return r.choice([True, False])
        if kind == 3:
            return None
        if kind == 4:
            return r.choice(NON_FINITE)
        if kind == 5:
            return [self.anything(depth + 1) for _ in range(r.randrange(4))]
        return {self.text()[:30]: self.anything(depth + 1) for _ in range(r.randrange(4))}

    def struct(self) -> dict[str, Any]:
        from autocull.policy import describe

        knobs = [f["name"] for f in describe()]
        r = self.rng
        value = lambda: r.choice([self.anything(1), self.number(), self.number(), *NON_FINITE])  # noqa: E731
        return {(r.choice(knobs) if r.random() < 0.8 else self.text()[:40]): value() for _ in range(r.randrange(4))}

    def field_value(self, f: FieldDescriptor, depth: int) -> Any:
        r = self.rng
        if r.random() < 0.04:
            return self.anything(depth + 1)  # the wrong type, on purpose
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            if f.message_type.full_name in ("google.protobuf.Struct", "google.protobuf.Value"):
                return self.struct()
            return self.message(f.message_type, depth + 1) if depth < 3 else {}
        if f.type == FieldDescriptor.TYPE_STRING:
            return self.path() if "path" in f.name else self.text()
        if f.type == FieldDescriptor.TYPE_BOOL:
            return r.choice([True, False, "true", 1, None])
        if f.type == FieldDescriptor.TYPE_ENUM:
            return r.choice([v.name for v in f.enum_type.values] + ["NO_SUCH_VALUE", 999, -1, 1])
        if f.type == FieldDescriptor.TYPE_BYTES:
            return r.choice(["", "AAEC", "not base64!"])
        return r.choice([self.number(), str(self.number()), "12abc"])

    def message(self, desc: Any, depth: int = 0) -> dict[str, Any]:
        r = self.rng
        out: dict[str, Any] = {}
        for f in desc.fields:
            if r.random() < 0.6:
                name = f.json_name if r.random() < 0.7 else f.name
                if f.is_repeated and not (f.message_type is not None and f.message_type.GetOptions().map_entry):
                    out[name] = [self.field_value(f, depth) for _ in range(r.randrange(4))]
                elif f.message_type is not None and f.message_type.GetOptions().map_entry:
                    out[name] = {self.text()[:20]: self.field_value(f.message_type.fields_by_name["value"], depth)}
                else:
                    out[name] = self.field_value(f, depth)
        return out

    # -------------------------------------------------------------- body
    def body(self, method: Any) -> bytes:
        r = self.rng
        if method.name == "SetPolicy" and r.random() < 0.4:  # one knob, a non-finite or huge value: nothing else wrong
            from autocull.policy import describe

            value = r.choice([*NON_FINITE, 1e308, -1e308, 10**30])
            return json.dumps({"values": {r.choice(describe())["name"]: value}}).encode()
        valid = json.dumps(self.message(method.input_type), ensure_ascii=r.random() < 0.5)
        kind = r.randrange(12)
        if kind <= 3:
            return valid.encode("utf-8", "surrogatepass")
        if kind == 4:
            return valid.encode("utf-8", "surrogatepass")[: r.randrange(max(1, len(valid)))]
        if kind == 5:  # a raw number token where a value was
            first = valid.find(":")
            return (valid[: first + 1] + " " + r.choice(RAW_NUMBERS) + "}").encode() if first > 0 else b"NaN"
        if kind == 6:
            return r.randbytes(r.randrange(1, 300))
        if kind == 7:
            return r.choice(
                [
                    b"",
                    b"[]",
                    b"null",
                    b"1",
                    b'"s"',
                    b"true",
                    b"{",
                    b"}",
                    b"{}}",
                    b"\xef\xbb\xbf{}",
                    b'{"a":1,"a":2}',
                    b'{"paths": "/"}',
                    b"\xff\xfe{}",
                ]
            )
        if kind == 8:
            depth = r.choice([50, 1000, 20000])
            return r.choice([b"[" * depth + b"]" * depth, b'{"a":' * depth + b"1" + b"}" * depth])
        if kind == 9:
            return json.dumps({"values": {"x": "y" * r.choice([10_000, 1_000_000])}}).encode()
        if kind == 10:
            return ('{"' + self.text() + '": "' + self.text() + '"}').encode("utf-8", "surrogatepass")
        return valid.replace('"', "'").encode("utf-8", "surrogatepass")  # JSON-ish, single-quoted

    # ------------------------------------------------------------- cases
    def case(self, n: int) -> Case:
        r = self.rng
        if r.random() < 0.1:
            return self.broken_framing(n)
        method = r.choice(SERVICE.methods)
        path = f"/{SERVICE.full_name}/{method.name}"
        if r.random() < 0.15:
            path = r.choice(
                [
                    "/",
                    f"/{SERVICE.full_name}/",
                    f"/{SERVICE.full_name}/NoSuch",
                    path + "/extra",
                    path.lower(),
                    path.upper(),
                    path + "?x=1&y",
                    "/" + path,
                    "/%00",
                    "/../../etc/passwd",
                    "/" + "a" * 5000,
                    "/caf%C3%A9",
                    "/%ff%fe",
                    path.replace("Get", "%47et"),
                    "*",
                ]
            )
        verb = (
            "POST"
            if r.random() < 0.85
            else r.choice(["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "FOO", "post", "CONNECT"])
        )
        body = self.body(method)
        headers: dict[str, str | None] = {}
        allowed = {(501, "unimplemented")}
        note = []
        if r.random() < 0.3:
            headers["Content-Type"] = r.choice(
                [
                    None,
                    "application/json; charset=utf-8",
                    "APPLICATION/JSON",
                    "text/plain",
                    "application/proto",
                    "application/grpc",
                    "application/grpc-web",
                    "application/connect+json",
                    "multipart/form-data; boundary=x",
                    "application/json;;;",
                    "application/json, text/html",
                    self.text()[:50],
                ]
            )
        if r.random() < 0.15:
            headers["X-AutoCull-Token"] = r.choice(
                [None, "", "wrong", self.daemon.token + " ", self.daemon.token.upper(), self.text()[:60]]
            )
        if r.random() < 0.1:
            headers["Host"] = r.choice(
                [
                    f"127.0.0.1.evil.example:{self.port}",
                    "evil.example",
                    "",
                    f"localhost:{self.port}",
                    f"[::1]:{self.port}",
                    "127.0.0.1",
                    f"127.0.0.1:{self.port + 1}",
                ]
            )
        if r.random() < 0.05:
            headers["Origin"] = r.choice(["https://evil.example", "null", "http://127.0.0.1"])
        if r.random() < 0.15:
            name, value = r.choice(
                [
                    ("Connect-Protocol-Version", r.choice(["1", "2", "abc", ""])),
                    ("Connect-Timeout-Ms", r.choice(["abc", "-5", "99999999999", "1", "60000"])),
                    ("Content-Encoding", r.choice(["gzip", "br", "identity", "zstd", "x"])),
                    ("Accept-Encoding", r.choice(["gzip", "br", "*", "identity;q=0"])),
                    ("Expect", "100-continue"),
                    ("Connection", r.choice(["close", "keep-alive"])),
                    (
                        "X-" + "".join(r.choice(string.ascii_letters) for _ in range(8)),
                        "".join(r.choice(string.printable.strip()) for _ in range(30)),
                    ),
                ]
            )
            headers[name] = value
            note.append(f"{name}: {value}")
            if name == "Connect-Timeout-Ms":
                allowed.add((504, "deadline_exceeded"))  # the client's own deadline passed: the protocol's answer
        data = self.daemon.request_bytes(method.name, body, headers, verb=verb, path=path)
        if r.random() < 0.1 and "Content-Length" not in headers:  # the same body, chunked
            head, _, _ = data.partition(b"\r\n\r\n")
            head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-length"))
            data = (
                head
                + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
                + (b"%x\r\n%s\r\n" % (len(body), body) if body else b"")
                + b"0\r\n\r\n"
            )
        # a header value with a control character is broken HTTP: the HTTP layer refuses it, not the API
        framed = all(_field_value_ok(v) for v in headers.values() if v is not None)
        return Case(n, data, well_formed=framed, head=verb == "HEAD", allowed_5xx=allowed, note="; ".join(note))

    def broken_framing(self, n: int) -> Case:
        r = self.rng
        good = self.daemon.request_bytes("GetStatus", b"{}")
        head, _, body = good.partition(b"\r\n\r\n")
        no_length = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-length"))
        data = r.choice(
            [
                no_length + b"\r\nContent-Length: abc\r\n\r\n{}",
                no_length + b"\r\nContent-Length: -1\r\n\r\n{}",
                no_length + b"\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
                no_length + b"\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}\r\n",
                no_length + b"\r\nTransfer-Encoding: gzip\r\n\r\n{}",
                no_length + b"\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
                head + b"\r\nBroken header line\r\n\r\n" + body,
                head + b"\r\nSpace-Before-Colon : x\r\n\r\n" + body,
                head + b"\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n" + body,
                head + b"\r\nX-Nul: a\x00b\r\n\r\n" + body,
                b"GARBAGE\r\n\r\n",
                b"POST /autocull.v1.AutoCull/GetStatus\r\n\r\n",
                b"POST /autocull.v1.AutoCull/GetStatus HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n",
                b"POST /caf\xc3\xa9 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n",
                b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + r.randbytes(64),  # a TLS ClientHello
                r.randbytes(r.randrange(1, 200)) + b"\r\n\r\n",
            ]
        )
        # RFC 9112: a transfer coding the server does not know is answered 501
        unknown_coding = b"Transfer-Encoding: gzip" in data
        return Case(n, data, well_formed=False, allowed_5xx={(501, "")} if unknown_coding else set())


def _field_value_ok(value: str) -> bool:
    return not any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in value)


def _answer(daemon: Daemon, case: Case) -> tuple[int, dict[str, str], bytes]:
    with daemon.raw(timeout=20) as sock:
        try:
            return daemon.exchange(sock, case.data, head=case.head)
        except (http.client.HTTPException, ConnectionError, socket.timeout, TimeoutError) as exc:
            raise AssertionError(
                f"case {case.n}: no well-formed HTTP answer ({exc!r}) to {case.data[:300]!r}"
            ) from None


def _check(case: Case, status: int, headers: dict[str, str], body: bytes) -> None:
    where = f"case {case.n} ({case.note}): {status} {body[:300]!r} for {case.data[:300]!r}"
    if not case.well_formed:
        assert 400 <= status < 500 or (status, "") in case.allowed_5xx, where
        return
    if 200 <= status < 300:
        return
    if case.head:
        assert 400 <= status < 500 and not body, where
        return
    try:
        answer = json.loads(body)
    except ValueError:
        raise AssertionError(f"not Connect error JSON: {where}") from None
    assert isinstance(answer, dict) and answer.get("code") in CONNECT_CODES, where
    assert isinstance(answer.get("message"), str), where
    assert 400 <= status < 500 or (status, answer["code"]) in case.allowed_5xx, where


def test_the_json_api_answers_every_random_or_malformed_request_and_stays_up(tmp_path):
    daemon = Daemon(tmp_path / "home", config="faces = false\n")
    try:
        fuzz = Fuzz(random.Random(SEED), daemon, tmp_path / "nothing-here")
        seen: dict[int, int] = {}
        ran = 0
        failures = []
        for n in range(CASES):
            case = fuzz.case(n)
            try:
                status, headers, body = _answer(daemon, case)
                _check(case, status, headers, body)
            except AssertionError as exc:  # all of them, not only the first
                failures.append(str(exc)[:800])
                continue
            seen[status] = seen.get(status, 0) + 1
            if status == 400 and b'"failed_precondition"' in body:
                ran += 1  # only a method that ran says this (Search or Select while CLIP is off)
            assert daemon.proc.poll() is None, f"case {n} ended the daemon:\n{daemon.log()[-3000:]}"
        assert not failures, f"{len(failures)} of {CASES} cases failed:\n" + "\n".join(failures)
        # The fuzz reached the methods, not only the guards: answers only a method gives (a success, or Search
        # and Select saying CLIP is off, which every random request to them hears in this daemon). Over seeds that
        # share runs about 7-11 % of the cases (measured before and after the taste RPCs came); the line sits below
        # that spread, so a new RPC in the contract does not flip it, and still fails when guards refuse all.
        assert seen.get(200, 0) + ran >= CASES // 15, (seen, ran)
        assert sum(v for k, v in seen.items() if 400 <= k < 500) >= CASES // 4, seen
        assert daemon.post("GetStatus", {})["version"]
        log = daemon.log()
        for sign in ("internal error", "Error in ASGI", "Traceback"):
            assert sign not in log, log[-5000:]
    finally:
        daemon.stop()
