#!/usr/bin/env bash
# Regenerate the protobuf/gRPC Python code from proto/ into server/autocull/v1/.
# The generated files are checked in; tests/test_proto_fresh.py fails when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
"$PY" -m grpc_tools.protoc -I proto \
  --python_out=server --pyi_out=server --grpc_python_out=server \
  proto/autocull/v1/autocull.proto
touch server/autocull/v1/__init__.py
