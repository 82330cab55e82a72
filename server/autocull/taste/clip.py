"""The CLIP encoder: photos and texts to L2-normalised embeddings with open_clip, loaded lazily.

torch and open_clip cost seconds and hundreds of MB to import, so this module imports neither at module
level: the model loads in the first encode call (a background worker's, never the daemon's or the CLI's
first answer). Whether they are installed is asked with ``importlib.util.find_spec``, which imports nothing.

Weights: ``pretrained`` is a tag open_clip knows (fetched once into the Hugging Face cache) or a local
file. A cached tag is loaded through the very same ``pretrained=<file>`` path as a local file (with the
tag's preprocessing), so the path the offline tests exercise is the one users run. A tag that is not
cached fails in seconds when the hub cannot be reached instead of spending ~45 s in huggingface_hub's
retries (measured here, no network).

A custom architecture (``model_config``) is registered with ``open_clip.add_model_config``; open_clip 3.3
names a model registered that way after the JSON file's stem (``tiny.json`` -> model ``tiny``) and only
accepts files holding ``embed_dim``, ``vision_cfg`` and ``text_cfg``, so both are checked here with a
message that says what to fix.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlparse

import numpy as np

# Why (bench/bench_clip.py, 2 CPU threads): ViT-B-32 is among the fastest on a CPU (~7-14 photos/s here, as
# fast as MobileCLIP2-S0 and twice ViT-B-16 or MobileCLIP-S1); laion2b_s34b_b79k's weights are MIT-licensed
# (MobileCLIP's are Apple's apple-amlr licence) and need no timm; in open_clip's published results it scores
# 66.6 % ImageNet zero-shot, 0.569 over 38 datasets, and retrieves better (Flickr 0.754, MSCOCO 0.478) than
# the DataComp-XL B-32 tag (69.2 %, 0.579; retrieval 0.700 / 0.453): retrieval is what search runs.
DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "laion2b_s34b_b79k"

# Content labels a photographer sorts by; zero-shot prompts are built from them (taste/content.py).
DEFAULT_VOCABULARY: tuple[str, ...] = (
    "people",
    "portrait",
    "group photo",
    "child",
    "baby",
    "wedding",
    "landscape",
    "city",
    "architecture",
    "interior",
    "animal",
    "dog",
    "cat",
    "bird",
    "food",
    "night",
    "sunset",
    "sports",
    "concert",
    "beach",
    "mountains",
    "forest",
    "snow",
    "flowers",
    "car",
    "document",
    "screenshot",
)

ENV_SWITCH = "AUTOCULL_CLIP"
_OFF_WORDS = frozenset({"off", "0", "false"})
# A `pretrained` value is a file, not a tag, when it looks like one (tags never hold a slash or a suffix).
_WEIGHT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".npz", ".ckpt")
_OFF_TAIL = "preference, content keywords and search are off"
LINGER_S = 0.005  # how long embed() waits for other callers to share a batch
_IDLE_EXIT_S = 2.0  # the batcher thread exits after this long without work (restarted on demand)
_PROBE_TIMEOUT_S = 3.0


def clip_disabled_by_env() -> bool:
    """True when ``AUTOCULL_CLIP`` is off/0/false: tests and users switch CLIP off without a config edit."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() in _OFF_WORDS


@dataclass(frozen=True)
class ClipSettings:
    """The ``[clip]`` table of config.toml."""

    enabled: bool = True
    model: str = DEFAULT_MODEL
    # A tag open_clip knows, or a path to a local weights file. "" (refused in config.toml) = random
    # weights, for benchmarks: they cost the same time as real ones.
    pretrained: str = DEFAULT_PRETRAINED
    model_config: str = ""  # optional JSON architecture registered with open_clip.add_model_config
    threads: int = 0  # torch threads; 0 = one per core
    batch_size: int = 16
    vocabulary: tuple[str, ...] = DEFAULT_VOCABULARY

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> "ClipSettings":
        """Settings from the parsed ``[clip]`` table; a ValueError names the unknown or ill-typed key."""
        known = ("enabled", "model", "pretrained", "model_config", "threads", "batch_size", "vocabulary")
        unknown = sorted(set(table) - set(known))
        if unknown:
            raise ValueError(f"[clip]: unknown key {unknown[0]!r}; known: {', '.join(known)}")
        values: dict[str, Any] = {}
        for key, value in table.items():
            values[key] = _checked(key, value)
        return cls(**values)


