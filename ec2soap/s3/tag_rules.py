"""S3 tag sets as S3 validates them: the `x-amz-tagging` header, the limits of an object's and a bucket's tag
set, the policy condition keys tags give a request, and the tags stored with a version.

A tag set is a dict key → value (S3 keys are unique within a set). Stored as JSON in the `tags` columns of
s3_object (per version), s3_upload and s3_bucket (migration 0006_s3_tagging). Pure functions: no SQL, no
XML, no Twisted; s3.context (the access decision) and s3.xml_tagging use them, so this module imports
neither.
"""
from __future__ import annotations

import json
import unicodedata
from typing import Any, Mapping, Optional
from urllib.parse import unquote_to_bytes

from ec2soap.s3.errors import S3Error

__all__ = ["MAX_OBJECT_TAGS", "MAX_BUCKET_TAGS", "MAX_KEY", "MAX_VALUE", "HEADER", "OWNER_ACTIONS", "check_tag",
           "check_object_tags", "check_bucket_tags", "parse_tagging_header", "version_tags", "dumps",
           "loads", "with_existing_tags", "with_request_tags", "tagging_directive"]

MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
HEADER = "x-amz-tagging"
# Besides letters, digits and spaces (any script), S3 allows these in tag keys and values.
_PUNCTUATION = set("+-=._:/@")
_HEADER_MESSAGE = ("The header 'x-amz-tagging' shall be encoded as UTF-8 then URLEncoded URL query parameters "
                   "without tag name duplicates.")

# Object tagging actions the object's owner may do without a grant (no ACL permission maps to them; the
# bucket owner may too, as for every action outside the ACL mapping; a bucket policy can allow others).
OWNER_ACTIONS = frozenset({"s3:GetObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObjectTagging",
                           "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging",
                           "s3:DeleteObjectVersionTagging"})


def _allowed(text: str) -> bool:
    return all(c in _PUNCTUATION or unicodedata.category(c)[0] in "LNZ" for c in text)


def check_tag(key: str, value: str) -> None:
    """One tag: InvalidTag for an empty, too long or ill-charactered key or value, as S3 answers."""
    if not key or not _allowed(key):
        raise S3Error("InvalidTag", "The TagKey you have provided is invalid")
    if len(key) > MAX_KEY:
        raise S3Error("InvalidTag", "The TagKey you have provided is too long, max %d" % MAX_KEY)
    if not _allowed(value):
        raise S3Error("InvalidTag", "The TagValue you have provided is invalid")
    if len(value) > MAX_VALUE:
        raise S3Error("InvalidTag", "The TagValue you have provided is too long, max %d" % MAX_VALUE)


def _check_pairs(pairs: list[tuple[str, str]]) -> dict:
    for key, value in pairs:
        check_tag(key, value)
    tags = dict(pairs)
    if len(tags) != len(pairs):
        raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
    return tags


def check_object_tags(pairs: list[tuple[str, str]]) -> dict:
    """An object's tag set from PutObjectTagging's (key, value) pairs: at most 10, unique keys, none under
    the reserved aws: prefix. → the dict."""
    if len(pairs) > MAX_OBJECT_TAGS:
        raise S3Error("BadRequest", "Object tags cannot be greater than %d" % MAX_OBJECT_TAGS)
    tags = _check_pairs(pairs)
    if any(key.lower().startswith("aws:") for key in tags):
        raise S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:")
    return tags


def check_bucket_tags(pairs: list[tuple[str, str]]) -> dict:
    """A bucket's tag set: at most 50, unique keys, none under aws: (system tags). → the dict."""
    if len(pairs) > MAX_BUCKET_TAGS:
        raise S3Error("InvalidTag", "Bucket tag count cannot be greater than %d" % MAX_BUCKET_TAGS)
    tags = _check_pairs(pairs)
    if any(key.lower().startswith("aws:") for key in tags):
        raise S3Error("InvalidTag", "System tags cannot be added/updated by requester")
    return tags


def _unquote(text: str) -> str:
    # URL query form: '+' is a space; a bad %-escape or bytes that are not UTF-8 make the header malformed.
    if any(not _is_hex_escape(text, i) for i, c in enumerate(text) if c == "%"):
        raise S3Error("InvalidArgument", _HEADER_MESSAGE, argument_name=HEADER, argument_value=text)
    try:
        return unquote_to_bytes(text.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidArgument", _HEADER_MESSAGE, argument_name=HEADER, argument_value=text) from None


def _is_hex_escape(text: str, at: int) -> bool:
    digits = text[at + 1:at + 3]
    return len(digits) == 2 and all(c in "0123456789abcdefABCDEF" for c in digits)


def parse_tagging_header(headers: Mapping[str, str]) -> Optional[dict]:
    """The tag set of `x-amz-tagging` (k1=v1&k2=v2, URL-encoded; a key alone has an empty value), None when
    the header is absent. Duplicates and bad encoding are InvalidArgument, the limits as PutObjectTagging."""
    header = headers.get(HEADER)
    if header is None:
        return None
    pairs: list[tuple[str, str]] = []
    for item in header.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((_unquote(name), _unquote(value)))
    if len({key for key, _ in pairs}) != len(pairs):
        raise S3Error("InvalidArgument", _HEADER_MESSAGE, argument_name=HEADER, argument_value=header)
    return check_object_tags(pairs)


def tagging_directive(headers: Mapping[str, str]) -> str:
    """CopyObject's x-amz-tagging-directive: COPY (the default: the source's tags) or REPLACE (the request's)."""
    directive = headers.get("x-amz-tagging-directive", "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown tagging directive.", argument_name="x-amz-tagging-directive",
                      argument_value=headers.get("x-amz-tagging-directive"))
    return directive


def dumps(tags: Optional[Mapping[str, str]]) -> Optional[str]:
    """The stored form: JSON (ASCII, whatever the column's character set), NULL for no tags."""
    return json.dumps(dict(tags), separators=(",", ":"), sort_keys=True) if tags else None


def loads(text: Optional[str]) -> dict:
    return dict(json.loads(text)) if text else {}


def version_tags(row: Any) -> dict:
    """The tag set of an object version, given its s3_object row or an s3.metadata.ObjectVersion (key → value;
    empty when it has none). The lifecycle sweeper filters rules by it."""
    stored = getattr(row, "tags", None)
    if isinstance(stored, dict):
        return dict(stored)
    return loads(stored)


# -- bucket policy condition keys ---------------------------------------------------------------------------

def with_existing_tags(context: Optional[Mapping[str, Any]], obj: Any) -> Optional[Mapping[str, Any]]:
    """CONTEXT plus s3:ExistingObjectTag/<key> for each tag of OBJ, the version acted on (if any)."""
    tags = getattr(obj, "tags", None) if obj is not None else None
    if not tags:
        return context
    out = dict(context or {})
    out.update({"s3:ExistingObjectTag/" + key: value for key, value in tags.items()})
    return out


def with_request_tags(context: Optional[Mapping[str, Any]], tags: Optional[Mapping[str, str]]
                      ) -> Optional[Mapping[str, Any]]:
    """CONTEXT plus s3:RequestObjectTag/<key> for each tag a write sends, and s3:RequestObjectTagKeys (a
    multivalued key: the policy engine's ForAnyValue:/ForAllValues: qualifiers read it as a set)."""
    if tags is None:
        return context
    out = dict(context or {})
    out.update({"s3:RequestObjectTag/" + key: value for key, value in tags.items()})
    out["s3:RequestObjectTagKeys"] = sorted(tags)
    return out
