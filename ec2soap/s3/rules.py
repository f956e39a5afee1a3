"""S3's request rules as pure functions: names, limits, kept headers, ranges, conditional requests, ETags.

No Twisted, no SQL, no file I/O, nothing from ec2soap.core. Header mappings given to these functions use
lower-case names.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from typing import Iterable, Mapping, Optional
from urllib.parse import unquote

from ec2soap.s3.errors import S3Error

__all__ = ["opaque_token", "Limits", "ObjectMeta", "validate_bucket_name", "validate_key", "meta_from_headers", "parse_range",
           "check_conditions", "check_copy_conditions", "parse_copy_source", "parse_copy_range",
           "multipart_etag", "http_date", "iso_date", "parse_http_date", "key_successor", "etag_header",
           "check_part_number", "parse_max", "STORAGE_CLASSES"]

GiB, MiB = 1024 ** 3, 1024 ** 2


@dataclass(frozen=True)
class Limits:
    """S3's documented limits; tests and operators may lower them (never raise them past S3's own)."""
    max_object_size: int = 5 * GiB          # single PUT and copy source
    max_part_size: int = 5 * GiB
    min_part_size: int = 5 * MiB            # every part but the last
    max_parts: int = 10000
    max_multipart_size: int = 5 * 1024 * GiB
    max_key_bytes: int = 1024
    max_metadata_bytes: int = 2048
    max_list: int = 1000                    # max-keys, max-uploads, max-parts ceiling
    max_delete_objects: int = 1000
    max_cors_rules: int = 100


# The headers S3 stores with an object and returns on GET/HEAD, besides Content-Type and x-amz-meta-*.
KEPT_HEADERS = ("cache-control", "content-disposition", "content-encoding", "content-language", "expires",
                "x-amz-website-redirect-location", "x-amz-storage-class")
STORAGE_CLASSES = ("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                   "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "OUTPOSTS", "EXPRESS_ONEZONE")
DEFAULT_CONTENT_TYPE = "binary/octet-stream"  # what S3 answers for objects PUT without a Content-Type

_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def validate_bucket_name(name: str) -> None:
    """S3's rules for new buckets (DNS-compatible): 3–63 of a-z 0-9 . -, letters or digits at both ends,
    no '..', '.-' or '-.', not an IPv4 address, none of the reserved prefixes and suffixes."""
    bad = (not _BUCKET_NAME.fullmatch(name) or ".." in name or ".-" in name or "-." in name
           or name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
           or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3")))
    if not bad:
        try:
            ipaddress.IPv4Address(name)
            bad = True
        except ValueError:
            pass
    if bad:
        raise S3Error("InvalidBucketName", bucket_name=name)


def validate_key(key: str, limits: Limits) -> None:
    if not key:
        raise S3Error("InvalidArgument", "Key must not be empty", argument_name="key", argument_value=key)
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        raise S3Error("InvalidArgument", "Key is not valid UTF-8", argument_name="key") from None
    if size > limits.max_key_bytes:
        raise S3Error("KeyTooLongError", size=size, max_size_allowed=limits.max_key_bytes)


@dataclass
class ObjectMeta:
    """What an object keeps from its PUT (or initiate, or copy with REPLACE) headers."""
    content_type: str | None = None
    headers: dict = field(default_factory=dict)
    user_meta: dict = field(default_factory=dict)


def wire_text(value: str) -> str:
    """A header value as its sender meant it: headers arrive as their bytes read as latin-1, and a client that
    sends non-ASCII metadata (botocore, SigV4) sends UTF-8, which answers send back as UTF-8. Bytes that are
    no UTF-8 stay as they came."""
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def meta_from_headers(headers: Mapping[str, str], limits: Limits) -> ObjectMeta:
    user_meta = {name[len("x-amz-meta-"):]: wire_text(value) for name, value in headers.items()
                 if name.startswith("x-amz-meta-")}
    # S3 counts the UTF-8 bytes of each name (without x-amz-meta-) and value.
    size = sum(len(k.encode()) + len(v.encode()) for k, v in user_meta.items())
    if size > limits.max_metadata_bytes:
        raise S3Error("MetadataTooLarge", size=size, max_size_allowed=limits.max_metadata_bytes)
    kept = {name: headers[name] for name in KEPT_HEADERS if name in headers}
    if "content-encoding" in kept:
        # aws-chunked is the transfer framing of a SigV4 streaming upload, not part of the object.
        codings = [c.strip() for c in kept["content-encoding"].split(",") if c.strip().lower() != "aws-chunked"]
        if codings:
            kept["content-encoding"] = ", ".join(codings)
        else:
            del kept["content-encoding"]
    storage_class = kept.get("x-amz-storage-class")
    if storage_class is not None and storage_class not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", storage_class_requested=storage_class)
    return ObjectMeta(headers.get("content-type") or DEFAULT_CONTENT_TYPE, kept, user_meta)


def check_part_number(value: object, limits: Limits) -> int:
    try:
        number = int(str(value))
    except ValueError:
        number = 0
    if not 1 <= number <= limits.max_parts:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and %d, inclusive"
                      % limits.max_parts, argument_name="partNumber", argument_value=str(value))
    return number


def parse_max(value: Optional[str], name: str, limits: Limits) -> int:
    """max-keys / max-uploads / max-parts: default and ceiling S3's 1000; not a non-negative integer →
    InvalidArgument."""
    if value is None or value == "":
        return limits.max_list
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise S3Error("InvalidArgument", "Provided %s not an integer or within integer range" % name,
                      argument_name=name, argument_value=str(value))
    return min(number, limits.max_list)


def parse_range(header: Optional[str], size: int) -> Optional[tuple[int, int]]:
    """The inclusive (start, end) a Range header asks for, or None to send the whole object.

    S3 quirk: it serves one range only; a malformed header or a list of ranges is ignored (200 with the whole
    object), while a well-formed range that starts past the end is InvalidRange (416)."""
    if not header:
        return None
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise S3Error("InvalidRange", actual_object_size=size, range_requested=header.strip())
        return max(0, size - suffix), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise S3Error("InvalidRange", actual_object_size=size, range_requested=header.strip())
    return start, min(end, size - 1)


def parse_copy_range(header: str, size: int) -> tuple[int, int]:
    """x-amz-copy-source-range: both ends required and inside the source (unlike Range)."""
    match = re.fullmatch(r"bytes=(\d+)-(\d+)", header.strip())
    if not match:
        raise S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last "
                      "where first and last are the zero-based offsets of the first and last bytes to copy",
                      argument_name="x-amz-copy-source-range", argument_value=header)
    start, end = int(match.group(1)), int(match.group(2))
    if end < start or end >= size:
        raise S3Error("InvalidArgument", "Range specified is not valid for source object of size: %d" % size,
                      argument_name="x-amz-copy-source-range", argument_value=header)
    return start, end


def parse_copy_source(value: str) -> tuple[str, str, Optional[str]]:
    """x-amz-copy-source "[/]bucket/key[?versionId=v]" (URL-encoded) → (bucket, key, version id)."""
    path, _, query = value.partition("?")
    version_id = None
    for item in query.split("&") if query else ():
        name, _, val = item.partition("=")
        if name == "versionId":
            version_id = unquote(val)
        else:
            raise S3Error("InvalidArgument", "Unsupported copy source parameter.",
                          argument_name="x-amz-copy-source", argument_value=value)
    bucket, _, key = unquote(path).lstrip("/").partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Copy Source must mention the source bucket and key: "
                      "sourcebucket/sourcekey", argument_name="x-amz-copy-source", argument_value=value)
    return bucket, key, version_id


def http_date(timestamp: float) -> str:
    """RFC 7231 date, for Last-Modified."""
    return format_datetime(datetime.fromtimestamp(int(timestamp), timezone.utc), usegmt=True)


def iso_date(timestamp: float) -> str:
    """The listing form, 2009-10-12T17:50:30.000Z."""
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def parse_http_date(value: Optional[str]) -> Optional[float]:
    """An HTTP date (RFC 1123, 850 or asctime) or ISO 8601; None if absent or unparseable (S3 then ignores
    the condition)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def etag_header(etag: str) -> str:
    return f'"{etag}"'


