"""The weights file as a user might hand it over or change it (issue 16 review): saved in half precision, or
replaced in place while the daemon runs. Tiny real open_clip weights (tests/tinyclip.py), real photos.

What a user notices: half-precision weights make vectors (the ones a full-precision load of the same weights
makes), not a READY status with every photo failing; copying new weights over the mapped file never crashes
the daemon: the next batch uses the new weights or says why not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from autocull.taste.clip import ClipEncoder, ClipState

from realphotos import photo, photos
from tinyclip import TinyClip, make_tiny_clip, tiny_settings

SERVER = Path(__file__).resolve().parents[1] / "server"
TESTS = Path(__file__).resolve().parent
needs_photos = pytest.mark.shared_data


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> TinyClip:
    return make_tiny_clip(tmp_path_factory.mktemp("tinyclip"))


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    return [photo(rel) for rel in photos("camera")[:3]]


@pytest.fixture(autouse=True)
def clip_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTOCULL_CLIP", raising=False)


def reference(tiny: TinyClip, weights: Path, images: list[np.ndarray], texts: list[str]) -> tuple[np.ndarray, ...]:
    """Unit image and text vectors from open_clip's own load (which copies the file's tensors into fp32)."""
    import open_clip
    import torch
    from PIL import Image

    model, _, preprocess = open_clip.create_model_and_transforms(tiny.name, pretrained=str(weights))
    model.eval()
    with torch.inference_mode():
        img = model.encode_image(torch.stack([preprocess(Image.fromarray(a)) for a in images])).float().numpy()
        txt = model.encode_text(open_clip.get_tokenizer(tiny.name)(texts)).float().numpy()
    return img / np.linalg.norm(img, axis=1, keepdims=True), txt / np.linalg.norm(txt, axis=1, keepdims=True)


@needs_photos
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_weights_make_the_vectors_of_their_full_precision_load(
    tiny: TinyClip, images: list[np.ndarray], tmp_path: Path, dtype: str
) -> None:
    import torch

    half = tmp_path / f"{dtype}.pt"
    state = torch.load(tiny.weights_path, map_location="cpu", weights_only=True)
    torch.save({k: v.to(getattr(torch, dtype)) if v.is_floating_point() else v for k, v in state.items()}, half)
    encoder = ClipEncoder(tiny_settings(tiny, pretrained=str(half)))
    texts = ["a photo of a dog", "a city at night"]
    ours = encoder.encode_images(images)
    ours_t = encoder.encode_texts(texts)
    assert encoder.state()[0] is ClipState.READY
    ref, ref_t = reference(tiny, half, images, texts)  # the same half weights, cast up by open_clip's load
    np.testing.assert_allclose(ours, ref, atol=1e-4)
    np.testing.assert_allclose(ours_t, ref_t, atol=1e-4)
    assert ours.dtype == np.float32


@needs_photos
def test_weights_copied_over_the_mapped_file_never_crash_the_encoder(
    tiny: TinyClip, images: list[np.ndarray], tmp_path: Path
) -> None:
    """``cp new.pt weights.pt`` while the daemon runs: the old model maps a file that is truncated and rewritten.
    Seen half-written, the load fails with the file named; once the copy is done, the next batch loads it.
    Run in a child process, so a crash (SIGBUS) is a failed test rather than a dead test run."""
    import torch

    weights = tmp_path / "weights.pt"
    weights.write_bytes(tiny.weights_path.read_bytes())
    other = make_tiny_clip(tmp_path / "other", seed=99)
    smaller = tmp_path / "new.pt"  # other weights, half the size: what the old mapping reaches past is gone
    state = torch.load(other.weights_path, map_location="cpu", weights_only=True)
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in state.items()}, smaller)
    assert smaller.stat().st_size < weights.stat().st_size
    arrays = tmp_path / "images.npz"
    np.savez(arrays, *images)
    code = f"""
        import json, os, shutil, sys
        import numpy as np
        sys.path.insert(0, {str(TESTS)!r})
        from autocull.taste.clip import ClipEncoder, ClipUnavailable
        from tinyclip import TinyClip, tiny_settings
        from pathlib import Path
        tiny = TinyClip({tiny.name!r}, Path({str(tiny.config_path)!r}), Path({str(weights)!r}))
        loaded = np.load({str(arrays)!r})
        images = [loaded[k] for k in loaded.files]
        encoder = ClipEncoder(tiny_settings(tiny))
        before = encoder.encode_images(images)
        inode = os.stat({str(weights)!r}).st_ino
        data = Path({str(smaller)!r}).read_bytes()
        with open({str(weights)!r}, "r+b") as fh:  # as cp does: truncate, then write (same inode); half done
            fh.truncate(0)
            fh.write(data[: len(data) // 2])
        refused = ""
        try:
            one = encoder.embed(images[0])  # the batcher's forward pass
        except ClipUnavailable as exc:
            refused, one = str(exc), None
        status = encoder.state()[1]
        try:
            encoder.encode_images(images)
            partial = "vectors"
        except ClipUnavailable as exc:
            partial = str(exc)
        with open({str(weights)!r}, "r+b") as fh:  # the copy is finished
            fh.truncate(0)
            fh.write(data)
        same_inode = os.stat({str(weights)!r}).st_ino == inode
        after = encoder.encode_images(images)
        print(json.dumps({{"same_inode": same_inode, "refused": refused, "status": status, "partial": partial,
                          "one": None if one is None else one.tolist(),
                          "before": before.tolist(), "after": after.tolist()}}))
        """
    env = {k: v for k, v in os.environ.items() if k != "AUTOCULL_CLIP"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**env, "PYTHONPATH": str(SERVER)},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, f"the encoder died ({done.returncode}): {done.stderr[-2000:]}"
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["same_inode"]
    assert str(weights) in out["partial"]  # a half-written file is a clear failure, retried once it changes
    ref, _ = reference(tiny, smaller, images, ["x"])  # what the new weights make
    after = np.array(out["after"], np.float32)
    np.testing.assert_allclose(after, ref, atol=1e-4)  # the next batch uses the new weights
    assert not np.allclose(np.array(out["before"]), ref, atol=1e-2)  # and they are other weights
    if out["one"] is not None:
        np.testing.assert_allclose(np.array(out["one"], np.float32), ref[0], atol=1e-4)
    else:  # refused: the caller and the status say why
        assert str(weights) in out["refused"] and "changed" in out["refused"]
        assert "changed" in out["status"]
