"""Every S3 operation through boto3 (and presigned URLs through plain requests): conditions and ranges,
versioning, listings, multipart, copy, bucket configuration, checksums, aws-chunked bodies, early refusal."""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import time
import uuid
import warnings
import zlib
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote_plus

import pytest
import requests
from botocore.exceptions import ClientError

from tests.protocol.s3.conftest import boto2_connection, boto3_client

MiB = 1024 * 1024


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


def code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


def status(exc: pytest.ExceptionInfo) -> int:
    return exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def s3(gateway_server, new_user):
    return boto3_client(gateway_server, new_user())


@pytest.fixture
def bucket(s3):
    b = name("ops")
    s3.create_bucket(Bucket=b)
    return b


def test_get_ranges_conditions_and_kept_headers(s3, bucket) -> None:
    data = bytes(range(256)) * 40
    put = s3.put_object(Bucket=bucket, Key="k", Body=data, ContentType="application/x-test",
                        CacheControl="max-age=60", ContentDisposition='attachment; filename="k.bin"',
                        ContentMD5=base64.b64encode(hashlib.md5(data).digest()).decode())
    etag = put["ETag"]
    assert etag == '"%s"' % hashlib.md5(data).hexdigest()
    got = s3.get_object(Bucket=bucket, Key="k", Range="bytes=10-19")
    assert got["Body"].read() == data[10:20] and got["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert s3.get_object(Bucket=bucket, Key="k", Range="bytes=-5")["Body"].read() == data[-5:]
    head = s3.head_object(Bucket=bucket, Key="k")
    assert (head["ContentType"], head["CacheControl"], head["ContentDisposition"], head["ContentLength"]) == \
        ("application/x-test", "max-age=60", 'attachment; filename="k.bin"', len(data))
    assert head["AcceptRanges"] == "bytes" and head["ETag"] == etag
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfNoneMatch=etag)
    assert status(e) == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfMatch='"0000"')
    assert code(e) == "PreconditionFailed" and status(e) == 412
    later = datetime.now(timezone.utc) + timedelta(seconds=5)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", IfUnmodifiedSince=datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert status(e) == 412
    assert s3.get_object(Bucket=bucket, Key="k", IfModifiedSince=datetime(2000, 1, 1))["Body"].read() == data
    assert s3.get_object(Bucket=bucket, Key="k", IfUnmodifiedSince=later)["ContentLength"] == len(data)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k", Range=f"bytes={len(data)}-")
    assert code(e) == "InvalidRange" and status(e) == 416
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="bad", Body=b"abc", ContentMD5=base64.b64encode(b"x" * 16).decode())
    assert code(e) == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="bad")
    assert status(e) == 404  # nothing half-written


def test_checksums_are_verified_stored_and_returned(s3, bucket) -> None:
    data = b"checksummed" * 1000
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    put = s3.put_object(Bucket=bucket, Key="c", Body=data, ChecksumAlgorithm="CRC32")
    assert put["ChecksumCRC32"] == crc
    got = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc and got["Body"].read() == data
    sha = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert s3.put_object(Bucket=bucket, Key="s", Body=data, ChecksumSHA256=sha)["ChecksumSHA256"] == sha
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="wrong", Body=data, ChecksumSHA256=base64.b64encode(b"0" * 32).decode())
    assert code(e) == "BadDigest"


