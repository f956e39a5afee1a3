"""S3 flexible checksums through boto3 and awscli's s3api: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256 on PutObject,
UploadPart and in aws-chunked trailers; multipart COMPOSITE and FULL_OBJECT checksums; x-amz-checksum-mode;
GetObjectAttributes; GetObject/HeadObject by partNumber; UploadPartCopy ranges; CopyObject's checksums; S3's default
CRC64NVME for PutObject, CopyObject and multipart uploads that carry no checksum (boto3 and awscli told to send none)."""
from __future__ import annotations

import base64
import json
import hashlib
import uuid
import zlib

import pytest
import requests
from awscrt import checksums as crt
from botocore.exceptions import ClientError

from tests.protocol.conftest import make_user
from tests.protocol.s3.conftest import boto3_client
from tests.protocol.s3.s3api_cli import s3api

MiB = 1024 * 1024
PART = 5 * MiB  # the gateway's minimum part size, as S3's


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def status(exc: pytest.ExceptionInfo) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def expected(algorithm: str, data: bytes) -> str:
    """What S3 answers for DATA's checksum ALGORITHM (computed here, independently of the gateway)."""
    if algorithm == "CRC32":
        return b64(zlib.crc32(data).to_bytes(4, "big"))
    if algorithm == "CRC32C":
        return b64(crt.crc32c(data).to_bytes(4, "big"))
    if algorithm == "CRC64NVME":
        return b64(crt.crc64nvme(data).to_bytes(8, "big"))
    return b64(hashlib.new(algorithm.lower(), data).digest())


def digest(algorithm: str, data: bytes) -> bytes:
    return base64.b64decode(expected(algorithm, data))


ALGORITHMS = ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"]


def sent_by_client(algorithms: list[str]) -> list:
    """ALGORITHMS for a test where botocore computes the checksum: CRC32C and CRC64NVME need botocore's CRT,
    so those cases are marked `crt` (they run in tests/protocol/test_crt_signer.py's subprocess)."""
    return [pytest.param(a, marks=pytest.mark.crt) if a in ("CRC32C", "CRC64NVME") else a for a in algorithms]


@pytest.fixture(scope="module")
def keys(gateway_server):
    return make_user(gateway_server)


@pytest.fixture(scope="module")
def s3(gateway_server, keys):
    return boto3_client(gateway_server, keys)


@pytest.fixture(scope="module")
def bucket(s3):
    made = name("ck")
    s3.create_bucket(Bucket=made)
    return made


@pytest.fixture(scope="module")
def parts_object(s3, bucket):
    """A two-part SHA256 (composite) object: (key, part 1 bytes, part 2 bytes, completion answer)."""
    key = name("composite")
    one, two = bytes(range(256)) * (PART // 256), b"tail of the object" * 100
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256")
    assert upload["ChecksumAlgorithm"] == "SHA256" and upload["ChecksumType"] == "COMPOSITE"
    sent = []
    for number, data in ((1, one), (2, two)):
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=data,
                              ChecksumAlgorithm="SHA256")
        assert part["ChecksumSHA256"] == expected("SHA256", data)
        sent.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumSHA256": part["ChecksumSHA256"]})
    listed = s3.list_parts(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("SHA256", "COMPOSITE")
    pending = s3.list_multipart_uploads(Bucket=bucket, Prefix=key)["Uploads"]
    assert [(u["ChecksumAlgorithm"], u["ChecksumType"]) for u in pending] == [("SHA256", "COMPOSITE")]
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [expected("SHA256", one), expected("SHA256", two)]
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"],
                                        MultipartUpload={"Parts": sent})
    return key, one, two, done


