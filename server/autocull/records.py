"""Typed records passed between the stages (decode -> measure -> decide -> apply).

No logic here beyond (de)serialisation: the store keeps an ``Analysis`` as JSON
(``to_dict``/``from_dict``), so a new metric field needs no migration — old rows
simply get the field's default when read back.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Protocol, TypeVar

import numpy as np

_T = TypeVar("_T")


def quick_init(cls: type[_T]) -> type[_T]:
    """Give a frozen dataclass an ``__init__`` that fills the instance's ``__dict__`` directly.

    A frozen dataclass' own ``__init__`` sets each field through ``object.__setattr__`` (what freezing costs);
    deciding a library makes hundreds of thousands of these records (scores, causes, decisions): half as
    long to make each, a tenth off a re-decide. Same signature, defaults and factories, same instance: still
    frozen, equal, hashable and ``dataclasses.replace``-able as before. Only for classes without
    ``__post_init__`` or slots.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if getattr(cls, "__post_init__", None) or "__slots__" in cls.__dict__ or not all(f.init for f in fields):
        raise TypeError(f"quick_init is not for {cls.__name__}")
    # The generated code's own names start with "__q": a field cannot be named so (a class body mangles
    # "__x" to "_Cls__x"), so no field shadows them; refused outright should that ever change.
    if any(f.name.startswith("__q") for f in fields):
        raise TypeError(f"quick_init is not for {cls.__name__}: a field name starts with '__q'")
    env: dict[str, Any] = {"__qF": _FACTORY}
    params, lines = ["__qself"], ["    __qd = __qself.__dict__"]
    for k, f in enumerate(fields):
        if f.default is not dataclasses.MISSING:
            env[f"__qd{k}"] = f.default
            params.append(f"{f.name}=__qd{k}")
        elif f.default_factory is not dataclasses.MISSING:
            env[f"__qf{k}"] = f.default_factory
            params.append(f"{f.name}=__qF")
            lines.append(f"    if {f.name} is __qF:")
            lines.append(f"        {f.name} = __qf{k}()")
        else:
            params.append(f.name)
        lines.append(f"    __qd[{f.name!r}] = {f.name}")
    exec(f"def __init__({', '.join(params)}):\n" + "\n".join(lines), env)  # noqa: S102 - from the class' fields
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


_FACTORY = object()  # a field with a default factory was not given


# ---------------------------------------------------------------- decode ----
@dataclass(frozen=True)
class ExifInfo:
    """What the camera wrote that the later stages use. All fields optional."""

    capture_time: Optional[str] = None  # ISO 8601, local camera time, with sub-seconds when present
    capture_ts: Optional[float] = None  # same instant as seconds (naive camera time read as UTC), for sorting
    make: Optional[str] = None
    model: Optional[str] = None
    serial: Optional[str] = None  # body serial number
    lens: Optional[str] = None
    orientation: int = 1  # EXIF orientation as found in the file (already applied to pixels)
    focal_length: Optional[float] = None  # mm
    exposure_time: Optional[float] = None  # seconds
    f_number: Optional[float] = None
    iso: Optional[float] = None
    exposure_compensation: Optional[float] = None  # EV, for telling brackets from bursts
    sequence_number: Optional[int] = None  # maker burst/sequence counter when present
    burst_id: Optional[str] = None  # maker burst group id when present

    def camera_key(self) -> Optional[str]:
        """Identity of the body: serial, else make+model, else None."""
        if self.serial:
            return f"serial:{self.serial}"
        if self.make or self.model:
            return f"model:{(self.make or '').strip()}|{(self.model or '').strip()}"
        return None


@dataclass
class DecodedImage:
    """Pixels at analysis size, already rotated upright, plus what we know of the file.

    ``rgb`` is uint8 (H, W, 3). ``full_size`` is the upright size of the original.
    More pixels of the original, where a measure needs them, come through a
    :class:`RegionReader` the pipeline passes along (``decode.region_reader``).
    """

    rgb: np.ndarray
    full_size: tuple[int, int]  # (width, height), upright
    format: str  # "JPEG", "PNG", "TIFF", "HEIC", "RAW:NEF", ...
    exif: ExifInfo
    source: str = "pixels"  # "pixels", "raw-preview", "raw-postprocess"

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.rgb.shape[:2]
        return (w, h)


