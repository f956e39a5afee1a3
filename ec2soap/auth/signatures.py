"""EC2 Query authentication: Signature Version 2 and 4 (header and presigned). No Twisted, Spyne or SQL.

Two steps so an adapter may fetch the secret asynchronously in between:
`parsed = parse_ec2(request, now)` checks everything that needs no secret (presence, format,
clock) and builds the strings to sign; `verify_ec2(parsed, secret)` does the HMAC.
cloudbridge.md §3.2 lists the original's holes that this closes: Timestamp never checked,
unparseable Expires accepted, POST signatures rebuilt with Java's URLEncoder.

The parameters are read once (`ec2_query.Ec2Query`: which bytes hold them, one decoding of '+', each name
once); every scheme signs exactly those pairs and the action receives exactly them. Accepted strings to sign
are only those that determine the pairs uniquely under that one decoding: the canonical re-encoding of the
decoded pairs, and for SigV2 the fields exactly as sent (what the original verified). A "literal plus"
reading is never tried: it would let a value signed as `%2B` run as a space.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Sequence
from urllib.parse import unquote

from . import sigv4
from .ec2_query import Ec2Query
from .errors import AuthError
from .request import HttpRequestInfo

__all__ = [
    "DEFAULT_MAX_SKEW", "MAX_PRESIGN_EXPIRES", "ParsedEc2Auth", "parse_ec2", "verify_ec2",
    "authenticate_ec2", "parse_timestamp",
]

DEFAULT_MAX_SKEW = timedelta(minutes=15)
MAX_PRESIGN_EXPIRES = 7 * 24 * 3600
SERVICE = "ec2"
_V2_METHODS = {"HmacSHA1": hashlib.sha1, "HmacSHA256": hashlib.sha256}
_V4_QUERY_PARAMS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders",
                    "X-Amz-Signature")

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
    r"\s*(Z|[+-]\d{2}:?\d{2}|UTC|GMT)?$", re.IGNORECASE)
# java.util.Date.toString(), which the original accepted for Expires: "Wed Nov 25 12:00:00 UTC 2026"
_JAVA = re.compile(r"^\w{3} (\w{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (UTC|GMT|Z) (\d{4})$")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}


def parse_timestamp(value: str) -> datetime:
    """An EC2 `Timestamp`/`Expires` → aware UTC datetime; ValueError when it does not parse.

    ISO 8601 with optional fraction and zone (no zone means UTC, as EC2 does), or Java's
    Date.toString() in UTC, which old Java clients sent.
    """
    text = value.strip()
    match = _ISO.match(text)
    if match:
        y, mo, d, h, mi, s, frac, zone = match.groups()
        micro = int((frac or "0").ljust(6, "0")[:6])
        when = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, timezone.utc)
        if zone and zone[0] in "+-":
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
            when -= offset if zone[0] == "+" else -offset
        return when
    match = _JAVA.match(text)
    if match and match.group(1).lower() in _MONTHS:
        mon, d, h, mi, s, _, y = match.groups()
        return datetime(int(y), _MONTHS[mon.lower()], int(d), int(h), int(mi), int(s),
                        tzinfo=timezone.utc)
    raise ValueError("unrecognised date")


@dataclass(frozen=True)
class ParsedEc2Auth:
    """A request whose signature is ready to check once the secret is known.

    scheme: "sigv2", "sigv4" (Authorization header) or "sigv4-query" (presigned).
    algorithm: HmacSHA1, HmacSHA256 or AWS4-HMAC-SHA256. region: the SigV4 scope's region.
    """

    access_key: str
    scheme: str
    algorithm: str
    region: str | None = None
    _v2_signature: bytes = field(default=b"", repr=False)
    _v2_strings: tuple[str, ...] = field(default=(), repr=False)
    _v4: sigv4.V4Check | None = field(default=None, repr=False)


def _single(params: Sequence[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in params if k == name]
    if len(values) > 1:
        raise AuthError("InvalidParameterValue", f"The parameter {name} appears more than once.")
    return values[0] if values else None


def _require(params: Sequence[tuple[str, str]], name: str) -> str:
    value = _single(params, name)
    if value is None or value == "":
        raise AuthError("MissingParameter", f"The request must contain the parameter {name}")
    return value


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc)
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def parse_ec2(request: HttpRequestInfo | Ec2Query, now: datetime | None = None, *,
              max_skew: timedelta = DEFAULT_MAX_SKEW) -> ParsedEc2Auth:
    """Check an EC2 Query request's auth parameters and build what the secret will be checked against.

    REQUEST is the Ec2Query the action will run with (an HttpRequestInfo is read into one first).
    Raises AuthError (MissingParameter, IncompleteSignature, InvalidParameterValue,
    RequestExpired, SignatureDoesNotMatch for a wrong scope) before any secret is needed.
    """
    now = _utc(now)
    query = request if isinstance(request, Ec2Query) else Ec2Query.read(request)
    authorization = query.http.header("authorization")
    if authorization is not None:
        return _parse_v4_header(query, authorization, now, max_skew)
    if any(k == "X-Amz-Algorithm" for k, _ in query.query_pairs):
        return _parse_v4_query(query, now, max_skew)
    return _parse_v2(query, now, max_skew)


def _parse_v2(query: Ec2Query, now: datetime, max_skew: timedelta) -> ParsedEc2Auth:
    request, params = query.http, query.pairs
    # Order of the checks is the original's (cloudbridge.md §3.2), so scripts see the same first error.
    access_key = _require(params, "AWSAccessKeyId")
    signature = _require(params, "Signature")
    method = _require(params, "SignatureMethod")
    if method not in _V2_METHODS:
        raise AuthError("InvalidParameterValue",
                        f"Value ({method}) for parameter SignatureMethod is invalid. "
                        "Supported: HmacSHA1, HmacSHA256")
    version = _require(params, "SignatureVersion")
    if version != "2":
        raise AuthError("InvalidParameterValue",
                        f"Value ({version}) for parameter SignatureVersion is invalid. Supported: 2")
    _check_v2_time(params, now, max_skew)

    # The original un-escaped a signature that still held '%' (sent encoded twice); a space is a
    # '+' that reached us unencoded and was read as a form space.
    if "%" in signature:
        signature = unquote(signature)
    try:
        raw_signature = base64.b64decode(signature.replace(" ", "+"), validate=True)
    except (binascii.Error, ValueError):
        raw_signature = b""  # cannot match; reported as SignatureDoesNotMatch after the key lookup

    head = f"{request.method}\n{(request.host or '').lower()}\n{request.path or '/'}\n"
    unsigned = [(k, v) for k, v in params if k != "Signature"]
    # SigV2 sorts by the decoded name (botocore, boto 2, AWS's spec); SigV4's rule sorts by the encoded
    # one (ec2soap's own register command). The two differ only in order for names with escapes.
    strings = [head + _v2_canonical(unsigned), head + sigv4.canonical_query(unsigned)]
    # EC2 quirk: some clients (the original's register tool, hand-built GETs) sign their own encoding
    # exactly as sent; the original verified the raw fields sorted by name. Those bytes are the very
    # ones decoded into PARAMS (a '+' in them is the space it decodes to), so this string, too, names
    # one set of pairs only: nothing can be signed one way and run another.
    fields = [raw for raw, name in query.raw_field_names() if name != "Signature"]
    if fields:
        strings.append(head + "&".join(sorted(fields, key=lambda f: f.partition("=")[0])))
    return ParsedEc2Auth(access_key=access_key, scheme="sigv2", algorithm=method,
                         _v2_signature=raw_signature, _v2_strings=tuple(dict.fromkeys(strings)))


def _v2_canonical(pairs: Sequence[tuple[str, str]]) -> str:
    """SigV2's canonical query: pairs sorted by decoded name (code points: UTF-8 byte order), RFC 3986-encoded."""
    return "&".join(f"{sigv4.uri_encode(k)}={sigv4.uri_encode(v)}" for k, v in sorted(pairs))