def test_versioning_and_delete_markers(s3, bucket) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"one"
    deleted = s3.delete_object(Bucket=bucket, Key="k")
    assert deleted["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="k")
    assert code(e) == "NoSuchKey"
    listing = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in listing["Versions"]] == [v2, v1]
    assert listing["DeleteMarkers"][0]["IsLatest"] is True
    s3.delete_object(Bucket=bucket, Key="k", VersionId=deleted["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"two"


def test_listings_v1_v2(s3, bucket) -> None:
    keys = ["a/1", "a/2", "b/1", "c", "d e+f", "z/\u00e9"]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    v2 = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in v2["CommonPrefixes"]] == ["a/", "b/", "z/"]
    assert [o["Key"] for o in v2["Contents"]] == ["c", "d e+f"]
    page = s3.list_objects_v2(Bucket=bucket, MaxKeys=2)
    assert page["IsTruncated"] and [o["Key"] for o in page["Contents"]] == ["a/1", "a/2"]
    rest = s3.list_objects_v2(Bucket=bucket, ContinuationToken=page["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == keys[2:]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, StartAfter="c")["Contents"]] == keys[4:]
    v1 = s3.list_objects(Bucket=bucket, Prefix="a/", Marker="a/1")
    assert [o["Key"] for o in v1["Contents"]] == ["a/2"]
    encoded = s3.list_objects(Bucket=bucket, EncodingType="url")  # asked for explicitly: left encoded
    assert [unquote_plus(o["Key"]) for o in encoded["Contents"]] == keys and encoded["Contents"][4]["Key"] != keys[4]
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=0)["KeyCount"] == 0


def test_multipart_upload(s3, bucket) -> None:
    parts_data = [b"a" * (5 * MiB), b"b" * (5 * MiB), b"tail"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big", ContentType="video/x-test",
                                        Metadata={"who": "me"})["UploadId"]
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [upload]
    etags = []
    for n, chunk in enumerate(parts_data, 1):
        etags.append(s3.upload_part(Bucket=bucket, Key="big", UploadId=upload, PartNumber=n, Body=chunk)["ETag"])
    listed = s3.list_parts(Bucket=bucket, Key="big", UploadId=upload)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in listed] == [(1, 5 * MiB), (2, 5 * MiB), (3, 4)]
    with pytest.raises(ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": etags[1]}]})
    assert code(e) == "InvalidPart"
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": t} for n, t in enumerate(etags, 1)]})
    digest = hashlib.md5(b"".join(bytes.fromhex(t.strip('"')) for t in etags)).hexdigest()
    assert done["ETag"] == f'"{digest}-3"'
    got = s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={5 * MiB - 2}-{5 * MiB + 1}")
    assert got["Body"].read() == b"aabb"
    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ContentLength"] == 10 * MiB + 4 and head["Metadata"] == {"who": "me"}
    assert head["ContentType"] == "video/x-test"
    # upload part copy, then abort
    other = s3.create_multipart_upload(Bucket=bucket, Key="copy")["UploadId"]
    copied = s3.upload_part_copy(Bucket=bucket, Key="copy", UploadId=other, PartNumber=1,
                                 CopySource={"Bucket": bucket, "Key": "big"}, CopySourceRange="bytes=0-9")
    assert copied["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(b"a" * 10).hexdigest()
    s3.abort_multipart_upload(Bucket=bucket, Key="copy", UploadId=other)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="copy", UploadId=other)
    assert code(e) == "NoSuchUpload"


def test_copy_directive_conditions_and_multi_delete(s3, bucket) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"data", Metadata={"a": "1"}, ContentType="text/a")
    s3.copy_object(Bucket=bucket, Key="same", CopySource=f"{bucket}/src")
    assert s3.head_object(Bucket=bucket, Key="same")["Metadata"] == {"a": "1"}
    s3.copy_object(Bucket=bucket, Key="new", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"b": "2"}, ContentType="text/b")
    head = s3.head_object(Bucket=bucket, Key="new")
    assert head["Metadata"] == {"b": "2"} and head["ContentType"] == "text/b"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/src", CopySourceIfMatch='"nope"')
    assert code(e) == "PreconditionFailed"
    gone = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "same"}, {"Key": "new"},
                                                                {"Key": "never"}]})
    assert sorted(d["Key"] for d in gone["Deleted"]) == ["never", "new", "same"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["src"]


def test_bucket_configuration(s3) -> None:
    b = name("conf")
    s3.create_bucket(Bucket=b, CreateBucketConfiguration={"LocationConstraint": "zone-1"})
    assert s3.get_bucket_location(Bucket=b)["LocationConstraint"] == "zone-1"
    s3.head_bucket(Bucket=b)
    s3.put_bucket_acl(Bucket=b, ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=b)["Grants"]
    assert {g["Permission"] for g in grants} == {"FULL_CONTROL", "READ"}
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}]}
    s3.put_bucket_policy(Bucket=b, Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket=b)["Policy"]) == policy
    s3.delete_bucket_policy(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket=b)
    assert code(e) == "NoSuchBucketPolicy"
    cors = {"CORSRules": [{"AllowedOrigins": ["https://example.com"], "AllowedMethods": ["GET"],
                           "MaxAgeSeconds": 30}]}
    s3.put_bucket_cors(Bucket=b, CORSConfiguration=cors)
    assert s3.get_bucket_cors(Bucket=b)["CORSRules"][0]["AllowedOrigins"] == ["https://example.com"]
    endpoint = s3.meta.endpoint_url
    pre = requests.options(f"{endpoint}/{b}/x", headers={"Origin": "https://example.com",
                                                           "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 200 and pre.headers["Access-Control-Allow-Origin"] == "https://example.com"
    s3.delete_bucket_cors(Bucket=b)
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket=b)
    assert code(e) == "NoSuchCORSConfiguration"
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="Bad_Name")
    assert code(e) == "InvalidBucketName"


