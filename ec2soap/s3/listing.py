"""S3 listings: ListObjects v1 and v2, ListObjectVersions, and the key-ordered page walk (prefix, delimiter,
markers) that multipart upload listings share. One family of S3Operations over the shared OpsContext."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket, ObjectVersion
from ec2soap.s3.rules import key_successor, parse_max
from ec2soap.s3.context import OpsContext

__all__ = ["Listing", "ListResult", "VersionsResult", "walk", "upper_bound", "last_entry", "check_encoding"]


@dataclass
class ListResult:
    """ListObjects v1/v2. Keys and prefixes are raw; the XML layer applies encoding_type."""
    bucket: str
    prefix: str
    delimiter: Optional[str]
    max_keys: int
    encoding_type: Optional[str]
    contents: list[ObjectVersion]
    common_prefixes: list[str]
    is_truncated: bool
    marker: Optional[str] = None             # v1
    next_marker: Optional[str] = None        # v1 (S3 sends it only with a delimiter; boto uses the last key)
    continuation_token: Optional[str] = None  # v2
    next_continuation_token: Optional[str] = None
    start_after: Optional[str] = None
    fetch_owner: bool = False

    @property
    def key_count(self) -> int:
        return len(self.contents) + len(self.common_prefixes)


@dataclass
class VersionsResult:
    bucket: str
    prefix: str
    delimiter: Optional[str]
    max_keys: int
    encoding_type: Optional[str]
    key_marker: str
    version_id_marker: str
    versions: list[ObjectVersion]  # in order; delete markers have .delete_marker set
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: Optional[str] = None
    next_version_id_marker: Optional[str] = None


class Listing(OpsContext):
    """ListObjects (v1, v2) and ListObjectVersions."""

    # -- listing --------------------------------------------------------------------------------------------

    def list_objects(self, caller: Optional[str], bucket: str, prefix: str = "", delimiter: Optional[str] = None,
                     marker: Optional[str] = None, max_keys: Optional[str] = None,
                     encoding_type: Optional[str] = None, context: Mapping[str, Any] | None = None) -> ListResult:
        """ListObjects (v1)."""
        limit = parse_max(max_keys, "max-keys", self.limits)
        check_encoding(encoding_type)
        context = _listing_context(context, prefix, delimiter, limit)
        found, items, prefixes, truncated = self._list(caller, bucket, prefix or "", delimiter or None,
                                                       marker or None, limit, context)
        result = ListResult(bucket, prefix or "", delimiter or None, limit, encoding_type, items, prefixes,
                            truncated, marker=marker or "")
        if truncated:
            result.next_marker = _last_name(items, prefixes)
        return result

    def list_objects_v2(self, caller: Optional[str], bucket: str, prefix: str = "",
                        delimiter: Optional[str] = None, continuation_token: Optional[str] = None,
                        start_after: Optional[str] = None, max_keys: Optional[str] = None,
                        encoding_type: Optional[str] = None, fetch_owner: bool = False,
                        context: Mapping[str, Any] | None = None) -> ListResult:
        """ListObjectsV2. The continuation token is opaque to clients: base64url of the last name returned."""
        limit = parse_max(max_keys, "max-keys", self.limits)
        check_encoding(encoding_type)
        start = start_after or None
        if continuation_token is not None:
            try:
                start = base64.b64decode(continuation_token.encode("ascii"), altchars=b"-_",
                                         validate=True).decode("utf-8")
                if not start:
                    raise ValueError("empty token")
            except (ValueError, UnicodeError):
                raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                              argument_name="continuation-token", argument_value=continuation_token) from None
        context = _listing_context(context, prefix, delimiter, limit)
        found, items, prefixes, truncated = self._list(caller, bucket, prefix or "", delimiter or None, start,
                                                       limit, context)
        result = ListResult(bucket, prefix or "", delimiter or None, limit, encoding_type, items, prefixes,
                            truncated, continuation_token=continuation_token, start_after=start_after,
                            fetch_owner=fetch_owner)
        if truncated:
            last = _last_name(items, prefixes)
            result.next_continuation_token = base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")
        return result

    def _list(self, caller: Optional[str], bucket: str, prefix: str, delimiter: Optional[str],
              start: Optional[str], limit: int, context: Mapping[str, Any]
              ) -> tuple[Bucket, list[ObjectVersion], list[str], bool]:
        def run(conn: Any) -> tuple[Bucket, list[ObjectVersion], list[str], bool]:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:ListBucket", found, context=context)
            items, prefixes, truncated = walk(
                lambda after, inclusive, n: self.meta.list_latest(conn, found.id, after, upper_bound(prefix), n,
                                                                  inclusive),
                lambda v: (v.key.encode(), None), prefix, delimiter, start, None, limit)
            return found, items, prefixes, truncated
        return self.store.run_sync(run)

    def list_object_versions(self, caller: Optional[str], bucket: str, prefix: str = "",
                             delimiter: Optional[str] = None, key_marker: Optional[str] = None,
                             version_id_marker: Optional[str] = None, max_keys: Optional[str] = None,
                             encoding_type: Optional[str] = None,
                             context: Mapping[str, Any] | None = None) -> VersionsResult:
        """ListObjectVersions: versions and delete markers, by key then newest first."""
        limit = parse_max(max_keys, "max-keys", self.limits)
        check_encoding(encoding_type)
        if version_id_marker and not key_marker:
            raise S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.",
                          argument_name="version-id-marker", argument_value=version_id_marker)
        context = _listing_context(context, prefix, delimiter, limit)
        prefix = prefix or ""

        def run(conn: Any) -> VersionsResult:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:ListBucketVersions", found, context=context)
            after_id = None
            if version_id_marker:
                marked = self.meta.get_object(conn, found.id, key_marker, version_id_marker)  # type: ignore[arg-type]
                after_id = marked.id if marked is not None else _gone_marker(version_id_marker)
            items, prefixes, truncated = walk(
                lambda after, inclusive, n, after_id=None: self.meta.list_versions(
                    conn, found.id, after, after_id, upper_bound(prefix), n, inclusive),
                lambda v: (v.key.encode(), v.id), prefix, delimiter or None, key_marker or None, after_id, limit)
            result = VersionsResult(bucket, prefix, delimiter or None, limit, encoding_type, key_marker or "",
                                    version_id_marker or "", items, prefixes, truncated)
            if truncated:
                last = last_entry(items, prefixes)
                if isinstance(last, str):
                    result.next_key_marker = last
                else:
                    result.next_key_marker, result.next_version_id_marker = last.key, last.version_id
            return result
        return self.store.run_sync(run)


# A version id this gateway could have made: "null" or new_version_id()'s 24 random bytes in URL-safe base64.
_VERSION_ID = re.compile(r"null|[A-Za-z0-9_-]{32}")
# Past every row id: the marker key's remaining versions are all "after" it.
_BEFORE_EVERY_VERSION = 2 ** 63 - 1


def _gone_marker(version_id_marker: str) -> int:
    """The position of a version-id marker that names no version (any more): S3 takes a marker as a place in
    the listing, not a version that must still exist, so a client that deletes each page while paging (and a
    key marker past every key) goes on. The deleted version's place among its key's versions is not known
    here; its key's remaining versions are listed again from the newest (a pager that deleted the page loses
    none, and one that did not sees them twice rather than never). A value that cannot be a version id is
    S3's InvalidArgument."""
    if not _VERSION_ID.fullmatch(version_id_marker):
        raise S3Error("InvalidArgument", "Invalid version id specified",
                      argument_name="version-id-marker", argument_value=version_id_marker)
    return _BEFORE_EVERY_VERSION