def _check_v2_time(params: list[tuple[str, str]], now: datetime, max_skew: timedelta) -> None:
    timestamp, expires = _single(params, "Timestamp"), _single(params, "Expires")
    if timestamp is not None and expires is not None:
        raise AuthError("InvalidParameterValue",
                        "The parameters Timestamp and Expires cannot be used together.")
    if timestamp is None and expires is None:
        raise AuthError("MissingParameter", "The request must contain the parameter Timestamp or Expires")
    name, value = ("Timestamp", timestamp) if timestamp is not None else ("Expires", expires)
    assert value is not None
    try:
        # One decoding: a '+hh:mm' zone sent as a raw '+' is the space it decodes to, and invalid.
        when = parse_timestamp(value)
    except ValueError:
        raise AuthError("InvalidParameterValue",
                        f"Value ({value}) for parameter {name} is invalid.") from None
    if name == "Timestamp" and abs(now - when) > max_skew:
        raise AuthError("RequestExpired",
                        f"Request has expired. Timestamp date is {value}")
    if name == "Expires" and when <= now:
        raise AuthError("RequestExpired", f"Request has expired. Expires date is {value}")


def _v4_request(query: Ec2Query, signed: list[str], query_exclude: tuple[str, ...],
                payload: str) -> tuple[str, ...]:
    request = query.http
    # EC2 quirk: non-S3 SigV4 normalizes the path and encodes the (already encoded) path again.
    uri = sigv4.uri_encode(sigv4.normalize_path(request.path), keep_slash=True)
    # The query string's decoded pairs, re-encoded: the one canonical query (the form body, if any, is
    # covered by the payload hash, over the very bytes Ec2Query decoded).
    canonical = sigv4.canonical_query((k, v) for k, v in query.query_pairs if k not in query_exclude)
    headers = sigv4.canonical_headers(request, signed)
    return sigv4.build_canonical_requests(request.method, [uri], [canonical], headers, signed, payload)


