"""Signature Version 4 primitives shared by the EC2 Query and S3 checks. No Twisted, Spyne or SQL here.

Everything that does not need the secret is computed while parsing, so an adapter can look the
secret up asynchronously between parse and verify; `V4Check.verify` is the only step using it.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Callable, Iterable, Sequence
from urllib.parse import quote

from .errors import AuthError
from .request import HttpRequestInfo

__all__ = [
    "ALGORITHM", "AMZ_DATE_FORMAT", "EMPTY_SHA256", "UNSIGNED_PAYLOAD", "Credential", "V4Check",
    "uri_encode", "canonical_query", "canonical_headers",
    "normalize_path", "parse_amz_date", "parse_authorization", "parse_credential",
    "derive_signing_key", "string_to_sign", "hmac_sha256_hex", "is_hex_signature",
]

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
TERMINATOR = "aws4_request"

_AMZ_DATE = re.compile(r"^(\d{8})T(\d{6})Z$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def uri_encode(value: str, *, keep_slash: bool = False) -> str:
    """RFC 3986 encoding as SigV4 wants it: only A-Z a-z 0-9 - _ . ~ stay (and '/', if asked)."""
    return quote(value, safe="/~" if keep_slash else "~")


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Decoded pairs → `name=value&...`, each side re-encoded, sorted by name then value."""
    encoded = sorted((uri_encode(k), uri_encode(v)) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def normalize_path(path: str) -> str:
    """RFC 3986 dot-segment removal plus collapsed '//', keeping a trailing '/' (non-S3 SigV4)."""
    if not path:
        return "/"
    segments: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if segments:
                segments.pop()
        else:
            segments.append(segment)
    normalized = "/" + "/".join(segments)
    if path.endswith("/") and normalized != "/":
        normalized += "/"
    return normalized


def canonical_headers(request: HttpRequestInfo, signed: Sequence[str]) -> str:
    """`name:value\\n` for each signed header: values trimmed, inner runs of spaces collapsed."""
    lines = []
    for name in signed:
        if name == "host":
            values: Sequence[str] = (request.host or "",)
        else:
            values = request.header_values(name)
        lines.append(name + ":" + ",".join(" ".join(v.split()) for v in values) + "\n")
    return "".join(lines)


def parse_amz_date(value: str) -> datetime:
    """`20261125T120000Z` → aware UTC datetime; ValueError if it is anything else."""
    match = _AMZ_DATE.match(value.strip())
    if not match:
        raise ValueError("not an ISO 8601 basic date")
    return datetime.strptime(value.strip(), AMZ_DATE_FORMAT).replace(tzinfo=timezone.utc)


def header_date(request: HttpRequestInfo) -> tuple[str, datetime] | None:
    """The request time for header auth: X-Amz-Date, else an RFC 1123 Date, as (amz-date, dt).

    None when neither header is there; ValueError when the one there does not parse.
    """
    amz = request.header("x-amz-date")
    if amz is not None:
        when = parse_amz_date(amz)
        return amz.strip(), when
    date = request.header("date")
    if date is None:
        return None
    try:
        when = parsedate_to_datetime(date)
    except (TypeError, ValueError, IndexError) as exc:
        raise ValueError("bad Date header") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    when = when.astimezone(timezone.utc)
    return when.strftime(AMZ_DATE_FORMAT), when


@dataclass(frozen=True)
class Credential:
    """`AKID/20261125/us-east-1/ec2/aws4_request`, split."""

    access_key: str
    date: str
    region: str
    service: str
    terminator: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


_DATE8 = re.compile(r"\d{8}")


def parse_credential(value: str) -> Credential:
    """Split a credential; ValueError unless it has five non-empty parts and an 8-digit date."""
    # Access keys never contain '/', so the last four parts are the scope.
    parts = value.strip().split("/")
    if len(parts) != 5 or not all(parts) or not _DATE8.fullmatch(parts[1]):
        raise ValueError("credential must be <key>/<YYYYMMDD>/<region>/<service>/aws4_request")
    return Credential(*parts)


def parse_authorization(value: str) -> tuple[Credential, list[str], str]:
    """`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=a;b, Signature=hex` → its three parts.

    ValueError (with a message safe to show) when a part is missing or malformed.
    """
    scheme, _, rest = value.strip().partition(" ")
    if scheme != ALGORITHM:
        raise ValueError(f"unsupported authorization type, expected {ALGORITHM}")
    parts: dict[str, str] = {}
    for item in rest.split(","):
        name, sep, val = item.strip().partition("=")
        if not sep:
            if item.strip():
                raise ValueError(f"authorization header part {name!r} is not name=value")
            continue
        if name in parts:
            raise ValueError(f"authorization header repeats {name}")
        parts[name] = val.strip()
    for name in ("Credential", "SignedHeaders", "Signature"):
        if not parts.get(name):
            raise ValueError(f"Authorization header requires '{name}' parameter")
    signed = parts["SignedHeaders"].split(";")
    return parse_credential(parts["Credential"]), signed, parts["Signature"]


def check_signed_headers(signed: Sequence[str]) -> None:
    """ValueError unless the list is lower-case, sorted, unique and includes host."""
    if any(not h or h != h.lower() for h in signed) or list(signed) != sorted(set(signed)):
        raise ValueError("SignedHeaders must be lower-case, sorted and unique")
    if "host" not in signed:
        raise ValueError("'Host' must be a signed header")


def derive_signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over date, region, service and 'aws4_request', seeded by 'AWS4'+secret.

    Kept per (secret, date, region, service): a client signs every request of a day with the same key, and the
    chain is four HMACs per request. The secrets are the callers' own, already held by the credentials
    cache; the table is bounded (cleared when full)."""
    entry = (secret, date, region, service)
    key = _SIGNING_KEYS.get(entry)
    if key is None:
        key = ("AWS4" + secret).encode("utf-8")
        for part in (date, region, service, TERMINATOR):
            key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
        if len(_SIGNING_KEYS) >= 1024:
            _SIGNING_KEYS.clear()
        _SIGNING_KEYS[entry] = key
    return key


_SIGNING_KEYS: dict[tuple[str, str, str, str], bytes] = {}


def string_to_sign(amz_date: str, scope: str, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def hmac_sha256_hex(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def is_hex_signature(value: str) -> bool:
    return bool(_HEX64.match(value))


@dataclass(frozen=True)
class V4Check:
    """A parsed SigV4 request: everything but the secret. `verify` finishes the job."""

    credential: Credential
    amz_date: str
    signature: str = field(repr=False)
    # Canonical requests a correct client may have signed (S3's path spellings; one query each).
    canonical_requests: tuple[str, ...] = field(repr=False)

    def verify(self, secret: str, mismatch: Callable[[str], AuthError]) -> tuple[bytes, str]:
        """Return (signing key, matched signature) or raise `mismatch(string_to_sign)`.

        Every candidate is computed and compared in constant time, so timing does not tell
        which reading, if any, came close.
        """
        cred = self.credential
        key = derive_signing_key(secret, cred.date, cred.region, cred.service)
        provided = self.signature.lower().encode("ascii", "replace")
        matched = False
        first_sts = None
        for canonical in self.canonical_requests:
            sts = string_to_sign(self.amz_date, cred.scope, canonical)
            first_sts = first_sts or sts
            expected = hmac_sha256_hex(key, sts).encode("ascii")
            matched |= hmac.compare_digest(expected, provided)
        if not matched:
            raise mismatch(first_sts or "")
        return key, self.signature.lower()


def build_canonical_requests(method: str, uris: Sequence[str], queries: Sequence[str],
                             headers: str, signed: Sequence[str], payload: str) -> tuple[str, ...]:
    """Every (uri, query) combination as a canonical request, first the most standard one."""
    signed_list = ";".join(signed)
    readings = [headers]
    if not headers.isascii():
        # Header values are the wire's bytes read as latin-1; a client signs those very bytes (botocore sends
        # and signs non-ASCII metadata as UTF-8), so its canonical request is their UTF-8 reading.
        try:
            readings.append(headers.encode("latin-1").decode("utf-8"))
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    out = []
    for reading in readings:
        for uri in dict.fromkeys(uris):
            for query in queries:
                out.append(f"{method}\n{uri}\n{query}\n{reading}\n{signed_list}\n{payload}")
    return tuple(out)
