"""S3 error table and document; response documents; hardened request-body parsers."""
from __future__ import annotations

from types import SimpleNamespace

import pytest
from lxml import etree

from ec2soap.s3 import xml
from ec2soap.s3.errors import ERRORS, S3Error, render_error
from ec2soap.s3.operations import DeleteOutcome, ListResult

NS = {"s3": xml.NS}


@pytest.mark.parametrize("code,status", [
    ("NoSuchBucket", 404), ("NoSuchKey", 404), ("BucketAlreadyExists", 409), ("BucketAlreadyOwnedByYou", 409),
    ("BucketNotEmpty", 409), ("InvalidBucketName", 400), ("InvalidArgument", 400), ("InvalidRange", 416),
    ("PreconditionFailed", 412), ("NotModified", 304), ("BadDigest", 400), ("InvalidDigest", 400),
    ("EntityTooLarge", 400), ("EntityTooSmall", 400), ("InvalidPart", 400), ("InvalidPartOrder", 400),
    ("NoSuchUpload", 404), ("MalformedXML", 400), ("KeyTooLongError", 400), ("MetadataTooLarge", 400),
    ("IncompleteBody", 400), ("AccessDenied", 403), ("SignatureDoesNotMatch", 403), ("InvalidAccessKeyId", 403),
    ("RequestTimeTooSkewed", 403), ("NotImplemented", 501), ("MethodNotAllowed", 405),
    ("NoSuchBucketPolicy", 404), ("MalformedPolicy", 400), ("NoSuchCORSConfiguration", 404),
    ("InvalidRequest", 400), ("ServiceUnavailable", 503), ("InternalError", 500), ("MissingContentLength", 411),
    ("XAmzContentSHA256Mismatch", 400), ("NoSuchVersion", 404), ("SlowDown", 503),
])
def test_error_table(code: str, status: int) -> None:
    error = S3Error(code)
    assert error.status == status == ERRORS[code][0] and error.message == ERRORS[code][1]


def test_unknown_codes_are_refused() -> None:
    with pytest.raises(ValueError):
        S3Error("NoSuchThing")


def test_error_document() -> None:
    error = S3Error("NoSuchKey", key="a<b>&c", headers={"x-amz-delete-marker": "true"})
    root = etree.fromstring(render_error(error, "/bucket/a<b>&c", "REQ1", "HOST"))
    assert root.tag == "Error"
    assert [child.tag for child in root] == ["Code", "Message", "Key", "Resource", "RequestId", "HostId"]
    assert root.findtext("Code") == "NoSuchKey" and root.findtext("Key") == "a<b>&c"
    assert root.findtext("RequestId") == "REQ1"
    assert S3Error("NotModified").has_body is False


def test_list_bucket_result_v2_with_url_encoding() -> None:
    version = SimpleNamespace(key="a b+c/ü", last_modified=0.5, etag="abc", size=3, owner="AK", headers={},
                              checksums={})
    result = ListResult("bkt", "a b", "/", 1000, "url", [version], ["a b/"], True,
                        next_continuation_token="tok", continuation_token=None)
    root = etree.fromstring(xml.list_bucket_result(result, v2=True))
    assert root.tag == f"{{{xml.NS}}}ListBucketResult"
    assert root.findtext("s3:Contents/s3:Key", namespaces=NS) == "a+b%2Bc/%C3%BC"
    assert root.findtext("s3:Contents/s3:ETag", namespaces=NS) == '"abc"'
    assert root.findtext("s3:Contents/s3:LastModified", namespaces=NS) == "1970-01-01T00:00:00.500Z"
    assert root.findtext("s3:KeyCount", namespaces=NS) == "2"
    assert root.findtext("s3:IsTruncated", namespaces=NS) == "true"
    assert root.findtext("s3:NextContinuationToken", namespaces=NS) == "tok"
    assert root.find("s3:Contents/s3:Owner", namespaces=NS) is None  # v2 without fetch-owner


