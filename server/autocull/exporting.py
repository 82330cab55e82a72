"""`autocull export`: gather culled photos of a verdict into a folder by hard link or copy, with their sidecars,
never moving or deleting an original."""

from __future__ import annotations

import argparse
from typing import Any


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


def cmd_export(args: argparse.Namespace) -> int:
    raise NotImplementedError("autocull export: being built (issue 17)")
