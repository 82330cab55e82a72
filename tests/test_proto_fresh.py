"""The checked-in generated code (protobuf, gRPC and Connect) must match what proto/ generates now."""

import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONNECT_PLUGIN = Path(sys.executable).parent / "protoc-gen-connectrpc"


def test_generated_code_is_fresh(tmp_path):
    assert CONNECT_PLUGIN.exists(), f"{CONNECT_PLUGIN} is missing: install the `test` extra"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grpc_tools.protoc",
            "-I",
            str(ROOT / "proto"),
            f"--python_out={tmp_path}",
            f"--pyi_out={tmp_path}",
            f"--grpc_python_out={tmp_path}",
            f"--plugin=protoc-gen-connectrpc={CONNECT_PLUGIN}",
            f"--connectrpc_out={tmp_path}",
            "--connectrpc_opt=protobuf=google",
            str(ROOT / "proto/autocull/v1/autocull.proto"),
        ],
        check=True,
    )
    for name in ("autocull_pb2.py", "autocull_pb2.pyi", "autocull_pb2_grpc.py", "autocull_connect.py"):
        fresh = tmp_path / "autocull/v1" / name
        checked_in = ROOT / "server/autocull/v1" / name
        assert filecmp.cmp(fresh, checked_in, shallow=False), (
            f"{checked_in} is stale: run `make proto` and commit the result"
        )
