"""`ec2soap serve --workers N`: a supervisor process and N gateway worker processes sharing one listening socket.

The supervisor opens the gateway's sockets, checks the database schema (and the HTTPS certificate) once, and
spawns the workers with the HTTP socket as their fd 3 and the HTTPS one as fd 4 (each adopts them:
reactor.adoptStreamPort, with TLS on top for fd 4; the kernel hands every new connection to one of them). It restarts a worker that dies and, on SIGTERM, asks every worker to drain and waits for them.

With the embedded simulator, the simulator runs in the supervisor, on its usual ports: its state and its
time-driven jobs must live in one process, and its ports can be bound only once. The workers are then plain
gateways pointed at it over HTTP with the simulator's admin keys, the same code path as several hosts sharing
one CloudStack. The supervisor serves nothing else, so it stays responsive for the simulator.

The supervisor builds on the composition root (ec2soap.server: open_store, start, serve, banner); the
composition root never imports this module, and the CLI chooses between them (`--workers`).

`python -m ec2soap.workers` is the worker's entry point; it reads its orders (settings, socket family) as one
JSON line on stdin and stops when stdin closes (its supervisor is gone).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from twisted.internet import protocol
from twisted.internet.defer import Deferred, DeferredList, inlineCallbacks, succeed

from ec2soap.config import Settings
from ec2soap.server import Running, StartupError, banner, open_store, serve, start, tls_options

__all__ = ["serve_workers", "Supervisor", "worker_main", "listening_socket"]

log = logging.getLogger(__name__)

LISTEN_FD = 3
# The workers' fds of the gateway's listening sockets: HTTP (port) and HTTPS (tls_port), whichever are on.
LISTEN_FDS = {"gateway": LISTEN_FD, "gateway_tls": LISTEN_FD + 1}
# A worker that dies sooner than this after its start is restarted after a growing delay (a broken config
# or database would otherwise be retried in a tight loop).
_QUICK_DEATH = 10.0
_MAX_DELAY = 30.0
# After the grace period, how long the supervisor waits for a worker's own exit before killing it.
_KILL_AFTER = 15.0


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket for HOST:PORT (IPv6 when HOST has a colon)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host or "0.0.0.0", port))
        sock.listen(socket.SOMAXCONN)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _loopback(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


class _Worker(protocol.ProcessProtocol):
    def __init__(self, supervisor: "Supervisor", number: int):
        self.supervisor, self.number = supervisor, number
        self.started = time.monotonic()
        self.ended: Deferred = Deferred()
        self.pid: int | None = None

    def connectionMade(self) -> None:
        self.pid = self.transport.pid
        # Orders, and a pipe kept open: its end tells the worker that the supervisor is gone.
        self.transport.write(self.supervisor.orders)

    def processEnded(self, reason: Any) -> None:
        self.supervisor._ended(self, reason.value)
        self.ended.callback(None)

    def signal(self, name: str) -> None:
        try:
            self.transport.signalProcess(name)
        except Exception:  # already gone
            pass


class Supervisor:
    """Starts COUNT workers on SOCKETS ({fd in the worker: listening socket}, or one socket: fd 3) with ORDERS,
    restarts the ones that die, stops them all on stop()."""

    def __init__(self, reactor: Any, count: int, sock: socket.socket | dict[int, socket.socket], orders: bytes,
                 grace: float):
        self.reactor, self.count, self.orders, self.grace = reactor, count, orders, grace
        self.sockets = sock if isinstance(sock, dict) else {LISTEN_FD: sock}
        self.workers: dict[int, _Worker] = {}
        self.stopping = False
        self._delays: dict[int, float] = {}
        self._pending: dict[int, Any] = {}

    def start(self) -> None:
        for number in range(1, self.count + 1):
            self._spawn(number)

    def _spawn(self, number: int) -> None:
        self._pending.pop(number, None)
        if self.stopping:
            return
        worker = _Worker(self, number)
        self.reactor.spawnProcess(worker, sys.executable, [sys.executable, "-m", "ec2soap.workers", str(number)],
                                  env=dict(os.environ), childFDs={0: "w", 1: 1, 2: 2,
                                                                  **{fd: s.fileno() for fd, s in self.sockets.items()}})
        self.workers[number] = worker
        log.info("worker %d started (pid %s)", number, worker.pid)

    def _ended(self, worker: _Worker, why: Any) -> None:
        if self.workers.get(worker.number) is worker:
            del self.workers[worker.number]
        if self.stopping:
            log.info("worker %d (pid %s) stopped: %s", worker.number, worker.pid, _describe(why))
            return
        if time.monotonic() - worker.started < _QUICK_DEATH:
            delay = min(_MAX_DELAY, self._delays.get(worker.number, 0.5) * 2)
        else:
            delay = 0.5
        self._delays[worker.number] = delay
        log.error("worker %d (pid %s) died: %s; restarting it in %.1f s", worker.number, worker.pid,
                  _describe(why), delay)
        self._pending[worker.number] = self.reactor.callLater(delay, self._spawn, worker.number)

    @inlineCallbacks
    def stop(self) -> Any:
        """SIGTERM to every worker (each drains for up to the grace period), SIGKILL to any still running
        well after it."""
        self.stopping = True
        for call in self._pending.values():
            if call.active():
                call.cancel()
        self._pending.clear()
        running = list(self.workers.values())
        if not running:
            return
        log.info("stopping %d worker(s)", len(running))
        for worker in running:
            worker.signal("TERM")
        everyone = DeferredList([w.ended for w in running])
        try:
            yield everyone.addTimeout(self.grace + _KILL_AFTER, self.reactor)
        except Exception:
            for worker in running:
                if not worker.ended.called:
                    log.error("worker %d (pid %s) did not stop; killing it", worker.number, worker.pid)
                    worker.signal("KILL")
            yield DeferredList([w.ended for w in running])


def _describe(why: Any) -> str:
    code = getattr(why, "exitCode", None)
    sig = getattr(why, "signal", None)
    if sig:
        return f"signal {sig}"
    return f"exit status {code}"


def _worker_settings(settings: Settings, running: Any) -> Settings:
    """What a worker runs with: with the embedded simulator, a gateway pointed at the supervisor's simulator."""
    if not settings.embedded:
        return settings
    url = f"http://{_loopback(settings.host)}:{running.ports['simulator']}/client/api"
    return settings.replace(cloudstack_url=url, cloudstack_admin_api_key=running.admin_user["apikey"],
                            cloudstack_admin_secret_key=running.admin_user["secretkey"])


