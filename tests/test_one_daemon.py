"""One daemon per home: a second `autocull serve` (two plugins, a double click, `service start` twice at once)
exits with a message naming the one that serves, before it opens the store or binds a port. Real processes on
loopback; every wait is on a condition (a process exits, state.json names a pid), bounded only so a hang fails.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon

ROOT = Path(__file__).resolve().parents[1]
FREE_PORTS = "grpc_port = 0\nhttp_port = 0\n"
BUSY = "another AutoCull daemon serves this home (pid {pid})"

pytestmark = pytest.mark.e2e


def _env(tmp_path: Path) -> dict[str, str]:
    # no service installed for these homes: XDG_CONFIG_HOME points at an empty folder
    return dict(os.environ, PYTHONPATH=str(ROOT / "server"), XDG_CONFIG_HOME=str(tmp_path / "xdg"))


def _serve(home: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "autocull", "--home", str(home), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _until(condition, what: str, limit: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for: {what}")
        time.sleep(0.1)


def _state_pid(home: Path) -> int:
    try:
        return int(json.loads((home / "state.json").read_text()).get("pid") or 0)
    except (OSError, ValueError):
        return 0


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def test_two_serves_started_at_once_leave_exactly_one_serving(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(FREE_PORTS)
    env = _env(tmp_path)
    first, second = _serve(home, env), _serve(home, env)
    try:
        _until(lambda: first.poll() is not None or second.poll() is not None, "one of the two to give up")
        loser, winner = (first, second) if first.poll() is not None else (second, first)
        _until(lambda: _state_pid(home) == winner.pid, "the other to serve")
        assert winner.poll() is None
        err = loser.communicate(timeout=60)[1]
        assert loser.returncode != 0
        assert BUSY.format(pid=winner.pid) in err, err
        assert "Traceback" not in err
    finally:
        _stop(first)
        _stop(second)
    assert _state_pid(home) == 0  # the one that served stopped cleanly


def _footprint(home: Path) -> dict[str, tuple[int, int]]:
    """(mtime_ns, size) of the store's files and the state the plugins read."""
    names = ("autocull.db", "autocull.db-wal", "autocull.db-shm", "state.json", "config.toml")
    return {n: (st.st_mtime_ns, st.st_size) for n in names if (st := _stat(home / n)) is not None}


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except FileNotFoundError:
        return None


def test_a_second_serve_touches_neither_the_store_nor_the_ports_of_the_running_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    running = Daemon(home, config=FREE_PORTS)
    try:
        before = _footprint(home)
        assert "autocull.db" in before
        second = subprocess.run(
            [sys.executable, "-m", "autocull", "--home", str(home), "serve", "--grpc-port", "0", "--http-port", "0"],
            capture_output=True,
            text=True,
            env=_env(tmp_path),
            timeout=120,
        )
        assert second.returncode != 0
        assert BUSY.format(pid=running.proc.pid) in second.stderr, second.stderr
        assert _footprint(home) == before  # no catch-up, no sidecar queue, no state.json of its own
        assert running.grpc("GetStatus", pb.GetStatusRequest()).version  # the first serves on
        assert _state_pid(home) == running.proc.pid
    finally:
        assert running.stop() == 0


def test_two_service_starts_at_once_start_one_daemon(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(FREE_PORTS)
    env = _env(tmp_path)
    cli = [sys.executable, "-m", "autocull", "--home", str(home), "service", "start", "--wait", "120"]
    starts = [subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in "ab"]
    pid = 0
    try:
        outs = [p.communicate(timeout=180) for p in starts]
        assert [p.returncode for p in starts] == [0, 0], outs
        pid = _state_pid(home)
        assert pid and all(f"running: pid {pid}" in out for out, _ in outs), outs
        # a daemon the losing start spawned (if any) gives up on the lock: one `serve` of this home is left
        _until(lambda: _serves_of(home) == [pid], f"only pid {pid} serving {home}, not {_serves_of(home)}")
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            _until(lambda: _state_pid(home) == 0, "the daemon to stop")


def _serves_of(home: Path) -> list[int]:
    """Live `autocull serve` processes of ``home`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and os.fsencode(str(home)) in argv and b"serve" in argv:
            found.append(int(entry.name))
    return found


def test_a_grpc_port_in_use_is_reported_not_shared(tmp_path: Path) -> None:
    """gRPC on Linux binds with SO_REUSEPORT unless told not to: a second daemon (another home) configured with
    the first one's port would share it and take half its calls. It must fail and say the port is in use."""
    first = Daemon(tmp_path / "first", config=FREE_PORTS)
    try:
        other = tmp_path / "other"
        other.mkdir()
        (other / "config.toml").write_text(f"grpc_port = {first.state['grpc_port']}\nhttp_port = 0\n")
        second = _serve(other, _env(tmp_path))
        try:
            _until(lambda: second.poll() is not None or _state_pid(other) == second.pid, "the second to bind or not")
            assert second.poll() is not None, "a second daemon shares the first one's gRPC port"
            err = second.communicate(timeout=60)[1]
            assert second.returncode != 0 and "could not listen" in err and "Traceback" not in err, err
        finally:
            _stop(second)
    finally:
        assert first.stop() == 0
