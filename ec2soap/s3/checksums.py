"""S3's flexible checksums: what a request asks for, and a multipart object's checksum made from its parts.

The hashing itself is auth.checksums' (one pass over the body, beside the MD5, in the blob writer). Here:
- which x-amz-checksum-* a PUT or UploadPart carries and whether each is well formed (InvalidRequest, as S3);
- CreateMultipartUpload's algorithm and type (COMPOSITE: the algorithm over the parts' concatenated digests,
  rendered `<base64>-<parts>`; FULL_OBJECT: the CRC of the whole object, which S3 allows for the CRC
  algorithms only and which we compute from the part CRCs without reading a byte: `combine`);
- the headers and XML elements a checksum is answered with. A value ending in `-N` is composite: the stored
  checksums alone tell an object's checksum type;
- S3's default since December 2024 (DEFAULT): an object written without a checksum still gets a CRC64NVME,
  kept and answered as if asked for; a multipart upload created without an algorithm gets the full-object
  CRC64NVME combined from its parts' (each part computes one whatever else it carries). Pure: no Twisted, no SQL.
"""
from __future__ import annotations

import base64
import binascii
from typing import Iterable, Mapping, Optional, Sequence

from ec2soap.auth.checksums import ALGORITHMS, CRC_ALGORITHMS, DIGEST_SIZES, new_hasher
from ec2soap.s3.errors import S3Error

__all__ = ["KNOWN", "HEADERS", "COMPOSITE", "FULL_OBJECT", "DEFAULT", "algorithm_of", "requested",
           "default_algorithms", "upload_checksum", "check_part", "part_checksums", "combine", "object_checksum",
           "checksum_type", "response_headers", "element_name"]

KNOWN = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")
HEADERS = {f"x-amz-checksum-{name}": name for name in KNOWN}
COMPOSITE, FULL_OBJECT = "COMPOSITE", "FULL_OBJECT"

# The checksum S3 adds to an object written without one (its "default data integrity protections", December
# 2024). Hashed by awscrt's CRC64NVME beside the MD5 every write computes anyway, it is cheap enough to be always
# on, with no setting: ~10 GB/s against MD5's ~0.6 GB/s here, and bench/put_checksum_bench.py (256 MiB PUTs, 22
# alternating rounds) found the gateway's CPU per byte up ~4% and PUT MB/s unchanged within the noise. Without the
# awscrt package (a trimmed install, where CRC64NVME is refused: auth.checksums) there is no default checksum and
# objects are stored with none, as before.
DEFAULT: Optional[str] = "crc64nvme" if "crc64nvme" in ALGORITHMS else None

# Reflected polynomials (the bit order these CRCs are computed in), for combine().
_POLYNOMIALS = {"crc32": 0xEDB88320, "crc32c": 0x82F63B78, "crc64nvme": 0x9A6C9329AC4BC9B5}


def algorithm_of(value: str) -> str:
    """An algorithm name as a header gives it (`CRC32`, `crc64nvme`) → ours; InvalidRequest otherwise."""
    name = value.strip().lower()
    if name not in KNOWN:
        raise S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of "
                      "the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
    if name not in ALGORITHMS:  # only when the awscrt package is missing from the installation
        raise S3Error("NotImplemented", "The %s checksum algorithm is not available on this gateway."
                      % name.upper())
    return name


def _check_value(name: str, value: str, header: str) -> None:
    try:
        digest = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        digest = b""
    if len(digest) != DIGEST_SIZES[name]:
        raise S3Error("InvalidRequest", "Value for %s header is invalid." % header)


def requested(headers: Mapping[str, str], part: bool = False, default: bool = True) -> tuple[dict, tuple]:
    """A PUT's or UploadPart's checksums → ({algorithm: base64 value sent}, algorithms to compute and keep).

    One x-amz-checksum-<alg> at most (S3 refuses two); x-amz-sdk-checksum-algorithm or
    x-amz-checksum-algorithm name what is computed (and, with a trailer, what the trailer will carry).
    With DEFAULT, a body that names no algorithm gets CRC64NVME (S3's default); a PART gets it whatever it
    names, since its upload may have been created without an algorithm (part_checksums keeps it only then).
    DEFAULT=False: only what the client named."""
    sent = {name: headers[header].strip() for header, name in HEADERS.items() if header in headers}
    if len(sent) > 1:
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are "
                      "not allowed.")
    for name, value in sent.items():
        algorithm_of(name)
        _check_value(name, value, "x-amz-checksum-" + name)
    kept = set(sent)
    for header in ("x-amz-sdk-checksum-algorithm", "x-amz-checksum-algorithm"):
        if headers.get(header):
            name = algorithm_of(headers[header])
            if sent and name not in sent:
                raise S3Error("InvalidRequest", "Value for %s header is invalid." % header)
            kept.add(name)
    if default and DEFAULT is not None and (part or not kept):
        kept.add(DEFAULT)
    return sent, tuple(sorted(kept))


