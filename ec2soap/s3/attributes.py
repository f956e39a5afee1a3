"""S3 GetObjectAttributes (`GET ?attributes`) and reads by part (`partNumber` on GetObject/HeadObject).

One family of S3Operations over the shared OpsContext. A multipart object is a manifest of its part blobs
(s3.metadata), so a part's bytes are a span of the object found from the part sizes alone, and its
checksums are the ones kept beside the manifest (s3_object.part_checksums, migration 0010).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ec2soap.s3.context import OpsContext
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import ObjectVersion
from ec2soap.s3.rules import check_part_number, http_date

__all__ = ["ObjectAttributes", "AttributesResult", "ATTRIBUTES", "parse_attributes", "part_span",
           "part_checksums"]

# x-amz-object-attributes values, in the order S3 writes their elements.
ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")


@dataclass
class AttributesResult:
    version: ObjectVersion
    versioned: bool
    wanted: frozenset
    parts: list            # [(part number, size, {algorithm: value})] of this page
    part_number_marker: int
    next_part_number_marker: int
    max_parts: int
    is_truncated: bool


def parse_attributes(value: Optional[str]) -> frozenset:
    """x-amz-object-attributes (comma-separated, at least one, each one S3 knows) → the set asked for."""
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    if not names:
        raise S3Error("InvalidArgument", "The x-amz-object-attributes header specifying the attributes to be "
                      "retrieved is either missing or empty", argument_name="x-amz-object-attributes",
                      argument_value=value or "")
    for name in names:
        if name not in ATTRIBUTES:
            raise S3Error("InvalidArgument", "Invalid attribute name specified.",
                          argument_name="x-amz-object-attributes", argument_value=name)
    return frozenset(names)


def part_checksums(version: ObjectVersion, number: int) -> dict:
    """The checksums of part NUMBER of VERSION (a simple object's part 1 is the object)."""
    if version.manifest is None:
        return dict(version.checksums) if number == 1 else {}
    stored = version.part_checksums or []
    return dict(stored[number - 1]) if number <= len(stored) else {}


def part_span(version: ObjectVersion, value: str, has_range: bool, limits: Any) -> Optional[tuple[int, int]]:
    """partNumber=VALUE of GetObject/HeadObject → the byte span (None: an empty object's part 1)."""
    if has_range:
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter.")
    number = check_part_number(value, limits)
    sizes = [size for _, size in version.manifest] if version.manifest is not None else [version.size]
    if number > len(sizes):
        raise S3Error("InvalidPartNumber", part_number_requested=number, actual_part_count=len(sizes))
    start = sum(sizes[:number - 1])
    return (start, start + sizes[number - 1] - 1) if sizes[number - 1] else None


class ObjectAttributes(OpsContext):
    """GetObjectAttributes."""

    def get_object_attributes(self, caller: Optional[str], bucket: str, key: str, version_id: Optional[str],
                              headers: Mapping[str, str], context: Mapping[str, Any] | None = None
                              ) -> AttributesResult:
        wanted = parse_attributes(headers.get("x-amz-object-attributes"))
        limit = _header_int(headers, "x-amz-max-parts", 1000)
        after = _header_int(headers, "x-amz-part-number-marker", 0)

        def read(conn: Any) -> AttributesResult:
            found = self._bucket(conn, bucket)
            version = self.meta.get_object(conn, found.id, key, version_id)
            if version is None:
                raise self._missing_key(caller, found, key, context, version_id)
            if version.delete_marker:
                marker = {"x-amz-delete-marker": "true", "x-amz-version-id": version.version_id,
                          "Last-Modified": http_date(version.last_modified)}
                if version_id is not None:
                    raise S3Error("MethodNotAllowed", headers=marker, method="GET", resource_type="DeleteMarker")
                raise S3Error("NoSuchKey", headers=marker, key=key)
            action = "s3:GetObjectVersionAttributes" if version_id else "s3:GetObjectAttributes"
            self._require(caller, action, found, key, version, context)
            return _result(version, found.versioning is not None, wanted, after, limit)
        return self.store.run_sync(read)


def _header_int(headers: Mapping[str, str], name: str, default: int) -> int:
    value = headers.get(name)
    if value is None or value == "":
        return default
    if not (value.isascii() and value.isdigit()) or int(value) >= 2 ** 31:
        raise S3Error("InvalidArgument", "Provided %s not an integer or within integer range" % name,
                      argument_name=name, argument_value=value)
    return int(value)


def _result(version: ObjectVersion, versioned: bool, wanted: frozenset, after: int, limit: int
            ) -> AttributesResult:
    parts: list = []
    truncated = False
    if version.manifest is not None and "ObjectParts" in wanted:
        every = [(number, size, part_checksums(version, number))
                 for number, (_, size) in enumerate(version.manifest, start=1)]
        page = [part for part in every if part[0] > after]
        truncated = len(page) > limit
        parts = page[:limit]
    next_marker = parts[-1][0] if parts else after
    return AttributesResult(version, versioned, wanted, parts, after, next_marker, min(limit, 1000), truncated)

