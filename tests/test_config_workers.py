"""How many workers the default gives, and the pool settings read from config.toml (issue 16 review)."""

from __future__ import annotations

import os
import sys

import pytest

from autocull import config as config_module
from autocull.budget import DEFAULT_PIXEL_BUDGET
from autocull.config import Config


def test_the_default_worker_count_is_the_cpus_this_process_may_use(monkeypatch, tmp_path):
    monkeypatch.setattr(config_module, "CGROUP_CPU_MAX", tmp_path / "absent")  # not this machine's cgroup
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


def test_a_containers_cpu_quota_caps_the_default_worker_count(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "process_cpu_count", lambda: 64, raising=False)  # docker --cpus=2 leaves affinity
    cpu_max = tmp_path / "cpu.max"
    cpu_max.write_text("200000 100000\n")
    assert config_module.usable_cpus(cpu_max) == 2
    cpu_max.write_text("150000 100000\n")  # --cpus=1.5: the half CPU still gets a worker
    assert config_module.usable_cpus(cpu_max) == 2
    cpu_max.write_text("50000 100000\n")
    assert config_module.usable_cpus(cpu_max) == 1
    cpu_max.write_text("max 100000\n")  # no quota
    assert config_module.usable_cpus(cpu_max) == 64
    assert config_module.usable_cpus(tmp_path / "absent") == 64  # cgroup v1, or not Linux
    monkeypatch.setattr(os, "process_cpu_count", lambda: 3, raising=False)
    cpu_max.write_text("800000 100000\n")  # the affinity mask is the smaller
    assert config_module.usable_cpus(cpu_max) == 3
    monkeypatch.setattr(config_module, "CGROUP_CPU_MAX", cpu_max)
    assert Config().worker_count() == 3


@pytest.mark.parametrize(
    "line, message",
    [
        ("pixel_budget = true", "pixel_budget must be a whole number above 0"),
        ("pixel_budget = 1.5", "pixel_budget must be a whole number above 0"),
        ("file_timeout_seconds = true", "file_timeout_seconds must be above 0"),
        ("file_timeout_seconds = 0", "file_timeout_seconds must be above 0"),
        ("workers = true", "workers must be a whole number"),
        ("workers = -1", "workers must be a whole number"),
        ("workers = 2.5", "workers must be a whole number"),
        ("worker_idle_seconds = false", "worker_idle_seconds must be 0"),
        ("worker_idle_seconds = -5", "worker_idle_seconds must be 0"),
        ('worker_idle_seconds = "60"', "worker_idle_seconds must be 0"),
    ],
)
def test_pool_settings_of_the_wrong_kind_are_refused_by_name(tmp_path, line, message):
    (tmp_path / "config.toml").write_text(line + "\n")
    with pytest.raises(ValueError, match=message):
        Config.load(tmp_path)


def test_pool_settings_of_the_right_kind_are_read(tmp_path):
    (tmp_path / "config.toml").write_text("workers = 3\nworker_idle_seconds = 0\nfile_timeout_seconds = 2.5\n")
    loaded = Config.load(tmp_path)
    assert (loaded.workers, loaded.worker_idle_seconds, loaded.file_timeout_seconds) == (3, 0, 2.5)
