"""Graceful shutdown of a gateway process: which HTTP requests are in flight, and draining them on SIGTERM.

Twisted glue only: no SQL, no S3 or EC2 decisions. `drain` runs as the reactor's "before shutdown" trigger
(server.serve installs it), so the thread pool and the simulator's listeners still work while it waits.
"""
from __future__ import annotations

import logging
import weakref
from typing import Any, Callable, Iterable

from twisted.internet.defer import Deferred, gatherResults, inlineCallbacks, maybeDeferred, succeed
from twisted.internet.task import deferLater

__all__ = ["InFlight", "drain"]

log = logging.getLogger(__name__)

# How long a cut upload may take to hand its temp file back (its last write finishing on the pool).
_UPLOAD_SETTLE = 5.0
# How long finished responses may take to leave the process once the requests are done.
_FLUSH = 5.0


class InFlight:
    """The requests a Site is working on (from their first line until they finish or their client goes) and
    the connections they came on. `track(site)` makes a Site report to it."""

    def __init__(self) -> None:
        self.requests: set[Any] = set()
        self.channels: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self.draining = False
        self._waiters: list[Deferred] = []

    def track(self, site: Any) -> None:
        """Wrap SITE's request factory (a Request class) so every request it makes is counted here."""
        inflight = self
        base = site.requestFactory

        class Tracked(base):  # type: ignore[misc, valid-type]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                inflight._started(self)

        Tracked.__name__ = Tracked.__qualname__ = f"Tracked{base.__name__}"
        site.requestFactory = Tracked

    def _started(self, request: Any) -> None:
        channel = request.channel
        self.requests.add(request)
        if channel is not None:
            self.channels.add(channel)
        done = request.notifyFinish()
        done.addBoth(lambda _: self._finished(request, channel))

    def _finished(self, request: Any, channel: Any) -> None:
        self.requests.discard(request)
        if self.draining and channel is not None and not getattr(channel, "requests", None):
            # No keep-alive while stopping: the client's next request goes to another gateway.
            channel.loseConnection()
        if not self.requests:
            waiters, self._waiters = self._waiters, []
            for waiter in waiters:
                waiter.callback(None)

    def idle(self) -> Deferred:
        """Fires once no request is in flight."""
        if not self.requests:
            return succeed(None)
        waiter: Deferred = Deferred()
        self._waiters.append(waiter)
        return waiter

    def begin_drain(self) -> list[Any]:
        """Stop keep-alive, close idle connections and cut uploads whose body is still arriving (their temp
        files are removed by the upload itself; nothing was committed). → the cut uploads' requests."""
        self.draining = True
        cut = []
        for request in list(self.requests):
            if _receiving_upload(request) is not None:
                cut.append(request)
                _abort(request)
                continue
            if not request.startedWriting:
                request.setHeader(b"connection", b"close")
            if request.channel is not None:
                request.channel.persistent = False
        busy = {request.channel for request in self.requests}
        for channel in list(self.channels):
            if channel not in busy and not getattr(channel, "requests", None):
                channel.loseConnection()
        return cut

    def open_channels(self) -> list[Any]:
        """Connections not yet closed (a finished response may still sit in its transport's buffer)."""
        return [c for c in list(self.channels)
                if c.transport is not None and not getattr(c.transport, "disconnected", True)]

    def cut_all(self) -> list[Any]:
        """The grace is over: drop every connection still working on a request."""
        cut = list(self.requests)
        for request in cut:
            _abort(request)
        return cut


def _receiving_upload(request: Any) -> Any:
    # ec2soap.s3.streaming.UploadStream: _ended turns true once the whole body has arrived.
    upload = getattr(request, "s3_upload", None)
    if upload is None or getattr(upload, "_ended", True):
        return None
    return upload


def _abort(request: Any) -> None:
    channel = request.channel
    transport = getattr(channel, "transport", None)
    if transport is not None:
        transport.abortConnection()


def _settle_uploads(requests: Iterable[Any], reactor: Any) -> Deferred:
    """Wait until each cut upload's last pool write is over, then discard its body (idempotent: the upload
    discards it too, but only once the reactor gets to it, which may be after the thread pool has stopped)."""
    @inlineCallbacks
    def settle(request: Any) -> Any:
        upload = request.s3_upload
        waited = 0.0
        # Wait for the last pool write, and for the preparation (which opens the temp file) unless it failed.
        while (getattr(upload, "_writing", False) or (upload.prepared is None and getattr(upload, "_error", None)
                                                       is None)) and waited < _UPLOAD_SETTLE:
            yield deferLater(reactor, 0.05, lambda: None)
            waited += 0.05
        body = getattr(upload.prepared, "body", None)
        run: Callable[..., Deferred] | None = getattr(request, "run", None)
        if body is not None and run is not None:
            yield run(body.abort)

    uploads = [r for r in requests if getattr(r, "s3_upload", None) is not None]
    return gatherResults([settle(r).addErrback(lambda f: log.warning("could not discard a cut upload: %s",
                                                                     f.getErrorMessage()))
                          for r in uploads])


@inlineCallbacks
def drain(running: Any, grace: float, reactor: Any) -> Any:
    """Stop accepting on the gateway port, let in-flight requests finish for up to GRACE seconds, then cut
    what is left. The simulator's ports (which the gateway itself may be calling) stay open throughout."""
    inflight: InFlight | None = getattr(running, "inflight", None)
    gateway_ports = {running.ports[name] for name in ("gateway", "gateway_tls") if name in running.ports}
    stops = [maybeDeferred(listener.stopListening) for listener in running.listeners
             if listener.getHost().port in gateway_ports]
    sweeper = getattr(running, "sweeper", None)  # ec2soap.s3.sweeper: a sweep in progress ends at its next key
    if sweeper is not None:
        stops.append(sweeper.stop())
    yield gatherResults(stops)
    if inflight is None:
        return
    cut = inflight.begin_drain()
    if inflight.requests:
        log.info("stopping: waiting up to %.0f s for %d request(s) in flight", grace, len(inflight.requests))
    try:
        yield inflight.idle().addTimeout(grace, reactor)
    except Exception:
        left = inflight.cut_all()
        log.warning("stopping: %d request(s) still in flight after %.0f s were cut", len(left), grace)
        cut += left
    yield _settle_uploads(cut, reactor)
    # The reactor drops connections without flushing them: let the last responses reach their clients.
    waited = 0.0
    while inflight.open_channels() and waited < _FLUSH:
        yield deferLater(reactor, 0.05, lambda: None)
        waited += 0.05
