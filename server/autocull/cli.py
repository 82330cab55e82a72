"""The `autocull` command. Talks to a running daemon; without one, `cull` and `analyze`
run the engine in-process on the same store (and say so on stderr).

Start-up stays light: no numpy, models or torch are imported before a command needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from .client import (
    DaemonClient,
    LocalCore,
    absolute_paths,
    answering,
    connect,
    daemon_gone,
    find_daemon,
    job_pages,
    parse_overrides,
)
from .config import default_home


class _Printer:
    """Writes decisions as they arrive, page by page, so a 100,000-photo cull is never held whole."""

    def __init__(self, pb: Any, *, as_json: bool, analyze_only: bool) -> None:
        self.pb, self.as_json, self.analyze_only = pb, as_json, analyze_only
        self.names = {pb.VERDICT_KEEP: "keep", pb.VERDICT_REVIEW: "review", pb.VERDICT_REJECT: "reject"}
        self.count = 0
        if as_json:
            sys.stdout.write('{"decisions": [')

    def decisions(self, decisions: Sequence[Any]) -> None:
        if decisions and sys.stderr.isatty():
            sys.stderr.write("\r\x1b[K")  # the progress line makes way
        for d in decisions:
            if self.as_json:
                from google.protobuf import json_format

                body = json.dumps(
                    json_format.MessageToDict(d, always_print_fields_with_no_presence=True),
                    ensure_ascii=False,
                    indent=1,
                )
                sys.stdout.write(("," if self.count else "") + "\n " + body.replace("\n", "\n "))
            else:
                self._line(d)
            self.count += 1
        sys.stdout.flush()

    def _line(self, d: Any) -> None:
        if self.analyze_only:
            if d.error.code:
                print(f"  FAILED  {d.path}: {d.error.message}")
            return
        name = os.path.basename(d.path)
        if d.error.code:
            print(f"{'FAILED':<7} {'':5} {name:<32} {d.error.code}: {d.error.message}")
            return
        burst = f" [burst {d.burst_rank}/{d.burst_size}]" if d.burst_id else ""
        stars = "*" * d.stars
        print(f"{self.names.get(d.verdict, '?'):<7} {stars:<5} {name:<32} {d.reasons[0] if d.reasons else ''}{burst}")

    def finish(self, counts: Any, error: str = "") -> None:
        """Close the answer: the JSON document stays valid even when the cull did not finish."""
        if self.as_json:
            from google.protobuf import json_format

            tail = {"counts": json_format.MessageToDict(counts, always_print_fields_with_no_presence=True)}
            if error:
                tail["error"] = error
            sys.stdout.write("\n]," + json.dumps(tail, ensure_ascii=False, indent=1)[1:] + "\n")
        elif error:
            pass  # said on stderr; a summary of a part would read like a result
        elif self.analyze_only:
            print(f"analysed {counts.analyzed}, from the store {counts.cached}, failed {counts.failed}")
        else:
            print(
                f"\n{counts.total} photos: {counts.keep} keep, {counts.review} review, {counts.reject} reject, "
                f"{counts.failed} failed, {counts.bursts} bursts "
                f"({counts.analyzed} analysed, {counts.cached} from the store)"
            )
        sys.stdout.flush()


class _CsvPrinter:
    """`cull --csv`: one CSV row per photo on stdout as pages arrive (``csvout``), UTF-8 whatever the locale; the
    summary goes to stderr so stdout stays one CSV a spreadsheet opens."""

    def __init__(self) -> None:
        from .csvout import CsvWriter

        # UTF-8 whatever the locale; newline="": the csv module writes its own CRLF (no CR CR LF on Windows);
        # surrogateescape writes an undecodable file name's own bytes back
        if hasattr(sys.stdout, "reconfigure"):
            sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape", newline="")
        self.out = CsvWriter(sys.stdout)

    @property
    def count(self) -> int:
        return self.out.count

    def decisions(self, decisions: Sequence[Any]) -> None:
        self.out.write(decisions)
        sys.stdout.flush()

    def finish(self, counts: Any, error: str = "") -> None:
        sys.stdout.flush()
        if not error:
            print(
                f"{counts.total} photos: {counts.keep} keep, {counts.review} review, {counts.reject} reject, "
                f"{counts.failed} failed, {counts.bursts} bursts",
                file=sys.stderr,
            )


def cmd_cull(args: argparse.Namespace, *, analyze_only: bool = False) -> int:
    client = connect(args.home, announce="analysing" if analyze_only else "culling")
    pb = client.pb
    req = pb.CullRequest(
        paths=absolute_paths(args.paths),
        preset=args.preset or "",
        top_level_only=args.top_level_only,
        reanalyze=args.reanalyze,
        analyze_only=analyze_only,
        profile=args.profile or "",
        ray_address=args.ray or "",
    )
    if args.set:
        req.policy_overrides.update(parse_overrides(args.set))
    job = None
    out: Optional[_Printer | _CsvPrinter] = None
    try:
        job = started = client.call("StartJob", req)
        if getattr(args, "csv", False):
            out = _CsvPrinter()
        else:
            out = _Printer(pb, as_json=args.json, analyze_only=analyze_only)
        for job in job_pages(client, started):
            out.decisions(job.decisions)
    except KeyboardInterrupt:
        if job is not None:
            job = client.call("CancelJob", pb.CancelJobRequest(job_id=job.id))
        if out is not None:  # --json stays one valid document
            out.finish(job.counts if job is not None else pb.Counts(), "cancelled")
        print("\nautocull: cancelled", file=sys.stderr)
        return 130
    except Exception as exc:
        if not daemon_gone(exc):
            raise
        if out is not None:
            out.finish(job.counts if job is not None else pb.Counts(), "the daemon stopped during the cull")
        print(
            "autocull: the daemon stopped during the cull (daemon shutting down); nothing more was decided. "
            "Run the cull again: photos analysed so far are kept in the store.",
            file=sys.stderr,
        )
        return 1
    finally:
        if sys.stderr.isatty():
            sys.stderr.write("\n")
        client.close()
    if job.state == pb.JOB_STATE_DONE:
        out.finish(job.counts)
        return 0
    what = "failed" if job.state == pb.JOB_STATE_FAILED else "was cancelled"
    out.finish(job.counts, f"the cull {what}: {job.message}")
    print(f"autocull: the cull {what}: {job.message}", file=sys.stderr)
    return 1


def cmd_policy(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    client = connect(args.home)
    pb = client.pb
    try:
        if args.action == "set" or args.preset or args.reset:
            req = pb.SetPolicyRequest(preset=args.preset or "", reset=args.reset, save_as=args.save_as or "")
            req.values.update(parse_overrides(args.pairs))
            resp = client.call("SetPolicy", req)
            print(f"policy saved; {resp.redecided} stored photos decided again, {resp.changed} changed")
            return 0
        if args.action == "presets":
            for p in client.call("ListPresets", pb.ListPresetsRequest()).presets:
                print(f"{p.name:<10} {'(built-in) ' if p.builtin else ''}{p.description}")
            return 0
        resp = client.call("GetPolicy", pb.GetPolicyRequest())
        if args.json:
            print(json.dumps(json_format.MessageToDict(resp.values), indent=1))
            return 0
        if resp.preset:
            print(f"preset: {resp.preset}")
        for f in resp.fields:
            value = json_format.MessageToDict(f.value)
            default = json_format.MessageToDict(f.default_value)
            mark = "" if value == default else f"   (default {default})"
            print(f"{f.name} = {json.dumps(value)}{mark}\n    {f.description}")
        return 0
    finally:
        client.close()


def cmd_status(args: argparse.Namespace) -> int:
    client = connect(args.home)
    pb = client.pb
    try:
        if args.failed:
            failures = client.call("ListFailures", pb.ListFailuresRequest(limit=args.limit)).failures
            for f in failures:
                when = "given up" if f.given_up else f"next attempt {f.next_attempt}" if f.next_attempt else ""
                print(f"{f.code:<18} x{f.attempts:<3} {f.path}\n    {f.message}" + (f"\n    {when}" if when else ""))
            given_up = sum(1 for f in failures if f.given_up)
            print(
                f"{len(failures)} failed files"
                + (f", {given_up} given up (read again once changed)" if given_up else "")
            )
            return 0
        s = client.call("GetStatus", pb.GetStatusRequest())
        running = "daemon running" if isinstance(client, DaemonClient) else "no daemon running (store read directly)"
        print(f"AutoCull {s.version} (analyzer {s.analyzer_version}), {running}")
        print(f"home: {s.home}")
        print(
            f"photos stored: {s.photos_stored}  keep {s.verdicts.keep}, review {s.verdicts.review}, "
            f"reject {s.verdicts.reject}; failed files: {s.failures}"
        )
        print(f"jobs running: {s.jobs_running}, queue: {s.queue_depth}, images read since start: {s.decodes}")
        if s.models_loaded:
            print(f"models loaded: {', '.join(s.models_loaded)}")
        print(f"{s.clip}; photos with a vector: {s.embedded}{' (working in the background)' if s.taste_busy else ''}")
        for t in s.profiles:
            print(f"taste: {t.sentence}")
        for w in s.watched:
            print(f"watching: {w.path} ({w.photos} photos, {'polling' if w.polling else 'file-system events'})")
        return 0
    finally:
        client.close()


def cmd_teach(args: argparse.Namespace) -> int:
    """Learn from ratings the photographer already made: XMP (sidecar or embedded) of PATHs, or a CSV."""
    from .library import image_files
    from .rpc.convert import LABELS, PICKS
    from .taste.ratings import RatingsError, read_csv, read_ratings

    found: list[Any] = []
    problems: list[Any] = []
    if args.csv:
        ratings, errors = read_csv(os.path.abspath(os.path.expanduser(args.csv)))
        found += ratings
        problems += errors
    named = [f for p in absolute_paths(args.paths) for f in (image_files(p) if os.path.isdir(p) else [p])]
    for path in dict.fromkeys(named):
        try:
            r = read_ratings(path)
        except RatingsError as exc:
            problems.append(str(exc))
            continue
        if r is not None:
            found.append(r)
    for problem in problems:
        print(f"autocull: {getattr(problem, 'message', problem)}", file=sys.stderr)
    if not found:
        print("autocull: no ratings found: rate, flag or label some photos in your editor first", file=sys.stderr)
        return 1
    client = connect(args.home, announce="learning")
    pb = client.pb
    try:
        answer = None
        stored = 0
        for start in range(0, len(found), 1000):
            items = [
                pb.Feedback(
                    path=r.path,
                    rating=r.rating,
                    pick=PICKS.get(r.pick, pb.PICK_UNSPECIFIED),
                    color_label=LABELS.get(r.label, pb.COLOR_LABEL_NONE if r.label else pb.COLOR_LABEL_UNSPECIFIED),
                )
                for r in found[start : start + 1000]
            ]
            source = "csv" if args.csv and not args.paths else "xmp"
            answer = client.call(
                "SendFeedback", pb.SendFeedbackRequest(items=items, source=source, profile=args.profile or "")
            )
            stored += answer.stored
        assert answer is not None
        print(f"{len(found)} ratings read, {stored} stored; {answer.total_labels} in the profile")
        if isinstance(client, LocalCore):
            client.core.engine.train_now()  # no daemon: make the vectors and train here, then report
        elif args.wait:
            _wait_for_taste(client)
        state = client.call("SendFeedback", pb.SendFeedbackRequest(items=[], source="cli", profile=args.profile or ""))
        print(f"taste: {state.model_state}")
        return 0
    finally:
        client.close()


def _wait_for_taste(client: Any, timeout: float = 3600.0) -> None:
    """Wait while the daemon makes vectors and trains (printing how far it is), at most ``timeout`` seconds."""
    pb = client.pb
    deadline = time.monotonic() + timeout
    time.sleep(0.5)
    while time.monotonic() < deadline:
        s = client.call("GetStatus", pb.GetStatusRequest())
        if not s.taste_busy:
            return
        if sys.stderr.isatty():
            sys.stderr.write(f"\rmaking vectors and training: {s.embedded} photos with a vector")
            sys.stderr.flush()
        time.sleep(1.0)


def cmd_search(args: argparse.Namespace) -> int:
    client = connect(args.home, announce="searching")
    pb = client.pb
    try:
        resp = client.call(
            "Search", pb.SearchRequest(text=args.text, paths=absolute_paths(args.paths), limit=args.limit)
        )
    finally:
        client.close()
    if args.json:
        from google.protobuf import json_format

        print(json.dumps(json_format.MessageToDict(resp, always_print_fields_with_no_presence=True), indent=1))
        return 0
    for h in resp.hits:
        print(f"{h.similarity:6.3f}  {h.path}")
    extra = f"; {resp.without_vector} without a vector yet" if resp.without_vector else ""
    print(f"{len(resp.hits)} of {resp.searched} photos shown{extra} (model {resp.model})")
    return 0


def cmd_select(args: argparse.Namespace) -> int:
    client = connect(args.home, announce="selecting")
    pb = client.pb
    req = pb.SelectRequest(
        paths=absolute_paths(args.paths), best=args.best, diverse=args.diverse, profile=args.profile or ""
    )
    try:
        resp = client.call("Select", req)
    finally:
        client.close()
    if args.json:
        from google.protobuf import json_format

        print(json.dumps(json_format.MessageToDict(resp, always_print_fields_with_no_presence=True), indent=1))
        return 0
    for k, p in enumerate(resp.photos, start=1):
        scene = f"scene {p.scene:<3} " if args.diverse else ""
        print(f"{k:>4}. {scene}{'*' * p.stars:<5} {p.quality:.2f}  {p.path}")
    tail = f", {resp.scenes} scenes" if args.diverse else ""
    print(f"{len(resp.photos)} chosen from {resp.keepers} keepers{tail}" + (f"; {resp.note}" if resp.note else ""))
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    client = find_daemon(args.home)
    if client is None:
        print("autocull: watching needs the daemon: start it with `autocull serve`", file=sys.stderr)
        return 2
    pb = client.pb
    try:
        if args.action == "list":
            resp = client.call("ListWatchFolders", pb.ListWatchFoldersRequest())
        else:
            method = "AddWatchFolder" if args.action == "add" else "RemoveWatchFolder"
            mode = {"auto": pb.WATCH_MODE_AUTO, "events": pb.WATCH_MODE_EVENTS, "polling": pb.WATCH_MODE_POLLING}
            resp = client.call(method, pb.WatchFolderRequest(path=absolute_paths([args.path])[0], mode=mode[args.mode]))
    finally:
        client.close()
    for f in resp.folders:
        print(f"{f.path} ({f.photos} photos, {'polling' if f.polling else 'file-system events'})")
    return 0


def cmd_xmp(args: argparse.Namespace) -> int:
    """`autocull xmp write PATH…`: merge the stored verdicts into the XMP sidecars now (whatever the policy says)."""
    client = connect(args.home, announce="writing sidecars")
    pb = client.pb
    try:
        resp = client.call(
            "WriteSidecars",
            pb.WriteSidecarsRequest(paths=absolute_paths(args.paths), top_level_only=args.top_level_only),
        )
    finally:
        client.close()
    if args.json:
        from google.protobuf import json_format

        print(json.dumps(json_format.MessageToDict(resp, always_print_fields_with_no_presence=True), indent=1))
    else:
        for r in resp.results:
            if r.HasField("error"):
                print(f"failed     {r.path}: {r.error.code} {r.error.message}")
            else:
                print(f"{'written' if r.written else 'unchanged':<10} {r.sidecar}")
        unchanged = len(resp.results) - resp.written - resp.failed
        print(f"{resp.written} sidecars written, {unchanged} already up to date, {resp.failed} failed")
    return 1 if resp.failed else 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .autostart import store_python_warning
    from .daemon import serve, setup_logging

    setup_logging(args.home, args.verbose)
    if warning := store_python_warning():
        print(f"autocull: warning: {warning}", file=sys.stderr, flush=True)
    try:
        return serve(args.home, grpc_port=args.grpc_port, http_port=args.http_port)
    except OSError as exc:  # a port in use: said in one line, not a traceback
        print(f"autocull: the daemon could not start: {exc}", file=sys.stderr)
        return 1


def cmd_service(args: argparse.Namespace) -> int:
    """Start the daemon at login (install/uninstall), say whether it is (status: exit 3 when not running), or start
    it now (start: the installed service, else a detached `autocull serve`; the plugins call this)."""
    from . import autostart

    manager = autostart.manager_for(home=args.home)
    launch = autostart.launch_here(args.home)
    try:
        if args.action == "install":
            if warning := autostart.store_python_warning():
                print(f"autocull: warning: {warning}", file=sys.stderr, flush=True)
            if not manager.install(launch):
                print(
                    "autocull: Task Scheduler refused this user the logon task (Access is denied); a Startup-folder "
                    "entry starts the daemon at login instead; starting it now",
                    file=sys.stderr,
                )
                autostart.spawn_detached(launch)
            print(f"installed: {manager.registration()}; the daemon starts at login: {' '.join(launch.argv())}")
            return 0 if args.no_wait else _wait_running(args.home, args.wait)
        if args.action == "uninstall":
            was = manager.uninstall()
            print(f"uninstalled: {manager.kind} ({manager.path})" if was else "not installed: nothing to remove")
            return 0
        if args.action == "start":
            if answering(args.home):
                return _wait_running(args.home, 0)
            from .homelock import holder

            pid = holder(args.home)
            if pid is not None:  # starting (it holds the home before it opens the store and its ports)
                print(f"autocull: a daemon is starting on this home (pid {pid or 'unknown'}); waiting", file=sys.stderr)
                return _wait_running(args.home, args.wait)
            _start(manager, launch)
            return _wait_running(args.home, args.wait)
    except autostart.ServiceError as exc:
        print(f"autocull: {exc}", file=sys.stderr)
        return 1
    installed = manager.installed()
    print(f"installed: {'yes, ' + manager.registration() if installed else f'no ({manager.kind}, {manager.path})'}")
    return _wait_running(args.home, 0)


def _start(manager: Any, launch: Any) -> None:
    """The installed service through its manager; where there is none, or the manager cannot or will not start it
    (macOS Login Items switched off, `systemctl --user` without a bus over ssh, a Startup-folder entry), a
    detached `autocull serve`, saying so."""
    from . import autostart

    if manager.installed():
        try:
            if manager.start():
                return
            why = f"the {manager.registration()} starts the daemon at login only"
        except autostart.ServiceError as exc:
            why = str(exc)
        print(f"autocull: {why}; starting `autocull serve` detached instead", file=sys.stderr, flush=True)
    autostart.spawn_detached(launch)


def _wait_running(home: Path, wait: float) -> int:
    """Print whether the daemon answers (waiting up to ``wait`` seconds for it): 0 running, 3 not (as LSB)."""
    deadline = time.monotonic() + wait
    while True:
        state = answering(home, "http_port")
        if state or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    if state:
        print(f"running: pid {state['pid']}, gRPC {state['grpc_port']}, HTTP {state['http_port']} ({home})")
        return 0
    print(f"running: no (log: {home / 'logs' / 'autocull.log'})")
    return 3


def cmd_sample(args: argparse.Namespace) -> int:
    from .sample import make_sample

    files = make_sample(Path(args.folder))
    print(f"wrote {len(files)} sample photos to {args.folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="autocull", description="Cull photos: sharpness, eyes, exposure, bursts.")
    p.add_argument(
        "--home", type=Path, default=None, help="state folder (default: $AUTOCULL_HOME or the user config dir)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("serve", help="run the daemon on loopback")
    s.add_argument("--grpc-port", type=int, default=None, help="0 = pick a free port (written to state.json)")
    s.add_argument("--http-port", type=int, default=None, help="0 = pick a free port (written to state.json)")
    s.add_argument("-v", "--verbose", action="store_true")
    s.set_defaults(func=cmd_serve)

    for name, helptext in (("cull", "analyse and decide photos"), ("analyze", "analyse and store, no decisions")):
        c = sub.add_parser(name, help=helptext)
        c.add_argument("paths", nargs="+", help="files or folders")
        fmt = c.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true", help='print {"decisions": [...]} with the proto JSON names')
        if name == "cull":
            fmt.add_argument(
                "--csv",
                action="store_true",
                help="print one CSV row per photo (UTF-8 with BOM, for spreadsheets; `teach --csv` reads it back)",
            )
        c.add_argument("--preset", help="policy preset for this run")
        c.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="policy override")
        c.add_argument("--top-level-only", action="store_true", help="do not descend into subfolders")
        c.add_argument("--reanalyze", action="store_true", help="read every image again")
        c.add_argument("--profile", help="whose taste (ratings and model) to use; default: the policy's")
        c.add_argument(
            "--ray",
            metavar="ADDRESS",
            help="analyse on a Ray cluster (autocull[cluster]): auto, HOST:PORT of its head node, ray://HOST:PORT, "
            "or local; every node must see the photos under the same paths; the store stays here",
        )
        c.set_defaults(func=(lambda a: cmd_cull(a, analyze_only=True)) if name == "analyze" else cmd_cull)

    pol = sub.add_parser("policy", help="show or change the policy")
    pol.add_argument("action", choices=("show", "set", "presets"))
    pol.add_argument("pairs", nargs="*", metavar="KEY=VALUE")
    pol.add_argument("--preset", help="load a preset (built-in: default, strict, gentle)")
    pol.add_argument("--reset", action="store_true", help="back to the defaults")
    pol.add_argument("--save-as", help="also save the result as a named preset")
    pol.add_argument("--json", action="store_true")
    pol.set_defaults(func=cmd_policy)

    st = sub.add_parser("status", help="what the daemon and the store hold")
    st.add_argument("--failed", action="store_true", help="list files that failed, with reasons")
    st.add_argument("--limit", type=int, default=100)
    st.set_defaults(func=cmd_status)

    t = sub.add_parser("teach", help="learn your taste from ratings you already made (XMP sidecars, embedded XMP, CSV)")
    t.add_argument("paths", nargs="*", help="photos or folders whose XMP ratings, labels and rejects to learn from")
    t.add_argument("--csv", help="a CSV file with columns path, stars, pick, label")
    t.add_argument("--profile", help="the profile these ratings teach (default: the policy's, 'default')")
    t.add_argument("--no-wait", dest="wait", action="store_false", help="with a daemon: do not wait for training")
    t.set_defaults(func=cmd_teach)

    se = sub.add_parser("search", help="photos ranked by how well they match a text (CLIP)")
    se.add_argument("text", help='what to look for, e.g. "dog on the beach"')
    se.add_argument("paths", nargs="*", help="files or folders to search among (default: every stored photo)")
    se.add_argument("--limit", type=int, default=20)
    se.add_argument("--json", action="store_true")
    se.set_defaults(func=cmd_search)

    sl = sub.add_parser("select", help="the N best keepers, optionally spread over the shoot's scenes")
    sl.add_argument("paths", nargs="*", help="files or folders (default: every stored photo)")
    sl.add_argument("--best", type=int, required=True, metavar="N")
    sl.add_argument("--diverse", action="store_true", help="the best of each scene first")
    sl.add_argument("--profile", help="whose taste to rank by (default: the policy's)")
    sl.add_argument("--json", action="store_true")
    sl.set_defaults(func=cmd_select)

    w = sub.add_parser("watch", help="watched import folders (daemon only)")
    w.add_argument("action", choices=("add", "remove", "list"))
    w.add_argument("path", nargs="?", default="")
    w.add_argument(
        "--mode",
        choices=("auto", "events", "polling"),
        default="auto",
        help="add: file-system events, or polling (network shares, card readers); auto polls network file systems",
    )
    w.set_defaults(func=cmd_watch)

    x = sub.add_parser("xmp", help="XMP sidecars: merge the stored verdicts into them")
    x.add_argument("action", choices=("write",))
    x.add_argument("paths", nargs="+", help="culled photos or folders")
    x.add_argument("--top-level-only", action="store_true", help="do not descend into subfolders")
    x.add_argument("--json", action="store_true")
    x.set_defaults(func=cmd_xmp)

    sv = sub.add_parser("service", help="start the daemon at login (install/uninstall), status, or start it now")
    sv.add_argument("action", choices=("install", "uninstall", "status", "start"))
    sv.add_argument("--wait", type=float, default=30.0, help="start/install: seconds to wait for it to answer")
    sv.add_argument("--no-wait", action="store_true", help="install: do not wait for the daemon to answer")
    sv.set_defaults(func=cmd_service)

    from . import exporting
    from .report import command as report_command

    report_command.add_parser(sub)
    exporting.add_parser(sub)

    sm = sub.add_parser("sample", help="write a folder of sample photos (from scikit-image) to try AutoCull on")
    sm.add_argument("folder")
    sm.set_defaults(func=cmd_sample)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    args.home = args.home or default_home()
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # `autocull policy show | head`: the reader left, which is no error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 0
    except Exception as exc:  # a clean one-line message for users, not a traceback
        from .errors import AutoCullError

        message = getattr(exc, "details", None)
        if callable(message):
            print(f"autocull: {message()}", file=sys.stderr)  # grpc.RpcError
            return 1
        if isinstance(exc, AutoCullError):
            print(f"autocull: {exc.message}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
