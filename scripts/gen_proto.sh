#!/usr/bin/env bash
# Regenerate the protobuf/gRPC/Connect Python code from proto/ into server/autocull/v1/.
# The generated files are checked in; tests/test_proto_fresh.py fails when they are stale.
# Connect code: protoc-gen-connectrpc (the `test` extra) with google.protobuf messages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
CONNECT_PLUGIN=${PROTOC_GEN_CONNECTRPC:-$("$PY" -c 'import pathlib, sys; print(pathlib.Path(sys.executable).parent / "protoc-gen-connectrpc")')}
"$PY" -m grpc_tools.protoc -I proto \
  --python_out=server --pyi_out=server --grpc_python_out=server \
  --plugin=protoc-gen-connectrpc="$CONNECT_PLUGIN" --connectrpc_out=server --connectrpc_opt=protobuf=google \
  proto/autocull/v1/autocull.proto
touch server/autocull/v1/__init__.py
