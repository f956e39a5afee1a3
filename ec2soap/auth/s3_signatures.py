"""S3 authentication: SigV2 and SigV4, header and presigned, and streaming payloads. No Twisted, Spyne or SQL.

Same two steps as EC2: `parse_s3(request, now)` (None for an anonymous request), then
`verify_s3(parsed, secret)` → S3AuthResult, which tells the S3 layer how to treat the body
(hash to check, aws-chunked decoder to run). cloudbridge.md §6.2: the original knew only SigV2
headers, and skipped auth on most POSTs; here every method goes through the same check.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Callable
from urllib.parse import unquote

from . import sigv4
from .chunked import AwsChunkedDecoder, ChunkSigning
from .errors import AuthError
from .request import HttpRequestInfo
from .s3_query import S3Query

__all__ = [
    "DEFAULT_MAX_SKEW", "MAX_PRESIGN_EXPIRES", "SUBRESOURCES", "PAYLOAD_MODES", "ParsedS3Auth",
    "S3AuthResult", "parse_s3", "verify_s3", "authenticate_s3", "ContentSha256Check",
]

DEFAULT_MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
SERVICE = "s3"

# Query parameters that are part of the SigV2 canonical resource (all others are left out).
SUBRESOURCES = frozenset({
    "accelerate", "acl", "analytics", "cors", "delete", "encryption", "inventory",
    "legal-hold", "lifecycle", "location", "logging", "metrics", "notification", "object-lock",
    "partNumber", "policy", "replication", "requestPayment", "restore", "retention", "select",
    "select-type", "storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId",
    "versioning", "versions", "website", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "response-content-language", "response-content-type",
    "response-expires",
})

STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
# x-amz-content-sha256 value → how the S3 layer must read the body.
PAYLOAD_MODES = {
    sigv4.UNSIGNED_PAYLOAD: "unsigned",
    STREAMING_SIGNED: "streaming-signed",
    STREAMING_SIGNED_TRAILER: "streaming-signed-trailer",
    STREAMING_UNSIGNED_TRAILER: "streaming-unsigned-trailer",
}

_V4_QUERY_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                    "X-Amz-SignedHeaders", "X-Amz-Signature")


@dataclass(frozen=True)
class ParsedS3Auth:
    """A signed S3 request, checked as far as possible without the secret.

    scheme: "sigv2", "sigv2-query", "sigv4" or "sigv4-query". content_sha256: the
    x-amz-content-sha256 value in force (SigV4), else None.
    """

    access_key: str
    scheme: str
    region: str | None = None
    content_sha256: str | None = None
    decoded_content_length: int | None = None
    trailer_names: tuple[str, ...] = ()
    _known_sha256: str | None = field(default=None, repr=False)
    _v2_signature: bytes = field(default=b"", repr=False)
    _v2_strings: tuple[str, ...] = field(default=(), repr=False)
    _v4: sigv4.V4Check | None = field(default=None, repr=False)


@dataclass(frozen=True)
class S3AuthResult:
    """A verified caller and what the body must satisfy.

    payload_mode: "none" (SigV2: Content-MD5 is the S3 layer's business), "sha256" (check the
    body against `content_sha256` with ContentSha256Check), "unsigned", or one of the streaming
    modes, whose body goes through `chunk_decoder()`.
    """

    access_key: str
    scheme: str
    payload_mode: str
    content_sha256: str | None = None
    decoded_content_length: int | None = None
    trailer_names: tuple[str, ...] = ()
    _signing: ChunkSigning | None = field(default=None, repr=False)

    @property
    def streaming(self) -> bool:
        return self.payload_mode.startswith("streaming-")

    def chunk_decoder(self) -> AwsChunkedDecoder:
        """A fresh aws-chunked decoder for this request's body (streaming modes only)."""
        if not self.streaming:
            raise ValueError(f"payload mode {self.payload_mode} is not aws-chunked")
        signed = self.payload_mode.startswith("streaming-signed")
        return AwsChunkedDecoder(self._signing if signed else None,
                                 trailer=self.payload_mode.endswith("-trailer"),
                                 decoded_length=self.decoded_content_length,
                                 expected_trailers=self.trailer_names)


