"""The payload checksum algorithms S3 knows (`x-amz-checksum-<name>`), one running hasher each. No Twisted, SQL.

One table for everything that hashes a body: the aws-chunked trailer check (auth.chunked), the blob writer
(s3.object_store) and the multipart combinations (s3.checksums). CRC32 is zlib's; CRC32C and CRC64NVME
(the reflected CRC-64 with polynomial 0xad93d23594c93659, as AWS's common runtime computes it) come from
the awscrt package, hashed in C so a multi-gigabyte body costs what CRC32 costs; SHA-1 and SHA-256 are
hashlib's. Digests are big-endian bytes; S3 sends and stores them in base64.
"""
from __future__ import annotations

import hashlib
import zlib
from typing import Callable

__all__ = ["ALGORITHMS", "CRC_ALGORITHMS", "DIGEST_SIZES", "Hasher", "new_hasher"]

try:  # awscrt is a dependency; without it (a trimmed install) CRC32C and CRC64NVME are refused, not faked
    from awscrt import checksums as _crt
except ImportError:  # pragma: no cover - depends on the environment
    _crt = None

# The CRC algorithms, whose values combine across parts (s3.checksums): name → width in bits.
CRC_ALGORITHMS = {"crc32": 32, "crc32c": 32, "crc64nvme": 64}
DIGEST_SIZES = {"crc32": 4, "crc32c": 4, "crc64nvme": 8, "sha1": 20, "sha256": 32}
ALGORITHMS = tuple(name for name in ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
                   if _crt is not None or name not in ("crc32c", "crc64nvme"))


class Hasher:
    """hashlib's update/digest shape over a CRC function `fn(data, previous) -> int`, or over a hashlib object."""

    def __init__(self, name: str, fn: Callable[[bytes, int], int] | None = None, hashed: object = None):
        self.name = name
        self._fn, self._hash, self._value = fn, hashed, 0

    def update(self, data: bytes) -> None:
        if self._hash is not None:
            self._hash.update(data)  # type: ignore[attr-defined]
        else:
            self._value = self._fn(data, self._value)  # type: ignore[misc]

    def digest(self) -> bytes:
        if self._hash is not None:
            return self._hash.digest()  # type: ignore[attr-defined]
        return self._value.to_bytes(DIGEST_SIZES[self.name], "big")


def new_hasher(name: str) -> Hasher:
    """A running checksum for NAME (lower case, one of ALGORITHMS); ValueError otherwise."""
    if name not in ALGORITHMS:
        raise ValueError(f"unsupported checksum algorithm {name!r}")
    if name in ("sha1", "sha256"):
        return Hasher(name, hashed=hashlib.new(name))
    if name == "crc32":
        return Hasher(name, zlib.crc32)
    return Hasher(name, getattr(_crt, name))
