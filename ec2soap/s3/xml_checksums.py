"""S3 XML for checksums: the Checksum<ALG> elements of write results, CompleteMultipartUpload's per-part
checksums, and the GetObjectAttributesResponse document. Built on s3.xml's writer and hardened parser."""
from __future__ import annotations

from typing import Any

from ec2soap.s3 import checksums
from ec2soap.s3.errors import S3Error
from ec2soap.s3.xml import _bool, _children, _el, _one, _parse, _root, add_checksums, document

__all__ = ["parse_part_checksums", "object_attributes"]


def parse_part_checksums(body: bytes) -> dict[int, dict[str, str]]:
    """CompleteMultipartUpload → {part number: {algorithm: value}} for the parts that carry a Checksum<ALG>
    (the part numbers and ETags are s3.xml.parse_complete_multipart_upload's)."""
    root = _parse(body, "CompleteMultipartUpload")
    found: dict[int, dict[str, str]] = {}
    for element in _children(root, "Part"):
        number = _one(element, "PartNumber")
        if not number or not (number.isascii() and number.isdigit()):
            raise S3Error("MalformedXML")
        values = {name: _one(element, checksums.element_name(name), required=False)
                  for name in checksums.KNOWN}
        values = {name: value for name, value in values.items() if value is not None}
        if values:
            found[int(number)] = values
    return found


def object_attributes(result: Any) -> bytes:
    """GetObjectAttributesResponse with the elements X-Amz-Object-Attributes asked for (ETag unquoted)."""
    version, wanted = result.version, result.wanted
    root = _root("GetObjectAttributesResponse")
    if "ETag" in wanted:
        _el(root, "ETag", version.etag)
    if "Checksum" in wanted and version.checksums:
        add_checksums(_el(root, "Checksum"), version.checksums)
    if "ObjectParts" in wanted and version.manifest is not None:
        parts = _el(root, "ObjectParts")
        _el(parts, "PartsCount", len(version.manifest))
        _el(parts, "PartNumberMarker", result.part_number_marker)
        _el(parts, "NextPartNumberMarker", result.next_part_number_marker)
        _el(parts, "MaxParts", result.max_parts)
        _el(parts, "IsTruncated", _bool(result.is_truncated))
        for number, size, values in result.parts:
            entry = _el(parts, "Part")
            add_checksums(entry, values, with_type=False)
            _el(entry, "PartNumber", number)
            _el(entry, "Size", size)
    if "StorageClass" in wanted:
        _el(root, "StorageClass", version.headers.get("x-amz-storage-class", "STANDARD"))
    if "ObjectSize" in wanted:
        _el(root, "ObjectSize", version.size)
    return document(root)