class RegionReader(Protocol):
    """Reads part of the frame at a higher resolution than the analysis image (to judge small faces).

    Called with a normalised box of the upright frame and the short side
    wanted in pixels; returns upright uint8 RGB (H, W, 3) of the box with at
    least ``min_side`` pixels on its short side where the source has them
    (never upscaled). Raises a ``FileProblem`` when the file cannot be read
    again, ``ValueError`` for a box that is empty or outside the frame.
    """

    def __call__(self, box: Box, min_side: int) -> np.ndarray: ...


# --------------------------------------------------------------- measure ----
@dataclass(frozen=True)
class SharpnessMetrics:
    """Sharpness of one region. ``score`` is 0..1, higher is sharper, size independent."""

    score: float
    laplacian_var: float  # raw variance of the Laplacian (gray in 0..1)
    tenengrad: float  # raw mean squared Sobel gradient magnitude (gray in 0..1)
    edge_width: float  # estimated blur width of the sharpest edges, in analysis pixels
    motion: float = 0.0  # 0..1: how directional the loss of detail is (1 = clear motion blur)
    motion_angle: float = 0.0  # degrees, direction of the blur streaks (0 = horizontal)
    motion_length: float = 0.0  # px at analysis size of a linear streak found (0 = none)
    # Blur sigma (px) of the main edges read from their 10-90 % rise; NaN-free: -1 when the
    # region had too few main edges to read, and on rows measured before it existed.
    edge_spread: float = -1.0
    double_offset: float = 0.0  # px between two sharp copies of the scene (camera shake), 0 = none
    double_angle: float = 0.0  # degrees of that offset (0 = horizontal, counter-clockwise as displayed)


@dataclass(frozen=True)
class ExposureMetrics:
    """Exposure of the frame. ``score`` 0..1 (1 = well exposed); ``label`` under/ok/over."""

    score: float
    label: str  # "under" | "ok" | "over"
    mean: float  # mean luma 0..1 (gamma-encoded)
    median: float
    highlight_clip: float  # fraction of pixels blown: luma at the top of the range (detail lost)
    shadow_clip: float  # fraction of pixels at the bottom of the range
    dynamic_range: float  # stops between the 1st and 99th percentile of linear luminance
    ev_offset: float  # stops of the midtones from a mid-grey exposure (negative = darker)
    # Stops of the highlights (brightest 0.5 %) from where a normal exposure puts them
    # (negative = darker). None on rows measured before it existed: decide then reads ev_offset.
    highlight_ev: Optional[float] = None
    # Fractions 0..1 of the frame where the red, green, blue channel is at the top while the
    # luma is not: saturated colour, detail kept (a note, not a fault).
    channel_clip: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class NoiseMetrics:
    sigma: float  # estimated noise standard deviation, in 0..255 units
    score: float  # 0..1, 1 = clean


@dataclass(frozen=True)
class TiltMetrics:
    """How far a frame is turned from level, read from its dominant line (measure.horizon).

    ``angle`` in degrees, signed: positive when the frame is turned
    counter-clockwise as displayed (a level horizon then rises to the right,
    a vertical leans left at its top); turning the picture clockwise by
    ``angle`` levels it; 0.0 when nothing was found, else within +-15.
    ``kind`` "horizon" (one long boundary line), "verticals" (agreeing
    near-vertical edges) or "" when the frame has no dominant line.
    ``strength`` 0..1, how dominant the evidence is: the share of the frame
    width the horizon spans, or the agreeing verticals' length in frame
    heights (capped at 1) times their share of all near-vertical length.
    """

    angle: float = 0.0
    kind: str = ""
    strength: float = 0.0

    @property
    def found(self) -> bool:
        """True when the frame has a dominant level reference."""
        return self.kind != ""