def _check_scope(credential: sigv4.Credential, amz_date: str, code: str) -> None:
    # EC2 quirk: boto 2.49 always signs EC2 with SigV4 and takes the scope's service from the first label of
    # the endpoint host ("127" for 127.0.0.1, "cloud" for cloud.example.com). The signature still covers the
    # scope it names, so any service is accepted as long as it verifies.
    if not credential.service:
        raise AuthError("SignatureDoesNotMatch",
                        f"Credential should be scoped to correct service: '{SERVICE}'.")
    if credential.terminator != sigv4.TERMINATOR:
        raise AuthError("SignatureDoesNotMatch",
                        "Credential should be scoped with a valid terminator: 'aws4_request'.")
    if credential.date != amz_date[:8]:
        raise AuthError(code, "Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                              "version of date from HTTP.")


def _parse_v4_header(query: Ec2Query, authorization: str, now: datetime,
                     max_skew: timedelta) -> ParsedEc2Auth:
    request = query.http
    try:
        credential, signed, signature = sigv4.parse_authorization(authorization)
        sigv4.check_signed_headers(signed)
    except ValueError as exc:
        raise AuthError("IncompleteSignature", str(exc)) from None
    try:
        dated = sigv4.header_date(request)
    except ValueError:
        raise AuthError("IncompleteSignature", "X-Amz-Date or Date header is not a valid date.") from None
    if dated is None:
        raise AuthError("IncompleteSignature", "Authorization header requires existence of either "
                                               "a 'X-Amz-Date' or a 'Date' header.")
    amz_date, when = dated
    if abs(now - when) > max_skew:
        raise AuthError("RequestExpired", f"Request has expired. Date is {amz_date}")
    _check_scope(credential, amz_date, "SignatureDoesNotMatch")
    # EC2 quirk: the payload is always the body as received; EC2 has no UNSIGNED-PAYLOAD.
    canon = _v4_request(query, signed, (), request.body_sha256())
    check = sigv4.V4Check(credential, amz_date, signature, canon)
    return ParsedEc2Auth(access_key=credential.access_key, scheme="sigv4",
                         algorithm=sigv4.ALGORITHM, region=credential.region, _v4=check)


def _parse_v4_query(query: Ec2Query, now: datetime, max_skew: timedelta) -> ParsedEc2Auth:
    request = query.http
    values = {name: _require(query.query_pairs, name) for name in _V4_QUERY_PARAMS}
    if values["X-Amz-Algorithm"] != sigv4.ALGORITHM:
        raise AuthError("InvalidParameterValue",
                        f"X-Amz-Algorithm only supports '{sigv4.ALGORITHM}'.")
    try:
        credential = sigv4.parse_credential(values["X-Amz-Credential"])
        signed = values["X-Amz-SignedHeaders"].split(";")
        sigv4.check_signed_headers(signed)
    except ValueError as exc:
        raise AuthError("IncompleteSignature", str(exc)) from None
    amz_date = values["X-Amz-Date"]
    try:
        when = sigv4.parse_amz_date(amz_date)
    except ValueError:
        raise AuthError("InvalidParameterValue", f"Value ({amz_date}) for X-Amz-Date is invalid.") from None
    expires_text = _single(query.query_pairs, "X-Amz-Expires")
    expires = MAX_PRESIGN_EXPIRES if expires_text is None else _parse_expires(expires_text)
    if when - now > max_skew or now > when + timedelta(seconds=expires):
        raise AuthError("RequestExpired", f"Request has expired. X-Amz-Date is {amz_date}")
    _check_scope(credential, amz_date, "SignatureDoesNotMatch")
    canon = _v4_request(query, signed, ("X-Amz-Signature",), request.body_sha256())
    check = sigv4.V4Check(credential, amz_date, values["X-Amz-Signature"], canon)
    return ParsedEc2Auth(access_key=credential.access_key, scheme="sigv4-query",
                         algorithm=sigv4.ALGORITHM, region=credential.region, _v4=check)


def _parse_expires(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= MAX_PRESIGN_EXPIRES:
        raise AuthError("InvalidParameterValue",
                        f"Value ({text}) for X-Amz-Expires must be 1 to {MAX_PRESIGN_EXPIRES} seconds.")
    return int(text)


def _mismatch(string_to_sign: str) -> AuthError:
    return AuthError("SignatureDoesNotMatch",
                     "The request signature we calculated does not match the signature you provided. "
                     "Check your AWS Secret Access Key and signing method.",
                     string_to_sign=string_to_sign)


def verify_ec2(parsed: ParsedEc2Auth, secret: str | None) -> str:
    """Check the signature with the caller's secret (None: unknown key). Returns the access key."""
    if not secret:
        raise AuthError("AuthFailure",
                        f"AWS was not able to validate the provided access credentials "
                        f"(access key '{parsed.access_key}' not found).")
    if parsed._v4 is not None:
        parsed._v4.verify(secret, _mismatch)
        return parsed.access_key
    digestmod = _V2_METHODS[parsed.algorithm]
    matched = False
    for sts in parsed._v2_strings:
        expected = hmac.new(secret.encode("utf-8"), sts.encode("utf-8"), digestmod).digest()
        matched |= hmac.compare_digest(expected, parsed._v2_signature)
    if not matched:
        raise _mismatch(parsed._v2_strings[0])
    return parsed.access_key


def authenticate_ec2(request: HttpRequestInfo | Ec2Query, lookup_secret: Callable[[str], str | None],
                     now: datetime | None = None, *,
                     max_skew: timedelta = DEFAULT_MAX_SKEW) -> str:
    """parse_ec2 + a synchronous secret lookup + verify_ec2. Returns the verified access key."""
    parsed = parse_ec2(request, now, max_skew=max_skew)
    return verify_ec2(parsed, lookup_secret(parsed.access_key))