class ContentSha256Check:
    """Hashes a body as it streams; `finish()` raises XAmzContentSHA256Mismatch if it differs."""

    def __init__(self, expected_hex: str) -> None:
        self._expected = expected_hex.lower()
        self._hash = hashlib.sha256()

    def update(self, data: bytes) -> None:
        self._hash.update(data)

    def finish(self) -> None:
        if not hmac.compare_digest(self._hash.hexdigest().encode(), self._expected.encode()):
            raise AuthError("XAmzContentSHA256Mismatch",
                            "The provided 'x-amz-content-sha256' header does not match what was computed.")


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def parse_s3(request: HttpRequestInfo, now: datetime | None = None, *,
             virtual_host_bucket: str | None = None, path_prefix: str | None = None,
             query: S3Query | None = None,
             max_skew: timedelta = DEFAULT_MAX_SKEW) -> ParsedS3Auth | None:
    """Check an S3 request's auth and build its strings to sign; None when it is anonymous.

    virtual_host_bucket: the bucket named by the Host header (`bucket.host`), which SigV2 signs
    as a '/bucket' prefix of the path. For path style, pass None: the whole path as sent is
    signed. path_prefix: a routing prefix the path starts with (`/awsapi/rest/AmazonS3`); SigV2
    then matches the path with it (boto 2, the original) or without it (botocore signs only
    `/bucket/key` when its endpoint_url has a path); both name the same object.
    query: the request's S3Query, decoded once by the caller, which hands the same object to the
    handlers (built from request.query when omitted). Every scheme signs exactly its fields, so
    what is verified is what runs. Raises AuthError, or S3QueryError for a query S3 cannot read.
    An OPTIONS request (a CORS preflight) is anonymous whatever it carries: S3 verifies no presigned
    query (SigV2 or SigV4) and no Authorization header on it, and answers it from the CORS rules alone.
    """
    if request.method == "OPTIONS":
        return None  # a CORS preflight is never authenticated: browsers send it without credentials
    now = _utc(now)
    if query is None:
        query = S3Query.parse(request.query)
    names = set(query)
    authorization = request.header("authorization")
    if authorization is not None and not authorization.strip():
        authorization = None  # S3 quirk: an empty Authorization header is an anonymous request
    in_query_v4 = "X-Amz-Algorithm" in names
    in_query_v2 = "AWSAccessKeyId" in names or ("Signature" in names and "Expires" in names)
    if sum((authorization is not None, in_query_v4, in_query_v2)) > 1:
        raise AuthError("InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm "
                                           "query parameter, Signature query string parameter or the "
                                           "Authorization header should be specified")
    if authorization is not None:
        if authorization.startswith(sigv4.ALGORITHM + " "):
            return _parse_v4_header(request, authorization, query, now, max_skew)
        if authorization.startswith("AWS "):
            return _parse_v2_header(request, authorization, query, now, max_skew,
                                    _v2_paths(request, virtual_host_bucket, path_prefix))
        raise AuthError("InvalidArgument", "Unsupported Authorization Type")
    if in_query_v4:
        return _parse_v4_query(request, query, now, max_skew)
    if in_query_v2:
        return _parse_v2_query(request, query, now, _v2_paths(request, virtual_host_bucket, path_prefix))
    return None


def _is_number(text: str) -> bool:
    """ASCII digits only: str.isdigit() is also true of '²' (which int() refuses) and of '١' (which it reads)."""
    return text.isascii() and text.isdigit()


def _known_sha256(request: HttpRequestInfo) -> str | None:
    if request.payload_sha256 is not None:
        return request.payload_sha256.lower()
    return None if request.body is None else hashlib.sha256(request.body).hexdigest()


def _v2_string_heads(request: HttpRequestInfo, date_lines: list[str],
                     amz_extra: dict[str, str]) -> list[str]:
    """`VERB\\nContent-MD5\\nContent-Type\\nDate\\n<x-amz-* lines>` for each candidate date line."""
    amz: dict[str, str] = {}
    for name in request.header_names():
        if name.startswith("x-amz-"):
            amz[name] = ",".join(v.strip() for v in request.header_values(name))
    for name, value in amz_extra.items():
        if name.startswith("x-amz-"):  # Content-MD5/Type stand in for their own lines, not x-amz-* ones
            amz.setdefault(name, value)
    amz_lines = "".join(f"{k}:{amz[k]}\n" for k in sorted(amz))
    md5 = (request.header("content-md5") or amz_extra.get("content-md5", "")).strip()
    ctype = (request.header("content-type") or amz_extra.get("content-type", "")).strip()
    return [f"{request.method}\n{md5}\n{ctype}\n{d}\n{amz_lines}" for d in dict.fromkeys(date_lines)]


