"""S3 upload bodies in constant memory over Twisted: a Request that streams them (downloads: s3.downloads).

Twisted glue only: no SQL, no XML and nothing from ec2soap.core. S3 decisions (is this an upload, who is the
caller, may they write) are the S3Resource's, reached through the `UploadHandler` it gives the factory.

Twisted's Request buffers a whole body (BytesIO or a temp file) before render. `StreamingRequest` instead,
for S3 object and part PUTs, authenticates from the headers as soon as they are in (before any body byte is
read, and before `100 Continue` is sent), then hands the body to the operations' IncomingBody on the store's
thread pool while it arrives, pausing the connection whenever more than HIGH_WATER bytes wait. Every other
request (EC2 Query, SOAP, S3 requests with small XML bodies) is buffered exactly as Twisted does.

An upload refused while its body is still arriving (refused from its headers without Expect, or failed
mid-body: a bad chunk, too many bytes, a disk error) is answered at once, with `Connection: close`, and the
rest of its body is then read and dropped (`_Linger`, at most DRAIN_BYTES or DRAIN_SECONDS) before the
connection closes: closing with unread bytes would reset the connection, and a client still sending (urllib3
reads the answer only after its last byte) could lose the answer to that reset. The connection never
serves another request: the channel's queue keeps this request until the body ended or the budget ran out.
"""
from __future__ import annotations

import io
import logging
import time
from collections import deque
from typing import Any, Callable, Optional, Protocol

from twisted.internet.defer import Deferred, ensureDeferred, fail
from twisted.python.failure import Failure
from twisted.web import http, server

from ec2soap.origin import request_origin
from ec2soap.s3.downloads import plain_tcp

__all__ = ["StreamingRequest", "request_factory", "UploadHandler", "UploadStream", "HIGH_WATER", "DRAIN_BYTES",
           "DRAIN_SECONDS"]

log = logging.getLogger(__name__)

HIGH_WATER = 1024 * 1024  # received bytes we hold before pausing the client's connection
BATCH = 1024 * 1024       # most bytes handed to the thread pool in one write
MIN_BATCH = 256 * 1024    # ... and the fewest, unless the body ended (fewer hops than one per socket read)
DRAIN_BYTES = 64 * 1024 * 1024  # body bytes read and dropped after an early answer before closing anyway
DRAIN_SECONDS = 5.0             # ... and for at most this long (the channel's own LINGER_SECONDS)
UPLOAD_READ = 256 * 1024  # socket reads while an upload body arrives (Twisted's own: 64 KiB)


class UploadHandler(Protocol):
    """What the S3 resource offers the request factory."""

    def upload_for(self, method: bytes, uri: bytes, headers: Any,
                   origin: Any = None) -> Optional[Callable[[], Any]]:
        """For a streamed upload: a coroutine function preparing it (auth, permission, sink) → Prepared."""

    def respond_early(self, request: Any, failure: Failure) -> None:
        """Answer REQUEST with FAILURE now, before its body was read (whole): see StreamingRequest.reject."""


class Prepared(Protocol):
    caller: Optional[str]
    auth: Any
    body: Any          # IncomingBody: write(bytes), abort()
    decoder: Any       # AwsChunkedDecoder or None


