"""A tiny open_clip model for tests: no download, loads in well under a second, same code path as real weights.

``make_tiny_clip(folder)`` writes an architecture JSON (64-d, two-layer vision and text towers, 64 px
input) and a ``torch.save``d state dict of it with seeded random weights. The encoder then loads it the
way a user's weights load: ``model_config`` registered with ``open_clip.add_model_config`` and
``pretrained=<file>``. Random weights see colour and layout (enough for a warm-vs-cold labelling rule),
not meaning: ranking-quality tests need real weights.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, replace
from pathlib import Path

from autocull.taste.clip import ClipSettings

TINY_NAME = "autocull-tiny-clip"  # open_clip names a registered config after its file stem
TINY_DIM = 64
TINY_SEED = 1234

TINY_CONFIG = {
    "embed_dim": TINY_DIM,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}

_lock = threading.Lock()
_made: dict[Path, "TinyClip"] = {}


@dataclass(frozen=True)
class TinyClip:
    name: str  # the model name ([clip] model)
    config_path: Path  # [clip] model_config
    weights_path: Path  # [clip] pretrained


def make_tiny_clip(folder: Path, *, seed: int = TINY_SEED) -> TinyClip:
    """Write the tiny architecture and its seeded random weights into ``folder`` (once per folder and seed)."""
    folder = Path(folder).resolve()
    key = folder / f"seed-{seed}"
    with _lock:
        if key in _made:
            return _made[key]
        import open_clip
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        config_path = folder / f"{TINY_NAME}.json"
        config_path.write_text(json.dumps(TINY_CONFIG, indent=2))
        open_clip.add_model_config(config_path)
        torch.manual_seed(seed)
        model = open_clip.create_model(TINY_NAME, pretrained=None)
        weights_path = folder / f"{TINY_NAME}-seed{seed}.pt"
        torch.save(model.state_dict(), weights_path)
        made = TinyClip(TINY_NAME, config_path, weights_path)
        _made[key] = made
        return made


def tiny_settings(tiny: TinyClip, **overrides: object) -> ClipSettings:
    """[clip] settings that load ``tiny`` (2 threads, batches of 8 unless overridden)."""
    settings = ClipSettings(
        model=tiny.name,
        pretrained=str(tiny.weights_path),
        model_config=str(tiny.config_path),
        threads=2,
        batch_size=8,
    )
    return replace(settings, **overrides)  # type: ignore[arg-type]
