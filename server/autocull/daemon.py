"""`autocull serve`: the daemon on loopback, gRPC + JSON over HTTP, until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from .config import (
    FILE_MODE,
    LOG_DIR,
    LOG_FILE,
    Config,
    clear_running,
    default_home,
    ensure_home,
    is_loopback,
    load_or_create_token,
    set_mode,
    write_state,
)
from .engine import Engine
from .homelock import take_home
from .jobs import JobManager
from .watcher import Watcher

log = logging.getLogger(__name__)


@dataclass
class Daemon:
    engine: Engine
    jobs: JobManager
    watcher: Watcher
    grpc_server: Any
    http_server: Any
    grpc_port: int
    http_port: int
    token: str
    hold: Any = None  # the home's lock (take_home): released last, once the store is closed

    def stop(self, grace: float = 10.0) -> None:
        """Cancel running jobs, let them finish their current photo, close the store."""
        self.watcher.stop()
        self.jobs.shutdown(grace=grace)
        self.http_server.stop()
        self.grpc_server.stop(grace).wait()
        # queued sidecars get the same grace; the rest is dropped with a warning naming `autocull xmp write`
        self.engine.close(sidecar_timeout=grace)
        clear_running(self.engine.home)
        if self.hold is not None:
            self.hold.release()


def start(
    home: Optional[Path] = None,
    *,
    grpc_port: Optional[int] = None,
    http_port: Optional[int] = None,
    host: Optional[str] = None,
) -> Daemon:
    from .rpc.connect_server import ConnectServer
    from .rpc.grpc_server import create_server
    from .rpc.paging import pack
    from .rpc.service import AutoCullCore

    home = ensure_home(home or default_home())
    hold = take_home(home)  # first: a second daemon stops here, before the store opens or a port is bound
    with ExitStack() as started:  # a start that fails half-way stops what it had started, in reverse
        started.callback(hold.release)
        config = Config.load(home)
        config.write_default(home)
        host = host or config.host
        if not is_loopback(host):
            raise SystemExit(f"refusing to listen on {host}: AutoCull listens on loopback only")
        engine = Engine.open(home, config)
        started.callback(engine.close)
        jobs = JobManager(engine, pack)
        started.callback(jobs.shutdown)
        watcher = Watcher(engine, config.watch_interval)
        core = AutoCullCore(engine, jobs, watcher)
        token = load_or_create_token(home)
        gport_wanted = config.grpc_port if grpc_port is None else grpc_port
        gserver, gport = create_server(core, host=host, port=gport_wanted, token=token)
        started.callback(lambda: gserver.stop(0).wait())
        hserver = ConnectServer(core, host=host, port=config.http_port if http_port is None else http_port, token=token)
        started.callback(hserver.stop)
        hport = hserver.port
        gserver.start()
        hserver.start()
        watcher.start()
        started.callback(watcher.stop)
        engine.taste.start()  # vectors for what lacks one, training: in the background, after the servers are up
        write_state(home, token=token, host=host, grpc_port=gport, http_port=hport, pid=os.getpid())
        started.pop_all()
    log.info("AutoCull listening on %s: gRPC %d, HTTP %d; state in %s", host, gport, hport, home)
    return Daemon(engine, jobs, watcher, gserver, hserver, gport, hport, token, hold)


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """Opens (and after each rollover re-opens) the log as 0600: logs name one user's photos."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
        set_mode(fd, FILE_MODE)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)


def setup_logging(home: Path, verbose: bool = False) -> None:
    ensure_home(home)
    handler = _PrivateRotatingFileHandler(home / LOG_DIR / LOG_FILE, maxBytes=5_000_000, backupCount=3)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter("autocull: %(message)s"))
    console.setLevel(logging.DEBUG if verbose else logging.INFO)
    root.addHandler(console)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


def serve(home: Optional[Path] = None, **kwargs: Any) -> int:
    """Run until SIGTERM/SIGINT; exit code 0 on a clean stop."""
    home = home or default_home()
    daemon = start(home, **kwargs)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(
        f"AutoCull {daemon.engine.status()['version']} listening on 127.0.0.1 "
        f"(gRPC {daemon.grpc_port}, HTTP {daemon.http_port}); token and ports in {home / 'state.json'}",
        flush=True,
    )
    while not stop.wait(0.5):  # timed: on Windows an untimed Event.wait is not interrupted by Ctrl+C
        pass
    log.info("stopping: cancelling running jobs")
    daemon.stop()
    log.info("stopped")
    return 0