def _checked(key: str, value: Any) -> Any:
    """One ``[clip]`` value, type-checked (bool is not an int here: ``threads = true`` is a mistake)."""
    if key == "enabled":
        if not isinstance(value, bool):
            raise ValueError(f"[clip] enabled must be true or false, not {value!r}")
        return value
    if key in ("model", "pretrained", "model_config"):
        if not isinstance(value, str):
            raise ValueError(f"[clip] {key} must be a string, not {value!r}")
        if key != "model_config" and not value.strip():
            raise ValueError(f"[clip] {key} must not be empty")
        return value.strip()
    if key in ("threads", "batch_size"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"[clip] {key} must be a whole number, not {value!r}")
        low = 0 if key == "threads" else 1
        if not low <= value <= 1024:
            raise ValueError(f"[clip] {key} must be between {low} and 1024, not {value}")
        return value
    # vocabulary
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"[clip] vocabulary must be a non-empty list of labels, not {value!r}")
    labels = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"[clip] vocabulary holds {item!r}: every label must be a non-empty string")
        labels.append(item.strip())
    if len(set(labels)) != len(labels):
        raise ValueError("[clip] vocabulary lists a label twice")
    return tuple(labels)


def is_weights_file(pretrained: str) -> bool:
    """Whether ``pretrained`` names a local file rather than an open_clip tag."""
    return (
        "/" in pretrained
        or os.sep in pretrained
        or pretrained.startswith("~")
        or (pretrained.lower().endswith(_WEIGHT_SUFFIXES))
    )


