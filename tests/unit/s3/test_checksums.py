"""S3 checksum math and validation: CRC64NVME against its check value and a bit-by-bit reference, the CRC
combination that makes a FULL_OBJECT checksum from part CRCs, composite checksums, the request headers S3
refuses, and the part arithmetic of partNumber reads and GetObjectAttributes."""
from __future__ import annotations

import base64
import hashlib
import os
import zlib

import pytest

from ec2soap.auth.checksums import ALGORITHMS, new_hasher
from ec2soap.s3 import checksums
from ec2soap.s3.attributes import parse_attributes, part_checksums, part_span
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import ObjectVersion
from ec2soap.s3.rules import Limits
from tests.unit.s3.conftest import ALICE


def reference_crc(data: bytes, poly: int, width: int) -> int:
    """A reflected CRC with all-ones init and xor-out, one bit at a time: slow, obviously right."""
    mask = (1 << width) - 1
    crc = mask
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc ^ mask


def crc(name: str, data: bytes) -> int:
    hasher = new_hasher(name)
    hasher.update(data)
    return int.from_bytes(hasher.digest(), "big")


def test_crc64nvme_check_value_and_reference() -> None:
    # CRC-64/NVME's catalogued check value (the CRC of the ASCII digits 1-9), as AWS's SDKs compute it.
    assert crc("crc64nvme", b"123456789") == 0xAE8B14860A799888
    data = os.urandom(3000)
    assert crc("crc64nvme", data) == reference_crc(data, 0x9A6C9329AC4BC9B5, 64)
    assert crc("crc32c", data) == reference_crc(data, 0x82F63B78, 32)
    assert crc("crc32", data) == zlib.crc32(data)


def test_running_hasher_equals_one_shot() -> None:
    data = os.urandom(100_000)
    for name in ALGORITHMS:
        hasher = new_hasher(name)
        for start in range(0, len(data), 7777):
            hasher.update(data[start:start + 7777])
        assert int.from_bytes(hasher.digest(), "big") == crc(name, data)
    sha = new_hasher("sha256")
    sha.update(data)
    assert sha.digest() == hashlib.sha256(data).digest()


@pytest.mark.parametrize("name", ["crc32", "crc32c", "crc64nvme"])
@pytest.mark.parametrize("sizes", [(1, 1), (0, 5), (5, 0), (1000, 777), (65536, 3), (5 * 1024 * 1024, 12345)])
def test_combine_is_the_crc_of_the_concatenation(name, sizes) -> None:
    first, second = os.urandom(sizes[0]), os.urandom(sizes[1])
    assert checksums.combine(name, crc(name, first), crc(name, second), len(second)) == crc(name, first + second)


def test_object_checksum_full_object_and_composite() -> None:
    parts = [os.urandom(n) for n in (4096, 10, 999)]
    for name in ("crc32", "crc32c", "crc64nvme"):
        given = [(base64.b64encode(new_digest(name, p)).decode(), len(p)) for p in parts]
        assert checksums.object_checksum(name, checksums.FULL_OBJECT, given) == \
            base64.b64encode(new_digest(name, b"".join(parts))).decode()
    given = [(base64.b64encode(hashlib.sha1(p).digest()).decode(), len(p)) for p in parts]
    composite = hashlib.sha1(b"".join(hashlib.sha1(p).digest() for p in parts)).digest()
    assert checksums.object_checksum("sha1", checksums.COMPOSITE, given) == \
        base64.b64encode(composite).decode() + "-3"
    assert checksums.checksum_type({"sha1": "abc=-3"}) == "COMPOSITE"
    assert checksums.checksum_type({"crc32": "abc="}) == "FULL_OBJECT"
    assert checksums.checksum_type({}) is None


def new_digest(name: str, data: bytes) -> bytes:
    hasher = new_hasher(name)
    hasher.update(data)
    return hasher.digest()


def refusal(fn, *args) -> S3Error:
    with pytest.raises(S3Error) as caught:
        fn(*args)
    return caught.value