def _clean_storage(settings: Settings, store: Any) -> None:
    """Crash leftovers in the object storage go before any worker starts (SQLite: only this host writes;
    workers themselves remove only hour-old leftovers, as one of them may be mid-upload)."""
    if not store.is_sqlite:
        return
    from ec2soap.s3 import ObjectStore, S3Operations

    S3Operations(store, ObjectStore(Path(settings.data_dir) / "objects")).cleanup(0.0)


def serve_workers(settings: Settings) -> int:
    """The supervisor: schema check, socket, the simulator when embedded, N workers; returns 0 after SIGTERM."""
    from twisted.internet import reactor
    from twisted.python import log as twisted_log

    twisted_log.PythonLoggingObserver().start()
    tls_options(settings)  # a bad certificate stops us here, not in every worker
    store = open_store(settings, reactor)
    sockets: dict[str, socket.socket] = {}
    for name, port in (("gateway", settings.port), ("gateway_tls", settings.tls_port)):
        if port < 0:
            continue
        try:
            sockets[name] = listening_socket(settings.host, port)
        except OSError as exc:
            for opened in sockets.values():
                opened.close()
            store.close()
            what = "gateway" if name == "gateway" else "gateway's HTTPS"
            raise StartupError(f"cannot listen on {settings.host}:{port} for the {what}: {exc}") from None
    _clean_storage(settings, store)
    outcome: dict[str, Any] = {}
    embedded = settings.embedded
    if embedded and settings.simulator_port < 0:
        # The workers reach the simulator over its signed API: it needs a port, if only a free one.
        settings_here = settings.replace(simulator_port=0)
    else:
        settings_here = settings

    def begin() -> Deferred:
        if embedded:
            return start(settings_here, reactor, store=store, gateway=False)
        return succeed(Running(settings=settings, store=store))

    def started(running: Any) -> None:
        for name, sock in sockets.items():
            running.ports[name] = sock.getsockname()[1]
        orders = {"settings": dataclasses.asdict(_worker_settings(settings_here, running)),
                  "sockets": {name: [LISTEN_FDS[name], int(sock.family)] for name, sock in sockets.items()}}
        supervisor = Supervisor(reactor, settings.workers, {LISTEN_FDS[name]: sock for name, sock in sockets.items()},
                                (json.dumps(orders) + "\n").encode(), settings.shutdown_grace)
        outcome["supervisor"] = supervisor
        supervisor.start()
        pids = ", ".join(str(w.pid) for w in supervisor.workers.values())
        print(banner(running) + f"\n  workers     {settings.workers} (pids {pids})", flush=True)

    def failed(failure: Any) -> None:
        outcome["error"] = failure.value
        reactor.stop()

    def stopping() -> Any:
        supervisor = outcome.get("supervisor")
        return supervisor.stop() if supervisor is not None else None

    reactor.addSystemEventTrigger("before", "shutdown", stopping)
    reactor.callWhenRunning(lambda: begin().addCallbacks(started, failed))
    reactor.run()
    for sock in sockets.values():
        sock.close()
    store.close()
    if "error" in outcome:
        error = outcome["error"]
        raise error if isinstance(error, StartupError) else StartupError(str(error))
    return 0