def _abspath(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


_hash_lock = threading.Lock()
_hash_cache: dict[tuple[str, int, int], str] = {}
_digest_readers: list[str] = []  # the thread of each full read of a file for its digest (tests check who reads)


def digest_reads() -> list[str]:
    """Names of the threads that read a file for its digest, oldest first (a request thread must never be one)."""
    with _hash_lock:
        return list(_digest_readers)


def remember_sha256(path: str, size: int, mtime_ns: int, hexdigest: str) -> None:
    """Seed the hash cache with a digest kept elsewhere (the store), so a restart need not read ~600 MB again."""
    with _hash_lock:
        _hash_cache[(path, size, mtime_ns)] = hexdigest


def known_sha256(path: str) -> Optional[str]:
    """The cached digest of the file as it is now (same size and mtime), or None; never reads the file."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    with _hash_lock:
        return _hash_cache.get((path, st.st_size, st.st_mtime_ns))


def file_sha256(path: str) -> str:
    """SHA-256 hex of a file, cached by (path, size, mtime): a weights file is hashed once, not per call."""
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    with _hash_lock:
        if key in _hash_cache:
            return _hash_cache[key]
    digest = hashlib.sha256()
    with _hash_lock:
        del _digest_readers[:-99]  # bounded: the last hundred
        _digest_readers.append(threading.current_thread().name)
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    hexed = digest.hexdigest()
    with _hash_lock:
        _hash_cache[key] = hexed
    return hexed


def model_id_of(settings: ClipSettings, *, read: bool = True) -> Optional[str]:
    """Stable id of model + weights: ``ViT-B-32/laion2b_s34b_b79k`` or ``<model>/file:<16 hex of sha256>``.

    With ``read=False`` a weights file whose digest is not cached yet gives None instead of being read (hashing
    ViT-B-32's 600 MB takes a second or more: never on the way to the daemon's first answer)."""
    if not settings.pretrained:
        return f"{settings.model}/random-init"
    if not is_weights_file(settings.pretrained):
        return f"{settings.model}/{settings.pretrained}"
    path = _abspath(settings.pretrained)
    if not read:
        known = known_sha256(path)
        if known is None:
            return None if os.path.isfile(path) else f"{settings.model}/file:missing"
        return f"{settings.model}/file:{known[:16]}"
    try:
        return f"{settings.model}/file:{file_sha256(path)[:16]}"
    except OSError:
        return f"{settings.model}/file:missing"


def weights_path_of(settings: ClipSettings) -> Optional[str]:
    """The absolute path of a local weights file, or None for a tag or random weights."""
    if settings.pretrained and is_weights_file(settings.pretrained):
        return _abspath(settings.pretrained)
    return None


class ClipState(Enum):
    OFF = "off"
    NOT_INSTALLED = "not installed"
    IDLE = "idle"
    LOADING = "loading"
    READY = "ready"
    FAILED = "failed"


class ClipUnavailable(Exception):
    """CLIP cannot encode; the message says why (not installed / off / weights missing or corrupt: …)."""


class _LoadError(Exception):
    """A load failure with the sentence a user reads in `autocull status`."""


@dataclass(frozen=True)
class _Loaded:
    model: Any
    preprocess: Any
    tokenizer: Any
    dim: int
    threads: int
    model_id: str
    weights: str = ""  # the weights file the model's tensors map ("" for a tag downloaded now or random weights)
    stamp: Optional[tuple[int, int, int]] = None  # its (inode, size, mtime_ns) just before it was loaded


@dataclass(frozen=True)
class _Request:
    tensor: Any  # the preprocessed image (C, H, W)
    loaded: _Loaded
    since: float  # monotonic time it was queued
    future: Future[np.ndarray]


def _stamp(path: str) -> Optional[tuple[int, int, int]]:
    """(inode, size, mtime_ns) of a file, None when it cannot be stat'ed: a file replaced or rewritten changes it."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


def installed() -> bool:
    """torch and open_clip are importable (asked without importing them)."""
    return all(importlib.util.find_spec(name) is not None for name in ("torch", "open_clip"))


class ClipEncoder:
    """Thread-safe; loads the model lazily on the first encode call (never in __init__).

    A failed load is remembered (state FAILED with the reason) and not retried until ``reload()`` or until the
    weights file changes on disk: every later call raises ClipUnavailable at once instead of re-reading a corrupt
    file per photo. A loaded model whose mapped weights file changes is dropped before its next forward pass
    (``_check_weights_file``) and the new file loads on the next call.
    """

    def __init__(self, settings: ClipSettings) -> None:
        self.settings = settings
        self._env_off = clip_disabled_by_env()
        self._load_lock = threading.Lock()  # one loader; the others wait for its outcome
        self._infer_lock = threading.Lock()  # one forward pass at a time (torch already uses every thread)
        self._batch_lock = threading.Lock()  # guards the queue/worker hand-over
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._worker: Optional[threading.Thread] = None
        self._loaded: Optional[_Loaded] = None
        # the weights file as it was when a load of it failed (None: missing), kept only when a load failed
        self._failed_stamp: Optional[tuple[Optional[tuple[int, int, int]]]] = None
        self.embed_batches = 0  # forward passes run for embed() callers (fewer than calls = coalescing works)
        self.image_batches = 0  # forward passes of the image tower, whoever asked (one per batch_size photos)
        self.text_batches = 0  # forward passes of the text tower (none on a restart with the vocabulary cached)
        self._status: tuple[ClipState, str] = self._initial_status()

    # ---- state -------------------------------------------------------------------------------------
    def _label(self) -> str:
        s = self.settings
        if s.pretrained and is_weights_file(s.pretrained):
            return f"{s.model} from {_abspath(s.pretrained)}"
        return f"{s.model}/{s.pretrained or 'random-init'}"

    def _initial_status(self) -> tuple[ClipState, str]:
        if self._env_off:
            return ClipState.OFF, f"CLIP: off ({ENV_SWITCH}={os.environ.get(ENV_SWITCH, '')}): {_OFF_TAIL}"
        if not self.settings.enabled:
            return ClipState.OFF, f"CLIP: off ([clip] enabled = false): {_OFF_TAIL}"
        if not installed():
            return (
                ClipState.NOT_INSTALLED,
                f"CLIP: not installed (pip install 'autocull[clip]' adds torch and open_clip): {_OFF_TAIL}",
            )
        return ClipState.IDLE, f"CLIP {self._label()}: not loaded yet (loads on first use)"

    def state(self) -> tuple[ClipState, str]:
        """The state and a sentence for `autocull status`."""
        return self._status

    def usable(self) -> bool:
        """Enabled, installed and not FAILED (a model not yet loaded counts as usable)."""
        return self._status[0] in (ClipState.IDLE, ClipState.LOADING, ClipState.READY)

    @property
    def model_id(self) -> str:
        """Id of the loaded model, or of the configured one before the load (hashes a local file once)."""
        loaded = self._loaded
        if loaded is not None:
            return loaded.model_id
        found = model_id_of(self.settings)
        assert found is not None  # read=True always gives an id
        return found

    def known_model_id(self) -> Optional[str]:
        """The model id if it is known without reading the weights file (loaded, a tag, or a cached digest)."""
        loaded = self._loaded
        return loaded.model_id if loaded is not None else model_id_of(self.settings, read=False)

    @property
    def dim(self) -> Optional[int]:
        """Embedding width once loaded, else None."""
        loaded = self._loaded
        return loaded.dim if loaded is not None else None

    def reload(self) -> None:
        """Forget the model and any failure; the next encode call loads again (e.g. after a config change)."""
        with self._load_lock, self._infer_lock:
            self._env_off = clip_disabled_by_env()
            self._loaded = None
            self._status = self._initial_status()

    # ---- loading -----------------------------------------------------------------------------------
    def _retry_changed_file(self) -> None:
        """A load that failed on a weights file that has changed since (a copy still being written when it was
        read, then finished) is tried again rather than remembered until ``reload()``."""
        path = weights_path_of(self.settings)
        if self._status[0] is ClipState.FAILED and path and self._failed_stamp is not None:
            if (_stamp(path),) != self._failed_stamp:
                self._failed_stamp = None
                self._status = self._initial_status()

    def _ensure_loaded(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        self._retry_changed_file()
        state, message = self._status
        if state in (ClipState.OFF, ClipState.NOT_INSTALLED, ClipState.FAILED):
            raise ClipUnavailable(message)
        with self._load_lock:
            if self._loaded is not None:
                return self._loaded
            state, message = self._status
            if state in (ClipState.OFF, ClipState.NOT_INSTALLED, ClipState.FAILED):
                raise ClipUnavailable(message)
            self._status = (ClipState.LOADING, f"CLIP {self._label()}: loading")
            path = weights_path_of(self.settings)
            before = _stamp(path) if path else None
            try:
                loaded = _load(self.settings)
            except _LoadError as exc:
                self._status, self._failed_stamp = (ClipState.FAILED, f"CLIP: {exc}: {_OFF_TAIL}"), (before,)
                raise ClipUnavailable(self._status[1]) from None
            except Exception as exc:  # noqa: BLE001 - any surprise from torch/open_clip is a failed load
                self._status = (ClipState.FAILED, f"CLIP {self._label()}: could not load ({_brief(exc)}): {_OFF_TAIL}")
                self._failed_stamp = (before,)
                raise ClipUnavailable(self._status[1]) from None
            self._loaded = loaded
            self._status = (
                ClipState.READY,
                f"CLIP {self._label()}: ready ({loaded.dim}-d, {loaded.threads} threads)",
            )
            return loaded

    # ---- encoding ----------------------------------------------------------------------------------
    def encode_images(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """(n, d) float32, rows L2-normalised; preprocessed with the model's own transform, run in batches."""
        loaded = self._ensure_loaded()
        tensors = [_prepare(loaded, rgb) for rgb in images]
        return self._forward_images(loaded, tensors)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32 unit rows, one per text."""
        loaded = self._ensure_loaded()
        if not texts:
            return np.zeros((0, loaded.dim), np.float32)
        import torch

        rows = []
        with self._infer_lock, torch.inference_mode():
            for start in range(0, len(texts), self.settings.batch_size):
                self._check_weights_file(loaded)
                tokens = loaded.tokenizer(list(texts[start : start + self.settings.batch_size]))
                self.text_batches += 1
                rows.append(_unit(loaded.model.encode_text(tokens)))
        return np.concatenate(rows)

    def embed(self, rgb: np.ndarray) -> np.ndarray:
        """One HxWx3 uint8 image -> (d,) float32 unit vector; blocks; concurrent callers share a batch.

        The caller preprocesses its own image (in parallel with the others), then waits for the batcher
        thread, which gathers what arrives within LINGER_S into one forward pass.
        """
        loaded = self._ensure_loaded()
        request = _Request(_prepare(loaded, rgb), loaded, time.monotonic(), Future())
        with self._batch_lock:
            self._queue.put(request)
            if self._worker is None:
                self._worker = threading.Thread(target=self._batcher, name="autocull-clip-batcher", daemon=True)
                self._worker.start()
        return request.future.result()

    def _batcher(self) -> None:
        """Gather queued requests into batches until idle for _IDLE_EXIT_S, then exit (restarted on demand)."""
        while True:
            try:
                first = self._queue.get(timeout=_IDLE_EXIT_S)
            except queue.Empty:
                with self._batch_lock:
                    if self._queue.empty():  # embed() queues under the same lock: nobody is left waiting
                        self._worker = None
                        return
                continue
            batch = [first]
            deadline = first.since + LINGER_S
            while len(batch) < self.settings.batch_size:
                try:
                    batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
                except queue.Empty:
                    break
            self._run_batch(batch)

    def _run_batch(self, batch: list[_Request]) -> None:
        by_model: dict[int, list[_Request]] = {}
        for request in batch:  # a reload() between queueing and running leaves two models: keep them apart
            by_model.setdefault(id(request.loaded), []).append(request)
        for group in by_model.values():
            self.embed_batches += 1  # only the batcher thread writes it
            try:
                rows = self._forward_images(group[0].loaded, [r.tensor for r in group])
            except BaseException as exc:  # noqa: BLE001 - every waiter must hear of the failure
                for request in group:
                    request.future.set_exception(exc)
                continue
            for request, row in zip(group, rows):
                request.future.set_result(row)

    def _check_weights_file(self, loaded: _Loaded) -> None:
        """Refuse a forward pass of a model whose weights file changed on disk since it was mapped, and drop it.

        The model's tensors are the file's pages: a file copied over in place (``cp``, ``curl -o``: truncated,
        then rewritten, same inode) makes the old mapping read the new bytes as garbage, or past the new end,
        where the process dies of SIGBUS. Checked (inode, size, mtime) before each pass, the model is forgotten
        before anything touches it; the caller hears why (ClipUnavailable) and the next call loads the new file
        (a new model id: the new vectors replace the old ones as after any model change). A truncation between
        this check and the forward pass is still a race the check cannot close; it makes the common case (new
        weights copied over the old while the daemon runs, seen at the next batch) safe. Called under
        ``_infer_lock``.
        """
        if not loaded.weights or _stamp(loaded.weights) == loaded.stamp:
            return
        message = f"CLIP {self._label()}: the weights file {loaded.weights} changed on disk; it loads again on next use"
        if self._loaded is loaded:
            self._loaded = None  # dropped, never run again; its mapping goes with the last reference
            self._status = (ClipState.IDLE, message)
        raise ClipUnavailable(message)

    def _forward_images(self, loaded: _Loaded, tensors: list[Any]) -> np.ndarray:
        if not tensors:
            return np.zeros((0, loaded.dim), np.float32)
        import torch

        rows = []
        with self._infer_lock, torch.inference_mode():
            for start in range(0, len(tensors), self.settings.batch_size):
                self._check_weights_file(loaded)
                batch = torch.stack(tensors[start : start + self.settings.batch_size])
                self.image_batches += 1
                rows.append(_unit(loaded.model.encode_image(batch)))
        return np.concatenate(rows)


def _unit(features: Any) -> np.ndarray:
    """Rows L2-normalised, as float32 numpy (a zero row stays zero instead of becoming NaN)."""
    array = features.float().cpu().numpy().astype(np.float32, copy=False)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return np.asarray(array / np.maximum(norms, 1e-12), dtype=np.float32)


def _prepare(loaded: _Loaded, rgb: np.ndarray) -> Any:
    """The model's own preprocessing of one HxWx3 uint8 array (a ValueError for anything else)."""
    if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", None)
        raise ValueError(f"CLIP needs an HxWx3 uint8 image, got {type(rgb).__name__} {shape}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"CLIP needs a non-empty image, got shape {rgb.shape}")
    from PIL import Image

    return loaded.preprocess(Image.fromarray(np.ascontiguousarray(rgb), "RGB"))


def _brief(exc: BaseException) -> str:
    """First line of an exception, short enough for a status line."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _threads(settings: ClipSettings) -> int:
    if settings.threads > 0:
        return settings.threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _register_config(settings: ClipSettings, open_clip: Any) -> None:
    """Register ``model_config`` with open_clip, checking what open_clip would silently ignore."""
    path = Path(_abspath(settings.model_config))
    if not path.is_file():
        raise _LoadError(f"model config {path} does not exist")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _LoadError(f"model config {path} is not readable JSON ({_brief(exc)})") from None
    missing = [k for k in ("embed_dim", "vision_cfg", "text_cfg") if not isinstance(config, dict) or k not in config]
    if missing:
        raise _LoadError(f"model config {path} lacks {', '.join(missing)} (open_clip ignores such a file)")
    if path.suffix != ".json":
        raise _LoadError(f"model config {path} must end in .json (open_clip reads only .json architecture files)")
    if path.stem != settings.model:
        raise _LoadError(
            f"model config {path} registers the model as {path.stem!r} (open_clip names it after the file); "
            f"set [clip] model = {path.stem!r}"
        )
    open_clip.add_model_config(path)  # re-scans, so an edited file is picked up on reload()


_PREPROCESS_KEYS = {
    "mean": "image_mean",
    "std": "image_std",
    "interpolation": "image_interpolation",
    "resize_mode": "image_resize_mode",
}


def _preprocess_kwargs(cfg: Mapping[str, Any]) -> dict[str, Any]:
    return {arg: cfg[key] for key, arg in _PREPROCESS_KEYS.items() if cfg.get(key) is not None}


def _file_preprocess(model: str, open_clip: Any) -> dict[str, Any]:
    """Preprocessing for a local weights file: what all the model's tags agree on (none: open_clip's default).

    A file copied from a tag's download (MobileCLIP's mean 0 / std 1, SigLIP's squash) then gets the
    normalisation it was trained with; a custom model gets open_clip's defaults, as from_pretrained would.
    """
    found = {
        tuple(sorted(_preprocess_kwargs(open_clip.get_pretrained_cfg(model, tag)).items()))
        for tag in open_clip.list_pretrained_tags_by_model(model)
    }
    return dict(next(iter(found))) if len(found) == 1 else {}


def _cached_tag_file(model: str, tag: str, open_clip: Any) -> tuple[Optional[str], dict[str, Any]]:
    """(cached weights file or None, the tag's preprocessing); ValueError-free: unknown tags raise _LoadError."""
    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        known = open_clip.list_pretrained_tags_by_model(model)
        hint = f"known: {', '.join(known[:8])}" if known else "it has no published weights: use a local file"
        raise _LoadError(f"unknown pretrained tag {tag!r} for {model} ({hint})")
    hub = cfg.get("hf_hub", "")
    if cfg.get("file"):
        return str(cfg["file"]), _preprocess_kwargs(cfg)
    if not hub:
        return None, _preprocess_kwargs(cfg)
    from huggingface_hub import try_to_load_from_cache
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    repo, filename = os.path.split(hub)  # as open_clip reads it: "org/name/" means its default file
    names = [HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME] if not filename else [filename]
    if filename.endswith((".bin", ".pth")):
        names.insert(0, filename[:-4] + ".safetensors")
    for name in names:
        hit = try_to_load_from_cache(repo, name)
        if isinstance(hit, str) and os.path.isfile(hit):
            return hit, _preprocess_kwargs(cfg)
    return None, _preprocess_kwargs(cfg)


def _probe_download(model: str, tag: str, open_clip: Any) -> None:
    """Fail fast when an uncached tag cannot be downloaded (huggingface_hub would retry for ~45 s)."""
    from huggingface_hub import constants

    where = f"weights {model}/{tag} are not in the download cache"
    fix = "connect once so open_clip can fetch them, or set [clip] pretrained to a local weights file"
    if constants.HF_HUB_OFFLINE:
        raise _LoadError(f"{where} and HF_HUB_OFFLINE is set: {fix}")
    cfg = open_clip.get_pretrained_cfg(model, tag)
    url = constants.ENDPOINT if cfg.get("hf_hub") else str(cfg.get("url", ""))
    host = urlparse(url).hostname or "huggingface.co"
    port = urlparse(url).port or 443
    try:
        socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S).close()
    except OSError as exc:
        raise _LoadError(f"{where} and {host} cannot be reached ({_brief(exc)}): {fix}") from None


def _load(settings: ClipSettings) -> _Loaded:
    """Create the model, its transform and tokenizer; a _LoadError says what is wrong in user terms."""
    try:
        import open_clip
        import torch
    except Exception as exc:  # noqa: BLE001 - a broken install is a status line, not a crash
        raise _LoadError(f"torch/open_clip could not be imported ({_brief(exc)})") from None
    threads = _threads(settings)
    torch.set_num_threads(threads)
    if settings.model_config:
        _register_config(settings, open_clip)
    if open_clip.get_model_config(settings.model) is None:
        raise _LoadError(
            f"unknown model {settings.model!r} (not one of open_clip's {len(open_clip.list_models())} "
            "architectures; a custom one needs [clip] model_config)"
        )
    kwargs: dict[str, Any] = {}
    pretrained: Optional[str] = None
    weights_path = ""
    named = weights_path_of(settings)
    named_stamp = _stamp(named) if named else None  # before the digest: a change after it is seen at a batch
    model_id = model_id_of(settings) or f"{settings.model}/file:missing"
    if settings.pretrained and is_weights_file(settings.pretrained):
        weights_path = _abspath(settings.pretrained)
        if not os.path.isfile(weights_path):
            raise _LoadError(f"weights file {weights_path} does not exist")
        pretrained = weights_path
        kwargs = _file_preprocess(settings.model, open_clip)
    elif settings.pretrained:
        cached, kwargs = _cached_tag_file(settings.model, settings.pretrained, open_clip)
        if cached is not None:
            pretrained = weights_path = cached
        else:
            _probe_download(settings.model, settings.pretrained, open_clip)
            pretrained, kwargs = settings.pretrained, {}  # let open_clip download it (once, into its cache)
    stamp = named_stamp if weights_path == named else _stamp(weights_path) if weights_path else None
    try:
        made = _mmap_model(settings.model, weights_path, kwargs, open_clip, torch) if weights_path else None
        if made is None:
            made = open_clip.create_model_and_transforms(settings.model, pretrained=pretrained, **kwargs)
        model, _, preprocess = made
    except Exception as exc:  # noqa: BLE001 - torch.load / load_state_dict raise many types
        why = _brief(exc)
        if weights_path:
            text = str(exc)
            if "state_dict" in text or "size mismatch" in text or "Missing key" in text:
                raise _LoadError(f"weights in {weights_path} do not fit model {settings.model} ({why})") from None
            raise _LoadError(f"weights could not be loaded from {weights_path} ({why})") from None
        raise _LoadError(f"model {settings.model} with weights {settings.pretrained!r} failed ({why})") from None
    model.eval()
    _trim_heap()
    tokenizer = open_clip.get_tokenizer(settings.model)
    dim = int(open_clip.get_model_config(settings.model)["embed_dim"])
    return _Loaded(model, preprocess, tokenizer, dim, threads, model_id, weights_path, stamp)


_TORCH_FORMATS = (".pt", ".pth", ".bin", ".ckpt")


def _mmap_model(model_name: str, path: str, kwargs: Mapping[str, Any], open_clip: Any, torch: Any) -> Optional[tuple]:
    """(model, None, preprocess) with the weights file mapped into memory, not copied; None when it cannot be.

    open_clip's own load builds the model with random weights (~1 s and 580 MB for ViT-B-32) and then copies a
    second, fully read state dict into it: 1.9 GB at its peak. Here the model is built on the meta device (no
    memory, no random init) and its parameters *are* the file's tensors (``torch.load(mmap=True)`` +
    ``load_state_dict(assign=True)``): pages are read as the forward pass touches them, so the text tower costs
    nothing until a text is encoded, and the pages are the page cache's, not a private copy. The state dict goes
    through open_clip's own fixes (``load_checkpoint``'s steps); anything this path does not handle (another
    format, a non-persistent buffer other than the causal mask, a failure) returns None and open_clip's load
    runs instead, which also words the errors.
    """
    if not path.lower().endswith(_TORCH_FORMATS):
        return None
    try:
        from open_clip import factory

        quiet = _DropRandomInitWarning()
        logging.getLogger().addFilter(quiet)  # open_clip warns of random weights: they are replaced just below
        try:
            with torch.device("meta"):
                model, _, preprocess = open_clip.create_model_and_transforms(
                    model_name, pretrained=None, device="meta", **kwargs
                )
        finally:
            logging.getLogger().removeFilter(quiet)
        checkpoint = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
        state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
        if not isinstance(state, dict) or not state:
            return None
        if next(iter(state)).startswith("module"):
            state = {k[7:]: v for k, v in state.items()}
        state = factory.convert_state_dict(model, state)
        if "positional_embedding" in state and not hasattr(model, "positional_embedding"):
            state = factory.convert_to_custom_text_state_dict(state)
        for key in ("logit_scale", "logit_bias"):
            ours = getattr(model, key, None)
            if key in state and ours is not None and ours.ndim != state[key].ndim:
                state[key] = state[key].reshape(ours.shape)
        if "logit_bias" not in state and getattr(model, "logit_bias", None) is not None:
            return None  # open_clip fills it in; not worth a second code path
        factory.resize_pos_embed(state, model)
        factory.resize_text_pos_embed(state, model)
        # assign=True takes the file's tensors as they are; open_clip's copying load casts them to the model's
        # dtype. A half-precision file would leave fp16 weights meeting fp32 inputs (every forward pass fails):
        # cast what differs (a private copy of those tensors only; the others stay mapped).
        expected = {k: v.dtype for k, v in model.state_dict().items()}
        for key, tensor in state.items():
            want = expected.get(key)
            if want is not None and tensor.dtype != want:
                state[key] = tensor.to(want)
        model.load_state_dict(state, strict=True, assign=True)
        for owner, name, buffer in _meta_buffers(model):
            if name != "attn_mask" or buffer.ndim != 2 or buffer.shape[0] != buffer.shape[1]:
                return None
            # open_clip's TextTransformer.build_causal_mask: -inf above the diagonal, 0 on and below it
            owner._buffers[name] = torch.full(tuple(buffer.shape), float("-inf"), dtype=buffer.dtype).triu_(1)
        if any(t.is_meta for t in list(model.parameters()) + list(model.buffers())):
            return None
        return model, None, preprocess
    except Exception:  # noqa: BLE001 - the ordinary load runs next and says what is wrong
        return None


class _DropRandomInitWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No pretrained weights loaded for model")


def _meta_buffers(model: Any) -> list[tuple[Any, str, Any]]:
    """(module, name, buffer) of every buffer still on the meta device (not in the state dict)."""
    return [
        (module, name, buffer)
        for module in model.modules()
        for name, buffer in module._buffers.items()
        if buffer is not None and buffer.is_meta
    ]


def _trim_heap() -> None:
    """Give freed heap back to the OS after a load (glibc keeps it otherwise); Linux/glibc only, else nothing."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
