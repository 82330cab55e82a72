from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Verdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    VERDICT_UNSPECIFIED: _ClassVar[Verdict]
    VERDICT_KEEP: _ClassVar[Verdict]
    VERDICT_REVIEW: _ClassVar[Verdict]
    VERDICT_REJECT: _ClassVar[Verdict]

class Pick(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PICK_UNSPECIFIED: _ClassVar[Pick]
    PICK_NONE: _ClassVar[Pick]
    PICK_PICKED: _ClassVar[Pick]
    PICK_REJECTED: _ClassVar[Pick]

class ColorLabel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    COLOR_LABEL_UNSPECIFIED: _ClassVar[ColorLabel]
    COLOR_LABEL_NONE: _ClassVar[ColorLabel]
    COLOR_LABEL_RED: _ClassVar[ColorLabel]
    COLOR_LABEL_YELLOW: _ClassVar[ColorLabel]
    COLOR_LABEL_GREEN: _ClassVar[ColorLabel]
    COLOR_LABEL_BLUE: _ClassVar[ColorLabel]
    COLOR_LABEL_PURPLE: _ClassVar[ColorLabel]

class EyeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EYE_STATE_UNSPECIFIED: _ClassVar[EyeState]
    EYE_STATE_OPEN: _ClassVar[EyeState]
    EYE_STATE_CLOSED: _ClassVar[EyeState]
    EYE_STATE_UNCERTAIN: _ClassVar[EyeState]

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_RUNNING: _ClassVar[JobState]
    JOB_STATE_DONE: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]

class WatchMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    WATCH_MODE_UNSPECIFIED: _ClassVar[WatchMode]
    WATCH_MODE_AUTO: _ClassVar[WatchMode]
    WATCH_MODE_EVENTS: _ClassVar[WatchMode]
    WATCH_MODE_POLLING: _ClassVar[WatchMode]
VERDICT_UNSPECIFIED: Verdict
VERDICT_KEEP: Verdict
VERDICT_REVIEW: Verdict
VERDICT_REJECT: Verdict
PICK_UNSPECIFIED: Pick
PICK_NONE: Pick
PICK_PICKED: Pick
PICK_REJECTED: Pick
COLOR_LABEL_UNSPECIFIED: ColorLabel
COLOR_LABEL_NONE: ColorLabel
COLOR_LABEL_RED: ColorLabel
COLOR_LABEL_YELLOW: ColorLabel
COLOR_LABEL_GREEN: ColorLabel
COLOR_LABEL_BLUE: ColorLabel
COLOR_LABEL_PURPLE: ColorLabel
EYE_STATE_UNSPECIFIED: EyeState
EYE_STATE_OPEN: EyeState
EYE_STATE_CLOSED: EyeState
EYE_STATE_UNCERTAIN: EyeState
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_RUNNING: JobState
JOB_STATE_DONE: JobState
JOB_STATE_CANCELLED: JobState
JOB_STATE_FAILED: JobState
WATCH_MODE_UNSPECIFIED: WatchMode
WATCH_MODE_AUTO: WatchMode
WATCH_MODE_EVENTS: WatchMode
WATCH_MODE_POLLING: WatchMode

class Score(_message.Message):
    __slots__ = ("value", "raw", "unit")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    value: float
    raw: float
    unit: str
    def __init__(self, value: _Optional[float] = ..., raw: _Optional[float] = ..., unit: _Optional[str] = ...) -> None: ...

class Box(_message.Message):
    __slots__ = ("x", "y", "w", "h")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    W_FIELD_NUMBER: _ClassVar[int]
    H_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    w: float
    h: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., w: _Optional[float] = ..., h: _Optional[float] = ...) -> None: ...

