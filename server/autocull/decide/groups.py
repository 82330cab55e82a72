"""Decide a set of photos: each judged on its own, then one best per burst and brackets kept together.

Pure: no I/O. The grouping itself is ``bursts.group`` (an index of which frames
belong together); here the groups change verdicts. Bursts: shots ranked by (not
rejected first, quality, subject sharpness, time). The best keeps its own verdict
(being the best of a burst fixes none of its own faults: a review line the
photographer set still holds); the others get ``policy.burst_others`` (a reject
stays a reject) and a cause naming the better frame and the metric that
separates them most. Brackets: judged without exposure rules, nobody is set
aside, the base exposure (compensation nearest 0) is the stack top.
"""

from __future__ import annotations

import os
from typing import Callable, Iterator, Mapping, Optional, Protocol, Sequence

from ..bursts import Group, shot_key
from ..policy import Policy
from ..records import Analysis, Cause, CauseKind, Decision, Preference
from .photo import Judgement, Place, judge, judge_verdict, render, stars_for

# Exposure lines at their maximum and no exposure weight: a bracket frame is *meant* to be off.
_NO_EXPOSURE_RULES = {
    "exposure_reject_ev": 10.0,
    "exposure_review_ev": 10.0,
    "highlight_clip_reject": 1.0,
    "highlight_clip_review": 1.0,
    "shadow_clip_reject": 1.0,
    "shadow_clip_review": 1.0,
    "weight_exposure": 0.0,
}


class Ranked(Protocol):
    """What ranking a burst reads of a judged frame (a ``Judgement`` or the light ``Verdict``)."""

    @property
    def verdict(self) -> str: ...

    @property
    def quality(self) -> float: ...

    @property
    def technical(self) -> float: ...

    @property
    def preference(self) -> Optional[float]: ...


_METRICS = (  # (score key, policy weight, how the better frame is described)
    ("subject_sharpness", "weight_sharpness", "is sharper"),
    ("eyes", "weight_eyes", "has open eyes"),
    ("exposure", "weight_exposure", "is better exposed"),
    ("noise", "weight_noise", "is less noisy"),
    ("preference", "weight_preference", "is closer to your taste"),
)


def decide_all(
    analyses: Mapping[str, Analysis],
    groups: Sequence[Group],
    policy: Policy,
    preferences: Optional[Mapping[str, Preference]] = None,
    content: Optional[Mapping[str, Sequence[str]]] = None,
) -> dict[str, Decision]:
    """A new decision for every analysed photo; grouped frames decided as their group says."""
    prefs = preferences or {}
    labels = content or {}
    judged = {p: judge(a, policy, preference=prefs.get(p), content=labels.get(p, ())) for p, a in analyses.items()}
    grouped: dict[str, Decision] = {}
    for g, shots in _grouped_shots(groups, analyses):
        if g.bracket:
            grouped.update(_bracket(g, shots, analyses, policy, prefs, labels))
        else:
            grouped.update(_burst(g, shots, analyses, judged, policy))
    # a frame its group decided is rendered once, as the group says (never first on its own, then again)
    return {p: grouped[p] if p in grouped else render(p, analyses[p], j, policy) for p, j in judged.items()}


def verdict_rows(
    analyses: Mapping[str, Analysis],
    groups: Sequence[Group],
    policy: Policy,
    preferences: Optional[Mapping[str, Preference]] = None,
) -> dict[str, tuple[str, int, float]]:
    """(verdict, stars, quality) of every analysed photo: what ``decide_all`` stores, without its decisions.

    A policy change stores only these three; the reasons, keywords, scores and burst places behind them are
    never built. Same rules as ``decide_all`` (``judge_verdict`` for ``judge``, the burst's best chosen by the
    same ranking, a bracket judged without exposure rules), so the stored rows are the same.
    """
    prefs = preferences or {}
    judged = {p: judge_verdict(a, policy, preference=prefs.get(p)) for p, a in analyses.items()}
    rows = {p: (j.verdict, stars_for(j.verdict, j.quality, policy), j.quality) for p, j in judged.items()}
    neutral: Optional[Policy] = None
    for g, shots in _grouped_shots(groups, analyses):
        if g.bracket:  # as ``_bracket``: judged without exposure rules, stars under the photographer's policy
            neutral = neutral or policy.with_values(_NO_EXPOSURE_RULES)
            for files in shots:
                for p in files:
                    j = judge_verdict(analyses[p], neutral, preference=prefs.get(p))
                    rows[p] = (j.verdict, stars_for(j.verdict, j.quality, policy), j.quality)
            continue
        by_quality, lead = _burst_order(g, shots, analyses, judged)
        best = _taste_pick(by_quality, lead, judged, policy)
        for files in by_quality:  # as ``_burst``: the best keeps its own verdict, the others are set aside
            if files is best:
                continue
            for p in files:
                j = judged[p]
                verdict = "reject" if j.verdict == "reject" else policy.burst_others
                rows[p] = (verdict, stars_for(verdict, j.quality, policy), j.quality)
    return rows