# -- PutObject -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", sent_by_client(ALGORITHMS))
def test_put_computes_verifies_and_returns_each_algorithm(s3, bucket, algorithm) -> None:
    data = b"flexible checksum " * 3000 + algorithm.encode()
    key = name(algorithm.lower())
    put = s3.put_object(Bucket=bucket, Key=key, Body=data, ChecksumAlgorithm=algorithm)
    assert put[f"Checksum{algorithm}"] == expected(algorithm, data)
    assert put["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")  # botocore verifies the body too
    assert got["Body"].read() == data
    assert got[f"Checksum{algorithm}"] == expected(algorithm, data) and got["ChecksumType"] == "FULL_OBJECT"
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head[f"Checksum{algorithm}"] == expected(algorithm, data)
    assert f"Checksum{algorithm}" not in s3.head_object(Bucket=bucket, Key=key)  # only when asked for


@pytest.mark.parametrize("algorithm", ["CRC32C", "CRC64NVME", "SHA1"])
def test_put_with_the_value_in_a_header_is_verified(s3, bucket, algorithm) -> None:
    data = b"value given by the client" * 50
    key = name("given")
    put = s3.put_object(Bucket=bucket, Key=key, Body=data, **{f"Checksum{algorithm}": expected(algorithm, data)})
    assert put[f"Checksum{algorithm}"] == expected(algorithm, data)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key=key, Body=data + b"!", **{f"Checksum{algorithm}": expected(algorithm, data)})
    assert code(e) == "BadDigest" and status(e) == 400
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data  # the refused write left nothing


def _with_headers(s3, extra: dict):
    def add(request, **kwargs):
        for header, value in extra.items():
            request.headers[header] = value
    s3.meta.events.register_first("before-sign.s3.PutObject", add)
    return add


def test_malformed_or_doubled_checksum_headers_are_invalid_requests(gateway_server, keys, bucket) -> None:
    cases = [{"x-amz-checksum-crc32": "not base64!"},
             {"x-amz-checksum-crc64nvme": b64(b"\0" * 4)},  # a CRC32-sized value for a 64-bit CRC
             {"x-amz-checksum-crc32": b64(b"\0" * 4), "x-amz-checksum-sha1": b64(b"\0" * 20)},
             {"x-amz-sdk-checksum-algorithm": "MD4"}]
    for extra in cases:
        client = boto3_client(gateway_server, keys, request_checksum_calculation="when_required")
        _with_headers(client, extra)
        with pytest.raises(ClientError) as e:
            client.put_object(Bucket=bucket, Key=name("bad"), Body=b"data")
        assert (code(e), status(e)) == ("InvalidRequest", 400), extra


@pytest.mark.crt
def test_crc64nvme_trailer_as_boto3_sends_it_over_tls(s3, bucket, gateway_server) -> None:
    """boto3 puts the checksum in an aws-chunked trailer only over https: capture that request and replay it
    over plain HTTP (the scheme is not signed)."""
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config

    port = gateway_server.url.rsplit(":", 1)[1]
    creds = s3._request_signer._credentials
    tls = boto3.client("s3", endpoint_url=f"https://127.0.0.1:{port}", region_name="us-east-1",
                       aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                       config=Config(s3={"addressing_style": "path"}))
    seen = {}

    class Raw:
        def stream(self, **kwargs):
            yield b""

    def before_send(request, **kwargs):
        seen["headers"] = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        seen["body"] = request.body.read() if hasattr(request.body, "read") else request.body
        return AWSResponse(request.url, 200, {"ETag": '"x"'}, Raw())

    tls.meta.events.register("before-send.s3.PutObject", before_send)
    payload = b"a 64-bit trailer " * 7000
    tls.put_object(Bucket=bucket, Key="trailer64", Body=payload, ChecksumAlgorithm="CRC64NVME")
    assert {k.lower(): v for k, v in seen["headers"].items()}["x-amz-trailer"] == "x-amz-checksum-crc64nvme"
    replay = {k: v for k, v in seen["headers"].items() if k.lower() not in ("expect", "transfer-encoding")}
    sent = requests.put(f"{gateway_server.url}/{bucket}/trailer64", data=iter([seen["body"]]), headers=replay)
    assert sent.status_code == 200, sent.content
    assert sent.headers["x-amz-checksum-crc64nvme"] == expected("CRC64NVME", payload)
    got = s3.get_object(Bucket=bucket, Key="trailer64", ChecksumMode="ENABLED")
    assert got["Body"].read() == payload and got["ChecksumCRC64NVME"] == expected("CRC64NVME", payload)
    corrupted = seen["body"].replace(expected("CRC64NVME", payload).encode(), b64(b"\0" * 8).encode())
    refused = requests.put(f"{gateway_server.url}/{bucket}/trailer64", data=iter([corrupted]), headers=replay)
    assert refused.status_code == 400 and b"BadDigest" in refused.content


