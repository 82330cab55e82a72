"""The learned-taste side of the engine: CLIP vectors, the photographer's ratings and models, search, selection.

It reads and writes only its own tables (vectors, ratings, models); verdicts stay with ``apply``. What needs
torch (encoding images and texts) goes through ``ClipEncoder``, which loads lazily on first use; everything a
decision needs (stored vectors, the stored model, cached text vectors) is read from the store with numpy alone,
so the daemon's first answer never waits for torch.

Model changes: the vectors and models of the *serving* model id answer until every stored photo has a vector
under the configured model; then the profiles are retrained on the new vectors and the serving id switches (the
engine re-decides). Training runs in a background thread; the previous model serves until the new one is stored.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

from ..records import Preference
from ..store import Store
from .clip import (
    ClipEncoder,
    ClipSettings,
    ClipState,
    ClipUnavailable,
    file_sha256,
    known_sha256,
    remember_sha256,
    weights_path_of,
)

log = logging.getLogger(__name__)

SERVING_KEY = "clip_serving_model"
# The sha256 of the configured weights file with the size and mtime it was read at (JSON): a restart reuses it
# instead of reading ~600 MB again; a file with another size or mtime is hashed anew.
WEIGHTS_HASH_KEY = "clip_weights_sha256"
BACKFILL_BATCH = 32  # photos decoded and encoded at once in the background
QUERY_CACHE = 256  # search texts whose vectors are kept in memory
START_DELAY = 2.0  # seconds after start before the worker looks for work
BACKFILL_SIZE = 448  # long edge (px) decoded for an embedding alone (CLIP sees 224 px)


@dataclass(frozen=True)
class TasteState:
    """What a profile's model is and how far it is trusted: for the feedback answer, status and the plugins."""

    profile: str
    labels: int  # ratings in the profile
    embedded: int  # of those, with a vector (what training can use)
    ready: bool  # a model exists
    quality: Optional[float]  # its cross-validated quality (AUC, or (1+rho)/2 for a star model alone)
    auc: Optional[float]
    spearman: Optional[float]
    needed: int  # more ratings needed before a model is trained
    sentence: str


