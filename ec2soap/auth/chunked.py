"""S3 `aws-chunked` body decoder and payload checksums, in constant memory. No Twisted, Spyne or SQL.

Each chunk is `<hex-size>[;chunk-signature=<sig>]\\r\\n<bytes>\\r\\n`; a zero-size chunk ends the
data, followed by optional trailer lines (`x-amz-checksum-crc32:<b64>`, `x-amz-trailer-signature:
<sig>`) and an empty line. Payload bytes are handed out as they arrive, before their chunk's
signature is checked at the chunk's end: the caller must write them somewhere provisional (the
S3 store writes a temp file) and keep the object only after `finish()` returns.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from . import sigv4
from .checksums import ALGORITHMS, new_hasher
from .errors import AuthError

__all__ = ["ChunkSigning", "AwsChunkedDecoder", "Checksum", "new_checksum", "CHECKSUM_ALGORITHMS"]

_SIZE_LINE = re.compile(rb"^([0-9a-fA-F]{1,16})((?:;[^\r\n]*)?)$")
_MAX_LINE = 8192  # longest chunk header or trailer line we buffer; real ones are < 200 bytes
_CRLF = b"\r\n"


@dataclass(frozen=True)
class ChunkSigning:
    """What chunk signatures chain from: the request's SigV4 signing key, date, scope and signature."""

    key: bytes = field(repr=False)
    amz_date: str
    scope: str
    seed_signature: str


def _framing(message: str) -> AuthError:
    return AuthError("InvalidArgument", f"Malformed aws-chunked body: {message}")