class Face(_message.Message):
    __slots__ = ("box", "detection_score", "eye_state", "left_eye", "right_eye", "left_ear", "right_ear", "sharpness", "main", "note")
    BOX_FIELD_NUMBER: _ClassVar[int]
    DETECTION_SCORE_FIELD_NUMBER: _ClassVar[int]
    EYE_STATE_FIELD_NUMBER: _ClassVar[int]
    LEFT_EYE_FIELD_NUMBER: _ClassVar[int]
    RIGHT_EYE_FIELD_NUMBER: _ClassVar[int]
    LEFT_EAR_FIELD_NUMBER: _ClassVar[int]
    RIGHT_EAR_FIELD_NUMBER: _ClassVar[int]
    SHARPNESS_FIELD_NUMBER: _ClassVar[int]
    MAIN_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    box: Box
    detection_score: float
    eye_state: EyeState
    left_eye: EyeState
    right_eye: EyeState
    left_ear: float
    right_ear: float
    sharpness: float
    main: bool
    note: str
    def __init__(self, box: _Optional[_Union[Box, _Mapping]] = ..., detection_score: _Optional[float] = ..., eye_state: _Optional[_Union[EyeState, str]] = ..., left_eye: _Optional[_Union[EyeState, str]] = ..., right_eye: _Optional[_Union[EyeState, str]] = ..., left_ear: _Optional[float] = ..., right_ear: _Optional[float] = ..., sharpness: _Optional[float] = ..., main: _Optional[bool] = ..., note: _Optional[str] = ...) -> None: ...

class FileError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class Decision(_message.Message):
    __slots__ = ("path", "verdict", "pick", "stars", "color_label", "keywords", "reasons", "scores", "quality", "error", "burst_id", "burst_size", "burst_rank", "burst_best", "bracket", "face_count", "faces", "capture_time", "camera", "cached", "analyzer_version", "policy_version", "subject_box", "subject_source", "streak", "width", "height")
    class ScoresEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Score
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Score, _Mapping]] = ...) -> None: ...
    PATH_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    PICK_FIELD_NUMBER: _ClassVar[int]
    STARS_FIELD_NUMBER: _ClassVar[int]
    COLOR_LABEL_FIELD_NUMBER: _ClassVar[int]
    KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    SCORES_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    BURST_ID_FIELD_NUMBER: _ClassVar[int]
    BURST_SIZE_FIELD_NUMBER: _ClassVar[int]
    BURST_RANK_FIELD_NUMBER: _ClassVar[int]
    BURST_BEST_FIELD_NUMBER: _ClassVar[int]
    BRACKET_FIELD_NUMBER: _ClassVar[int]
    FACE_COUNT_FIELD_NUMBER: _ClassVar[int]
    FACES_FIELD_NUMBER: _ClassVar[int]
    CAPTURE_TIME_FIELD_NUMBER: _ClassVar[int]
    CAMERA_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    ANALYZER_VERSION_FIELD_NUMBER: _ClassVar[int]
    POLICY_VERSION_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_BOX_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_SOURCE_FIELD_NUMBER: _ClassVar[int]
    STREAK_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    path: str
    verdict: Verdict
    pick: Pick
    stars: int
    color_label: ColorLabel
    keywords: _containers.RepeatedScalarFieldContainer[str]
    reasons: _containers.RepeatedScalarFieldContainer[str]
    scores: _containers.MessageMap[str, Score]
    quality: float
    error: FileError
    burst_id: str
    burst_size: int
    burst_rank: int
    burst_best: bool
    bracket: bool
    face_count: int
    faces: _containers.RepeatedCompositeFieldContainer[Face]
    capture_time: str
    camera: str
    cached: bool
    analyzer_version: str
    policy_version: int
    subject_box: Box
    subject_source: str
    streak: Streak
    width: int
    height: int
    def __init__(self, path: _Optional[str] = ..., verdict: _Optional[_Union[Verdict, str]] = ..., pick: _Optional[_Union[Pick, str]] = ..., stars: _Optional[int] = ..., color_label: _Optional[_Union[ColorLabel, str]] = ..., keywords: _Optional[_Iterable[str]] = ..., reasons: _Optional[_Iterable[str]] = ..., scores: _Optional[_Mapping[str, Score]] = ..., quality: _Optional[float] = ..., error: _Optional[_Union[FileError, _Mapping]] = ..., burst_id: _Optional[str] = ..., burst_size: _Optional[int] = ..., burst_rank: _Optional[int] = ..., burst_best: _Optional[bool] = ..., bracket: _Optional[bool] = ..., face_count: _Optional[int] = ..., faces: _Optional[_Iterable[_Union[Face, _Mapping]]] = ..., capture_time: _Optional[str] = ..., camera: _Optional[str] = ..., cached: _Optional[bool] = ..., analyzer_version: _Optional[str] = ..., policy_version: _Optional[int] = ..., subject_box: _Optional[_Union[Box, _Mapping]] = ..., subject_source: _Optional[str] = ..., streak: _Optional[_Union[Streak, _Mapping]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class Streak(_message.Message):
    __slots__ = ("kind", "angle", "length")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ANGLE_FIELD_NUMBER: _ClassVar[int]
    LENGTH_FIELD_NUMBER: _ClassVar[int]
    kind: str
    angle: float
    length: float
    def __init__(self, kind: _Optional[str] = ..., angle: _Optional[float] = ..., length: _Optional[float] = ...) -> None: ...

class CullRequest(_message.Message):
    __slots__ = ("paths", "policy_overrides", "preset", "top_level_only", "reanalyze", "analyze_only", "page_size", "profile", "ray_address")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    POLICY_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    TOP_LEVEL_ONLY_FIELD_NUMBER: _ClassVar[int]
    REANALYZE_FIELD_NUMBER: _ClassVar[int]
    ANALYZE_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    RAY_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    policy_overrides: _struct_pb2.Struct
    preset: str
    top_level_only: bool
    reanalyze: bool
    analyze_only: bool
    page_size: int
    profile: str
    ray_address: str
    def __init__(self, paths: _Optional[_Iterable[str]] = ..., policy_overrides: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., preset: _Optional[str] = ..., top_level_only: _Optional[bool] = ..., reanalyze: _Optional[bool] = ..., analyze_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., profile: _Optional[str] = ..., ray_address: _Optional[str] = ...) -> None: ...

class CullResponse(_message.Message):
    __slots__ = ("decisions", "counts", "next_page_token", "decisions_total", "job_id")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    counts: Counts
    next_page_token: str
    decisions_total: int
    job_id: str
    def __init__(self, decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., counts: _Optional[_Union[Counts, _Mapping]] = ..., next_page_token: _Optional[str] = ..., decisions_total: _Optional[int] = ..., job_id: _Optional[str] = ...) -> None: ...

class Counts(_message.Message):
    __slots__ = ("total", "keep", "review", "reject", "failed", "bursts", "analyzed", "cached")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    KEEP_FIELD_NUMBER: _ClassVar[int]
    REVIEW_FIELD_NUMBER: _ClassVar[int]
    REJECT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    BURSTS_FIELD_NUMBER: _ClassVar[int]
    ANALYZED_FIELD_NUMBER: _ClassVar[int]
    CACHED_FIELD_NUMBER: _ClassVar[int]
    total: int
    keep: int
    review: int
    reject: int
    failed: int
    bursts: int
    analyzed: int
    cached: int
    def __init__(self, total: _Optional[int] = ..., keep: _Optional[int] = ..., review: _Optional[int] = ..., reject: _Optional[int] = ..., failed: _Optional[int] = ..., bursts: _Optional[int] = ..., analyzed: _Optional[int] = ..., cached: _Optional[int] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "state", "stage", "done", "total", "decisions", "decisions_from", "decisions_total", "counts", "message", "current_path")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FROM_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_TOTAL_FIELD_NUMBER: _ClassVar[int]
    COUNTS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_PATH_FIELD_NUMBER: _ClassVar[int]
    id: str
    state: JobState
    stage: str
    done: int
    total: int
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    decisions_from: int
    decisions_total: int
    counts: Counts
    message: str
    current_path: str
    def __init__(self, id: _Optional[str] = ..., state: _Optional[_Union[JobState, str]] = ..., stage: _Optional[str] = ..., done: _Optional[int] = ..., total: _Optional[int] = ..., decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., decisions_from: _Optional[int] = ..., decisions_total: _Optional[int] = ..., counts: _Optional[_Union[Counts, _Mapping]] = ..., message: _Optional[str] = ..., current_path: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id", "decisions_from", "page_size")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    DECISIONS_FROM_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    decisions_from: int
    page_size: int
    def __init__(self, job_id: _Optional[str] = ..., decisions_from: _Optional[int] = ..., page_size: _Optional[int] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class DecideRequest(_message.Message):
    __slots__ = ("paths", "policy_overrides", "preset", "top_level_only", "page_size", "page_token", "profile")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    POLICY_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    TOP_LEVEL_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    policy_overrides: _struct_pb2.Struct
    preset: str
    top_level_only: bool
    page_size: int
    page_token: str
    profile: str
    def __init__(self, paths: _Optional[_Iterable[str]] = ..., policy_overrides: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., preset: _Optional[str] = ..., top_level_only: _Optional[bool] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., profile: _Optional[str] = ...) -> None: ...

class PolicyField(_message.Message):
    __slots__ = ("name", "value", "default_value", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALUE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: _struct_pb2.Value
    default_value: _struct_pb2.Value
    description: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., default_value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., description: _Optional[str] = ...) -> None: ...

class GetPolicyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetPolicyRequest(_message.Message):
    __slots__ = ("values", "preset", "reset", "save_as")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    SAVE_AS_FIELD_NUMBER: _ClassVar[int]
    values: _struct_pb2.Struct
    preset: str
    reset: bool
    save_as: str
    def __init__(self, values: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., preset: _Optional[str] = ..., reset: _Optional[bool] = ..., save_as: _Optional[str] = ...) -> None: ...

class PolicyResponse(_message.Message):
    __slots__ = ("values", "fields", "preset", "redecided", "changed")
    VALUES_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    REDECIDED_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    values: _struct_pb2.Struct
    fields: _containers.RepeatedCompositeFieldContainer[PolicyField]
    preset: str
    redecided: int
    changed: int
    def __init__(self, values: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., fields: _Optional[_Iterable[_Union[PolicyField, _Mapping]]] = ..., preset: _Optional[str] = ..., redecided: _Optional[int] = ..., changed: _Optional[int] = ...) -> None: ...

class ListPresetsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Preset(_message.Message):
    __slots__ = ("name", "description", "builtin", "values")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BUILTIN_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    builtin: bool
    values: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., builtin: _Optional[bool] = ..., values: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ListPresetsResponse(_message.Message):
    __slots__ = ("presets",)
    PRESETS_FIELD_NUMBER: _ClassVar[int]
    presets: _containers.RepeatedCompositeFieldContainer[Preset]
    def __init__(self, presets: _Optional[_Iterable[_Union[Preset, _Mapping]]] = ...) -> None: ...

class Feedback(_message.Message):
    __slots__ = ("path", "rating", "pick", "color_label")
    PATH_FIELD_NUMBER: _ClassVar[int]
    RATING_FIELD_NUMBER: _ClassVar[int]
    PICK_FIELD_NUMBER: _ClassVar[int]
    COLOR_LABEL_FIELD_NUMBER: _ClassVar[int]
    path: str
    rating: int
    pick: Pick
    color_label: ColorLabel
    def __init__(self, path: _Optional[str] = ..., rating: _Optional[int] = ..., pick: _Optional[_Union[Pick, str]] = ..., color_label: _Optional[_Union[ColorLabel, str]] = ...) -> None: ...

class SendFeedbackRequest(_message.Message):
    __slots__ = ("items", "source", "profile")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Feedback]
    source: str
    profile: str
    def __init__(self, items: _Optional[_Iterable[_Union[Feedback, _Mapping]]] = ..., source: _Optional[str] = ..., profile: _Optional[str] = ...) -> None: ...

class SendFeedbackResponse(_message.Message):
    __slots__ = ("stored", "total_labels", "unknown", "agreement", "compared", "model_state", "taste")
    STORED_FIELD_NUMBER: _ClassVar[int]
    TOTAL_LABELS_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    AGREEMENT_FIELD_NUMBER: _ClassVar[int]
    COMPARED_FIELD_NUMBER: _ClassVar[int]
    MODEL_STATE_FIELD_NUMBER: _ClassVar[int]
    TASTE_FIELD_NUMBER: _ClassVar[int]
    stored: int
    total_labels: int
    unknown: int
    agreement: float
    compared: int
    model_state: str
    taste: TasteProfile
    def __init__(self, stored: _Optional[int] = ..., total_labels: _Optional[int] = ..., unknown: _Optional[int] = ..., agreement: _Optional[float] = ..., compared: _Optional[int] = ..., model_state: _Optional[str] = ..., taste: _Optional[_Union[TasteProfile, _Mapping]] = ...) -> None: ...

class TasteProfile(_message.Message):
    __slots__ = ("profile", "labels", "embedded", "ready", "auc", "spearman", "needed", "trusted", "sentence")
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    AUC_FIELD_NUMBER: _ClassVar[int]
    SPEARMAN_FIELD_NUMBER: _ClassVar[int]
    NEEDED_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_FIELD_NUMBER: _ClassVar[int]
    SENTENCE_FIELD_NUMBER: _ClassVar[int]
    profile: str
    labels: int
    embedded: int
    ready: bool
    auc: float
    spearman: float
    needed: int
    trusted: bool
    sentence: str
    def __init__(self, profile: _Optional[str] = ..., labels: _Optional[int] = ..., embedded: _Optional[int] = ..., ready: _Optional[bool] = ..., auc: _Optional[float] = ..., spearman: _Optional[float] = ..., needed: _Optional[int] = ..., trusted: _Optional[bool] = ..., sentence: _Optional[str] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("text", "paths", "top_level_only", "limit")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    TOP_LEVEL_ONLY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    text: str
    paths: _containers.RepeatedScalarFieldContainer[str]
    top_level_only: bool
    limit: int
    def __init__(self, text: _Optional[str] = ..., paths: _Optional[_Iterable[str]] = ..., top_level_only: _Optional[bool] = ..., limit: _Optional[int] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("path", "similarity")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    path: str
    similarity: float
    def __init__(self, path: _Optional[str] = ..., similarity: _Optional[float] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "searched", "without_vector", "model")
    HITS_FIELD_NUMBER: _ClassVar[int]
    SEARCHED_FIELD_NUMBER: _ClassVar[int]
    WITHOUT_VECTOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    searched: int
    without_vector: int
    model: str
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ..., searched: _Optional[int] = ..., without_vector: _Optional[int] = ..., model: _Optional[str] = ...) -> None: ...

class SelectRequest(_message.Message):
    __slots__ = ("paths", "best", "diverse", "top_level_only", "profile", "policy_overrides", "preset")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    BEST_FIELD_NUMBER: _ClassVar[int]
    DIVERSE_FIELD_NUMBER: _ClassVar[int]
    TOP_LEVEL_ONLY_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    POLICY_OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    PRESET_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    best: int
    diverse: bool
    top_level_only: bool
    profile: str
    policy_overrides: _struct_pb2.Struct
    preset: str
    def __init__(self, paths: _Optional[_Iterable[str]] = ..., best: _Optional[int] = ..., diverse: _Optional[bool] = ..., top_level_only: _Optional[bool] = ..., profile: _Optional[str] = ..., policy_overrides: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., preset: _Optional[str] = ...) -> None: ...

class Selected(_message.Message):
    __slots__ = ("path", "quality", "scene", "stars")
    PATH_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    SCENE_FIELD_NUMBER: _ClassVar[int]
    STARS_FIELD_NUMBER: _ClassVar[int]
    path: str
    quality: float
    scene: int
    stars: int
    def __init__(self, path: _Optional[str] = ..., quality: _Optional[float] = ..., scene: _Optional[int] = ..., stars: _Optional[int] = ...) -> None: ...

class SelectResponse(_message.Message):
    __slots__ = ("photos", "keepers", "scenes", "note")
    PHOTOS_FIELD_NUMBER: _ClassVar[int]
    KEEPERS_FIELD_NUMBER: _ClassVar[int]
    SCENES_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    photos: _containers.RepeatedCompositeFieldContainer[Selected]
    keepers: int
    scenes: int
    note: str
    def __init__(self, photos: _Optional[_Iterable[_Union[Selected, _Mapping]]] = ..., keepers: _Optional[int] = ..., scenes: _Optional[int] = ..., note: _Optional[str] = ...) -> None: ...

class WatchFolder(_message.Message):
    __slots__ = ("path", "active", "photos", "added_at", "mode", "polling")
    PATH_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PHOTOS_FIELD_NUMBER: _ClassVar[int]
    ADDED_AT_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    POLLING_FIELD_NUMBER: _ClassVar[int]
    path: str
    active: bool
    photos: int
    added_at: str
    mode: WatchMode
    polling: bool
    def __init__(self, path: _Optional[str] = ..., active: _Optional[bool] = ..., photos: _Optional[int] = ..., added_at: _Optional[str] = ..., mode: _Optional[_Union[WatchMode, str]] = ..., polling: _Optional[bool] = ...) -> None: ...

class WatchFolderRequest(_message.Message):
    __slots__ = ("path", "mode")
    PATH_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    path: str
    mode: WatchMode
    def __init__(self, path: _Optional[str] = ..., mode: _Optional[_Union[WatchMode, str]] = ...) -> None: ...

class ListWatchFoldersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchFoldersResponse(_message.Message):
    __slots__ = ("folders",)
    FOLDERS_FIELD_NUMBER: _ClassVar[int]
    folders: _containers.RepeatedCompositeFieldContainer[WatchFolder]
    def __init__(self, folders: _Optional[_Iterable[_Union[WatchFolder, _Mapping]]] = ...) -> None: ...

class GetChangesRequest(_message.Message):
    __slots__ = ("cursor", "limit", "folder", "client_id")
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    FOLDER_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ID_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    limit: int
    folder: str
    client_id: str
    def __init__(self, cursor: _Optional[str] = ..., limit: _Optional[int] = ..., folder: _Optional[str] = ..., client_id: _Optional[str] = ...) -> None: ...

class GetChangesResponse(_message.Message):
    __slots__ = ("decisions", "next_cursor", "more")
    DECISIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_CURSOR_FIELD_NUMBER: _ClassVar[int]
    MORE_FIELD_NUMBER: _ClassVar[int]
    decisions: _containers.RepeatedCompositeFieldContainer[Decision]
    next_cursor: str
    more: bool
    def __init__(self, decisions: _Optional[_Iterable[_Union[Decision, _Mapping]]] = ..., next_cursor: _Optional[str] = ..., more: _Optional[bool] = ...) -> None: ...

class Burst(_message.Message):
    __slots__ = ("id", "paths", "best_path", "bracket", "size")
    ID_FIELD_NUMBER: _ClassVar[int]
    PATHS_FIELD_NUMBER: _ClassVar[int]
    BEST_PATH_FIELD_NUMBER: _ClassVar[int]
    BRACKET_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    id: str
    paths: _containers.RepeatedScalarFieldContainer[str]
    best_path: str
    bracket: bool
    size: int
    def __init__(self, id: _Optional[str] = ..., paths: _Optional[_Iterable[str]] = ..., best_path: _Optional[str] = ..., bracket: _Optional[bool] = ..., size: _Optional[int] = ...) -> None: ...

class GetBurstsRequest(_message.Message):
    __slots__ = ("paths", "top_level_only")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    TOP_LEVEL_ONLY_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    top_level_only: bool
    def __init__(self, paths: _Optional[_Iterable[str]] = ..., top_level_only: _Optional[bool] = ...) -> None: ...

class GetBurstsResponse(_message.Message):
    __slots__ = ("bursts",)
    BURSTS_FIELD_NUMBER: _ClassVar[int]
    bursts: _containers.RepeatedCompositeFieldContainer[Burst]
    def __init__(self, bursts: _Optional[_Iterable[_Union[Burst, _Mapping]]] = ...) -> None: ...

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatusResponse(_message.Message):
    __slots__ = ("version", "analyzer_version", "models_loaded", "queue_depth", "jobs_running", "photos_stored", "failures", "verdicts", "watched", "decodes", "home", "uptime_seconds", "clip", "embedded", "profiles", "taste_busy")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ANALYZER_VERSION_FIELD_NUMBER: _ClassVar[int]
    MODELS_LOADED_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    JOBS_RUNNING_FIELD_NUMBER: _ClassVar[int]
    PHOTOS_STORED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    VERDICTS_FIELD_NUMBER: _ClassVar[int]
    WATCHED_FIELD_NUMBER: _ClassVar[int]
    DECODES_FIELD_NUMBER: _ClassVar[int]
    HOME_FIELD_NUMBER: _ClassVar[int]
    UPTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CLIP_FIELD_NUMBER: _ClassVar[int]
    EMBEDDED_FIELD_NUMBER: _ClassVar[int]
    PROFILES_FIELD_NUMBER: _ClassVar[int]
    TASTE_BUSY_FIELD_NUMBER: _ClassVar[int]
    version: str
    analyzer_version: str
    models_loaded: _containers.RepeatedScalarFieldContainer[str]
    queue_depth: int
    jobs_running: int
    photos_stored: int
    failures: int
    verdicts: Counts
    watched: _containers.RepeatedCompositeFieldContainer[WatchFolder]
    decodes: int
    home: str
    uptime_seconds: float
    clip: str
    embedded: int
    profiles: _containers.RepeatedCompositeFieldContainer[TasteProfile]
    taste_busy: bool
    def __init__(self, version: _Optional[str] = ..., analyzer_version: _Optional[str] = ..., models_loaded: _Optional[_Iterable[str]] = ..., queue_depth: _Optional[int] = ..., jobs_running: _Optional[int] = ..., photos_stored: _Optional[int] = ..., failures: _Optional[int] = ..., verdicts: _Optional[_Union[Counts, _Mapping]] = ..., watched: _Optional[_Iterable[_Union[WatchFolder, _Mapping]]] = ..., decodes: _Optional[int] = ..., home: _Optional[str] = ..., uptime_seconds: _Optional[float] = ..., clip: _Optional[str] = ..., embedded: _Optional[int] = ..., profiles: _Optional[_Iterable[_Union[TasteProfile, _Mapping]]] = ..., taste_busy: _Optional[bool] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ("path", "code", "message", "attempts", "last_attempt", "given_up", "next_attempt")
    PATH_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    GIVEN_UP_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    path: str
    code: str
    message: str
    attempts: int
    last_attempt: str
    given_up: bool
    next_attempt: str
    def __init__(self, path: _Optional[str] = ..., code: _Optional[str] = ..., message: _Optional[str] = ..., attempts: _Optional[int] = ..., last_attempt: _Optional[str] = ..., given_up: _Optional[bool] = ..., next_attempt: _Optional[str] = ...) -> None: ...

class ListFailuresRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class WriteSidecarsRequest(_message.Message):
    __slots__ = ("paths", "top_level_only")
    PATHS_FIELD_NUMBER: _ClassVar[int]
    TOP_LEVEL_ONLY_FIELD_NUMBER: _ClassVar[int]
    paths: _containers.RepeatedScalarFieldContainer[str]
    top_level_only: bool
    def __init__(self, paths: _Optional[_Iterable[str]] = ..., top_level_only: _Optional[bool] = ...) -> None: ...

class SidecarResult(_message.Message):
    __slots__ = ("path", "sidecar", "written", "error")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIDECAR_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    path: str
    sidecar: str
    written: bool
    error: FileError
    def __init__(self, path: _Optional[str] = ..., sidecar: _Optional[str] = ..., written: _Optional[bool] = ..., error: _Optional[_Union[FileError, _Mapping]] = ...) -> None: ...

class WriteSidecarsResponse(_message.Message):
    __slots__ = ("results", "written", "failed")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    WRITTEN_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[SidecarResult]
    written: int
    failed: int
    def __init__(self, results: _Optional[_Iterable[_Union[SidecarResult, _Mapping]]] = ..., written: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...

class ListFailuresResponse(_message.Message):
    __slots__ = ("failures",)
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    failures: _containers.RepeatedCompositeFieldContainer[Failure]
    def __init__(self, failures: _Optional[_Iterable[_Union[Failure, _Mapping]]] = ...) -> None: ...