def test_anonymous_access_only_where_granted(s3, bucket, gateway_server) -> None:
    s3.put_object(Bucket=bucket, Key="private", Body=b"p")
    s3.put_object(Bucket=bucket, Key="public", Body=b"q", ACL="public-read")
    base = gateway_server.url
    denied = requests.get(f"{base}/{bucket}/private")
    assert denied.status_code == 403 and b"<Code>AccessDenied</Code>" in denied.content
    assert requests.get(f"{base}/{bucket}/public").content == b"q"
    assert requests.get(f"{base}/awsapi/rest/AmazonS3/{bucket}/public").content == b"q"
    assert requests.get(f"{base}/{bucket}").status_code == 403
    assert requests.put(f"{base}/{bucket}/anon", data=b"x").status_code == 403
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                       "Action": "s3:GetObject",
                                                       "Resource": f"arn:aws:s3:::{bucket}/private"}]}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    assert requests.get(f"{base}/{bucket}/private").content == b"p"


def test_presigned_urls_v2_and_v4(s3, bucket, gateway_server, new_user) -> None:
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"presigned!")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"}, ExpiresIn=60)
    assert "X-Amz-Signature" in url and requests.get(url).content == b"presigned!"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up"}, ExpiresIn=60)
    assert requests.put(put_url, data=b"uploaded").status_code == 200
    assert s3.get_object(Bucket=bucket, Key="up")["Body"].read() == b"uploaded"
    tampered = url.replace("doc.txt", "up")
    assert requests.get(tampered).status_code == 403
    keys = s3._request_signer._credentials
    conn = boto2_connection(gateway_server, type("K", (), {"access_key": keys.access_key,
                                                            "secret_key": keys.secret_key})(), path="/")
    v2 = conn.generate_url(60, "GET", bucket=bucket, key="doc.txt")
    assert "Signature=" in v2 and requests.get(v2).content == b"presigned!"
    expired = conn.generate_url(-10, "GET", bucket=bucket, key="doc.txt")
    refused = requests.get(expired)
    assert refused.status_code == 403 and b"AccessDenied" in refused.content


def _sign_key(secret: str, date: str) -> bytes:
    key = ("AWS4" + secret).encode()
    for part in (date, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _streaming_put(gateway_server, keys, bucket, key, payload, corrupt_chunk=None):
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload: headers signed by botocore, each chunk signed here."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    empty = hashlib.sha256(b"").hexdigest()
    chunks = [payload[i:i + 65536] for i in range(0, len(payload), 65536)] + [b""]
    framed_length = sum(len(b"%x;chunk-signature=" % len(c)) + 64 + 2 + len(c) + (2 if c else 0) for c in chunks)
    headers = {"X-Amz-Content-SHA256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "Content-Encoding": "aws-chunked",
               "X-Amz-Decoded-Content-Length": str(len(payload)), "Content-Length": str(framed_length + 2)}
    request = AWSRequest(method="PUT", url=f"{gateway_server.url}/{bucket}/{key}", headers=headers)
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    amz_date = prepared.headers["X-Amz-Date"]
    signing_key = _sign_key(keys.secret_key, amz_date[:8])
    previous = prepared.headers["Authorization"].rsplit("Signature=", 1)[1]
    body = b""
    for n, piece in enumerate(chunks):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, f"{amz_date[:8]}/us-east-1/s3/aws4_request",
                         previous, empty, hashlib.sha256(piece).hexdigest()])
        previous = hmac.new(signing_key, sts.encode(), hashlib.sha256).hexdigest()
        body += b"%x;chunk-signature=%s\r\n" % (len(piece), (b"0" * 64 if n == corrupt_chunk else previous.encode()))
        body += piece + b"\r\n" if piece else b""
    body += b"\r\n"
    assert len(body) == framed_length + 2
    return requests.put(prepared.url, data=body, headers=dict(prepared.headers))


