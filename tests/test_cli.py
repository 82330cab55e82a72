"""The command line as a user meets it (the real CLI in a subprocess)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_cli_output_cut_short_by_a_pipe_is_no_error(tmp_path: Path) -> None:
    # `autocull policy show | head -1`: the reader closes the pipe; no traceback, exit 0.
    env = dict(os.environ, AUTOCULL_HOME=str(tmp_path / "home"))
    cli = subprocess.Popen([sys.executable, "-m", "autocull", "policy", "show"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert cli.stdout is not None
    cli.stdout.readline()
    cli.stdout.close()
    err = cli.stderr.read().decode() if cli.stderr else ""
    assert cli.wait(60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err