# -- multipart -----------------------------------------------------------------------------------------------

def test_composite_checksum_of_a_multipart_upload(s3, bucket, parts_object) -> None:
    key, one, two, done = parts_object
    composite = b64(hashlib.sha256(digest("SHA256", one) + digest("SHA256", two)).digest()) + "-2"
    assert done["ChecksumSHA256"] == composite and done["ChecksumType"] == "COMPOSITE"
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == composite and head["ChecksumType"] == "COMPOSITE"
    got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read() == one + two


@pytest.mark.parametrize("algorithm", sent_by_client(["CRC32", "CRC32C", "CRC64NVME"]))
def test_full_object_checksum_is_the_crc_of_the_whole_object(s3, bucket, algorithm) -> None:
    key = name("full")
    pieces = [b"\x01" * PART, b"second part" * 1000]
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm=algorithm,
                                        ChecksumType="FULL_OBJECT")
    assert upload["ChecksumType"] == "FULL_OBJECT"
    sent = []
    for number, data in enumerate(pieces, start=1):
        part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=number, Body=data,
                              ChecksumAlgorithm=algorithm)
        sent.append({"PartNumber": number, "ETag": part["ETag"], f"Checksum{algorithm}": part[f"Checksum{algorithm}"]})
    whole = expected(algorithm, b"".join(pieces))
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"],
                                        MultipartUpload={"Parts": sent}, ChecksumType="FULL_OBJECT",
                                        **{f"Checksum{algorithm}": whole})
    assert done[f"Checksum{algorithm}"] == whole and done["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")  # botocore checks the full CRC
    assert got["Body"].read() == b"".join(pieces) and got[f"Checksum{algorithm}"] == whole
    part = s3.get_object(Bucket=bucket, Key=key, PartNumber=2, ChecksumMode="ENABLED")
    assert part["Body"].read() == pieces[1]
    assert (part[f"Checksum{algorithm}"], part["ChecksumType"]) == (expected(algorithm, pieces[1]), "FULL_OBJECT")


def test_crc64nvme_uploads_default_to_full_object(s3, bucket) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key=name("nvme"), ChecksumAlgorithm="CRC64NVME")
    assert upload["ChecksumType"] == "FULL_OBJECT"


@pytest.mark.parametrize("algorithm, kind", [("SHA1", "FULL_OBJECT"), ("SHA256", "FULL_OBJECT"),
                                             ("CRC64NVME", "COMPOSITE")])
def test_checksum_types_s3_refuses(s3, bucket, algorithm, kind) -> None:
    with pytest.raises(ClientError) as e:
        s3.create_multipart_upload(Bucket=bucket, Key=name("refused"), ChecksumAlgorithm=algorithm,
                                   ChecksumType=kind)
    assert (code(e), status(e)) == ("InvalidRequest", 400)