def test_streaming_signed_chunks(gateway_server, new_user) -> None:
    keys = new_user()
    s3 = boto3_client(gateway_server, keys)
    b = name("chunks")
    s3.create_bucket(Bucket=b)
    payload = bytes(range(256)) * 1000
    ok = _streaming_put(gateway_server, keys, b, "good", payload)
    assert ok.status_code == 200, ok.text
    assert s3.get_object(Bucket=b, Key="good")["Body"].read() == payload
    bad = _streaming_put(gateway_server, keys, b, "bad", payload, corrupt_chunk=2)
    assert bad.status_code == 403 and b"SignatureDoesNotMatch" in bad.content
    with pytest.raises(ClientError):
        s3.head_object(Bucket=b, Key="bad")


def test_unsigned_payload_trailer_as_boto3_sends_it_over_tls(s3, bucket, gateway_server) -> None:
    """boto3 streams STREAMING-UNSIGNED-PAYLOAD-TRAILER (CRC32 trailer) only over https: capture that real
    request and replay it over plain HTTP (the scheme is not signed)."""
    from botocore.awsrequest import AWSResponse
    from botocore.config import Config
    import boto3

    port = gateway_server.url.rsplit(":", 1)[1]
    creds = s3._request_signer._credentials
    tls = boto3.client("s3", endpoint_url=f"https://127.0.0.1:{port}", region_name="us-east-1",
                       aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key,
                       config=Config(s3={"addressing_style": "path"}, request_checksum_calculation="when_supported"))
    seen = {}

    class Raw:
        def stream(self, **kwargs):
            yield b""

    def before_send(request, **kwargs):
        body = request.body
        seen["headers"] = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        seen["body"] = body.read() if hasattr(body, "read") else body
        return AWSResponse(request.url, 200, {"ETag": '"x"'}, Raw())

    tls.meta.events.register("before-send.s3.PutObject", before_send)
    payload = b"trailing checksum " * 5000
    tls.put_object(Bucket=bucket, Key="trailer", Body=payload)
    # Header names as the signer spelled them (botocore's own signer or, with awscrt installed, the CRT's).
    sent_headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert sent_headers["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    # boto3 frames it with Transfer-Encoding: chunked too; a generator body makes requests do the same.
    replay = {k: v for k, v in seen["headers"].items() if k.lower() not in ("expect", "transfer-encoding")}
    sent = requests.put(f"{gateway_server.url}/{bucket}/trailer", data=iter([seen["body"]]), headers=replay)
    assert sent.status_code == 200, (sent.content, seen["headers"])
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    assert sent.headers["x-amz-checksum-crc32"] == crc
    got = s3.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
    assert got["Body"].read() == payload and got["ChecksumCRC32"] == crc
    corrupted = seen["body"].replace(crc.encode(), base64.b64encode(b"\0\0\0\0"))
    refused = requests.put(f"{gateway_server.url}/{bucket}/trailer", data=iter([corrupted]), headers=replay)
    assert refused.status_code == 400 and b"BadDigest" in refused.content
    assert s3.get_object(Bucket=bucket, Key="trailer")["Body"].read() == payload  # the old one stays


def test_refused_before_the_body_with_expect_100_continue(s3, bucket, gateway_server, new_user) -> None:
    """A PUT the caller may not make is answered before its body is sent: no 100 Continue, the error."""
    intruder = boto3_client(gateway_server, new_user())
    with pytest.raises(ClientError) as e:
        intruder.put_object(Bucket=bucket, Key="big", Body=b"x" * (2 * MiB))
    assert code(e) == "AccessDenied"
    host, port = gateway_server.url[len("http://"):].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.putrequest("PUT", f"/{bucket}/raw")
    conn.putheader("Content-Length", str(10 * MiB))
    conn.putheader("Expect", "100-continue")
    conn.endheaders()
    started = time.monotonic()
    response = conn.getresponse()  # without sending a byte of the body
    assert response.status == 403 and b"AccessDenied" in response.read()
    assert time.monotonic() - started < 5
    conn.close()


def test_service_wide_errors(gateway_server, new_user) -> None:
    keys = new_user()
    wrong = boto3_client(gateway_server, type(keys)(keys.access_key, "not-the-secret", keys.account))
    with pytest.raises(ClientError) as e:
        wrong.list_buckets()
    assert code(e) == "SignatureDoesNotMatch"
    unknown = boto3_client(gateway_server, type(keys)("AKUNKNOWN", "x", ""))
    with pytest.raises(ClientError) as e:
        unknown.list_buckets()
    assert code(e) == "InvalidAccessKeyId"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        anon = requests.get(gateway_server.url + "/")
    assert anon.status_code == 403
