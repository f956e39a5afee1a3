"""The gateway's HTTP channel: Twisted's HTTPChannel, with its limits answered in the protocol's own words.

Twisted closes the connection without a word when the request line or a header line is longer than its line
limit, answers a bare `400` without a body when all the headers together are, and reads a whole request body
(into memory or a temporary file) before any resource can look at its size. `GatewayChannel` instead answers:

* 414 (URI Too Long) when the request line is over MAX_REQUEST_LINE bytes;
* 431 (Request Header Fields Too Large) when one header line is over MAX_REQUEST_LINE, all of them over
  MAX_HEADER_BYTES, or there are more than MAX_HEADERS;
* 413 (Payload Too Large) for a body we parse whole (EC2 SOAP and Query, S3 configuration documents) over
  MAX_BODY_BYTES, from its Content-Length before a byte of it is read (and before `100 Continue`), or while a
  chunked body arrives;

each with the error document of the door the request was for (S3's <Error>, EC2's <Response><Errors>, a SOAP
fault), chosen from the path as GatewayRoot routes it, and then closes the connection. The answer is written,
the sending side shut, and whatever the client still sends is read and dropped for a few seconds, so that the
client sees the answer and not a reset. S3 uploads stream (ec2soap.s3.streaming) and are not limited here.

Twisted glue only; the documents come from the doors' own writers.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from twisted.internet.interfaces import ISSLTransport
from twisted.web import http

from ec2soap import __version__
from ec2soap.limits import MAX_XML_BYTES

__all__ = ["GatewayChannel", "install", "MAX_REQUEST_LINE", "MAX_HEADER_BYTES", "MAX_HEADERS", "MAX_BODY_BYTES",
           "door_for", "body_limited"]

log = logging.getLogger(__name__)

MAX_REQUEST_LINE = 16 * 1024   # also the longest single header line
MAX_HEADER_BYTES = 32 * 1024   # the request line and every header together
MAX_HEADERS = 200
MAX_BODY_BYTES = MAX_XML_BYTES  # SOAP envelopes, Query forms, S3 documents (their parsers' own limit too)
LINGER_SECONDS = 5.0            # how long a refused client may go on sending before the connection is cut

_REASONS = {413: b"Payload Too Large", 414: b"URI Too Long", 431: b"Request Header Fields Too Large"}
_S3_PREFIX = b"/awsapi/rest/AmazonS3"


def door_for(method: bytes, target: bytes, content_type: bytes = b"") -> str:
    """"soap", "query" or "s3": the door GatewayRoot would send this request to (a cheap reading of the
    request line, which may be cut short; unknown → s3, the door at /)."""
    path, _, query = target.partition(b"?")
    path = path.rstrip(b"/")
    if path == _S3_PREFIX or path.startswith(_S3_PREFIX + b"/"):
        return "s3"
    if path.startswith(b"/awsapi/services"):
        return "soap"
    if path == b"/awsapi/rest/AmazonEC2" or path.startswith(b"/awsapi/rest/AmazonEC2/"):
        return "query"
    form = method == b"POST" and content_type.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded"
    action = any(part.startswith(b"Action=") and len(part) > 7 for part in query.split(b"&"))
    if action or form:
        return "query"
    return "soap" if path == b"/awsapi" else "s3"


# S3 requests whose bodies are configuration documents (XML, or JSON for a policy), never object data: PUT ?acl
# ?cors ?versioning ?policy ?tagging ..., POST ?delete, and POST ?uploadId= (CompleteMultipartUpload).
_S3_DOCUMENTS = frozenset([b"acl", b"cors", b"versioning", b"policy", b"tagging", b"lifecycle", b"delete",
                           b"logging", b"notification", b"website", b"replication", b"encryption"])


def body_limited(method: bytes, target: bytes, content_type: bytes = b"") -> bool:
    """Whether this request's body is a document we parse whole (EC2 SOAP and Query, S3 configuration
    documents), and so is refused over MAX_BODY_BYTES as it arrives. S3 object data streams and is not."""
    if method in (b"GET", b"HEAD"):
        return False
    door = door_for(method, target, content_type)
    if door != "s3":
        return True
    names = {part.split(b"=", 1)[0] for part in target.partition(b"?")[2].split(b"&")}
    if names & _S3_DOCUMENTS:
        return True
    return method == b"POST" and b"uploadId" in names


def _document(door: str, status: int, message: str) -> tuple[bytes, bytes]:
    """(content type, body) of DOOR's error document for an HTTP limit."""
    from ec2soap.gateway import new_request_id

    request_id = new_request_id()
    if door == "s3":
        from ec2soap.s3.errors import S3Error, render_error

        code = {413: "MaxMessageLengthExceeded", 414: "InvalidURI", 431: "RequestHeaderSectionTooLarge"}[status]
        return b"application/xml", render_error(S3Error(code, message), request_id=request_id)
    from ec2soap.errors import ERRORS

    error = ERRORS["InvalidRequest"](detail=message)
    if door == "soap":
        from ec2soap.soap.faults import fault_document

        return b"text/xml; charset=UTF-8", fault_document(error, request_id)
    from ec2soap.query.resource import error_document

    return b"text/xml; charset=UTF-8", error_document(error.code, error.message, request_id)


