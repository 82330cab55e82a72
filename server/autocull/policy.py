"""The Policy: every threshold, weight and mapping a photographer may change.

One flat record of named values so that ``autocull policy set KEY=VALUE``, the
proto's ``Struct`` and the stored JSON are the same thing. Numbers inside metric
functions are constants of the algorithms; numbers here are the photographer's.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from .errors import InvalidArgument

LABELS = ("none", "red", "yellow", "green", "blue", "purple")
PICKS = ("picked", "none", "rejected")
VERDICTS = ("keep", "review", "reject")


def _keyword_problem(value: str) -> Optional[str]:
    """Why ``value`` cannot be a parent keyword (Lightroom's 'A|B|C' hierarchy), or None."""
    if not value:
        return "must not be empty"
    if any(not part.strip() for part in value.split("|")):
        return "needs a name on each side of every '|' (no empty level, no leading or trailing '|')"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must not contain control characters"
    return None


def _profile_problem(value: str) -> Optional[str]:
    """Why ``value`` cannot name a taste profile, or None."""
    if not value.strip():
        return "must not be empty"
    if len(value) > 64 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return "must be at most 64 printable characters"
    return None


def _f(
    default: Any,
    doc: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    choices: tuple[str, ...] | None = None,
    check: Callable[[Any], Optional[str]] | None = None,
) -> Any:
    meta = {"doc": doc, "lo": lo, "hi": hi, "choices": choices, "check": check}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Policy:
    # --- sharpness (0..1 scores from the measure stage) ---
    sharpness_reject: float = _f(0.25, "Subject sharpness below this rejects the photo.", lo=0, hi=1)
    sharpness_review: float = _f(0.45, "Subject sharpness below this sends the photo to review.", lo=0, hi=1)
    motion_blur_line: float = _f(0.5, "Motion score above which a soft photo is called motion-blurred.", lo=0, hi=1)
    # --- exposure ---
    exposure_reject_ev: float = _f(
        2.5,
        "Stops off a normal exposure that reject: too dark when the highlights sit "
        "this far below where a normal exposure puts them and the midtones are dark too "
        "(a low median alone never counts), too bright when the midtones sit this far "
        "above mid-grey.",
        lo=0,
        hi=10,
    )
    exposure_review_ev: float = _f(
        1.5, "Stops off a normal exposure that send to review, read as for exposure_reject_ev.", lo=0, hi=10
    )
    highlight_clip_reject: float = _f(
        0.35, "Share of the frame blown out (luma at white, detail lost) above which the photo is rejected.", lo=0, hi=1
    )
    highlight_clip_review: float = _f(
        0.12, "Share of the frame blown out (luma at white, detail lost) above which it goes to review.", lo=0, hi=1
    )
    channel_clip_note: float = _f(
        0.05,
        "Share of the frame where one colour channel is saturated (the others keep "
        "the detail) above which a note names it; never a review. 1 turns it off.",
        lo=0,
        hi=1,
    )
    shadow_clip_reject: float = _f(0.70, "Share of the frame crushed to black above which it is rejected.", lo=0, hi=1)
    shadow_clip_review: float = _f(
        0.35, "Share of the frame crushed to black above which it goes to review.", lo=0, hi=1
    )
    # --- noise ---
    noise_review_sigma: float = _f(
        14.0, "Estimated noise (0..255 units) above which the photo goes to review.", lo=0, hi=255
    )
    # --- composition ---
    horizon_note: bool = _f(
        True, "Add a note (never a review or reject by itself) when a horizon or the verticals are tilted."
    )
    horizon_tilt_min: float = _f(2.5, "Tilt (degrees) from which a horizon or the verticals get a note.", lo=0, hi=15)
    # --- faces and eyes ---
    reject_closed_eyes: bool = _f(True, "Reject photos where eyes are closed (see closed_eyes_scope).")
    closed_eyes_scope: str = _f(
        "main",
        "Which closed eyes reject: 'main' (main subject; a minor face sends to "
        "review), 'any' face, or 'fraction' of the faces.",
        choices=("main", "any", "fraction"),
    )
    closed_eyes_fraction: float = _f(
        0.5, "With scope 'fraction': share of faces with closed eyes that rejects.", lo=0, hi=1
    )
    min_face_size: float = _f(0.04, "Faces smaller than this share of the frame's short side do not count.", lo=0, hi=1)
    face_sharpness_reject: float = _f(0.30, "Main face sharpness below this rejects.", lo=0, hi=1)
    face_sharpness_review: float = _f(0.45, "Main face sharpness below this sends to review.", lo=0, hi=1)
    uncertain_eyes_review: bool = _f(
        True, "Send photos whose main face has uncertain eyes (squint, half-blink) to review."
    )
    # --- overall quality -> stars ---
    weight_sharpness: float = _f(0.45, "Weight of subject sharpness in the quality score.", lo=0, hi=10)
    weight_exposure: float = _f(0.25, "Weight of exposure in the quality score.", lo=0, hi=10)
    weight_noise: float = _f(0.10, "Weight of noise in the quality score.", lo=0, hi=10)
    weight_eyes: float = _f(0.20, "Weight of open eyes (when there are faces) in the quality score.", lo=0, hi=10)
    weight_preference: float = _f(0.30, "Weight of your learned preference (once trained).", lo=0, hi=10)
    keep_quality: float = _f(0.40, "Quality below this sends an otherwise fine photo to review.", lo=0, hi=1)
    stars_thresholds: list = _f(
        [0.30, 0.50, 0.65, 0.80, 0.92], "Quality needed for 1..5 stars (five ascending numbers)."
    )
    # --- learned taste (CLIP embeddings + your ratings) ---
    profile: str = _f(
        "default",
        "Whose taste: the ratings and model of this profile ('wedding', 'landscape').",
        check=_profile_problem,
    )
    preference_min_labels: int = _f(
        20, "Ratings (with an embedding) needed before a taste model is trained.", lo=5, hi=100_000
    )
    preference_min_quality: float = _f(
        0.65,
        "Cross-validated quality (ROC AUC for keep/reject) a taste model needs before it counts in the decision.",
        lo=0.5,
        hi=1,
    )
    burst_taste_tie: float = _f(
        0.03,
        "Frames of a burst whose technical quality is within this of the best are ranked by your taste.",
        lo=0,
        hi=1,
    )
    content_keywords: bool = _f(False, "Tag what a photo shows (zero-shot CLIP against the [clip] vocabulary).")
    content_root: str = _f(
        "AutoCull|Content",
        "Parent keyword of the content keywords ('AutoCull|Content|Landscape').",
        check=_keyword_problem,
    )
    content_min_prob: float = _f(
        0.35, "Share of the vocabulary's probability a content label needs to be tagged.", lo=0, hi=1
    )
    content_margin: float = _f(0.10, "How far a content label must lead the next one to be tagged.", lo=0, hi=1)
    # --- bursts ---
    burst_gap_seconds: float = _f(
        2.0, "Frames from one camera closer than this in time can form a burst.", lo=0, hi=3600
    )
    burst_hash_distance: int = _f(
        14,
        "Largest mean pHash/dHash Hamming distance (of 64) for frames from one camera "
        "within the gap to count as the same scene; near-duplicates (no capture time, or "
        "two cameras) must have pHash + dHash distance within this.",
        lo=0,
        hi=64,
    )
    burst_clip_cosine: float = _f(
        0.92, "With embeddings: smallest cosine similarity for frames to count as the same scene.", lo=0, hi=1
    )
    burst_others: str = _f(
        "review", "What the non-best frames of a burst get: 'review' or 'reject'.", choices=("review", "reject")
    )
    burst_label: str = _f(
        "none", "Colour label for the non-best frames of a burst ('none' keeps the verdict's label).", choices=LABELS
    )
    burst_keywords: bool = _f(True, "Tag burst frames with AutoCull|Burst|<id>.")
    bracket_ev_step: float = _f(
        0.6, "Exposure-compensation step (EV) between frames that marks a bracket, not a burst.", lo=0, hi=10
    )
    # --- mapping verdict -> host actions ---
    keep_pick: str = _f("picked", "Flag written for a keeper.", choices=PICKS)
    review_pick: str = _f("none", "Flag written for a photo to review.", choices=PICKS)
    reject_pick: str = _f("rejected", "Flag written for a reject.", choices=PICKS)
    keep_label: str = _f("none", "Colour label for a keeper.", choices=LABELS)
    review_label: str = _f("yellow", "Colour label for a photo to review.", choices=LABELS)
    reject_label: str = _f("red", "Colour label for a reject.", choices=LABELS)
    reject_stars: int = _f(0, "Stars written on a reject.", lo=0, hi=5)
    keyword_root: str = _f(
        "AutoCull", "Parent keyword under which every AutoCull keyword lives ('A|B' nests it).", check=_keyword_problem
    )
    # --- XMP sidecars (sidecar.py) ---
    xmp_sidecars: str = _f(
        "off",
        "Merge each verdict into the photo's XMP sidecar when it is stored: 'off', 'watched' (photos under a "
        "watched folder) or 'always'. `autocull xmp write PATH` writes on demand whatever this says.",
        choices=("off", "watched", "always"),
    )
    xmp_overwrite_hand: bool = _f(
        False, "Overwrite a rating or colour label in a sidecar that was set by hand (not by AutoCull)."
    )
    xmp_sidecar_name: str = _f(
        "darktable",
        "Name of a new sidecar when the folder has none to follow: 'darktable' (IMG_1.CR2.xmp, one per file, "
        "also read by digiKam) or 'adobe' (IMG_1.xmp, RAWs only; a JPEG beside its RAW still gets IMG_1.JPG.xmp).",
        choices=("darktable", "adobe"),
    )
    # --- watched folders ---
    watch_retries: int = _f(
        3,
        "Times a photo in a watched folder that could not be read is tried again (with growing waits) before "
        "it is given up and listed by `autocull status --failed`; it is read again only once the file changes.",
        lo=0,
        hi=100,
    )

    # ------------------------------------------------------------------ API
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "Policy":
        return cls().with_values(values)

    def with_values(self, values: Mapping[str, Any]) -> "Policy":
        """A copy with ``values`` applied; every key and value is checked."""
        changes = {name: _coerce(name, raw) for name, raw in values.items()}
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def validate(self) -> None:
        for _, message in self.problems():
            raise InvalidArgument(message)

    def problems(self) -> list[tuple[tuple[str, ...], str]]:
        """Rules across values: (the keys involved, message) for each one broken."""
        out: list[tuple[tuple[str, ...], str]] = []
        th = self.stars_thresholds
        if len(th) != 5 or any(not 0 <= t <= 1 for t in th) or list(th) != sorted(th):
            out.append((("stars_thresholds",), "stars_thresholds needs five ascending numbers between 0 and 1"))
        for low, high in (
            ("sharpness_reject", "sharpness_review"),
            ("face_sharpness_reject", "face_sharpness_review"),
            ("exposure_review_ev", "exposure_reject_ev"),
            ("highlight_clip_review", "highlight_clip_reject"),
            ("shadow_clip_review", "shadow_clip_reject"),
        ):
            if getattr(self, low) > getattr(self, high):
                out.append(
                    ((low, high), f"{low} ({getattr(self, low)}) must not be above {high} ({getattr(self, high)})")
                )
        return out

    def label_for(self, verdict: str) -> str:
        return getattr(self, f"{verdict}_label")

    def pick_for(self, verdict: str) -> str:
        return getattr(self, f"{verdict}_pick")


FIELDS = {f.name: f for f in dataclasses.fields(Policy)}


def describe() -> list[dict[str, Any]]:
    """Name, default and description of every policy key (for UIs and `policy show`)."""
    default = Policy()
    return [{"name": n, "default": getattr(default, n), "description": f.metadata["doc"]} for n, f in FIELDS.items()]


def clean_values(values: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Split stored values into those that make a valid policy and why each other one was dropped.

    For a policy or preset written by an older version (a renamed key, a NaN, a value out of today's
    range): every value that is valid on its own is kept, and where two kept values break a rule
    together both go (the defaults always agree with each other), so the result always loads.
    """
    kept: dict[str, Any] = {}
    dropped: list[str] = []
    for name, raw in values.items():
        if name not in FIELDS:
            dropped.append(f"unknown policy key {name!r} (renamed or removed)")
            continue
        try:
            kept[name] = _coerce(name, raw)
        except InvalidArgument as exc:
            dropped.append(exc.message)
    for keys, message in dataclasses.replace(Policy(), **kept).problems():
        stored = [k for k in keys if k in kept]
        for k in stored:
            del kept[k]
        if stored:
            dropped.append(f"{', '.join(stored)} ({message})")
    return kept, dropped


def _coerce(name: str, raw: Any) -> Any:
    """Turn a value from JSON, a Struct or a `KEY=VALUE` string into the field's type."""
    f = FIELDS.get(name)
    if f is None:
        raise InvalidArgument(f"unknown policy key {name!r}; known keys: {', '.join(sorted(FIELDS))}")
    default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]
    try:
        if isinstance(default, bool):
            value: Any = _to_bool(raw)
        elif isinstance(default, int):
            value = int(float(raw)) if not isinstance(raw, bool) else int(raw)
            if float(raw) != value:
                raise ValueError("not a whole number")
        elif isinstance(default, float):
            value = _finite(raw)
        elif isinstance(default, list):
            items = raw.split(",") if isinstance(raw, str) else list(raw)
            value = [_finite(x) for x in items]
        else:
            value = str(raw).strip()
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidArgument(f"policy key {name}: cannot use {raw!r} ({exc})") from None
    meta = f.metadata
    problem = meta["check"](value) if meta["check"] else None
    if problem:
        raise InvalidArgument(f"policy key {name}: {value!r} {problem}")
    if meta["choices"] and value not in meta["choices"]:
        raise InvalidArgument(f"policy key {name}: {value!r} is not one of {', '.join(meta['choices'])}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if (meta["lo"] is not None and value < meta["lo"]) or (meta["hi"] is not None and value > meta["hi"]):
            raise InvalidArgument(f"policy key {name}: {value} is outside {meta['lo']}..{meta['hi']}")
    return value


def _finite(raw: Any) -> float:
    """A number a threshold can be: NaN and the infinities (in any spelling) compare false with every
    bound, so they would pass a range check and then poison every decision and the stored policy."""
    if isinstance(raw, bool):
        raise ValueError("not a number")
    value = float(raw)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _to_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError("not true/false")


BUILTIN_PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("Balanced: rejects clear misses, sends borderline frames to review.", {}),
    "strict": (
        "Fewer keepers: higher sharpness lines, non-best burst frames rejected.",
        {
            "sharpness_reject": 0.35,
            "sharpness_review": 0.55,
            "face_sharpness_reject": 0.40,
            "face_sharpness_review": 0.55,
            "exposure_reject_ev": 2.0,
            "exposure_review_ev": 1.0,
            "burst_others": "reject",
            "keep_quality": 0.55,
            "closed_eyes_scope": "any",
        },
    ),
    "gentle": (
        "Only rejects what is clearly unusable; everything doubtful goes to review.",
        {
            "sharpness_reject": 0.15,
            "sharpness_review": 0.35,
            "face_sharpness_reject": 0.20,
            "face_sharpness_review": 0.35,
            "exposure_reject_ev": 3.5,
            "exposure_review_ev": 2.0,
            "highlight_clip_reject": 0.6,
            "shadow_clip_reject": 0.9,
            "keep_quality": 0.3,
        },
    ),
}


def parse_stored(body: str) -> tuple[dict[str, Any], list[str]]:
    """(values of a stored policy or preset that still make a valid policy, why each other one was dropped).

    An older version may have stored a NaN, a renamed key or a value out of today's range: the rest still loads.
    """
    try:
        values = json.loads(body)  # reads NaN and Infinity too, as an older version wrote them
    except ValueError as exc:
        return {}, [f"not JSON ({exc}); using the defaults"]
    if not isinstance(values, dict):
        return {}, [f"not a set of KEY=VALUE (a JSON {type(values).__name__}); using the defaults"]
    kept, dropped = clean_values(values)
    return kept, [f"dropped {why}" for why in dropped]
