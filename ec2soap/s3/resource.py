"""S3Resource: the S3 REST front door (path style, /awsapi/rest/AmazonS3 prefix, and virtual-host buckets).

Twisted glue over s3.operations: parse the request, authenticate it (ec2soap.auth), run the operation on the
store's thread pool, write the document from s3.xml. Errors are rendered once, in `_handle`, as S3's error
document. Nothing from ec2soap.core, and no SQL or file I/O on the reactor thread.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Awaitable, Callable, Optional

from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.python.failure import Failure
from twisted.web import resource, server
from twisted.web.http_headers import Headers

from ec2soap.auth import AwsChunkedDecoder, HttpRequestInfo, new_checksum, parse_query, parse_s3, verify_s3
from ec2soap.auth.s3_query import S3Query, S3QueryError, decode_component
from ec2soap.origin import Origin, request_origin
from ec2soap.auth.credentials import CredentialsUnavailable
from ec2soap.s3 import xml
from ec2soap.s3.answers import UploadPlan, as_s3_error, from_query, last_resort
from ec2soap.s3.owners import Owners
from ec2soap.s3.errors import S3Error, render_error
from ec2soap.s3.rules import check_part_number, decode_content_md5, http_date
from ec2soap.s3.streaming import BlobProducer

__all__ = ["S3Resource", "s3_target", "Prepared"]

log = logging.getLogger(__name__)
_XML = "application/xml"
_S3_PREFIX = "/awsapi/rest/AmazonS3"
# Sub-resources we answer; any other S3 sub-resource is NotImplemented rather than taken for a plain GET/PUT.
_UNSUPPORTED = frozenset("""accelerate analytics attributes encryption intelligent-tiering inventory legal-hold
lifecycle logging metrics notification object-lock ownershipControls policyStatus publicAccessBlock replication
requestPayment restore retention select tagging torrent website""".split())
_CHECKSUM_PREFIX = "x-amz-checksum-"


def s3_target(method: bytes, uri: bytes) -> Optional[tuple[str, str]]:
    """(raw path, raw query) when GatewayRoot sends this request to S3, else None. Mirrors its rule: the
    S3 prefix always; EC2's paths never; elsewhere S3 unless an Action parameter (or form POST) says Query."""
    raw = uri.decode("latin-1")
    path, _, query = raw.partition("?")
    trimmed = path.rstrip("/")
    if trimmed == _S3_PREFIX or path.startswith(_S3_PREFIX + "/"):
        return path, query
    if trimmed in ("/awsapi", "/awsapi/rest/AmazonEC2") or path.startswith(("/awsapi/rest/AmazonEC2/",
                                                                          "/awsapi/services/")):
        return None
    if any(name == "Action" and value for name, value in parse_query(query)):
        return None
    return path, query


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


class _S3Headers(Headers):
    """Response headers with S3's spelling: x-amz-* in lower case. Twisted capitalises every name, and
    clients keep the case of x-amz-meta-* names (boto3 would show metadata {"Colour": ...})."""

    def getAllRawHeaders(self) -> Any:
        for name, values in super().getAllRawHeaders():
            yield (name.lower() if name[:6].lower() == b"x-amz-" else name), values


@dataclass
class Prepared:
    """An authenticated upload about to receive its body (see streaming.UploadStream)."""
    caller: Optional[str]
    auth: Any
    body: Any
    decoder: Optional[AwsChunkedDecoder]
    headers: dict


@dataclass
class Call:
    """One S3 request, parsed. BUCKET/KEY are decoded; RAW_PATH/RAW_QUERY are as sent. QUERY is the one
    decoding of the query: the signature check and the handlers both read it. PROBLEM: what made the
    request unreadable (answered before anything runs). PREPARED: a streamed upload's body, once in."""
    request: Any
    request_id: str
    method: str
    raw_path: str
    raw_query: str
    bucket: Optional[str]
    key: Optional[str]
    virtual_bucket: Optional[str]
    query: S3Query
    headers: dict
    pairs: list
    host: str
    caller: Optional[str] = None
    auth: Any = None
    body: bytes = b""
    context: dict = field(default_factory=dict)
    problem: Optional[S3Error] = None
    prepared: Any = None

    @property
    def resource_name(self) -> str:
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}" + (f"/{self.key}" if self.key else "")

    def has(self, name: str) -> bool:
        return name in self.query


