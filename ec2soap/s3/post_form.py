"""The body of an S3 browser-based (POST) upload: multipart/form-data read as it arrives, the file to disk.

`FormReceiver` is the sink a streamed POST body is written into (s3.streaming.UploadStream calls `write` on
the store's thread pool as bytes arrive): `multipart`'s push parser (a well-kept streaming parser, the one
treq uses) splits it; the text fields before the file are kept (at most S3's 20 KB of them), the file's bytes
go straight to an IncomingBody (a temp file, as a PUT's do), so a large file takes constant memory; what
follows the file is read and ignored, as S3 ignores it. When the file part begins the form is judged as S3
judges it then (s3.post_early): an anonymous form to a bucket that takes no anonymous writes is refused at
once; a signed one once its secret is in (its signature, its policy's expiration, the conditions on the
fields), the first bytes of the file held in memory meanwhile (HOLD_BYTES at most, then the pool thread
waits, HOLD_SECONDS at most), and the temp file is opened only when the form has passed (or, the verdict
still not in after that wait, opened all the same, and dropped if the verdict is a refusal). The policy's
content-length-range then caps the file as it streams. So no forged, expired or stranger's file and no
oversized one reaches the disk, unless its secret takes longer than that to look up.
Nothing is stored until the handler has checked the form and committed the file; `abort` drops the temp file
(a crash leaves only a temp file, removed at start-up). `prepare_post` is what the resource runs before a
byte of the body is read.

No Twisted and no SQL here (the bucket lookup is the operations'); the parser does no I/O of its own.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Optional

import multipart

from ec2soap.s3.bodies import Prepared
from ec2soap.s3.errors import S3Error
from ec2soap.s3.post_early import FormJudge, Pending

__all__ = ["FormReceiver", "prepare_post", "boundary_of", "MAX_FIELD_BYTES", "HOLD_BYTES", "HOLD_SECONDS"]

MAX_FIELD_BYTES = 20 * 1024  # S3: "the form fields preceding the upload file" together, names and values
HOLD_BYTES = 2 * 1024 * 1024  # the most of a file kept in memory while its form is being judged
HOLD_SECONDS = 1.0  # then the longest its pool thread waits for the verdict before the file goes to disk
_MAX_SEGMENTS = 1000


def _malformed() -> S3Error:
    return S3Error("MalformedPOSTRequest")


def boundary_of(content_type: str) -> str:
    """The boundary of a multipart/form-data Content-Type; S3's refusal for any other body."""
    kind, options = multipart.parse_options_header(content_type or "")
    if kind.lower() != "multipart/form-data":
        raise S3Error("PreconditionFailed", condition="Bucket POST must be of the enclosure-type "
                                                      "multipart/form-data")
    boundary = options.get("boundary", "")
    if not boundary or len(boundary) > 200:
        raise _malformed()
    return boundary