def test_parts_are_held_to_their_upload(s3, bucket) -> None:
    key = name("held")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="SHA1")["UploadId"]
    with pytest.raises(ClientError) as e:  # a CRC32 part in a SHA1 upload
        s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x", ChecksumAlgorithm="CRC32")
    assert code(e) == "InvalidRequest" and "mismatch" in e.value.response["Error"]["Message"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1, Body=b"x",
                          ChecksumAlgorithm="SHA1")
    wrong = {"PartNumber": 1, "ETag": part["ETag"], "ChecksumSHA1": expected("SHA1", b"y")}
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": [wrong]})
    assert code(e) == "InvalidPart"
    with pytest.raises(ClientError) as e:  # the whole-object value the client expects does not match
        s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
                                     ChecksumSHA1=expected("SHA1", b"x") + "-1" + "0")
    assert code(e) == "BadDigest"
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id,
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"],
                                                                    "ChecksumSHA1": part["ChecksumSHA1"]}]})
    assert done["ChecksumSHA1"] == b64(hashlib.sha1(digest("SHA1", b"x")).digest()) + "-1"


# -- GetObjectAttributes ------------------------------------------------------------------------------------

def test_object_attributes_of_a_multipart_object_page_its_parts(s3, bucket, parts_object) -> None:
    key, one, two, done = parts_object
    every = ["ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"]
    got = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=every, MaxParts=1)
    assert got["ETag"] == done["ETag"].strip('"') and got["ObjectSize"] == len(one) + len(two)
    assert got["StorageClass"] == "STANDARD"
    assert got["Checksum"] == {"ChecksumSHA256": done["ChecksumSHA256"], "ChecksumType": "COMPOSITE"}
    parts = got["ObjectParts"]
    assert (parts["TotalPartsCount"], parts["MaxParts"], parts["IsTruncated"]) == (2, 1, True)
    assert parts["Parts"] == [{"PartNumber": 1, "Size": len(one), "ChecksumSHA256": expected("SHA256", one)}]
    rest = s3.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["ObjectParts"],
                                    PartNumberMarker=parts["NextPartNumberMarker"])
    assert rest["ObjectParts"]["IsTruncated"] is False
    assert rest["ObjectParts"]["Parts"] == [{"PartNumber": 2, "Size": len(two),
                                             "ChecksumSHA256": expected("SHA256", two)}]
    assert "ETag" not in rest and "ObjectSize" not in rest  # only what was asked for


def test_object_attributes_of_versions_and_their_refusals(s3, gateway_server, new_user) -> None:
    versioned = name("ckv")
    s3.create_bucket(Bucket=versioned)
    s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=versioned, Key="k", Body=b"first", ChecksumCRC32C=expected("CRC32C", b"first"))
    s3.put_object(Bucket=versioned, Key="k", Body=b"second version", StorageClass="STANDARD_IA")
    old = s3.get_object_attributes(Bucket=versioned, Key="k", VersionId=first["VersionId"],
                                   ObjectAttributes=["Checksum", "ObjectSize", "StorageClass"])
    assert old["VersionId"] == first["VersionId"] and old["ObjectSize"] == 5
    assert old["Checksum"] == {"ChecksumCRC32C": expected("CRC32C", b"first"), "ChecksumType": "FULL_OBJECT"}
    assert "ObjectParts" not in old  # a simple object has none
    now = s3.get_object_attributes(Bucket=versioned, Key="k", ObjectAttributes=["StorageClass", "ObjectSize"])
    assert (now["StorageClass"], now["ObjectSize"]) == ("STANDARD_IA", 14)
    marker = s3.delete_object(Bucket=versioned, Key="k")
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=versioned, Key="k", ObjectAttributes=["ETag"])
    assert (code(e), status(e)) == ("NoSuchKey", 404)
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=versioned, Key="k", VersionId=marker["VersionId"], ObjectAttributes=["ETag"])
    assert status(e) == 405
    with pytest.raises(ClientError) as e:
        s3.get_object_attributes(Bucket=versioned, Key="k", VersionId=first["VersionId"], ObjectAttributes=["Size"])
    assert code(e) == "InvalidArgument"
    stranger = boto3_client(gateway_server, new_user())
    with pytest.raises(ClientError) as e:
        stranger.get_object_attributes(Bucket=versioned, Key="k", VersionId=first["VersionId"],
                                       ObjectAttributes=["ETag"])
    assert code(e) == "AccessDenied"