class UploadStream:
    """One upload body on its way to disk. `result` fires with the Prepared (its decoder finished and every
    byte written) once the whole body is in, or fails with what went wrong; the resource then commits or
    reports. Only the reactor thread touches this object; the pool only runs _write/_finish/abort."""

    def __init__(self, request: "StreamingRequest", prepare: Callable[[], Any], run: Callable[..., Deferred],
                 expect_continue: bool, length: Optional[int] = None):
        self.request = request
        # A body declared (Content-Length) no longer than HIGH_WATER, which may be held whole anyway, goes to the
        # pool in one write once it is in: one hop instead of one per MIN_BATCH (the PUT of a small object).
        self._whole = length is not None and 0 < length <= HIGH_WATER
        self.prepare = prepare  # the handler's preparation (S3Resource: an UploadPlan, which knows the request)
        self._run = run
        self._expect = expect_continue
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self._paused = False
        self._writing = False
        self._ended = False
        self._continued = False  # 100 Continue sent: the client sends its body
        self._state = "auth"   # auth → streaming → done | discard | rejected | aborted
        self._error: Optional[Failure] = None
        self.prepared: Any = None
        self.result: Deferred = Deferred()
        self.started = time.monotonic()  # for the log line of an answer given before the body was in

    @property
    def body_arriving(self) -> bool:
        """The client is sending (or will send without waiting) body bytes we have not read yet."""
        return not self._ended and (not self._expect or self._continued)

    # -- events from the request ----------------------------------------------------------------------------

    def start(self) -> None:
        # Nothing of the body is read until the caller is known and allowed to write.
        self._pause()
        try:
            prepared = ensureDeferred(self.prepare())
        except Exception:
            prepared = fail()
        prepared.addCallbacks(self._ready, self._refused).addErrback(self._broken)

    def feed(self, data: bytes) -> None:
        if self._state in ("discard", "rejected", "aborted", "done"):
            return
        self._queue.append(data)
        self._queued += len(data)
        if self._queued >= HIGH_WATER:
            self._pause()
        self._kick()

    def end(self) -> None:
        self._ended = True
        if self._state == "discard":
            self._fire_error()
        else:
            self._kick()

    def connection_lost(self) -> None:
        """The client went away: drop what was written (unless it is already committed by the resource)."""
        if self._state in ("done", "rejected", "aborted"):
            return
        self._state = "aborted"
        self._queue.clear()
        if not self._writing:
            self._abort_body()
        if self._ended and not self.result.called:
            # The resource is waiting for this body; nobody else will ever read the answer.
            self.result.errback(Failure(ConnectionError("the client went away during the upload")))

    # -- the pipeline -----------------------------------------------------------------------------------------

    def _ready(self, prepared: Any) -> None:
        self.prepared = prepared
        if self._state == "aborted":
            self._abort_body()
            return
        self._state = "streaming"
        if self._expect and not self._ended:
            # RFC 9110 §10.1.1: the client holds its body until this interim answer.
            self._continued = True
            self.request.send_continue()
        self._resume()
        self._kick()

    def _refused(self, failure: Failure) -> None:
        if self._state == "aborted":
            return
        self._error = failure
        if not self._ended:
            # Answer now: a client waiting for 100 Continue will not send its body; one sending it without
            # Expect has its rest read and dropped after the answer (StreamingRequest.reject).
            self._reject(failure)
            return
        # The whole body is in already: the resource answers in order, and the connection stays usable.
        self._state = "discard"
        self._queue.clear()
        self._resume()
        self._fire_error()

    def _kick(self) -> None:
        if self._state != "streaming" or self._writing:
            return
        if self._queue and (self._queued >= MIN_BATCH and not self._whole or self._ended or self._paused):
            batch, size = [], 0
            while self._queue and size < BATCH:
                piece = self._queue.popleft()
                batch.append(piece)
                size += len(piece)
            self._queued -= size
            self._writing = True
            self._run(self._write, batch).addCallbacks(self._written, self._failed).addErrback(self._broken)
            return
        if self._queue:
            return  # less than MIN_BATCH, or a small body not whole yet: wait for more (the connection is not paused)
        if self._paused:
            self._resume()
        if self._ended:
            self._writing = True
            if self.prepared.decoder is None:  # nothing to finish: no pool hop
                self._finished(None)
                return
            self._run(self._finish).addCallbacks(self._finished, self._failed).addErrback(self._broken)

    def _write(self, batch: list[bytes]) -> None:  # on the pool (the join too: no copy on the reactor)
        data = b"".join(batch)
        decoder = self.prepared.decoder
        if decoder is None:
            self.prepared.body.write(data)
            return
        for piece in decoder.feed(data):
            self.prepared.body.write(piece)

    def _finish(self) -> None:  # on the pool
        if self.prepared.decoder is not None:
            self.prepared.decoder.finish()

    def _written(self, _: Any) -> None:
        self._writing = False
        if self._state == "aborted":
            self._abort_body()
            return
        if self._paused and self._queued < HIGH_WATER // 2:
            self._resume()
        self._kick()

    def _finished(self, _: Any) -> None:
        self._writing = False
        if self._state == "aborted":
            self._abort_body()
            return
        self._state = "done"
        self.result.callback(self.prepared)

    def _failed(self, failure: Failure) -> None:
        self._writing = False
        if self._state == "aborted":
            self._abort_body()
            return
        self._error = failure
        self._abort_body()
        if not self._ended:
            self._reject(failure)  # mid-body: answer now, drop the rest of the body
            return
        self._state = "discard"
        self._queue.clear()
        self._resume()
        self._fire_error()

    def _broken(self, failure: Failure) -> None:
        """The pipeline itself failed (not the upload): answer now, as a refusal, so the client is not left
        waiting; the rest of the body, if any, is dropped with the connection."""
        log.error("S3 upload pipeline failed: %s", failure.getTraceback())
        if self._state in ("rejected", "aborted", "done"):
            return  # answered already, or the resource has the body and answers
        self._abort_body()
        self._reject(failure)

    def _reject(self, failure: Failure) -> None:
        """Answer FAILURE now (nothing of this body will be kept); read and drop what is still arriving."""
        arriving = self.body_arriving
        self._state = "rejected"
        self._queue.clear()
        self._queued = 0
        self._resume()
        self.request.reject(failure, drain=arriving)

    def _fire_error(self) -> None:
        if not self.result.called:
            self.result.errback(self._error)

    def _abort_body(self) -> None:
        if self.prepared is not None and self.prepared.body is not None:
            self._run(self.prepared.body.abort).addErrback(
                lambda f: log.warning("could not discard an unfinished upload: %s", f.getErrorMessage()))

    # -- flow control -----------------------------------------------------------------------------------------

    def _pause(self) -> None:
        if not self._paused and self.request.channel is not None:
            self._paused = True
            self.request.channel.pauseProducing()

    def _resume(self) -> None:
        if self._paused:
            self._paused = False
            if self.request.channel is not None:
                self.request.channel.resumeProducing()


