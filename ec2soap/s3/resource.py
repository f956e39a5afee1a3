"""S3Resource: the S3 REST front door (path style, /awsapi/rest/AmazonS3 prefix, and virtual-host buckets).

Twisted glue: parse the request, authenticate it (ec2soap.auth), find its handler in the route table
(s3.routes), let the handler run its operation (s3.operations) on the store's thread pool, and write the
S3Answer it returns (a document, or a download streamed in constant memory). Errors are rendered once, in
`refuse`, as S3's error document. The request id, the service switch, the catch-all, the log line and the
metrics are the front door's (ec2soap.door.FrontDoor). Nothing from ec2soap.core, and no SQL or file I/O on
the reactor thread.
"""
from __future__ import annotations

import base64
import io
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Optional

from twisted.internet.defer import Deferred, ensureDeferred, succeed
from twisted.python.failure import Failure
from twisted.web.http_headers import Headers

from ec2soap.auth import HttpRequestInfo, parse_query, parse_s3, verify_s3
from ec2soap.auth.s3_query import S3Query, S3QueryError, decode_component
from ec2soap.origin import Origin, request_origin
from ec2soap.auth.credentials import CredentialsUnavailable
from ec2soap.door import Exchange, FrontDoor
from ec2soap.s3 import routes
from ec2soap.s3.answers import S3Answer, UploadPlan, as_s3_error, from_query, last_resort
from ec2soap.s3.cors import actual_request_headers, error_cors_headers
from ec2soap.s3.handlers_control import is_control
from ec2soap.s3.bodies import CHECKSUM_PREFIX, Prepared, check_small_body, decoder_for, read_small, trailers
from ec2soap.s3.owners import Owners
from ec2soap.s3.policy import request_keys
from ec2soap.s3.request_checks import before_route
from ec2soap.s3.post_form import prepare_post
from ec2soap.s3.errors import S3Error, render_error
from ec2soap.s3.rules import check_part_number, http_date
from ec2soap.s3.downloads import BlobProducer

__all__ = ["S3Resource", "s3_target", "Prepared"]

log = logging.getLogger(__name__)
_XML = "application/xml"
_S3_PREFIX = "/awsapi/rest/AmazonS3"


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


def _target_kind(call: "Call") -> str:
    """What a request names, for its action in the log and the metrics."""
    return "account" if call.control else "object" if call.key else "bucket" if call.bucket else "service"


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
    control: bool = False  # S3 Control's (the account-level API, s3.handlers_control): no bucket, no key

    @property
    def resource_name(self) -> str:
        if self.bucket is None:
            return "/"
        return f"/{self.bucket}" + (f"/{self.key}" if self.key else "")


def policy_context(headers: dict, query: S3Query, origin: Origin) -> dict:
    """The condition keys of a request (lower-cased HEADERS, its QUERY, ORIGIN) that bucket policies read:
    aws:SourceIp, aws:SecureTransport, aws:UserAgent, aws:Referer and s3.policy.request_keys (s3:x-amz-acl,
    s3:x-amz-copy-source, ...). One function for the checks made before a streamed body and after it."""
    return {"aws:SourceIp": origin.client, "aws:SecureTransport": "true" if origin.secure else "false",
            "aws:UserAgent": headers.get("user-agent", ""), "aws:Referer": headers.get("referer", ""),
            **request_keys(headers, query)}