def test_object_attributes_follow_the_object_acl(s3, bucket, gateway_server, new_user) -> None:
    s3.put_object(Bucket=bucket, Key="shared", Body=b"readable", ACL="public-read")
    anyone = boto3_client(gateway_server, new_user())
    got = anyone.get_object_attributes(Bucket=bucket, Key="shared", ObjectAttributes=["ObjectSize"])
    assert got["ObjectSize"] == 8


# -- partNumber ------------------------------------------------------------------------------------------------

def test_get_and_head_by_part_number(s3, bucket, parts_object) -> None:
    key, one, two, _ = parts_object
    second = s3.get_object(Bucket=bucket, Key=key, PartNumber=2, ChecksumMode="ENABLED")
    assert second["Body"].read() == two and second["PartsCount"] == 2
    assert second["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert second["ContentRange"] == f"bytes {len(one)}-{len(one) + len(two) - 1}/{len(one) + len(two)}"
    assert second["ChecksumSHA256"] == expected("SHA256", two)  # the part's own
    assert second["ChecksumType"] == "COMPOSITE"  # and its object's type
    head = s3.head_object(Bucket=bucket, Key=key, PartNumber=1)
    assert head["ContentLength"] == len(one) and head["PartsCount"] == 2
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key=key, PartNumber=3)
    assert (code(e), status(e)) == ("InvalidPartNumber", 416)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key=key, PartNumber=1, Range="bytes=0-1")
    assert (code(e), status(e)) == ("InvalidRequest", 400)


def test_part_number_of_a_simple_object(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="simple", Body=b"one piece")
    whole = s3.get_object(Bucket=bucket, Key="simple", PartNumber=1)
    assert whole["Body"].read() == b"one piece" and whole["ContentRange"] == "bytes 0-8/9"
    for number, wanted in ((2, ("InvalidPartNumber", 416)), (0, ("InvalidArgument", 400))):
        with pytest.raises(ClientError) as e:
            s3.get_object(Bucket=bucket, Key="simple", PartNumber=number)
        assert (code(e), status(e)) == wanted


# -- copies ------------------------------------------------------------------------------------------------------

def test_upload_part_copy_ranges(s3, bucket) -> None:
    source = bytes(range(256)) * (PART // 256 + 1)
    s3.put_object(Bucket=bucket, Key="copy-source", Body=source)
    key = name("ranged")
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="CRC32")["UploadId"]
    copied = s3.upload_part_copy(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=1,
                                 CopySource={"Bucket": bucket, "Key": "copy-source"},
                                 CopySourceRange=f"bytes=0-{PART - 1}")
    assert copied["CopyPartResult"]["ChecksumCRC32"] == expected("CRC32", source[:PART])
    last = s3.upload_part_copy(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=2,
                               CopySource={"Bucket": bucket, "Key": "copy-source"}, CopySourceRange="bytes=10-19")
    for bad in ("bytes=0-", "0-10", "bytes=5-2", f"bytes=0-{len(source)}"):
        with pytest.raises(ClientError) as e:
            s3.upload_part_copy(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=3,
                                CopySource={"Bucket": bucket, "Key": "copy-source"}, CopySourceRange=bad)
        assert (code(e), status(e)) == ("InvalidArgument", 400), bad
    parts = [{"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"],
              "ChecksumCRC32": copied["CopyPartResult"]["ChecksumCRC32"]},
             {"PartNumber": 2, "ETag": last["CopyPartResult"]["ETag"]}]
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == source[:PART] + source[10:20]


