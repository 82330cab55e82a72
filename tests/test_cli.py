"""The command line as a user meets it (the real CLI in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_cli_output_cut_short_by_a_pipe_is_no_error(tmp_path: Path) -> None:
    # `autocull policy show | head -1`: the reader closes the pipe; no traceback, exit 0.
    env = dict(os.environ, AUTOCULL_HOME=str(tmp_path / "home"))
    cli = subprocess.Popen(
        [sys.executable, "-m", "autocull", "policy", "show"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert cli.stdout is not None
    cli.stdout.readline()
    cli.stdout.close()
    err = cli.stderr.read().decode() if cli.stderr else ""
    assert cli.wait(60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err, err


def test_cull_json_written_page_by_page_is_one_document_with_every_photo(tmp_path: Path) -> None:
    # No daemon: the engine runs in-process; the decisions are written as they come (the failed
    # file first, as soon as it fails) and the output is still one JSON document.
    from PIL import Image
    from skimage import data

    shoot = tmp_path / "shoot"
    shoot.mkdir()
    Image.fromarray(data.astronaut()).save(shoot / "astronaut.jpg", quality=90)
    Image.fromarray(data.coffee()).save(shoot / "coffee.jpg", quality=90)
    (shoot / "notes.jpg").write_text("not a photo")
    env = dict(os.environ, AUTOCULL_HOME=str(tmp_path / "home"))
    cli = subprocess.run(
        [sys.executable, "-m", "autocull", "cull", "--json", str(shoot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert cli.returncode == 0, cli.stderr
    answer = json.loads(cli.stdout)
    by_name = {Path(d["path"]).name: d for d in answer["decisions"]}
    assert sorted(by_name) == ["astronaut.jpg", "coffee.jpg", "notes.jpg"]
    assert by_name["notes.jpg"]["error"]["code"] and by_name["coffee.jpg"]["verdict"] != "VERDICT_UNSPECIFIED"
    assert answer["counts"]["total"] == 3 and answer["counts"]["failed"] == 1
