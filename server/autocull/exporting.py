"""`autocull export`: gather culled photos of a verdict into a folder by hard link or copy, with their sidecars,
never moving or deleting an original.

What goes: each photo of the verdict (with ``--best-of-burst`` only a burst's best frame; a photo in no burst
counts as its own best), the other photos of its shot (same folder, same stem, case included: RAW+JPEG) and
every XMP sidecar of those (darktable's ``name.ext.xmp`` and its duplicates' ``name_01.ext.xmp``, Adobe's
``name.xmp``). Where:
``--to`` plus the file's path relative to the PATH argument it was found under (a file argument: its bare name),
so a shoot's subfolders keep their layout and day1/IMG_0001.JPG never meets day2/IMG_0001.JPG.

How: photos by hard link (the default where the file system allows; a copy where it does not, said in the
summary), ``--link`` (no fallback: a photo that cannot be linked fails alone; the folders made for it, --to
included, are taken back when the run leaves them empty) or ``--copy`` (a temp name in the
target folder, fsync, then linked or renamed into place; mtime kept). Sidecars are always copied, never linked:
editing a linked sidecar in Capture One would edit the original's. AutoCull's verdict (stars, label, pick as
rating -1) is then merged into the exported photo's sidecar (``sidecar.write_one``: a new one when it had
none): a photographer opening the folder in Photo Mechanic or Capture One sees the ratings, and a rating set by
hand in the original sidecar stays, as in every merge. The original and its sidecar are only ever read.

A target that is already there: the same file (same inode, or same size and bytes) is skipped as done; a
different one is never overwritten, and that photo fails. A previously exported photo's sidecar is kept and the
verdict merged into it again only when it carries AutoCull's namespace; any other sidecar already in --to (a
backup's own, one made by hand) is left byte for byte as it is. A dry run prints each action and changes nothing,
not even the folder.

Symbolic links in --to are never followed into the originals: a photo whose target folder resolves outside
realpath(--to) or inside a folder being exported fails alone (a link there would make the original count as
"already there" and the merge edit its sidecar), and a target photo or sidecar that is itself a link is never
"already there" and never written through: that photo fails.
"""

from __future__ import annotations

import argparse
import errno
import filecmp
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from .config import fsync_folder
from .paths import within


def add_parser(sub: Any) -> None:
    e = sub.add_parser("export", help="gather photos of a verdict (keepers, ...) into a folder, with sidecars")
    e.add_argument("paths", nargs="+", help="culled files or folders (culled first if they are not yet)")
    e.add_argument("--verdict", required=True, choices=("keep", "review", "reject"), help="which photos to gather")
    e.add_argument("--best-of-burst", action="store_true", help="of each burst only its best frame")
    e.add_argument("--to", required=True, metavar="DIR", help="the folder to gather into (made if missing)")
    how = e.add_mutually_exclusive_group()
    how.add_argument(
        "--link", dest="how", action="store_const", const="link", help="hard links only (fails where impossible)"
    )
    how.add_argument("--copy", dest="how", action="store_const", const="copy", help="copies")
    e.add_argument("--dry-run", action="store_true", help="print what would be done and change nothing")
    e.add_argument("--preset", help="policy preset to decide by")
    e.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="policy override")
    e.add_argument("--top-level-only", action="store_true", help="do not descend into subfolders")
    e.add_argument("--profile", help="whose taste to use; default: the policy's")
    e.set_defaults(func=cmd_export, how="auto")


# errno values that mean "this file system (or this file) cannot take a hard link here", not "you may not write"
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOSYS, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", -1)}


class ExportRefused(Exception):
    """The export as asked cannot start (a bad --to): said in one line, nothing done."""


# ------------------------------------------------------------------ pure parts
def relative_target(path: str, sources: Sequence[str]) -> str:
    """Where ``path`` goes under --to: relative to the folder argument it lies in (the deepest one), or its bare
    name when it was named itself (or lies in no argument)."""
    best = ""
    for src in sources:
        if src == path:
            return os.path.basename(path)
        if within(path, src) and len(src) > len(best):
            best = src
    return os.path.relpath(path, best) if best else os.path.basename(path)


def source_folders(sources: Sequence[str]) -> list[str]:
    """The folders a next cull of ``sources`` reads: each folder argument, and a file argument's folder."""
    return [s if os.path.isdir(s) else os.path.dirname(s) for s in sources]


