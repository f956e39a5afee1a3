"""S3 XML: response documents in the 2006-03-01 namespace and hardened parsers of request bodies.

lxml only; no Twisted, no SQL, nothing from ec2soap.core. Parsers never resolve entities, never touch the
network, refuse DTDs and huge trees, and answer anything unexpected with MalformedXML (or MalformedACLError
for an AccessControlPolicy), as S3 does.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional, Sequence
from urllib.parse import quote_plus

from lxml import etree

from ec2soap.limits import parse_xml
from ec2soap.s3 import checksums
from ec2soap.s3.acl import GROUPS
from ec2soap.s3.errors import S3Error
from ec2soap.s3.principal import display_name_of, public_id
from ec2soap.s3.rules import etag_header, iso_date
from ec2soap.xmltext import clean

__all__ = ["NS", "document", "list_all_my_buckets", "list_bucket_result", "list_versions_result",
           "access_control_policy", "location_constraint", "versioning_configuration", "copy_object_result",
           "copy_part_result", "initiate_multipart_upload_result", "list_parts_result",
           "list_multipart_uploads_result", "complete_multipart_upload_result", "delete_result",
           "cors_configuration", "parse_create_bucket", "parse_access_control_policy", "parse_versioning",
           "parse_cors", "parse_delete", "parse_complete_multipart_upload", "MAX_BODY_BYTES"]

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
MAX_BODY_BYTES = 1024 * 1024  # no S3 configuration document comes near this; the resource should cap reads
MAX_DEPTH = 16  # the deepest S3 document (AccessControlPolicy) nests 5 levels


# -- writing ------------------------------------------------------------------------------------------------

def _el(parent: Any, name: str, text: Any = None) -> Any:
    child = etree.SubElement(parent, f"{{{NS}}}{name}")
    if text is not None:
        # Keys may hold characters XML 1.0 cannot carry (S3 clients should ask for encoding-type=url then):
        # they are replaced, as in every document we write (ec2soap.xmltext), never left to break the parser.
        child.text = clean(text)
    return child


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _root(name: str) -> Any:
    return etree.Element(f"{{{NS}}}{name}", nsmap={None: NS})


def document(root: Any) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _encoder(encoding_type: Optional[str]) -> Any:
    if encoding_type == "url":
        return lambda value: None if value is None else quote_plus(value, safe="/")
    return lambda value: value


def _owner(parent: Any, owner: str, name: str = "Owner") -> None:
    element = _el(parent, name)
    _canonical_user(element, owner)


def _canonical_user(element: Any, stored: str) -> None:
    """ID and DisplayName of a stored owner or grantee: its canonical id and account name (s3/owners.py);
    never a stored access key. A name not known here is left out, as S3 does in most regions."""
    _el(element, "ID", public_id(stored))
    name = display_name_of(stored)
    if name:
        _el(element, "DisplayName", name)


def list_all_my_buckets(owner: str, buckets: Iterable[Any], continuation_token: Optional[str] = None,
                        prefix: Optional[str] = None) -> bytes:
    """ListAllMyBucketsResult; CONTINUATION_TOKEN names the next page, PREFIX echoes the request's."""
    root = _root("ListAllMyBucketsResult")
    _owner(root, owner)
    listing = _el(root, "Buckets")
    for bucket in buckets:
        entry = _el(listing, "Bucket")
        _el(entry, "Name", bucket.name)
        _el(entry, "CreationDate", iso_date(bucket.created))
        _el(entry, "BucketRegion", bucket.location or "us-east-1")
    if continuation_token:
        _el(root, "ContinuationToken", continuation_token)
    if prefix:
        _el(root, "Prefix", prefix)
    return document(root)


def _listed_checksums(entry: Any, values: Any) -> None:
    """A listed object's or version's checksums as S3 lists them, after the ETag (botocore's Object and
    ObjectVersion shapes): one ChecksumAlgorithm per algorithm it was stored with (a flattened list, the name
    upper-case), then its ChecksumType; nothing for an object stored without one. The values themselves are
    only for GetObjectAttributes and HEAD/GET with checksum mode; the listing row carries them (s3_object's
    checksums column, read with the row), so no listed key costs a query of its own."""
    names = [name for name in checksums.KNOWN if name in values]
    for name in names:
        _el(entry, "ChecksumAlgorithm", name.upper())
    kind = checksums.checksum_type({name: values[name] for name in names})
    if kind is not None:
        _el(entry, "ChecksumType", kind)