class FormReceiver:
    """A POST form being received. FIELDS: the text fields before the file (names lower case, as S3 reads
    them); FILENAME and FILE_TYPE: the file part's; BEGAN: when it began (the policy's "now"); BODY: the
    IncomingBody its bytes went to (None until the form has passed), opened by OPEN_BODY() (on the pool).
    ON_FIELD(name, value) hears each field before the file as it is complete. BEFORE_FILE(fields, filename),
    when the file part begins, may refuse the form before a byte of the file is kept, and returns the most
    bytes the file may have (None: the object limit alone) or a post_early.Pending verdict, which the file's
    first bytes wait for in memory. `finish()` once the body is in."""

    def __init__(self, boundary: str, open_body: Callable[[], Any],
                 before_file: Optional[Callable[[dict, str], Any]] = None,
                 on_field: Optional[Callable[[str, str], None]] = None):
        self._parser = multipart.PushMultipartParser(boundary, max_header_size=4096, max_header_count=8,
                                                     max_segment_count=_MAX_SEGMENTS)
        self._open_body = open_body
        self._before_file = before_file
        self._on_field = on_field
        self._verdict: Optional[Pending] = None
        self._held: list[bytes] = []
        self._held_bytes = 0
        self._file_limit: Optional[int] = None
        self._file_bytes = 0
        self.began: Optional[datetime] = None
        self.fields: dict[str, str] = {}
        self.filename: Optional[str] = None
        self.file_type: Optional[str] = None
        self.body: Any = None
        self._field: Optional[str] = None
        self._value = bytearray()
        self._in_file = False
        self._after_file = False
        self._field_bytes = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        self._feed(data)

    def finish(self) -> None:
        """The body is complete: the form must have ended, with its file."""
        self._feed(b"")
        try:
            self._parser.close(check_complete=True)
        except multipart.MultipartError:
            raise _malformed() from None
        if self._verdict is not None and self.body is None:
            self._settle(HOLD_SECONDS)  # a file smaller than HOLD_BYTES: its verdict was not needed before
        if self.body is None:
            raise S3Error("InvalidArgument", "POST requires exactly one file upload per request.",
                          argument_name="file", argument_value="0")

    def abort(self) -> None:
        self._held, self._held_bytes = [], 0
        if self.body is not None:
            self.body.abort()

    def _feed(self, data: bytes) -> None:
        try:
            for event in self._parser.parse(data):
                self._event(event)
        except multipart.ParserLimitReached:
            raise S3Error("MaxPostPreDataLengthExceededError") from None
        except multipart.MultipartError:
            raise _malformed() from None

    def _event(self, event: Any) -> None:
        if isinstance(event, multipart.MultipartSegment):
            self._segment(event)
        elif event is None:
            self._segment_end()
        elif self._in_file:
            self._file_bytes += len(event)
            if self._verdict is not None:
                full = self.body is None and self._held_bytes + len(event) > HOLD_BYTES
                self._settle(HOLD_SECONDS if full else 0)
                if self.body is None:
                    self._held.append(bytes(event))
                    self._held_bytes += len(event)
                    return
            self._check_size()
            self.body.write(event)
        elif self._field is not None:
            self._count(len(event))
            self._value += event

    def _segment(self, segment: Any) -> None:
        if self._after_file:
            self._field = None  # S3 ignores whatever follows the file
            return
        name = (segment.name or "").lower()
        if not name:
            raise _malformed()
        if name == "file":
            self._in_file = True
            self.filename = segment.filename or ""
            self.file_type = segment.content_type
            self.began = datetime.now(timezone.utc)
            verdict = self._before_file(self.fields, self.filename) if self._before_file is not None else None
            if isinstance(verdict, Pending):
                self._verdict = verdict
                self._settle(0)
            else:
                self._file_limit = verdict
                self.body = self._open_body()
            return
        if name in self.fields:
            raise S3Error("InvalidArgument", f"Bucket POST has a repeated field: {name}.", argument_name=name)
        self._count(len(name))
        self._field = name
        self._value = bytearray()

    def _segment_end(self) -> None:
        if self._in_file:
            self._in_file, self._after_file = False, True
            return
        if self._field is None:
            return
        try:
            self.fields[self._field] = self._value.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed() from None
        if self._on_field is not None:
            self._on_field(self._field, self.fields[self._field])
        self._field = None

    def _settle(self, wait: float) -> None:
        """The pending verdict, if it is in within WAIT seconds (0: a poll): a refusal is raised; a pass sets
        the file's limit, and the temp file is opened for what was held. Still pending after a wait, the
        file goes to its temp file all the same, its pool thread not held longer (the lookup may need that
        thread: the built-in simulator answers on the same pool); the verdict is then applied at the first
        write after it is in, or if it never is before the end, by the handler's own check of the form."""
        verdict = self._verdict
        assert verdict is not None
        if verdict.wait(wait):
            self._verdict = None
            self._file_limit = verdict.limit()
            self._check_size()
        elif not wait:
            return
        if self.body is None:
            held, self._held, self._held_bytes = self._held, [], 0
            self.body = self._open_body()
            for piece in held:
                self.body.write(piece)

    def _check_size(self) -> None:
        if self._file_limit is not None and self._file_bytes > self._file_limit:
            raise S3Error("EntityTooLarge", max_size_allowed=self._file_limit)

    def _count(self, size: int) -> None:
        self._field_bytes += size
        if self._field_bytes > MAX_FIELD_BYTES:
            raise S3Error("MaxPostPreDataLengthExceededError")


async def prepare_post(res: Any, call: Any) -> Prepared:
    """Before a POST's body is read: it must be a form, to a bucket that exists; → its sink."""
    boundary = boundary_of(call.headers.get("content-type", ""))
    await res.run(res.ops.head_bucket_exists, call.bucket)
    headers = dict(call.headers)
    headers.pop("expect", None)
    judge = FormJudge(res, call)
    form = FormReceiver(boundary, lambda: res.ops.receive({}), judge.before_file, judge.field)
    return Prepared(None, None, form, None, headers)
