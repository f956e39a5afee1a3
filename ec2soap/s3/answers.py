"""Every S3 request gets an S3 answer: any failure becomes an S3Error, and when even writing that fails the
client still gets a 500 InternalError document (or, once bytes are out, a closed connection), never silence.

Used by S3Resource and the streaming upload path. Twisted request methods only; nothing from ec2soap.core.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional

from ec2soap.auth import AuthError
from ec2soap.auth.s3_query import S3QueryError
from ec2soap.s3.errors import S3Error, render_error

__all__ = ["S3Answer", "as_s3_error", "from_auth", "from_query", "last_resort", "UploadPlan"]

log = logging.getLogger(__name__)
_MAX_ARGUMENT = 256  # longest ArgumentValue echoed back


@dataclass
class S3Answer:
    """What a handler answers; S3Resource writes it. A document: STATUS, BODY (not sent for HEAD) of
    CONTENT_TYPE (None: no body, Content-Length 0 unless the status has none) and HEADERS. A download:
    LENGTH set (its Content-Length; HEADERS carry everything else) and STREAM the opened reader whose
    bytes are the body, sent in constant memory (None for HEAD or an empty range)."""
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    content_type: Optional[str] = "application/xml"
    length: Optional[int] = None
    stream: Any = None

    @classmethod
    def empty(cls, status: int = 200, headers: Optional[dict] = None) -> "S3Answer":
        """No document: 200 with headers only, or 204."""
        return cls(status, b"", dict(headers or {}), None)


def from_query(exc: S3QueryError) -> S3Error:
    """A path or query S3 cannot read (S3Query's refusal) as S3's error."""
    value = exc.argument_value
    if value is not None and len(value) > _MAX_ARGUMENT:
        value = value[:_MAX_ARGUMENT] + "..."
    return S3Error(exc.code, exc.message, argument_name=exc.argument_name, argument_value=value)


def from_auth(error: AuthError, call: Any) -> S3Error:
    fields: dict[str, Any] = {}
    if error.code == "SignatureDoesNotMatch" and error.string_to_sign:
        fields["string_to_sign"] = error.string_to_sign
    if error.code in ("SignatureDoesNotMatch", "InvalidAccessKeyId"):
        fields["aws_access_key_id"] = access_key_of(call)
    return S3Error(error.code, error.message, **fields)


def access_key_of(call: Any) -> Optional[str]:
    auth = call.headers.get("authorization", "")
    if auth.startswith("AWS "):
        return auth[4:].split(":", 1)[0]
    if "Credential=" in auth:
        return auth.split("Credential=", 1)[1].split("/", 1)[0]
    return call.query.get("AWSAccessKeyId") or (call.query.get("X-Amz-Credential", "").split("/", 1)[0] or None)


def as_s3_error(failure: BaseException, call: Any) -> S3Error:
    """What to answer for FAILURE, raised while serving CALL: S3's own code, InternalError (logged) for
    anything that is not an S3, auth or query error."""
    if isinstance(failure, S3Error):
        return failure
    if isinstance(failure, AuthError):
        return from_auth(failure, call)
    if isinstance(failure, S3QueryError):
        return from_query(failure)
    log.error("S3 %s %s failed [request %s]", call.method, call.resource_name, call.request_id,
              exc_info=(type(failure), failure, failure.__traceback__))
    return S3Error("InternalError")


def last_resort(request: Any) -> None:
    """REQUEST is unanswered and the normal path failed: answer 500 InternalError as S3's document if no
    byte is out yet, else cut the connection, so a client never waits for an answer that will not come."""
    try:
        if request.finished or getattr(request, "_disconnected", False):
            return
        if not request.startedWriting:
            request_id = (request.responseHeaders.getRawHeaders(b"x-amz-request-id") or [b""])[0]
            if isinstance(request_id, bytes):
                request_id = request_id.decode("latin-1")
            body = render_error(S3Error("InternalError"), "", request_id)
            request.setResponseCode(500)
            request.setHeader(b"Content-Type", b"application/xml")
            request.setHeader(b"Content-Length", str(len(body)).encode())
            if request.method != b"HEAD":
                request.write(body)
            request.finish()
            return
    except Exception:
        log.exception("S3 could not write its last-resort answer")
    channel = getattr(request, "channel", None)
    if channel is not None and channel.transport is not None:
        channel.transport.loseConnection()


class UploadPlan:
    """What S3Resource.upload_for hands the streaming request: calling it prepares the upload (the caller,
    the permission, the sink) as PREPARE(call). CALL is the request as read from its headers; its decoded
    query and names serve the whole request (signature check and handler), and its `problem`, if any, is
    the refusal answered before a byte of the body is read."""

    def __init__(self, call: Any, prepare: Callable[[Any], Awaitable[Any]]) -> None:
        self.call = call
        self._prepare = prepare

    def __call__(self) -> Awaitable[Any]:
        return self._prepare(self.call)
