"""Decide one photo: metrics + policy -> verdict, pick, stars, label, keywords, reasons.

Pure: no I/O, no clock, no logging. Hard rejects first (a missed focus, a frame
far too dark, closed eyes), then review lines, then a weighted quality score
behind the stars. A term that is missing (no faces, no preference model yet) is
left out and the remaining weights renormalised. Every decision has reasons a
photographer reads, with the numbers that led to it; they are kept as causes
(``records.Cause``), so a later step (best of burst) adds or drops causes and
never edits a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, NamedTuple, Optional, Sequence

from .. import ANALYZER_VERSION
from ..policy import Policy
from ..records import (
    Analysis,
    Cause,
    CauseKind,
    Decision,
    FaceMetrics,
    Preference,
    ScoreValue,
    SharpnessMetrics,
    Streak,
    quick_init,
)


@dataclass
class _Findings:
    """The causes found so far, in the order the judges found them."""

    causes: list[Cause] = field(default_factory=list)

    def reject(self, reason: str, keyword: str, tag: str = "") -> None:
        self.causes.append(Cause(CauseKind.REJECT, reason, keyword, tag))

    def review(self, reason: str, keyword: str, tag: str = "") -> None:
        self.causes.append(Cause(CauseKind.REVIEW, reason, keyword, tag))

    def note(self, reason: str) -> None:
        self.causes.append(Cause(CauseKind.NOTE, reason))

    def of(self, kind: CauseKind) -> list[Cause]:
        return [c for c in self.causes if c.kind is kind]


@quick_init
@dataclass(frozen=True)
class Judgement:
    """One photo judged on its own: the verdict, its causes in reading order, and the scores behind it."""

    verdict: str
    causes: tuple[Cause, ...]
    scores: Mapping[str, ScoreValue]
    quality: float
    face_count: int  # faces big enough to count under the policy
    technical: float = 0.0  # quality without the preference term (bursts rank near-ties by taste on top of it)
    preference: Optional[float] = None  # the taste score when it counted in the quality
    content: tuple[str, ...] = ()  # what the photo shows (zero-shot labels), for content keywords


@quick_init
@dataclass(frozen=True)
class Place:
    """Where a photo sits in a burst or bracket (decided by ``decide.groups``)."""

    group_id: str
    size: int
    rank: int  # 1 = best (burst) or stack top (bracket)
    bracket: bool


def counted_faces(analysis: Analysis, policy: Policy) -> list[FaceMetrics]:
    """Faces big enough to matter under the policy."""
    return [f for f in analysis.faces if f.size >= policy.min_face_size]


def judge(
    analysis: Analysis,
    policy: Policy,
    *,
    preference: Optional[Preference] = None,
    content: Sequence[str] = (),
    bracketed: bool = False,
) -> Judgement:
    """Judge one photo from its stored analysis. ``preference`` when a taste model exists: its score is a term of
    the quality only when the model's cross-validated quality reached the policy's line (the reason says which).

    ``bracketed``: the frame is part of an exposure bracket, so its exposure is by design (the caller
    passes a policy without exposure rules) and the keep reason says so.
    """
    found = _Findings()
    faces = counted_faces(analysis, policy)
    _judge_exposure(analysis, policy, found)  # first: on a near-black frame darkness is the cause to read
    _judge_sharpness(analysis, policy, faces, found)
    _judge_noise(analysis, policy, found)
    _judge_tilt(analysis, policy, found)
    eyes_score = _judge_eyes(faces, policy, found)
    counted = preference.score if preference is not None and preference.counts else None
    scores = _scores(analysis, eyes_score, counted)
    quality = quality_score(scores, policy)
    # without the preference term; the same terms (and so the same number) when it is not among them
    technical = (
        quality_score({k: v for k, v in scores.items() if k != "preference"}, policy)
        if counted is not None
        else quality
    )
    scores["quality"] = ScoreValue(quality, quality, "")
    if counted is not None:  # what the frame is worth without taste (bursts rank near-ties by taste on top of it)
        scores["technical"] = ScoreValue(technical, technical, "")
    if preference is not None and policy.weight_preference > 0:
        found.note(_taste_reason(preference))

    if found.of(CauseKind.REJECT):
        verdict = "reject"
    elif found.of(CauseKind.REVIEW):
        verdict = "review"
    elif quality < policy.keep_quality:
        verdict = "review"
        found.review(f"overall quality low: {quality:.2f} < {policy.keep_quality:.2f}", "Low quality")
    else:
        verdict = "keep"
    if verdict == "keep":
        keep = Cause(CauseKind.KEEP, _keep_reason(analysis, faces, quality, bracketed))
        causes = [keep] + found.of(CauseKind.NOTE)
    else:
        causes = found.of(CauseKind.REJECT) + found.of(CauseKind.REVIEW) + found.of(CauseKind.NOTE)
    return Judgement(verdict, tuple(causes), scores, quality, len(faces), technical, counted, tuple(content))


class Verdict(NamedTuple):
    """What ``judge`` decides, without its words: enough to store a verdict and rank a burst."""

    verdict: str
    quality: float
    technical: float
    preference: Optional[float]


def judge_verdict(analysis: Analysis, policy: Policy, *, preference: Optional[Preference] = None) -> Verdict:
    """``judge``'s verdict, quality, technical quality and counted preference, with no reason written.

    A policy change re-decides a whole library and stores only verdict, stars and quality: writing every
    photo's reasons (and building its scores and decision) is most of the work and all of it thrown away.
    The rules are ``judge``'s, condition for condition; ``tests/test_light_decide.py`` holds the two equal
    over real analyses under many policies, so a rule changed in one place and not the other fails there.
    """
    p = policy
    faces = [f for f in analysis.faces if f.size >= p.min_face_size]
    e = analysis.exposure
    ev = e.ev_offset
    dark = ev if e.highlight_ev is None else e.highlight_ev
    reject = review = False
    # exposure (_judge_exposure)
    if (e.label == "under" and dark <= -p.exposure_reject_ev) or (e.label == "over" and ev >= p.exposure_reject_ev):
        reject = True
    elif (e.label == "under" and dark <= -p.exposure_review_ev) or (e.label == "over" and ev >= p.exposure_review_ev):
        review = True
    if e.highlight_clip >= p.highlight_clip_reject:
        reject = True
    elif e.highlight_clip >= p.highlight_clip_review:
        review = True
    if e.shadow_clip >= p.shadow_clip_reject:
        reject = True
    elif e.shadow_clip >= p.shadow_clip_review:
        review = True
    # sharpness (_judge_sharpness)
    s = analysis.subject.score
    on_face = analysis.subject_source == "faces" and any(f.main for f in faces)
    reject_line, review_line = (
        (p.face_sharpness_reject, p.face_sharpness_review) if on_face else (p.sharpness_reject, p.sharpness_review)
    )
    if s < review_line:
        if s < reject_line:
            reject = True
        else:
            review = True
    # noise (_judge_noise)
    if analysis.noise.sigma >= p.noise_review_sigma:
        review = True
    # eyes (_judge_eyes)
    values = {"subject_sharpness": s, "exposure": e.score, "noise": analysis.noise.score}
    if faces:
        main = _main_faces(faces) or faces[:1]
        closed_main = [f for f in main if f.eye_state == "closed"]
        closed_minor = [f for f in faces if f not in main and f.eye_state == "closed"]
        if closed_main or closed_minor:
            if not p.reject_closed_eyes:
                review = True
            elif p.closed_eyes_scope == "any":
                reject = True
            elif p.closed_eyes_scope == "fraction":
                if (len(closed_main) + len(closed_minor)) / len(faces) >= p.closed_eyes_fraction:
                    reject = True
                else:
                    review = True
            elif closed_main:
                reject = True
            else:
                review = True
        if p.uncertain_eyes_review and any(f.eye_state == "uncertain" for f in main):
            review = True
        scored = [1.0 if f.eye_state == "open" else 0.0 if f.eye_state == "closed" else 0.5 for f in faces]
        values["eyes"] = sum(scored) / len(scored)
    counted = preference.score if preference is not None and preference.counts else None
    if counted is not None:
        technical = _weighted_mean(values, p)
        values["preference"] = counted
        quality = _weighted_mean(values, p)
    else:
        quality = technical = _weighted_mean(values, p)
    if reject:
        verdict = "reject"
    elif review or quality < p.keep_quality:
        verdict = "review"
    else:
        verdict = "keep"
    return Verdict(verdict, quality, technical, counted)


def _taste_reason(p: Preference) -> str:
    """'matches your taste: 86/100 — model AUC 0.81 (cross-validated) on 140 ratings', or why it is left out."""
    points = round(p.score * 100)
    if not p.counts:
        return (
            f"taste {points}/100 left out of the quality: model {p.summary}, below the line of {p.line:.2f} "
            "(rate more photos to teach it)"
        )
    how = "matches your taste" if p.score >= 0.5 else "unlike what you keep"
    return f"{how}: {points}/100 — model {p.summary}"


def decide(analysis: Analysis, policy: Policy, *, path: str = "", preference: Optional[Preference] = None) -> Decision:
    """Decide one photo on its own (no burst around it)."""
    return render(path, analysis, judge(analysis, policy, preference=preference), policy)


def render(
    path: str,
    analysis: Analysis,
    j: Judgement,
    policy: Policy,
    *,
    verdict: str = "",
    causes: Optional[Sequence[Cause]] = None,
    place: Optional[Place] = None,
    label: str = "",
) -> Decision:
    """The decision the host applies: the verdict mapped to pick, stars, label and keywords under ``policy``.

    ``verdict``, ``causes`` and ``label`` replace the judgement's own when a group decided otherwise.
    """
    verdict = verdict or j.verdict
    causes = tuple(j.causes if causes is None else causes)
    return Decision(
        path=path,
        verdict=verdict,
        pick=policy.pick_for(verdict),
        stars=stars_for(verdict, j.quality, policy),
        color_label=label or policy.label_for(verdict),
        keywords=_keywords(verdict, causes, j.face_count, place, policy) + _content_keywords(j.content, policy),
        causes=causes,
        scores=j.scores,
        quality=j.quality,
        burst_id=place.group_id if place else "",
        burst_size=place.size if place else 0,
        burst_rank=place.rank if place else 0,
        burst_best=bool(place and place.rank == 1),
        bracket=bool(place and place.bracket),
        faces=analysis.faces,
        capture_time=analysis.exif.capture_time or "",
        camera=" ".join(x for x in (analysis.exif.make, analysis.exif.model) if x).strip(),
        analyzer_version=ANALYZER_VERSION,
        subject_box=analysis.subject_box,
        subject_source=analysis.subject_source,
        streak=streak_of(analysis, policy),
        width=analysis.width,
        height=analysis.height,
    )


def streak_of(a: Analysis, p: Policy) -> Optional[Streak]:
    """The blur's direction to draw over the photo, by the rules that name its cause (``_blur_kind``).

    Only for a blurred subject (below its review line), as the reasons name the cause: "shake" for a second
    copy of the scene or directional blur the whole frame shares, "motion" for streaks on a subject whose
    surroundings are sharp (the same region's streaks the reasons describe); else None. The measures give
    their angles as displayed already (motion.py, doubled.py, the edge directions: image y down turned to y up
    by ``atan2(-dy, dx)``), so they pass through unchanged.
    """
    long_edge = max(a.analysis_size)
    sub = a.subject
    review_line = _sharpness_lines(a, p, counted_faces(a, p))[1]
    if sub.score >= review_line:
        return None  # a sharp subject: no blur cause is named, none is drawn
    if sub.double_offset > 0:
        return Streak("shake", sub.double_angle, sub.double_offset / long_edge if long_edge > 0 else 0.0)
    streak = _motion_streak(a, p, review_line)
    if streak is None:
        return None
    kind = "motion" if _background_sharp(a, review_line) else "shake"  # as the reasons name it (_blur_kind)
    return Streak(kind, streak.motion_angle, streak.motion_length / long_edge if long_edge > 0 else 0.0)


# ------------------------------------------------------------------ judges --
def _main_faces(faces: Sequence[FaceMetrics]) -> list[FaceMetrics]:
    return [f for f in faces if f.main]


def _sharpness_lines(a: Analysis, p: Policy, faces: list[FaceMetrics]) -> tuple[bool, float, float]:
    """(judged on a main face, reject line, review line) of the subject sharpness."""
    on_face = a.subject_source == "faces" and bool(_main_faces(faces))
    if on_face:
        return on_face, p.face_sharpness_reject, p.face_sharpness_review
    return on_face, p.sharpness_reject, p.sharpness_review


def _judge_sharpness(a: Analysis, p: Policy, faces: list[FaceMetrics], found: _Findings) -> None:
    s = a.subject.score
    on_face, reject_line, review_line = _sharpness_lines(a, p, faces)
    what = "main face" if on_face else "subject"
    if s < review_line:
        words, keyword = _blur_kind(a, p, review_line)
        if s < reject_line:
            found.reject(f"{what} {words}: sharpness {s:.2f} < {reject_line:.2f}", keyword)
        else:
            found.review(f"{what} slightly {words}: sharpness {s:.2f} < {review_line:.2f}", keyword)
    elif a.sharpness.score < review_line and a.subject_source != "centre":
        found.note(f"background blurred ({a.sharpness.score:.2f}) but the {what} is sharp ({s:.2f}): not penalised")


def _blur_kind(a: Analysis, p: Policy, review_line: float) -> tuple[str, str]:
    """What blurred the subject, in a photographer's words, and the keyword for it.

    A second copy of the scene is camera shake (the camera lingered at two
    places during the exposure). Directional blur is camera shake when the
    whole frame shares it and subject motion when the rest of the frame is
    sharp. Blur alike in every direction is a focus problem: a missed focus
    when the background is sharp, else out of focus.
    """
    sub = a.subject
    background_sharp = _background_sharp(a, review_line)
    if sub.double_offset > 0:
        return f"blurred by camera shake (double edges, ~{sub.double_offset:.0f} px)", "Camera shake"
    streak = _motion_streak(a, p, review_line)
    if streak is not None:
        detail = f" ({_streak_words(streak, a.analysis_size)})" if streak.motion_length > 0 else ""
        kind = "subject motion" if background_sharp else "camera shake"
        return f"blurred by {kind}{detail}", kind.capitalize()
    if background_sharp:
        return "out of focus (focus missed: the background is sharp)", "Missed focus"
    return "out of focus", "Out of focus"


def _background_sharp(a: Analysis, review_line: float) -> bool:
    """The frame around the subject is sharp and clearly sharper than it (a missed focus, a moving subject)."""
    whole = a.sharpness
    return whole.score >= review_line and whole.score > a.subject.score + 0.15


def _motion_streak(a: Analysis, p: Policy, review_line: float) -> Optional[SharpnessMetrics]:
    """The region whose streaks blurred a blurred subject when the blur is directional enough to call it motion
    (the subject's own, or the frame's when it has the only measured streak), else None."""
    sub, whole = a.subject, a.sharpness
    background_sharp = _background_sharp(a, review_line)
    # On a sharp frame only the subject's own streaks count (subject motion); else the frame's too (camera shake).
    motion = sub.motion if background_sharp else max(sub.motion, whole.motion)
    if motion < p.motion_blur_line:
        return None
    return sub if background_sharp or sub.motion_length > 0 else whole


def _streak_words(m: SharpnessMetrics, analysis_size: tuple[int, int]) -> str:
    """A streak as a photographer sees it: its share of the frame, and its direction."""
    long_edge = max(analysis_size)
    size = f"{m.motion_length / long_edge:.1%} of the frame" if long_edge > 0 else f"{m.motion_length:.0f} px"
    return f"streaks {size} long at {m.motion_angle:.0f}°"


_CHANNELS = ("red", "green", "blue")  # order of ExposureMetrics.channel_clip


def _judge_exposure(a: Analysis, p: Policy, found: _Findings) -> None:
    e = a.exposure
    ev = e.ev_offset
    # Too dark is read on the highlights: a low-key frame keeps them in place however low its median.
    # Rows measured before highlight_ev existed carry None and are judged on the midtones.
    dark = ev if e.highlight_ev is None else e.highlight_ev
    tones = (
        f"exposure {ev:+.1f} EV"
        if e.highlight_ev is None
        else f"highlights at {e.highlight_ev:+.1f} EV, midtones {ev:+.1f} EV"
    )
    if e.label == "under" and dark <= -p.exposure_reject_ev:
        found.reject(f"too dark: no usable detail ({tones}; line −{p.exposure_reject_ev:.1f} EV)", "Underexposed")
    elif e.label == "over" and ev >= p.exposure_reject_ev:
        found.reject(f"too bright: exposure {ev:+.1f} EV (line +{p.exposure_reject_ev:.1f} EV)", "Overexposed")
    elif e.label == "under" and dark <= -p.exposure_review_ev:
        found.review(f"dark: {tones} (line −{p.exposure_review_ev:.1f} EV)", "Underexposed")
    elif e.label == "over" and ev >= p.exposure_review_ev:
        found.review(f"bright: exposure {ev:+.1f} EV (line +{p.exposure_review_ev:.1f} EV)", "Overexposed")
    if e.highlight_clip >= p.highlight_clip_reject:
        found.reject(
            f"highlights blown: {e.highlight_clip:.0%} of the frame lost detail (line {p.highlight_clip_reject:.0%})",
            "Blown highlights",
        )
    elif e.highlight_clip >= p.highlight_clip_review:
        found.review(
            f"highlights clipped: {e.highlight_clip:.0%} of the frame lost detail (line {p.highlight_clip_review:.0%})",
            "Clipped highlights",
        )
    saturated = [(name, share) for name, share in zip(_CHANNELS, e.channel_clip) if share >= p.channel_clip_note]
    if saturated:  # colour at the top of one channel, detail kept in the others: worth knowing, not a fault
        names = " and ".join(name for name, _ in saturated)
        shares = " and ".join(f"{share:.0%}" for _, share in saturated)
        found.note(
            f"{names} channel{'s' if len(saturated) > 1 else ''} saturated on {shares} of the frame (detail kept)"
        )
    if e.shadow_clip >= p.shadow_clip_reject:
        found.reject(
            f"shadows crushed: {e.shadow_clip:.0%} of the frame is black (line {p.shadow_clip_reject:.0%})",
            "Crushed shadows",
        )
    elif e.shadow_clip >= p.shadow_clip_review:
        found.review(
            f"deep shadows: {e.shadow_clip:.0%} of the frame is black (line {p.shadow_clip_review:.0%})",
            "Crushed shadows",
        )


def _judge_tilt(a: Analysis, p: Policy, found: _Findings) -> None:
    """A tilted horizon or leaning verticals: a note with the angle, never a verdict of its own."""
    t = a.tilt
    if not p.horizon_note or not t.found or abs(t.angle) < p.horizon_tilt_min:
        return
    turn = "clockwise" if t.angle > 0 else "counter-clockwise"
    what = "horizon" if t.kind == "horizon" else "verticals"
    found.note(f"{what} tilted {abs(t.angle):.1f}° (turn {turn} to level)")


def _judge_noise(a: Analysis, p: Policy, found: _Findings) -> None:
    if a.noise.sigma >= p.noise_review_sigma:
        found.review(f"noisy: noise {a.noise.sigma:.1f} ≥ {p.noise_review_sigma:.1f}", "Noisy")


_CLOSED_TAG = "Faces|Eyes closed"  # filed whatever the verdict: a search for closed eyes finds them all


def _judge_eyes(faces: list[FaceMetrics], p: Policy, found: _Findings) -> Optional[float]:
    """Apply the closed-eye rules; return the share of faces with open eyes (None: no faces)."""
    if not faces:
        return None
    main = _main_faces(faces) or faces[:1]
    minor = [f for f in faces if f not in main]
    closed_main = [f for f in main if f.eye_state == "closed"]
    closed_minor = [f for f in minor if f.eye_state == "closed"]
    closed = closed_main + closed_minor
    n, nc = len(faces), len(closed)
    if closed:
        summary = _closed_summary(closed_main, main, closed_minor, n)
        if not p.reject_closed_eyes:
            found.review(summary, "Eyes closed", _CLOSED_TAG)
        elif p.closed_eyes_scope == "any":
            found.reject(summary, "Eyes closed", _CLOSED_TAG)
        elif p.closed_eyes_scope == "fraction":
            if nc / n >= p.closed_eyes_fraction:
                found.reject(f"{summary} (line {p.closed_eyes_fraction:.0%} of faces)", "Eyes closed", _CLOSED_TAG)
            else:
                found.review(summary, "Eyes closed", _CLOSED_TAG)
        elif closed_main:
            found.reject(summary, "Eyes closed", _CLOSED_TAG)
        else:
            found.review(summary, "Eyes closed", _CLOSED_TAG)
    uncertain_main = [f for f in main if f.eye_state == "uncertain"]
    if uncertain_main and p.uncertain_eyes_review:
        ears = [e.ear for f in uncertain_main for e in (f.left_eye, f.right_eye) if e.ear is not None]
        why = next((e.why for f in uncertain_main for e in (f.left_eye, f.right_eye) if e.why), "")
        detail = f"EAR {min(ears):.2f}" if ears else why or "eyes not visible"
        if why and ears:
            detail = f"{why}, {detail}"
        who = "main face" if len(main) == 1 else f"{len(uncertain_main)} of {len(main)} main faces"
        found.review(f"{who}: eyes uncertain ({detail})", "Eyes uncertain")
    scored = [1.0 if f.eye_state == "open" else 0.0 if f.eye_state == "closed" else 0.5 for f in faces]
    return sum(scored) / len(scored)


def _closed_summary(closed_main: list, main: list, closed_minor: list, n: int) -> str:
    total = len(closed_main) + len(closed_minor)
    if n == 1:
        return "eyes closed"
    if closed_main and len(main) == 1 and not closed_minor:
        return f"eyes closed on the main face ({n} faces)"
    text = f"{total} of {n} faces have closed eyes" if total > 1 else f"1 of {n} faces has closed eyes"
    if closed_main:
        text += f", {len(closed_main)} of them in the main subject"
    return text


# ------------------------------------------------------------------ scores --
def _scores(a: Analysis, eyes: Optional[float], preference: Optional[float]) -> dict[str, ScoreValue]:
    s: dict[str, ScoreValue] = {
        "sharpness": ScoreValue(a.sharpness.score, a.sharpness.edge_width, "px edge width"),
        "subject_sharpness": ScoreValue(a.subject.score, a.subject.edge_width, "px edge width"),
        "laplacian_variance": ScoreValue(a.sharpness.score, a.sharpness.laplacian_var, "var"),
        "tenengrad": ScoreValue(a.sharpness.score, a.sharpness.tenengrad, "mean grad²"),
        "motion": ScoreValue(
            1.0 - max(a.subject.motion, a.sharpness.motion), max(a.subject.motion, a.sharpness.motion), "directional"
        ),
        "exposure": ScoreValue(a.exposure.score, a.exposure.ev_offset, "EV"),
        "highlight_clip": ScoreValue(1.0 - a.exposure.highlight_clip, a.exposure.highlight_clip, "fraction"),
        "shadow_clip": ScoreValue(1.0 - a.exposure.shadow_clip, a.exposure.shadow_clip, "fraction"),
        "noise": ScoreValue(a.noise.score, a.noise.sigma, "sigma"),
    }
    if eyes is not None:
        s["eyes"] = ScoreValue(eyes, eyes, "share open")
    if preference is not None:
        s["preference"] = ScoreValue(preference, round(preference * 100, 1), "/100")
    return s


_TERMS = (
    ("subject_sharpness", "weight_sharpness"),
    ("exposure", "weight_exposure"),
    ("noise", "weight_noise"),
    ("eyes", "weight_eyes"),
    ("preference", "weight_preference"),
)


def quality_score(scores: Mapping[str, ScoreValue], policy: Policy) -> float:
    """Weighted mean of the terms present; missing terms drop out and the weights renormalise."""
    return _weighted_mean({k: scores[k].value for k, _ in _TERMS if k in scores}, policy)


def _weighted_mean(values: Mapping[str, float], policy: Policy) -> float:
    """``quality_score`` over plain term values (the one sum both the full and the light judge use)."""
    total = weight = 0.0
    for key, wname in _TERMS:
        w = getattr(policy, wname)
        if key in values and w > 0:
            total += w * values[key]
            weight += w
    return round(total / weight, 4) if weight else 0.0


def stars_for(verdict: str, quality: float, policy: Policy) -> int:
    if verdict == "reject":
        return policy.reject_stars
    stars = sum(1 for t in policy.stars_thresholds if quality >= t)
    return max(stars, 1) if verdict == "keep" else stars


def _keywords(
    verdict: str, causes: Sequence[Cause], face_count: int, place: Optional[Place], p: Policy
) -> tuple[str, ...]:
    """The verdict, each cause's keyword while it holds the verdict, its tags, the face count and the group."""
    root = p.keyword_root
    words = [f"{root}|{verdict.capitalize()}"]
    for c in causes:
        if c.tag:
            words.append(f"{root}|{c.tag}")
        if c.keyword and c.kind.value == verdict:
            words.append(f"{root}|{verdict.capitalize()}|{c.keyword}")
    if face_count:
        words.append(f"{root}|Faces|{face_count} face{'s' if face_count != 1 else ''}")
    if place and p.burst_keywords:
        words.append(f"{root}|{'Bracket' if place.bracket else 'Burst'}|{place.group_id}")
    return tuple(dict.fromkeys(words))  # first occurrence of each, in order


def _content_keywords(labels: Sequence[str], p: Policy) -> tuple[str, ...]:
    """'AutoCull|Content|Landscape' for each content label, when the policy tags content."""
    if not p.content_keywords:
        return ()
    return tuple(f"{p.content_root}|{_title(label)}" for label in labels)


def _title(label: str) -> str:
    """'group photo' -> 'Group photo' (a keyword reads like a word, never with a '|' inside)."""
    text = " ".join(label.replace("|", " ").split())
    return text[:1].upper() + text[1:]


def _keep_reason(a: Analysis, faces: list[FaceMetrics], quality: float, bracketed: bool) -> str:
    parts = []
    if a.subject_source == "faces" and faces:
        open_n = sum(1 for f in faces if f.eye_state == "open")
        parts.append(f"main face sharp ({a.subject.score:.2f})")
        parts.append(f"eyes open on {open_n} of {len(faces)} face{'s' if len(faces) != 1 else ''}")
    else:
        parts.append(f"subject sharp ({a.subject.score:.2f})")
    e = a.exposure
    how = "as bracketed" if bracketed else "ok"  # in a bracket an exposure far from 0 is by design, not ok
    if e.highlight_ev is not None and e.ev_offset < e.highlight_ev - 1.0:  # dark midtones under bright highlights
        parts.append(f"exposure {how} (low key: {e.ev_offset:+.1f} EV, highlights at {e.highlight_ev:+.1f} EV)")
    else:
        parts.append(f"exposure {how} ({e.ev_offset:+.1f} EV)")
    return f"keep: {', '.join(parts)}; quality {quality:.2f}"
