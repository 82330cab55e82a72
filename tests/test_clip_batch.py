"""CLIP in batches and across restarts, on the tiny real open_clip model (tests/tinyclip.py), real photos, a real store.

What a user notices: a batch of analysed photos gets the same vectors as one at a time; one photo the model cannot
take costs only its own vector; a restart neither re-reads the weights file for its digest nor re-encodes the
content vocabulary; the daemon's start-up path (engine, status) imports no torch and reads no weights.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autocull.store import Store
from autocull.taste import clip as clip_module
from autocull.taste.clip import ClipEncoder, known_sha256
from autocull.taste.service import WEIGHTS_HASH_KEY, Taste

from realphotos import photo, photos
from tinyclip import TinyClip, make_tiny_clip, tiny_settings

SERVER = Path(__file__).resolve().parents[1] / "server"
needs_photos = pytest.mark.shared_data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyClip:
    return make_tiny_clip(tmp_path_factory.mktemp("tinyclip"))


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [photo(rel) for rel in photos("camera")[:6]]


@pytest.fixture(autouse=True)
def clip_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOCULL_CLIP", raising=False)


def items_of(images: list[np.ndarray], first: int = 0) -> list[tuple[str, int, int, np.ndarray]]:
    return [(f"/photos/{k}.jpg", 1000 + k, 2000 + k, rgb) for k, rgb in enumerate(images, start=first)]


def mapped_file(address: int) -> str:
    """The file mapped at ``address`` in this process ('' for anonymous memory), from /proc/self/maps."""
    for line in Path("/proc/self/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        start, end = (int(x, 16) for x in parts[0].split("-"))
        if start <= address < end:
            return parts[5] if len(parts) > 5 else ""
    return ""


def forget_digests() -> None:
    """As a new process starts: no digest of any weights file in memory."""
    with clip_module._hash_lock:
        clip_module._hash_cache.clear()


@needs_photos
def test_mapped_weights_give_the_vectors_open_clip_s_own_load_gives(tiny: TinyClip, images: list[np.ndarray]) -> None:
    """The encoder maps the weights file instead of copying it; the vectors must not change for it."""
    import open_clip
    import torch
    from PIL import Image

    encoder = ClipEncoder(tiny_settings(tiny))
    ours = encoder.encode_images(images[:3])
    texts = encoder.encode_texts(["a photo of a dog", "a city at night"])
    conv = encoder._ensure_loaded().model.visual.conv1.weight
    if sys.platform.startswith("linux"):  # where /proc says which file backs an address
        assert mapped_file(conv.data_ptr()) == str(tiny.weights_path)  # mapped from the file, not a private copy

    model, _, preprocess = open_clip.create_model_and_transforms(tiny.name, pretrained=str(tiny.weights_path))
    model.eval()
    with torch.inference_mode():
        ref = model.encode_image(torch.stack([preprocess(Image.fromarray(a)) for a in images[:3]])).numpy()
        ref_t = model.encode_text(open_clip.get_tokenizer(tiny.name)(["a photo of a dog", "a city at night"])).numpy()
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    ref_t /= np.linalg.norm(ref_t, axis=1, keepdims=True)
    np.testing.assert_allclose(ours, ref, atol=1e-5)
    np.testing.assert_allclose(texts, ref_t, atol=1e-5)


@needs_photos
def test_a_batch_is_one_forward_pass_with_the_vectors_of_one_at_a_time(
    tiny: TinyClip, images: list[np.ndarray], tmp_path: Path
) -> None:
    items = items_of(images)
    batched = Taste(Store(tmp_path / "a.db"), tiny_settings(tiny, batch_size=8), lambda paths: None)
    batched.embed_photos(items)
    assert batched.encoder.image_batches == 1  # six photos, batches of eight: one pass
    single = Taste(Store(tmp_path / "b.db"), tiny_settings(tiny, batch_size=8), lambda paths: None)
    for item in items:
        single.embed_photo(*item)
    assert single.encoder.image_batches == len(items)
    paths = [p for p, *_ in items]
    a = batched.store.embeddings(paths, batched.configured)
    b = single.store.embeddings(paths, single.configured)
    assert sorted(a) == sorted(b) == sorted(paths)
    for p in paths:
        np.testing.assert_allclose(a[p], b[p], atol=1e-5)
    # stored with the file version each came from
    assert batched.store.embedding_stamps(paths[:1], batched.configured) == {paths[0]: (1000, 2000)}


@needs_photos
def test_one_photo_the_model_cannot_take_costs_only_its_own_vector(
    tiny: TinyClip, images: list[np.ndarray], tmp_path: Path
) -> None:
    items = items_of(images[:4])
    broken = ("/photos/broken.jpg", 1, 1, np.zeros((0, 10, 3), np.uint8))  # decoded to nothing
    gray = ("/photos/gray.jpg", 2, 2, np.zeros((40, 40), np.uint8))  # not HxWx3
    taste = Taste(Store(tmp_path / "t.db"), tiny_settings(tiny), lambda paths: None)
    taste.embed_photos([items[0], broken, items[1], gray, items[2], items[3]])
    stored = taste.store.embeddings([p for p, *_ in items] + [broken[0], gray[0]], taste.configured)
    assert sorted(stored) == sorted(p for p, *_ in items)
    alone = Taste(Store(tmp_path / "alone.db"), tiny_settings(tiny), lambda paths: None)
    alone.embed_photos(items)
    again = alone.store.embeddings([p for p, *_ in items], alone.configured)
    for p, *_ in items:
        np.testing.assert_allclose(stored[p], again[p], atol=1e-5)  # the fallback's vectors are the batch's


@needs_photos
def test_a_restart_neither_rehashes_the_weights_nor_re_encodes_the_vocabulary(
    tiny: TinyClip, images: list[np.ndarray], tmp_path: Path
) -> None:
    db = tmp_path / "home.db"
    forget_digests()
    first = Taste(Store(db), tiny_settings(tiny), lambda paths: None)
    first.embed_photos(items_of(images[:2]))
    assert first.encoder.text_batches > 0  # the vocabulary was encoded once, on the first start
    labels = first.content(first.vectors(["/photos/0.jpg"]), min_prob=0.0, margin=0.0)
    assert first.store.get_setting(WEIGHTS_HASH_KEY)
    first.store.close()

    forget_digests()  # a new process
    store = Store(db)
    second = Taste(store, tiny_settings(tiny), lambda paths: None)
    assert known_sha256(str(tiny.weights_path)) is not None  # the digest came from the store, no read of the file
    assert second.serving() == first.configured
    second.embed_photos(items_of(images[2:4], first=2))  # loads the model; the vocabulary comes from the store
    assert second.encoder.text_batches == 0
    assert second.content(second.vectors(["/photos/0.jpg"]), min_prob=0.0, margin=0.0) == labels
    assert sorted(store.embeddings([f"/photos/{k}.jpg" for k in range(4)], second.configured)) == [
        f"/photos/{k}.jpg" for k in range(4)
    ]


def test_a_changed_weights_file_is_hashed_again(tiny: TinyClip, tmp_path: Path) -> None:
    """The stored digest belongs to a size and mtime: a file replaced in place is another model."""
    import shutil

    weights = tmp_path / "w.pt"
    shutil.copy(tiny.weights_path, weights)
    settings = tiny_settings(tiny, pretrained=str(weights))
    forget_digests()
    store = Store(tmp_path / "h.db")
    before = Taste(store, settings, lambda paths: None).configured
    with open(weights, "ab") as fh:
        fh.write(b"\0" * 16)  # another file now (a torch zip tolerates trailing bytes)
    forget_digests()
    after = Taste(store, settings, lambda paths: None)
    assert known_sha256(str(weights)) is None  # the stored digest is not reused for the changed file
    assert after.configured != before


def test_the_daemon_start_up_path_reads_no_weights_and_imports_no_torch(tiny: TinyClip, tmp_path: Path) -> None:
    """Engine.open (with its catch-up) and the status answer, as `autocull serve` runs them before its first
    answer: no torch, no open_clip, and the 600 MB-class weights file is not read for its digest."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        f'[clip]\nmodel = "{tiny.name}"\npretrained = "{tiny.weights_path}"\nmodel_config = "{tiny.config_path}"\n'
    )
    code = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        import autocull.daemon
        from autocull.config import Config
        from autocull.engine import Engine
        from autocull.taste.clip import known_sha256
        home = Path({str(home)!r})
        engine = Engine.open(home, Config.load(home))
        status = engine.status()
        print(status["clip"])
        print(sorted(m for m in ("torch", "open_clip", "torchvision") if m in sys.modules))
        print(known_sha256({str(tiny.weights_path)!r}))
        engine.close()
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "AUTOCULL_CLIP"}
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(SERVER), "AUTOCULL_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr
    clip_line, modules, digest = done.stdout.strip().split("\n")[-3:]
    assert "not loaded yet" in clip_line
    assert modules == "[]"
    assert digest == "None"


