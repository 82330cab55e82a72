"""`autocull report`: the command line of the review page (kept light: nothing heavy is imported until it runs)."""

from __future__ import annotations

import argparse
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

    from .. import cli
    from .build import NotAReportFolder, ReportBuilder

    output = Path(args.output).expanduser().resolve()
    try:
        builder = ReportBuilder(args.home, output)
    except (NotAReportFolder, OSError) as exc:
        print(f"autocull: {exc}", file=sys.stderr)
        return 2
    client = cli._client(args.home, announce="culling")
    pb = client.pb
    req = pb.CullRequest(
        paths=cli._abs(args.paths),
        preset=args.preset or "",
        top_level_only=args.top_level_only,
        profile=args.profile or "",
    )
    if args.set:
        req.policy_overrides.update(cli._overrides(args.set))
    job = None
    try:
        job = started = client.call("StartJob", req)
        for job in cli.job_pages(client, started):
            for d in job.decisions:
                builder.add(d)
    except KeyboardInterrupt:
        if job is not None:
            client.call("CancelJob", pb.CancelJobRequest(job_id=job.id))
        print("\nautocull: cancelled; no page written", file=sys.stderr)
        return 130
    except Exception as exc:
        if not cli._unavailable(exc):
            raise
        print("autocull: the daemon stopped during the cull; no page written. Run the report again.", file=sys.stderr)
        return 1
    finally:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        client.close()
    if job.state != pb.JOB_STATE_DONE:
        what = "failed" if job.state == pb.JOB_STATE_FAILED else "was cancelled"
        print(f"autocull: the cull {what}: {job.message}; no page written", file=sys.stderr)
        return 1
    if args.csv:
        # TODO(issue 17, lead): wire server/autocull/csvout.py once merged: open output / "autocull.csv" and call
        # csvout.write_csv(<the decisions>, stream) -- the decisions would have to be written page by page as
        # they stream above (not held), e.g. by passing a generator over cli.job_pages to write_csv.
        print("autocull: --csv is not available in this build yet; the page is written without it", file=sys.stderr)
    built = builder.finish()
    thumbs = f"{built.made} thumbnails made, {built.reused} reused"
    if built.missing:
        thumbs += f", {built.missing} without one"
    print(f"autocull: review page of {built.photos} photos: {built.index} ({thumbs})")
    return 0
