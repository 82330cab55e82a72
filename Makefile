# The two commands of the README: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-clip setup-cluster demo test system-deps proto plugins

$(BIN)/autocull: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

setup: $(BIN)/autocull

# The 'clip' extra (torch + torchvision pinned together, open_clip, scikit-learn): about
# 6 GB, so only `make test` installs it (the real CLIP loading code is tested); `make demo` stays light.
$(VENV)/.clip-installed: pyproject.toml $(BIN)/autocull
	$(BIN)/pip install -q -e '.[test,clip]'
	touch $@

setup-clip: $(VENV)/.clip-installed

# The 'cluster' extra (Ray, about 80 MB): only `make test` installs it, so the Ray tests run in CI.
$(VENV)/.cluster-installed: pyproject.toml $(BIN)/autocull
	$(BIN)/pip install -q -e '.[test,cluster]'
	touch $@

setup-cluster: $(VENV)/.cluster-installed

# Set up, write a sample folder (photos that ship with scikit-image) and cull it on the embedded store.
demo: setup
	AUTOCULL_HOME=$${AUTOCULL_HOME:-$(CURDIR)/sample/.autocull} $(BIN)/autocull sample sample
	AUTOCULL_HOME=$${AUTOCULL_HOME:-$(CURDIR)/sample/.autocull} $(BIN)/autocull cull sample
	AUTOCULL_HOME=$${AUTOCULL_HOME:-$(CURDIR)/sample/.autocull} $(BIN)/autocull report sample -o sample/review

system-deps:
	bash scripts/install-system-deps.sh

# Set up (Python and Debian packages), lint, format-check and type-check (ruff and mypy, configured in
# pyproject.toml), then run every test. A lint, format or type error fails before pytest starts.
test: system-deps setup setup-clip setup-cluster
	$(BIN)/ruff check server tests bench
	$(BIN)/ruff format --check server tests bench
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

proto: setup
	PYTHON=$(BIN)/python scripts/gen_proto.sh

# the shared Lua (plugins/common/*.lua) copied into both plugins; tests/test_plugin_build.py
# fails on a stale copy
plugins:
	$(PY) scripts/build_plugins.py
