"""Request bodies as S3 takes them in: the aws-chunked decoder a body needs, a small buffered body read and
checked (XML documents, policies), and `Prepared`, an upload whose body sink is ready.

Shared by the resource (authentication, streamed uploads) and the handlers (a PUT Twisted buffered), so
neither imports the other. No Twisted here; the reads run on the store's thread pool.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Optional

from ec2soap.auth import AwsChunkedDecoder, new_checksum
from ec2soap.s3 import xml
from ec2soap.s3.errors import S3Error
from ec2soap.s3.rules import decode_content_md5

__all__ = ["Prepared", "CHECKSUM_PREFIX", "trailers", "decoder_for", "read_small", "check_small_body"]

CHECKSUM_PREFIX = "x-amz-checksum-"


@dataclass
class Prepared:
    """An authenticated upload about to receive its body (see streaming.UploadStream)."""
    caller: Optional[str]
    auth: Any
    body: Any
    decoder: Optional[AwsChunkedDecoder]
    headers: dict


def trailers(headers: dict) -> list[str]:
    return [t.strip().lower() for t in headers.get("x-amz-trailer", "").split(",") if t.strip()]


def decoder_for(auth: Any, headers: dict) -> Optional[AwsChunkedDecoder]:
    """The aws-chunked decoder a body needs: from the signature's payload mode, or for an anonymous
    STREAMING-UNSIGNED-PAYLOAD-TRAILER body (nothing to verify but the framing and trailers)."""
    if auth is not None:
        return auth.chunk_decoder() if auth.streaming else None
    if headers.get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER":
        length = headers.get("x-amz-decoded-content-length", "")
        number = length.isascii() and length.isdigit()  # not '²', which isdigit() accepts and int() refuses
        return AwsChunkedDecoder(None, trailer=True, decoded_length=int(length) if number else None,
                                 expected_trailers=trailers(headers))
    return None


def read_small(content: Any) -> bytes:
    """A buffered body (XML documents, policies): capped, since S3 never needs a large one here."""
    if content is None:
        return b""
    content.seek(0)
    data = content.read(xml.MAX_BODY_BYTES + 1)
    if len(data) > xml.MAX_BODY_BYTES:
        raise S3Error("MaxMessageLengthExceeded")
    return data


def check_small_body(headers: dict, body: bytes) -> None:
    """Content-MD5 and x-amz-checksum-* of a buffered body (DeleteObjects sends one or the other)."""
    md5 = headers.get("content-md5")
    if md5 is not None and decode_content_md5(md5) != hashlib.md5(body).digest():
        raise S3Error("BadDigest", expected_digest=md5)
    for name, value in headers.items():
        if name.startswith(CHECKSUM_PREFIX) and name not in ("x-amz-checksum-algorithm", "x-amz-checksum-type",
                                                             "x-amz-checksum-mode"):
            try:
                checksum = new_checksum(name)
            except ValueError:
                raise S3Error("InvalidRequest", "Checksum algorithm %s is not supported"
                              % name[len(CHECKSUM_PREFIX):].upper()) from None
            checksum.update(body)
            if not checksum.matches(value):
                raise S3Error("BadDigest", "The %s you specified did not match the calculated checksum."
                              % name[len(CHECKSUM_PREFIX):].upper())
