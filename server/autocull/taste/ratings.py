"""The photographer's own ratings, read from XMP and from a CSV, so `autocull teach PATH…` learns from past shoots
without any host running.

Where a photo's rating lives, in the order we look (the first place that says anything decides):

1. ``photo.ext.xmp`` — darktable's sidecar (digiKam uses the same name). darktable's duplicates write
   ``photo_01.ext.xmp``, ``photo_02.ext.xmp``…: only the base version is read, because the photo file is one
   photo and its duplicates are the photographer's edits of it, not further ratings of the same frame.
2. ``photo.xmp`` — Lightroom's and Adobe Camera Raw's sidecar for proprietary RAWs (same stem).
3. The XMP inside the file (JPEG, TIFF, DNG, PNG…), read with Exempi's XMPFiles. Exempi, like Adobe's XMP SDK,
   never opens proprietary RAWs (``kKnownRejectedFiles``: cr2, nef, arw…): their XMP lives in sidecars.

A sidecar wins over the embedded XMP: for a RAW the host writes the sidecar last (the file itself is never
rewritten), and for a JPEG darktable never writes into the file, so the XMP inside a JPEG is what the camera or
an earlier tool put there, while the sidecar is the photographer's latest word.

Fields (what the tools really write):

* ``xmp:Rating`` — -1 = rejected, 0 = unrated, 1..5 stars (XMP spec part 1). darktable writes every image's
  rating here and a reject as -1 (``exif.cc``: ``rejected image = -1, others = 0..5``). Note: darktable gives
  every imported image its *initial rating* (1 star unless changed) and writes it, so a darktable sidecar
  cannot tell "never rated" from "rated 1 star".
* ``darktable:colorlabels`` — an ``rdf:Seq`` of 0 red, 1 yellow, 2 green, 3 blue, 4 purple (darktable allows
  several; the first in that order is kept).
* ``xmp:Label`` — Lightroom's and Bridge's colour label *text*: with Lightroom's default set "Red", "Yellow",
  "Green", "Blue", "Purple". Other label sets write their own words, which cannot be mapped to a colour
  without the set, so they are ignored.
* ``digiKam:PickLabel`` — the only pick flag a common tool writes to XMP (0 none, 1 rejected, 2 pending,
  3 accepted). Lightroom keeps its pick flag in the catalogue only and darktable has none besides reject.

``pick`` is "rejected" for a -1 rating, "picked"/"rejected"/"none" from a pick flag, and "" when the tool
records no flag. Colour labels use the proto's names: "red", "yellow", "green", "blue", "purple".
"""

from __future__ import annotations

import csv
import io
import os
import stat
import threading
from dataclasses import dataclass
from typing import Any, Optional

from autocull.errors import AutoCullError, FileProblem, NotAFile, file_problem

LABELS = ("red", "yellow", "green", "blue", "purple")  # darktable colorlabels 0..4; the proto's names
PICKS = ("picked", "rejected", "none", "")

NS_XMP = "http://ns.adobe.com/xap/1.0/"
NS_DARKTABLE = "http://darktable.sf.net/"
NS_DIGIKAM = "http://www.digikam.org/ns/1.0/"
NS_AUTOCULL = "http://autocull.app/ns/1.0/"  # what AutoCull itself wrote into a sidecar (sidecar.py)
_DIGIKAM_PICK = {"0": "none", "1": "rejected", "2": "none", "3": "picked"}  # 2 = "pending": not decided

# Adobe XMP SDK's kKnownRejectedFiles (XMPFiles never opens these: proprietary RAWs keep XMP in sidecars).
_RAW_NO_EMBEDDED = frozenset(
    "cr2 erf fff dcr kdc mos mfw mef raw nef orf pef arw sr2 srf sti 3fr rwl crw sraw mrw nrw rw2 c3f".split()
)
_MAX_SIDECAR = 64 << 20  # a darktable sidecar with a long history is a few MB; beyond this it is not a sidecar
_LOCK = threading.Lock()  # Exempi's error state and libxmp's ctypes setup are process-wide: one caller at a time


@dataclass(frozen=True)
class FoundRating:
    """One photo's rating as the photographer left it."""

    path: str  # absolute path of the photo
    rating: int  # -1 rejected, 0 unrated / no stars, 1..5
    pick: str  # "picked" | "rejected" | "none" | "" (the tool records no pick flag)
    label: str  # "red" | "yellow" | "green" | "blue" | "purple" | ""
    source: str  # "xmp-sidecar" | "xmp-embedded" | "csv"