def _grouped_shots(
    groups: Sequence[Group], analyses: Mapping[str, Analysis]
) -> Iterator[tuple[Group, list[list[str]]]]:
    """Each group with its analysed files as shots (a RAW and its JPEG are one shot), in the group's order;
    a group of fewer than two shots here decides nothing (its frames keep their own verdicts)."""
    for g in groups:
        shots: dict[tuple[str, str], list[str]] = {}
        for p in g.paths:
            if p in analyses:
                shots.setdefault(shot_key(p), []).append(p)
        if len(shots) >= 2:
            yield g, list(shots.values())


def _burst_order(
    g: Group, shots: list[list[str]], analyses: Mapping[str, Analysis], judged: Mapping[str, Ranked]
) -> tuple[list[list[str]], Callable[[list[str]], str]]:
    """The shots in burst order (best first) and the file that speaks for each shot (its best-scored one)."""
    order = {p: k for k, p in enumerate(g.paths)}

    def rank_key(p: str) -> tuple:
        j = judged[p]
        return (j.verdict == "reject", -j.quality, -analyses[p].subject.score, order[p])

    leads = {id(files): min(files, key=rank_key) for files in shots}

    def lead(files: list[str]) -> str:
        return leads[id(files)]

    return sorted(shots, key=lambda files: rank_key(lead(files))), lead


def _burst(
    g: Group, shots: list[list[str]], analyses: Mapping[str, Analysis], judged: Mapping[str, Judgement], policy: Policy
) -> dict[str, Decision]:
    by_quality, lead = _burst_order(g, shots, analyses, judged)
    ranked = _taste_breaks_ties(by_quality, lead, judged, policy)
    n = len(ranked)
    best_path = lead(ranked[0])
    out: dict[str, Decision] = {}
    for rank, files in enumerate(ranked, start=1):
        place = Place(g.id, n, rank, bracket=False)
        for p in files:
            j = judged[p]
            if rank == 1:
                out[p] = render(p, analyses[p], j, policy, causes=(_best_cause(j.verdict, n),) + j.causes, place=place)
                continue
            verdict = "reject" if j.verdict == "reject" else policy.burst_others
            why = _better_because(judged[best_path], j, os.path.basename(best_path), policy)
            # Set aside: the comparison is why it lost its verdict; a frame rejected on its own (too dark, eyes
            # closed) reads that cause first and the comparison after.
            aside = (
                Cause(CauseKind(verdict), f"burst: {why}", "Not best of burst")
                if verdict != j.verdict
                else Cause(CauseKind.GROUP, f"burst: {why}")
            )
            own = tuple(c for c in j.causes if c.kind is not CauseKind.KEEP)
            causes = own + (aside,) if j.verdict == "reject" else (aside,) + own
            label = policy.burst_label if policy.burst_label != "none" else ""
            out[p] = render(p, analyses[p], j, policy, verdict=verdict, causes=causes, place=place, label=label)
    return out


def _taste_breaks_ties(
    ranked: list[list[str]], lead: Callable[[list[str]], str], judged: Mapping[str, Ranked], policy: Policy
) -> list[list[str]]:
    """Among frames of equal technical quality (within ``burst_taste_tie``) and the same fate, the one closer to
    the photographer's taste goes first; frames without a counted preference keep their order."""
    out: list[list[str]] = []
    rest = list(ranked)
    while rest:
        pick = _taste_pick(rest, lead, judged, policy)
        out.append(pick)
        rest.remove(pick)
    return out