class S3Resource(resource.Resource):
    """S3 over OPS (S3Operations); RUN is the store's `defer` (the thread pool); CREDENTIALS finds secrets.
    PUBLIC_HOST is the virtual-host base; ENABLED() False answers ServiceUnavailable."""
    isLeaf = True

    def __init__(self, *, ops: Any, run: Callable[..., Deferred], credentials: Any, public_host: str = "",
                 clock_skew: float = 900.0, enabled: Callable[[], bool] = lambda: True, metrics: Any = None):
        super().__init__()
        self.metrics = metrics  # ec2soap.metrics.Metrics or None
        self.ops, self.run, self.credentials = ops, run, credentials
        self.owners = Owners(ops.store, run, credentials)
        self.bases = ["localhost"] + ([_host_name(public_host).lower()] if public_host else [])
        self.max_skew = timedelta(seconds=clock_skew)
        self.enabled = enabled
        self._ready = False
        self._waiters: list[Deferred] = []

    # -- start-up -----------------------------------------------------------------------------------------

    def start_cleanup(self, min_age: float) -> Deferred:
        """Remove what a crash left in the storage root; requests wait until it is done."""
        def done(result: Any) -> None:
            self._ready = True
            # Stored access keys (owners before canonical ids) are upgraded in the background.
            self.owners.begin().addErrback(
                lambda f: log.warning("S3 owner upgrade deferred: %s", f.getErrorMessage()))
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(None)
            if isinstance(result, Failure):
                log.error("S3 storage cleanup failed: %s", result.getErrorMessage())
        return self.run(self.ops.cleanup, min_age).addBoth(done)

    def _when_ready(self) -> Deferred:
        if self._ready:
            return succeed(None)
        d: Deferred = Deferred()
        self._waiters.append(d)
        return d

    # -- one render per method ----------------------------------------------------------------------------

    def render(self, request: Any) -> Any:
        if request.method not in (b"GET", b"HEAD", b"PUT", b"POST", b"DELETE", b"OPTIONS"):
            return self._serve(request, self._method_not_allowed)
        return super().render(request)

    def render_GET(self, request: Any) -> Any:
        return self._serve(request, self._get)

    def render_HEAD(self, request: Any) -> Any:
        return self._serve(request, self._head)

    def render_PUT(self, request: Any) -> Any:
        return self._serve(request, self._put)

    def render_POST(self, request: Any) -> Any:
        return self._serve(request, self._post)

    def render_DELETE(self, request: Any) -> Any:
        return self._serve(request, self._delete)

    def render_OPTIONS(self, request: Any) -> Any:
        return self._serve(request, self._options)

    def _serve(self, request: Any, handler: Callable[[Call], Awaitable[None]]) -> Any:
        def failed(failure: Failure) -> None:
            log.error("S3 request failed outside the handler: %s", failure.getTraceback())
            last_resort(request)
        ensureDeferred(self._handle(request, handler)).addErrback(failed)
        return server.NOT_DONE_YET

    async def _handle(self, request: Any, handler: Callable[[Call], Awaitable[None]]) -> None:
        call = self._parse(request)
        started = time.monotonic()
        status = 500
        try:
            upload = getattr(request, "s3_upload", None)
            if upload is not None:
                # A streamed upload's body is in (or was refused): how its preparation ended comes first.
                call.prepared = await upload.result
            if call.problem is not None:
                raise call.problem
            if not self.enabled():
                raise S3Error("ServiceUnavailable", "The S3 API is disabled on this gateway.")
            await self._when_ready()
            if upload is None:
                await self._authenticate_buffered(call)
            await handler(call)
            status = request.code
        except Exception as failure:
            error = as_s3_error(failure, call)
            status = error.status
            self._error(call, error)
            if call.prepared is not None:  # not committed (a no-op if it was)
                await self.run(call.prepared.body.abort)
        log.info("S3 %s %s → %s [%s, %s, %.3fs, client %s]", call.method, call.resource_name, status,
                 call.caller or "-", call.request_id, time.monotonic() - started,
                 call.context.get("aws:SourceIp") or "-")
        if self.metrics is not None:
            self._count(call, status, time.monotonic() - started)

    def _count(self, call: Call, status: int, seconds: float) -> None:
        """Metrics: the request (action = method and what it names) and, when it succeeded, the object bytes
        taken in (the decoded length of an upload) or sent out (the response's Content-Length)."""
        target = "object" if call.key else "bucket" if call.bucket else "service"
        self.metrics.request("s3", f"{call.method} {target}", status, seconds)
        if not 200 <= int(status or 0) < 300:
            return
        request = call.request
        if call.method in ("PUT", "POST"):
            sent = call.headers.get("x-amz-decoded-content-length") or call.headers.get("content-length")
            self.metrics.s3_bytes("in", int(sent) if (sent or "").isascii() and (sent or "").isdigit() else 0)
        elif call.method == "GET" and call.key:
            length = (request.responseHeaders.getRawHeaders("content-length") or ["0"])[0]
            self.metrics.s3_bytes("out", int(length) if str(length).isascii() and str(length).isdigit() else 0)

    # -- parsing and authentication -----------------------------------------------------------------------

    def _parse(self, request: Any) -> Call:
        """REQUEST as a Call. Never raises: a path or query S3 cannot read becomes call.problem, answered
        as S3's error document once the request runs."""
        if not isinstance(request.responseHeaders, _S3Headers):
            headers = _S3Headers()
            for name, values in request.responseHeaders.getAllRawHeaders():
                headers.setRawHeaders(name, values)
            request.responseHeaders = headers
        rid = uuid.uuid4().hex[:16].upper()
        request.setHeader("x-amz-request-id", rid)
        request.setHeader("x-amz-id-2", base64.b64encode(rid.encode()).decode())
        uri = request.uri.decode("latin-1")
        raw_path, _, raw_query = uri.partition("?")
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, vs in request.requestHeaders.getAllRawHeaders()
                 for v in vs]
        headers: dict[str, str] = {}
        for name, value in pairs:
            name = name.lower()
            headers[name] = headers[name] + "," + value if name in headers else value
        host = headers.get("host", "")
        origin = request_origin(request)  # the Host and scheme the client used, the client's address
        call = Call(request, rid, request.method.decode("ascii", "replace").upper(), raw_path, raw_query, None,
                    None, None, S3Query(), headers, pairs, host)
        # A streamed upload was read from its headers already: that one decoding serves the whole request.
        probe = getattr(getattr(getattr(request, "s3_upload", None), "prepare", None), "call", None)
        try:
            if isinstance(probe, Call):
                target = probe.bucket, probe.key, probe.virtual_bucket, probe.query
                call.problem = probe.problem
            else:
                target = self._target(raw_path, raw_query, origin.host or host)
            call.bucket, call.key, call.virtual_bucket, call.query = target
        except S3Error as error:
            call.problem = error
        except Exception:
            log.exception("S3 request %s could not be read", rid)
            call.problem = S3Error("InternalError")
        call.context = {"aws:SourceIp": origin.client,
                        "aws:SecureTransport": "true" if origin.secure else "false",
                        "aws:UserAgent": headers.get("user-agent", ""), "aws:Referer": headers.get("referer", "")}
        return call

    def _target(self, raw_path: str, raw_query: str, host: str) -> tuple[Optional[str], Optional[str],
                                                                         Optional[str], S3Query]:
        """(bucket, key, virtual-host bucket, query) of a request, each decoded once; S3Error (InvalidURI,
        InvalidArgument for a repeated parameter) when S3 cannot read them."""
        try:
            return (*self.locate(raw_path, host), S3Query.parse(raw_query))
        except S3QueryError as exc:
            raise from_query(exc) from None

    def locate(self, raw_path: str, host: str) -> tuple[Optional[str], Optional[str], Optional[str]]:
        """(bucket, key, virtual-host bucket) of a request. The key is only ever a database value.
        S3QueryError InvalidURI when the path's escapes are not UTF-8."""
        prefixed = raw_path == _S3_PREFIX or raw_path.startswith(_S3_PREFIX + "/")
        path = raw_path[len(_S3_PREFIX):] if prefixed else raw_path
        virtual = None if prefixed else self.virtual_bucket(host)
        if virtual is not None:
            key = decode_component(path[1:] if path.startswith("/") else path)
            return virtual, key or None, virtual
        name, _, rest = path.lstrip("/").partition("/")
        return (decode_component(name) or None), (decode_component(rest) or None), None

    def virtual_bucket(self, host: str) -> Optional[str]:
        """`<bucket>.localhost[:port]` or `<bucket>.<public_host>`; any other Host is path style."""
        name = _host_name(host).lower()
        for base in self.bases:
            if name.endswith("." + base) and len(name) > len(base) + 1:
                return name[:-len(base) - 1]
        return None

    async def _identify(self, call: Call, body: Optional[bytes]) -> tuple[Optional[str], Any]:
        info = HttpRequestInfo(method=call.method, path=call.raw_path, query=call.raw_query, headers=call.pairs,
                               host=call.host, body=body)
        # The signature is checked over call.query, the very values the handlers will read.
        parsed = parse_s3(info, virtual_host_bucket=call.virtual_bucket, path_prefix=_S3_PREFIX, query=call.query,
                          max_skew=self.max_skew)
        if parsed is None:
            return None, None  # anonymous: ACLs and the bucket policy decide
        try:
            secret = await self.credentials.secret_for(parsed.access_key)
            verified = verify_s3(parsed, secret)
            # The caller is its account's canonical id (s3/owners.py), never the access key.
            caller = await self.owners.principal(parsed.access_key)
        except CredentialsUnavailable:
            raise S3Error("ServiceUnavailable", "CloudStack cannot be reached; please try again shortly.") from None
        if caller is None:
            raise S3Error("InvalidAccessKeyId", aws_access_key_id=parsed.access_key)
        return caller, verified

    async def _authenticate_buffered(self, call: Call) -> None:
        """A request whose (small) body Twisted buffered: read it, check the signature and digests."""
        streamed_put = call.method == "PUT" and self._is_upload(call)
        body = None if streamed_put else await self.run(_read_small, call.request.content)
        call.caller, call.auth = await self._identify(call, body)
        if body is None:
            return
        decoder = _decoder(call.auth, call.headers)
        if decoder is not None:
            body = b"".join(decoder.feed(body))
            decoder.finish()
        _check_small_body(call.headers, body)
        call.body = body

    def _is_upload(self, call: Call) -> bool:
        if call.key is None or "x-amz-copy-source" in call.headers:
            return False
        names = set(call.query)
        if names & ({"acl", "uploads"} | _UNSUPPORTED):
            return False
        return ("partNumber" in names) == ("uploadId" in names)

    # -- streamed uploads (the request factory's UploadHandler) ---------------------------------------------

    def upload_for(self, method: bytes, uri: bytes, headers: Any,
                   origin: Optional[Origin] = None) -> Optional[Callable[[], Any]]:
        if method != b"PUT" or not self.enabled():
            return None
        target = s3_target(method, uri)
        if target is None:
            return None
        raw_path, raw_query = target
        pairs = [(k.decode("latin-1"), v.decode("latin-1")) for k, vs in headers.getAllRawHeaders() for v in vs]
        lowered: dict[str, str] = {}
        for name, value in pairs:
            name = name.lower()
            lowered[name] = lowered[name] + "," + value if name in lowered else value
        host = lowered.get("host", "")
        probe = Call(None, "", "PUT", raw_path, raw_query, None, None, None, S3Query(), lowered, pairs, host)
        try:
            probe.bucket, probe.key, probe.virtual_bucket, probe.query = self._target(
                raw_path, raw_query, origin.host if origin is not None and origin.host else host)
        except S3Error as error:
            probe.problem = error  # refused before a byte of the body is read
            return UploadPlan(probe, self._prepare_upload)
        if probe.bucket is None or not self._is_upload(probe):
            return None
        return UploadPlan(probe, self._prepare_upload)

    async def _prepare_upload(self, call: Call) -> Prepared:
        if call.problem is not None:
            raise call.problem
        await self._when_ready()
        caller, auth = await self._identify(call, None)
        part = "uploadId" in call.query
        headers = dict(call.headers)
        headers.pop("expect", None)
        for name in auth.trailer_names if auth is not None else _trailers(headers):
            if name.startswith(_CHECKSUM_PREFIX) and "x-amz-checksum-algorithm" not in headers:
                headers["x-amz-checksum-algorithm"] = name[len(_CHECKSUM_PREFIX):]
        if part:
            check_part_number(call.query.get("partNumber"), self.ops.limits)
        else:
            await self.run(self.ops.check_put, caller, call.bucket, call.key, headers, call.context)
        body = await self.run(self.ops.receive, headers, part)
        return Prepared(caller, auth, body, _decoder(auth, headers), headers)

    def respond_early(self, request: Any, failure: Failure) -> None:
        try:
            call = self._parse(request)
            error = as_s3_error(failure.value, call)
            request.setHeader("Date", http_date(time.time()))
            self._error(call, error)
        except Exception:
            log.exception("S3 upload refusal could not be written")
            last_resort(request)

    # -- responses ----------------------------------------------------------------------------------------

    def _send(self, call: Call, status: int = 200, body: bytes = b"", headers: dict | None = None,
              content_type: Optional[str] = _XML) -> None:
        request = call.request
        request.setResponseCode(status)
        for name, value in (headers or {}).items():
            request.setHeader(name, value)
        if body or content_type and status not in (204, 304):
            if content_type:
                request.setHeader("Content-Type", content_type)
            request.setHeader("Content-Length", str(len(body)))
            if call.method != "HEAD":
                request.write(body)
        elif status not in (204, 304):
            request.setHeader("Content-Length", "0")
        request.finish()

    def _error(self, call: Call, error: S3Error) -> None:
        request = call.request
        if request.finished or request._disconnected:
            return
        if request.startedWriting:
            # The status line is gone already (a download failed midway): all we can do is cut it short.
            request.channel.transport.loseConnection() if request.channel else None
            return
        for name in ("ETag", "Last-Modified", "Content-Range", "Accept-Ranges", "x-amz-version-id"):
            request.responseHeaders.removeHeader(name)
        body = render_error(error, call.resource_name, call.request_id) if error.has_body else b""
        self._send(call, error.status, body, error.headers, _XML if body else None)

    # -- dispatch -----------------------------------------------------------------------------------------

    async def _method_not_allowed(self, call: Call) -> None:
        raise S3Error("MethodNotAllowed", method=call.method, resource_type="OBJECT" if call.key else "BUCKET")

    def _unsupported(self, call: Call) -> None:
        names = set(call.query) & _UNSUPPORTED
        if not names:
            return
        if call.method == "GET" and names == {"lifecycle"} and call.key is None:
            raise S3Error("NoSuchLifecycleConfiguration", bucket_name=call.bucket)
        raise S3Error("NotImplemented", "The %s sub-resource is not implemented by this gateway."
                      % sorted(names)[0])

    async def _get(self, call: Call) -> None:
        from ec2soap.s3 import handlers
        if call.bucket is None:
            return await handlers.list_buckets(self, call)
        self._unsupported(call)
        if call.key is None:
            return await handlers.bucket_get(self, call)
        if call.has("acl"):
            return await handlers.get_object_acl(self, call)
        if call.has("uploadId"):
            return await handlers.list_parts(self, call)
        return await handlers.get_object(self, call, head=False)

    async def _head(self, call: Call) -> None:
        from ec2soap.s3 import handlers
        if call.bucket is None:
            raise S3Error("MethodNotAllowed", method="HEAD", resource_type="SERVICE")
        if call.key is None:
            return await handlers.head_bucket(self, call)
        return await handlers.get_object(self, call, head=True)

    async def _put(self, call: Call) -> None:
        from ec2soap.s3 import handlers
        if call.bucket is None:
            raise S3Error("MethodNotAllowed", method="PUT", resource_type="SERVICE")
        self._unsupported(call)
        if call.key is None:
            return await handlers.bucket_put(self, call)
        if call.has("acl"):
            return await handlers.put_object_acl(self, call)
        if "x-amz-copy-source" in call.headers:
            if call.has("uploadId"):
                return await handlers.upload_part_copy(self, call)
            return await handlers.copy_object(self, call)
        return await handlers.put_object(self, call)

    async def _post(self, call: Call) -> None:
        from ec2soap.s3 import handlers
        if call.bucket is not None and call.key is None and call.has("delete"):
            return await handlers.delete_objects(self, call)
        if call.key is not None and call.has("uploads"):
            return await handlers.create_multipart_upload(self, call)
        if call.key is not None and call.has("uploadId"):
            return await handlers.complete_multipart_upload(self, call)
        self._unsupported(call)
        if call.bucket is not None and call.key is None:
            raise S3Error("NotImplemented", "Browser-based POST uploads are not implemented by this gateway.")
        raise S3Error("MethodNotAllowed", method="POST", resource_type="OBJECT" if call.key else "SERVICE")

    async def _delete(self, call: Call) -> None:
        from ec2soap.s3 import handlers
        if call.bucket is None:
            raise S3Error("MethodNotAllowed", method="DELETE", resource_type="SERVICE")
        self._unsupported(call)
        if call.key is None:
            return await handlers.bucket_delete(self, call)
        if call.has("uploadId"):
            return await handlers.abort_multipart_upload(self, call)
        return await handlers.delete_object(self, call)

    async def _options(self, call: Call) -> None:
        from ec2soap.s3 import handlers
        return await handlers.preflight(self, call)

    # -- helpers for handlers -----------------------------------------------------------------------------

    async def stream(self, call: Call, reader: Any) -> None:
        """Write READER's bytes as the body, in constant memory, then finish."""
        request = call.request
        try:
            await BlobProducer(request, reader, self.run).start()
        except Exception:
            return  # the client went away; BlobProducer closed the reader
        if not request.finished and not request._disconnected:
            request.finish()