def refusal(to: str, sources: Sequence[str]) -> Optional[str]:
    """Why exporting into ``to`` must not start (None when it may): inside a source folder, or not a folder."""
    real_to = os.path.realpath(to)
    for folder in source_folders(sources):
        if within(real_to, os.path.realpath(folder)):
            return (
                f"--to {to} is inside {folder}, which is being exported: the next cull of it would pick the "
                "exported copies up as more photos; choose a folder outside it"
            )
    if os.path.lexists(to) and not os.path.isdir(to):
        return f"--to {to} is a file, not a folder"
    return None


def shot_files(photo: str, names: Sequence[str]) -> tuple[list[str], list[str]]:
    """The photos of ``photo``'s shot (itself first, then the others of its exact stem: RAW+JPEG) and the
    sidecars of them all, as names in its folder listing ``names``.

    Stems compare exactly, case included: a camera writes a RAW+JPEG pair with one stem in one case, and on a
    case-sensitive file system IMG_1.JPG and img_1.jpg are two photos, each with its own verdict (a reject must
    never ride along with a keeper). Only the ``.xmp`` suffix's case is free, as in ``sidecar.choose_sidecar``."""
    from .library import is_image_name

    base = os.path.basename(photo)
    stem = os.path.splitext(base)[0]
    photos = [base] + sorted(n for n in names if n != base and is_image_name(n) and os.path.splitext(n)[0] == stem)
    # darktable: name.ext.xmp, its duplicates name_01.ext.xmp; Adobe: name.xmp (see sidecar.py, taste.ratings)
    own = {stem} | set(photos)
    duplicates = [re.compile(re.escape(stem) + r"_\d+" + re.escape(os.path.splitext(p)[1])) for p in photos]
    sidecars = sorted(
        n for n in names if n[-4:].lower() == ".xmp" and (n[:-4] in own or any(d.fullmatch(n[:-4]) for d in duplicates))
    )
    return photos, sidecars


def same_file(a: str, b: str) -> bool:
    """Whether ``b`` already is ``a``: the same inode, or the same size and bytes."""
    sa, sb = os.stat(a), os.stat(b)
    if (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino):
        return True
    return sa.st_size == sb.st_size and filecmp.cmp(a, b, shallow=False)


# ------------------------------------------------------------------ file operations
def _place(tmp: str, target: str) -> None:
    """Put the finished temp file at ``target`` without ever replacing a file that appeared there meanwhile."""
    try:
        os.link(tmp, target)  # fails with EEXIST rather than overwrite
    except OSError as exc:
        if exc.errno == errno.EEXIST or exc.errno not in _NO_LINK:
            raise
        if os.path.lexists(target):  # no links on this file system: check, then rename
            raise FileExistsError(errno.EEXIST, "exists", target) from None
        os.rename(tmp, target)
    else:
        os.unlink(tmp)


class _HeldInterrupt:
    """Ctrl-C held back across a few statements (a file put in place and counted), then raised: the summary an
    interrupted export prints counts exactly what is in place. Where no handler can be set (not the main
    thread), nothing is held."""

    depth = 0  # held blocks open now: an inner one leaves the holding (and the raising) to the outermost

    def __enter__(self) -> "_HeldInterrupt":
        self.hit = False
        self.old: Any = None
        if _HeldInterrupt.depth == 0:
            try:
                self.old = signal.signal(signal.SIGINT, self._note)
            except ValueError:
                pass
        _HeldInterrupt.depth += 1
        return self

    def _note(self, signum: int, frame: Any) -> None:
        self.hit = True

    def __exit__(self, *exc: Any) -> None:
        _HeldInterrupt.depth -= 1
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        if self.hit:
            raise KeyboardInterrupt