class GatewayChannel(http.HTTPChannel):
    """HTTPChannel answering its limits (see the module docstring)."""

    MAX_LENGTH = MAX_REQUEST_LINE
    totalHeadersSize = MAX_HEADER_BYTES
    maxHeaders = MAX_HEADERS
    max_body = MAX_BODY_BYTES

    _refused = False
    _body_limit: Optional[int] = None
    _body_seen = 0

    # -- the head of a request --------------------------------------------------------------------------

    def _in_request_line(self) -> bool:
        # HTTPChannel sets _command once the request line is parsed and deletes it when the request is in.
        return not hasattr(self, "_command")

    def lineLengthExceeded(self, line: bytes) -> None:
        if self._in_request_line():
            self._refuse_line(line)
        else:
            self._refuse(431, f"A header line is longer than the limit of {self.MAX_LENGTH} bytes")

    def lineReceived(self, line: bytes) -> None:
        if self._refused:
            return
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            if self._in_request_line():
                self._refuse_line(line)
            else:
                self._refuse(431, f"The request's headers are larger than the limit of {self.totalHeadersSize} "
                                  "bytes")
            return
        super().lineReceived(line)

    def headerReceived(self, line: bytes) -> bool:
        if self._receivedHeaderCount >= self.maxHeaders:
            self._refuse(431, f"The request has more than {self.maxHeaders} headers")
            return False
        return super().headerReceived(line)

    def _refuse_line(self, line: bytes) -> None:
        parts = line.split(b" ", 2)
        method, target = (parts[0], parts[1]) if len(parts) > 1 else (b"GET", b"/")
        self._refuse(414, f"The request line is longer than the limit of {self.MAX_LENGTH} bytes",
                     door_for(method, target))

    # -- the body -------------------------------------------------------------------------------------------

    def allHeadersReceived(self) -> None:
        request = self.requests[-1]
        ctype = request.requestHeaders.getRawHeaders(b"content-type", [b""])[0]
        self._body_limit = None
        self._body_seen = 0
        if body_limited(self._command, self._path, ctype):
            if self.length is not None and self.length > self.max_body:
                self._refuse(413, f"The request body is larger than the limit of {self.max_body} bytes")
                return
            self._body_limit = self.max_body
        super().allHeadersReceived()
        decoder = self._transferDecoder
        if self._body_limit is not None and self.length is None and decoder is not None:
            # Chunked: count the body as it is decoded, and refuse once it is over.
            deliver = decoder.dataCallback

            def counted(data: bytes) -> None:
                self._body_seen += len(data)
                if self._body_seen > self._body_limit:  # type: ignore[operator]
                    self._refuse(413, f"The request body is larger than the limit of {self.max_body} bytes")
                    return
                deliver(data)

            decoder.dataCallback = counted

    def rawDataReceived(self, data: bytes) -> None:
        if self._refused:
            return
        super().rawDataReceived(data)

    def allContentReceived(self) -> None:
        if self._refused:
            return  # a chunked body that ended in the data that put it over the limit: answered already
        super().allContentReceived()

    def dataReceived(self, data: bytes) -> None:
        if self._refused:
            return  # the answer is written; the rest of the request is read and dropped
        super().dataReceived(data)

    # -- the answer -----------------------------------------------------------------------------------------

    def _refuse(self, status: int, message: str, door: Optional[str] = None) -> None:
        if self._refused or self.transport is None:
            return
        self._refused = True
        if door is None:
            request = self.requests[-1] if self.requests else None
            ctype = request.requestHeaders.getRawHeaders(b"content-type", [b""])[0] if request is not None else b""
            door = door_for(getattr(self, "_command", b"GET"), getattr(self, "_path", b"/"), ctype)
        try:
            content_type, body = _document(door, status, message)
        except Exception:  # never leave the client without an answer
            log.exception("the %s answer could not be written", status)
            content_type, body = b"text/plain; charset=UTF-8", message.encode("utf-8")
        log.info("refused a request over an HTTP limit: %s %s (%s)", status, message, door)
        head = [b"HTTP/1.1 %d %s" % (status, _REASONS[status]), b"Content-Type: " + content_type,
                b"Content-Length: %d" % len(body), b"Connection: close",
                b"Server: ec2soap/" + __version__.encode("ascii")]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.persistent = False
        self._linger()

    def _linger(self) -> None:
        """Shut our side and drop what the client still sends, then close: closing at once with unread input
        makes the kernel reset the connection, and the client may never read the answer."""
        transport = self.transport
        self.setTimeout(None)
        producer = getattr(self, "_networkProducer", None)
        if producer is not None:
            producer.resumeProducing()  # reading may have been paused for a body; what comes is dropped now
        # Over TLS there is no half-close: Twisted's TLS wrapper has no loseWriteConnection of its own (the name
        # reaches the TCP socket under it, ending the stream without TLS's close), and its loseConnection closes
        # the socket under unread input, which resets it before the client has read the answer. So a TLS
        # connection stays open while what comes is dropped: the client closes it once it has the answer
        # (Connection: close), or it is cut below.
        if not ISSLTransport.providedBy(transport):
            try:
                transport.loseWriteConnection()
            except Exception:  # a transport that cannot half-close: close it, the answer is written first
                self.loseConnection()
                return
        later = getattr(self, "callLater", None)
        if later is None:
            from twisted.internet import reactor

            later = reactor.callLater
        self._linger_call = later(LINGER_SECONDS, transport.abortConnection)

    def connectionLost(self, reason: Any) -> None:
        call = getattr(self, "_linger_call", None)
        if call is not None and call.active():
            call.cancel()
        super().connectionLost(reason)


def _protocol() -> Any:
    """One connection: our channel behind Twisted's protocol wrapper (as Site's default protocol is)."""
    wrapper = getattr(http, "_GenericHTTPChannelProtocol", None)
    return wrapper(GatewayChannel()) if wrapper is not None else GatewayChannel()


def install(site: Any) -> Any:
    """Make SITE (a twisted.web Site) speak through GatewayChannel; → SITE."""
    site.protocol = _protocol
    return site
