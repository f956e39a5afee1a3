"""Every S3 request gets an answer (issue 9): non-ASCII escapes in the query and the path, on every method,
signed by boto3 (SigV4 and SigV2: the client encodes and signs the Unicode itself) and unsigned over a raw
socket, with and without `Expect: 100-continue`. Bytes that are not UTF-8 are InvalidURI, a repeated
parameter InvalidArgument; each answer is a complete HTTP response whose error body is S3's XML.
"""
from __future__ import annotations

import socket
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any, Callable

import pytest

from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.test_signed_query import s3client

KEY = "dossier é/clé ü+ø.txt"
E_ACUTE = "x=%C3%A9&y=%E2%82%AC"  # é and €, as any client escapes them


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def error(self) -> tuple[int, str]:
        root = ET.fromstring(self.body)
        assert root.tag == "Error" and root.findtext("RequestId"), self.body
        return self.status, root.findtext("Code") or ""


def _read_head(sock: socket.socket, data: bytes) -> tuple[bytes, bytes]:
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed without an answer (got {data!r})"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def exchange(server: GatewayServer, method: str, target: str, body: bytes = b"", expect: bool = False,
             headers: tuple[str, ...] = ()) -> Answer:
    """One request on its own connection (Connection: close), read to the end: the whole answer or a failure."""
    port = int(server.url.rsplit(":", 1)[1])
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close", *headers]
    if body or method in ("PUT", "POST"):
        lines.append(f"Content-Length: {len(body)}")
    if expect:
        lines.append("Expect: 100-continue")
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))  # header bytes as given
        if not expect:
            sock.sendall(body)
        head, rest = _read_head(sock, b"")
        if expect and head.startswith(b"HTTP/1.1 100"):
            sock.sendall(body)
            head, rest = _read_head(sock, rest)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    if method != "HEAD":
        assert len(rest) == int(fields["content-length"]), (status_line, rest)
    return Answer(int(status_line.split()[1]), fields, rest)


@pytest.fixture
def owner(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


@pytest.fixture
def private_bucket(gateway_server: GatewayServer, owner: Keys) -> tuple[Any, str]:
    s3 = s3client(gateway_server, owner)
    bucket = f"e-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=KEY, Body=b"existing")
    return s3, bucket


# -- signed: boto3 encodes and signs Unicode in the path and the query ---------------------------------------

@pytest.mark.parametrize("version", ["s3v4", "s3"])
def test_signed_requests_with_non_ascii_query_and_path_all_succeed(gateway_server: GatewayServer,
                                                                   new_user: Callable[[], Keys], version: str) -> None:
    s3 = s3client(gateway_server, new_user(), version)

    def add(request: Any, **_: Any) -> None:  # before signing: signed with SigV4, sent either way
        request.url += ("&" if "?" in request.url else "?") + E_ACUTE
    s3.meta.events.register("before-sign.s3", add)

    bucket = f"u-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    put = s3.put_object(Bucket=bucket, Key=KEY, Body=b"h\xc3\xa9llo", ContentType="text/plain; charset=utf-8")
    assert put["ETag"]
    got = s3.get_object(Bucket=bucket, Key=KEY, ResponseContentDisposition="attachment; filename=clé.txt")
    assert got["Body"].read() == b"h\xc3\xa9llo"
    assert s3.head_object(Bucket=bucket, Key=KEY)["ContentLength"] == 6
    listing = s3.list_objects_v2(Bucket=bucket, Prefix="dossier é/")
    assert [o["Key"] for o in listing["Contents"]] == [KEY]

    upload = s3.create_multipart_upload(Bucket=bucket, Key=KEY + ".mp")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=KEY + ".mp", UploadId=upload, PartNumber=1, Body=b"part one")
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=bucket, Key=KEY + ".mp", UploadId=upload)["Parts"]] \
        == [1]
    s3.complete_multipart_upload(Bucket=bucket, Key=KEY + ".mp", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key=KEY + ".mp")["Body"].read() == b"part one"

    s3.copy_object(Bucket=bucket, Key=KEY + ".copy", CopySource={"Bucket": bucket, "Key": KEY})
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": KEY + ".copy"}, {"Key": KEY + ".mp"}]})
    assert sorted(d["Key"] for d in deleted["Deleted"]) == [KEY + ".copy", KEY + ".mp"]
    s3.delete_object(Bucket=bucket, Key=KEY)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