class _SupervisorWatch:
    """Reads our stdin (a pipe our supervisor keeps open and never writes to again): its end means the
    supervisor is gone, and we stop, draining as on SIGTERM."""

    def __init__(self, reactor: Any):
        self.reactor = reactor

    def fileno(self) -> int:
        return 0

    def logPrefix(self) -> str:
        return "supervisor-watch"

    def doRead(self) -> None:
        try:
            data = os.read(0, 4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.reactor.removeReader(self)
            _stop_once(self.reactor)

    def connectionLost(self, reason: Any) -> None:
        # The reactor reports a hung-up pipe here rather than through doRead.
        _stop_once(self.reactor)


def _read_line(fd: int) -> bytes:
    """One line from FD, unbuffered (nothing after it may be swallowed: the pipe is watched afterwards)."""
    line = bytearray()
    while not line.endswith(b"\n"):
        byte = os.read(fd, 1)
        if not byte:
            break
        line += byte
    return bytes(line)


def _stop_once(reactor: Any) -> None:
    if reactor.running and not getattr(reactor, "_stopped", False):
        reactor.stop()


def worker_main(argv: list[str] | None = None) -> int:
    """A worker: read the orders, then serve on the inherited socket until SIGTERM (or the supervisor's end)."""
    from twisted.internet import reactor

    argv = sys.argv[1:] if argv is None else argv
    number = argv[0] if argv else "?"
    orders = json.loads(_read_line(0))
    settings = Settings(**orders["settings"])
    logging.basicConfig(level=getattr(logging, settings.log_level.upper(), logging.INFO),
                        format=f"%(asctime)s %(levelname)s worker-{number} %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    def only_sigterm() -> None:
        # Ctrl-C reaches the whole process group; the supervisor turns it into our SIGTERM.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        reactor.addReader(_SupervisorWatch(reactor))

    reactor.callWhenRunning(only_sigterm)
    try:
        adopt = {name: (fd, family) for name, (fd, family) in orders["sockets"].items()}
        return serve(settings, gateway=True, adopt=adopt)
    except StartupError as exc:
        print(f"ec2soap worker {number}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(worker_main())
