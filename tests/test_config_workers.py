"""How many workers the default gives, and the pool settings read from config.toml (issue 16 review)."""

from __future__ import annotations

import os
import sys

import pytest

from autocull import config as config_module
from autocull.budget import DEFAULT_PIXEL_BUDGET
from autocull.config import Config


def test_the_default_worker_count_is_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 64, raising=False)  # the host's, seen from a --cpus=2 container
    monkeypatch.setattr(os, "process_cpu_count", lambda: 2, raising=False)
    assert Config().worker_count() == 2
    monkeypatch.delattr(os, "process_cpu_count")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert Config().worker_count() == 3
    monkeypatch.delattr(os, "sched_getaffinity")
    assert Config().worker_count() == 64
    assert Config(workers=5).worker_count() == 5


def test_windows_gets_at_most_61_workers(monkeypatch):
    monkeypatch.setattr(os, "process_cpu_count", lambda: 128, raising=False)
    monkeypatch.setattr(sys, "platform", "win32")
    assert Config().worker_count() == config_module.MAX_WORKERS_WINDOWS == 61
    assert Config(workers=100).worker_count() == 61


def test_pixel_budget_is_read_checked_and_given_to_the_workers(tmp_path):
    assert Config().pixel_budget == DEFAULT_PIXEL_BUDGET
    (tmp_path / "config.toml").write_text("pixel_budget = 0\n")
    with pytest.raises(ValueError, match="pixel_budget must be a whole number above 0"):
        Config.load(tmp_path)
    (tmp_path / "config.toml").write_text("pixel_budget = 40000000\nfile_timeout_seconds = 60\n")
    loaded = Config.load(tmp_path)
    from autocull.engine import Engine

    engine = Engine.open(tmp_path / "home", loaded)
    try:
        assert (engine.analyzer.pixel_budget, engine.analyzer.file_timeout) == (40_000_000, 60)
    finally:
        engine.close()