def _contents(parent: Any, version: Any, enc: Any, with_owner: bool, name: str = "Contents") -> None:
    entry = _el(parent, name)
    _el(entry, "Key", enc(version.key))
    _el(entry, "LastModified", iso_date(version.last_modified))
    _el(entry, "ETag", etag_header(version.etag))
    _listed_checksums(entry, version.checksums)
    _el(entry, "Size", version.size)
    if with_owner:
        _owner(entry, version.owner)
    _el(entry, "StorageClass", version.headers.get("x-amz-storage-class", "STANDARD"))


def list_bucket_result(result: Any, v2: bool = False) -> bytes:
    """ListBucketResult for ListObjects (v1) or ListObjectsV2 (v2: KeyCount, tokens, StartAfter)."""
    enc = _encoder(result.encoding_type)
    root = _root("ListBucketResult")
    _el(root, "Name", result.bucket)
    _el(root, "Prefix", enc(result.prefix))
    if v2:
        if result.continuation_token is not None:
            _el(root, "ContinuationToken", result.continuation_token)
        if result.next_continuation_token is not None:
            _el(root, "NextContinuationToken", result.next_continuation_token)
        if result.start_after:
            _el(root, "StartAfter", enc(result.start_after))
        _el(root, "KeyCount", result.key_count)
    else:
        _el(root, "Marker", enc(result.marker or ""))
        if result.next_marker is not None:
            _el(root, "NextMarker", enc(result.next_marker))
    _el(root, "MaxKeys", result.max_keys)
    if result.delimiter:
        _el(root, "Delimiter", enc(result.delimiter))
    if result.encoding_type:
        _el(root, "EncodingType", result.encoding_type)
    _el(root, "IsTruncated", _bool(result.is_truncated))
    for version in result.contents:
        _contents(root, version, enc, with_owner=not v2 or result.fetch_owner)
    for prefix in result.common_prefixes:
        _el(_el(root, "CommonPrefixes"), "Prefix", enc(prefix))
    return document(root)


def list_versions_result(result: Any) -> bytes:
    enc = _encoder(result.encoding_type)
    root = _root("ListVersionsResult")
    _el(root, "Name", result.bucket)
    _el(root, "Prefix", enc(result.prefix))
    _el(root, "KeyMarker", enc(result.key_marker))
    _el(root, "VersionIdMarker", result.version_id_marker)
    if result.next_key_marker is not None:
        _el(root, "NextKeyMarker", enc(result.next_key_marker))
    if result.next_version_id_marker is not None:
        _el(root, "NextVersionIdMarker", result.next_version_id_marker)
    _el(root, "MaxKeys", result.max_keys)
    if result.delimiter:
        _el(root, "Delimiter", enc(result.delimiter))
    if result.encoding_type:
        _el(root, "EncodingType", result.encoding_type)
    _el(root, "IsTruncated", _bool(result.is_truncated))
    for version in result.versions:
        entry = _el(root, "DeleteMarker" if version.delete_marker else "Version")
        _el(entry, "Key", enc(version.key))
        _el(entry, "VersionId", version.version_id)
        _el(entry, "IsLatest", _bool(version.is_latest))
        _el(entry, "LastModified", iso_date(version.last_modified))
        if not version.delete_marker:
            _el(entry, "ETag", etag_header(version.etag))
            _listed_checksums(entry, version.checksums)
            _el(entry, "Size", version.size)
            _el(entry, "StorageClass", version.headers.get("x-amz-storage-class", "STANDARD"))
        _owner(entry, version.owner)
    for prefix in result.common_prefixes:
        _el(_el(root, "CommonPrefixes"), "Prefix", enc(prefix))
    return document(root)


