"""Following a test's real processes through /proc (Linux): who is under whom, and whether one is gone."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional


def descendants(pid: int) -> dict[int, int]:
    """pid -> depth (1 = child) of every process under ``pid``, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    out: dict[int, int] = {}
    frontier, depth = [pid], 0
    while frontier:
        depth += 1
        frontier = [p for p, pp in parents.items() if pp in frontier]
        out.update((p, depth) for p in frontier)
    return out


def state(pid: int) -> Optional[tuple[str, str]]:
    """(state, start time) of a process, None once it is gone; the start time tells a reused pid apart."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return fields[0], fields[19]
