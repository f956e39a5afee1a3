"""ObjectStore: blobs by generated id, atomic commit, ranged reads across manifests, start-up cleanup."""
from __future__ import annotations

import base64
import hashlib
import os
import zlib
from pathlib import Path

import pytest

from ec2soap.s3.object_store import ObjectStore


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_commit_names_the_file_by_id_and_reports_digests(objects: ObjectStore) -> None:
    data = b"hello world" * 1000
    writer = objects.open_writer(["crc32", "sha256"])
    for i in range(0, len(data), 333):
        writer.write(data[i:i + 333])
    assert files_under(objects.blob_dir) == []  # nothing visible before commit
    blob_id, size, md5, checksums = writer.commit()
    assert size == len(data) and md5 == hashlib.md5(data).hexdigest()
    assert checksums["sha256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert checksums["crc32"] == base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    path = objects.path_of(blob_id)
    assert path.read_bytes() == data
    assert path.parent.parent.parent == objects.blob_dir and path.name == blob_id
    assert files_under(objects.tmp_dir) == []


def test_abort_leaves_nothing(objects: ObjectStore) -> None:
    writer = objects.open_writer()
    writer.write(b"partial")
    writer.abort()
    assert files_under(objects.root) == []


def test_limit_aborts_the_writer(objects: ObjectStore) -> None:
    writer = objects.open_writer(limit=10)
    writer.write(b"12345")
    with pytest.raises(OverflowError):
        writer.write(b"123456")
    assert files_under(objects.root) == []


def test_forged_ids_never_become_paths(objects: ObjectStore) -> None:
    for bad in ("../../etc/passwd", "a" * 31, "A" * 32, "photos/cat.jpg"):
        with pytest.raises(ValueError):
            objects.path_of(bad)


@pytest.mark.parametrize("start,end", [(0, None), (0, 0), (3, 9), (4, 5), (9, 20), (0, 14), (14, 14)])
def test_ranged_reads_across_a_manifest(objects: ObjectStore, start: int, end: int | None) -> None:
    pieces = [b"abcd", b"", b"efghij", b"klmno"]
    layout = []
    for piece in pieces:
        writer = objects.open_writer()
        writer.write(piece)
        blob = writer.commit()
        layout.append((blob.blob_id, blob.size))
    whole = b"".join(pieces)
    reader = objects.open_reader(layout, start, end)
    expected = whole[start:(len(whole) if end is None else end + 1)]
    assert reader.length == len(expected)
    assert b"".join(reader) == expected


def test_reader_streams_in_chunks(objects: ObjectStore) -> None:
    writer = objects.open_writer()
    writer.write(os.urandom(1024 * 1024))
    blob = writer.commit()
    chunks = list(objects.open_reader(blob.blob_id))
    assert len(chunks) == 4 and max(len(c) for c in chunks) == 256 * 1024


def test_open_reader_keeps_bytes_of_a_blob_deleted_meanwhile(objects: ObjectStore) -> None:
    writer = objects.open_writer()
    writer.write(b"still here")
    blob = writer.commit()
    reader = objects.open_reader(blob.blob_id)
    objects.delete(blob.blob_id)
    objects.delete(blob.blob_id)  # twice is fine (two nodes may both try)
    assert b"".join(reader) == b"still here"
    with pytest.raises(FileNotFoundError):
        objects.open_reader(blob.blob_id, size=10)


def test_cleanup_removes_old_temp_files_and_unreferenced_blobs_only(objects: ObjectStore) -> None:
    kept, orphan, young = (objects.open_writer() for _ in range(3))
    for writer in (kept, orphan, young):
        writer.write(b"x")
    kept_id, orphan_id = kept.commit().blob_id, orphan.commit().blob_id
    young_id = young.commit().blob_id
    leftover = objects.open_writer()
    leftover.write(b"crashed mid-write")  # never committed nor aborted: a crash
    old = 1_000_000_000
    for path in [objects.path_of(kept_id), objects.path_of(orphan_id), *objects.tmp_dir.iterdir()]:
        os.utime(path, (old, old))
    removed = objects.cleanup({kept_id}, min_age=3600)
    assert removed == {"tmp": 1, "orphans": 1}
    assert objects.exists(kept_id) and objects.exists(young_id) and not objects.exists(orphan_id)
    assert files_under(objects.tmp_dir) == []