# -- unsigned and hostile: a raw socket ----------------------------------------------------------------------

ESCAPED_KEY = "dossier%20%C3%A9/cl%C3%A9%20%C3%BC%2B%C3%B8.txt"
UNSIGNED = [
    # method, path and query after the bucket, body, expect, answer
    ("PUT", f"/{ESCAPED_KEY}?{E_ACUTE}", b"abc", False, (403, "AccessDenied")),
    ("PUT", f"/{ESCAPED_KEY}?{E_ACUTE}", b"abc", True, (403, "AccessDenied")),
    ("PUT", f"/{ESCAPED_KEY}?partNumber=1&uploadId=nope&{E_ACUTE}", b"abc", False, (404, "NoSuchUpload")),
    ("PUT", f"/{ESCAPED_KEY}?partNumber=1&uploadId=nope&{E_ACUTE}", b"abc", True, (404, "NoSuchUpload")),
    ("GET", f"/{ESCAPED_KEY}?{E_ACUTE}", b"", False, (403, "AccessDenied")),
    ("GET", f"?prefix=dossier%20%C3%A9&{E_ACUTE}", b"", False, (403, "AccessDenied")),
    ("HEAD", f"/{ESCAPED_KEY}?{E_ACUTE}", b"", False, (403, None)),
    ("DELETE", f"/{ESCAPED_KEY}?{E_ACUTE}", b"", False, (403, "AccessDenied")),
    ("POST", f"/{ESCAPED_KEY}?uploads&{E_ACUTE}", b"", False, (403, "AccessDenied")),
    ("POST", f"?delete&{E_ACUTE}", b"<Delete><Object><Key>a</Key></Object></Delete>", False,
     (400, "InvalidRequest")),  # no Content-MD5
]


@pytest.mark.parametrize("method,rest,body,expect,answer", UNSIGNED)
def test_unsigned_requests_with_non_ascii_escapes_are_answered(gateway_server: GatewayServer,
                                                               private_bucket: tuple[Any, str], method: str,
                                                               rest: str, body: bytes, expect: bool,
                                                               answer: tuple[int, Any]) -> None:
    s3, bucket = private_bucket
    got = exchange(gateway_server, method, f"/{bucket}{rest}", body, expect)
    if method == "HEAD":
        assert (got.status, got.body) == (answer[0], b"")
    else:
        assert got.error() == answer
    assert got.headers["x-amz-request-id"]
    # Nothing ran: the object is as it was, and no anonymous upload exists.
    assert s3.get_object(Bucket=bucket, Key=KEY)["Body"].read() == b"existing"
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@pytest.mark.parametrize("method", ["PUT", "POST", "GET"])
def test_header_bytes_that_are_not_utf8_are_answered(gateway_server: GatewayServer,
                                                    private_bucket: tuple[Any, str], method: str) -> None:
    """Twisted's getHeader(str) decodes UTF-8: a Content-Type of b'\\xc3x' made routing itself fail."""
    s3, bucket = private_bucket
    got = exchange(gateway_server, method, f"/{bucket}/{ESCAPED_KEY}?{E_ACUTE}", b"abc" if method != "GET" else b"",
                   headers=("Content-Type: \u00c3x", "x-amz-meta-cafe: caf\u00e9", "x-amz-decoded-content-length: \u00b2"))
    assert got.error() == ((403, "AccessDenied") if method != "POST" else (405, "MethodNotAllowed"))


BAD_UTF8 = [("PUT", False), ("PUT", True), ("GET", False), ("HEAD", False), ("DELETE", False), ("POST", False)]


@pytest.mark.parametrize("where", ["query", "path"])
@pytest.mark.parametrize("method,expect", BAD_UTF8)
def test_escapes_that_are_not_utf8_are_invalid_uri(gateway_server: GatewayServer, private_bucket: tuple[Any, str],
                                                   where: str, method: str, expect: bool) -> None:
    s3, bucket = private_bucket
    target = f"/{bucket}/k%FF?x=1" if where == "path" else f"/{bucket}/k?uploads&x=%C3%28"
    got = exchange(gateway_server, method, target, b"body" if method == "PUT" else b"", expect)
    if method == "HEAD":
        assert (got.status, got.body) == (400, b"")
    else:
        assert got.error() == (400, "InvalidURI")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1