class AwsChunkedDecoder:
    """Incremental decoder: `for piece in decoder.feed(data): ...` per received block, then `finish()`.

    signing: None for STREAMING-UNSIGNED-PAYLOAD-TRAILER, else every chunk signature is checked
    (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]). trailer: the variant ends in trailer headers,
    signed by `x-amz-trailer-signature` when `signing` is set. decoded_length: the
    x-amz-decoded-content-length header, enforced when given. expected_trailers: names announced
    in x-amz-trailer, which must then arrive. After finish(), `trailers` maps lower-case trailer
    names to their values and `decoded_length` counts the payload bytes.
    """

    def __init__(self, signing: ChunkSigning | None, *, trailer: bool,
                 decoded_length: int | None = None, expected_trailers: Sequence[str] = ()) -> None:
        self._signing = signing
        self._trailer_mode = trailer
        self._expected_length = decoded_length
        self._expected_trailers = [t.strip().lower() for t in expected_trailers if t.strip()]
        self._previous = signing.seed_signature if signing else ""
        self._state = "size"
        self._line = bytearray()
        self._remaining = 0
        self._chunk_hash = hashlib.sha256()
        self._chunk_signature = ""
        self._trailer_lines: list[tuple[str, str]] = []
        self._trailer_signature: str | None = None
        self.trailers: dict[str, str] = {}
        self.decoded_length = 0

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, data: bytes) -> Iterator[bytes]:
        """Yield the payload bytes found in `data`; raise AuthError at the first bad chunk."""
        view = memoryview(data)
        pos = 0
        while pos < len(view):
            if self._state == "data":
                take = min(self._remaining, len(view) - pos)
                piece = bytes(view[pos:pos + take])
                pos += take
                self._remaining -= take
                self._count(len(piece))
                if self._signing:
                    self._chunk_hash.update(piece)
                if self._remaining == 0:
                    self._state = "data_crlf"
                yield piece
            elif self._state == "done":
                raise _framing("data after the final chunk")
            else:
                pos = self._take_line(view, pos)

    def finish(self) -> None:
        """Raise AuthError unless the body ended exactly after its final chunk and trailers."""
        if self._state != "done":
            raise AuthError("InvalidArgument",
                            "The request body terminated unexpectedly (incomplete aws-chunked body).")

    def _count(self, size: int) -> None:
        self.decoded_length += size
        if self._expected_length is not None and self.decoded_length > self._expected_length:
            raise _framing("more data than x-amz-decoded-content-length")

    def _take_line(self, view: memoryview, pos: int) -> int:
        """Collect bytes up to CRLF (possibly across feeds); act on the line when it is complete."""
        end = bytes(view[pos:pos + _MAX_LINE + 2]).find(b"\n")
        if end < 0:
            self._line += view[pos:]
            if len(self._line) > _MAX_LINE:
                raise _framing("header line too long")
            return len(view)
        self._line += view[pos:pos + end + 1]
        if len(self._line) > _MAX_LINE + 2 or not self._line.endswith(_CRLF):
            raise _framing("lines must end with CRLF")
        line = bytes(self._line[:-2])
        self._line.clear()
        self._on_line(line)
        return pos + end + 1

    def _on_line(self, line: bytes) -> None:
        if self._state == "size":
            self._on_size_line(line)
        elif self._state == "data_crlf":
            if line:
                raise _framing("chunk longer than its declared size")
            self._check_chunk()
            self._state = "size"
        elif self._state == "trailer":
            if line:
                self._on_trailer_line(line)
            else:
                self._end_trailers()

    def _on_size_line(self, line: bytes) -> None:
        match = _SIZE_LINE.match(line)
        if not match:
            raise _framing("bad chunk size line")
        size = int(match.group(1), 16)
        self._chunk_signature = ""
        for ext in match.group(2).decode("latin-1").split(";")[1:]:
            name, _, value = ext.partition("=")
            if name.strip() == "chunk-signature":
                self._chunk_signature = value.strip()
        if self._signing and not sigv4.is_hex_signature(self._chunk_signature):
            raise AuthError("SignatureDoesNotMatch", "A chunk is missing its chunk-signature.")
        self._chunk_hash = hashlib.sha256()
        if size:
            self._remaining = size
            self._state = "data"
        else:
            # The final chunk is signed over empty data, then come trailers (maybe none).
            self._check_chunk()
            self._state = "trailer"

    def _check_chunk(self) -> None:
        if not self._signing:
            return
        s = self._signing
        sts = "\n".join(("AWS4-HMAC-SHA256-PAYLOAD", s.amz_date, s.scope, self._previous,
                         sigv4.EMPTY_SHA256, self._chunk_hash.hexdigest()))
        self._previous = self._compare(sts, self._chunk_signature, "chunk")

    def _compare(self, sts: str, provided: str, what: str) -> str:
        assert self._signing is not None
        expected = sigv4.hmac_sha256_hex(self._signing.key, sts)
        if not hmac.compare_digest(expected.encode(), provided.lower().encode("ascii", "replace")):
            raise AuthError("SignatureDoesNotMatch",
                            f"The {what} signature we calculated does not match the one provided.",
                            string_to_sign=sts)
        return provided.lower()

    def _on_trailer_line(self, line: bytes) -> None:
        if not self._trailer_mode:
            raise _framing("trailer headers in a body without x-amz-trailer")
        if self._trailer_signature is not None:
            raise _framing("x-amz-trailer-signature must be the last trailer")
        name, sep, value = line.decode("utf-8", "replace").partition(":")
        name, value = name.strip().lower(), value.strip()
        if not sep or not name:
            raise _framing("bad trailer line")
        if name == "x-amz-trailer-signature":
            self._trailer_signature = value
        else:
            self._trailer_lines.append((name, value))

    def _end_trailers(self) -> None:
        if self._trailer_mode and self._signing:
            if self._trailer_signature is None:
                raise AuthError("SignatureDoesNotMatch", "The trailer is missing x-amz-trailer-signature.")
            canonical = "".join(f"{n}:{v}\n" for n, v in self._trailer_lines)
            s = self._signing
            sts = "\n".join(("AWS4-HMAC-SHA256-TRAILER", s.amz_date, s.scope, self._previous,
                             hashlib.sha256(canonical.encode("utf-8")).hexdigest()))
            self._compare(sts, self._trailer_signature, "trailer")
        self.trailers = dict(self._trailer_lines)
        missing = [t for t in self._expected_trailers if t not in self.trailers]
        if missing:
            raise _framing(f"announced trailer {missing[0]} did not arrive")
        if self._expected_length is not None and self.decoded_length != self._expected_length:
            raise _framing("less data than x-amz-decoded-content-length")
        self._state = "done"


class Checksum:
    """One running payload checksum, with AWS's base64 rendering (`x-amz-checksum-<name>`)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._hasher = new_hasher(name)

    def update(self, data: bytes) -> None:
        self._hasher.update(data)

    def digest(self) -> bytes:
        return self._hasher.digest()

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")

    def matches(self, b64_value: str) -> bool:
        return hmac.compare_digest(self.b64digest().encode(), b64_value.strip().encode("ascii", "replace"))


CHECKSUM_ALGORITHMS = ALGORITHMS


def new_checksum(name: str) -> Checksum:
    """`crc32`, `CRC32C`, `x-amz-checksum-sha256`... → a Checksum; ValueError if unsupported."""
    key = name.strip().lower().removeprefix("x-amz-checksum-")
    if key not in CHECKSUM_ALGORITHMS:
        raise ValueError(f"unsupported checksum algorithm {name!r}")
    return Checksum(key)