class StreamingRequest(server.Request):
    """A twisted.web Request that streams S3 upload bodies (see the module docstring); `handler` decides."""

    handler: Optional[UploadHandler] = None
    run: Optional[Callable[..., Deferred]] = None

    s3_upload: Optional[UploadStream] = None
    _linger: Optional["_Linger"] = None

    def gotLength(self, length: Optional[int]) -> None:
        # The channel knows the request line before it hands us the body; Request only learns it in
        # requestReceived. Without those (a future Twisted), fall back to buffering.
        command = getattr(self.channel, "_command", None)
        uri = getattr(self.channel, "_path", None)
        prepare = None
        if self.handler is not None and command is not None and uri is not None and length != 0:
            try:
                prepare = self.handler.upload_for(command, uri, self.requestHeaders, request_origin(self))
            except Exception:
                # Still an upload to answer: its preparation fails with this, and the refusal is the answer.
                log.exception("S3 could not read an upload's request line and headers")
                prepare = _failing(Failure())
        if prepare is None:
            super().gotLength(length)
            return
        self.content = io.BytesIO()
        expect = [v.lower() for v in self.requestHeaders.getRawHeaders(b"expect") or []]
        # The channel answers Expect: 100-continue itself right after this method; hiding the header keeps
        # that decision for us (after authentication).
        expect_continue = b"100-continue" in expect and getattr(self.channel, "_version", b"") == b"HTTP/1.1"
        if expect_continue:
            self.requestHeaders.removeHeader(b"expect")
        self.s3_upload = UploadStream(self, prepare, self.run, expect_continue, length)  # type: ignore[arg-type]
        _read_size(self, UPLOAD_READ)  # fewer, larger reads on the reactor while the body arrives
        self.s3_upload.start()

    def handleContentChunk(self, data: bytes) -> None:
        if self.s3_upload is None:
            super().handleContentChunk(data)
        elif self._linger is not None:
            self._linger.dropped(len(data))
        else:
            self.s3_upload.feed(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:
        upload = self.s3_upload
        if upload is None:
            super().requestReceived(command, path, version)
            return
        self._set_request_line(command, path, version)
        _read_size(self, None)  # the connection's next request is read as Twisted reads
        try:
            upload.end()
        except Exception:
            upload._broken(Failure())  # answers now (a refusal), rather than leave the client waiting
        if self._linger is not None:
            self._linger.body_ended()  # answered already, while the body arrived: now the channel may close
            return
        if upload._state == "rejected":
            return  # answered already, before the body
        self.process()

    def _set_request_line(self, command: bytes, path: bytes, version: bytes) -> None:
        self.method, self.uri, self.clientproto = command, path, version
        self.path, _, query = path.partition(b"?")
        # As Request.requestReceived does: bytes in, bytes out (urllib's parse_qs on bytes re-encodes
        # decoded text as ASCII and raised on any non-ASCII escape, which closed the connection unanswered).
        self.args = http.parse_qs(query, 1) if query else {}

    def send_continue(self) -> None:
        if self.channel is not None and self.channel.transport is not None:
            self.channel.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def reject(self, failure: Failure, drain: bool = False) -> None:
        """Answer now, before the body was read: the client waits for 100 Continue and will not send it, or
        (DRAIN) it is sending it: the rest is then read and dropped (_Linger) until the body ends, or
        DRAIN_BYTES more arrived, or DRAIN_SECONDS passed, and only then does the connection close."""
        if self.channel is None:
            return
        try:
            self._set_request_line(self.channel._command, self.channel._path, self.channel._version)
            # The unread body would otherwise be taken for the next request.
            self.channel.persistent = False
            self.setHeader("Connection", "close")
            if drain and self._linger is None:
                self._linger = _Linger(self)
            self.handler.respond_early(self, failure)  # type: ignore[union-attr]
        except Exception:
            log.exception("S3 upload refusal failed; closing the connection")
            if self.channel is not None and self.channel.transport is not None:
                self.channel.transport.loseConnection()

    def _cleanup(self) -> None:
        # Request.finish ends here: it tells the channel the request is done (which closes it, since it is not
        # persistent). An early answer while the body arrives keeps this request at the head of the channel's
        # queue instead: its body goes on to handleContentChunk (dropped), its end to requestReceived
        # (ignored), and the connection closes only when _Linger says so.
        if self._linger is not None and self._linger.hold():
            return
        super()._cleanup()

    def connectionLost(self, reason: Failure) -> None:
        if self._linger is not None:
            self._linger.cancel()
        if self.s3_upload is not None:
            self.s3_upload.connection_lost()
        super().connectionLost(reason)


class _Linger:
    """The rest of an answered upload's body, read and dropped (a lingering close): at most DRAIN_BYTES or
    DRAIN_SECONDS, then the connection closes. The answer goes out first and whole, whenever it is ready."""

    def __init__(self, request: StreamingRequest):
        self.request = request
        self.left = DRAIN_BYTES
        self.answered = False  # Request.finish ran (the answer is written); its cleanup waits here
        self.ended = False     # the body ended: the channel is between requests and closes cleanly
        self.over = False      # the budget ran out first: the connection is cut
        # The channel's own clock (TimeoutMixin.callLater: the running reactor, or a test's Clock).
        self._timer: Any = request.channel.callLater(DRAIN_SECONDS, self._out_of_budget)

    def dropped(self, size: int) -> None:
        self.left -= size
        if self.left < 0 and not self.over:
            self._out_of_budget()

    def hold(self) -> bool:
        """The answer is written: True while its request must stay at the head of the channel's queue."""
        self.answered = True
        if self.ended:
            return False
        if self.over:
            self._close()
        return True

    def body_ended(self) -> None:
        if self.ended or self.over:
            return  # a cut connection's last bytes: the channel is closing already
        self.ended = True
        self.cancel()
        if self.answered:
            super(StreamingRequest, self.request)._cleanup()  # the channel closes (not persistent)

    def _out_of_budget(self) -> None:
        self._timer = None
        if self.over or self.ended:
            return
        self.over = True
        self.cancel()
        if self.answered:
            self._close()
            return
        # The answer is still being made (a bucket's CORS rules): read no more until it is out.
        transport = self.request.channel.transport if self.request.channel is not None else None
        if transport is not None:
            transport.pauseProducing()

    def _close(self) -> None:
        # The request stays in the channel's queue: bytes still in this read end in our requestReceived.
        channel = self.request.channel
        if channel is not None and channel.transport is not None:
            channel.loseConnection()

    def cancel(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None


def _read_size(request: Any, size: Optional[int]) -> None:
    """Read REQUEST's plain TCP connection SIZE bytes at a time (None: Twisted's default again). Only the
    read size: tcp.Connection.doRead reads `bufferSize`; the same attribute is also the write buffer's limit
    before a producer is paused, which an upload's small answer never reaches."""
    transport = getattr(getattr(request, "channel", None), "transport", None)
    if not plain_tcp(transport):
        return
    if size is None:
        transport.__dict__.pop("bufferSize", None)
    else:
        transport.bufferSize = size


def _failing(failure: Failure) -> Callable[[], Deferred]:
    return lambda: fail(failure)


def request_factory(handler: UploadHandler, run: Callable[..., Deferred]) -> Callable[..., StreamingRequest]:
    """site.requestFactory: StreamingRequest bound to HANDLER and RUN (the store's `defer`)."""
    cls = type("GatewayRequest", (StreamingRequest,), {"handler": handler, "run": staticmethod(run)})
    return cls
