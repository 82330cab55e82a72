"""The darktable plugin, in the real host.

* busted specs for the pure Lua parts (plugins/darktable/spec);
* the shared modules are byte-identical copies of plugins/common;
* headless: `darktable-cli --core --luacmd` with a fresh configdir and library imports
  real photos, runs the functions the module's buttons call against the real daemon,
  and we read back what darktable stored (library.db, data.db, XMP sidecars through
  exiftool) and compare it with the daemon's decisions, fetched independently (Decide);
* GUI smoke under Xvfb: the module registers, the button's function runs on a
  selection, a background job shows.

Every darktable run is bounded: we wait for a file the Lua script writes, then end
darktable by its pid (its own quit does not end the process).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from daemon import Daemon

pytestmark = [pytest.mark.darktable, pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIR = ROOT / "plugins" / "darktable"
PLUGIN = PLUGIN_DIR / "autocull.lua"
LUA_TESTS = Path(__file__).resolve().parent / "darktable"
# The helpers live where lua-scripts keeps shared code (lua/lib/), so script_manager does not list them.
PLUGIN_LIB = PLUGIN_DIR / "lib" / "autocull"

DT_REJECTED = 0x8  # images.flags: reject flag (darktable 4.x)
DT_RATING_MASK = 0x7  # images.flags: stars; 6 = DT_VIEW_REJECT once rejected
LABELS = ["red", "yellow", "green", "blue", "purple"]  # color_labels.color 0..4
LABEL_ENUM = {f"COLOR_LABEL_{n.upper()}": n for n in LABELS}


def _need(*programs: str) -> None:
    missing = [p for p in programs if shutil.which(p) is None]
    if missing:
        pytest.fail(
            f"missing programs {missing}: run scripts/install-system-deps.sh (Debian packages "
            "darktable xvfb curl lua5.1 lua-busted libimage-exiftool-perl sqlite3)"
        )


# ------------------------------------------------------------------ photos
PRERATED = "chelsea rated.jpg"
UNICODE = "café “quoted” it's Ünïcode.jpg"


def _photos(folder: Path) -> list[Path]:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    astro = Image.fromarray(data.astronaut())
    coffee = Image.fromarray(data.coffee())
    files = {
        "astronaut.jpg": astro,
        "coffee.jpg": coffee,
        "astronaut blurred.jpg": astro.filter(ImageFilter.GaussianBlur(8)),
        "coffee very dark.jpg": Image.fromarray((np.asarray(data.coffee()) * 0.04).astype(np.uint8)),
        UNICODE: Image.fromarray(data.rocket()),
        PRERATED: Image.fromarray(data.chelsea()),
    }
    out = []
    for name, img in files.items():
        img.save(folder / name, quality=92)
        out.append(folder / name)
    return out


# --------------------------------------------------------------- darktable
def install_plugin(configdir: Path) -> Path:
    """Install the plugin into a darktable config dir the way the README says; returns the installed script.

    <configdir>/lua/contrib/autocull.lua (what script_manager lists and `require "contrib/autocull"` loads)
    and <configdir>/lua/lib/autocull/*.lua (required as "lib/autocull/<name>" through the <configdir>/lua/?.lua
    entry darktable itself puts on package.path)."""
    lua = configdir / "lua"
    (lua / "contrib").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PLUGIN, lua / "contrib" / "autocull.lua")
    shutil.copytree(PLUGIN_LIB, lua / "lib" / "autocull", dirs_exist_ok=True)
    return lua / "contrib" / "autocull.lua"


def _end(proc: subprocess.Popen) -> None:
    """End a process we started (and its own children), by pid."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _run_until_done(cmd: list[str], env: dict, done: Path, log: Path, timeout: float) -> float:
    """Start darktable, wait for the script's done-file (or the timeout), end it by pid.

    How the run ended is appended to ``log``, so a missing report says whether darktable exited on its
    own (and with which code) or was still running at the timeout, and after how long.
    """
    start = time.time()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while time.time() - start < timeout and not done.exists():
                if proc.poll() is not None and not done.exists():
                    break
                time.sleep(0.2)
        finally:
            time.sleep(0.3)  # let darktable flush the last sidecar
            exited = proc.poll()
            _end(proc)
    took = time.time() - start
    ending = (
        "finished"
        if done.exists()
        else f"exited with code {exited} before finishing"
        if exited is not None
        else f"still running at the {timeout:.0f} s timeout; ended by the test"
    )
    with open(log, "a") as out:
        out.write(f"\n[test] darktable {ending} after {took:.1f} s\n")
    return took


def _fresh_session_env(tmp: Path) -> dict[str, str]:
    """Per-run HOME-side dirs, so every run is darktable's first start, as on a fresh machine.

    darktable keeps state outside --configdir (its cache, kernels, mipmaps under XDG_CACHE_HOME); a
    machine's leftovers from an earlier run (or their absence on a fresh one) must not decide the result.
    No accessibility bridge: without a session bus GTK would look for the a11y bus at start.
    """
    dirs = {
        "XDG_CACHE_HOME": tmp / "xdg-cache",
        "XDG_CONFIG_HOME": tmp / "xdg-config",
        "XDG_DATA_HOME": tmp / "xdg-data",
    }
    for d in dirs.values():
        d.mkdir(parents=True, exist_ok=True)
    return {**{k: str(v) for k, v in dirs.items()}, "NO_AT_BRIDGE": "1"}


def headless_command(run: Path, script: Path) -> list[str]:
    """darktable-cli running ``script`` headless (Lua API, --core) on a fresh config and library in ``run``.

    darktable-cli needs an image to export: a grey square that is not one of the photos."""
    configdir = run / "config"
    configdir.mkdir(parents=True, exist_ok=True)
    cli_input = run / "cli-input.jpg"
    Image.new("RGB", (32, 32), (128, 128, 128)).save(cli_input)
    return [
        "darktable-cli",
        str(cli_input),
        str(run / "cli-output.jpg"),
        "--width",
        "16",
        "--height",
        "16",
        "--core",
        "--configdir",
        str(configdir),
        "--library",
        str(configdir / "library.db"),
        "--conf",
        "write_sidecar_files=on import",
        "--luacmd",
        f"dofile({json.dumps(str(script))})",
    ]


def run_lua(run: Path, lua: str, env: dict[str, str], *, timeout: float = 180) -> dict:
    """Run ``lua`` in headless darktable; it writes {"ok": ...} to AUTOCULL_DT_OUT and touches AUTOCULL_DT_DONE.

    Returns that report, which must say ok (else the assertion quotes darktable's own output)."""
    script = run / "script.lua"
    run.mkdir(parents=True, exist_ok=True)
    script.write_text(lua, encoding="utf-8")
    full = dict(
        os.environ,
        AUTOCULL_DT_OUT=str(run / "report.json"),
        AUTOCULL_DT_DONE=str(run / "done"),
        **_fresh_session_env(run),
        **env,
    )
    log = run / "darktable.log"
    _run_until_done(headless_command(run, script), full, run / "done", log, timeout=timeout)
    said = "darktable said:\n" + log.read_text(errors="replace")[-3000:]
    assert (run / "report.json").exists(), "the darktable script wrote no report; " + said
    report = json.loads((run / "report.json").read_text())
    assert report["ok"] is True, (report, said)
    return report


def _read_report(path: Path, log: Path) -> dict:
    said = "darktable said:\n" + log.read_text(errors="replace")[-3000:]
    assert path.exists(), "the darktable script wrote no report; " + said
    report = json.loads(path.read_text())
    assert not report.get("errors"), (report["errors"], said)
    return report


def _library(configdir: Path) -> dict[str, dict]:
    """What darktable stored, straight from its databases: path -> {flags, labels, tags}."""
    lib = sqlite3.connect(f"file:{configdir / 'library.db'}?mode=ro", uri=True)
    data = sqlite3.connect(f"file:{configdir / 'data.db'}?mode=ro", uri=True)
    tag_names = dict(data.execute("SELECT id, name FROM tags"))
    out = {}
    rows = lib.execute(
        "SELECT i.id, f.folder, i.filename, i.flags, i.version FROM images i JOIN film_rolls f ON f.id = i.film_id"
    )
    for image_id, folder, filename, flags, version in rows:
        labels = {LABELS[c] for (c,) in lib.execute("SELECT color FROM color_labels WHERE imgid = ?", (image_id,))}
        tags = {
            tag_names[t]
            for (t,) in lib.execute("SELECT tagid FROM tagged_images WHERE imgid = ?", (image_id,))
            if not tag_names.get(t, "darktable|").startswith("darktable|")
        }
        key = f"{folder}/{filename}" + (f"#v{version}" if version else "")  # darktable duplicates
        out[key] = {"flags": flags, "labels": labels, "tags": tags}
    lib.close()
    data.close()
    return out


def _xmp(paths: list[Path]) -> dict[str, dict]:
    args = [
        "exiftool",
        "-j",
        "-charset",
        "filename=utf8",
        "-XMP-xmp:Rating",
        "-XMP-darktable:ColorLabels",
        "-XMP-lr:HierarchicalSubject",
    ] + [f"{p}.xmp" for p in paths]
    res = subprocess.run(args, capture_output=True, timeout=60)
    found = json.loads(res.stdout or b"[]")
    # exiftool spells tag names its own way (Colorlabels): look them up case-insensitively
    return {r["SourceFile"][:-4]: {k.lower(): v for k, v in r.items()} for r in found}


def _as_list(v) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


# -------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def world(tmp_path_factory):
    _need("darktable-cli", "curl", "exiftool")
    base = tmp_path_factory.mktemp("dt")
    photos = _photos(base / "shoot")
    # Faces are the daemon's business and tested there; the plugin test stays quick.
    daemon = Daemon(base / "autocull-home", config="faces = false\n")
    yield base, photos, daemon
    daemon.stop()


@pytest.fixture(scope="module")
def headless(world):
    base, photos, daemon = world
    run = base / "headless"
    (run / "nodaemon").mkdir(parents=True)
    files = run / "files.txt"
    files.write_text("".join(f"{p}\n" for p in photos), encoding="utf-8")
    installed = install_plugin(run / "config")
    late = base / "later" / "late import.jpg"
    late.parent.mkdir()
    shutil.copy(photos[1], late)
    env = dict(
        os.environ,
        AUTOCULL_HOME=str(daemon.home),
        AUTOCULL_DT_PLUGIN=str(installed),
        AUTOCULL_DT_FILES=str(files),
        AUTOCULL_DT_PRERATED=str(base / "shoot" / PRERATED),
        AUTOCULL_DT_LATE=str(late),
        AUTOCULL_DT_NODAEMON=str(run / "nodaemon"),
        AUTOCULL_DT_OUT=str(run / "report.json"),
        AUTOCULL_DT_DONE=str(run / "done"),
    )
    cmd = headless_command(run, LUA_TESTS / "headless_cull.lua")
    took = _run_until_done(cmd, env, run / "done", run / "darktable.log", timeout=180)
    report = _read_report(run / "report.json", run / "darktable.log")
    report["_took"] = took
    return report, run / "config", photos, daemon, late


# ------------------------------------------------------------------ tests
def test_busted_specs_pass():
    _need("busted")
    res = subprocess.run(
        ["busted", "--output=utfTerminal", "spec"], cwd=PLUGIN_DIR, capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_headless_run_loads_the_script_without_a_gui(headless):
    report = headless[0]
    assert report["gui"] is False
    assert report["api_version"].startswith("9.")
    assert report["has_destroy"] is True
    assert report["steps"]["destroy"]["ok"] is True


def test_daemon_down_gives_a_clear_message_and_changes_nothing(headless):
    report = headless[0]
    down = report["steps"]["daemon_down"]
    assert down["ok"] is False
    assert "not running" in down["message"] and "nothing was changed" in down["message"]
    before = {i["path"]: i for i in report["imported"]}
    for after in down["after"]:
        if after["path"].endswith(PRERATED):
            assert after["rating"] == 3 and after["blue"] is True
        else:
            assert after["rating"] == before[after["path"]]["rating"]
            assert not any(after[c] for c in LABELS)
            assert not any(t.startswith("AutoCull") for t in after["tags"])


def test_darktable_stores_exactly_the_daemons_decisions(headless):
    report, configdir, photos, daemon, _ = headless
    cull = report["steps"]["cull"]
    assert cull["ok"] is True, cull
    targets = [p for p in photos if p.name != PRERATED]
    decided = {d["path"]: d for d in daemon.post("Decide", {"paths": [str(p) for p in targets]})["decisions"]}
    assert set(decided) == {str(p) for p in targets}
    verdicts = {d["verdict"] for d in decided.values()}
    assert "VERDICT_REJECT" in verdicts and ("VERDICT_KEEP" in verdicts or "VERDICT_REVIEW" in verdicts), verdicts

    stored = _library(configdir)
    sidecars = _xmp(targets)
    for path, d in decided.items():
        assert not d.get("error"), d
        row = stored[path]
        xmp = sidecars[path]
        want_labels = (
            set()
            if d["colorLabel"] in ("COLOR_LABEL_NONE", "COLOR_LABEL_UNSPECIFIED")
            else {LABEL_ENUM[d["colorLabel"]]}
        )
        if d["pick"] == "PICK_REJECTED":
            assert row["flags"] & DT_REJECTED, (path, row)
            assert xmp.get("rating") == -1, (path, xmp)
        else:
            assert not row["flags"] & DT_REJECTED, (path, row)
            assert row["flags"] & DT_RATING_MASK == d["stars"], (path, row, d["stars"])
            assert xmp.get("rating") == d["stars"], (path, xmp)
        if d["colorLabel"] != "COLOR_LABEL_UNSPECIFIED":
            assert row["labels"] == want_labels, (path, row, d["colorLabel"])
            xmp_labels = {LABELS[int(c)] for c in _as_list(xmp.get("colorlabels"))}
            assert xmp_labels == want_labels, (path, xmp)
        assert {t for t in row["tags"] if t.startswith("AutoCull")} == set(d["keywords"]), (path, row)
        assert set(_as_list(xmp.get("hierarchicalsubject"))) == set(d["keywords"]), (path, xmp)


def test_an_image_rated_beforehand_is_untouched(headless):
    report, configdir, photos, daemon, _ = headless
    before = report["prerated_before"]
    after = next(i for i in report["final"] if i["path"] == before["path"])
    assert after == before
    row = _library(configdir)[before["path"]]
    assert row["flags"] & DT_RATING_MASK == 3 and not row["flags"] & DT_REJECTED
    assert row["labels"] == {"blue"}
    assert row["tags"] == {"client|Smith wedding"}
    xmp = _xmp([Path(before["path"])])[before["path"]]
    assert xmp.get("rating") == 3 and _as_list(xmp.get("colorlabels")) == [3], xmp
    assert _as_list(xmp.get("hierarchicalsubject")) == ["client|Smith wedding"], xmp
    assert report["steps"]["cull"]["counts"]["skipped"] == 1


def test_a_darktable_duplicate_is_left_alone_and_the_original_gets_the_decision(headless):
    report, configdir, photos, daemon, _ = headless
    dup = report["duplicate"]
    assert dup["duplicate_index"] == 1
    assert dup["rating"] == 1 and not any(t.startswith("AutoCull") for t in dup["tags"])
    row = _library(configdir)[dup["path"] + "#v1"]
    assert row["flags"] & DT_RATING_MASK == 1 and not row["flags"] & DT_REJECTED
    assert not any(t.startswith("AutoCull") for t in row["tags"])
    assert any(t.startswith("AutoCull") for t in _library(configdir)[dup["path"]]["tags"])


def test_a_second_cull_recognises_autoculls_own_marks_and_changes_nothing(headless):
    report = headless[0]
    again = report["steps"]["cull_again"]
    assert again["ok"] is True, again
    assert again["counts"]["applied"] == 0
    assert again["counts"]["skipped"] == 1  # only the photographer's own photo
    assert again["counts"]["unchanged"] == report["steps"]["cull"]["counts"]["applied"]


def test_teach_sends_only_the_photographers_own_ratings(headless):
    teach = headless[0]["steps"]["teach"]
    assert teach["ok"] is True, teach
    assert teach["sent"] == 1


def test_status_and_background_results_run(headless):
    steps = headless[0]["steps"]
    assert steps["status"]["ok"] is True and "daemon" in steps["status"]["message"]
    assert steps["apply_background"]["ok"] is True, steps["apply_background"]


def test_new_imports_are_queued_then_culled_as_one_job(headless):
    report, configdir, photos, daemon, late = headless
    imp = report["steps"]["import_auto_cull"]
    assert imp["queued_seen"] == 1 and imp["queue_left"] == 0, imp
    d = daemon.post("Decide", {"paths": [str(late)]})["decisions"][0]
    row = _library(configdir)[str(late)]
    if d["pick"] == "PICK_REJECTED":
        assert row["flags"] & DT_REJECTED
    else:
        assert row["flags"] & DT_RATING_MASK == d["stars"]
    assert {t for t in row["tags"] if t.startswith("AutoCull")} == set(d["keywords"])


def test_no_token_left_in_temporary_files(headless):
    report, configdir, photos, daemon, _ = headless
    token = daemon.state["token"]
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    leftovers = [p for p in tmp.glob("autocull.*") if p.is_dir()]
    for d in leftovers:
        for f in d.iterdir():
            assert token not in f.read_text(errors="ignore"), f


# How the test scripts below end: the report (ok, or the error) written where run_lua reads it, then done.
LUA_REPORT_TAIL = r"""report.ok = ok
report.error = not ok and tostring(err) or nil
local json = require "lib/autocull/dkjson"
local f = io.open(os.getenv("AUTOCULL_DT_OUT"), "w")
f:write(json.encode(report))
f:close()
io.open(os.getenv("AUTOCULL_DT_DONE"), "w"):close()
test_over = true
"""


# script_manager's scan (lua-scripts tools/script_manager.lua, scan_scripts), run inside darktable: every *.lua
# under <config>/lua (find -L ... | sort), minus paths matching "script_manager", "plugins", "lib" .. PS or
# "%.git"; each listed <folder>/<name> is started with require, as its activate() does. lua-scripts is not
# installed here, so its rule is reproduced, not imported.
SCRIPT_MANAGER_SCAN = (
    r"""
local dt = require "darktable"
local test_over = false
dt.register_event("autocull_layout_test", "intermediate-export-image", function()
  while not test_over do dt.control.sleep(100) end
end)
local PS = dt.configuration.running_os == "windows" and "\\" or "/"
local function scan(lua_dir)
  local listed = {}
  local p = io.popen("find -L '" .. lua_dir .. "' -name '*.lua' -print | sort")
  for line in p:lines() do
    local script_file = line:sub(#lua_dir + #PS + 1, -5)
    if not string.match(script_file, "script_manager") and not string.match(script_file, "plugins")
        and not string.match(script_file, "lib" .. PS) and not string.match(script_file, "%.git") then
      listed[#listed + 1] = script_file
    end
  end
  p:close()
  return listed
end
local report = { started = {} }
local ok, err = pcall(function()
  local lua_dir = dt.configuration.config_dir .. PS .. "lua"
  report.old_layout = scan(os.getenv("AUTOCULL_DT_OLD_LAYOUT"))
  report.listed = scan(lua_dir)
  report.path_before = package.path
  for _, name in ipairs(report.listed) do
    local started, data = pcall(require, name)
    report.started[name] = started and type(data) == "table" and data.metadata and data.metadata.name
      or ("failed: " .. tostring(data))
  end
  report.path_after = package.path
  report.loaded = {}
  for name in pairs(package.loaded) do
    if name:find("autocull", 1, true) then report.loaded[#report.loaded + 1] = name end
  end
  table.sort(report.loaded)
  report.dkjson_from = package.searchpath("lib/autocull/dkjson", package.path)
end)
"""
    + LUA_REPORT_TAIL
)


def test_script_manager_lists_exactly_one_script_and_it_starts(tmp_path):
    """Installed as the README says, script_manager offers one script (contrib/autocull), not its helpers;
    starting it loads every helper as lib/autocull/<name> through darktable's own package.path, unchanged."""
    _need("darktable-cli")
    run = tmp_path / "layout"
    installed = install_plugin(run / "config")
    lua = run / "config" / "lua"
    assert sorted(p.relative_to(lua).as_posix() for p in lua.rglob("*.lua")) == ["contrib/autocull.lua"] + sorted(
        f"lib/autocull/{p.name}" for p in PLUGIN_LIB.glob("*.lua")
    )
    # the layout before issue 15 (helpers in contrib/autocull/), scanned by the same rule: it must list them
    old = tmp_path / "old-layout" / "lua" / "contrib"
    old.mkdir(parents=True)
    shutil.copyfile(PLUGIN, old / "autocull.lua")
    shutil.copytree(PLUGIN_LIB, old / "autocull")
    report = run_lua(run, SCRIPT_MANAGER_SCAN, {"AUTOCULL_DT_OLD_LAYOUT": str(old.parent)})
    assert len(report["old_layout"]) == 1 + len(list(PLUGIN_LIB.glob("*.lua"))), report["old_layout"]
    assert report["listed"] == ["contrib/autocull"], report
    assert report["started"] == {"contrib/autocull": "AutoCull"}, report
    assert report["path_after"] == report["path_before"]
    assert report["dkjson_from"] == str(lua / "lib" / "autocull" / "dkjson.lua")
    helpers = {f"lib/autocull/{p.stem}" for p in PLUGIN_LIB.glob("*.lua")}
    assert set(report["loaded"]) - {"contrib/autocull"} <= helpers, report["loaded"]  # no bare "dkjson"
    assert {"lib/autocull/dkjson", "lib/autocull/decision_map", "lib/autocull/controller"} <= set(report["loaded"])
    assert installed.exists()


LOOKUP = (
    r"""
local dt = require "darktable"
local test_over = false
dt.register_event("autocull_lookup_test", "intermediate-export-image", function()
  while not test_over do dt.control.sleep(100) end
end)
local report = {}
local ok, err = pcall(function()
  local dt_image = require "lib/autocull/dt_image"
  local wanted = {}
  for line in io.lines(os.getenv("AUTOCULL_DT_FILES")) do
    dt.database.import(line)
    wanted[#wanted + 1] = line
  end
  wanted[#wanted + 1] = os.getenv("AUTOCULL_DT_MISSING")
  local before = #dt.database
  local index = dt_image.lookup(dt, "/", function(have, image) return have or image end).index_for(wanted)
  report.found = {}
  for path, image in pairs(index) do report.found[path] = image.filename end
  report.imported_by_lookup = #dt.database - before
end)
"""
    + LUA_REPORT_TAIL
)


def test_lookup_by_film_roll_finds_the_photos_in_real_darktable(tmp_path):
    """The folder lookup reads dt.films / film.path / film[i] as darktable 4.2 has them: every imported photo of
    the wanted folders is found by its full path, and a photo darktable does not have is not imported."""
    _need("darktable-cli")
    photos = _photos(tmp_path / "shoot two")[:3] + _photos(tmp_path / "other shoot")[:2]
    run = tmp_path / "lookup"
    install_plugin(run / "config")
    files = tmp_path / "files.txt"
    files.write_text("".join(f"{p}\n" for p in photos), encoding="utf-8")
    missing = tmp_path / "shoot two" / "not imported.jpg"
    shutil.copy(photos[0], missing)
    report = run_lua(run, LOOKUP, {"AUTOCULL_DT_FILES": str(files), "AUTOCULL_DT_MISSING": str(missing)})
    assert report["imported_by_lookup"] == 0
    assert report["found"] == {str(p): p.name for p in photos}, report


def test_gui_smoke_under_xvfb(world, tmp_path):
    _need("darktable", "Xvfb")
    base, photos, daemon = world
    configdir = tmp_path / "config"
    configdir.mkdir()
    installed = install_plugin(configdir)
    photo = tmp_path / "gui shot.jpg"  # fresh copies: the headless run left sidecars beside the shoot
    shutil.copy(photos[1], photo)
    folder = tmp_path / "new card"
    folder.mkdir()
    shutil.copy(photos[0], folder / "one.jpg")
    shutil.copy(photos[2], folder / "two blurred.jpg")
    display, xvfb = _start_xvfb(tmp_path)
    try:
        timeout = 120.0
        env = dict(
            os.environ,
            DISPLAY=display,
            AUTOCULL_HOME=str(daemon.home),
            AUTOCULL_DT_PLUGIN=str(installed),
            AUTOCULL_DT_PHOTO=str(photo),
            AUTOCULL_DT_FOLDER=str(folder),
            AUTOCULL_DT_OUT=str(tmp_path / "report.json"),
            AUTOCULL_DT_DONE=str(tmp_path / "done"),
            AUTOCULL_DT_DEADLINE=str(int(time.time() + timeout - 15)),  # report before we end darktable
            **_fresh_session_env(tmp_path),
        )
        cmd = [
            "darktable",
            "--library",
            ":memory:",
            "--configdir",
            str(configdir),
            "--luacmd",
            f"dofile({json.dumps(str(LUA_TESTS / 'gui_smoke.lua'))})",
        ]
        _run_until_done(cmd, env, tmp_path / "done", tmp_path / "darktable.log", timeout=timeout)
    finally:
        _end(xvfb)
    report = _read_report(tmp_path / "report.json", tmp_path / "darktable.log")
    assert not report.get("timed_out") and report["steps"][-1]["step"] == "done", report
    assert report["gui"] is True
    assert report["lib_registered"] is True
    assert report["selected"] == 1
    assert report["job_seen"] is True
    assert report["cull"]["ok"] is True, report["cull"]
    assert report["cull"]["counts"]["applied"] + report["cull"]["counts"]["unchanged"] == 1
    # the folder import became one job for both photos, and their decisions were applied
    imp = report["folder"]
    assert imp["jobs"] == 1 and imp["job_size"] == 2, imp
    paths = [str(folder / "one.jpg"), str(folder / "two blurred.jpg")]
    decided = {Path(d["path"]).name: d for d in daemon.post("Decide", {"paths": paths})["decisions"]}
    for name, rating in imp["ratings"].items():
        d = decided[name]
        assert rating == (-1 if d["pick"] == "PICK_REJECTED" else d["stars"]), (name, rating, d)


def _start_xvfb(tmp_path: Path) -> tuple[str, subprocess.Popen]:
    r, w = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(w), "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
        pass_fds=(w,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(w)
    deadline = time.time() + 20
    buf = b""
    while time.time() < deadline and not buf.endswith(b"\n"):
        chunk = os.read(r, 16)
        if not chunk:
            break
        buf += chunk
    os.close(r)
    if not buf.strip():
        _end(proc)
        pytest.fail("Xvfb did not start")
    return ":" + buf.decode().strip(), proc