class RatingsError(FileProblem):
    """One photo's ratings (or one CSV line) cannot be read; the message names the file (and line)."""

    code = "CORRUPT"

    def __init__(self, message: str, path: str, line: Optional[int] = None) -> None:
        super().__init__(message)
        self.path = path
        self.line = line


class RatingsUnavailable(AutoCullError):
    """XMP cannot be read at all on this machine (python-xmp-toolkit or Exempi missing): not a per-file problem."""

    code = "UNAVAILABLE"


# ------------------------------------------------------------------ XMP
def _libxmp() -> Any:
    """libxmp, imported on first use (it loads the Exempi C library)."""
    try:
        import libxmp
        import libxmp.exempi  # noqa: F401  (files_check_file_format)
    except Exception as exc:  # ImportError, or libxmp.ExempiLoadError when libexempi is missing
        raise RatingsUnavailable(
            f"cannot read XMP: {exc} (install the [clip] extra and Debian's libexempi8, scripts/install-system-deps.sh)"
        ) from None
    for uri, prefix in ((NS_DARKTABLE, "darktable"), (NS_DIGIKAM, "digiKam"), (NS_AUTOCULL, "autocull")):
        libxmp.XMPMeta.register_namespace(uri, prefix)  # lookups need the schema known, even when absent
    return libxmp


def _sidecars(path: str) -> list[str]:
    """Candidate sidecar names in precedence order: darktable's photo.ext.xmp, then Lightroom's photo.xmp."""
    stem = os.path.splitext(path)[0]
    return [path + ".xmp", path + ".XMP", stem + ".xmp", stem + ".XMP"]


def _why(exc: BaseException) -> str:
    text = str(exc)
    return text.removeprefix("Exempi function failure ").strip(' .()"') or type(exc).__name__


def _text(meta: Any, ns: str, name: str) -> Optional[str]:
    if not meta.does_property_exist(ns, name):
        return None
    return str(meta.get_property(ns, name)).strip()


def _fields(meta: Any, where: str, photo: str) -> Optional[tuple[Optional[int], str, str]]:
    """(rating, pick, label) from one XMP packet, or None when it carries none of the rating fields."""
    rating_text = _text(meta, NS_XMP, "Rating")
    label_text = _text(meta, NS_XMP, "Label")
    # A rating or label still as AutoCull wrote it is AutoCull's verdict, not the photographer's: not taught.
    if rating_text is not None and rating_text == _text(meta, NS_AUTOCULL, "Rating"):
        rating_text = None
    if label_text is not None and label_text == _text(meta, NS_AUTOCULL, "Label"):
        label_text = None
    pick_text = _text(meta, NS_DIGIKAM, "PickLabel")
    dt_labels: list[str] = []
    if meta.does_property_exist(NS_DARKTABLE, "colorlabels"):
        n = meta.count_array_items(NS_DARKTABLE, "colorlabels")
        dt_labels = [str(meta.get_array_item(NS_DARKTABLE, "colorlabels", i)).strip() for i in range(1, n + 1)]
    if rating_text is None and label_text is None and pick_text is None and not dt_labels:
        return None

    rating: Optional[int] = None
    if rating_text:
        try:
            value = float(rating_text)
        except ValueError:
            value = float("nan")
        if not value.is_integer() or not -1 <= value <= 5:  # NaN and infinity are not integers
            raise RatingsError(f"{where}: xmp:Rating {rating_text!r} is not -1 (rejected) or 0..5", photo)
        rating = int(value)

    label = ""
    if dt_labels:
        try:
            label = LABELS[min(int(c) for c in dt_labels)]
        except (ValueError, IndexError):
            raise RatingsError(f"{where}: darktable:colorlabels {dt_labels} are not 0..4", photo) from None
    elif label_text and label_text.lower() in LABELS:
        label = label_text.lower()

    pick = ""
    if pick_text:
        if pick_text not in _DIGIKAM_PICK:
            raise RatingsError(f"{where}: digiKam:PickLabel {pick_text!r} is not 0..3", photo)
        pick = _DIGIKAM_PICK[pick_text]
    if rating == -1:
        pick = "rejected"
    return rating, pick, label