def test_listed_checksums_follow_the_etag_one_algorithm_each_then_the_type() -> None:
    """Object and ObjectVersion (botocore's order): ETag, ChecksumAlgorithm..., ChecksumType, Size; nothing for an
    object stored without a checksum or for a delete marker."""
    from ec2soap.s3.listing import VersionsResult

    def version(key: str, checksums: dict, marker: bool = False) -> SimpleNamespace:
        return SimpleNamespace(key=key, last_modified=0.0, etag="e", size=1, owner="o", headers={},
                               checksums=checksums, version_id="v" + key, is_latest=True, delete_marker=marker)
    rows = [version("both", {"sha256": "s=", "crc32": "c="}), version("parts", {"sha1": "x=-3"}),
            version("none", {})]
    listed = etree.fromstring(xml.list_bucket_result(ListResult("b", "", None, 1000, None, rows, [], False)))
    entries = listed.findall("s3:Contents", namespaces=NS)
    names = [[etree.QName(child).localname for child in entry] for entry in entries]
    assert names[0] == ["Key", "LastModified", "ETag", "ChecksumAlgorithm", "ChecksumAlgorithm", "ChecksumType",
                        "Size", "Owner", "StorageClass"]
    assert [e.text for e in entries[0].findall("s3:ChecksumAlgorithm", namespaces=NS)] == ["CRC32", "SHA256"]
    assert entries[0].findtext("s3:ChecksumType", namespaces=NS) == "FULL_OBJECT"
    assert entries[1].findtext("s3:ChecksumType", namespaces=NS) == "COMPOSITE"
    assert names[2] == ["Key", "LastModified", "ETag", "Size", "Owner", "StorageClass"]
    result = VersionsResult("b", "", None, 1000, None, "", "", [rows[1], version("gone", {}, marker=True)], [], False)
    versions = etree.fromstring(xml.list_versions_result(result))
    assert [etree.QName(c).localname for c in versions.find("s3:Version", namespaces=NS)] == [
        "Key", "VersionId", "IsLatest", "LastModified", "ETag", "ChecksumAlgorithm", "ChecksumType", "Size",
        "StorageClass", "Owner"]
    assert [etree.QName(c).localname for c in versions.find("s3:DeleteMarker", namespaces=NS)] == [
        "Key", "VersionId", "IsLatest", "LastModified", "Owner"]


def test_acl_document_round_trips() -> None:
    from ec2soap.auth.identity import canonical_id

    owner = canonical_id("5b8f6a1e-7d3c-4e0f-9a2b-1c4d5e6f7a8b")
    acl = {"owner": owner, "grants": [
        {"type": "CanonicalUser", "grantee": owner, "permission": "FULL_CONTROL"},
        {"type": "Group", "grantee": "http://acs.amazonaws.com/groups/global/AllUsers", "permission": "READ"},
        {"type": "AmazonCustomerByEmail", "grantee": "x@example.com", "permission": "WRITE_ACP"}]}
    assert xml.parse_access_control_policy(xml.access_control_policy(acl)) == acl


def test_owner_ids_are_canonical_with_account_names_and_never_a_stored_access_key() -> None:
    from ec2soap.auth.identity import canonical_id, is_canonical_id
    from ec2soap.s3.principal import remember_name

    owner, other = canonical_id("0f4e2d6c-1111-4a2b-8c3d-000000000001"), canonical_id("0f4e2d6c-2222-4a2b-8c3d-2")
    remember_name(owner, "acme")
    legacy_key = "AKIAOLDACCESSKEY0123456789"  # an owner stored before canonical ids
    body = xml.access_control_policy({"owner": owner, "grants": [
        {"type": "CanonicalUser", "grantee": owner, "permission": "FULL_CONTROL"},
        {"type": "CanonicalUser", "grantee": other, "permission": "READ"},
        {"type": "CanonicalUser", "grantee": legacy_key, "permission": "READ"}]})
    assert legacy_key.encode() not in body
    root = etree.fromstring(body)
    assert root.findtext("s3:Owner/s3:ID", namespaces=NS) == owner
    assert root.findtext("s3:Owner/s3:DisplayName", namespaces=NS) == "acme"
    ids = [g.findtext("s3:ID", namespaces=NS) for g in root.iterfind(".//s3:Grantee", NS)]
    assert ids[:2] == [owner, other] and is_canonical_id(ids[2])
    # A name not known here is left out rather than made up.
    names = [g.findtext("s3:DisplayName", namespaces=NS) for g in root.iterfind(".//s3:Grantee", NS)]
    assert names == ["acme", None, None]
    listing = xml.list_all_my_buckets(legacy_key, [])
    assert legacy_key.encode() not in listing