def test_copy_object_keeps_or_recomputes_checksums(s3, bucket, parts_object) -> None:
    data = b"copied with its checksum" * 10
    s3.put_object(Bucket=bucket, Key="c-src", Body=data, ChecksumCRC32C=expected("CRC32C", data))
    kept = s3.copy_object(Bucket=bucket, Key="c-kept", CopySource={"Bucket": bucket, "Key": "c-src"})
    assert kept["CopyObjectResult"]["ChecksumCRC32C"] == expected("CRC32C", data)
    redone = s3.copy_object(Bucket=bucket, Key="c-sha", CopySource={"Bucket": bucket, "Key": "c-src"},
                            ChecksumAlgorithm="SHA1")
    assert redone["CopyObjectResult"]["ChecksumSHA1"] == expected("SHA1", data)
    head = s3.head_object(Bucket=bucket, Key="c-sha", ChecksumMode="ENABLED")
    assert head["ChecksumSHA1"] == expected("SHA1", data) and "ChecksumCRC32C" not in head
    key, one, two, _ = parts_object  # a composite source: the copy is one object, its checksum a whole one
    whole = s3.copy_object(Bucket=bucket, Key="c-whole", CopySource={"Bucket": bucket, "Key": key})
    assert whole["CopyObjectResult"]["ChecksumSHA256"] == expected("SHA256", one + two)


# -- awscli ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("algorithm", sent_by_client(["SHA256", "CRC32C", "CRC64NVME"]))
def test_awscli_put_object_and_get_object_attributes(gateway_server, keys, bucket, tmp_path, algorithm) -> None:
    body = tmp_path / "body"
    body.write_bytes(b"through the aws cli" * 100)
    key = name("cli")
    put = s3api(gateway_server, keys, "put-object", "--bucket", bucket, "--key", key, "--body", str(body),
                "--checksum-algorithm", algorithm)
    assert put[f"Checksum{algorithm}"] == expected(algorithm, body.read_bytes())
    got = s3api(gateway_server, keys, "get-object-attributes", "--bucket", bucket, "--key", key,
                "--object-attributes", "ETag", "Checksum", "ObjectSize")
    assert got["ETag"] == put["ETag"].strip('"') and got["ObjectSize"] == len(body.read_bytes())
    assert got["Checksum"][f"Checksum{algorithm}"] == put[f"Checksum{algorithm}"]


# -- S3's default CRC64NVME (December 2024): objects written without a checksum get one ---------------------------

def crc64(data: bytes) -> str:
    """CRC64NVME as S3 answers it, computed here with awscrt (not through the gateway's code)."""
    return b64(crt.crc64nvme(data).to_bytes(8, "big"))


@pytest.fixture
def plain(gateway_server, keys):
    """A boto3 client that sends no checksum (current botocore sends a CRC32 unless told `when_required`);
    the headers of every request it makes are recorded, so each test can show that it sent none."""
    client = boto3_client(gateway_server, keys, request_checksum_calculation="when_required")
    client.sent = []

    def record(request, **kwargs):
        client.sent.append({k.lower() for k in request.headers.keys()})
    client.meta.events.register("before-send.s3", record)
    return client


def sent_no_checksum(client) -> bool:
    """No request so far carried a checksum of its body (x-amz-checksum-mode only asks for the stored one)."""
    return bool(client.sent) and not any(
        (h.startswith("x-amz-checksum-") and h != "x-amz-checksum-mode")
        or h in ("x-amz-sdk-checksum-algorithm", "x-amz-trailer", "content-md5")
        for headers in client.sent for h in headers)


@pytest.fixture
def no_client_checksums(monkeypatch):
    """awscli (botocore underneath) sending no checksum either: the documented environment switch."""
    monkeypatch.setenv("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")


