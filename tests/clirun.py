"""The `autocull` command run as a user runs it: a subprocess on a given home (no daemon unless one runs there)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    """``autocull ARGS`` with ``AUTOCULL_HOME=home``; text output; exit 0 is asserted unless ``ok`` is False."""
    env = dict(os.environ, AUTOCULL_HOME=str(home))
    done = subprocess.run(
        [sys.executable, "-m", "autocull", *args], env=env, capture_output=True, text=True, timeout=600
    )
    if ok:
        assert done.returncode == 0, done.stderr
    return done