def copy_file(source: str, target: str, placed: Callable[[], None] = lambda: None) -> None:
    """A copy with mtime and mode kept, made under a hidden temp name, synced, then put in place (never over
    another file); ``placed`` runs with the placing, Ctrl-C held back across both (a count stays true)."""
    folder = os.path.dirname(target)
    tmp = ""
    try:  # from the temp file's making on: a Ctrl-C anywhere here leaves no temp file behind
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".part", dir=folder)
        os.close(fd)
        shutil.copy2(source, tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        with _HeldInterrupt():
            _place(tmp, target)
            placed()
    finally:
        if tmp and os.path.lexists(tmp):
            os.unlink(tmp)
    fsync_folder(folder)


# ------------------------------------------------------------------ the export
@dataclass
class Tally:
    linked: int = 0
    copied: int = 0
    copied_not_linkable: int = 0
    skipped: int = 0
    failed: int = 0
    sidecars: int = 0
    sidecars_kept: int = 0
    sidecars_left: int = 0  # already in --to and not AutoCull's: left without the verdict
    merged: int = 0
    no_link_why: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Chosen:
    """A photo to export: its decision (``pb.Decision``) and where under --to it goes."""

    decision: Any
    rel: str


def _state(source: str, target: str) -> str:
    if not os.path.lexists(target):
        return "missing"
    if os.path.islink(target):  # never "same", never written through: it may lead to an original
        return "link"
    if os.path.isfile(target) and same_file(source, target):
        return "same"
    return "different"


class Exporter:
    """Carries out (or, dry, prints) the export of chosen photos one by one; one photo's failure is its own."""

    def __init__(self, to: str, how: str, dry_run: bool, settings: Any, sources: Sequence[str] = ()) -> None:
        self.to, self.how, self.dry = to, how, dry_run
        self.real_to = os.path.realpath(to)
        self.real_sources = [os.path.realpath(f) for f in source_folders(sources)]
        self.settings = settings
        self.tally = Tally()
        self.claimed: dict[str, str] = {}  # target -> source, across the whole export
        self.done: set[str] = set()  # sources handled (a RAW taken along with its JPEG is not taken twice)
        self.placed: set[str] = set()  # targets there now (or, dry, that would be)
        self.made: list[str] = []  # folders this run made: the ones left empty are removed at the end
        self.ours: set[str] = set()  # sidecars this export copied or made: the only ones merged into, with those
        # a previous export gave AutoCull's namespace
        self.listings: dict[str, list[str]] = {}
        self._xmp: Any = None
        self._xmp_down = ""

    def say(self, line: str) -> None:
        print(line, flush=True)

    def fail(self, photo: str, why: str) -> None:
        self.tally.failed += 1
        print(f"failed {photo}: {why}", file=sys.stderr, flush=True)

    def _listing(self, folder: str) -> list[str]:
        if folder not in self.listings:
            self.listings[folder] = os.listdir(folder)
        return self.listings[folder]

    def _unsafe_folder(self, folder: str) -> Optional[str]:
        """Why nothing may be placed in target ``folder`` (None when it may): a symbolic link on its way leads out
        of --to, or into a folder being exported, where a link would add names to (and the merge edit) originals."""
        real = os.path.realpath(folder)
        what = folder if real == os.path.abspath(folder) else f"{folder} (through a symbolic link: {real})"
        if not within(real, self.real_to):
            return f"{what} is outside --to; nothing was put there"
        for src in self.real_sources:
            if within(real, src):
                return f"{what} is inside {src}, which is being exported; nothing was put there"
        return None

    def export(self, chosen: Chosen) -> None:
        photo = chosen.decision.path
        if photo in self.done:  # already taken along with another photo of its shot: only its verdict to add
            target = os.path.join(self.to, chosen.rel)
            if target in self.placed:
                self._merge(chosen, target)
            return
        try:
            folder = os.path.dirname(photo)
            photos, sidecars = shot_files(photo, self._listing(folder))
            rel_dir = os.path.dirname(chosen.rel)
            why = self._unsafe_folder(os.path.join(self.to, rel_dir))
            if why is not None:
                raise _PhotoFails(why)
            moves = [(os.path.join(folder, n), os.path.join(self.to, rel_dir, n), False) for n in photos]
            moves += [(os.path.join(folder, n), os.path.join(self.to, rel_dir, n), True) for n in sidecars]
            moves = [m for m in moves if m[0] not in self.done]
            states = {}
            for source, target, _ in moves:
                other = self.claimed.get(target)
                if other is not None and other != source:
                    raise _PhotoFails(f"{target} is also where {other} goes; export those folders separately")
                states[target] = _state(source, target)
            photos_there = all(states[t] == "same" for _, t, side in moves if not side)
            for _source, target, side in moves:
                if states[target] == "link":
                    raise _PhotoFails(f"{target} is a symbolic link; it is not followed, nor replaced")
                if states[target] == "different" and not (side and photos_there):
                    raise _PhotoFails(f"{target} already exists and is a different file; it was not overwritten")
            for name in _sidecar_names(photos[0]):
                if os.path.islink(os.path.join(self.to, rel_dir, name)):
                    raise _PhotoFails(
                        f"{os.path.join(self.to, rel_dir, name)} is a symbolic link; the verdict is never merged "
                        "through one"
                    )
            for source, target, _side in moves:
                self.claimed[target] = source
            for source, target, _side in [m for m in moves if not m[2]]:  # the photos (a long copy: Ctrl-C stops it)
                self.done.add(source)
                self._one(source, target, False, states[target])
                self.placed.add(target)
            # Its sidecars and the verdict go in together: a sidecar copied but not yet given the verdict looks
            # like the original's own to a re-run, which would then leave it without (kill -9 can still split them).
            with _HeldInterrupt():
                for source, target, _side in [m for m in moves if m[2]]:
                    self.done.add(source)
                    self._one(source, target, True, states[target])
                    self.placed.add(target)
                self._merge(chosen, os.path.join(self.to, rel_dir, photos[0]))
        except _PhotoFails as exc:
            self.fail(photo, str(exc))
        except OSError as exc:
            self.fail(photo, f"{exc.strerror or exc}{f' ({exc.filename})' if exc.filename else ''}")

    def _one(self, source: str, target: str, sidecar: bool, state: str) -> None:
        t = self.tally
        if state != "missing":
            if sidecar:
                t.sidecars_kept += 1
            else:
                t.skipped += 1
            note = "already there" if state == "same" else "a different one is there: kept, not overwritten"
            self.say(f"skip {target} ({note})")
            return
        how = "copy" if sidecar else self.how
        if self.dry:
            self.say(f"{'copy' if how == 'copy' else 'link'} {source} -> {target}")
            if sidecar:
                self.ours.add(target)
            t.sidecars += sidecar
            if not sidecar:
                t.copied += how == "copy"
                t.linked += how != "copy"
            return
        self._make_folder(os.path.dirname(target))
        if how != "copy":
            try:
                with _HeldInterrupt():
                    os.link(source, target)
                    t.linked += 1
            except OSError as exc:
                if how == "link" or exc.errno not in _NO_LINK:
                    raise _PhotoFails(
                        f"cannot hard-link it to {target}: {exc.strerror or exc}"
                        + (" (use --copy, or drop --link to copy where links are impossible)" if how == "link" else "")
                    ) from None
                t.copied_not_linkable += 1
                t.no_link_why = t.no_link_why or (exc.strerror or str(exc))
                copy_file(source, target, placed=lambda: setattr(t, "copied", t.copied + 1))
                self.say(f"copy {source} -> {target} (a hard link is impossible here: {exc.strerror or exc})")
                return
            fsync_folder(os.path.dirname(target))
            self.say(f"link {source} -> {target}")
            return

        def placed() -> None:
            if sidecar:
                self.ours.add(target)
                t.sidecars += 1
            else:
                t.copied += 1

        copy_file(source, target, placed)
        self.say(f"copy {source} -> {target}")

    def _make_folder(self, folder: str) -> None:
        """Make ``folder`` (and its parents), remembering the ones made, so ``tidy`` can take back the empty."""
        missing = []
        f = folder
        while not os.path.isdir(f) and f != os.path.dirname(f):
            missing.append(f)
            f = os.path.dirname(f)
        os.makedirs(folder, exist_ok=True)
        self.made.extend(reversed(missing))

    def tidy(self) -> None:
        """Remove the folders this run made and left empty (every photo for them failed, or Ctrl-C came first):
        an export that placed nothing somewhere leaves no trace there."""
        for f in sorted(set(self.made), key=len, reverse=True):  # the deepest first
            try:
                os.rmdir(f)  # only an empty folder goes
            except OSError:
                continue
            self.made.remove(f)

    def _libxmp(self) -> Any:
        """The locked libxmp with AutoCull's namespaces, None when there is no Exempi (said once, as a warning)."""
        if self._xmp is None and not self._xmp_down:
            from .sidecar import _register
            from .taste.ratings import _LOCK, _libxmp

            try:
                self._xmp = _libxmp()
            except Exception as exc:  # no Exempi here: the sidecars are still copied, only not merged
                self._xmp_down = str(exc)
                self.tally.warnings.append(f"the verdicts were not merged into the exported sidecars: {exc}")
                return None
            with _LOCK:
                _register(self._xmp)
        return self._xmp

    def _autocull_wrote(self, sidecar: str, photo: str, xmp: Any) -> bool:
        """Whether the sidecar already carries AutoCull's namespace (a previous export's merge wrote it)."""
        from .sidecar import NS_AUTOCULL
        from .taste.ratings import _LOCK, _read_sidecar

        with _LOCK:
            meta = _read_sidecar(xmp, sidecar, photo)
            return any(meta.does_property_exist(NS_AUTOCULL, k) for k in ("Verdict", "Rating"))

    def _merge(self, chosen: Chosen, target_photo: str) -> None:
        """AutoCull's verdict into the exported photo's sidecar: only one this export copied or made, or one a
        previous export gave AutoCull's namespace; a sidecar of someone else's already in --to (a backup's, made
        by hand) is left byte for byte as it is, and never the original's."""
        if self.settings is None:
            return
        from .errors import FileProblem
        from .sidecar import Folder, choose_sidecar, write_one
        from .taste.ratings import RatingsError

        xmp = self._libxmp()
        if xmp is None:
            return
        folder = os.path.dirname(target_photo)
        try:
            names = set(os.listdir(folder)) if os.path.isdir(folder) else set()
            names |= {os.path.basename(t) for t in self.placed if os.path.dirname(t) == folder}  # dry: would be
            index = Folder.of(sorted(names))
            sidecar = choose_sidecar(target_photo, index, self.settings.default_name)
            why = self._unsafe_folder(folder) or _not_plain(sidecar)
            if why is not None:
                self.tally.warnings.append(f"{target_photo}: the verdict was not merged into its sidecar: {why}")
                return
            there = os.path.lexists(sidecar) and sidecar not in self.ours
            if there and not self._autocull_wrote(sidecar, target_photo, xmp):
                self.tally.sidecars_left += 1
                self.say(f"keep {sidecar} (not one AutoCull wrote: left as it is, without the verdict)")
                return
            if self.dry:
                self.tally.merged += 1
                self.say(f"xmp  {sidecar}: the verdict would be merged in")
                return
            result = write_one(_domain(chosen.decision, target_photo), index, self.settings, xmp)
        except (FileProblem, RatingsError) as exc:
            self.tally.warnings.append(f"{target_photo}: the verdict was not merged into its sidecar: {exc.message}")
            return
        self.ours.add(sidecar)
        self.tally.merged += 1
        if result.written:
            self.say(f"xmp  {result.sidecar}")

    def summary(self) -> str:
        t = self.tally
        would = "would be " if self.dry else ""
        fallback = (
            f" ({t.copied_not_linkable} because a hard link is impossible here: {t.no_link_why})"
            if t.copied_not_linkable
            else ""
        )
        kept = f", {t.sidecars_kept} kept from before" if t.sidecars_kept else ""
        kept += f", {t.sidecars_left} left as they were (not AutoCull's)" if t.sidecars_left else ""
        return (
            f"export to {self.to}: {t.linked} {would}linked, {t.copied} {would}copied{fallback}, "
            f"{t.skipped} skipped (already there), {t.failed} failed; sidecars: {t.sidecars} {would}copied{kept}, "
            f"{t.merged} {would}given AutoCull's verdict"
        )


def _sidecar_names(base: str) -> tuple[str, ...]:
    """The names ``choose_sidecar`` may pick for photo ``base`` in its folder (darktable's, then Adobe's)."""
    stem = os.path.splitext(base)[0]
    return (base + ".xmp", base + ".XMP", stem + ".xmp", stem + ".XMP")


def _not_plain(path: str) -> Optional[str]:
    """Why the sidecar at ``path`` must not be written (None when it may): only a regular file, or none yet."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        return f"{path} is a symbolic link; the verdict is never merged through one"
    if not stat.S_ISREG(st.st_mode):
        return f"{path} is not a regular file"
    return None


class _PhotoFails(Exception):
    """This photo cannot be exported (the message says why); the others go on."""


def _domain(d: Any, path: str) -> Any:
    """The proto decision as the domain record the sidecar merge takes, at the exported copy's ``path``."""
    from .records import Cause, CauseKind, Decision
    from .rpc.convert import LABEL_NAMES, PICK_NAMES

    verdicts = {1: "keep", 2: "review", 3: "reject"}
    label = LABEL_NAMES.get(d.color_label, "")
    return Decision(
        path=path,
        verdict=verdicts.get(d.verdict, ""),
        pick=PICK_NAMES.get(d.pick, ""),
        stars=d.stars,
        color_label="" if label == "none" else label,
        keywords=tuple(d.keywords),
        causes=tuple(Cause(CauseKind.NOTE, r) for r in d.reasons),
        quality=d.quality,
        policy_version=d.policy_version,
    )


def _settings(client: Any, overrides: dict[str, str]) -> Any:
    """The policy's sidecar keys (overwrite hand-set values, new-name style, keyword roots), --set applied."""
    from google.protobuf import json_format

    from .sidecar import SidecarSettings

    values = json_format.MessageToDict(client.call("GetPolicy", client.pb.GetPolicyRequest()).values)
    values.update(overrides)
    hand = values.get("xmp_overwrite_hand", False)
    roots = tuple(dict.fromkeys(str(values.get(k, "AutoCull")) for k in ("keyword_root", "content_root")))
    return SidecarSettings(
        overwrite_hand=hand if isinstance(hand, bool) else str(hand).lower() in ("1", "true", "yes"),
        default_name=str(values.get("xmp_sidecar_name", "darktable")),
        keyword_roots=roots,
    )


def _writable_folder(to: str) -> None:
    """Make --to (and its parents) and prove a file can be made in it; ExportRefused when not."""
    try:
        os.makedirs(to, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".autocull-export.", dir=to)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ExportRefused(f"cannot write into --to {to}: {exc.strerror or exc}") from None


def _remove_if_empty(folder: str) -> None:
    """Take back a --to this run made and put nothing in."""
    try:
        os.rmdir(folder)
    except OSError:
        pass  # not empty (or gone): it stays as it is


def cmd_export(args: argparse.Namespace) -> int:
    from .client import absolute_paths, connect, job_pages, parse_overrides

    sources = absolute_paths(args.paths)
    to = absolute_paths([args.to])[0]
    overrides = parse_overrides(args.set)
    why = refusal(to, sources)
    made_to = not os.path.lexists(to) and not args.dry_run
    if why is None and not args.dry_run:
        try:
            _writable_folder(to)
        except ExportRefused as exc:
            why = str(exc)
    if why is not None:
        print(f"autocull: {why}", file=sys.stderr)
        return 2

    client = connect(args.home, announce="culling")
    pb = client.pb
    wanted = {"keep": pb.VERDICT_KEEP, "review": pb.VERDICT_REVIEW, "reject": pb.VERDICT_REJECT}[args.verdict]
    req = pb.CullRequest(
        paths=sources, preset=args.preset or "", top_level_only=args.top_level_only, profile=args.profile or ""
    )
    if overrides:
        req.policy_overrides.update(overrides)
    chosen: list[Chosen] = []
    failed_in_cull = 0
    job = None
    try:
        settings = _settings(client, overrides)
        job = started = client.call("StartJob", req)
        for job in job_pages(client, started):
            for d in job.decisions:
                failed_in_cull += bool(d.error.code)
                if d.error.code or d.verdict != wanted:
                    continue
                if args.best_of_burst and d.burst_id and not d.burst_best:
                    continue
                chosen.append(Chosen(d, relative_target(d.path, sources)))
    except KeyboardInterrupt:
        if job is not None:
            client.call("CancelJob", pb.CancelJobRequest(job_id=job.id))
        print("\nautocull: cancelled; nothing was exported", file=sys.stderr)
        if made_to:
            _remove_if_empty(to)
        return 130
    finally:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        client.close()
    if job.state != pb.JOB_STATE_DONE:
        print(
            f"autocull: the cull did not finish ({job.message or 'cancelled'}); nothing was exported", file=sys.stderr
        )
        if made_to:
            _remove_if_empty(to)
        return 1
    if failed_in_cull:
        print(
            f"autocull: files the cull could not read are not exported: {failed_in_cull} "
            "(`autocull status --failed` lists them)",
            file=sys.stderr,
        )
    exporter = Exporter(to, args.how, args.dry_run, settings, sources)
    if args.dry_run and not os.path.isdir(to):
        exporter.say(f"make folder {to}")
    if made_to:
        exporter.made.append(to)
    interrupted = False
    try:
        for c in chosen:
            exporter.export(c)
    except KeyboardInterrupt:  # what is placed stays (each file whole); the rest is simply not done
        interrupted = True
    exporter.tidy()
    for warning in exporter.tally.warnings:
        print(f"autocull: {warning}", file=sys.stderr)
    print(f"{len(chosen)} {args.verdict} photos chosen" + (" (best of each burst)" if args.best_of_burst else ""))
    print(exporter.summary(), flush=True)
    if interrupted:
        print(
            "autocull: interrupted; the files above are in place, each whole, the rest was not exported "
            "(run the export again to finish it)",
            file=sys.stderr,
        )
        return 130
    return 1 if exporter.tally.failed else 0