def test_delete_result_quiet_lists_only_errors() -> None:
    outcomes = [DeleteOutcome("ok"), DeleteOutcome("bad", error=S3Error("AccessDenied"))]
    loud = etree.fromstring(xml.delete_result(outcomes))
    quiet = etree.fromstring(xml.delete_result(outcomes, quiet=True))
    assert len(loud.findall("s3:Deleted", NS)) == 1 and len(quiet.findall("s3:Deleted", NS)) == 0
    assert quiet.findtext("s3:Error/s3:Code", namespaces=NS) == "AccessDenied"


def test_documents_parse() -> None:
    assert xml.parse_create_bucket(b"") is None
    assert xml.parse_create_bucket(
        b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>") == "eu-west-1"
    assert xml.parse_versioning(b"<VersioningConfiguration><Status>Suspended</Status>"
                                b"</VersioningConfiguration>") == "Suspended"
    items, quiet = xml.parse_delete(b"<Delete><Quiet>true</Quiet><Object><Key> spaced </Key></Object>"
                                    b"<Object><Key>v</Key><VersionId>123</VersionId></Object></Delete>")
    assert items == [(" spaced ", None), ("v", "123")] and quiet
    assert xml.parse_complete_multipart_upload(
        b'<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part>'
        b"<Part><ETag>b</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>") == [(1, '"a"'), (2, "b")]
    rules = xml.parse_cors(b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
                           b"<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>30</MaxAgeSeconds></CORSRule>"
                           b"</CORSConfiguration>")
    assert rules == [{"allowed_origins": ["*"], "allowed_methods": ["GET"], "max_age_seconds": 30}]
    assert xml.parse_cors(xml.cors_configuration(rules)) == rules


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Delete [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Delete><Object><Key>&xxe;</Key></Object></Delete>"""
BILLION = b"""<?xml version="1.0"?>
<!DOCTYPE Delete [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<Delete><Object><Key>&b;</Key></Object></Delete>"""


@pytest.mark.parametrize("parse,body", [
    (xml.parse_delete, XXE), (xml.parse_delete, BILLION), (xml.parse_delete, b"<Delete><Object>"),
    (xml.parse_delete, b"<Delete/>"), (xml.parse_delete, b"<Other><Object><Key>k</Key></Object></Other>"),
    (xml.parse_delete, b"<Delete xmlns='urn:other'><Object><Key>k</Key></Object></Delete>"),
    (xml.parse_delete, b"<Delete><Quiet>maybe</Quiet><Object><Key>k</Key></Object></Delete>"),
    (xml.parse_complete_multipart_upload, b"<CompleteMultipartUpload/>"),
    (xml.parse_complete_multipart_upload, b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber>"
                                          b"<ETag>a</ETag></Part></CompleteMultipartUpload>"),
    (xml.parse_versioning, b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>"),
    (xml.parse_create_bucket, b"not xml"),
    (xml.parse_cors, b"<CORSConfiguration/>"),
    (xml.parse_delete, b"<Delete>" + b"x" * (xml.MAX_BODY_BYTES + 1) + b"</Delete>"),
])
def test_bad_bodies_are_malformed_xml(parse: object, body: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        parse(body)  # type: ignore[operator]
    assert caught.value.code == "MalformedXML"


def test_bad_acl_bodies() -> None:
    with pytest.raises(S3Error) as caught:
        xml.parse_access_control_policy(b"<AccessControlPolicy><Owner><ID>x</ID></Owner></AccessControlPolicy>")
    assert caught.value.code == "MalformedACLError"
