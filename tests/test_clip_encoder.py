"""The CLIP encoder on a tiny real open_clip model, loaded offline through the users' code path.

The tiny architecture is registered from a JSON file and its seeded random weights are read with
``pretrained=<file>``, as a user's local weights are; a cached tag goes through the same path (a
subprocess seeds a private Hugging Face cache). Real photos from ../shared/testdata are encoded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from autocull.taste.clip import (
    DEFAULT_VOCABULARY,
    ClipEncoder,
    ClipSettings,
    ClipState,
    ClipUnavailable,
    file_sha256,
)

from realphotos import photo, photos
from tinyclip import TinyClip, make_tiny_clip, tiny_settings

SERVER = Path(__file__).resolve().parents[1] / "server"
needs_photos = pytest.mark.shared_data  # real photos: missing ones fail, never skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyClip:
    return make_tiny_clip(tmp_path_factory.mktemp("tinyclip"))


@pytest.fixture(scope="module")
def real_images() -> list[np.ndarray]:
    return [photo(rel) for rel in photos("camera")[:6]]


@pytest.fixture(autouse=True)
def clip_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOCULL_CLIP", raising=False)


def batcher_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "autocull-clip-batcher"]


def run_python(code: str, env: dict[str, str] | None = None, *, flags: tuple[str, ...] = ()) -> str:
    full_env = {**os.environ, "PYTHONPATH": str(SERVER), **(env or {})}
    done = subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# ---- settings ----------------------------------------------------------------------------------------


def test_settings_from_table_reads_every_key() -> None:
    table = {
        "enabled": False,
        "model": "MobileCLIP2-S0",
        "pretrained": "/models/mc2.pt",
        "model_config": "",
        "threads": 2,
        "batch_size": 8,
        "vocabulary": ["dog", "beach"],
    }
    settings = ClipSettings.from_table(table)
    assert settings == ClipSettings(False, "MobileCLIP2-S0", "/models/mc2.pt", "", 2, 8, ("dog", "beach"))
    assert ClipSettings.from_table({}) == ClipSettings()
    assert 20 <= len(DEFAULT_VOCABULARY) <= 30 and "landscape" in DEFAULT_VOCABULARY


@pytest.mark.parametrize(
    "table, key",
    [
        ({"modle": "ViT-B-32"}, "modle"),
        ({"threads": "2"}, "threads"),
        ({"threads": True}, "threads"),
        ({"batch_size": 0}, "batch_size"),
        ({"enabled": "yes"}, "enabled"),
        ({"pretrained": ""}, "pretrained"),
        ({"vocabulary": ["dog", 3]}, "vocabulary"),
        ({"vocabulary": "dog"}, "vocabulary"),
    ],
)
def test_settings_refuse_unknown_or_ill_typed_keys(table: dict[str, object], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        ClipSettings.from_table(table)


# ---- loading and encoding ----------------------------------------------------------------------------


@needs_photos
def test_tiny_model_loads_from_a_weights_file_and_embeds_unit_vectors(
    tiny: TinyClip, real_images: list[np.ndarray]
) -> None:
    encoder = ClipEncoder(tiny_settings(tiny))
    state, sentence = encoder.state()
    assert state is ClipState.IDLE and "not loaded yet" in sentence  # __init__ loads nothing
    assert encoder.usable()

    vectors = encoder.encode_images(real_images)
    assert vectors.shape == (len(real_images), 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    cosines = vectors @ vectors.T
    assert cosines[~np.eye(len(real_images), dtype=bool)].max() < 0.9999  # different photos, different vectors

    state, sentence = encoder.state()
    assert state is ClipState.READY
    assert sentence.endswith("ready (64-d, 2 threads)") and str(tiny.weights_path) in sentence
    assert encoder.model_id == f"{tiny.name}/file:{file_sha256(str(tiny.weights_path))[:16]}"

    texts = encoder.encode_texts(["a dog on the beach", "a city at night", "a dog on the beach"])
    assert texts.shape == (3, 64) and texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(texts[0], texts[2])
    assert float(texts[0] @ texts[1]) < 0.9999


@needs_photos
def test_embeddings_are_deterministic_and_batching_does_not_change_them(
    tiny: TinyClip, real_images: list[np.ndarray]
) -> None:
    first = ClipEncoder(tiny_settings(tiny, batch_size=4)).encode_images(real_images)
    second = ClipEncoder(tiny_settings(tiny, batch_size=4)).encode_images(real_images)  # a fresh load
    np.testing.assert_array_equal(first, second)

    encoder = ClipEncoder(tiny_settings(tiny, batch_size=4))
    one_by_one = np.stack([encoder.encode_images([image])[0] for image in real_images])
    np.testing.assert_allclose(first, one_by_one, atol=1e-5)
    singles = np.stack([encoder.embed(image) for image in real_images])
    np.testing.assert_allclose(first, singles, atol=1e-5)


@needs_photos
def test_concurrent_embed_calls_share_batches_and_match_serial_vectors(
    tiny: TinyClip, real_images: list[np.ndarray]
) -> None:
    encoder = ClipEncoder(tiny_settings(tiny, batch_size=8))
    serial = encoder.encode_images(real_images)
    results: dict[tuple[int, int], np.ndarray] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(4)
    rounds = 5

    def worker(k: int) -> None:
        try:
            start.wait()
            for r in range(rounds):
                i = (k + r) % len(real_images)
                results[(k, r)] = encoder.embed(real_images[i])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)
    assert len(results) == 4 * rounds
    for (k, r), vector in results.items():
        np.testing.assert_allclose(vector, serial[(k + r) % len(real_images)], atol=1e-5)
    assert encoder.embed_batches < 4 * rounds  # callers were coalesced into shared forward passes

    # the batcher thread goes away once idle: nothing is left running after the work
    for _ in range(100):
        if not batcher_threads():
            break
        threading.Event().wait(0.1)
    assert not batcher_threads()


def test_a_bad_array_fails_its_caller_only(tiny: TinyClip) -> None:
    encoder = ClipEncoder(tiny_settings(tiny))
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        encoder.embed(np.zeros((32, 32), np.uint8))
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        encoder.encode_images([np.zeros((32, 32, 3), np.float32)])
    vector = encoder.embed(np.full((40, 60, 3), 200, np.uint8))
    assert vector.shape == (64,) and encoder.state()[0] is ClipState.READY


def test_model_id_follows_the_weights_file(tiny: TinyClip, tmp_path: Path) -> None:
    other = make_tiny_clip(tmp_path / "other", seed=99)
    weights = tmp_path / "weights.pt"
    shutil.copyfile(tiny.weights_path, weights)
    encoder = ClipEncoder(tiny_settings(tiny, pretrained=str(weights)))
    image = np.random.default_rng(3).integers(0, 256, (80, 120, 3), dtype=np.uint8)
    before_id, before = encoder.model_id, encoder.embed(image)
    assert before_id == ClipEncoder(tiny_settings(tiny)).model_id  # same bytes, same id

    shutil.copyfile(other.weights_path, weights)  # the user swaps the weights under the same name
    assert encoder.model_id == before_id  # the loaded model keeps its id: its vectors are stored under it
    assert ClipEncoder(tiny_settings(tiny, pretrained=str(weights))).model_id != before_id
    encoder.reload()
    after = encoder.embed(image)
    assert encoder.model_id == ClipEncoder(tiny_settings(other)).model_id != before_id
    assert float(before @ after) < 0.9999


# ---- failures ----------------------------------------------------------------------------------------


def corrupt_files(tiny: TinyClip, folder: Path) -> dict[str, Path]:
    truncated = folder / "truncated.pt"
    data = tiny.weights_path.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    noise = folder / "noise.pt"
    noise.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    wrong = folder / "wrong-architecture.pt"
    import torch

    torch.save({"visual.proj": torch.zeros(3, 3)}, wrong)
    return {"truncated": truncated, "noise": noise, "wrong": wrong, "missing": folder / "missing.pt"}


@pytest.mark.parametrize("kind", ["truncated", "noise", "wrong", "missing"])
def test_bad_weights_fail_once_with_the_file_named_and_every_caller_told(
    tiny: TinyClip, tmp_path: Path, kind: str
) -> None:
    path = corrupt_files(tiny, tmp_path)[kind]
    encoder = ClipEncoder(tiny_settings(tiny, pretrained=str(path)))
    image = np.full((64, 64, 3), 90, np.uint8)
    failures: list[BaseException] = []

    def call() -> None:
        try:
            encoder.embed(image)
        except ClipUnavailable as exc:
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(4)]  # all waiting on the same failing load
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and len(failures) == 4

    state, sentence = encoder.state()
    assert state is ClipState.FAILED and not encoder.usable()
    assert str(path) in sentence and sentence.endswith("preference, content keywords and search are off")
    expected = {"missing": "does not exist", "wrong": "do not fit", "truncated": "could not be loaded"}
    assert expected.get(kind, "could not be loaded") in sentence
    assert all(str(f) == sentence for f in failures)

    # the failure is remembered while the file stays as it is: every call is told at once, nothing is reloaded
    for call_it in (
        lambda: encoder.embed(image),
        lambda: encoder.encode_images([image]),
        lambda: encoder.encode_texts(["a dog"]),
    ):
        with pytest.raises(ClipUnavailable, match="preference, content keywords and search are off"):
            call_it()
        assert encoder.state() == (ClipState.FAILED, sentence)
    assert not batcher_threads() or all(t.daemon for t in batcher_threads())
    # good weights copied to the path (a copy that was half done when read, then finished) load at the next call
    shutil.copyfile(tiny.weights_path, path)
    assert encoder.embed(image).shape == (64,) and encoder.state()[0] is ClipState.READY
    encoder.reload()
    assert encoder.embed(image).shape == (64,) and encoder.state()[0] is ClipState.READY


def test_a_model_config_named_unlike_the_model_fails_with_the_fix(tiny: TinyClip, tmp_path: Path) -> None:
    config = tmp_path / "my-arch.json"
    config.write_text(tiny.config_path.read_text())
    encoder = ClipEncoder(tiny_settings(tiny, model_config=str(config)))
    with pytest.raises(ClipUnavailable, match="set \\[clip\\] model = 'my-arch'"):
        encoder.encode_texts(["x"])
    not_an_arch = tmp_path / f"{tiny.name}.json"
    not_an_arch.write_text(json.dumps({"embed_dim": 64}))
    encoder = ClipEncoder(tiny_settings(tiny, model_config=str(not_an_arch)))
    with pytest.raises(ClipUnavailable, match="lacks vision_cfg, text_cfg"):
        encoder.encode_texts(["x"])


def test_env_switch_and_enabled_false_turn_clip_off(tiny: TinyClip, monkeypatch: pytest.MonkeyPatch) -> None:
    for word in ("off", "0", "false", "OFF"):
        monkeypatch.setenv("AUTOCULL_CLIP", word)
        encoder = ClipEncoder(tiny_settings(tiny))
        state, sentence = encoder.state()
        assert state is ClipState.OFF and "AUTOCULL_CLIP" in sentence and not encoder.usable()
        with pytest.raises(ClipUnavailable, match="off"):
            encoder.embed(np.zeros((8, 8, 3), np.uint8))
    monkeypatch.setenv("AUTOCULL_CLIP", "on")
    assert ClipEncoder(tiny_settings(tiny)).state()[0] is ClipState.IDLE
    encoder = ClipEncoder(tiny_settings(tiny, enabled=False))
    assert encoder.state()[0] is ClipState.OFF and "enabled = false" in encoder.state()[1]


# ---- imports and installs (subprocesses: a fresh interpreter each) -----------------------------------


def test_importing_the_encoder_and_asking_its_state_imports_no_torch(tiny: TinyClip) -> None:
    out = run_python(
        f"""
        import sys
        from autocull.taste.clip import ClipEncoder, ClipSettings
        enc = ClipEncoder(ClipSettings(model="m", pretrained={str(tiny.weights_path)!r}))
        print(enc.state()[0].name, enc.usable(), enc.model_id.startswith("m/file:"))
        print(sorted(m for m in ("torch", "open_clip", "torchvision", "sklearn") if m in sys.modules))
        """
    )
    assert out.split("\n")[:2] == ["IDLE True True", "[]"]


def test_without_torch_the_state_says_not_installed(tmp_path: Path) -> None:
    """A Python that cannot find torch (no site-packages; only numpy and Pillow linked in)."""
    import numpy
    import PIL

    site = Path(numpy.__file__).parents[1]
    for name in ("numpy", "numpy.libs", "PIL", "pillow.libs"):
        if (site / name).exists():
            (tmp_path / name).symlink_to(site / name)
    assert Path(PIL.__file__).parents[1] == site
    out = run_python(
        """
        from autocull.taste.clip import ClipEncoder, ClipSettings, ClipUnavailable
        enc = ClipEncoder(ClipSettings())
        state, sentence = enc.state()
        try:
            enc.encode_texts(["x"])
        except ClipUnavailable as exc:
            print(state.name, enc.usable(), str(exc) == sentence)
        print(sentence)
        """,
        {"PYTHONPATH": f"{SERVER}{os.pathsep}{tmp_path}"},
        flags=("-S",),
    )
    first, sentence = out.split("\n")[:2]
    assert first == "NOT_INSTALLED False True"
    assert "pip install 'autocull[clip]'" in sentence


@pytest.mark.slow
def test_a_cached_tag_loads_offline_and_an_uncached_one_fails_at_once(tmp_path: Path) -> None:
    """A tag's weights in the Hugging Face cache load without the network; a missing one fails at once.

    The cache is seeded as a download leaves it (refs/main -> snapshots/<rev>/file) with random weights
    of PE-Core-T-16-384 (open_clip's smallest tagged model); HF_HUB_OFFLINE makes the check independent
    of this machine's network.
    """
    out = run_python(
        """
        import os, time
        from pathlib import Path
        import numpy as np, open_clip, torch
        from autocull.taste.clip import ClipEncoder, ClipSettings, ClipState

        snapshot = Path(os.environ["HF_HUB_CACHE"]) / "models--timm--PE-Core-T-16-384"
        (snapshot / "refs").mkdir(parents=True)
        (snapshot / "refs" / "main").write_text("0" * 40)
        (snapshot / "snapshots" / ("0" * 40)).mkdir(parents=True)
        torch.manual_seed(0)
        model = open_clip.create_model("PE-Core-T-16-384", pretrained=None)
        torch.save(model.state_dict(), snapshot / "snapshots" / ("0" * 40) / "open_clip_pytorch_model.bin")

        enc = ClipEncoder(ClipSettings(model="PE-Core-T-16-384", pretrained="meta", threads=2, batch_size=2))
        v = enc.embed(np.full((300, 200, 3), 120, np.uint8))
        print(enc.state()[0].name, enc.model_id, v.shape, round(float(np.linalg.norm(v)), 4))
        print(enc.state()[1])

        enc = ClipEncoder(ClipSettings(threads=2))  # ViT-B-32/laion2b_s34b_b79k: not in this cache
        try:
            enc.encode_texts(["x"])
        except Exception as exc:
            print(type(exc).__name__, enc.state()[0].name)
            print(exc)
        """,
        {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"},
    )
    lines = out.splitlines()
    assert lines[0] == "READY PE-Core-T-16-384/meta (512,) 1.0"
    assert lines[1] == "CLIP PE-Core-T-16-384/meta: ready (512-d, 2 threads)"
    assert lines[2] == "ClipUnavailable FAILED"
    assert "ViT-B-32/laion2b_s34b_b79k are not in the download cache" in lines[3]
    assert "set [clip] pretrained to a local weights file" in lines[3]