def _found(path: str, fields: tuple[Optional[int], str, str], source: str) -> Optional[FoundRating]:
    rating, pick, label = fields
    if not rating and pick in ("", "none") and not label:
        return None  # 0 stars is "unrated" in XMP: nothing the photographer said
    return FoundRating(path=path, rating=rating or 0, pick=pick, label=label, source=source)


def _read_sidecar(libxmp: Any, sidecar: str, photo: str) -> Any:
    try:
        with open(sidecar, "rb") as f:
            data = f.read(_MAX_SIDECAR + 1)
    except OSError as exc:
        raise file_problem(exc, sidecar, doing="reading the XMP sidecar") from None
    if not data.strip():
        raise RatingsError(f"{sidecar}: the XMP sidecar is empty", photo)
    if len(data) > _MAX_SIDECAR:
        raise RatingsError(f"{sidecar}: over {_MAX_SIDECAR >> 20} MB, not an XMP sidecar", photo)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RatingsError(f"{sidecar}: not a readable XMP sidecar (not UTF-8 text: {exc.reason})", photo) from None
    meta = libxmp.XMPMeta()
    try:
        meta.parse_from_str(text)
    except libxmp.XMPError as exc:
        raise RatingsError(f"{sidecar}: not a readable XMP sidecar ({_why(exc)})", photo) from None
    return meta


def _read_embedded(libxmp: Any, path: str) -> Any:
    """The XMP packet inside the photo, or None when there is none or Exempi has no handler for the format."""
    from libxmp.consts import XMP_FT_UNKNOWN

    if os.path.splitext(path)[1].lower().lstrip(".") in _RAW_NO_EMBEDDED:
        return None
    try:
        if libxmp.exempi.files_check_file_format(path) == XMP_FT_UNKNOWN:
            return None
        xf = libxmp.XMPFiles()
        xf.open_file(path, open_read=True)
        try:
            return xf.get_xmp()
        finally:
            xf.close_file()
    except OSError as exc:
        raise file_problem(exc, path, doing="reading its embedded XMP") from None
    except libxmp.XMPError as exc:
        raise RatingsError(f"{path}: its embedded XMP cannot be read ({_why(exc)})", path) from None


def read_ratings(path: str | os.PathLike[str]) -> Optional[FoundRating]:
    """The rating the photographer gave ``path``: sidecar first, then embedded XMP; None when unrated.

    Raises RatingsError (a corrupt sidecar or embedded XMP, a rating out of range) or another FileProblem
    (the photo is missing or unreadable), naming the file: the caller reports it and goes on with the next.
    """
    photo = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(photo)
    except OSError as exc:
        raise file_problem(exc, photo) from None
    except ValueError:  # a NUL in the name
        raise RatingsError(f"{photo!r}: not a usable path", photo) from None
    if not stat.S_ISREG(st.st_mode):
        raise NotAFile(f"{photo}: not a photo file (a folder or a device)")
    libxmp = _libxmp()
    with _LOCK:
        seen: set[str] = set()
        for sidecar in _sidecars(photo):
            if not os.path.isfile(sidecar) or os.path.realpath(sidecar) in seen:
                continue  # on a case-insensitive disk .xmp and .XMP are one file
            seen.add(os.path.realpath(sidecar))
            fields = _fields(_read_sidecar(libxmp, sidecar, photo), sidecar, photo)
            if fields is not None:
                return _found(photo, fields, "xmp-sidecar")
        meta = _read_embedded(libxmp, photo)
        fields = None if meta is None else _fields(meta, f"{photo} (embedded XMP)", photo)
    return None if fields is None else _found(photo, fields, "xmp-embedded")


# ------------------------------------------------------------------ CSV
CSV_COLUMNS = ("path", "stars", "pick", "label")
# pick column: Lightroom's pickStatus numbers (1 / 0 / -1) and words. "no", "false" and "0" mean "not
# flagged", never "rejected": a reject must be said ("rejected", "reject", "-1", or stars -1).
CSV_PICKS = {
    "picked": "picked", "pick": "picked", "yes": "picked", "true": "picked", "1": "picked",
    "rejected": "rejected", "reject": "rejected", "-1": "rejected",
    "none": "none", "unflagged": "none", "no": "none", "false": "none", "0": "none",
    "": "",
}  # fmt: skip