def test_requested_checksums() -> None:
    value = base64.b64encode(b"\0" * 8).decode()
    assert checksums.requested({"x-amz-checksum-crc64nvme": value}) == ({"crc64nvme": value}, ("crc64nvme",))
    assert checksums.requested({"x-amz-sdk-checksum-algorithm": "CRC32C"}) == ({}, ("crc32c",))
    for headers in ({"x-amz-checksum-crc32": "****"}, {"x-amz-checksum-sha256": base64.b64encode(b"x").decode()},
                    {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-checksum-crc32c": "AAAAAA=="},
                    {"x-amz-sdk-checksum-algorithm": "MD5"},
                    {"x-amz-checksum-crc32": "AAAAAA==", "x-amz-sdk-checksum-algorithm": "SHA1"}):
        assert refusal(checksums.requested, headers).code == "InvalidRequest", headers


def test_upload_checksum_types() -> None:
    assert checksums.upload_checksum({}) == (None, None)
    assert checksums.upload_checksum({"x-amz-checksum-algorithm": "SHA256"}) == ("sha256", "COMPOSITE")
    assert checksums.upload_checksum({"x-amz-checksum-algorithm": "CRC64NVME"}) == ("crc64nvme", "FULL_OBJECT")
    assert checksums.upload_checksum({"x-amz-checksum-algorithm": "crc32",
                                      "x-amz-checksum-type": "full_object"}) == ("crc32", "FULL_OBJECT")
    for headers in ({"x-amz-checksum-type": "COMPOSITE"},
                    {"x-amz-checksum-algorithm": "SHA1", "x-amz-checksum-type": "FULL_OBJECT"},
                    {"x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "COMPOSITE"},
                    {"x-amz-checksum-algorithm": "CRC32", "x-amz-checksum-type": "PARTIAL"},
                    {"x-amz-checksum-algorithm": "XXHASH3"}):
        assert refusal(checksums.upload_checksum, headers).code == "InvalidRequest", headers
    checksums.check_part("sha1", ["sha1"])
    checksums.check_part(None, ["crc32"])
    assert refusal(checksums.check_part, "sha1", ["crc32"]).code == "InvalidRequest"


def version(manifest=None, size=10, part_sums=None, sums=None) -> ObjectVersion:
    return ObjectVersion(1, 1, "k", "null", True, False, "o", size, "e", 0.0, checksums=sums or {},
                         manifest=manifest, part_checksums=part_sums)


def test_part_spans() -> None:
    limits = Limits()
    multi = version([["a", 5], ["b", 7], ["c", 1]], 13, [{"crc32": "1"}, {"crc32": "2"}, {"crc32": "3"}])
    assert [part_span(multi, str(n), False, limits) for n in (1, 2, 3)] == [(0, 4), (5, 11), (12, 12)]
    assert part_checksums(multi, 2) == {"crc32": "2"}
    assert refusal(part_span, multi, "4", False, limits).code == "InvalidPartNumber"
    assert refusal(part_span, multi, "1", True, limits).code == "InvalidRequest"
    assert refusal(part_span, multi, "x", False, limits).code == "InvalidArgument"
    simple = version(size=10, sums={"sha1": "s"})
    assert part_span(simple, "1", False, limits) == (0, 9) and part_checksums(simple, 1) == {"sha1": "s"}
    assert part_span(version(size=0), "1", False, limits) is None
    assert refusal(part_span, simple, "2", False, limits).code == "InvalidPartNumber"


def test_attribute_names() -> None:
    assert parse_attributes("ETag, ObjectSize") == {"ETag", "ObjectSize"}
    for value in (None, "", "ETag,Size", "etag"):
        assert refusal(parse_attributes, value).code == "InvalidArgument"


def test_full_object_upload_is_stored_and_read_back_on_every_database(any_ops) -> None:
    """The upload's checksum type and the object's per-part checksums (migration 0010) round-trip through
    SQLite, PostgreSQL and MariaDB; GetObjectAttributes pages them."""
    any_ops.create_bucket(ALICE, "ckdb")
    upload = any_ops.create_multipart_upload(ALICE, "ckdb", "k", {"x-amz-checksum-algorithm": "CRC32C",
                                                                  "x-amz-checksum-type": "FULL_OBJECT"})
    assert any_ops.list_parts(ALICE, "ckdb", "k", upload.upload_id).upload.checksum_type == "FULL_OBJECT"
    pieces = [b"a" * 2000, b"b" * 10]
    for number, data in enumerate(pieces, start=1):
        headers = {"content-length": str(len(data)), "x-amz-sdk-checksum-algorithm": "CRC32C"}
        body = any_ops.receive(headers, part=True)
        body.write(data)
        any_ops.upload_part(ALICE, "ckdb", "k", upload.upload_id, number, body, headers)
    parts = any_ops.list_parts(ALICE, "ckdb", "k", upload.upload_id).parts
    version = any_ops.complete_multipart_upload(ALICE, "ckdb", "k", upload.upload_id,
                                                [(p.part_number, p.etag) for p in parts])
    whole = base64.b64encode(new_digest("crc32c", b"".join(pieces))).decode()
    assert version.checksums == {"crc32c": whole}
    result = any_ops.get_object_attributes(ALICE, "ckdb", "k", None, {"x-amz-object-attributes": "ObjectParts",
                                                                     "x-amz-max-parts": "1"})
    assert result.is_truncated and result.parts == [
        (1, 2000, {"crc32c": base64.b64encode(new_digest("crc32c", pieces[0])).decode()})]
    assert result.version.part_checksums == [p.checksums for p in parts]