@dataclass(frozen=True)
class Box:
    """Normalised box: x, y of the top-left corner, width, height, all 0..1 of the frame.

    The one box type of every stage; :meth:`pixels` is the one rule that turns
    it into pixels.
    """

    x: float
    y: float
    w: float
    h: float

    def pixels(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) pixels covering the box in a frame of ``size`` (width, height).

        Edges go outwards (floor of the start, ceiling of the end), clipped to
        the frame, at least one pixel each way.
        """
        width, height = size
        left = min(max(math.floor(self.x * width), 0), width - 1)
        top = min(max(math.floor(self.y * height), 0), height - 1)
        right = min(max(math.ceil((self.x + self.w) * width), left + 1), width)
        bottom = min(max(math.ceil((self.y + self.h) * height), top + 1), height)
        return left, top, right, bottom

    def clamped(self) -> "Box":
        """This box clipped to the frame; ValueError when it is not finite, empty or outside the frame."""
        x, y, w, h = (float(v) for v in (self.x, self.y, self.w, self.h))
        if not all(math.isfinite(v) for v in (x, y, w, h)) or w <= 0 or h <= 0:
            raise ValueError(f"invalid box {self!r}: need finite x, y and positive w, h")
        x0, y0 = min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)
        x1, y1 = min(max(x + w, 0.0), 1.0), min(max(y + h, 0.0), 1.0)
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"box {self!r} lies outside the frame")
        return Box(x=x0, y=y0, w=x1 - x0, h=y1 - y0)


@dataclass(frozen=True)
class EyeMetrics:
    ear: Optional[float]  # eye aspect ratio, None when not measurable
    state: str  # "open" | "closed" | "uncertain"
    why: str = ""  # short cause when uncertain ("profile", "eye region too dark", ...)


@dataclass(frozen=True)
class FaceMetrics:
    box: Box
    score: float  # detector confidence
    left_eye: EyeMetrics
    right_eye: EyeMetrics
    eye_state: str  # combined: "open" | "closed" | "uncertain"
    sharpness: Optional[SharpnessMetrics] = None
    size: float = 0.0  # short side of the box as a fraction of the frame's short side
    main: bool = False  # part of the main subject
    yaw: float = 0.0  # rough head turn, -1..1 (0 = frontal)
    landmarks: tuple[tuple[float, float], ...] = ()  # a few normalised key points (eyes), for display


@dataclass(frozen=True)
class Analysis:
    """Everything measured about one photo; the decide stage reads only this."""

    width: int  # upright full-size width
    height: int
    format: str
    exif: ExifInfo
    sharpness: SharpnessMetrics  # whole frame
    subject: SharpnessMetrics  # subject region
    subject_box: Box
    subject_source: str  # "faces" | "saliency" | "centre"
    exposure: ExposureMetrics
    noise: NoiseMetrics
    phash: str  # 16 hex digits (64 bits)
    dhash: str  # 16 hex digits (64 bits)
    faces: tuple[FaceMetrics, ...] = ()
    faces_checked: bool = False  # True when face detection ran (an empty tuple then means "no faces")
    analysis_size: tuple[int, int] = (0, 0)
    source: str = "pixels"
    tilt: TiltMetrics = field(default_factory=TiltMetrics)  # rows measured before it existed read level
    extra: dict[str, Any] = field(default_factory=dict)  # room for later metrics without a schema change

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Analysis":
        return converter(cls)(data)


def _from_dict(cls: type, data: Any) -> Any:
    """Rebuild nested frozen dataclasses from ``asdict`` output; unknown keys are ignored.

    The reference rule, read field by field through the annotations: ``converter(cls)`` is the same rule compiled
    once per class (the store parses every stored analysis through it), and tests hold the two equal.
    """
    if not dataclasses.is_dataclass(cls) or not isinstance(data, dict):
        return data
    hints = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for name, f in hints.items():
        if name not in data:
            continue
        kwargs[name] = _convert(f.type, data[name])
    return cls(**kwargs)


_RECORDS: dict[str, Any] = {}


def _convert(type_: Any, value: Any) -> Any:
    t = type_ if isinstance(type_, str) else getattr(type_, "__name__", str(type_))
    if value is None:
        return None
    for name, rec in _RECORDS.items():
        if t in (name, f"Optional[{name}]"):
            return _from_dict(rec, value)
        if t.startswith("tuple[") and name in t and isinstance(value, list):
            return tuple(_from_dict(rec, v) for v in value)
    if t.startswith("tuple[") and isinstance(value, list):
        return tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return value


for _rec in (ExifInfo, SharpnessMetrics, ExposureMetrics, NoiseMetrics, TiltMetrics, Box, EyeMetrics, FaceMetrics):
    _RECORDS[_rec.__name__] = _rec


_CONVERTERS: dict[type, Callable[[Any], Any]] = {}
_MISSING = object()


def converter(cls: type) -> Callable[[Any], Any]:
    """``_from_dict(cls, ·)`` compiled for one record class, made once and kept.

    The generic rule matches every field's annotation against the record names on every value; a stored
    analysis is ~10 records, so a library's parse went there. Here each field's case (plain value, one record,
    a tuple of records, a tuple of tuples) is settled once, from the same annotations by the same rule, into
    straight-line code, and the instance is filled as the frozen dataclass' ``__init__`` would fill it
    (defaults, factories, a missing required field a TypeError), so it takes the same memory.
    """
    conv = _CONVERTERS.get(cls)
    if conv is None:
        conv = _CONVERTERS[cls] = _compile(cls)
    return conv


def _field_case(type_: Any) -> tuple[str, Any]:
    """How ``_convert`` treats a value of this annotation: ("rec", R), ("recs", R), ("tuples", _), ("plain", _)."""
    t = type_ if isinstance(type_, str) else getattr(type_, "__name__", str(type_))
    for name, rec in _RECORDS.items():
        if t in (name, f"Optional[{name}]"):
            return "rec", rec
        if t.startswith("tuple[") and name in t:
            return "recs", rec
    return ("tuples", None) if t.startswith("tuple[") else ("plain", None)


def _compile(cls: type) -> Callable[[Any], Any]:
    """The source of ``from_dict`` for ``cls``, run once. A row holding exactly the fields (every row of the
    current analyzer) takes them as they are; any other (an older analyzer's, unknown keys) goes field by
    field with the defaults. The nested values are then converted as ``_convert`` does."""
    fields = dataclasses.fields(cls) if dataclasses.is_dataclass(cls) else ()
    if not fields or getattr(cls, "__post_init__", None) or hasattr(cls, "__slots__"):
        return lambda data: _from_dict(cls, data)  # nothing generated for what the rule was not written for
    if not all(f.init for f in fields):
        return lambda data: _from_dict(cls, data)  # nothing generated for what the rule was not written for
    env: dict[str, Any] = {"_cls": cls, "_M": _MISSING, "_new": object.__new__, "_list": list, "_dict": dict}
    env["_set"] = object.__setattr__
    env["_keys"] = frozenset(f.name for f in fields)
    exact = ["    if data.keys() == _keys:"]
    other = ["    else:"]
    convert = []
    for k, f in enumerate(fields):
        v, n = f"v{k}", repr(f.name)
        exact.append(f"        {v} = data[{n}]")
        other += [f"        {v} = data.get({n}, _M)", f"        if {v} is _M:"]
        if f.default is not dataclasses.MISSING:
            env[f"d{k}"] = f.default
            other.append(f"            {v} = d{k}")
        elif f.default_factory is not dataclasses.MISSING:
            env[f"f{k}"] = f.default_factory
            other.append(f"            {v} = f{k}()")
        else:
            other.append(f"            raise TypeError({f'{cls.__name__} misses the required field {f.name!r}'!r})")
        case, rec = _field_case(f.type)
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if case != "plain" and isinstance(default, (dict, list)):  # a default the conversion below would change
            return lambda data: _from_dict(cls, data)
        if case == "rec":
            env[f"c{k}"] = converter(rec)
            convert += [f"    if {v} is not None:", f"        {v} = c{k}({v})"]
        elif case == "recs":
            env[f"c{k}"] = converter(rec)
            convert += [f"    if isinstance({v}, _list):", f"        {v} = tuple([c{k}(x) for x in {v}])"]
        elif case == "tuples":
            convert += [f"    if isinstance({v}, _list):"]
            convert += [f"        {v} = tuple([tuple(x) if isinstance(x, _list) else x for x in {v}])"]
    # set as __init__ sets them, not through o.__dict__: touching __dict__ gives each instance a dict of its
    # own (+64 bytes per record, a fifth more memory for the parsed analyses the store keeps)
    fill = [f"    _set(o, {f.name!r}, v{k})" for k, f in enumerate(fields)]
    head = ["def from_dict(data):", "    if not isinstance(data, _dict):", "        return data"]
    tail = ["    o = _new(_cls)", *fill, "    return o"]
    exec("\n".join(head + exact + other + convert + tail), env)  # noqa: S102 - made from the class' own fields
    fn: Callable[[Any], Any] = env["from_dict"]
    return fn


# ---------------------------------------------------------------- decide ----
@quick_init
@dataclass(frozen=True)
class ScoreValue:
    value: float  # normalised 0..1, 1 = better
    raw: float  # in the metric's own unit
    unit: str = ""


class CauseKind(enum.Enum):
    """Why a sentence is in a decision: it decides, it informs, or it places the photo in a group."""

    REJECT = "reject"  # a fault that rejects on its own
    REVIEW = "review"  # a fault that sends the photo to review
    NOTE = "note"  # worth knowing, changes nothing
    KEEP = "keep"  # why a keeper is kept
    GROUP = "group"  # its place in a burst or bracket
    FAILED = "failed"  # the file could not be read


@quick_init
@dataclass(frozen=True)
class Preference:
    """How well a photo matches the photographer's learned taste, and how far that model is trusted.

    ``score`` is 0..1; ``counts`` is whether the model's cross-validated ``quality`` reached the policy's
    ``line``, so the decision uses the term (or says why it left it out). ``summary`` names the model's
    quality and label count ("AUC 0.81 (cross-validated) on 140 ratings").
    """

    score: float
    counts: bool
    summary: str
    quality: float
    line: float


@quick_init
@dataclass(frozen=True)
class Cause:
    """One reason behind a decision, as data: the sentence a photographer reads and the keyword it files under.

    ``keyword`` is filed under the verdict it caused ("Reject|Out of focus") and only while the photo
    has that verdict; ``tag`` is filed whatever the verdict ("Faces|Eyes closed").
    """

    kind: CauseKind
    text: str
    keyword: str = ""
    tag: str = ""


@quick_init
@dataclass(frozen=True)
class Streak:
    """The direction of the blur a photographer sees, for drawing over the photo. Mirrors the proto's Streak.

    ``kind`` "motion" (streaks) or "shake" (a second copy of the scene); ``angle`` degrees, 0 = horizontal,
    counter-clockwise as displayed (y up, as every measure reports it); ``length`` the streak or the copies'
    offset as a fraction of the frame's long side (0 when it was not measured).
    """

    kind: str
    angle: float
    length: float


_RECORDS[Streak.__name__] = Streak  # read back by both rules like the measure records (a Decision's ``streak``)


@quick_init
@dataclass(frozen=True)
class Decision:
    """What the host should do with one photo, and why. Mirrors the proto's Decision.

    Immutable: a later step (best of burst, the cached flag) makes a new one with ``dataclasses.replace``.
    """

    path: str
    verdict: str = ""  # "keep" | "review" | "reject"; "" when the file failed
    pick: str = ""  # "picked" | "none" | "rejected"
    stars: int = 0
    color_label: str = ""  # one of policy.LABELS
    keywords: tuple[str, ...] = ()
    causes: tuple[Cause, ...] = ()
    scores: Mapping[str, ScoreValue] = field(default_factory=dict)
    quality: float = 0.0
    error_code: str = ""
    error_message: str = ""
    burst_id: str = ""
    burst_size: int = 0
    burst_rank: int = 0
    burst_best: bool = False
    bracket: bool = False
    faces: tuple[FaceMetrics, ...] = ()
    capture_time: str = ""
    camera: str = ""
    cached: bool = False
    analyzer_version: str = ""
    policy_version: int = 0  # the stored policy it was made under; 0 = a what-if policy, never stored
    # Where and how it was measured, for drawing over the photo (the review page): from the analysis, so a
    # failed file leaves them unset. Upright frame; the box normalised 0..1, the size in full-size pixels.
    subject_box: Optional[Box] = None  # the region the subject sharpness was measured on
    subject_source: str = ""  # "faces" | "saliency" | "centre"
    streak: Optional[Streak] = None  # the blur's direction when the subject was blurred by motion or shake
    width: int = 0
    height: int = 0

    @property
    def reasons(self) -> list[str]:
        """The sentences a photographer reads, in the order the causes were given."""
        return [c.text for c in self.causes]

    @property
    def face_count(self) -> int:
        return len(self.faces)

    @classmethod
    def failed(cls, path: str, code: str, message: str) -> "Decision":
        return cls(
            path=path,
            error_code=code,
            error_message=message,
            causes=(Cause(CauseKind.FAILED, f"could not read this file: {message}"),),
        )
