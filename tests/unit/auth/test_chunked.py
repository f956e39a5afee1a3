"""aws-chunked bodies: hand-built signed chunks, boto3's real unsigned-trailer upload, checksums."""
from __future__ import annotations

import base64
import hashlib
import hmac
import zlib
from dataclasses import replace

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

from ec2soap.auth import AuthError, new_checksum, parse_s3, verify_s3

from .conftest import ACCESS_KEY, SECRET_KEY, from_prepared

EMPTY = hashlib.sha256(b"").hexdigest()
PAYLOAD = bytes(range(256)) * 300  # 76,800 bytes: two full 64 KiB-ish chunks and a tail


def _key(date, region="us-east-1"):
    key = ("AWS4" + SECRET_KEY).encode()
    for part in (date, region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def signed_chunked_request(content_sha256, payload=PAYLOAD, chunk=65536, trailer=None, corrupt=None,
                           url="http://127.0.0.1:7080/bucket/big.bin"):
    """Sign the headers with botocore, then frame and sign each chunk as the SigV4 streaming spec says."""
    headers = {"X-Amz-Content-SHA256": content_sha256, "Content-Encoding": "aws-chunked",
               "X-Amz-Decoded-Content-Length": str(len(payload))}
    if trailer:
        headers["X-Amz-Trailer"] = trailer[0]
    request = AWSRequest(method="PUT", url=url, headers=headers)
    # SigV4Auth keeps our x-amz-content-sha256 (S3SigV4Auth would replace it); S3 paths need no normalizing
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    amz_date = prepared.headers["X-Amz-Date"]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    key = _key(amz_date[:8])
    previous = prepared.headers["Authorization"].rsplit("Signature=", 1)[1]
    body = b""
    pieces = [payload[i:i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for n, piece in enumerate(pieces):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, EMPTY,
                         hashlib.sha256(piece).hexdigest()])
        previous = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        signature = ("0" * 64) if corrupt == n else previous
        body += b"%x;chunk-signature=%s\r\n" % (len(piece), signature.encode())
        body += piece + b"\r\n" if piece else b""
    if trailer:
        line = f"{trailer[0]}:{trailer[1]}\n"
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, previous,
                         hashlib.sha256(line.encode()).hexdigest()])
        trailer_sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if corrupt == "trailer":
            trailer_sig = "f" * 64
        body += f"{trailer[0]}:{trailer[1]}\r\nx-amz-trailer-signature:{trailer_sig}\r\n".encode()
    body += b"\r\n"
    return from_prepared(prepared, body=None), body


def decode(result, body, step=1000):
    decoder = result.chunk_decoder()
    out = bytearray()
    for i in range(0, len(body), step):
        for piece in decoder.feed(body[i:i + step]):
            out += piece
    decoder.finish()
    return bytes(out), decoder