def test_put_without_a_checksum_gets_crc64nvme(plain, bucket) -> None:
    data = b"stored with S3's default checksum " * 2000
    key = name("default")
    put = plain.put_object(Bucket=bucket, Key=key, Body=data)
    assert sent_no_checksum(plain)
    assert (put["ChecksumCRC64NVME"], put["ChecksumType"]) == (crc64(data), "FULL_OBJECT")
    head = plain.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (crc64(data), "FULL_OBJECT")
    assert "ChecksumCRC64NVME" not in plain.head_object(Bucket=bucket, Key=key)  # only when asked for
    got = plain.get_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read() == data and got["ChecksumCRC64NVME"] == crc64(data)
    attributes = plain.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["Checksum"])
    assert attributes["Checksum"] == {"ChecksumCRC64NVME": crc64(data), "ChecksumType": "FULL_OBJECT"}
    empty = plain.put_object(Bucket=bucket, Key=name("empty"), Body=b"")
    assert empty["ChecksumCRC64NVME"] == crc64(b"") == "AAAAAAAAAAA="


def test_browser_post_upload_gets_crc64nvme(plain, bucket) -> None:
    """A POST Object form (boto3's generate_presigned_post, posted by requests as a browser would) carries no
    checksum: the object gets the default too."""
    data = b"a file from a browser form " * 100
    key = name("posted")
    form = plain.generate_presigned_post(bucket, key)
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("f.txt", data)})
    assert posted.status_code == 204, posted.content
    head = plain.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (crc64(data), "FULL_OBJECT")


def test_a_checksum_the_client_sends_replaces_the_default(s3, bucket) -> None:
    """boto3's own default (a CRC32 it computes) is what the object keeps: S3 adds CRC64NVME only when none came."""
    data = b"the client chose" * 500
    key = name("chosen")
    put = s3.put_object(Bucket=bucket, Key=key, Body=data)
    assert put["ChecksumCRC32"] == expected("CRC32", data) and "ChecksumCRC64NVME" not in put
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == expected("CRC32", data) and "ChecksumCRC64NVME" not in head


def test_copy_of_a_default_checksummed_object_keeps_crc64nvme(plain, bucket) -> None:
    data = b"copied, default checksum and all " * 300
    source = name("default-src")
    plain.put_object(Bucket=bucket, Key=source, Body=data)
    copied = plain.copy_object(Bucket=bucket, Key=name("default-copy"), CopySource={"Bucket": bucket, "Key": source})
    assert sent_no_checksum(plain)
    result = copied["CopyObjectResult"]
    assert (result["ChecksumCRC64NVME"], result["ChecksumType"]) == (crc64(data), "FULL_OBJECT")
    other = plain.copy_object(Bucket=bucket, Key=name("sha-copy"), CopySource={"Bucket": bucket, "Key": source},
                              ChecksumAlgorithm="SHA256")["CopyObjectResult"]
    assert other["ChecksumSHA256"] == expected("SHA256", data) and "ChecksumCRC64NVME" not in other