def default_algorithms() -> tuple:
    """What a new object with no checksum of its own gets (a copy of a source without one, a part copied into
    an upload created without an algorithm): (DEFAULT,), or () without awscrt."""
    return (DEFAULT,) if DEFAULT is not None else ()


def upload_checksum(headers: Mapping[str, str]) -> tuple[Optional[str], Optional[str]]:
    """CreateMultipartUpload's x-amz-checksum-algorithm and x-amz-checksum-type → (algorithm, type), or
    (None, None) when the upload keeps no checksum. S3's default type is COMPOSITE, FULL_OBJECT for
    CRC64NVME (which has no composite form); FULL_OBJECT needs a CRC."""
    value = headers.get("x-amz-checksum-algorithm")
    kind = headers.get("x-amz-checksum-type", "").strip().upper() or None
    if kind is not None and kind not in (COMPOSITE, FULL_OBJECT):
        raise S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
    if not value:
        if kind is not None:
            raise S3Error("InvalidRequest", "The x-amz-checksum-type header can only be used with the "
                          "x-amz-checksum-algorithm header.")
        return None, None
    name = algorithm_of(value)
    kind = kind or (FULL_OBJECT if name == "crc64nvme" else COMPOSITE)
    if kind == FULL_OBJECT and name not in CRC_ALGORITHMS:
        raise S3Error("InvalidRequest", "The FULL_OBJECT checksum type cannot be used with the %s checksum "
                      "algorithm." % name)
    if kind == COMPOSITE and name == "crc64nvme":
        raise S3Error("InvalidRequest", "The COMPOSITE checksum type cannot be used with the crc64nvme checksum "
                      "algorithm.")
    return name, kind


def check_part(algorithm: Optional[str], sent: Iterable[str]) -> None:
    """An UploadPart's checksum must be of its upload's algorithm (a part may also come without one)."""
    for name in sent:
        if algorithm is not None and name != algorithm:
            raise S3Error("InvalidRequest", "Checksum Type mismatch occurred, expected checksum Type: %s, actual "
                          "checksum Type: %s" % (algorithm, name))


def part_checksums(algorithm: Optional[str], computed: Mapping[str, str], named: Iterable[str]) -> dict:
    """What an UploadPart keeps of the checksums COMPUTED over it (requested(part=True)): those the client
    NAMED, its upload's ALGORITHM, and the DEFAULT CRC64NVME when the upload has no algorithm (completion makes
    the object's full-object CRC64NVME from them, object_checksum)."""
    keep = set(named) | ({algorithm} if algorithm is not None else set())
    if algorithm is None and DEFAULT is not None:
        keep.add(DEFAULT)
    return {name: value for name, value in computed.items() if name in keep}


# -- the checksum of a multipart object --------------------------------------------------------------------

def _multiply(a: int, b: int, poly: int, width: int) -> int:
    """a * b modulo the polynomial, both in the reflected representation (x^0 is the top bit)."""
    top = 1 << (width - 1)
    product = 0
    while a:
        if a & top:
            product ^= b
        a = (a << 1) & ((1 << width) - 1)
        b = (b >> 1) ^ poly if b & 1 else b >> 1
    return product


def _x_power_bytes(length: int, poly: int, width: int) -> int:
    """x^(8 * LENGTH) modulo the polynomial (reflected), by squaring: O(log LENGTH) multiplications."""
    result = 1 << (width - 1)           # x^0
    square = 1 << (width - 1 - 8)       # x^8: one byte
    while length:
        if length & 1:
            result = _multiply(result, square, poly, width)
        square = _multiply(square, square, poly, width)
        length >>= 1
    return result


def combine(name: str, first: int, second: int, second_length: int) -> int:
    """CRC(A + B) from CRC(A), CRC(B) and len(B), for CRC32, CRC32C and CRC64NVME (each starts from and is
    finished with all ones, so the pre- and post-conditioning cancel and only the shift of CRC(A) by len(B)
    zero bytes remains: zlib's crc32_combine, generalised to the width)."""
    poly, width = _POLYNOMIALS[name], CRC_ALGORITHMS[name]
    if second_length == 0:
        return first
    return _multiply(_x_power_bytes(second_length, poly, width), first, poly, width) ^ second