def access_control_policy(acl: dict) -> bytes:
    root = _root("AccessControlPolicy")
    _owner(root, acl["owner"])
    grants = _el(root, "AccessControlList")
    for grant in acl.get("grants", []):
        entry = _el(grants, "Grant")
        grantee = etree.SubElement(entry, f"{{{NS}}}Grantee", nsmap={"xsi": XSI})
        grantee.set(f"{{{XSI}}}type", clean(grant["type"]))
        if grant["type"] == "CanonicalUser":
            _canonical_user(grantee, grant["grantee"])
        elif grant["type"] == "Group":
            _el(grantee, "URI", grant["grantee"])
        else:
            _el(grantee, "EmailAddress", grant["grantee"])
        _el(entry, "Permission", grant["permission"])
    return document(root)


def location_constraint(location: Optional[str]) -> bytes:
    root = _root("LocationConstraint")
    if location:
        root.text = clean(location)
    return document(root)


def versioning_configuration(status: Optional[str]) -> bytes:
    root = _root("VersioningConfiguration")
    if status:
        _el(root, "Status", status)
    return document(root)


def add_checksums(parent: Any, values: Any, with_type: bool = True) -> None:
    """Checksum<ALG> per value (and ChecksumType) under PARENT, as S3 writes them after the ETag."""
    for name in checksums.KNOWN:
        if name in values:
            _el(parent, checksums.element_name(name), values[name])
    kind = checksums.checksum_type(values)
    if with_type and kind is not None:
        _el(parent, "ChecksumType", kind)


def copy_object_result(version: Any) -> bytes:
    root = _root("CopyObjectResult")
    _el(root, "LastModified", iso_date(version.last_modified))
    _el(root, "ETag", etag_header(version.etag))
    add_checksums(root, version.checksums)
    return document(root)


def copy_part_result(part: Any) -> bytes:
    root = _root("CopyPartResult")
    _el(root, "LastModified", iso_date(part.last_modified))
    _el(root, "ETag", etag_header(part.etag))
    add_checksums(root, part.checksums, with_type=False)
    return document(root)


def initiate_multipart_upload_result(bucket: str, key: str, upload_id: str) -> bytes:
    root = _root("InitiateMultipartUploadResult")
    _el(root, "Bucket", bucket)
    _el(root, "Key", key)
    _el(root, "UploadId", upload_id)
    return document(root)


def list_parts_result(result: Any) -> bytes:
    root = _root("ListPartsResult")
    _el(root, "Bucket", result.bucket)
    _el(root, "Key", result.key)
    _el(root, "UploadId", result.upload.upload_id)
    _owner(root, result.upload.owner, "Initiator")
    _owner(root, result.owner or result.upload.owner)  # the completed object's owner (s3.multipart)
    _el(root, "StorageClass", result.upload.headers.get("x-amz-storage-class", "STANDARD"))
    _el(root, "PartNumberMarker", result.part_number_marker)
    _el(root, "NextPartNumberMarker", result.next_part_number_marker)
    _el(root, "MaxParts", result.max_parts)
    _el(root, "IsTruncated", _bool(result.is_truncated))
    _upload_checksum(root, result.upload)
    for part in result.parts:
        entry = _el(root, "Part")
        _el(entry, "PartNumber", part.part_number)
        _el(entry, "LastModified", iso_date(part.last_modified))
        _el(entry, "ETag", etag_header(part.etag))
        _el(entry, "Size", part.size)
        add_checksums(entry, part.checksums, with_type=False)
    return document(root)


def _upload_checksum(parent: Any, upload: Any) -> None:
    if upload.checksum_algorithm:
        _el(parent, "ChecksumAlgorithm", upload.checksum_algorithm.upper())
        _el(parent, "ChecksumType", upload.checksum_type or checksums.COMPOSITE)


def list_multipart_uploads_result(result: Any) -> bytes:
    enc = _encoder(result.encoding_type)
    root = _root("ListMultipartUploadsResult")
    _el(root, "Bucket", result.bucket)
    _el(root, "KeyMarker", enc(result.key_marker))
    _el(root, "UploadIdMarker", result.upload_id_marker)
    _el(root, "NextKeyMarker", enc(result.next_key_marker or ""))
    _el(root, "NextUploadIdMarker", result.next_upload_id_marker or "")
    if result.prefix:
        _el(root, "Prefix", enc(result.prefix))
    if result.delimiter:
        _el(root, "Delimiter", enc(result.delimiter))
    if result.encoding_type:
        _el(root, "EncodingType", result.encoding_type)
    _el(root, "MaxUploads", result.max_uploads)
    _el(root, "IsTruncated", _bool(result.is_truncated))
    for upload in result.uploads:
        entry = _el(root, "Upload")
        _el(entry, "Key", enc(upload.key))
        _el(entry, "UploadId", upload.upload_id)
        _owner(entry, upload.owner, "Initiator")
        _owner(entry, upload.owner)
        _el(entry, "StorageClass", upload.headers.get("x-amz-storage-class", "STANDARD"))
        _el(entry, "Initiated", iso_date(upload.initiated))
        _upload_checksum(entry, upload)
    for prefix in result.common_prefixes:
        _el(_el(root, "CommonPrefixes"), "Prefix", enc(prefix))
    return document(root)