class Taste:
    """Owns the encoder, the background embedding and training threads, and the per-profile models."""

    def __init__(
        self,
        store: Store,
        settings: ClipSettings,
        on_vectors: Callable[[list[str]], None],
        *,
        active_profile: Callable[[], str] = lambda: "default",
        min_labels: Callable[[], int] = lambda: 20,
        max_pixels: int = 250_000_000,
    ) -> None:
        self.store = store
        self.settings = settings
        self.encoder = ClipEncoder(settings)
        self._on_vectors = on_vectors
        self._active_profile = active_profile
        self._min_labels = min_labels  # the policy's preference_min_labels, read when a training starts
        self._max_pixels = max_pixels
        self._queries: dict[tuple[str, str], np.ndarray] = {}  # search texts: memory only (private, unbounded)
        self._lock = threading.RLock()
        self._models: dict[tuple[str, str], Any] = {}  # (profile, model id) -> TasteModel | NotTrained
        self._texts: dict[tuple[str, str], np.ndarray] = {}  # (model id, text) -> unit vector
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._train: set[str] = set()  # profiles waiting for training
        self._thread: Optional[threading.Thread] = None
        self._busy = threading.Event()  # set while the worker embeds or trains (tests and status read it)
        self.last_error = ""
        self._vocabulary_ready = ""  # the model id whose vocabulary text vectors are cached
        self._claimed = False  # the serving model id is in the store
        self._refused: dict[str, str] = {}  # profile -> why its last training made no model
        self._hash_stored = False  # the weights file's digest is in the store
        self._digest: Optional[Future[str]] = None  # the configured id, being read off the request path
        if self.encoder.usable():
            self._recall_weights_hash()

    # ------------------------------------------------------------ lifecycle --
    def start(self) -> None:
        """Start the background worker (embeds what lacks a vector, trains what was asked)."""
        if self._thread is None and self.encoder.usable():
            self._thread = threading.Thread(target=self._run, name="taste", daemon=True)
            self._thread.start()
            self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def poke(self) -> None:
        """New photos or ratings: look for work."""
        self._wake.set()

    def idle(self) -> bool:
        """No background work pending or running (tests and `teach` wait for it). Without a worker (CLIP off or
        not installed, or no daemon) nothing runs in the background, so it is always idle."""
        if self._thread is None or not self._thread.is_alive():
            return True
        return not self._busy.is_set() and not self._wake.is_set() and not self._train

    # -------------------------------------------------------------- models --
    @property
    def usable(self) -> bool:
        return self.encoder.usable()

    @property
    def configured(self) -> str:
        """The configured model's id; the first call may hash the weights file (background and analysis only)."""
        found = self.encoder.model_id
        if not self._hash_stored:
            self._store_weights_hash()
        return found

    def _configured_off_request(self) -> str:
        """The configured model's id without reading the weights file in this thread (a request's): known ids at
        once; else one background thread reads the digest (shared by every request waiting for it)."""
        known = self.encoder.known_model_id()
        if known is not None:
            return known
        with self._lock:
            pending = self._digest
            if pending is None or pending.done():
                pending = self._digest = Future()
                threading.Thread(target=self._read_digest, args=(pending,), name="taste-digest", daemon=True).start()
        return pending.result()

    def _read_digest(self, into: Future[str]) -> None:
        try:
            into.set_result(self.configured)
        except BaseException as exc:  # noqa: BLE001 - the waiting request hears of it
            into.set_exception(exc)

    def serving(self) -> str:
        """The model id whose vectors and models answer now (the configured one once it covers the store).

        Never reads the weights file: before the first vector is stored and while the file's digest is not known
        yet, no vector exists under any model, so an id nothing is stored under answers as well."""
        stored = self.store.get_setting(SERVING_KEY)
        if stored:
            return stored
        now = self.encoder.known_model_id()
        return now if now is not None else f"{self.settings.model}/file:not-hashed-yet"

    def _recall_weights_hash(self) -> None:
        """Seed the digest cache from the store (one settings row; the daemon's start-up never hashes)."""
        path = weights_path_of(self.settings)
        body = self.store.get_setting(WEIGHTS_HASH_KEY) if path else None
        if not path or not body:
            return
        try:
            kept = json.loads(body)
            if kept["path"] == path:
                remember_sha256(path, int(kept["size"]), int(kept["mtime_ns"]), str(kept["sha256"]))
        except (ValueError, KeyError, TypeError):
            log.info("taste: the stored digest of the weights file is unreadable; hashing it again")

    def _store_weights_hash(self) -> None:
        """Keep the weights file's digest (with the size and mtime it belongs to) for the next start."""
        self._hash_stored = True
        path = weights_path_of(self.settings)
        if not path:
            return
        try:
            digest = file_sha256(path)
            st = os.stat(path)
        except OSError:
            return
        if known_sha256(path) != digest:  # changed while it was read: the next start hashes it again
            return
        body = json.dumps({"path": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest})
        if self.store.get_setting(WEIGHTS_HASH_KEY) != body:
            self.store.set_settings({WEIGHTS_HASH_KEY: body})

    def embed_photo(self, path: str, size: int, mtime_ns: int, rgb: np.ndarray) -> None:
        """Embed one decoded photo under the configured model and store its vector (``embed_photos`` of one)."""
        self.embed_photos([(path, size, mtime_ns, rgb)])

    def embed_photos(self, items: Sequence[tuple[str, int, int, np.ndarray]]) -> None:
        """Embed decoded photos, (path, size, mtime_ns, rgb) each, in one forward pass, and store the vectors in
        one write: what the analysis writer calls with a batch of worker results.

        Loads the model on first use; in the daemon a model not loaded yet is the background worker's to load
        (a cull never waits for it; the photos get their vectors from the backfill). A failure costs vectors,
        never a photo's analysis: a model that cannot load leaves them all without one (the status says why);
        a batch the model chokes on is tried one photo at a time so only the culprit goes without."""
        if not items or not self.encoder.usable():
            return
        if self._thread is not None and self.encoder.state()[0] is not ClipState.READY:
            self.poke()
            return
        images = [rgb for _, _, _, rgb in items]
        try:
            vecs: list[Any] = list(self.encoder.encode_images(images))
        except ClipUnavailable as exc:
            self.last_error = str(exc)
            return
        except Exception:
            if len(items) == 1:
                log.exception("taste: could not embed %s", items[0][0])
                return
            log.warning("taste: a batch of %d photos could not be embedded; trying them one by one", len(items))
            vecs = []
            for (path, _, _, _), rgb in zip(items, images):
                try:
                    vecs.append(self.encoder.encode_images([rgb])[0])
                except ClipUnavailable as exc:
                    self.last_error = str(exc)
                    return
                except Exception as exc:  # this photo's vector only
                    log.info("taste: no vector for %s: %s", path, exc)
                    vecs.append(None)
        rows = [(p, s, m, v) for (p, s, m, _), v in zip(items, vecs) if v is not None]
        self._put_each(self.configured, rows)
        self._ensure_vocabulary()

    def _put_each(self, model: str, rows: list[tuple[str, int, int, np.ndarray]]) -> list[str]:
        """Store the vectors in one write; if one is refused (not finite), store the others one by one.
        Returns the paths stored."""
        if not rows:
            return []
        try:
            self._put(model, rows)
            return [r[0] for r in rows]
        except ValueError:
            stored = []
            for row in rows:
                try:
                    self._put(model, [row])
                    stored.append(row[0])
                except ValueError as exc:
                    log.info("taste: no vector for %s: %s", row[0], exc)
            return stored

    def _put(self, model: str, rows: list[tuple[str, int, int, np.ndarray]]) -> None:
        """Store vectors; the first model ever to store one becomes the serving model."""
        self.store.put_embeddings(model, rows)
        if not self._claimed:
            if self.store.get_setting(SERVING_KEY) is None:
                self.store.set_settings({SERVING_KEY: model})
            self._claimed = True

    def _ensure_vocabulary(self) -> None:
        """Once the model is loaded, cache the vocabulary's text vectors (content keywords read only the cache)."""
        if self._vocabulary_ready == self.configured or self.serving() != self.configured:
            return
        try:
            self._vocabulary_vectors(encode=True)
        except ClipUnavailable as exc:
            self.last_error = str(exc)
            return
        self._vocabulary_ready = self.configured

    def vectors(self, paths: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored unit vectors of the serving model (burst grouping reads them)."""
        if not self.usable:
            return {}
        return self.store.embeddings(paths, self.serving())

    def model(self, profile: str) -> Any:
        """The stored TasteModel of the profile under the serving model id, else None (cached)."""
        from .learn import TasteModel

        key = (profile, self.serving())
        with self._lock:
            if key in self._models:
                return self._models[key]
        body = self.store.taste_model(*key)
        found: Any = None
        if body:
            try:
                found = TasteModel.from_json(body)
            except (ValueError, KeyError, TypeError) as exc:
                log.warning("the stored taste model of profile %r is unreadable (%s); retraining", profile, exc)
                self.request_training(profile)
        with self._lock:  # a model the worker stored meanwhile wins over what was read before it
            return self._models.setdefault(key, found)

    def preferences(self, vectors: Mapping[str, np.ndarray], profile: str, min_quality: float) -> dict[str, Preference]:
        """Each photo's preference (from its serving vector) under the profile's model, with whether it counts
        (the model's cross-validated quality reached the line)."""
        if not vectors or not self.usable:
            return {}
        model = self.model(profile)
        if model is None:
            return {}
        from .learn import score

        names = list(vectors)
        values = score(model, np.vstack([vectors[p] for p in names]))
        quality = model.quality()
        counts = quality is not None and quality >= min_quality
        summary = model.summary()
        return {
            p: Preference(float(v), counts, summary, quality if quality is not None else 0.0, min_quality)
            for p, v in zip(names, values)
        }

    def state(self, profile: str) -> TasteState:
        """How far the profile's model has come, in numbers and one sentence."""
        min_labels = self._min_labels()
        rows = self.store.feedback(profile)
        paths = [r[0] for r in rows]
        serving = self.serving()
        embedded = len(self.store.embedding_stamps(paths, serving)) if paths else 0
        if not self.usable:
            state, _ = self.encoder.state()
            how = {ClipState.OFF: "off", ClipState.NOT_INSTALLED: "not installed"}.get(state, "not loadable")
            why = f"profile {profile!r}: {len(rows)} ratings kept, not learned from while CLIP is {how}"
            return TasteState(profile, len(rows), embedded, False, None, None, None, 0, why)
        model = self.model(profile)
        if model is not None:
            quality = model.quality()
            return TasteState(
                profile,
                len(rows),
                embedded,
                True,
                quality,
                model.auc,
                model.spearman,
                0,
                f"profile {profile!r}: taste model {model.summary()}"
                + ("" if embedded >= len(rows) else f"; {len(rows) - embedded} new ratings wait for their embedding"),
            )
        needed = max(0, min_labels - embedded)
        waiting = len(rows) - embedded
        text = f"profile {profile!r}: {embedded} ratings with an embedding"
        if needed:
            text += f", {needed} more needed before a taste model is trained (minimum {min_labels})"
        elif profile in self._train:
            text += ", training"
        elif profile in self._refused:
            text += f", no model: {self._refused[profile]}"
        else:
            text += ", no model yet"
        if waiting:
            text += f"; {waiting} ratings wait for their embedding"
        return TasteState(profile, len(rows), embedded, False, None, None, None, needed, text)

    def request_training(self, profile: str) -> None:
        with self._lock:
            self._train.add(profile)
        self._wake.set()

    # ------------------------------------------------------- content, search --
    def query_vector(self, text: str) -> np.ndarray:
        """A search text's unit vector under the serving model: made with the model, kept in memory only (a search
        is private and need not outlive the daemon; at most ``QUERY_CACHE`` are kept)."""
        model = self.serving()
        if model != self._configured_off_request():
            raise ClipUnavailable("the search text cannot be encoded while the model changes; try again shortly")
        with self._lock:
            found = self._queries.get((model, text))
        if found is not None:
            return found
        vec = self.encoder.encode_texts([text])[0]
        with self._lock:
            if len(self._queries) >= QUERY_CACHE:
                self._queries.pop(next(iter(self._queries)))
            self._queries[(model, text)] = vec
        return vec

    def text_vectors(self, texts: Sequence[str], *, encode: bool) -> Optional[np.ndarray]:
        """Unit vectors of the vocabulary's ``texts`` under the serving model: cached in memory and the store;
        ``encode`` allows loading the model to make the missing ones (a decision never does: it reads the cache)."""
        model = self.serving()
        with self._lock:
            missing = [t for t in texts if (model, t) not in self._texts]
        if missing:
            stored = self.store.text_vectors(model)
            with self._lock:
                for t, v in stored.items():
                    self._texts[(model, t)] = v
                missing = [t for t in texts if (model, t) not in self._texts]
        if missing:
            if not encode or model != self.configured:
                return None
            made = self.encoder.encode_texts(missing)
            self.store.put_text_vectors(model, dict(zip(missing, made)))
            with self._lock:
                for t, v in zip(missing, made):
                    self._texts[(model, t)] = v
        with self._lock:
            return np.vstack([self._texts[(model, t)] for t in texts])

    def _vocabulary_vectors(self, *, encode: bool) -> Optional[np.ndarray]:
        """One unit vector per vocabulary label (the mean of its prompts)."""
        from .content import label_vectors, prompts

        groups = prompts(self.settings.vocabulary)
        vecs = self.text_vectors([t for g in groups for t in g], encode=encode)
        return None if vecs is None else label_vectors(vecs, groups)

    def content(self, vectors: Mapping[str, np.ndarray], min_prob: float, margin: float) -> dict[str, tuple[str, ...]]:
        """Content labels of each photo (zero-shot against the vocabulary), from cached text vectors only."""
        if not vectors or not self.usable:
            return {}
        vocab = self._vocabulary_vectors(encode=False)
        if vocab is None:
            return {}
        from .content import content_labels

        names = list(vectors)
        labels = content_labels(
            np.vstack([vectors[p] for p in names]), vocab, self.settings.vocabulary, min_prob=min_prob, margin=margin
        )
        return {p: tuple(name for name, _ in found) for p, found in zip(names, labels) if found}

    def search(self, text: str, paths: Optional[Sequence[str]]) -> list[tuple[str, float]]:
        """Stored photos (or ``paths``) ranked by similarity to ``text``, best first."""
        from .select import rank_by_text

        if not self.usable:
            raise ClipUnavailable(self.encoder.state()[1])
        model = self.serving()
        names, matrix = self.store.all_embeddings(model, paths)
        if not names:
            return []
        sims = rank_by_text(self.query_vector(text), matrix)
        order = np.argsort(-sims, kind="stable")
        return [(names[i], float(sims[i])) for i in order]

    # ----------------------------------------------------------- background --
    def work_now(self) -> None:
        """Do in this thread what the background worker would: embed what lacks a vector, switch to a new model
        once it covers the store, train the profiles waiting (the CLI without a daemon calls this)."""
        self._wake.clear()
        self._backfill()
        self._switch_model()
        self._train_waiting()

    def _run(self) -> None:
        if self._stop.wait(START_DELAY):  # the daemon's first answers come before any model is loaded
            return
        try:
            _ = self.configured  # the weights file's digest, read here once and kept for the next start
        except Exception:
            log.exception("taste: the configured model's id")
        while not self._stop.is_set():
            self._wake.wait(timeout=60)
            if self._stop.is_set():
                return
            self._busy.set()
            self._wake.clear()
            try:
                self._backfill()
                self._switch_model()
                self._train_waiting()
            except Exception:  # the worker must outlive any one bad photo or model
                log.exception("taste worker")
            finally:
                self._busy.clear()

    def _backfill(self) -> None:
        """Embed stored and rated photos that have no vector under the configured model, a batch at a time.

        A photo that cannot be embedded (gone, unreadable, changed since analysed, a vector that is not finite) is
        recorded as such for this model and file version, so it never holds the batch or a model change back."""
        from ..decode import decode

        model = self.configured
        while not self._stop.is_set() and self.encoder.usable():
            rows = self.store.unembedded(model, BACKFILL_BATCH)
            if not rows:
                return
            images, stamps, failed = [], [], []
            for path, size, mtime_ns in rows:
                try:
                    st = os.stat(path)  # a missing or unreadable file is that photo's failure, recorded below
                    if size >= 0 and (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
                        failed.append((path, size, mtime_ns, "changed since it was analysed: the next cull embeds it"))
                        continue
                    rgb = decode(path, analysis_size=BACKFILL_SIZE, max_pixels=self._max_pixels).rgb
                except Exception as exc:  # one bad file costs its own vector only
                    failed.append((path, size, mtime_ns, str(exc)[:500]))
                    continue
                images.append(rgb)
                stamps.append((path, st.st_size, st.st_mtime_ns))
            done: list[str] = []
            try:
                vecs = list(self.encoder.encode_images(images)) if images else []
            except ClipUnavailable as exc:
                self.last_error = str(exc)
                return
            except Exception:  # a batch the model chokes on: one at a time, so only the culprit is left out
                log.exception("taste: a batch could not be embedded; trying its photos one by one")
                vecs = []
                for image in images:
                    try:
                        vecs.append(self.encoder.encode_images([image])[0])
                    except ClipUnavailable as exc:
                        self.last_error = str(exc)
                        return
                    except Exception as exc:
                        vecs.append(exc)
            for (path, size, mtime_ns), vec in zip(stamps, vecs):
                try:
                    if isinstance(vec, Exception):
                        raise vec
                    self._put(model, [(path, size, mtime_ns, vec)])
                    done.append(path)
                except Exception as exc:
                    failed.append((path, size, mtime_ns, str(exc)[:500]))
            if failed:
                for path, _, _, why in failed:
                    log.info("taste: no vector for %s: %s", path, why)
                self.store.put_embedding_failures(model, failed)
            if done:
                self._ensure_vocabulary()
                self._after_new_vectors(done)

    def _after_new_vectors(self, paths: list[str]) -> None:
        """New vectors: retrain the profiles that rated these photos, and re-decide those photos."""
        if self.serving() != self.configured:
            return  # the old model still serves; nothing it decides has changed
        for profile in self.store.profiles_rating(paths):
            self.request_training(profile)
        self._on_vectors(paths)

    def _switch_model(self) -> None:
        """Once the configured model covers every stored photo, retrain every profile on it and serve it."""
        configured, serving = self.configured, self.serving()
        if configured == serving and self.store.get_setting(SERVING_KEY) == configured:
            return
        if self.store.unembedded(configured, 1):
            return
        for profile in self.store.profiles():
            self._train_one(profile, configured)
        self.store.set_settings({SERVING_KEY: configured})
        with self._lock:
            self._models.clear()
        if serving != configured:
            log.info("taste: now serving %s (was %s)", configured, serving)
        self._on_vectors(self.store.all_paths())

    def _train_waiting(self) -> None:
        while True:
            with self._lock:
                if not self._train:
                    return
                profile = self._train.pop()
            if self._train_one(profile, self.serving()) and profile == self._active_profile():
                self._on_vectors(self.store.all_paths())  # the stored verdicts follow the new model

    def _train_one(self, profile: str, model_id: str) -> bool:
        """Train the profile on its ratings with vectors under ``model_id``; store it. True when a model changed."""
        from .learn import Rating, TasteModel, train

        rows = self.store.feedback(profile)
        vectors = self.store.embeddings([r[0] for r in rows], model_id)
        usable = [r for r in rows if r[0] in vectors]
        ratings = [Rating(path=p, rating=int(r), pick=pk, label=lb) for p, r, pk, lb, _ in usable]
        X = np.vstack([vectors[r.path] for r in ratings]) if ratings else np.zeros((0, 1), dtype=np.float32)
        started = time.monotonic()
        result = train(profile, model_id, X, ratings, min_labels=self._min_labels(), now=time.time())
        log.info("taste: trained %r on %d ratings in %.1f s", profile, len(ratings), time.monotonic() - started)
        if not isinstance(result, TasteModel):
            with self._lock:
                self._refused[profile] = result.why
            return False
        self.store.put_taste_model(profile, model_id, result.to_json(), result.trained_at)
        with self._lock:
            self._models[(profile, model_id)] = result
            self._refused.pop(profile, None)
        return True
