"""Domain records <-> protobuf messages, in one place."""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional

from google.protobuf import json_format, struct_pb2

from ..engine import Counts
from ..errors import InvalidArgument
from ..records import Decision, EyeMetrics, FaceMetrics
from ..v1 import autocull_pb2 as pb

VERDICTS = {"keep": pb.VERDICT_KEEP, "review": pb.VERDICT_REVIEW, "reject": pb.VERDICT_REJECT}
PICKS = {"picked": pb.PICK_PICKED, "none": pb.PICK_NONE, "rejected": pb.PICK_REJECTED}
LABELS = {
    "none": pb.COLOR_LABEL_NONE,
    "red": pb.COLOR_LABEL_RED,
    "yellow": pb.COLOR_LABEL_YELLOW,
    "green": pb.COLOR_LABEL_GREEN,
    "blue": pb.COLOR_LABEL_BLUE,
    "purple": pb.COLOR_LABEL_PURPLE,
}
EYES = {"open": pb.EYE_STATE_OPEN, "closed": pb.EYE_STATE_CLOSED, "uncertain": pb.EYE_STATE_UNCERTAIN}
JOB_STATES = {
    "queued": pb.JOB_STATE_QUEUED,
    "running": pb.JOB_STATE_RUNNING,
    "done": pb.JOB_STATE_DONE,
    "cancelled": pb.JOB_STATE_CANCELLED,
    "failed": pb.JOB_STATE_FAILED,
}
PICK_NAMES = {v: k for k, v in PICKS.items()}
LABEL_NAMES = {v: k for k, v in LABELS.items()}


def struct_to_dict(s: Optional[struct_pb2.Struct]) -> dict[str, Any]:
    """A request's Struct as plain values. A NaN or infinite number is the client's mistake, refused as
    INVALID_ARGUMENT naming the key (json_format.MessageToDict would raise ValueError: an INTERNAL error)."""
    if s is None:
        return {}
    return {key: _plain(value, key) for key, value in s.fields.items()}


def _plain(v: struct_pb2.Value, where: str) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        if not math.isfinite(v.number_value):
            raise InvalidArgument(f"{where}: {v.number_value} is not a finite number")
        return v.number_value
    if kind == "struct_value":
        return {k: _plain(x, f"{where}.{k}") for k, x in v.struct_value.fields.items()}
    if kind == "list_value":
        return [_plain(x, f"{where}[{i}]") for i, x in enumerate(v.list_value.values)]
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    return None  # null_value, or no value set


def dict_to_struct(d: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(dict(d))
    return s


def to_value(v: Any) -> struct_pb2.Value:
    out = struct_pb2.Value()
    json_format.ParseDict(v, out)
    return out


def _eye(e: EyeMetrics) -> pb.EyeState:
    return EYES.get(e.state, pb.EYE_STATE_UNSPECIFIED)


def face_to_pb(f: FaceMetrics) -> pb.Face:
    notes = "; ".join(x for x in (f.left_eye.why, f.right_eye.why) if x)
    return pb.Face(
        box=pb.Box(x=f.box.x, y=f.box.y, w=f.box.w, h=f.box.h),
        detection_score=f.score,
        eye_state=EYES.get(f.eye_state, pb.EYE_STATE_UNSPECIFIED),
        left_eye=_eye(f.left_eye),
        right_eye=_eye(f.right_eye),
        left_ear=f.left_eye.ear or 0.0,
        right_ear=f.right_eye.ear or 0.0,
        sharpness=f.sharpness.score if f.sharpness else 0.0,
        main=f.main,
        note=notes,
    )


def decision_to_pb(d: Decision) -> pb.Decision:
    msg = pb.Decision(
        path=d.path,
        verdict=VERDICTS.get(d.verdict, pb.VERDICT_UNSPECIFIED),
        pick=PICKS.get(d.pick, pb.PICK_UNSPECIFIED),
        stars=d.stars,
        color_label=LABELS.get(d.color_label, pb.COLOR_LABEL_UNSPECIFIED),
        keywords=d.keywords,
        reasons=d.reasons,
        quality=d.quality,
        burst_id=d.burst_id,
        burst_size=d.burst_size,
        burst_rank=d.burst_rank,
        burst_best=d.burst_best,
        bracket=d.bracket,
        face_count=d.face_count,
        faces=[face_to_pb(f) for f in d.faces],
        capture_time=d.capture_time,
        camera=d.camera,
        cached=d.cached,
        analyzer_version=d.analyzer_version,
        policy_version=d.policy_version,
        subject_source=d.subject_source,
        width=d.width,
        height=d.height,
    )
    if d.subject_box is not None:
        b = d.subject_box
        msg.subject_box.CopyFrom(pb.Box(x=b.x, y=b.y, w=b.w, h=b.h))
    if d.streak is not None:
        msg.streak.CopyFrom(pb.Streak(kind=d.streak.kind, angle=d.streak.angle, length=d.streak.length))
    for name, s in d.scores.items():
        msg.scores[name].CopyFrom(pb.Score(value=s.value, raw=s.raw, unit=s.unit))
    if d.error_code:
        msg.error.CopyFrom(pb.FileError(code=d.error_code, message=d.error_message))
    return msg


def counts_to_pb(c: Counts) -> pb.Counts:
    return pb.Counts(
        total=c.total,
        keep=c.keep,
        review=c.review,
        reject=c.reject,
        failed=c.failed,
        bursts=c.bursts,
        analyzed=c.analyzed,
        cached=c.cached,
    )


def message_to_json_dict(msg: Any) -> dict[str, Any]:
    """The proto's JSON mapping with defaults printed (Lua clients see every field)."""
    return json_format.MessageToDict(msg, always_print_fields_with_no_presence=True)
