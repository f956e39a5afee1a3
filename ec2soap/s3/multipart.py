"""S3 multipart uploads: create, upload a part or copy one, list parts and uploads, complete, abort.
One family of S3Operations over the shared OpsContext (bodies and copy sources are the objects family's)."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ec2soap.s3 import acl as acls
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket, NewVersion, ObjectVersion, Part, Upload
from ec2soap.s3.object_store import SUPPORTED_CHECKSUMS
from ec2soap.s3.principal import writer_id
from ec2soap.s3.rules import (check_part_number, meta_from_headers, multipart_etag, parse_copy_range, parse_max,
                              validate_key)
from ec2soap.s3.listing import check_encoding, last_entry, upper_bound, walk
from ec2soap.s3.objects import IncomingBody, Objects

__all__ = ["Multipart", "PartsResult", "UploadsResult"]


@dataclass
class PartsResult:
    bucket: str
    key: str
    upload: Upload
    parts: list[Part]
    part_number_marker: int
    next_part_number_marker: int
    max_parts: int
    is_truncated: bool


@dataclass
class UploadsResult:
    bucket: str
    prefix: str
    delimiter: Optional[str]
    max_uploads: int
    encoding_type: Optional[str]
    key_marker: str
    upload_id_marker: str
    uploads: list[Upload]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: Optional[str] = None
    next_upload_id_marker: Optional[str] = None


class Multipart(Objects):
    """Create, UploadPart(Copy), ListParts, ListMultipartUploads, Complete, Abort (parts are bodies and
    copies as the objects family receives them)."""

    # -- multipart uploads ----------------------------------------------------------------------------------

    def create_multipart_upload(self, caller: Optional[str], bucket: str, key: str, headers: Mapping[str, str],
                                context: Mapping[str, Any] | None = None) -> Upload:
        """CreateMultipartUpload: the object's headers, metadata and ACL are fixed now."""
        validate_key(key, self.limits)
        meta = meta_from_headers(headers, self.limits)
        algorithm = (headers.get("x-amz-checksum-algorithm") or "").lower() or None
        if algorithm is not None and algorithm not in SUPPORTED_CHECKSUMS:
            raise S3Error("InvalidRequest", "Checksum algorithm %s is not supported" % algorithm.upper())
        owner = writer_id(caller)

        def create(conn: Any) -> Upload:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:PutObject", found, key, context=context)
            acl = acls.acl_from_headers(headers, owner, found.owner)
            return self.meta.create_upload(conn, found.id, key, owner, self.clock(), meta.content_type,
                                           meta.headers, meta.user_meta, acl, algorithm)
        return self._txn(create)

    def _upload(self, conn: Any, caller: Optional[str], bucket: str, key: str, upload_id: str, action: str,
                context: Mapping[str, Any] | None, lock: bool = False) -> tuple[Bucket, Upload]:
        found = self._bucket(conn, bucket)
        upload = self.meta.get_upload(conn, upload_id, lock=lock)
        if upload is None or upload.bucket_id != found.id or upload.key != key:
            raise S3Error("NoSuchUpload", upload_id=upload_id)
        # The initiator may always act on its own upload.
        if caller is None or caller != upload.owner:
            self._require(caller, action, found, key, context=context)
        return found, upload

    def upload_part(self, caller: Optional[str], bucket: str, key: str, upload_id: str, part_number: Any,
                    body: IncomingBody, headers: Mapping[str, str],
                    context: Mapping[str, Any] | None = None) -> Part:
        """UploadPart: the part becomes its own blob; uploading a number again replaces the earlier part."""
        try:
            number = check_part_number(part_number, self.limits)
            self.store.run_sync(self._upload, caller, bucket, key, upload_id, "s3:PutObject", context)
        except BaseException:
            body.abort()
            raise
        blob = self._finish_body(body, headers)
        part = Part(number, blob.size, blob.md5, self.clock(), blob.blob_id, blob.checksums)
        return self._record_part(caller, bucket, key, upload_id, part, context)

    def _record_part(self, caller: Optional[str], bucket: str, key: str, upload_id: str, part: Part,
                     context: Mapping[str, Any] | None) -> Part:
        def write(conn: Any) -> list[str]:
            _, upload = self._upload(conn, caller, bucket, key, upload_id, "s3:PutObject", context, lock=True)
            return self.meta.put_part(conn, upload, part)
        try:
            freed = self._txn(write)
        except BaseException:
            self._free([part.blob_id])
            raise
        self._free(freed)
        return part

    def upload_part_copy(self, caller: Optional[str], bucket: str, key: str, upload_id: str, part_number: Any,
                         source_bucket: str, source_key: str, source_version_id: Optional[str],
                         headers: Mapping[str, str], context: Mapping[str, Any] | None = None
                         ) -> tuple[Part, ObjectVersion]:
        """UploadPartCopy, with x-amz-copy-source-range and the copy-source conditions."""
        number = check_part_number(part_number, self.limits)

        def prepare(conn: Any) -> ObjectVersion:
            self._upload(conn, caller, bucket, key, upload_id, "s3:PutObject", context)
            return self._readable_source(conn, caller, source_bucket, source_key, source_version_id, headers,
                                         context)

        def span(source: ObjectVersion) -> Optional[tuple[int, int]]:
            value = headers.get("x-amz-copy-source-range")
            return parse_copy_range(value, source.size) if value else None
        source, reader = self._open_source(prepare, span)
        if reader.length > self.limits.max_part_size:
            reader.close()
            raise S3Error("EntityTooLarge", max_size_allowed=self.limits.max_part_size)
        blob = self._copy_bytes(reader, ())
        part = Part(number, blob.size, blob.md5, self.clock(), blob.blob_id, {})
        return self._record_part(caller, bucket, key, upload_id, part, context), source

    def list_parts(self, caller: Optional[str], bucket: str, key: str, upload_id: str,
                   part_number_marker: Optional[str] = None, max_parts: Optional[str] = None,
                   context: Mapping[str, Any] | None = None) -> PartsResult:
        limit = parse_max(max_parts, "max-parts", self.limits)
        try:
            after = int(part_number_marker or 0)
            if not 0 <= after < 2 ** 31:  # S3's integer range (and what the database can bind)
                raise ValueError(part_number_marker)
        except ValueError:
            raise S3Error("InvalidArgument", "Provided part-number-marker not an integer or within integer range",
                          argument_name="part-number-marker", argument_value=part_number_marker) from None

        def run(conn: Any) -> PartsResult:
            _, upload = self._upload(conn, caller, bucket, key, upload_id, "s3:ListMultipartUploadParts", context)
            parts = self.meta.list_parts(conn, upload.id, after, limit + 1)
            truncated = len(parts) > limit
            parts = parts[:limit]
            return PartsResult(bucket, key, upload, parts, after, parts[-1].part_number if parts else 0, limit,
                               truncated)
        return self.store.run_sync(run)

    def list_multipart_uploads(self, caller: Optional[str], bucket: str, prefix: str = "",
                               delimiter: Optional[str] = None, key_marker: Optional[str] = None,
                               upload_id_marker: Optional[str] = None, max_uploads: Optional[str] = None,
                               encoding_type: Optional[str] = None,
                               context: Mapping[str, Any] | None = None) -> UploadsResult:
        limit = parse_max(max_uploads, "max-uploads", self.limits)
        check_encoding(encoding_type)
        prefix = prefix or ""

        def run(conn: Any) -> UploadsResult:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:ListBucketMultipartUploads", found, context=context)
            after_id = None
            if key_marker and upload_id_marker:
                marked = self.meta.get_upload(conn, upload_id_marker)
                after_id = marked.id if marked is not None else None
            items, prefixes, truncated = walk(
                lambda after, inclusive, n, after_id=None: self.meta.list_uploads(
                    conn, found.id, after, after_id, upper_bound(prefix), n, inclusive),
                lambda u: (u.key.encode(), u.id), prefix, delimiter or None, key_marker or None, after_id, limit)
            result = UploadsResult(bucket, prefix, delimiter or None, limit, encoding_type, key_marker or "",
                                   upload_id_marker or "", items, prefixes, truncated)
            if truncated:
                last = last_entry(items, prefixes)
                if isinstance(last, str):
                    result.next_key_marker = last
                else:
                    result.next_key_marker, result.next_upload_id_marker = last.key, last.upload_id
            return result
        return self.store.run_sync(run)

    def complete_multipart_upload(self, caller: Optional[str], bucket: str, key: str, upload_id: str,
                                  parts: Sequence[tuple[int, str]],
                                  context: Mapping[str, Any] | None = None) -> ObjectVersion:
        """CompleteMultipartUpload: PARTS [(number, etag)] ascending, each uploaded with that ETag, all but
        the last at least the minimum size. The object is a manifest of the part blobs: completing copies
        nothing, so it is quick and atomic (one transaction) whatever the size."""
        if not parts:
            raise S3Error("MalformedXML")
        numbers = [number for number, _ in parts]
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            raise S3Error("InvalidPartOrder", upload_id=upload_id)

        def complete(conn: Any) -> tuple[ObjectVersion, list[str]]:
            found, upload = self._upload(conn, caller, bucket, key, upload_id, "s3:PutObject", context, lock=True)
            stored = {part.part_number: part for part in self.meta.list_parts(conn, upload.id)}
            chosen = []
            for number, etag in parts:
                part = stored.get(number)
                if part is None or etag.strip().strip('"') != part.etag:
                    raise S3Error("InvalidPart", upload_id=upload_id, part_number=number, etag=etag)
                chosen.append(part)
            for part in chosen[:-1]:
                if part.size < self.limits.min_part_size:
                    raise S3Error("EntityTooSmall", proposed_size=part.size, min_size_allowed=self.limits.min_part_size,
                                  part_number=part.part_number, etag=part.etag)
            size = sum(part.size for part in chosen)
            if size > self.limits.max_multipart_size:
                raise S3Error("EntityTooLarge", proposed_size=size, max_size_allowed=self.limits.max_multipart_size)
            checksums = {}
            if upload.checksum_algorithm:
                # S3's composite checksum: the algorithm over the concatenated part digests, then "-N".
                checksums[upload.checksum_algorithm] = _composite(upload.checksum_algorithm, chosen)
            new = NewVersion(owner=upload.owner, size=size, etag=multipart_etag(p.etag for p in chosen),
                             last_modified=self.clock(), content_type=upload.content_type, headers=upload.headers,
                             user_meta=upload.user_meta, acl=upload.acl, checksums=checksums,
                             manifest=[[p.blob_id, p.size] for p in chosen])
            version, freed = self.meta.put_version(conn, found, key, new)
            freed += self.meta.delete_upload(conn, upload, keep=[p.blob_id for p in chosen])
            return version, freed
        version, freed = self._txn(complete)
        self._free(freed)
        return version

    def abort_multipart_upload(self, caller: Optional[str], bucket: str, key: str, upload_id: str,
                               context: Mapping[str, Any] | None = None) -> None:
        def abort(conn: Any) -> list[str]:
            _, upload = self._upload(conn, caller, bucket, key, upload_id, "s3:AbortMultipartUpload", context,
                                     lock=True)
            return self.meta.delete_upload(conn, upload)
        self._free(self._txn(abort))


def _composite(algorithm: str, parts: Sequence[Part]) -> str:
    from ec2soap.s3.object_store import _new_checksum

    combined = _new_checksum(algorithm)
    for part in parts:
        if algorithm not in part.checksums:
            raise S3Error("InvalidRequest", "The upload was created using a %s checksum. The complete request "
                          "referenced an uploaded part which did not include a checksum." % algorithm.upper())
        combined.update(base64.b64decode(part.checksums[algorithm]))  # type: ignore[attr-defined]
    return "%s-%d" % (base64.b64encode(combined.digest()).decode(), len(parts))  # type: ignore[attr-defined]