def check_encoding(encoding_type: Optional[str]) -> None:
    if encoding_type not in (None, "", "url"):
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      argument_name="encoding-type", argument_value=encoding_type)


def _listing_context(context: Mapping[str, Any] | None, prefix: Optional[str], delimiter: Optional[str],
                     max_keys: int) -> dict:
    merged = dict(context or {})
    merged.setdefault("s3:prefix", prefix or "")
    if delimiter:
        merged.setdefault("s3:delimiter", delimiter)
    merged.setdefault("s3:max-keys", str(max_keys))
    return merged


def upper_bound(prefix: str) -> Optional[bytes]:
    return key_successor(prefix.encode()) if prefix else None


def _last_name(items: Sequence[Any], prefixes: Sequence[str]) -> str:
    last = last_entry(items, prefixes)
    return last if isinstance(last, str) else last.key


def last_entry(items: Sequence[Any], prefixes: Sequence[str]) -> Any:
    # Results are in key order with common prefixes merged in; the last one is the larger.
    candidates: list[tuple[bytes, int, Any]] = []
    if items:
        candidates.append((items[-1].key.encode(), 0, items[-1]))
    if prefixes:
        candidates.append((prefixes[-1].encode(), 1, prefixes[-1]))
    return max(candidates, key=lambda c: (c[0], c[1]))[2]


def walk(fetch: Callable[..., list], position: Callable[[Any], tuple[bytes, Optional[int]]], prefix: str,
          delimiter: Optional[str], start: Optional[str], start_id: Optional[int],
          limit: int) -> tuple[list, list[str], bool]:
    """One page of a key-ordered listing with S3's prefix/delimiter rules, in as few queries as possible:
    each common prefix found makes the next query jump past every key under it.

    FETCH(after: bytes, inclusive: bool, n[, after_id]) returns the next N rows; START is the exclusive
    marker (START_ID a row id within START's key, for version/upload markers). → (rows, prefixes,
    truncated)."""
    if limit == 0:
        return [], [], False
    pfx = prefix.encode()
    after: Optional[bytes] = start.encode() if start is not None else None
    after_id = start_id
    inclusive = False
    if pfx and (after is None or after < pfx):
        after, after_id, inclusive = pfx, None, True
    elif delimiter and start is not None and start_id is None and start.startswith(prefix):
        # A marker that is itself a common prefix (our NextMarker after a page ending in one) skips it whole.
        cut = start.find(delimiter, len(prefix))
        if cut >= 0 and start == start[:cut + len(delimiter)]:
            nxt = key_successor(start.encode())
            if nxt is None:
                return [], [], False
            after, inclusive = nxt, True
    rows: list = []
    prefixes: list[str] = []
    count = 0
    while True:
        want = limit - count + 1
        batch = fetch(after, inclusive, want, after_id) if after_id is not None else fetch(after, inclusive, want)
        jumped = False
        for row in batch:
            if count == limit:
                return rows, prefixes, True
            key = row.key
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[:cut + len(delimiter)]
                    prefixes.append(common)
                    count += 1
                    nxt = key_successor(common.encode())
                    if nxt is None:
                        return rows, prefixes, False
                    after, after_id, inclusive, jumped = nxt, None, True, True
                    break
            rows.append(row)
            count += 1
        if not jumped:
            if len(batch) < want:
                return rows, prefixes, False
            last_key, last_id = position(batch[-1])
            after, after_id, inclusive = last_key, last_id, False
