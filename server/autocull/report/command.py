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
    raise NotImplementedError("autocull report: being built (issue 17)")
