"""`autocull report`: the command line of the review page (kept light: nothing heavy is imported until it runs)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any


def add_parser(sub: Any) -> None:
    r = sub.add_parser("report", help="write an offline review page (index.html + thumbnails) of culled photos")
    r.add_argument("paths", nargs="+", help="files or folders (culled first if they are not yet)")
    r.add_argument("-o", "--output", default="autocull-report", help="folder to write the page into")
    r.add_argument("--csv", action="store_true", help="also write autocull.csv (one row per photo) beside the page")
    r.add_argument("--preset", help="policy preset for this report")
    r.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="policy override")
    r.add_argument("--top-level-only", action="store_true", help="do not descend into subfolders")
    r.add_argument("--profile", help="whose taste to use; default: the policy's")
    r.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    """Cull (stored photos answer from the store, no image read), stream the decisions into the page's builder,
    make the thumbnails the cache lacks, write the page; one summary line on stdout."""
    import sys
    from pathlib import Path

    from ..config import Config
    from .build import NotAReportFolder, ReportBuilder

    output = Path(args.output).expanduser().resolve()  # a link is judged by the folder it names
    try:
        timeout = Config.load(Path(args.home)).file_timeout_seconds
        builder = ReportBuilder(args.home, output, file_timeout=timeout)
    except (NotAReportFolder, OSError, ValueError) as exc:
        print(f"autocull: {exc}", file=sys.stderr)
        return 2
    try:
        return _build(args, builder, output)
    except KeyboardInterrupt:  # while the thumbnails were made or the page written
        print("\nautocull: cancelled; no page written", file=sys.stderr)
        return 130
    finally:
        builder.discard()  # a page not written leaves the previous one whole: its new thumbnails go


def _build(args: argparse.Namespace, builder: Any, output: Path) -> int:
    import sys

    from .. import client as daemon_client
    from .build import CSV

    client = daemon_client.connect(args.home, announce="culling")
    pb = client.pb
    req = pb.CullRequest(
        paths=daemon_client.absolute_paths(args.paths),
        preset=args.preset or "",
        top_level_only=args.top_level_only,
        profile=args.profile or "",
    )
    if args.set:
        req.policy_overrides.update(daemon_client.parse_overrides(args.set))
    job = None
    table = _CsvFile(output / CSV) if args.csv else None
    try:
        job = started = client.call("StartJob", req)
        for job in daemon_client.job_pages(client, started):
            for d in job.decisions:
                builder.add(d)
            if table is not None:
                table.write(job.decisions)
    except KeyboardInterrupt:
        if job is not None:
            client.call("CancelJob", pb.CancelJobRequest(job_id=job.id))
        print("\nautocull: cancelled; no page written", file=sys.stderr)
        return 130
    except Exception as exc:
        if not daemon_client.daemon_gone(exc):
            raise
        print("autocull: the daemon stopped during the cull; no page written. Run the report again.", file=sys.stderr)
        return 1
    finally:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        client.close()
        if table is not None and (job is None or job.state != pb.JOB_STATE_DONE):
            table.discard()
    if job.state != pb.JOB_STATE_DONE:
        what = "failed" if job.state == pb.JOB_STATE_FAILED else "was cancelled"
        print(f"autocull: the cull {what}: {job.message}; no page written", file=sys.stderr)
        return 1
    try:
        built = builder.finish()
    except BaseException:
        if table is not None:
            table.discard()
        raise
    thumbs = f"{built.made} thumbnails made, {built.reused} reused"
    if built.missing:
        thumbs += f", {built.missing} without one"
    print(f"autocull: review page of {built.photos} photos: {built.index} ({thumbs})")
    if built.kept is not None:
        print(f"autocull: the old thumbs/ held files AutoCull did not write; kept in {built.kept}", file=sys.stderr)
    if table is not None:
        print(f"autocull: one row per photo: {table.finish()}")
    return 0


class _CsvFile:
    """``report --csv``: the rows written as the decisions stream in, into a temp file in the report folder that
    takes its name only when the cull finished (a cancelled report leaves no half table)."""

    def __init__(self, target: Path) -> None:
        from ..csvout import CsvWriter
        from .build import new_file

        self.target = target
        fd, self.tmp = new_file(target.parent, f".{target.name}.")  # the page's mode, not mkstemp's 0600
        self.stream = os.fdopen(fd, "w", encoding="utf-8", newline="")
        self.writer = CsvWriter(self.stream)

    def write(self, decisions: Any) -> None:
        self.writer.write(decisions)

    def finish(self) -> Path:
        self.stream.flush()
        os.fsync(self.stream.fileno())
        self.stream.close()
        os.replace(self.tmp, self.target)
        return self.target

    def discard(self) -> None:
        self.stream.close()
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass
