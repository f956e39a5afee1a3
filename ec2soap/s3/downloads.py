"""Downloads over Twisted in constant memory: BlobProducer writes an object's BlobReader to a Request.

Twisted glue only: no SQL, no XML. The prefix the lookup read goes first through the transport; the rest by
sendfile(2) on the store's pool over plain TCP on Linux, else chunk by chunk with one read ahead.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Any, Callable, Optional

from twisted.internet import tcp
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IPushProducer, ISSLTransport
from twisted.python.failure import Failure
from twisted.web import http
from zope.interface import implementer

__all__ = ["BlobProducer", "plain_tcp", "SENDFILE"]

log = logging.getLogger(__name__)

SENDFILE = True  # downloads over plain TCP by sendfile(2) on Linux (BlobProducer); False: through Python


def plain_tcp(transport: Any) -> bool:
    """TRANSPORT is a plain TCP connection (no TLS), whose socket the process may use directly."""
    return isinstance(transport, tcp.Connection) and not ISSLTransport.providedBy(transport) \
        and not getattr(transport, "TLS", False)


def _socket_fd(request: Any) -> Optional[int]:
    """The plain TCP socket under REQUEST's channel when its body may go out by sendfile(2): Linux, no TLS
    (TLS must encrypt in the process), a body neither chunked nor suppressed (HEAD, 204/304). Else None."""
    if not SENDFILE or not sys.platform.startswith("linux"):
        return None
    transport = getattr(getattr(request, "channel", None), "transport", None)
    if not plain_tcp(transport):
        return None
    if request.chunked or request.method == b"HEAD" or request.code in http.NO_BODY_CODES:
        return None
    try:
        return transport.socket.fileno()
    except (AttributeError, OSError):
        return None


@implementer(IPushProducer)
class BlobProducer:
    """Writes a BlobReader to a Request: first the prefix it read with its lookup (BlobReader.ready); a
    reader with nothing left (exhausted) ends the body with no hop for an empty read or the close.
    Over plain TCP (_socket_fd) the rest goes by sendfile(2) on the pool (BlobReader.send_to: no copy through
    Python, the reactor free), only while the transport's buffer is empty (its resumeProducing after a pause),
    on a dup of the socket's descriptor (a connection closed meanwhile never lets bytes reach another), a
    budget of bytes per hop. A client that stops reading makes send_to return (no thread held): the next chunk
    goes through the transport, which waits for it. Otherwise chunk by chunk with one read ahead (read on the
    pool while the transport drains). At most two chunks per download in memory."""

    def __init__(self, request: Any, reader: Any, run: Callable[..., Deferred]):
        self.request, self.reader, self.run = request, reader, run
        self._paused = False
        self._reading = False
        self._stopped = False
        self._ahead: Optional[bytes] = None  # read, not yet written
        self._drained = False  # the transport's buffer is empty (resumed after a pause), nothing written since
        self._sendfile = hasattr(reader, "send_to") and _socket_fd(request) is not None
        self.done: Deferred = Deferred()

    def start(self) -> Deferred:
        self.request.registerProducer(self, True)
        ready = getattr(self.reader, "ready", None)
        self._ahead = ready() if ready is not None else None
        self._pump()
        return self.done

    def _pump(self) -> None:
        if self._stopped:
            return
        if self._ahead is not None and not self._paused:
            data, self._ahead = self._ahead, None
            self._drained = False
            self.request.write(data)  # may pause us at once (the transport's buffer is full)
            if self._stopped:
                return
        if self._ahead is not None or self._reading:
            return
        if getattr(self.reader, "exhausted", False):
            self._end(None)
            return
        if self._sendfile:
            if self._drained:
                self._send()
                return
            if self._paused:
                return  # no read ahead: sendfile goes on from here once the transport is empty
        self._reading = True
        self.run(self.reader.read).addCallbacks(self._got, self._error)

    def _send(self) -> None:
        try:
            fd = os.dup(_socket_fd(self.request))  # type: ignore[arg-type]
        except (TypeError, OSError):
            self._sendfile = False  # the connection is going away: the ordinary path finds out
            self._pump()
            return
        self._reading = True

        def sent(result: tuple[int, bool]) -> None:
            count, stalled = result
            self.request.sentLength += count
            if stalled:
                self._drained = False  # the next chunk goes through the transport, which waits for the client
            self._got(None)

        def send() -> tuple[int, bool]:  # on the pool, the dup closed there too (a syscall off the reactor)
            try:
                return self.reader.send_to(fd, lambda: self._stopped)
            finally:
                os.close(fd)
        self.run(send).addCallbacks(sent, self._error)

    def _got(self, data: Optional[bytes]) -> None:  # a chunk read, or None after a sendfile hop
        self._reading = False
        if self._stopped:
            self._close()
            return
        if data == b"":
            self._end(None)
            return
        self._ahead = data
        self._pump()

    def _error(self, failure: Failure) -> None:
        self._reading = False
        if not self._stopped:
            log.error("S3 download failed while streaming: %s", failure.getErrorMessage())
        self._end(failure)

    def _end(self, failure: Optional[Failure]) -> None:
        self._stopped = True
        self._close()
        try:
            self.request.unregisterProducer()
        except Exception:  # the connection is gone already
            pass
        if not self.done.called:
            if failure is None:
                self.done.callback(None)
            else:
                self.done.errback(failure)

    def _close(self) -> None:
        self._ahead = None
        if getattr(self.reader, "exhausted", False):
            self.reader.close()  # every file is closed already: nothing that blocks
            return
        self.run(self.reader.close).addErrback(lambda f: None)

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        # The transport resumes its producer only once its buffer is empty (FileDescriptor.doWrite).
        self._paused = False
        self._drained = True
        self._pump()

    def stopProducing(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if not self._reading:
            self._close()
        if not self.done.called:
            self.done.errback(Failure(ConnectionError("client went away during the download")))