def test_multipart_upload_without_an_algorithm_gets_a_full_object_crc64nvme(plain, bucket) -> None:
    """Parts uploaded and copied with no checksum; the object's CRC64NVME is made from the parts' at completion."""
    source = name("mp-src")
    tail_source = b"bytes copied into the last part " * 100
    plain.put_object(Bucket=bucket, Key=source, Body=tail_source)
    key = name("mp-default")
    first = bytes(range(256)) * (PART // 256)
    upload = plain.create_multipart_upload(Bucket=bucket, Key=key)
    assert "ChecksumAlgorithm" not in upload
    one = plain.upload_part(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=1, Body=first)
    assert one["ChecksumCRC64NVME"] == crc64(first)
    two = plain.upload_part_copy(Bucket=bucket, Key=key, UploadId=upload["UploadId"], PartNumber=2,
                                 CopySource={"Bucket": bucket, "Key": source}, CopySourceRange="bytes=5-1004")
    second = tail_source[5:1005]
    assert two["CopyPartResult"]["ChecksumCRC64NVME"] == crc64(second)
    done = plain.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": one["ETag"]}, {"PartNumber": 2, "ETag": two["CopyPartResult"]["ETag"]}]})
    assert sent_no_checksum(plain)
    whole = crc64(first + second)
    assert (done["ChecksumCRC64NVME"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    head = plain.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
    assert head["ETag"].endswith('-2"')  # still the multipart ETag
    got = plain.get_object_attributes(Bucket=bucket, Key=key, ObjectAttributes=["Checksum", "ObjectParts"])
    assert got["Checksum"] == {"ChecksumCRC64NVME": whole, "ChecksumType": "FULL_OBJECT"}
    assert [(p["PartNumber"], p["ChecksumCRC64NVME"]) for p in got["ObjectParts"]["Parts"]] == [
        (1, crc64(first)), (2, crc64(second))]
    wrong = plain.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = plain.upload_part(Bucket=bucket, Key=key, UploadId=wrong, PartNumber=1, Body=b"short")
    with pytest.raises(ClientError) as e:  # the whole-object value a client expects is checked against it
        plain.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=wrong, ChecksumCRC64NVME=crc64(b"other"),
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert (code(e), status(e)) == ("BadDigest", 400)


def test_multipart_upload_as_boto3_sends_it_by_default_gets_a_full_object_crc64nvme(s3, bucket) -> None:
    """boto3's defaults: no algorithm on CreateMultipartUpload, its own CRC32 on each part; the object still gets
    the CRC64NVME of the whole, combined from the parts' (each part also kept it)."""
    key = name("mp-boto3")
    first, second = b"a" * PART, b"the short last part"
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=n, Body=body)["ETag"]
             for n, body in ((1, first), (2, second))]
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": etag} for n, etag in enumerate(etags, 1)]})
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (crc64(first + second), "FULL_OBJECT")


def test_awscli_put_copy_and_multipart_without_a_checksum(gateway_server, keys, bucket, tmp_path,
                                                          no_client_checksums) -> None:
    def cli(*args: str):
        return s3api(gateway_server, keys, *args)

    data = b"awscli sends no checksum here " * 400
    body = tmp_path / "body"
    body.write_bytes(data)
    key, copy, multi = name("cli-default"), name("cli-copy"), name("cli-mp")
    put = cli("put-object", "--bucket", bucket, "--key", key, "--body", str(body))
    assert put["ChecksumCRC64NVME"] == crc64(data) and "ChecksumCRC32" not in put  # no CRC32 came from awscli
    head = cli("head-object", "--bucket", bucket, "--key", key, "--checksum-mode", "ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (crc64(data), "FULL_OBJECT")
    cli("copy-object", "--bucket", bucket, "--key", copy, "--copy-source", f"{bucket}/{key}")
    head = cli("head-object", "--bucket", bucket, "--key", copy, "--checksum-mode", "ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (crc64(data), "FULL_OBJECT")
    big = tmp_path / "part1"
    big.write_bytes(b"\x07" * PART)
    upload_id = cli("create-multipart-upload", "--bucket", bucket, "--key", multi)["UploadId"]
    parts = []
    for number, path in ((1, big), (2, body)):
        part = cli("upload-part", "--bucket", bucket, "--key", multi, "--upload-id", upload_id,
                   "--part-number", str(number), "--body", str(path))
        assert "ChecksumCRC32" not in part
        parts.append({"PartNumber": number, "ETag": part["ETag"]})
    layout = tmp_path / "parts.json"
    layout.write_text(json.dumps({"Parts": parts}))
    done = cli("complete-multipart-upload", "--bucket", bucket, "--key", multi, "--upload-id", upload_id,
               "--multipart-upload", f"file://{layout}")
    whole = crc64(b"\x07" * PART + data)
    assert (done["ChecksumCRC64NVME"], done["ChecksumType"]) == (whole, "FULL_OBJECT")
    head = cli("head-object", "--bucket", bucket, "--key", multi, "--checksum-mode", "ENABLED")
    assert (head["ChecksumCRC64NVME"], head["ChecksumType"]) == (whole, "FULL_OBJECT")
    assert "ChecksumCRC64NVME" not in cli("head-object", "--bucket", bucket, "--key", multi)