class S3Resource(FrontDoor):
    """S3 over OPS (S3Operations); RUN is the store's `defer` (the thread pool); CREDENTIALS finds secrets.
    PUBLIC_HOST is the virtual-host base; ENABLED() False answers ServiceUnavailable."""
    service = "s3"
    log_name = "S3"
    errors = (S3Error,)
    log = log

    def __init__(self, *, ops: Any, run: Callable[..., Deferred], credentials: Any, public_host: str = "",
                 clock_skew: float = 900.0, enabled: Callable[[], bool] = lambda: True, metrics: Any = None):
        super().__init__(enabled=enabled, metrics=metrics)
        self.ops, self.run, self.credentials = ops, run, credentials
        self.owners = Owners(ops.store, run, credentials)
        self.bases = ["localhost"] + ([_host_name(public_host).lower()] if public_host else [])
        self.max_skew = timedelta(seconds=clock_skew)
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

    # -- the front door's hooks (ec2soap.door) ------------------------------------------------------------

    def render(self, request: Any) -> Any:
        """Every method: the route table decides what serves it (MethodNotAllowed when nothing does)."""
        return self.serve(request)

    def new_request_id(self) -> str:
        return uuid.uuid4().hex[:16].upper()

    async def read(self, exchange: Exchange) -> "Call":
        """The request as a Call. A streamed upload's body is in (or was refused): how its preparation ended
        comes first; then what made the request unreadable; both before the switch is asked."""
        call = exchange.parsed = self._parse(exchange.request, exchange.request_id)
        exchange.action = f"{call.method} {_target_kind(call)}"
        upload = getattr(exchange.request, "s3_upload", None)
        if upload is not None:
            call.prepared = await upload.result
        if call.problem is not None:
            raise call.problem
        return call

    def disabled_error(self) -> S3Error:
        return S3Error("ServiceUnavailable", "The S3 API is disabled on this gateway.")

    def internal_error(self) -> S3Error:
        return S3Error("InternalError")

    async def answer(self, exchange: Exchange) -> None:
        call: Call = exchange.parsed
        await self._when_ready()
        if getattr(call.request, "s3_upload", None) is None:
            await self._authenticate_buffered(call)
        if call.prepared is None:  # a streamed upload passed them before its body was read
            await before_route(self, call)  # expected bucket owners, grantees that exist
        route = (routes.resolve_control(call.method, call.raw_path) if call.control else
                 routes.resolve(call.method, call.bucket, call.key, call.query, call.headers))
        answer = await route.handler(self, call)
        caller = call.caller if call.caller is not None else getattr(call.prepared, "caller", None)
        answer.headers.update(await actual_request_headers(self, call, caller))  # s3.cors
        await self._write(call, answer)
        return None  # written by _write (documents and streamed downloads alike)

    def refusal(self, exc: BaseException, exchange: Exchange) -> S3Error:
        return as_s3_error(exc, exchange.parsed)  # logs what is not an S3, auth or query error

    async def refuse(self, exchange: Exchange, error: S3Error) -> int:
        """ERROR as S3's error document, with the CORS headers of the bucket's matching rule (S3 sends them
        on errors too, so a browser can read why it was refused; none for a bucket that does not exist)."""
        call: Call = exchange.parsed
        caller = call.caller if call.caller is not None else getattr(call.prepared, "caller", None)
        self._error(call, error, await error_cors_headers(self, call, caller))
        if call.prepared is not None:  # not committed (a no-op if it was)
            await self.run(call.prepared.body.abort)
        return error.status

    def log_line(self, exchange: Exchange) -> str:
        # S3's own format, which operators (and tests/system/test_https.py) read.
        call: Call = exchange.parsed
        return (f"S3 {call.method} {call.resource_name} → {exchange.status} [{call.caller or '-'}, "
                f"{exchange.request_id}, {exchange.seconds:.3f}s, client {call.context.get('aws:SourceIp') or '-'}]")

    def measure(self, exchange: Exchange, seconds: float) -> None:
        if self.metrics is not None and exchange.parsed is not None:
            self._count(exchange.parsed, exchange.status, seconds)

    def last_resort(self, exchange: Exchange) -> None:
        last_resort(exchange.request)

    def _count(self, call: Call, status: int, seconds: float) -> None:
        """Metrics: the request (action = method and what it names) and, when it succeeded, the object bytes
        taken in (the decoded length of an upload) or sent out (the response's Content-Length)."""
        self.metrics.request("s3", f"{call.method} {_target_kind(call)}", status, seconds)
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

    def _parse(self, request: Any, rid: Optional[str] = None) -> Call:
        """REQUEST as a Call. Never raises: a path or query S3 cannot read becomes call.problem, answered
        as S3's error document once the request runs."""
        if not isinstance(request.responseHeaders, _S3Headers):
            headers = _S3Headers()
            for name, values in request.responseHeaders.getAllRawHeaders():
                headers.setRawHeaders(name, values)
            request.responseHeaders = headers
        rid = rid or self.new_request_id()
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
            if is_control(raw_path, headers):  # the account's API: its path names no bucket, whatever the Host
                call.control, call.bucket, call.key, call.virtual_bucket = True, None, None, None
        except S3Error as error:
            call.problem = error
        except Exception:
            log.exception("S3 request %s could not be read", rid)
            call.problem = S3Error("InternalError")
        call.context = policy_context(headers, call.query, origin)
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
        streamed_put = routes.is_upload(call.method, call.bucket, call.key, call.query, call.headers)
        content = call.request.content
        if streamed_put:
            body = None
        elif content is None or isinstance(content, io.BytesIO):
            body = read_small(content)  # in memory (Twisted buffers a small body so): no I/O, no pool hop
        else:
            body = await self.run(read_small, content)  # a temp file
        call.caller, call.auth = await self._identify(call, body)
        if body is None:
            return
        decoder = decoder_for(call.auth, call.headers)
        if decoder is not None:
            body = b"".join(decoder.feed(body))
            decoder.finish()
        if not (call.method == "POST" and "uploadId" in call.query):
            # CompleteMultipartUpload's x-amz-checksum-* are the whole object's (s3.checksums.complete).
            check_small_body(call.headers, body)
        call.body = body

    # -- streamed uploads (the request factory's UploadHandler) ---------------------------------------------

    def upload_for(self, method: bytes, uri: bytes, headers: Any,
                   origin: Optional[Origin] = None) -> Optional[Callable[[], Any]]:
        if method not in (b"PUT", b"POST") or not self.enabled():
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
        verb = method.decode("ascii")
        if is_control(raw_path, lowered):
            return None  # S3 Control's small documents are buffered
        if verb == "POST" and not lowered.get("content-type", "").lower().lstrip().startswith("multipart/form-data"):
            return None  # only a form streams (GatewayRoot gives a urlencoded one to EC2 Query; others: refused)
        probe = Call(None, "", verb, raw_path, raw_query, None, None, None, S3Query(), lowered, pairs, host)
        try:
            probe.bucket, probe.key, probe.virtual_bucket, probe.query = self._target(
                raw_path, raw_query, origin.host if origin is not None and origin.host else host)
        except S3Error as error:
            if verb != "PUT":
                return None  # answered once buffered, as before
            probe.problem = error  # refused before a byte of the body is read
            return UploadPlan(probe, self._prepare_upload)
        if not routes.is_upload(verb, probe.bucket, probe.key, probe.query, probe.headers):
            return None
        if origin is not None:  # the checks before the body see what the final one sees
            probe.context = policy_context(lowered, probe.query, origin)
        return UploadPlan(probe, self._prepare_upload)

    async def _prepare_upload(self, call: Call) -> Prepared:
        if call.problem is not None:
            raise call.problem
        await self._when_ready()
        if call.method == "POST":  # a browser upload: its credentials are form fields (s3.handlers_post)
            await before_route(self, call)  # x-amz-expected-bucket-owner (its grants are no headers)
            return await prepare_post(self, call)
        caller, auth = await self._identify(call, None)
        await before_route(self, call, caller)
        part = "uploadId" in call.query
        headers = dict(call.headers)
        headers.pop("expect", None)
        for name in auth.trailer_names if auth is not None else trailers(headers):
            if name.startswith(CHECKSUM_PREFIX) and "x-amz-checksum-algorithm" not in headers:
                headers["x-amz-checksum-algorithm"] = name[len(CHECKSUM_PREFIX):]
        if part:
            check_part_number(call.query.get("partNumber"), self.ops.limits)

        def check_and_receive() -> Any:  # one pool hop: the permission, then the temp file the body goes to
            if not part:
                self.ops.check_put(caller, call.bucket, call.key, headers, call.context)
            return self.ops.receive(headers, part)
        body = await self.run(check_and_receive)
        return Prepared(caller, auth, body, decoder_for(auth, headers), headers)

    def respond_early(self, request: Any, failure: Failure) -> None:
        """An upload refused before its body was read whole (the client waits for 100 Continue, or is still
        sending it: s3.streaming reads and drops the rest after this answer): the error now, or once the
        bucket's CORS rules are read when a browser's Origin asks for them."""
        try:
            call = self._parse(request)
            error = as_s3_error(failure.value, call)
            request.setHeader("Date", http_date(time.time()))
        except Exception:
            log.exception("S3 upload refusal could not be written")
            last_resort(request)
            return
        # The front door never serves this request (its body is not read): its log line and count are here.
        exchange = Exchange(request=request, request_id=call.request_id, parsed=call, status=error.status,
                            started=getattr(getattr(request, "s3_upload", None), "started", time.monotonic()),
                            action=f"{call.method} {_target_kind(call)}")
        if not call.headers.get("origin") or call.bucket is None:
            self._refuse_early(call, error, {}, exchange)
            return
        # Who signed is not known yet: a signed request is answered as signed ones are (its origin echoed).
        signed = call.headers.get("authorization") or call.query.get("X-Amz-Credential") or call.query.get(
            "AWSAccessKeyId") or None
        ensureDeferred(error_cors_headers(self, call, signed)).addBoth(
            lambda headers: self._refuse_early(call, error, headers if isinstance(headers, dict) else {}, exchange))

    def _refuse_early(self, call: Call, error: S3Error, cors: dict, exchange: Exchange) -> None:
        try:
            self._error(call, error, cors)
        except Exception:
            log.exception("S3 upload refusal could not be written")
            last_resort(call.request)
            exchange.status = 500
        try:
            self.measure(exchange, exchange.seconds)
            self.log.info(self.log_line(exchange))
        except Exception:
            log.exception("S3 upload refusal could not be logged")

    # -- responses ----------------------------------------------------------------------------------------

    async def _write(self, call: Call, answer: S3Answer) -> None:
        """ANSWER as the response: a document (no body for HEAD, 204 or 304), or a download's headers and
        its reader's bytes, in constant memory (BlobProducer), the reader closed whatever happens."""
        request = call.request
        request.setResponseCode(answer.status)
        for name, value in answer.headers.items():
            request.setHeader(name, value)
        if answer.length is not None:
            request.setHeader("Content-Length", str(answer.length))
            if answer.stream is None:
                request.finish()
                return
            try:
                await BlobProducer(request, answer.stream, self.run).start()
            except Exception:
                return  # the client went away; BlobProducer closed the reader
            if not request.finished and not request._disconnected:
                request.finish()
            return
        self._finish(call, answer.status, answer.body, answer.content_type)

    def _finish(self, call: Call, status: int, body: bytes, content_type: Optional[str]) -> None:
        request = call.request
        if body or content_type and status not in (204, 304):
            if content_type:
                request.setHeader("Content-Type", content_type)
            request.setHeader("Content-Length", str(len(body)))
            if call.method != "HEAD":
                request.write(body)
        elif status not in (204, 304):
            request.setHeader("Content-Length", "0")
        request.finish()

    def _error(self, call: Call, error: S3Error, extra: Optional[dict] = None) -> None:
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
        request.setResponseCode(error.status)
        for name, value in {**(extra or {}), **(error.headers or {})}.items():
            request.setHeader(name, value)
        self._finish(call, error.status, body, _XML if body else None)