@pytest.mark.parametrize("step", [1, 7, 4096, 10 ** 6])
def test_signed_chunks_decode_in_any_split(step):
    request, body = signed_chunked_request("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    result = verify_s3(parse_s3(request), SECRET_KEY)
    assert result.payload_mode == "streaming-signed"
    data, decoder = decode(result, body, step)
    assert data == PAYLOAD and decoder.decoded_length == len(PAYLOAD) and decoder.trailers == {}


def test_signed_chunks_with_signed_trailer():
    crc = base64.b64encode(zlib.crc32(PAYLOAD).to_bytes(4, "big")).decode()
    request, body = signed_chunked_request("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                                           trailer=("x-amz-checksum-crc32", crc))
    result = verify_s3(parse_s3(request), SECRET_KEY)
    data, decoder = decode(result, body)
    assert data == PAYLOAD and decoder.trailers == {"x-amz-checksum-crc32": crc}
    checksum = new_checksum("x-amz-checksum-crc32")
    checksum.update(data)
    assert checksum.matches(decoder.trailers["x-amz-checksum-crc32"])


@pytest.mark.parametrize("corrupt", [0, 1, 2])
def test_bad_chunk_signature(corrupt):
    request, body = signed_chunked_request("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", corrupt=corrupt)
    result = verify_s3(parse_s3(request), SECRET_KEY)
    with pytest.raises(AuthError) as failure:
        decode(result, body)
    assert failure.value.code == "SignatureDoesNotMatch"


def test_chunks_chain_from_a_seed_signed_over_the_one_decoding_of_the_query():
    """UploadPart with an uploadId signed as 'a b': sent with '+', the seed (and so every chunk) fails."""
    request, body = signed_chunked_request("STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                                           url="http://127.0.0.1:7080/bucket/big.bin?partNumber=1&uploadId=a%20b")
    assert decode(verify_s3(parse_s3(request), SECRET_KEY), body)[0] == PAYLOAD
    swapped = replace(request, query=request.query.replace("uploadId=a%20b", "uploadId=a+b"))
    with pytest.raises(AuthError) as failure:
        verify_s3(parse_s3(swapped), SECRET_KEY)
    assert failure.value.code == "SignatureDoesNotMatch"


def test_bad_trailer_signature():
    request, body = signed_chunked_request("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
                                           trailer=("x-amz-checksum-sha256", "AAAA"), corrupt="trailer")
    with pytest.raises(AuthError) as failure:
        decode(verify_s3(parse_s3(request), SECRET_KEY), body)
    assert failure.value.code == "SignatureDoesNotMatch"


def test_swapped_chunk_data_fails_even_with_valid_framing():
    request, body = signed_chunked_request("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    tampered = body.replace(PAYLOAD[:10], bytes(10), 1)
    with pytest.raises(AuthError) as failure:
        decode(verify_s3(parse_s3(request), SECRET_KEY), tampered)
    assert failure.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("cut", [1, 2, 100, 70000])
def test_truncated_body(cut):
    request, body = signed_chunked_request("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    with pytest.raises(AuthError) as failure:
        decode(verify_s3(parse_s3(request), SECRET_KEY), body[:-cut])
    assert failure.value.code == "InvalidArgument"


def test_decoded_length_is_enforced():
    request, body = signed_chunked_request("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    result = verify_s3(parse_s3(request), SECRET_KEY)
    for wrong in (5, len(PAYLOAD) + 1):
        with pytest.raises(AuthError) as failure:
            decode(replace(result, decoded_content_length=wrong), body)
        assert failure.value.code == "InvalidArgument"


def capture_put_object(endpoint="http://127.0.0.1:7080", **client_config):
    """What boto3 really sends for put_object: caught in before-send, answered with a stub 200."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                      config=Config(s3={"addressing_style": "path"}, **client_config))
    seen = {}

    class Raw:
        def stream(self, **kwargs):
            yield b""

    def before_send(request, **kwargs):
        body = request.body
        seen["request"] = request
        seen["body"] = body.read() if hasattr(body, "read") else (body or b"")
        return AWSResponse(request.url, 200, {"ETag": '"x"'}, Raw())

    s3.meta.events.register("before-send.s3.PutObject", before_send)
    s3.put_object(Bucket="bucket", Key="dir/obj.bin", Body=PAYLOAD)
    return from_prepared(seen["request"], body=None), seen["body"]


def test_boto3_put_object_over_https_streams_an_unsigned_trailer():
    """Recent botocore, over TLS: STREAMING-UNSIGNED-PAYLOAD-TRAILER with x-amz-checksum-crc32.

    The before-send hook answers before any connection is made, so no TLS server is needed.
    """
    request, body = capture_put_object("https://127.0.0.1:7443", request_checksum_calculation="when_supported")
    result = verify_s3(parse_s3(request), SECRET_KEY)
    assert result.payload_mode == "streaming-unsigned-trailer"
    assert result.trailer_names == ("x-amz-checksum-crc32",)
    assert result.decoded_content_length == len(PAYLOAD)
    data, decoder = decode(result, body, 3333)
    checksum = new_checksum(result.trailer_names[0])
    checksum.update(data)
    assert data == PAYLOAD and checksum.matches(decoder.trailers["x-amz-checksum-crc32"])


def test_boto3_put_object_over_http_signs_the_payload_and_sends_the_checksum_header():
    request, body = capture_put_object(request_checksum_calculation="when_supported")
    result = verify_s3(parse_s3(request), SECRET_KEY)
    assert result.payload_mode == "sha256" and body == PAYLOAD
    checksum = new_checksum("crc32")
    checksum.update(body)
    assert checksum.matches(request.header("x-amz-checksum-crc32"))


def test_boto3_put_object_without_checksums():
    request, body = capture_put_object(request_checksum_calculation="when_required")
    result = verify_s3(parse_s3(request), SECRET_KEY)
    assert result.payload_mode in ("sha256", "unsigned") and body == PAYLOAD


@pytest.mark.parametrize("name,data,expected", [
    ("crc32", b"123456789", (0xCBF43926).to_bytes(4, "big")),
    ("crc32c", b"123456789", (0xE3069283).to_bytes(4, "big")),
    ("sha1", b"abc", hashlib.sha1(b"abc").digest()),
    ("sha256", b"abc", hashlib.sha256(b"abc").digest()),
])
def test_checksums(name, data, expected):
    checksum = new_checksum(name.upper())
    checksum.update(data[:3])
    checksum.update(data[3:])
    assert checksum.digest() == expected
    assert checksum.b64digest() == base64.b64encode(expected).decode()


def test_unknown_checksum():
    with pytest.raises(ValueError):
        new_checksum("md5")
