"""Worker pool faults beyond a crashing file (issue 16 review): real processes, real photos.

What a user would notice: the workers (and the forkserver) of a daemon killed with SIGKILL do not stay behind
holding memory; a file that hangs its decoder costs that file (with the reason) and not the job, its cancel or
the daemon's stop; workers that cannot start fail the job once with the cause instead of marking every file a
decoder crash.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from realphotos import TESTDATA

FACES = sorted((TESTDATA / "faces" / "open").glob("*.jpg"))


def _copies(folder: Path, count: int, prefix: str = "frame") -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    assert len(FACES) >= count, f"shared test data missing: {TESTDATA / 'faces/open'}"
    out = []
    for k in range(count):
        dest = folder / f"{prefix}-{k:03d}.jpg"
        shutil.copyfile(FACES[k], dest)
        out.append(str(dest))
    return out


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) of a process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], fields[19]


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    out: list[int] = []
    frontier = [pid]
    while frontier:
        frontier = [p for p, pp in parents.items() if pp in frontier]
        out += frontier
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="follows the processes in /proc")
def test_workers_and_forkserver_exit_when_the_daemon_is_killed(tmp_path):
    files = _copies(tmp_path / "shoot", 4)
    script = textwrap.dedent(
        """
        import sys, time
        from autocull.pipeline import AnalysisSettings
        from autocull.workers import ProcessAnalyzer
        pool = ProcessAnalyzer(2, idle_seconds=0)
        out = list(pool.analyze(sys.argv[1:], AnalysisSettings(faces=False), lambda: False))
        assert len(out) == len(sys.argv) - 1, out
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script, *files], stdout=subprocess.PIPE, text=True)
    left: dict[int, tuple[str, str]] = {}
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        under = _descendants(child.pid)  # the workers, the forkserver (and its resource tracker)
        assert len(under) >= 3, under
        left = {p: s for p in under if (s := _stat(p)) is not None}
        child.send_signal(signal.SIGKILL)  # as the OOM killer or `kill -9` would end the daemon
        child.wait(timeout=30)
        deadline = time.monotonic() + 60  # generous: what matters is that they go, not how fast
        while time.monotonic() < deadline:
            left = {p: s for p, s in left.items() if (now := _stat(p)) is not None and now[0] != "Z" and now[1] == s[1]}
            if not left:
                break
            time.sleep(0.2)
        assert not left, f"still running after the daemon was killed: {sorted(left)}"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in left:  # what the defect left behind is not left running after the test
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