def object_checksum(algorithm: str, kind: str, parts: Sequence[tuple[str, int]]) -> str:
    """The completed object's checksum from PARTS [(base64 part checksum, part size)] in order."""
    digests = [base64.b64decode(value) for value, _ in parts]
    if kind == FULL_OBJECT:
        value = 0
        for digest, (_, size) in zip(digests, parts):
            value = combine(algorithm, value, int.from_bytes(digest, "big"), size)
        return base64.b64encode(value.to_bytes(DIGEST_SIZES[algorithm], "big")).decode()
    hasher = new_hasher(algorithm)
    for digest in digests:
        hasher.update(digest)
    return "%s-%d" % (base64.b64encode(hasher.digest()).decode(), len(parts))


def checksum_type(checksums: Mapping[str, str]) -> Optional[str]:
    """COMPOSITE, FULL_OBJECT, or None without a checksum."""
    if not checksums:
        return None
    return COMPOSITE if any("-" in value for value in checksums.values()) else FULL_OBJECT


def response_headers(checksums: Mapping[str, str]) -> dict:
    """x-amz-checksum-<alg> and x-amz-checksum-type, as S3 answers a write or a GET with checksum mode."""
    out = {f"x-amz-checksum-{name}": value for name, value in checksums.items()}
    kind = checksum_type(checksums)
    if kind is not None:
        out["x-amz-checksum-type"] = kind
    return out


def element_name(name: str) -> str:
    """The XML element of a checksum (ChecksumCRC32, ChecksumCRC64NVME, ChecksumSHA256)."""
    return "Checksum" + name.upper()


def complete(algorithm: Optional[str], kind: Optional[str], parts: Sequence, given: Mapping[int, Mapping[str, str]],
             headers: Mapping[str, str], upload_id: str) -> tuple[dict, Optional[list]]:
    """CompleteMultipartUpload's checksums → (the object's {algorithm: value}, each part's checksums or None).

    PARTS are the chosen Part records in order; GIVEN the ChecksumX each <Part> of the request carried
    (a mismatch is InvalidPart, as for an ETag); HEADERS may carry the checksum the client expects for the
    whole object (x-amz-checksum-<alg>, x-amz-checksum-type), checked against what we compute."""
    for part in parts:
        for name, value in given.get(part.part_number, {}).items():
            if part.checksums.get(name) != value.strip():
                raise S3Error("InvalidPart", upload_id=upload_id, part_number=part.part_number, etag=part.etag)
    wanted_kind = headers.get("x-amz-checksum-type", "").strip().upper()
    if wanted_kind and wanted_kind != (kind or ""):
        raise S3Error("InvalidRequest", "The upload was created using the %s checksum mode. The complete request "
                      "must use the same checksum mode." % (kind or "null"))
    sums: dict = {}
    if algorithm is not None:
        for part in parts:
            if algorithm not in part.checksums:
                raise S3Error("InvalidRequest", "The upload was created using a %s checksum. The complete request "
                              "referenced an uploaded part which did not include a checksum." % algorithm.upper())
        sums[algorithm] = object_checksum(algorithm, kind or COMPOSITE,
                                          [(part.checksums[algorithm], part.size) for part in parts])
    elif parts and all("crc64nvme" in part.checksums for part in parts):
        # S3's default for an upload created without an algorithm: the full-object CRC64NVME, from the CRC64NVME
        # each part computed (requested(part=True)). A part without one (written before this default, or by a
        # gateway without awscrt) leaves the object without a checksum: nothing is read back to make one.
        sums["crc64nvme"] = object_checksum("crc64nvme", FULL_OBJECT,
                                            [(part.checksums["crc64nvme"], part.size) for part in parts])
    for header, name in HEADERS.items():
        if header in headers and sums.get(name) != headers[header].strip():
            if name not in sums:
                raise S3Error("InvalidRequest", "The upload was created using %s checksum. The complete request "
                              "included a %s checksum." % ((algorithm or "no").upper(), name.upper()))
            raise S3Error("BadDigest", "The %s you specified did not match the calculated checksum." % name.upper())
    per_part = [dict(part.checksums) for part in parts]
    return sums, per_part if any(per_part) else None