def complete_multipart_upload_result(location: str, bucket: str, key: str, etag: str,
                                     checksum_values: Any = ()) -> bytes:
    root = _root("CompleteMultipartUploadResult")
    _el(root, "Location", location)
    _el(root, "Bucket", bucket)
    _el(root, "Key", key)
    _el(root, "ETag", etag_header(etag))
    add_checksums(root, dict(checksum_values))
    return document(root)


def delete_result(outcomes: Sequence[Any], quiet: bool = False) -> bytes:
    """DeleteResult: <Deleted> per success (left out in quiet mode) and <Error> per failure."""
    root = _root("DeleteResult")
    for outcome in outcomes:
        if outcome.error is None:
            if quiet:
                continue
            entry = _el(root, "Deleted")
            _el(entry, "Key", outcome.key)
            if outcome.version_id is not None:
                _el(entry, "VersionId", outcome.version_id)
            if outcome.delete_marker:
                _el(entry, "DeleteMarker", "true")
                if outcome.delete_marker_version_id is not None:
                    _el(entry, "DeleteMarkerVersionId", outcome.delete_marker_version_id)
        else:
            entry = _el(root, "Error")
            _el(entry, "Key", outcome.key)
            if outcome.version_id is not None:
                _el(entry, "VersionId", outcome.version_id)
            _el(entry, "Code", outcome.error.code)
            _el(entry, "Message", outcome.error.message)
    return document(root)


_CORS_FIELDS = (("ID", "id", False), ("AllowedOrigin", "allowed_origins", True),
                ("AllowedMethod", "allowed_methods", True), ("AllowedHeader", "allowed_headers", True),
                ("MaxAgeSeconds", "max_age_seconds", False), ("ExposeHeader", "expose_headers", True))


def cors_configuration(rules: Sequence[dict]) -> bytes:
    root = _root("CORSConfiguration")
    for rule in rules:
        entry = _el(root, "CORSRule")
        for element, name, repeated in _CORS_FIELDS:
            value = rule.get(name)
            if value is None:
                continue
            for item in (value if repeated else [value]):
                _el(entry, element, item)
    return document(root)


# -- reading ------------------------------------------------------------------------------------------------

def _parse(body: bytes, root_name: str, error: str = "MalformedXML") -> Any:
    """The root element of BODY if it is ROOT_NAME (in S3's namespace or none), else S3Error(ERROR). The
    shared hardened parser and its size and depth bounds (ec2soap.limits) apply: S3 documents nest 4 deep."""
    if not body:
        raise S3Error(error)
    try:
        tree = parse_xml(body, max_bytes=MAX_BODY_BYTES, max_depth=MAX_DEPTH).getroottree()
    except (etree.XMLSyntaxError, ValueError):  # LimitExceeded is a ValueError
        raise S3Error(error) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise S3Error(error)  # a DTD is the door to entity expansion; S3 bodies never need one
    root = tree.getroot()
    if etree.QName(root).localname != root_name or etree.QName(root).namespace not in (None, NS):
        raise S3Error(error)
    return root


def _children(element: Any, name: str) -> list:
    return [child for child in element if isinstance(child.tag, str) and etree.QName(child).localname == name]


def _one(element: Any, name: str, required: bool = True, error: str = "MalformedXML") -> Optional[str]:
    found = _children(element, name)
    if len(found) > 1 or (required and not found):
        raise S3Error(error)
    return (found[0].text or "").strip() if found else None


