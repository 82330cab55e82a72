"""Every dependency installs from wheels on the platforms Lightroom runs on: Windows x64 and macOS arm64 (12+),
on Intel Macs with the parts that have no wheel there left out by pyproject's markers, and on Linux x86_64 and
arm64 (manylinux), where most darktable users are.

A photographer has no compiler: a dependency that only resolves to a source distribution on their machine is an
install that fails. ``pip download --platform`` cannot prove this: it evaluates environment markers against the
machine it runs on (Linux here), so it would pull Linux-only requirements (torch's CUDA wheels) and ignore ours.
``uv pip compile --python-platform`` resolves for the target (markers and wheel tags), from the wheels' metadata
only (PEP 658 files or ranged reads of the wheel), so the whole matrix costs about 20 MB of metadata and well under a
minute instead of gigabytes of torch. Needs PyPI: when it cannot be reached the test fails and says so.
"""

from __future__ import annotations

import os
import subprocess
import tomllib
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
INDEX = "https://pypi.org/simple"

pytestmark = [pytest.mark.network, pytest.mark.slow]

# (uv's target triple, what a user has): macOS 12 is the oldest we support, so wheels must be tagged for it.
PLATFORMS = {
    "x86_64-pc-windows-msvc": "Windows x64",
    "aarch64-apple-darwin": "macOS 12+ on Apple silicon",
    "x86_64-apple-darwin": "macOS 12+ on an Intel Mac",
    "x86_64-unknown-linux-gnu": "Linux x86_64 (manylinux)",
    "aarch64-unknown-linux-gnu": "Linux arm64 (manylinux)",
}
EXTRAS = ("clip",)  # what users install on top of the base (test/sample are for developers)


def _requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = list(project["dependencies"])
    for extra in EXTRAS:
        reqs += project["optional-dependencies"][extra]
    return reqs


def _python_versions() -> list[str]:
    """The minor versions pyproject's requires-python admits that we test: its floor and the next one."""
    spec = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    floor = spec.split("#")[0].strip().removeprefix(">=")
    major, minor = (int(x) for x in floor.split(".")[:2])
    return [f"{major}.{minor}", f"{major}.{minor + 1}"]


def _uv() -> str:
    try:
        from uv import find_uv_bin
    except ImportError:
        pytest.fail("uv is not installed: pip install -e '.[test]' (it is in the test extra)")
    return str(find_uv_bin())


@pytest.fixture(scope="module")
def pypi() -> None:
    try:
        with urllib.request.urlopen(f"{INDEX}/pip/", timeout=30) as answer:
            answer.read(1)
    except OSError as exc:
        pytest.fail(f"PyPI ({INDEX}) cannot be reached, so wheel availability cannot be checked: {exc}")


def _compile(uv: str, reqs: Path, triple: str, python: str, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_"))}
    env["MACOSX_DEPLOYMENT_TARGET"] = "12.0"  # the oldest macOS we support: wheels tagged 13 or 14 do not count
    return subprocess.run(
        [uv, "pip", "compile", str(reqs), "--no-config", "--index-url", INDEX, "--only-binary", ":all:",
         "--python-platform", triple, "--python-version", python, "--cache-dir", str(cache),
         "--no-header", "--no-annotate", "--quiet"],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip


def _pins(text: str) -> dict[str, str]:
    pins = {}
    for line in text.splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


@pytest.mark.parametrize("python", _python_versions())
@pytest.mark.parametrize("triple", list(PLATFORMS))
def test_every_dependency_has_a_wheel(pypi: None, tmp_path: Path, triple: str, python: str) -> None:
    reqs = tmp_path / "requirements.in"
    reqs.write_text("\n".join(_requirements()) + "\n", encoding="utf-8")
    done = _compile(_uv(), reqs, triple, python, tmp_path / "cache")
    assert done.returncode == 0, (
        f"{PLATFORMS[triple]}, Python {python}: the base dependencies and {EXTRAS} do not all resolve to wheels:\n"
        f"{done.stderr}"
    )
    pins = _pins(done.stdout)
    fetched = sum(f.stat().st_size for f in (tmp_path / "cache").rglob("*") if f.is_file())
    print(f"{triple} py{python}: {len(pins)} wheels resolved, {fetched / 1e6:.1f} MB of metadata")
    # The resolution is the install a user gets: what each platform must and must not have.
    assert {"grpcio", "protobuf", "numpy", "pillow", "rawpy", "python-xmp-toolkit", "filelock"} <= set(pins)
    intel_mac = triple == "x86_64-apple-darwin"
    for name in ("mediapipe", "ai-edge-litert", "torch", "open-clip-torch"):
        assert (name in pins) != intel_mac, f"{name} on {PLATFORMS[triple]}: {pins.get(name, 'absent')}"
    assert int(pins["protobuf"].split(".")[0]) >= 7, "the generated contract code needs protobuf 7"