def _etag_matches(condition: str, etag: str) -> bool:
    for item in condition.split(","):
        item = item.strip()
        if item.startswith("W/"):
            item = item[2:]
        if item == "*" or item.strip('"') == etag:
            return True
    return False


def _conditions(etag: str, last_modified: float, if_match: Optional[str], if_none_match: Optional[str],
                if_modified_since: Optional[str], if_unmodified_since: Optional[str], now: float) -> Optional[str]:
    """→ None, "412" or "304", with RFC 7232's precedence, which S3 follows: If-Match decides and hides
    If-Unmodified-Since; If-None-Match decides and hides If-Modified-Since."""
    modified = int(last_modified)  # HTTP dates have whole seconds
    if if_match is not None:
        if not _etag_matches(if_match, etag):
            return "412"
    else:
        since = parse_http_date(if_unmodified_since)
        if since is not None and modified > since:
            return "412"
    if if_none_match is not None:
        if _etag_matches(if_none_match, etag):
            return "304"
    else:
        since = parse_http_date(if_modified_since)
        # A date in the future is invalid (RFC 7232 §3.3) and ignored.
        if since is not None and since <= now and modified <= since:
            return "304"
    return None


def check_conditions(headers: Mapping[str, str], etag: str, last_modified: float, now: float,
                     response_headers: Mapping[str, str] | None = None) -> None:
    """GET/HEAD If-* headers → PreconditionFailed (412) or NotModified (304, carrying ETag/Last-Modified)."""
    outcome = _conditions(etag, last_modified, headers.get("if-match"), headers.get("if-none-match"),
                          headers.get("if-modified-since"), headers.get("if-unmodified-since"), now)
    if outcome == "412":
        raise S3Error("PreconditionFailed", condition=_first_present(headers, (
            "if-match", "if-unmodified-since")) or "If-Match")
    if outcome == "304":
        raise S3Error("NotModified", headers=response_headers)


