"""A NaN (or infinite) policy value is refused wherever it enters, and one already in a store is dropped.

Issue 12: a NaN stored by SetPolicy made GetPolicy and ListPresets answer 500 for good (also after a
restart) and crashed `autocull policy show`. Here: the real engine, the real daemon over JSON and
gRPC, the real CLI, and a store written with sqlite3 as an older version left it.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from google.protobuf import struct_pb2

from autocull.config import DB_FILE
from autocull.engine import Engine
from autocull.errors import InvalidArgument
from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autocull", *args],
        env=dict(os.environ, AUTOCULL_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _post(daemon: Daemon, method: str, raw_body: bytes) -> tuple[int, dict]:
    """A plain HTTP POST as a Lua plugin sends it; the body is sent as given (bare NaN is not JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", daemon.state["http_port"], timeout=60)
    try:
        conn.request(
            "POST",
            f"/autocull.v1.AutoCull/{method}",
            raw_body,
            {"Content-Type": "application/json", "x-autocull-token": daemon.token},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")
    finally:
        conn.close()


def _write_poisoned_store(home: Path) -> None:
    """What an older version left behind: NaN/Infinity and a bad keyword_root next to good values."""
    Engine.open(home).close()  # today's schema
    db = sqlite3.connect(home / DB_FILE)
    with db:
        db.execute(
            "INSERT OR REPLACE INTO settings(key, value) VALUES('active_policy', ?)",
            (
                '{"weight_exposure": NaN, "weight_noise": 0.2, "noise_review_sigma": Infinity, '
                '"keyword_root": "", "burst_others": "reject"}',
            ),
        )
        db.execute("INSERT OR REPLACE INTO settings(key, value) VALUES('active_preset', 'p1')")
        db.executemany(
            "INSERT OR REPLACE INTO policies(name, body, description, updated_at) VALUES(?,?,?,?)",
            [
                ("p1", '{"weight_exposure": NaN, "keep_quality": 0.55}', "saved by the user", time.time()),
                ("p2", '{"stars_thresholds": [0.1, NaN, 0.3, 0.4, 0.5], "weight_eyes": -Infinity}', "", time.time()),
                ("p3", "{not json", "", time.time()),
            ],
        )
    db.close()


# ------------------------------------------------------------------ engine --
def test_engine_refuses_nan_and_saves_nothing(tmp_path):
    engine = Engine.open(tmp_path / "home")
    try:
        for values in (
            {"weight_exposure": "nan"},
            {"weight_exposure": float("nan")},
            {"weight_noise": "-inf"},
            {"stars_thresholds": "0.3,0.5,NaN,0.8,0.9"},
            {"keyword_root": ""},
        ):
            with pytest.raises(InvalidArgument) as info:
                engine.set_policy(values, save_as="p1")
            assert next(iter(values)) in info.value.message
        assert engine.store.get_setting("active_policy") is None
        assert "p1" not in engine.presets()
    finally:
        engine.close()


def test_engine_loads_a_poisoned_store_keeping_every_valid_value(tmp_path, caplog):
    home = tmp_path / "home"
    _write_poisoned_store(home)
    caplog.set_level(logging.WARNING, logger="autocull.engine")
    engine = Engine.open(home)
    try:
        p = engine.policy
        assert p.weight_noise == 0.2 and p.burst_others == "reject"  # the valid values stay
        assert p.weight_exposure == 0.25 and p.noise_review_sigma == 14.0 and p.keyword_root == "AutoCull"
        assert engine.preset == "p1"
        for key in ("weight_exposure", "noise_review_sigma", "keyword_root"):
            assert key in caplog.text, caplog.text
        presets = engine.presets()
        assert presets["p1"][1] == {"keep_quality": 0.55}
        assert presets["p2"][1] == {} and presets["p3"][1] == {}
        assert "p3" in caplog.text and "not JSON" in caplog.text
        assert engine.resolve_policy(preset="p1").keep_quality == 0.55
        engine.presets()  # every ListPresets reads them again: the warning is not repeated
        assert caplog.text.count("the stored preset 'p1': dropped policy key weight_exposure") == 1
    finally:
        engine.close()


# ------------------------------------------------------------------ daemon --
@pytest.mark.e2e
def test_daemon_refuses_nan_over_json_and_grpc_and_keeps_answering(tmp_path):
    daemon = Daemon(tmp_path / "home")
    try:
        for body in (
            b'{"values": {"weight_exposure": "nan"}, "saveAs": "p1"}',
            b'{"values": {"weight_exposure": NaN}, "saveAs": "p1"}',  # bare NaN, as Python's json writes
            b'{"values": {"weight_exposure": "-Infinity"}}',
            b'{"values": {"weight_exposure": 1e999}}',
            b'{"values": {"stars_thresholds": [0.3, 0.5, "nan", 0.8, 0.9]}}',
            b'{"values": {"keyword_root": ""}}',
        ):
            status, answer = _post(daemon, "SetPolicy", body)
            assert status == 400 and answer["code"] == "invalid_argument", (body, status, answer)
            key = next(iter(json.loads(body.replace(b"NaN", b"0"))["values"]))
            assert key in answer["message"], answer

        for value in (float("nan"), float("inf"), -float("inf")):
            req = pb.SetPolicyRequest(save_as="p1")
            req.values.fields["weight_exposure"].number_value = value
            with pytest.raises(grpc.RpcError) as info:
                daemon.grpc("SetPolicy", req)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value.details()
            assert "weight_exposure" in info.value.details()
        req = pb.SetPolicyRequest()
        req.values.update({"weight_noise": "nan"})
        with pytest.raises(grpc.RpcError) as info:
            daemon.grpc("SetPolicy", req)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "weight_noise" in info.value.details()
        overrides = struct_pb2.Struct()
        overrides.fields["keep_quality"].number_value = float("nan")
        with pytest.raises(grpc.RpcError) as info:  # a one-off override goes through the same Struct
            daemon.grpc("Decide", pb.DecideRequest(paths=[str(tmp_path)], policy_overrides=overrides))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT

        status, policy = _post(daemon, "GetPolicy", b"{}")
        assert status == 200 and policy["values"]["weight_exposure"] == 0.25 and policy["preset"] == ""
        status, presets = _post(daemon, "ListPresets", b"{}")
        assert status == 200 and "p1" not in {p["name"] for p in presets["presets"]}

        cli = _cli(daemon.home, "policy", "set", "weight_noise=nan", "--save-as", "p1")  # through the daemon
        assert cli.returncode != 0 and "weight_noise" in cli.stderr and "policy saved" not in cli.stdout
        assert "Traceback" not in daemon.log()
    finally:
        daemon.stop()


@pytest.mark.e2e
def test_daemon_restarted_on_a_poisoned_store_answers_and_policy_show_works(tmp_path):
    home = tmp_path / "home"
    _write_poisoned_store(home)
    daemon = Daemon(home)
    try:
        status, policy = _post(daemon, "GetPolicy", b"{}")
        assert status == 200, policy
        assert policy["values"]["weight_noise"] == 0.2 and policy["values"]["weight_exposure"] == 0.25
        assert policy["values"]["keyword_root"] == "AutoCull" and policy["preset"] == "p1"
        status, presets = _post(daemon, "ListPresets", b"{}")
        assert status == 200, presets
        by_name = {p["name"]: p for p in presets["presets"]}
        assert by_name["p1"]["values"] == {"keep_quality": 0.55} and {"p2", "p3", "strict"} <= set(by_name)
        grpc_policy = daemon.grpc("GetPolicy", pb.GetPolicyRequest())
        assert grpc_policy.values.fields["weight_noise"].number_value == 0.2
        assert {p.name for p in daemon.grpc("ListPresets", pb.ListPresetsRequest()).presets} >= {"p1", "p2", "p3"}

        shown = _cli(home, "policy", "show")
        assert shown.returncode == 0, shown.stderr
        assert "weight_noise = 0.2" in shown.stdout and "preset: p1" in shown.stdout
        assert "Traceback" not in shown.stderr
        assert "dropped" in daemon.log() and "weight_exposure" in daemon.log()
    finally:
        daemon.stop()
    shown = _cli(home, "policy", "show", "--json")  # and without a daemon, in-process on the same store
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["weight_noise"] == 0.2


def test_cli_policy_set_nan_is_refused_and_nothing_is_saved(tmp_path):
    home = tmp_path / "home"
    for pair in ("weight_noise=nan", "weight_noise=inf", "stars_thresholds=0.3,0.5,nan,0.8,0.9", "keyword_root="):
        cli = _cli(home, "policy", "set", pair, "--save-as", "mine")
        assert cli.returncode == 1, (pair, cli.stdout, cli.stderr)
        assert pair.split("=")[0] in cli.stderr and "policy saved" not in cli.stdout, (pair, cli.stderr)
        assert "Traceback" not in cli.stderr
    engine = Engine.open(home)
    try:
        assert engine.store.get_setting("active_policy") is None and "mine" not in engine.presets()
    finally:
        engine.close()
