"""Decisions as CSV, one row per photo, for spreadsheet users (`autocull cull --csv`, `autocull report --csv`).

The first columns are the ones `autocull teach --csv` reads (path, stars, pick, label, in values it accepts), so a
photographer can change stars in a spreadsheet and teach from the same file. A failed file is a row too, with
its error and no stars, pick or label: teach skips it as "rates nothing".

Encoding: UTF-8 with a byte-order mark. Excel opens a CSV without one in the machine's ANSI code page, which
turns every accented or non-Latin file name into mojibake (and a path edited there no longer names the photo);
with the BOM it reads UTF-8. LibreOffice, Numbers, Python's ``utf-8-sig``, pandas and `teach --csv` all accept
the BOM. Rows end in CRLF (the csv module's Excel dialect, RFC 4180); every cell the reader needs quoted is.

Formula injection: a spreadsheet runs a cell that starts with = + - @ (or a tab or CR, which some strip first)
as a formula. Any text cell that would start so gets a leading apostrophe (OWASP's advice); numbers we wrote
are never text. A path is absolute and so never starts with one of those; a relative one that did would get
"./" instead, which names the same file for `teach --csv` (it resolves relative paths against the CSV's folder).
"""

from __future__ import annotations

import csv
from typing import Iterable, TextIO

from .v1 import autocull_pb2 as pb

BOM = "\ufeff"
COLUMNS = (
    "path",
    "verdict",
    "stars",
    "pick",
    "label",
    "quality",
    "sharpness",
    "subject_sharpness",
    "exposure",
    "noise",
    "eyes",
    "preference",
    "faces",
    "closed_eyes",
    "burst_id",
    "burst_rank",
    "burst_size",
    "best_of_burst",
    "capture_time",
    "camera",
    "reasons",
    "error_code",
    "error",
)
SCORES = ("sharpness", "subject_sharpness", "exposure", "noise", "eyes", "preference")  # Decision.scores keys, 0..1
REASON_JOIN = " | "
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# The proto's enums as the words `teach --csv` reads (taste.ratings.CSV_PICKS and LABELS); unspecified and
# "no label" are empty cells.
_VERDICTS = {pb.VERDICT_KEEP: "keep", pb.VERDICT_REVIEW: "review", pb.VERDICT_REJECT: "reject"}
_PICKS = {pb.PICK_NONE: "none", pb.PICK_PICKED: "picked", pb.PICK_REJECTED: "rejected"}
_LABELS = {
    pb.COLOR_LABEL_RED: "red",
    pb.COLOR_LABEL_YELLOW: "yellow",
    pb.COLOR_LABEL_GREEN: "green",
    pb.COLOR_LABEL_BLUE: "blue",
    pb.COLOR_LABEL_PURPLE: "purple",
}


def safe_text(text: str) -> str:
    """``text`` as a spreadsheet shows it and never runs it: a leading apostrophe before a formula start."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def safe_path(path: str) -> str:
    """A path cell `teach --csv` still reads: absolute paths as they are; a relative one that would start like a
    formula gets "./" (the same file relative to the CSV's folder)."""
    return "./" + path if path.startswith(_FORMULA_START) else path


def _number(value: float) -> str:
    return f"{value:.3f}"


def row(d: pb.Decision) -> list[str]:
    """One decision (a ``pb.Decision``) as the cells of ``COLUMNS``."""
    failed = bool(d.error.code)
    decided = not failed and d.verdict in _VERDICTS
    scores = {key: _number(d.scores[key].value) if key in d.scores else "" for key in SCORES}
    in_burst = bool(d.burst_id)
    return [
        safe_path(d.path),
        _VERDICTS.get(d.verdict, ""),
        str(d.stars) if decided else "",
        _PICKS.get(d.pick, "") if decided else "",
        _LABELS.get(d.color_label, "") if decided else "",
        _number(d.quality) if decided else "",
        *(scores[key] for key in SCORES),
        str(d.face_count) if decided else "",
        str(sum(1 for f in d.faces if f.eye_state == pb.EYE_STATE_CLOSED)) if decided else "",
        safe_text(d.burst_id),
        str(d.burst_rank) if in_burst else "",
        str(d.burst_size) if in_burst else "",
        ("yes" if d.burst_best else "no") if in_burst else "",
        safe_text(d.capture_time),
        safe_text(d.camera),
        safe_text(REASON_JOIN.join(d.reasons)),
        safe_text(d.error.code),
        safe_text(d.error.message),
    ]


class CsvWriter:
    """Writes the BOM and the header at once, then rows as decisions arrive (a page at a time: never all held)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        stream.write(BOM)
        self._writer = csv.writer(stream)
        self._writer.writerow(COLUMNS)
        self.count = 0

    def write(self, decisions: Iterable[pb.Decision]) -> None:
        for d in decisions:
            self._writer.writerow(row(d))
            self.count += 1


def write_csv(decisions: Iterable[pb.Decision], stream: TextIO) -> int:
    """Write ``decisions`` (``pb.Decision``) to ``stream`` as one CSV with its header; returns the rows written.

    ``stream`` should be opened with ``newline=""`` (the csv module's rule) and UTF-8; the BOM is written here.
    """
    out = CsvWriter(stream)
    out.write(decisions)
    return out.count