@needs_photos
def test_a_search_right_after_start_does_not_hash_the_weights_in_the_request(
    tiny: TinyClip, images: list[np.ndarray], tmp_path: Path
) -> None:
    """The first search after a start whose weights digest is not known (the file was touched, or never hashed)
    must not read the 600 MB-class file in the request: the digest is read off the request thread, once."""
    import shutil
    import threading

    weights = tmp_path / "w.pt"
    shutil.copy(tiny.weights_path, weights)
    settings = tiny_settings(tiny, pretrained=str(weights))
    db = tmp_path / "s.db"
    forget_digests()
    first = Taste(Store(db), settings, lambda paths: None)
    first.embed_photos(items_of(images[:3]))
    first.store.close()
    st = weights.stat()
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # same weights, digest not known
    forget_digests()  # a new process

    second = Taste(Store(db), settings, lambda paths: None)
    assert known_sha256(str(weights)) is None
    reads = len(clip_module.digest_reads())
    found = second.search("a photo", [f"/photos/{k}.jpg" for k in range(3)])
    assert sorted(p for p, _ in found) == [f"/photos/{k}.jpg" for k in range(3)]
    readers = clip_module.digest_reads()[reads:]
    assert readers and threading.current_thread().name not in readers  # read, but not by the request
    assert known_sha256(str(weights)) is not None