def _trailers(headers: dict) -> list[str]:
    return [t.strip().lower() for t in headers.get("x-amz-trailer", "").split(",") if t.strip()]


def _decoder(auth: Any, headers: dict) -> Optional[AwsChunkedDecoder]:
    """The aws-chunked decoder a body needs: from the signature's payload mode, or for an anonymous
    STREAMING-UNSIGNED-PAYLOAD-TRAILER body (nothing to verify but the framing and trailers)."""
    if auth is not None:
        return auth.chunk_decoder() if auth.streaming else None
    if headers.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
        length = headers.get("x-amz-decoded-content-length", "")
        number = length.isascii() and length.isdigit()  # not '²', which isdigit() accepts and int() refuses
        return AwsChunkedDecoder(None, trailer=True, decoded_length=int(length) if number else None,
                                 expected_trailers=_trailers(headers))
    return None


def _read_small(content: Any) -> bytes:
    """A buffered body (XML documents, policies): capped, since S3 never needs a large one here."""
    if content is None:
        return b""
    content.seek(0)
    data = content.read(xml.MAX_BODY_BYTES + 1)
    if len(data) > xml.MAX_BODY_BYTES:
        raise S3Error("MaxMessageLengthExceeded")
    return data


def _check_small_body(headers: dict, body: bytes) -> None:
    """Content-MD5 and x-amz-checksum-* of a buffered body (DeleteObjects sends one or the other)."""
    md5 = headers.get("content-md5")
    if md5 is not None and decode_content_md5(md5) != hashlib.md5(body).digest():
        raise S3Error("BadDigest", expected_digest=md5)
    for name, value in headers.items():
        if name.startswith(_CHECKSUM_PREFIX) and name not in ("x-amz-checksum-algorithm", "x-amz-checksum-type",
                                                              "x-amz-checksum-mode"):
            try:
                checksum = new_checksum(name)
            except ValueError:
                raise S3Error("InvalidRequest", "Checksum algorithm %s is not supported"
                              % name[len(_CHECKSUM_PREFIX):].upper()) from None
            checksum.update(body)
            if not checksum.matches(value):
                raise S3Error("BadDigest", "The %s you specified did not match the calculated checksum."
                              % name[len(_CHECKSUM_PREFIX):].upper())