def _v2_paths(request: HttpRequestInfo, bucket: str | None, prefix: str | None) -> tuple[str, ...]:
    """The paths a SigV2 client may have signed, all naming the same bucket or object: as sent (with
    '/bucket' for a virtual host), without a routing PREFIX when the path has one, and for a bare
    '/bucket' also '/bucket/' (botocore's auth_path for every bucket-level request)."""
    path = request.path or "/"
    paths = [(f"/{bucket}" if bucket else "") + path]
    if prefix and not bucket and (path == prefix or path.startswith(prefix.rstrip("/") + "/")):
        paths.append(path[len(prefix.rstrip("/")):] or "/")
    for candidate in list(paths):
        if candidate.count("/") == 1 and len(candidate) > 1:
            paths.append(candidate + "/")
    return tuple(dict.fromkeys(paths))


def _v2_resources(paths: tuple[str, ...], query: S3Query) -> list[str]:
    # Sub-resource values are signed decoded: the same decoded fields the handlers read.
    tail = query.v2_subresources(SUBRESOURCES)
    return [path + tail for path in paths]


def _decode_v2_signature(signature: str) -> bytes:
    try:
        return base64.b64decode(signature.replace(" ", "+"), validate=True)
    except (binascii.Error, ValueError):
        return b""  # cannot match: reported as SignatureDoesNotMatch once the key is known


def _parse_v2_header(request: HttpRequestInfo, authorization: str, query: S3Query,
                     now: datetime, max_skew: timedelta, paths: tuple[str, ...]) -> ParsedS3Auth:
    access_key, sep, signature = authorization[4:].strip().partition(":")
    if not sep or not access_key or not signature:
        raise AuthError("InvalidArgument", "AWS authorization header is invalid. Expected AwsAccessKeyId:signature")
    amz_date, date = request.header("x-amz-date"), request.header("date")
    stamp = amz_date if amz_date is not None else date
    if stamp is None:
        raise AuthError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    try:
        when = _http_date(stamp)
    except ValueError:
        raise AuthError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header") from None
    if when < _EPOCH:  # S3 quirk: a date before the epoch is no valid date at all, not a skewed one
        raise AuthError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    if abs(now - when) > max_skew:
        raise AuthError("RequestTimeTooSkewed",
                        "The difference between the request time and the current time is too large.")
    # With x-amz-date the Date line is empty (it is signed among the x-amz-* lines); botocore
    # still signs its Date header there, so that reading is tried too.
    date_lines = [""] if amz_date is not None else [date or ""]
    if amz_date is not None and date is not None:
        date_lines.append(date.strip())
    strings = tuple(head + resource for head in _v2_string_heads(request, date_lines, {})
                    for resource in _v2_resources(paths, query))
    return ParsedS3Auth(access_key=access_key, scheme="sigv2", _known_sha256=_known_sha256(request),
                        _v2_signature=_decode_v2_signature(signature), _v2_strings=strings)


def _http_date(value: str) -> datetime:
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return sigv4.parse_amz_date(value)  # some clients send x-amz-date in ISO basic form
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def _parse_v2_query(request: HttpRequestInfo, query: S3Query, now: datetime,
                    paths: tuple[str, ...]) -> ParsedS3Auth:
    values = query
    missing = [n for n in ("AWSAccessKeyId", "Signature", "Expires") if not values.get(n)]
    if missing:
        raise AuthError("AccessDenied", "Query-string authentication requires the Signature, "
                                        "Expires and AWSAccessKeyId parameters")
    expires = values["Expires"]
    if not _is_number(expires):
        raise AuthError("AccessDenied", "Invalid date (should be seconds since epoch): " + expires[:40])
    if int(expires) < now.timestamp():
        raise AuthError("AccessDenied", "Request has expired")
    # Presigning puts signed Content-Type/MD5 and x-amz-* headers in the query; a client
    # using the URL may not send them as headers, so the query stands in for them.
    extra = {k.lower(): v for k, v in query.items()
             if k.lower().startswith("x-amz-") or k.lower() in ("content-type", "content-md5")}
    strings = tuple(head + resource for head in _v2_string_heads(request, [expires], extra)
                    for resource in _v2_resources(paths, query))
    return ParsedS3Auth(access_key=values["AWSAccessKeyId"], scheme="sigv2-query",
                        _known_sha256=_known_sha256(request),
                        _v2_signature=_decode_v2_signature(values["Signature"]), _v2_strings=strings)