def _csv_line(cells: dict[str, str], folder: str, where: str, csv_path: str, line: int) -> Optional[FoundRating]:
    """One data line as a FoundRating (None when it rates nothing); RatingsError naming the line otherwise."""

    def bad(why: str) -> RatingsError:
        return RatingsError(f"{where}: {why}", csv_path, line)

    raw_path = cells.get("path", "")
    stars_text = cells.get("stars", "")
    pick_text = cells.get("pick", "").lower()
    label_text = cells.get("label", "").lower()
    if not raw_path:
        raise bad("no path")
    stars: Optional[int] = None
    if stars_text:
        try:
            stars = int(stars_text)
        except ValueError:
            raise bad(f"stars {stars_text!r} is not a whole number -1..5") from None
        if not -1 <= stars <= 5:
            raise bad(f"stars {stars} is not -1 (rejected) or 0..5")
    if pick_text not in CSV_PICKS:
        raise bad(f"pick {cells.get('pick')!r} is not one of picked/rejected/none, yes/no, true/false, 1/0/-1")
    pick = CSV_PICKS[pick_text]
    if label_text in ("none", "no"):
        label_text = ""
    if label_text and label_text not in LABELS:
        raise bad(f"label {cells.get('label')!r} is not one of {', '.join(LABELS)} (or empty)")
    if stars == -1:
        if pick in ("picked", "none"):
            raise bad(f"stars -1 means rejected but pick says {pick!r}")
        pick = "rejected"
    if stars is None and pick == "" and not label_text:
        return None
    photo = os.path.normpath(os.path.join(folder, os.path.expanduser(raw_path)))
    if not os.path.isfile(photo):
        raise bad(f"{photo}: no such photo" if not os.path.exists(photo) else f"{photo}: not a file")
    return FoundRating(path=photo, rating=stars or 0, pick=pick, label=label_text, source="csv")


def read_csv(path: str | os.PathLike[str]) -> tuple[list[FoundRating], list[RatingsError]]:
    """Ratings from a CSV with a header line: ``path`` and at least one of ``stars``, ``pick``, ``label``.

    Header names are case-insensitive; other columns are ignored; comma, semicolon or tab separated; UTF-8
    (a BOM from a spreadsheet is fine). stars: -1 (rejected) or 0..5, empty = not given. pick: see CSV_PICKS.
    label: a colour name or empty. Relative paths are resolved against the CSV's folder. A line that gives no
    stars, pick or label is skipped. Returns the good lines' ratings and one RatingsError per bad line (its
    message names the CSV and the line number), so one typo does not lose the rest; a CSV that cannot be read
    at all (missing, not text, no usable header) raises RatingsError or FileProblem.
    """
    csv_path = os.path.abspath(os.fspath(path))
    name = os.path.basename(csv_path)
    try:
        with open(csv_path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise file_problem(exc, csv_path) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RatingsError(f"{csv_path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8", csv_path) from None
    try:
        dialect: Any = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
        dialect.doublequote = True  # guessed from a header without quotes; every spreadsheet doubles a quote in a cell
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header: list[str] = []
    for row in reader:
        if any(c.strip() for c in row):
            header = [c.strip().lower() for c in row]
            break
    if "path" not in header or not set(header) & set(CSV_COLUMNS[1:]):
        raise RatingsError(
            f"{csv_path}: the first line must name the columns: path and at least one of stars, pick, label "
            f"(found {', '.join(h for h in header if h) or 'nothing'})",
            csv_path,
        )
    dupes = sorted({h for h in header if h in CSV_COLUMNS and header.count(h) > 1})
    if dupes:
        raise RatingsError(f"{csv_path}: column {', '.join(dupes)} appears twice in the header", csv_path)
    wanted = {h: i for i, h in enumerate(header) if h in CSV_COLUMNS}
    folder = os.path.dirname(csv_path)
    found: list[FoundRating] = []
    errors: list[RatingsError] = []
    first_line: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not any(c.strip() for c in row):
                continue
            where = f"{name} line {line}"
            cells = {h: (row[i].strip() if i < len(row) else "") for h, i in wanted.items()}
            try:
                rating = _csv_line(cells, folder, where, csv_path, line)
                if rating is not None and rating.path in first_line:
                    raise RatingsError(
                        f"{where}: {rating.path} is already rated on line {first_line[rating.path]}", csv_path, line
                    )
            except RatingsError as exc:
                errors.append(exc)
                continue
            if rating is not None:
                first_line[rating.path] = line
                found.append(rating)
    except csv.Error as exc:
        errors.append(RatingsError(f"{name} line {reader.line_num}: {exc}; the rest was not read", csv_path))
    return found, errors