def parse_create_bucket(body: bytes) -> Optional[str]:
    """CreateBucketConfiguration → the LocationConstraint (None when the body is empty)."""
    if not body or not body.strip():
        return None
    root = _parse(body, "CreateBucketConfiguration")
    return _one(root, "LocationConstraint", required=False) or None


def parse_versioning(body: bytes) -> str:
    """VersioningConfiguration → "Enabled" or "Suspended" (MFA delete is not supported)."""
    root = _parse(body, "VersioningConfiguration")
    status = _one(root, "Status", required=False)
    if _one(root, "MfaDelete", required=False) == "Enabled":
        raise S3Error("NotImplemented", "MFA delete is not supported")
    if status not in ("Enabled", "Suspended"):
        raise S3Error("MalformedXML")
    return status


def parse_access_control_policy(body: bytes) -> dict:
    """AccessControlPolicy → {"owner", "grants"} (see acl.py)."""
    error = "MalformedACLError"
    root = _parse(body, "AccessControlPolicy", error)
    owners = _children(root, "Owner")
    owner = _one(owners[0], "ID", error=error) if owners else None
    lists = _children(root, "AccessControlList")
    if len(lists) != 1:
        raise S3Error(error)
    grants = []
    for grant in _children(lists[0], "Grant"):
        grantees = _children(grant, "Grantee")
        permission = _one(grant, "Permission", error=error)
        if len(grantees) != 1:
            raise S3Error(error)
        grantee = grantees[0]
        kind = grantee.get(f"{{{XSI}}}type")
        if kind == "CanonicalUser":
            value = _one(grantee, "ID", error=error)
        elif kind == "Group":
            value = _one(grantee, "URI", error=error)
            if value not in GROUPS:
                raise S3Error("InvalidArgument", "Invalid group uri", argument_name="uri", argument_value=value)
        elif kind == "AmazonCustomerByEmail":
            value = _one(grantee, "EmailAddress", error=error)
        else:
            raise S3Error(error)
        grants.append({"type": kind, "grantee": value, "permission": permission})
    return {"owner": owner, "grants": grants}


def parse_cors(body: bytes) -> list[dict]:
    """CORSConfiguration → rules {"id", "allowed_origins", "allowed_methods", "allowed_headers",
    "max_age_seconds", "expose_headers"}."""
    root = _parse(body, "CORSConfiguration")
    rules = []
    for element in _children(root, "CORSRule"):
        rule: dict = {}
        for tag, name, repeated in _CORS_FIELDS:
            values = [(child.text or "").strip() for child in _children(element, tag)]
            if repeated:
                if values:
                    rule[name] = values
            elif len(values) > 1:
                raise S3Error("MalformedXML")
            elif values:
                rule[name] = values[0]
        if "max_age_seconds" in rule:
            if not (rule["max_age_seconds"].isascii() and rule["max_age_seconds"].isdigit()):
                raise S3Error("MalformedXML")
            rule["max_age_seconds"] = int(rule["max_age_seconds"])
        rules.append(rule)
    if not rules:
        raise S3Error("MalformedXML")
    return rules


def parse_delete(body: bytes) -> tuple[list[tuple[str, Optional[str]]], bool]:
    """Delete → ([(key, version id or None)...], quiet)."""
    root = _parse(body, "Delete")
    quiet = (_one(root, "Quiet", required=False) or "false").lower()
    if quiet not in ("true", "false"):
        raise S3Error("MalformedXML")
    items = []
    for element in _children(root, "Object"):
        keys = _children(element, "Key")
        if len(keys) != 1 or not keys[0].text:
            raise S3Error("MalformedXML")
        items.append((keys[0].text, _one(element, "VersionId", required=False) or None))
    if not items:
        raise S3Error("MalformedXML")
    return items, quiet == "true"


def parse_complete_multipart_upload(body: bytes) -> list[tuple[int, str]]:
    """CompleteMultipartUpload → [(part number, etag)] in the order given (order is checked later)."""
    root = _parse(body, "CompleteMultipartUpload")
    parts = []
    for element in _children(root, "Part"):
        number = _one(element, "PartNumber")
        etag = _one(element, "ETag")
        if not number or not (number.isascii() and number.isdigit()) or etag is None:
            raise S3Error("MalformedXML")
        parts.append((int(number), etag))
    if not parts:
        raise S3Error("MalformedXML")
    return parts