def _payload_fields(request: HttpRequestInfo, content_sha256: str) -> tuple[int | None, tuple[str, ...]]:
    if content_sha256 not in PAYLOAD_MODES and not sigv4.is_hex_signature(content_sha256):
        raise AuthError("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, a "
                                           "STREAMING-* value or a hex SHA-256.")
    length = request.header("x-amz-decoded-content-length")
    decoded = None
    if length is not None:
        if not _is_number(length.strip()):
            raise AuthError("InvalidArgument", "x-amz-decoded-content-length must be a number.")
        decoded = int(length)
    trailers = tuple(t.strip().lower() for t in (request.header("x-amz-trailer") or "").split(",") if t.strip())
    return decoded, trailers


def _v4_canonical(request: HttpRequestInfo, query: S3Query, signed: list[str], exclude: tuple[str, ...],
                  payload: str) -> tuple[str, ...]:
    # S3 quirk: the canonical URI is the path as sent, neither normalized nor encoded again;
    # a path a client left partly unencoded is also tried in its RFC 3986 form (both name the
    # same key). The query has one reading: the decoded fields the handlers read, re-encoded.
    raw = request.path or "/"
    uris = [raw, sigv4.uri_encode(unquote(raw), keep_slash=True)]
    queries = [query.canonical_v4(exclude)]
    headers = sigv4.canonical_headers(request, signed)
    return sigv4.build_canonical_requests(request.method, uris, queries, headers, signed, payload)


def _parse_v4_header(request: HttpRequestInfo, authorization: str, query: S3Query, now: datetime,
                     max_skew: timedelta) -> ParsedS3Auth:
    try:
        credential, signed, signature = sigv4.parse_authorization(authorization)
        sigv4.check_signed_headers(signed)
    except ValueError as exc:
        raise AuthError("InvalidArgument", f"The authorization header is malformed; {exc}") from None
    try:
        dated = sigv4.header_date(request)
    except ValueError:
        dated = None
    if dated is None:
        raise AuthError("AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")
    amz_date, when = dated
    if abs(now - when) > max_skew:
        raise AuthError("RequestTimeTooSkewed",
                        "The difference between the request time and the current time is too large.")
    _check_scope(credential, amz_date, "InvalidArgument")
    content_sha256 = request.header("x-amz-content-sha256")
    if content_sha256 is None:
        raise AuthError("MissingSecurityHeader",
                        "Missing required header for this request: x-amz-content-sha256")
    content_sha256 = content_sha256.strip()
    decoded, trailers = _payload_fields(request, content_sha256)
    canon = _v4_canonical(request, query, signed, (), content_sha256)
    return ParsedS3Auth(access_key=credential.access_key, scheme="sigv4", region=credential.region,
                        content_sha256=content_sha256, decoded_content_length=decoded,
                        trailer_names=trailers, _known_sha256=_known_sha256(request),
                        _v4=sigv4.V4Check(credential, amz_date, signature, canon))


def _check_scope(credential: sigv4.Credential, amz_date: str, code: str) -> None:
    if credential.service != SERVICE:
        raise AuthError(code, f"Credential should be scoped to correct service: '{SERVICE}'.")
    if credential.terminator != sigv4.TERMINATOR:
        raise AuthError(code, "Credential should be scoped with a valid terminator: 'aws4_request'.")
    if credential.date != amz_date[:8]:
        raise AuthError(code, "Invalid credential date. Date is not the same as X-Amz-Date.")


