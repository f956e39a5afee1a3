"""Object bytes on the filesystem: blobs named by generated ids in sharded directories, never by S3 key.

Synchronous and blocking on purpose: callers run every method on the store's thread pool (Store.defer).
No Twisted, no SQL, nothing from ec2soap.core here.

Layout under ROOT:
    tmp/<id>.<random>.tmp   a blob being written (one writer each); renamed into blobs/ by commit()
    blobs/ab/cd/<id>        a committed blob, id = 32 hex digits (uuid4), ab/cd = its first four digits

A blob is immutable once committed. An object is one blob, or (after a multipart upload) the ordered list of
its part blobs: see `Layout`.
"""
from __future__ import annotations

import base64
import errno
import hashlib
import os
import select
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Iterator, Optional, Sequence, Union

from ec2soap.auth.checksums import ALGORITHMS, new_hasher

__all__ = ["ObjectStore", "BlobWriter", "BlobReader", "CommittedBlob", "Layout", "CHUNK_SIZE",
           "SUPPORTED_CHECKSUMS"]

CHUNK_SIZE = 256 * 1024  # one read of a download that does not go by sendfile; see BlobReader
# What a download's lookup reads with it (BlobReader.prefetch): an object that small is served in that one
# pool hop; a larger one's rest goes by sendfile once the transport sent this (more than Twisted's 64 KiB
# bufferSize, so the transport pauses the producer and tells it when its buffer is empty).
PREFETCH_SIZE = 80 * 1024
# A layout is the list of (blob id, size) whose concatenation is an object's bytes.
Layout = Sequence[tuple[str, int]]

SUPPORTED_CHECKSUMS = ALGORITHMS


def _new_checksum(name: str) -> object:
    return new_hasher(name)


@dataclass(frozen=True)
class CommittedBlob:
    """What commit() returns: the id, the byte count, the hex MD5 and the requested checksums (base64 of the
    big-endian digest, the form S3's x-amz-checksum-* headers use)."""
    blob_id: str
    size: int
    md5: str
    checksums: dict[str, str] = field(default_factory=dict)

    def __iter__(self) -> Iterator[object]:  # lets callers unpack (blob_id, size, md5, checksums)
        return iter((self.blob_id, self.size, self.md5, self.checksums))


class BlobWriter:
    """Receives an object's bytes chunk by chunk into a temp file, hashing as it goes (constant memory).

    commit() fsyncs, renames into place and fsyncs the directory; abort() removes the temp file. Until
    commit() returns, no blob exists under blobs/, so a crash leaves only a temp file for cleanup()."""

    def __init__(self, store: "ObjectStore", checksums: Collection[str] = (), limit: int | None = None):
        self._store = store
        self.blob_id = uuid.uuid4().hex
        self._tmp = store.tmp_dir / f"{self.blob_id}.{uuid.uuid4().hex[:8]}.tmp"
        self._md5 = hashlib.md5()
        self._sums = {name: _new_checksum(name) for name in checksums}
        self._limit = limit
        self.size = 0
        self._file = open(self._tmp, "xb")
        self._done = False

    def write(self, chunk: bytes) -> None:
        if self._done:
            raise ValueError("writer already committed or aborted")
        if self._limit is not None and self.size + len(chunk) > self._limit:
            self.abort()
            raise OverflowError(f"blob larger than {self._limit} bytes")
        self._file.write(chunk)
        self._md5.update(chunk)
        for checksum in self._sums.values():
            checksum.update(chunk)  # type: ignore[attr-defined]
        self.size += len(chunk)

    @property
    def md5_digest(self) -> bytes:
        """The MD5 of what was written so far (for Content-MD5 checks before commit)."""
        return self._md5.copy().digest()

    def checksum(self, name: str) -> str:
        """The base64 checksum NAME of what was written so far (it must have been requested)."""
        return base64.b64encode(self._sums[name].digest()).decode()  # type: ignore[attr-defined]

    def commit(self) -> CommittedBlob:
        if self._done:
            raise ValueError("writer already committed or aborted")
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            final = self._store.path_of(self.blob_id)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, final)
            _fsync_dir(final.parent)
        except BaseException:
            self.abort()
            raise
        self._done = True
        return CommittedBlob(self.blob_id, self.size, self._md5.hexdigest(),
                             {name: self.checksum(name) for name in self._sums})

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._file.close()
        finally:
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass

    def __enter__(self) -> "BlobWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._done:
            self.abort()


