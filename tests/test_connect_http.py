"""The JSON transport under hostile and clumsy clients (issue 12): the real daemon, raw sockets.

Each test is one failure the hand-written HTTP server had: a refused request's body parsed as
the next request, ``Content-Length: abc`` answered 500, ``Content-Length: -1`` hanging a thread,
one thread per silent connection forever, ``Host: 127.0.0.1.evil.example`` accepted, no body
limit. Plus what the Connect server must keep: clean quick shutdown and any Connect client.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from autocull.rpc.connect_gate import DRAIN_LIMIT, Limits
from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon

pytestmark = pytest.mark.e2e
LIMITS = Limits()


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    d = Daemon(tmp_path_factory.mktemp("connect") / "home", config="faces = false\n")
    yield d
    d.stop()


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count in /proc")


def _read_all(sock: socket.socket, quiet: float = 1.5) -> bytes:
    """Everything the daemon sends until it closes the connection or stays quiet for ``quiet`` s."""
    sock.settimeout(quiet)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, socket.timeout, ConnectionResetError):
        pass
    return data


def _presets(daemon: Daemon) -> set[str]:
    return {p["name"] for p in daemon.post("ListPresets", {})["presets"]}


@pytest.mark.parametrize("padding", [0, DRAIN_LIMIT + 1], ids=["drained body", "body too big to drain"])
def test_a_refused_requests_body_is_never_taken_for_a_next_request(daemon, padding):
    name = f"smuggled{padding}"
    smuggled = daemon.request_bytes("SetPolicy", json.dumps({"values": {}, "saveAs": name}).encode())
    body = smuggled + b" " * padding  # a complete, valid request hidden in the refused one's body
    with daemon.raw() as sock:
        sock.sendall(daemon.request_bytes("GetStatus", body, {"X-AutoCull-Token": "wrong"}))
        answers = _read_all(sock)
    assert answers.startswith(b"HTTP/1.1 401"), answers[:200]
    assert answers.count(b"HTTP/1.1 ") == 1, answers
    assert name not in _presets(daemon)
    # the same bytes sent as a request of their own do save the preset: the check above can fail
    with daemon.raw() as sock:
        status, _, _ = daemon.exchange(sock, smuggled)
    assert status == 200 and name in _presets(daemon)


def test_a_refused_request_with_a_small_body_leaves_the_connection_usable(daemon):
    with daemon.raw() as sock:
        status, _, body = daemon.exchange(
            sock, daemon.request_bytes("GetStatus", b'{"x": 1}', {"Origin": "https://a.b"})
        )
        assert status == 403 and json.loads(body)["code"] == "permission_denied"
        status, _, body = daemon.exchange(sock, daemon.request_bytes("GetStatus", b"{}"))
        assert status == 200 and json.loads(body)["version"]


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "0x10", " ", "5, 6"])
def test_a_malformed_content_length_is_a_client_error_and_hangs_nothing(daemon, length):
    threads = _threads(daemon.proc.pid)
    for _ in range(20):
        with daemon.raw(timeout=5) as sock:
            sock.sendall(daemon.request_bytes("GetStatus", b"{}", {"Content-Length": length}))
            answer = _read_all(sock, quiet=5)
        assert answer[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 413"), answer[:200]
    assert _threads(daemon.proc.pid) <= threads + 2  # no thread left hanging per request
    assert daemon.post("GetStatus", {})["version"]


def test_silent_connections_are_closed_by_the_idle_timeout_while_real_clients_are_answered(daemon):
    threads = _threads(daemon.proc.pid)
    silent = [daemon.raw() for _ in range(200)]
    half_sent = [daemon.raw() for _ in range(20)]
    for sock in half_sent:  # slowloris: headers begun, never finished
        sock.sendall(b"POST /autocull.v1.AutoCull/GetStatus HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    try:
        status, answer = daemon.http("GetStatus", {})
        assert status == 200 and answer["version"]
        assert _threads(daemon.proc.pid) <= threads + 4  # no thread per connection
        time.sleep(LIMITS.idle_timeout + 2.0)
        for sock in silent + half_sent:
            assert _read_all(sock, quiet=2.0) == b"", "a silent connection got an answer"
            sock.settimeout(2.0)
            try:
                assert sock.recv(1) == b""  # closed by the daemon, not merely quiet
            except ConnectionResetError:
                pass
    finally:
        for sock in silent + half_sent:
            sock.close()
    assert daemon.post("GetStatus", {})["version"]


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1.evil.example",
        "evil.example",
        "127.0.0.2",
        "localhost.evil.example",
        "127.0.0.1:1",
        "127.0.0.1:PORT0",
        "[::1].evil",
        "127.0.0.1@evil.example",
        "",
    ],
)
def test_a_host_that_is_not_exactly_loopback_is_refused(daemon, host):
    host = host.replace("PORT", str(daemon.state["http_port"]))
    with daemon.raw() as sock:
        status, _, body = daemon.exchange(sock, daemon.request_bytes("GetStatus", b"{}", {"Host": host}))
    assert status in (400, 403), (host, status, body)
    if status == 403:
        assert json.loads(body)["code"] == "permission_denied"


@pytest.mark.parametrize(
    "host", ["127.0.0.1:PORT", "localhost:PORT", "[::1]:PORT", "127.0.0.1", "localhost", "LOCALHOST:PORT", "[::1]"]
)
def test_a_loopback_host_with_or_without_our_port_is_served(daemon, host):
    host = host.replace("PORT", str(daemon.state["http_port"]))
    with daemon.raw() as sock:
        status, _, body = daemon.exchange(sock, daemon.request_bytes("GetStatus", b"{}", {"Host": host}))
    assert status == 200 and json.loads(body)["version"], (host, status, body)


def test_a_body_over_the_limit_is_refused_before_it_is_read(daemon):
    with daemon.raw() as sock:  # the body never comes: an answer at all means the daemon did not wait for it
        sock.sendall(daemon.request_bytes("SendFeedback", b"", {"Content-Length": str(LIMITS.max_body + 1)}))
        answer = _read_all(sock, quiet=5)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]  # not 408: refused on its length, not timed out
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == "resource_exhausted"


def test_a_chunked_body_over_the_limit_is_refused_and_the_daemon_carries_on(daemon):
    head = daemon.request_bytes("SendFeedback", b"", {"Content-Length": None, "Transfer-Encoding": "chunked"})
    chunk = b"x" * (1024 * 1024)
    with daemon.raw() as sock:
        sock.sendall(head)
        try:
            for _ in range(LIMITS.max_body // len(chunk) + 2):
                sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the daemon answered and closed: it need not read the rest
        answer = _read_all(sock, quiet=5)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert daemon.post("GetStatus", {})["version"]


def test_a_body_trickled_a_byte_at_a_time_is_cut_off_at_the_body_deadline(daemon):
    with daemon.raw() as sock:
        started = time.monotonic()
        sock.sendall(daemon.request_bytes("GetStatus", b"{", {"Content-Length": "100"}))
        sock.settimeout(0.5)
        answer = b""
        while not answer and time.monotonic() - started < LIMITS.body_timeout + 5:
            try:
                sock.sendall(b" ")  # never silent for long, never finished
                answer = sock.recv(65536)
            except (TimeoutError, socket.timeout):
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        answer += _read_all(sock)  # the rest of the answer, if it came in more than one piece
    # 408 deadline_exceeded is the daemon's own body deadline firing while the client was still sending
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == "deadline_exceeded"


def test_wrong_method_path_and_content_type_get_connect_errors(daemon):
    cases = [
        ({"verb": "GET"}, {}, 405, "unimplemented"),
        ({"path": "/"}, {}, 404, "not_found"),
        ({"path": "/autocull.v1.AutoCull/NoSuchMethod"}, {}, 501, "unimplemented"),
        ({}, {"Content-Type": "text/plain"}, 415, "invalid_argument"),
        ({}, {"Content-Type": None}, 415, "invalid_argument"),
    ]
    for kw, headers, want_status, want_code in cases:
        with daemon.raw() as sock:
            status, _, body = daemon.exchange(sock, daemon.request_bytes("GetStatus", b"{}", headers, **kw))
        assert (status, json.loads(body)["code"]) == (want_status, want_code), (kw, headers, body)


def test_answers_have_a_length_and_the_proto_json_mapping_with_defaults(daemon):
    with daemon.raw() as sock:
        status, headers, body = daemon.exchange(sock, daemon.request_bytes("GetJob", b'{"jobId": "nope"}'))
        assert status == 404 and json.loads(body) == {"code": "not_found", "message": json.loads(body)["message"]}
        status, headers, body = daemon.exchange(sock, daemon.request_bytes("ListWatchFolders", b""))
    assert status == 200 and headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    assert json.loads(body) == {"folders": []}  # an empty body is an empty request; empty lists are printed


def test_a_connect_client_speaks_to_the_daemon_in_json_and_binary(daemon):
    from connectrpc.compat import google_protobuf_json_codec

    from autocull.v1.autocull_connect import AutoCullClientSync

    url = f"http://127.0.0.1:{daemon.state['http_port']}"
    headers = {"x-autocull-token": daemon.token}
    with AutoCullClientSync(url) as client:
        status = client.get_status(pb.GetStatusRequest(), headers=headers)
        assert status.version
        with pytest.raises(Exception) as info:
            client.get_job(pb.GetJobRequest(job_id="nope"), headers=headers)
        assert getattr(info.value, "code", None) is not None and info.value.code.value == "not_found"
    with AutoCullClientSync(url, codec=google_protobuf_json_codec()) as client:
        assert client.list_presets(pb.ListPresetsRequest(), headers=headers).presets


def test_a_connect_client_streams_watchjob_to_the_end(daemon, tmp_path):
    from PIL import Image

    from autocull.v1.autocull_connect import AutoCullClientSync

    folder = tmp_path / "shoot"
    folder.mkdir()
    for i, shade in enumerate((60, 200)):
        Image.new("RGB", (320, 240), (shade, 90, 30)).save(folder / f"flat-{i}.jpg")
    job = daemon.post("StartJob", {"paths": [str(folder)]})
    headers = {"x-autocull-token": daemon.token}
    with AutoCullClientSync(f"http://127.0.0.1:{daemon.state['http_port']}") as client:
        events = list(client.watch_job(pb.GetJobRequest(job_id=job["id"]), headers=headers, timeout_ms=120_000))
    assert events and events[-1].state == pb.JOB_STATE_DONE, events[-1:]
    paths = [d.path for e in events for d in e.decisions]
    assert sorted(paths) == sorted(str(p) for p in folder.iterdir())  # each decision once, none lost


def test_sigterm_with_open_connections_stops_by_itself_and_cleanly(tmp_path):
    d = Daemon(tmp_path / "home", config="faces = false\n")
    socks = [d.raw() for _ in range(50)]
    try:
        with d.raw() as sock:  # and one keep-alive connection that has been used
            assert d.exchange(sock, d.request_bytes("GetStatus", b"{}"))[0] == 200
            code = d.stop(timeout=20)
        assert code == 0, d.log()  # it exited by itself (a hung daemon is killed: -9)
        assert json.loads((d.home / "state.json").read_text())["pid"] == 0  # the daemon ran its own clean-up
    finally:
        for sock in socks:
            sock.close()


def test_sigterm_during_a_blocking_cull_over_http_stops_and_answers_the_client(tmp_path):
    import threading

    import numpy as np
    from PIL import Image

    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):
        Image.fromarray(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)).save(folder / f"n{i:02d}.jpg")
    d = Daemon(tmp_path / "home", config="faces = false\n")
    answers: list[object] = []

    def cull() -> None:
        try:
            answers.append(d.http("Cull", {"paths": [str(folder)]}))
        except Exception as exc:  # a closed connection is an answer too; a hang is not
            answers.append(exc)

    client = threading.Thread(target=cull)
    try:
        client.start()
        deadline = time.monotonic() + 60
        while d.post("GetStatus", {})["jobsRunning"] == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert d.post("GetStatus", {})["jobsRunning"] == 1
        assert d.stop(timeout=30) == 0, d.log()  # it exited by itself (a hung daemon is killed: -9)
        client.join(10)
        assert not client.is_alive() and answers, "the HTTP client was left hanging"
    finally:
        d.stop()