@pytest.mark.parametrize("expect", [False, True])
def test_a_repeated_parameter_on_an_upload_is_refused_before_the_body(gateway_server: GatewayServer,
                                                                     private_bucket: tuple[Any, str],
                                                                     expect: bool) -> None:
    s3, bucket = private_bucket
    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    got = exchange(gateway_server, "PUT", f"/{bucket}/m?partNumber=1&uploadId={upload}&partNumber=2",
                   b"x" * 4096, expect)
    assert got.error() == (400, "InvalidArgument")
    assert ET.fromstring(got.body).findtext("ArgumentName") == "partNumber"
    assert s3.list_parts(Bucket=bucket, Key="m", UploadId=upload).get("Parts", []) == []


# -- numbers: digits other than ASCII are not numbers (int('²') raises, int('١') is 1) --------------------------

SUPERSCRIPT_TWO = "%C2%B2"


def test_non_ascii_digits_are_refused_as_numbers_not_crashes(gateway_server: GatewayServer, owner: Keys,
                                                             private_bucket: tuple[Any, str]) -> None:
    import requests

    s3, bucket = private_bucket
    v2 = s3client(gateway_server, owner, "s3")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": KEY})
    expires = url.split("Expires=")[1].split("&")[0]
    for digits in (SUPERSCRIPT_TWO, "%D9%A1%D9%A2"):  # '²', and Arabic-Indic '١٢'
        answer = requests.get(url.replace("Expires=" + expires, "Expires=" + digits), timeout=30)
        assert (answer.status_code, ET.fromstring(answer.content).findtext("Code")) == (403, "AccessDenied")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": KEY})
    answer = requests.get(url.replace("X-Amz-Expires=3600", "X-Amz-Expires=" + SUPERSCRIPT_TWO), timeout=30)
    assert (answer.status_code, ET.fromstring(answer.content).findtext("Code")) \
        == (400, "AuthorizationQueryParametersError")

    upload = s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1, Body=b"one")
    with pytest.raises(Exception) as failure:  # beyond S3's integers (and SQLite's): not a 500
        s3.list_parts(Bucket=bucket, Key="m", UploadId=upload, PartNumberMarker=10 ** 22)
    error = getattr(failure.value, "response", {}).get("Error", {})
    assert (error.get("Code"), error.get("ArgumentName")) == ("InvalidArgument", "part-number-marker")
    complete = s3.generate_presigned_url("complete_multipart_upload",
                                         Params={"Bucket": bucket, "Key": "m", "UploadId": upload})
    document = f"<CompleteMultipartUpload><Part><PartNumber>\u00b2</PartNumber><ETag>{part['ETag']}</ETag>" \
               "</Part></CompleteMultipartUpload>"
    answer = requests.post(complete, data=document.encode("utf-8"), timeout=30)
    assert (answer.status_code, ET.fromstring(answer.content).findtext("Code")) == (400, "MalformedXML")

    document = "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>" \
               "<MaxAgeSeconds>\u00b2</MaxAgeSeconds></CORSRule></CORSConfiguration>"

    def replace_body(request: Any, **_: Any) -> None:  # before signing: boto3 itself would send an int
        request.data = document.encode("utf-8")
        for name in [h for h in request.headers if h.lower() == "content-md5" or h.lower().startswith(
                "x-amz-checksum-") or h.lower() == "x-amz-sdk-checksum-algorithm"]:
            del request.headers[name]
    s3.meta.events.register("before-sign.s3.PutBucketCors", replace_body)
    with pytest.raises(Exception) as failure:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"],
                                                                             "AllowedOrigins": ["*"]}]})
    response = getattr(failure.value, "response", {})
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) == (400, "MalformedXML")

    def odd_length(request: Any, **_: Any) -> None:
        request.headers["x-amz-decoded-content-length"] = "\u00b2"  # sent as the latin-1 byte 0xB2, and signed
    s3.meta.events.register("before-sign.s3.PutObject", odd_length)
    with pytest.raises(Exception) as failure:
        s3.put_object(Bucket=bucket, Key="odd", Body=b"abc")
    response = getattr(failure.value, "response", {})
    assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) == (400, "InvalidArgument")

