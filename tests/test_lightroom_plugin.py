"""Lightroom Classic plug-in: syntax gate, busted specs, and end to end against the real daemon.

Lightroom cannot run here. The plug-in's own Lua files run under Lua 5.1 (Debian lua5.1)
with a stand-in of the SDK (plugins/lightroom/spec/support/lrsdk.lua) whose LrHttp makes
real HTTP requests (curl) to the real daemon on a free loopback port. The catalog the
plug-in leaves is compared with the daemon's own answer, fetched here independently
(Decide over HTTP).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from daemon import Daemon

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "lightroom" / "autocull.lrplugin"
COMMON = ROOT / "plugins" / "common"
SPEC = ROOT / "plugins" / "lightroom" / "spec"
DRIVER = SPEC / "support" / "e2e_driver.lua"

LUA = shutil.which("lua5.1")
LUAC = shutil.which("luac5.1")
BUSTED = shutil.which("busted")
needs_lua = pytest.mark.skipif(not (LUA and LUAC), reason="Debian lua5.1 is not installed (make system-deps)")

PICK_STATUS = {"PICK_PICKED": 1, "PICK_NONE": 0, "PICK_REJECTED": -1}
LABEL = {
    "COLOR_LABEL_NONE": "none",
    "COLOR_LABEL_RED": "red",
    "COLOR_LABEL_YELLOW": "yellow",
    "COLOR_LABEL_GREEN": "green",
    "COLOR_LABEL_BLUE": "blue",
    "COLOR_LABEL_PURPLE": "purple",
}


def lua_files() -> list[Path]:
    return (
        sorted(PLUGIN.glob("*.lua"))
        + sorted(COMMON.glob("*.lua"))
        + sorted(SPEC.rglob("*.lua"))
        + sorted((COMMON / "spec").glob("*.lua"))
    )


# ------------------------------------------------------------------------------ static checks


@needs_lua
@pytest.mark.parametrize("path", lua_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_lua_file_parses_as_lua51(path: Path) -> None:
    """luac5.1 -p rejects Lua 5.2+ syntax: //, goto and labels, bit operators."""
    r = subprocess.run([LUAC, "-p", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_bundled_dkjson_keeps_its_licence() -> None:
    text = (PLUGIN / "dkjson.lua").read_text()
    assert "Copyright (C) 2010-2021 David Heiko Kolf" in text
    assert "Permission is hereby granted, free of charge" in text


def test_every_ui_string_is_localizable() -> None:
    """Dialog texts go through LOC "$$$/AutoCull/...=English"."""
    import re

    for path in PLUGIN.glob("*.lua"):
        if path.name in ("dkjson.lua", "decision_map.lua"):
            continue
        text = path.read_text()
        for m in re.finditer(r"LOC\s*\(?\s*\"([^\"]*)\"", text):
            assert m.group(1).startswith("$$$/AutoCull/") and "=" in m.group(1), (path.name, m.group(1))
        for call in ("LrDialogs.message(", "LrDialogs.confirm("):
            if re.search(re.escape(call) + r"\s*\"", text):
                raise AssertionError(f"{path.name}: literal string in {call}")


@pytest.mark.skipif(shutil.which("luacheck") is None, reason="luacheck not installed (Debian lua-check)")
def test_luacheck_lua51_clean() -> None:
    # the config's file patterns are relative to plugins/lightroom
    r = subprocess.run(
        [
            "luacheck",
            "--config",
            ".luacheckrc",
            "--no-color",
            "autocull.lrplugin",
            "spec",
            "../common/decision_map.lua",
        ],
        cwd=ROOT / "plugins" / "lightroom",
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(
        ["luacheck", "--std", "lua51+busted", "--no-color", "--max-line-length", "160", "plugins/common/spec"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(not (LUA and BUSTED), reason="lua5.1 / busted not installed (make system-deps)")
@pytest.mark.parametrize("spec", ["plugins/common/spec", "plugins/lightroom/spec"])
def test_busted_specs_pass_under_lua51(spec: str) -> None:
    r = subprocess.run(
        [BUSTED, "--lua=lua5.1", "-o", "utfTerminal", spec], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
    assert " 0 failures / 0 errors" in r.stdout, r.stdout[-3000:]


# ------------------------------------------------------------------------------ end to end


def _photos(folder: Path) -> dict[str, Path]:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    astro = Image.fromarray(data.astronaut())
    coffee = Image.fromarray(data.coffee())
    files = {
        "sharp": (astro, "astronaut.jpg"),
        "coffee": (coffee, "coffee.jpg"),
        "blurred": (astro.filter(ImageFilter.GaussianBlur(8)), "astronaut blurred é.jpg"),
        "dark": (Image.fromarray((np.asarray(coffee) * 0.04).astype(np.uint8)), "coffee-dark.jpg"),
        "rated": (coffee.transpose(Image.FLIP_LEFT_RIGHT), "coffee rated.jpg"),
    }
    out = {}
    for key, (img, name) in files.items():
        img.save(folder / name, quality=92)
        out[key] = folder / name
    return out


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    if not (LUA and shutil.which("curl")):
        pytest.skip("lua5.1 and curl are needed for the end-to-end run")
    home = tmp_path_factory.mktemp("autocull-home")
    d = Daemon(home)
    yield d
    d.stop()


def run_driver(tmp: Path, scenario: dict) -> dict:
    scenario = dict(plugin_dir=str(PLUGIN), **scenario)
    sp, rp = tmp / "scenario.json", tmp / "result.json"
    sp.write_text(json.dumps(scenario))
    r = subprocess.run([LUA, str(DRIVER), str(sp), str(rp)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(rp.read_text())
    assert result["task_errors"] == [], result["task_errors"]
    return result


def messages(result: dict) -> list[dict]:
    return [d for d in result["dialogs"] if d["kind"] == "message"]


def own_keywords(kws: list[str]) -> list[str]:
    return sorted(k for k in kws if k == "AutoCull" or k.startswith("AutoCull|"))


def test_auto_cull_writes_exactly_what_the_daemon_decided(daemon, tmp_path) -> None:
    files = _photos(tmp_path / "shoot")
    missing = tmp_path / "shoot" / "gone.jpg"
    photos = [
        {"path": str(files["sharp"]), "selected": True},
        {"path": str(files["coffee"]), "selected": True, "keywords": ["Travel|Rome"]},
        {"path": str(files["blurred"]), "selected": True},
        {"path": str(files["dark"]), "selected": True},
        {"path": str(files["rated"]), "selected": True, "rating": 2, "pickStatus": 1, "label": "blue"},
        {"path": str(files["sharp"]), "selected": True, "virtual": True},
        {"path": str(missing), "selected": True, "missing": True},
    ]
    result = run_driver(tmp_path, {"state_file": str(daemon.home / "state.json"), "photos": photos})

    # The daemon's answer, fetched independently with the same (active) policy.
    culled = [str(files[k]) for k in ("sharp", "coffee", "blurred", "dark", "rated")]
    decided = {d["path"]: d for d in daemon.post("Decide", {"paths": culled})["decisions"]}
    assert set(decided) == set(culled)
    # the shoot gives a spread of verdicts, so the comparison means something
    verdicts = {decided[p]["verdict"] for p in culled}
    assert "VERDICT_REJECT" in verdicts and len(verdicts) >= 2, verdicts

    start = [h for h in result["http"] if h["method"] == "StartJob"]
    assert len(start) == 1 and sorted(json.loads(start[0]["request"])["paths"]) == sorted(culled)

    out = result["photos"]
    for i, key in enumerate(("sharp", "coffee", "blurred", "dark")):
        d, p = decided[str(files[key])], out[i]
        assert p["pickStatus"] == PICK_STATUS[d["pick"]], (key, d)
        assert p["rating"] == d["stars"], (key, d)
        assert p["label"] == LABEL[d["colorLabel"]], (key, d)
        # bursts are plug-in fields in Lightroom, not keywords
        wanted = sorted({k for k in d["keywords"] if not k.startswith("AutoCull|Burst|")})
        assert own_keywords(p["keywords"]) == wanted, (key, d)
        assert p["props"]["burstId"] == d.get("burstId", ""), (key, d)
        assert p["props"]["verdict"] == d["verdict"].removeprefix("VERDICT_").lower()
        assert p["props"]["reasons"] == "; ".join(d["reasons"])
    assert "Travel|Rome" in out[1]["keywords"]  # the user's own keyword stays
    # AutoCull's keywords never go out with an export; the photographer's own still do
    own = {k: v for k, v in result["include_on_export"].items() if k.split("|")[0] == "AutoCull"}
    assert own and not any(own.values()), own
    assert result["include_on_export"]["Travel|Rome"] is True

    # rated beforehand: untouched
    assert (out[4]["rating"], out[4]["pickStatus"], out[4]["label"], out[4]["keywords"]) == (2, 1, "blue", [])
    # virtual copy and missing file: untouched, skipped and counted
    assert (out[5]["rating"], out[5]["pickStatus"], out[5]["label"], out[5]["keywords"]) == (0, 0, "none", [])
    assert (out[6]["rating"], out[6]["pickStatus"], out[6]["keywords"]) == (0, 0, [])

    summary = messages(result)[-1]
    picked = sum(1 for k in ("sharp", "coffee", "blurred", "dark") if decided[str(files[k])]["pick"] == "PICK_PICKED")
    rejected = sum(
        1 for k in ("sharp", "coffee", "blurred", "dark") if decided[str(files[k])]["verdict"] == "VERDICT_REJECT"
    )
    assert "5 photos culled" in summary["message"]
    assert f"{picked} picked, {rejected} rejected" in summary["info"]
    assert "3 skipped: 1 file missing, 1 already rated, flagged or labelled by you, 1 virtual copy" in summary["info"]
    # a first cull in this catalog makes the AutoCull collection set first, then writes in one undo step,
    # so Edit > Undo right after the cull takes back the cull
    assert [step["name"] for step in result["undo_steps"]] == ["Create AutoCull collections", "AutoCull cull"]


def test_cancel_stops_the_job_on_the_daemon_and_writes_nothing(daemon, tmp_path) -> None:
    from skimage import data

    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(0)
    base = np.asarray(data.astronaut()).astype(np.int16)
    photos = []
    for i in range(40):
        noisy = np.clip(base + rng.integers(-12, 12, base.shape), 0, 255).astype(np.uint8)
        path = folder / f"frame-{i:03d}.jpg"
        Image.fromarray(noisy).save(path, quality=90)
        photos.append({"path": str(path), "selected": True})
    result = run_driver(
        tmp_path, {"state_file": str(daemon.home / "state.json"), "photos": photos, "cancel_after_updates": 1}
    )
    methods = [h["method"] for h in result["http"]]
    assert methods[-1] == "CancelJob", methods
    job_id = json.loads(result["http"][methods.index("StartJob")]["response"])["id"]
    deadline = time.time() + 30
    while True:
        job = daemon.post("GetJob", {"jobId": job_id})
        if job["state"] != "JOB_STATE_RUNNING" or time.time() > deadline:
            break
        time.sleep(0.2)
    assert job["state"] == "JOB_STATE_CANCELLED", job["state"]
    assert all(p["rating"] == 0 and p["pickStatus"] == 0 and p["keywords"] == [] for p in result["photos"])
    assert result["undo_steps"] == []
    assert "cancelled" in messages(result)[-1]["message"]


def test_daemon_down_says_how_to_start_it(tmp_path) -> None:
    if not (LUA and shutil.which("curl")):
        pytest.skip("lua5.1 and curl are needed")
    import socket

    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"token": "t", "http_port": port, "grpc_port": port, "host": "127.0.0.1", "pid": 1}))
    img = tmp_path / "a.jpg"
    Image.new("RGB", (64, 64), "gray").save(img)
    result = run_driver(
        tmp_path,
        {"state_file": str(state), "photos": [{"path": str(img), "selected": True}], "confirm": ["cancel"]},
    )
    m = [d for d in result["dialogs"] if d["kind"] == "confirm"][-1]
    assert "Cannot reach the AutoCull daemon" in m["message"]
    assert "autocull serve" in m["info"] and f"127.0.0.1:{port}" in m["info"]
    assert "autocull service install" in m["info"]
    assert result["photos"][0]["rating"] == 0 and result["undo_steps"] == [] and result["executed"] == []

    # "Start AutoCull" runs '<AutoCull command> service start' through the shell: here the command is a
    # script in a folder with a space and a quote in its name, which records the arguments it got
    folder = tmp_path / "Auto Cull's bin"
    folder.mkdir()
    marker = tmp_path / "started.txt"
    script = folder / "autocull"
    script.write_text(f'#!/bin/sh\nprintf "%s|" "$@" > "{marker}"\n')
    script.chmod(0o755)
    result = run_driver(
        tmp_path,
        {
            "state_file": str(tmp_path / "nowhere" / "state.json"),
            "photos": [{"path": str(img), "selected": True}],
            "confirm": ["ok"],
            "allow_execute": True,
            "prefs": {"autocullCommand": f"  {script}  "},
        },
    )
    m = [d for d in result["dialogs"] if d["kind"] == "confirm"][-1]
    assert "not running" in m["message"] and "autocull serve" in m["info"]
    assert marker.read_text() == "service|start|"
    assert "starting" in messages(result)[-1]["message"]


def test_wrong_token_says_where_the_token_lives(daemon, tmp_path) -> None:
    state = dict(daemon.state, token="not-the-token")
    path = tmp_path / "stale-state.json"
    path.write_text(json.dumps(state))
    img = tmp_path / "a.jpg"
    Image.new("RGB", (64, 64), "gray").save(img)
    result = run_driver(tmp_path, {"state_file": str(path), "photos": [{"path": str(img), "selected": True}]})
    m = messages(result)[-1]
    assert "refused" in m["message"]
    assert str(path) in m["info"]
    statuses = [h["status"] for h in result["http"]]
    assert statuses == [401]


def test_status_and_teach_against_the_real_daemon(daemon, tmp_path) -> None:
    files = _photos(tmp_path / "teach")
    culled = daemon.post("Cull", {"paths": [str(files["sharp"]), str(files["coffee"])]})
    verdicts = {d["path"]: d["verdict"] for d in culled["decisions"]}
    result = run_driver(tmp_path, {"state_file": str(daemon.home / "state.json"), "menu": "MenuStatus.lua"})
    m = messages(result)[-1]
    assert "AutoCull status" in m["message"] and str(daemon.home / "state.json") in m["info"]

    photos = [
        {"path": str(files["sharp"]), "selected": True, "rating": 5, "pickStatus": 1},
        {"path": str(files["coffee"]), "selected": True, "rating": 1, "pickStatus": -1, "label": "red"},
        {"path": str(files["dark"]), "selected": True},
    ]
    result = run_driver(
        tmp_path, {"state_file": str(daemon.home / "state.json"), "menu": "MenuTeach.lua", "photos": photos}
    )
    sent = [h for h in result["http"] if h["method"] == "SendFeedback"]
    assert len(sent) == 1 and sent[0]["status"] == 200, result["http"]
    body = json.loads(sent[0]["request"])
    assert body["source"] == "lightroom"
    assert {i["path"]: (i["rating"], i["pick"], i["colorLabel"]) for i in body["items"]} == {
        str(files["sharp"]): (5, "PICK_PICKED", "COLOR_LABEL_NONE"),
        str(files["coffee"]): (1, "PICK_REJECTED", "COLOR_LABEL_RED"),
    }
    # the daemon's answer: both labels stored and compared with the verdicts of the cull above
    answer = json.loads(sent[0]["response"])
    user = {str(files["sharp"]): "VERDICT_KEEP", str(files["coffee"]): "VERDICT_REJECT"}
    agree = sum(verdicts[p] == v for p, v in user.items()) / len(user)
    assert answer["stored"] == 2 and answer["totalLabels"] == 2 and answer["compared"] == 2, answer
    assert answer["agreement"] == pytest.approx(agree), (answer, verdicts)
    # unknown = photos without a CLIP vector yet (made in the background); two labels are far below any model
    taste = answer["taste"]
    assert taste["profile"] == "default" and taste["labels"] == 2 and taste["ready"] is False, answer
    assert answer["unknown"] + taste["embedded"] == 2, answer
    info = messages(result)[-1]["info"]
    assert "2 of 2 ratings stored" in info and f"agrees with you on {round(agree * 100)}% of 2" in info, info
    # the dialog says what the daemon said, and how far to trust the model
    assert answer["modelState"] and f"Model: {answer['modelState']}" in info, (answer, info)
    if taste["needed"]:
        assert f"Model quality: no model yet - {taste['needed']} more ratings needed" in info, info
    else:
        assert "Model quality: no model yet, so your taste does not count in decisions." in info, info
    if answer["unknown"]:
        assert f"{answer['unknown']} of these photos have no CLIP vector yet" in info, info


def test_taste_profile_preference_reaches_the_daemon(daemon, tmp_path) -> None:
    """A profile set in the Plug-in Manager names the cull's and the feedback's profile: its own labels."""
    files = _photos(tmp_path / "profile")
    state = str(daemon.home / "state.json")
    prefs = {"profile": " landscape "}
    photos = [{"path": str(files["sharp"]), "selected": True, "rating": 5, "pickStatus": 1}]
    result = run_driver(tmp_path, {"state_file": state, "menu": "MenuTeach.lua", "photos": photos, "prefs": prefs})
    sent = [h for h in result["http"] if h["method"] == "SendFeedback"]
    assert len(sent) == 1 and sent[0]["status"] == 200, result["http"]
    assert json.loads(sent[0]["request"])["profile"] == "landscape"
    answer = json.loads(sent[0]["response"])
    assert answer["taste"]["profile"] == "landscape" and answer["totalLabels"] == 1, answer
    # the daemon keeps that label in that profile only (an empty feedback call only asks)
    assert daemon.post("SendFeedback", {"items": [], "profile": "landscape"})["totalLabels"] == 1
    assert daemon.post("SendFeedback", {"items": [], "profile": "portrait"})["totalLabels"] == 0

    result = run_driver(
        tmp_path,
        {
            "state_file": state,
            "menu": "MenuCull.lua",
            "prefs": prefs,
            "photos": [{"path": str(files["sharp"]), "selected": True}],
        },
    )
    start = [h for h in result["http"] if h["method"] == "StartJob"]
    assert len(start) == 1 and start[0]["status"] == 200, result["http"]
    assert json.loads(start[0]["request"])["profile"] == "landscape"

    result = run_driver(tmp_path, {"state_file": state, "menu": "MenuStatus.lua", "prefs": prefs})
    info = messages(result)[-1]["info"]
    status = daemon.post("GetStatus", {})
    assert status["clip"] and status["clip"] in info, info
    for p in status["profiles"]:
        assert f"Taste: {p['sentence']}" in info, (p, info)
    assert "landscape" in {p["profile"] for p in status["profiles"]}, status["profiles"]
    assert "taste profile 'landscape'" in info, info