def check_copy_conditions(headers: Mapping[str, str], etag: str, last_modified: float, now: float) -> None:
    """x-amz-copy-source-if-*: the same precedence, but every failure is PreconditionFailed (412)."""
    p = "x-amz-copy-source-"
    outcome = _conditions(etag, last_modified, headers.get(p + "if-match"), headers.get(p + "if-none-match"),
                          headers.get(p + "if-modified-since"), headers.get(p + "if-unmodified-since"), now)
    if outcome is not None:
        raise S3Error("PreconditionFailed", condition=_first_present(headers, (
            p + "if-match", p + "if-unmodified-since", p + "if-none-match", p + "if-modified-since")))


def _first_present(headers: Mapping[str, str], names: Iterable[str]) -> Optional[str]:
    return next((name for name in names if name in headers), None)


def multipart_etag(part_md5s: Iterable[str]) -> str:
    """S3's multipart ETag: MD5 of the concatenated binary part MD5s, then "-" and the part count."""
    digests = [binascii.unhexlify(md5) for md5 in part_md5s]
    return "%s-%d" % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests))


def decode_content_md5(value: str) -> bytes:
    """Content-MD5 (base64 of 16 bytes) → digest; anything else is InvalidDigest."""
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != 16:
        raise S3Error("InvalidDigest", content_md5=value)
    return digest


def key_successor(prefix: bytes) -> Optional[bytes]:
    """The smallest byte string greater than every string starting with PREFIX (None: there is none)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


def opaque_token(nbytes: int) -> str:
    """A random URL-safe id (version ids, upload ids, lifecycle rule ids) that never begins with "-": a client's
    command line (awscli's --version-id, --upload-id) would take such a value for an option."""
    while True:
        token = secrets.token_urlsafe(nbytes)
        if not token.startswith("-"):
            return token