def _taste_pick(
    rest: list[list[str]], lead: Callable[[list[str]], str], judged: Mapping[str, Ranked], policy: Policy
) -> list[str]:
    """The shot that goes first among ``rest`` (ranked by quality): ``_taste_breaks_ties``'s one step."""
    fate = judged[lead(rest[0])].verdict == "reject"
    same = [files for files in rest if (judged[lead(files)].verdict == "reject") == fate]
    top = max(judged[lead(files)].technical for files in same)
    tied = [files for files in same if judged[lead(files)].technical >= top - policy.burst_taste_tie]
    if any(judged[lead(f)].preference is None for f in tied):
        return rest[0]
    return max(tied, key=lambda f: (judged[lead(f)].preference or 0.0, -rest.index(f)))


def _best_cause(verdict: str, n: int) -> Cause:
    head = f"best of burst ({n} frames)"
    if verdict == "reject":
        return Cause(CauseKind.GROUP, f"{head}, but every frame of it is rejected")
    if verdict == "review":
        return Cause(CauseKind.GROUP, f"{head}, but still to review")
    return Cause(CauseKind.GROUP, head)


def _better_because(best: Judgement, other: Judgement, name: str, policy: Policy) -> str:
    """Name the better frame and the weighted metric that separates the two most."""
    gains = []
    for key, weight, phrase in _METRICS:
        if key in best.scores and key in other.scores:
            b, o = best.scores[key].value, other.scores[key].value
            gains.append((getattr(policy, weight) * (b - o), key, phrase, b, o))
    gain, key, phrase, b, o = max(gains, default=(0.0, "", "", 0.0, 0.0))
    if gain > 0:
        if key == "eyes":
            return f"{name} {phrase}, {b:.0%} vs {o:.0%} of faces"
        return f"{name} {phrase}, {b:.2f} vs {o:.2f}"
    if best.quality > other.quality:
        return f"{name} has the higher quality, {best.quality:.2f} vs {other.quality:.2f}"
    return f"{name} is as good and comes first"


def _bracket(
    g: Group,
    shots: list[list[str]],
    analyses: Mapping[str, Analysis],
    policy: Policy,
    prefs: Mapping[str, Preference],
    labels: Mapping[str, Sequence[str]],
) -> dict[str, Decision]:
    """Judged without exposure rules; verdicts map to host actions under the photographer's policy."""
    neutral = policy.with_values(_NO_EXPOSURE_RULES)
    judged = {
        p: judge(analyses[p], neutral, preference=prefs.get(p), content=labels.get(p, ()), bracketed=True)
        for files in shots
        for p in files
    }
    order = {p: k for k, p in enumerate(g.paths)}

    def base_first(files: list[str]) -> tuple:
        a = analyses[files[0]]
        ev = a.exif.exposure_compensation
        return (
            abs(ev if ev is not None else a.exposure.ev_offset),
            -judged[files[0]].quality,
            min(order[p] for p in files),
        )

    ranked = sorted(shots, key=base_first)
    levels = sorted(_ev_of(analyses[files[0]]) for files in shots)
    measured = all(analyses[files[0]].exif.exposure_compensation is None for files in shots)
    text = (
        f"exposure bracket of {len(shots)} ({'measured ' if measured else ''}EV "
        f"{'/'.join(_fmt_ev(v) for v in levels)}): kept together, not judged on exposure"
    )
    out: dict[str, Decision] = {}
    for rank, files in enumerate(ranked, start=1):
        place = Place(g.id, len(shots), rank, bracket=True)
        for p in files:
            j = judged[p]
            out[p] = render(p, analyses[p], j, policy, causes=(Cause(CauseKind.GROUP, text),) + j.causes, place=place)
    return out


def _ev_of(a: Analysis) -> float:
    ec = a.exif.exposure_compensation
    return ec if ec is not None else a.exposure.ev_offset


def _fmt_ev(v: float) -> str:
    """'−2', '0', '+0.7': the way a camera's bracket menu writes it."""
    r = round(v, 1)
    if r == 0:
        return "0"
    return f"{'+' if r > 0 else '−'}{abs(r):g}"
