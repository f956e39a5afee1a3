"""S3's default CRC64NVME (issue 13): which bodies get it (s3.checksums.requested), what a part keeps of it
(part_checksums), and the full-object CRC64NVME a multipart upload created without an algorithm completes with,
made from its parts' and stored on every database. The protocol side is tests/protocol/s3/test_checksums.py."""
from __future__ import annotations

import base64
import zlib

from awscrt import checksums as crt

from ec2soap.s3 import checksums
from ec2soap.s3.metadata import Part
from tests.unit.s3.conftest import ALICE


def crc64(data: bytes) -> str:
    return base64.b64encode(crt.crc64nvme(data).to_bytes(8, "big")).decode()


def crc32_header(data: bytes) -> dict:
    return {"x-amz-checksum-crc32": base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()}


def test_the_default_is_crc64nvme_when_awscrt_is_there() -> None:
    assert checksums.DEFAULT == "crc64nvme" and checksums.default_algorithms() == ("crc64nvme",)


def test_requested_adds_the_default_only_when_nothing_is_named() -> None:
    assert checksums.requested({}) == ({}, ("crc64nvme",))
    assert checksums.requested({}, default=False) == ({}, ())
    assert checksums.requested({"x-amz-sdk-checksum-algorithm": "SHA1"}) == ({}, ("sha1",))
    sent, kept = checksums.requested(crc32_header(b"x"))
    assert kept == ("crc32",)
    # A part computes it whatever it names: its upload may have been created without an algorithm.
    assert checksums.requested(crc32_header(b"x"), part=True)[1] == ("crc32", "crc64nvme")
    assert checksums.requested({}, part=True)[1] == ("crc64nvme",)


def test_a_part_keeps_the_default_only_in_an_upload_without_an_algorithm() -> None:
    computed = {"crc32": "AAAAAA==", "crc64nvme": "AAAAAAAAAAA="}
    assert checksums.part_checksums(None, computed, ("crc32",)) == computed
    assert checksums.part_checksums("crc32", computed, ("crc32",)) == {"crc32": "AAAAAA=="}
    assert checksums.part_checksums("crc32", computed, ()) == {"crc32": "AAAAAA=="}
    assert checksums.part_checksums("crc64nvme", {"crc64nvme": "AAAAAAAAAAA="}, ()) == {"crc64nvme": "AAAAAAAAAAA="}
    assert checksums.part_checksums("sha1", {"crc64nvme": "AAAAAAAAAAA="}, ()) == {}


def test_completion_without_an_algorithm_combines_the_parts_crc64nvme() -> None:
    pieces = [b"a" * 3000, b"bc" * 7, b"d"]
    parts = [Part(n, len(data), "e%d" % n, 0.0, "blob%d" % n, {"crc64nvme": crc64(data)})
             for n, data in enumerate(pieces, start=1)]
    sums, per_part = checksums.complete(None, None, parts, {}, {}, "upload")
    assert sums == {"crc64nvme": crc64(b"".join(pieces))}
    assert checksums.checksum_type(sums) == "FULL_OBJECT"
    assert per_part == [{"crc64nvme": crc64(data)} for data in pieces]
    # One part without it (written before the default existed): no checksum is made up for the object.
    parts[1].checksums = {}
    assert checksums.complete(None, None, parts, {}, {}, "upload")[0] == {}


def test_parts_sent_without_a_checksum_complete_with_crc64nvme_on_every_database(any_ops) -> None:
    any_ops.create_bucket(ALICE, "dflt")
    upload = any_ops.create_multipart_upload(ALICE, "dflt", "k", {})
    assert upload.checksum_algorithm is None
    pieces = [b"p" * 1500, b"last"]
    for number, data in enumerate(pieces, start=1):
        headers = {"content-length": str(len(data))}
        body = any_ops.receive(headers, part=True)
        body.write(data)
        part = any_ops.upload_part(ALICE, "dflt", "k", upload.upload_id, number, body, headers)
        assert part.checksums == {"crc64nvme": crc64(data)}
    parts = any_ops.list_parts(ALICE, "dflt", "k", upload.upload_id).parts
    version = any_ops.complete_multipart_upload(ALICE, "dflt", "k", upload.upload_id,
                                                [(p.part_number, p.etag) for p in parts])
    assert version.checksums == {"crc64nvme": crc64(b"".join(pieces))}
    assert version.part_checksums == [{"crc64nvme": crc64(data)} for data in pieces]
    headers = {"content-length": "5"}
    body = any_ops.receive(headers)
    body.write(b"plain")
    assert any_ops.put_object(ALICE, "dflt", "simple", body, headers).checksums == {"crc64nvme": crc64(b"plain")}