class BlobReader:
    """Bytes [start, end] (inclusive) of a layout, read chunk by chunk.

    Every file of the layout is opened up front, so once a reader exists its bytes stay readable even if
    another node replaces the object and deletes the blobs (POSIX keeps unlinked open files)."""

    def __init__(self, store: "ObjectStore", layout: Layout, start: int = 0, end: int | None = None,
                 chunk_size: int = CHUNK_SIZE):
        total = sum(size for _, size in layout)
        if end is None or end >= total:
            end = total - 1
        self.start, self.end, self.length = start, end, max(0, end - start + 1)
        self._chunk = chunk_size
        self._pieces: list[tuple[object, int]] = []  # (open file, bytes left to read from it)
        self._ahead: Optional[bytes] = None  # a chunk prefetch() read, handed out first
        self._failed: Optional[OSError] = None  # what prefetch() met, raised by the next read()
        offset = 0
        try:
            for blob_id, size in layout:
                lo, hi = max(start, offset), min(end, offset + size - 1)
                if lo <= hi:
                    handle = open(store.path_of(blob_id), "rb")
                    self._pieces.append((handle, hi - lo + 1))
                    handle.seek(lo - offset)
                offset += size
        except BaseException:
            self.close()
            raise

    def prefetch(self) -> None:
        """Read the first PREFETCH_SIZE bytes now (on the pool, in the same hop as the lookup that opened this
        reader): ready() then hands them over without another hop, and an object that small is read whole here
        (its file closed). A read error is kept for the next read(), where it would have happened anyway."""
        if self._ahead is None and self._failed is None:
            try:
                self._ahead = self._read_piece(PREFETCH_SIZE)
            except OSError as exc:
                self._failed = exc

    def ready(self) -> Optional[bytes]:
        """The chunk prefetch() read, if any (then None): never blocks, so the reactor may call it."""
        data, self._ahead = self._ahead, None
        return data or None

    @property
    def exhausted(self) -> bool:
        """Every byte was handed out (every file is closed): no read is left to do."""
        return not self._pieces and not self._ahead and self._failed is None

    def read(self, size: int | None = None) -> bytes:
        """The next chunk (at most SIZE or the chunk size); b"" at the end."""
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed
        if self._ahead:
            data = self._ahead
            if size and len(data) > size:
                data, self._ahead = data[:size], data[size:]
            else:
                self._ahead = None
            return data
        return self._read_piece(size or self._chunk)

    def _read_piece(self, want: int) -> bytes:
        while self._pieces:
            handle, left = self._pieces[0]
            data = handle.read(min(want, left))  # type: ignore[attr-defined]
            if not data:
                raise IOError("blob shorter than recorded (storage damaged?)")
            left -= len(data)
            if left:
                self._pieces[0] = (handle, left)
            else:
                handle.close()  # type: ignore[attr-defined]
                self._pieces.pop(0)
            return data
        return b""

    def send_to(self, sock_fd: int, stop: Callable[[], bool], budget: int = 32 * 1024 * 1024,
                stall: float = 0.5) -> tuple[int, bool]:
        """Send the bytes not read yet straight from the files to the non-blocking socket SOCK_FD with
        sendfile(2) (no copy through Python), about BUDGET bytes at most (so a thread is not held for a whole
        large object); → (bytes sent, stalled). Returns early, STALLED, when the socket stayed full for STALL
        seconds (the caller then waits elsewhere, without holding a thread), or when STOP() says so. Only
        after prefetch()'s chunk was handed out."""
        if self._ahead or self._failed is not None:
            raise ValueError("send_to with a prefetched chunk not read")
        sent = 0
        poller = select.poll()
        poller.register(sock_fd, select.POLLOUT)
        while self._pieces and sent < budget and not stop():
            handle, left = self._pieces[0]
            position = handle.tell()  # type: ignore[attr-defined]
            try:
                n = os.sendfile(sock_fd, handle.fileno(), position,  # type: ignore[attr-defined]
                                min(left, budget - sent, 8 * 1024 * 1024))
            except BlockingIOError:
                if not poller.poll(stall * 1000):
                    return sent, True  # the client is not reading: let the caller wait without a thread
                continue
            except OSError as exc:
                if exc.errno == errno.EINTR:
                    continue
                raise
            if n == 0:
                raise IOError("blob shorter than recorded (storage damaged?)")
            sent += n
            left -= n
            if left:
                handle.seek(position + n)  # type: ignore[attr-defined]
                self._pieces[0] = (handle, left)
            else:
                handle.close()  # type: ignore[attr-defined]
                self._pieces.pop(0)
        return sent, False

    def __iter__(self) -> Iterator[bytes]:
        try:
            while True:
                data = self.read()
                if not data:
                    return
                yield data
        finally:
            self.close()

    def close(self) -> None:
        for handle, _ in self._pieces:
            handle.close()  # type: ignore[attr-defined]
        self._pieces = []
        self._ahead = None

    def __enter__(self) -> "BlobReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is; not every platform can open a directory.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class ObjectStore:
    """Blobs under ROOT (possibly a filesystem shared by several gateway hosts)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.blob_dir = self.root / "blobs"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        self.blob_dir.mkdir(parents=True, exist_ok=True)

    def path_of(self, blob_id: str) -> Path:
        # Ids are ours (uuid4 hex); refusing anything else keeps a forged id from naming another path.
        if len(blob_id) != 32 or not all(c in "0123456789abcdef" for c in blob_id):
            raise ValueError(f"not a blob id: {blob_id!r}")
        return self.blob_dir / blob_id[:2] / blob_id[2:4] / blob_id

    def open_writer(self, checksums: Collection[str] = (), limit: int | None = None) -> BlobWriter:
        """A writer for a new blob; write() raises OverflowError (after aborting) past LIMIT bytes."""
        return BlobWriter(self, checksums, limit)

    def open_reader(self, blob: Union[str, Layout], start: int = 0, end: int | None = None,
                    size: int | None = None) -> BlobReader:
        """Bytes START..END (inclusive) of one blob (give its SIZE, or it is read from the file) or of a
        layout [(blob id, size), ...]. Raises FileNotFoundError if a blob is gone."""
        if isinstance(blob, str):
            if size is None:
                size = self.path_of(blob).stat().st_size
            blob = [(blob, size)]
        return BlobReader(self, blob, start, end)

    def exists(self, blob_id: str) -> bool:
        return self.path_of(blob_id).exists()

    def delete(self, blob_id: str) -> None:
        """Remove a blob; deleting one that is already gone is not an error (two nodes may both try)."""
        try:
            os.unlink(self.path_of(blob_id))
        except FileNotFoundError:
            pass

    def delete_many(self, blob_ids: Collection[str]) -> None:
        for blob_id in blob_ids:
            self.delete(blob_id)

    def blob_ids(self) -> Iterator[str]:
        """Every committed blob id (a directory walk; for cleanup and tests)."""
        for first in sorted(self.blob_dir.iterdir()):
            if not first.is_dir():
                continue
            for second in sorted(first.iterdir()):
                if second.is_dir():
                    for entry in second.iterdir():
                        yield entry.name

    def cleanup(self, referenced: Union[Callable[[str], bool], Collection[str]],
                min_age: float = 3600.0) -> dict[str, int]:
        """Remove temp files and blobs that no metadata references; → {"tmp": n, "orphans": n}.

        Only files older than MIN_AGE seconds go: other processes sharing the root may be between writing a
        temp file and renaming it, or between the rename and their metadata commit, right now."""
        is_referenced = referenced if callable(referenced) else referenced.__contains__
        cutoff = time.time() - min_age
        removed = {"tmp": 0, "orphans": 0}
        for entry in self.tmp_dir.iterdir():
            if _older(entry, cutoff):
                _unlink(entry)
                removed["tmp"] += 1
        for blob_id in list(self.blob_ids()):
            try:
                path = self.path_of(blob_id)
            except ValueError:
                continue  # not one of ours; never delete what we did not write
            if _older(path, cutoff) and not is_referenced(blob_id):
                _unlink(path)
                removed["orphans"] += 1
        return removed


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.stat().st_mtime <= cutoff
    except FileNotFoundError:
        return False


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