def _parse_v4_query(request: HttpRequestInfo, query: S3Query, now: datetime,
                    max_skew: timedelta) -> ParsedS3Auth:
    code = "AuthorizationQueryParametersError"
    values: dict[str, str] = {}
    for name in _V4_QUERY_PARAMS:
        found = query.get(name)
        if not found:
            raise AuthError(code, "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                                  "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                                  "and X-Amz-Expires parameters.")
        values[name] = found
    if values["X-Amz-Algorithm"] != sigv4.ALGORITHM:
        raise AuthError(code, f"X-Amz-Algorithm only supports \"{sigv4.ALGORITHM}\"")
    try:
        credential = sigv4.parse_credential(values["X-Amz-Credential"])
        signed = values["X-Amz-SignedHeaders"].split(";")
        sigv4.check_signed_headers(signed)
        when = sigv4.parse_amz_date(values["X-Amz-Date"])
    except ValueError as exc:
        raise AuthError(code, f"Error parsing the X-Amz-* parameters: {exc}") from None
    expires = values["X-Amz-Expires"]
    if expires.startswith("-") and _is_number(expires[1:]):
        raise AuthError(code, "X-Amz-Expires must be non-negative")
    if not _is_number(expires):
        raise AuthError(code, "X-Amz-Expires should be a number")
    if int(expires) > MAX_PRESIGN_EXPIRES:
        raise AuthError(code, "X-Amz-Expires must be less than a week (in seconds) that is 604800")
    if when - now > max_skew:
        raise AuthError("AccessDenied", "Request is not valid yet")
    if now > when + timedelta(seconds=int(expires)):
        raise AuthError("AccessDenied", "Request has expired")
    _check_scope(credential, values["X-Amz-Date"], code)
    # A presigned URL does not know its body, so its payload is UNSIGNED-PAYLOAD unless the
    # client sends (and signs) an x-amz-content-sha256 header with the request.
    content_sha256 = (request.header("x-amz-content-sha256") or sigv4.UNSIGNED_PAYLOAD).strip()
    decoded, trailers = _payload_fields(request, content_sha256)
    canon = _v4_canonical(request, query, signed, ("X-Amz-Signature",), content_sha256)
    return ParsedS3Auth(access_key=credential.access_key, scheme="sigv4-query", region=credential.region,
                        content_sha256=content_sha256, decoded_content_length=decoded,
                        trailer_names=trailers, _known_sha256=_known_sha256(request),
                        _v4=sigv4.V4Check(credential, values["X-Amz-Date"], values["X-Amz-Signature"], canon))


def _mismatch(string_to_sign: str) -> AuthError:
    return AuthError("SignatureDoesNotMatch",
                     "The request signature we calculated does not match the signature you provided. "
                     "Check your key and signing method.", string_to_sign=string_to_sign)


def verify_s3(parsed: ParsedS3Auth, secret: str | None) -> S3AuthResult:
    """Check the signature with the caller's secret (None: unknown key); describe the body's checks."""
    if not secret:
        raise AuthError("InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.")
    if parsed._v4 is None:
        matched = False
        for sts in parsed._v2_strings:
            expected = hmac.new(secret.encode("utf-8"), sts.encode("utf-8"), hashlib.sha1).digest()
            matched |= hmac.compare_digest(expected, parsed._v2_signature)
        if not matched:
            raise _mismatch(parsed._v2_strings[0])
        return S3AuthResult(access_key=parsed.access_key, scheme=parsed.scheme, payload_mode="none")

    key, signature = parsed._v4.verify(secret, _mismatch)
    content = parsed.content_sha256 or sigv4.UNSIGNED_PAYLOAD
    mode = PAYLOAD_MODES.get(content, "sha256")
    if mode == "sha256" and parsed._known_sha256 is not None:
        # The adapter already hashed the body: check it now rather than leave it to the S3 layer.
        if not hmac.compare_digest(content.lower().encode(), parsed._known_sha256.encode()):
            raise AuthError("XAmzContentSHA256Mismatch",
                            "The provided 'x-amz-content-sha256' header does not match what was computed.")
    cred = parsed._v4.credential
    signing = ChunkSigning(key, parsed._v4.amz_date, cred.scope, signature)
    return S3AuthResult(access_key=parsed.access_key, scheme=parsed.scheme, payload_mode=mode,
                        content_sha256=content.lower() if mode == "sha256" else None,
                        decoded_content_length=parsed.decoded_content_length,
                        trailer_names=parsed.trailer_names, _signing=signing)


def authenticate_s3(request: HttpRequestInfo, lookup_secret: Callable[[str], str | None],
                    now: datetime | None = None, *, virtual_host_bucket: str | None = None,
                    path_prefix: str | None = None, query: S3Query | None = None,
                    max_skew: timedelta = DEFAULT_MAX_SKEW) -> S3AuthResult | None:
    """parse_s3 + a synchronous secret lookup + verify_s3; None for an anonymous request."""
    parsed = parse_s3(request, now, virtual_host_bucket=virtual_host_bucket, path_prefix=path_prefix,
                      query=query, max_skew=max_skew)
    if parsed is None:
        return None
    return verify_s3(parsed, lookup_secret(parsed.access_key))
