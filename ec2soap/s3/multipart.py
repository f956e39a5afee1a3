"""S3 multipart uploads: create, upload a part or copy one, list parts and uploads, complete, abort.
One family of S3Operations over the shared OpsContext (bodies and copy sources are the objects family's)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ec2soap.s3 import acl as acls
from ec2soap.s3 import public
from ec2soap.s3 import checksums, conditional, tag_rules
from ec2soap.s3 import object_lock
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket, NewVersion, ObjectVersion, Part, Upload
from ec2soap.s3.principal import writer_id
from ec2soap.s3.rules import (check_part_number, meta_from_headers, multipart_etag, parse_copy_range, parse_max,
                              validate_key)
from ec2soap.s3.listing import check_encoding, last_entry, upper_bound, walk
from ec2soap.s3.objects import IncomingBody, Objects
from ec2soap.s3.tagging import store_upload_tags, upload_tags

__all__ = ["Multipart", "PartsResult", "UploadsResult", "COMPLETED_KEPT_SECONDS"]

# How long a completed upload is remembered for a retried CompleteMultipartUpload (s3.metadata's
# s3_completed_upload rows; S3 documents no period: clients retry within seconds or minutes).
COMPLETED_KEPT_SECONDS = 86400.0


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
    # ListParts' Owner: "the object owner, after the object is created" (S3), public.upload_owner: the bucket
    # owner under BucketOwnerEnforced, and under BucketOwnerPreferred for a bucket-owner-full-control upload.
    owner: Optional[str] = None


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
        algorithm, kind = checksums.upload_checksum(headers)
        owner = writer_id(caller)
        requested_lock = object_lock.requested_lock(headers, self.clock())
        tags = tag_rules.parse_tagging_header(headers)
        context = tag_rules.with_request_tags(context, tags)

        def create(conn: Any) -> Upload:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:PutObject", found, key, context=context)
            if tags:  # as PutObject: tags sent with the object need s3:PutObjectTagging too
                self._require(caller, "s3:PutObjectTagging", found, key, context=context)
            acl = acls.acl_from_headers(headers, public.object_owner(found, owner, headers), found.owner)
            public.check_acl_write(found, acl)  # BlockPublicAcls, ACLs disabled
            upload = self.meta.create_upload(conn, found.id, key, owner, self.clock(), meta.content_type,
                                             meta.headers, meta.user_meta, acl, algorithm, kind)
            store_upload_tags(conn, upload.id, tags)
            if requested_lock:  # given to the completed object (a bucket without Object Lock refuses it now)
                object_lock.lock_for_new_version(found, requested_lock, self.clock(), lambda action:
                                                 self._require(caller, action, found, key, context=context))
                object_lock.record_upload_lock(conn, upload, requested_lock)
            return upload
        return self._txn(create)

    def _upload(self, conn: Any, caller: Optional[str], bucket: str, key: str, upload_id: str, action: str,
                context: Mapping[str, Any] | None, lock: bool = False) -> tuple[Bucket, Upload]:
        found = self._bucket(conn, bucket)
        upload = self.meta.get_upload(conn, upload_id, lock=lock)
        if upload is None or upload.bucket_id != found.id or upload.key != key:
            raise S3Error("NoSuchUpload", upload_id=upload_id)
        # The initiator may always act on its own upload, but for an explicit Deny of the bucket policy (S3
        # authorizes each UploadPart and the Complete as s3:PutObject, Abort and ListParts as their own actions).
        if caller is None or caller != upload.owner:
            self._require(caller, action, found, key, context=context)
        elif self.denied(caller, action, found, key, context=context):
            raise S3Error("AccessDenied")
        return found, upload

    def upload_part(self, caller: Optional[str], bucket: str, key: str, upload_id: str, part_number: Any,
                    body: IncomingBody, headers: Mapping[str, str],
                    context: Mapping[str, Any] | None = None) -> Part:
        """UploadPart: the part becomes its own blob; uploading a number again replaces the earlier part.
        It keeps the checksums its client named and its upload's, or S3's default CRC64NVME in an upload
        created without an algorithm (checksums.part_checksums)."""
        try:
            number = check_part_number(part_number, self.limits)
            _, upload = self.store.run_sync(self._upload, caller, bucket, key, upload_id, "s3:PutObject", context)
            named = checksums.requested(headers, default=False)[1]
            checksums.check_part(upload.checksum_algorithm, named)
        except BaseException:
            body.abort()
            raise
        blob = self._finish_body(body, headers)
        part = Part(number, blob.size, blob.md5, self.clock(), blob.blob_id,
                    checksums.part_checksums(upload.checksum_algorithm, blob.checksums, named))
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

        uploads: list = []

        def prepare(conn: Any) -> ObjectVersion:
            uploads.append(self._upload(conn, caller, bucket, key, upload_id, "s3:PutObject", context)[1])
            return self._readable_source(conn, caller, source_bucket, source_key, source_version_id, headers,
                                         context)

        def span(source: ObjectVersion) -> Optional[tuple[int, int]]:
            value = headers.get("x-amz-copy-source-range")
            return parse_copy_range(value, source.size) if value else None
        source, reader = self._open_source(prepare, span)
        if reader.length > self.limits.max_part_size:
            reader.close()
            raise S3Error("EntityTooLarge", max_size_allowed=self.limits.max_part_size)
        # The part gets its upload's checksum, computed as the bytes are copied (S3 does the same), or S3's
        # default CRC64NVME in an upload created without one (the completed object's checksum is made of them).
        algorithm = uploads[-1].checksum_algorithm
        blob = self._copy_bytes(reader, (algorithm,) if algorithm else checksums.default_algorithms())
        part = Part(number, blob.size, blob.md5, self.clock(), blob.blob_id, dict(blob.checksums))
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
            found, upload = self._upload(conn, caller, bucket, key, upload_id, "s3:ListMultipartUploadParts",
                                         context)
            parts = self.meta.list_parts(conn, upload.id, after, limit + 1)
            truncated = len(parts) > limit
            parts = parts[:limit]
            return PartsResult(bucket, key, upload, parts, after, parts[-1].part_number if parts else 0, limit,
                               truncated, public.upload_owner(found, upload))
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
                                  context: Mapping[str, Any] | None = None,
                                  headers: Mapping[str, str] | None = None,
                                  part_checksums: Mapping[int, Mapping[str, str]] | None = None) -> ObjectVersion:
        """CompleteMultipartUpload: PARTS [(number, etag)] ascending, each uploaded with that ETag (and the
        checksums PART_CHECKSUMS gives it, s3.checksums.complete), all but the last at least the minimum
        size. The object is a manifest of the part blobs: completing copies nothing, so it is quick and atomic
        (one transaction) whatever the size. HEADERS' If-Match and
        If-None-Match are checked in that transaction (s3.conditional)."""
        headers = headers or {}
        conditional.check_headers(headers)
        if not parts:
            raise S3Error("MalformedXML")
        numbers = [number for number, _ in parts]
        if any(b <= a for a, b in zip(numbers, numbers[1:])):
            raise S3Error("InvalidPartOrder", upload_id=upload_id)

        wanted = [(number, etag.strip().strip('"')) for number, etag in parts]

        def complete(conn: Any) -> tuple[ObjectVersion, list[str]]:
            try:
                found, upload = self._upload(conn, caller, bucket, key, upload_id, "s3:PutObject", context,
                                             lock=True)
            except S3Error as error:
                if error.code != "NoSuchUpload":
                    raise
                return self._completed_before(conn, caller, bucket, key, upload_id, wanted, context, error), []
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
            sums, part_sums = checksums.complete(upload.checksum_algorithm, upload.checksum_type, chosen,
                                                 part_checksums or {}, headers, upload_id)
            new = NewVersion(owner=public.upload_owner(found, upload), size=size, etag=multipart_etag(p.etag for p in chosen),
                             last_modified=self.clock(), content_type=upload.content_type, headers=upload.headers,
                             user_meta=upload.user_meta, acl=upload.acl, checksums=sums,
                             manifest=[[p.blob_id, p.size] for p in chosen], part_checksums=part_sums,
                             tags=upload_tags(conn, upload.id))
            lock = object_lock.lock_for_new_version(found, upload.object_lock, self.clock())
            version, freed = self.meta.put_version(conn, found, key, new, conditional.checker(
                self.meta, conn, found, key, headers))
            object_lock.record_version_lock(conn, version, lock)
            freed += self.meta.delete_upload(conn, upload, keep=[p.blob_id for p in chosen])
            self.meta.remember_completed(conn, upload, version, wanted, COMPLETED_KEPT_SECONDS)
            return version, freed
        version, freed = self._txn(complete)
        self._free(freed)
        return version

    def _completed_before(self, conn: Any, caller: Optional[str], bucket: str, key: str, upload_id: str,
                          parts: Sequence[tuple[int, str]], context: Mapping[str, Any] | None,
                          missing: S3Error) -> ObjectVersion:
        """A Complete of an upload that has already completed: S3 tells clients to retry Complete (its answer
        can be lost, or come as a 200 carrying an error), so it answers as the first did (the same version,
        ETag and checksums) while that version is there. With another parts list it is InvalidPart (the parts
        it names are gone); once the version is deleted or replaced, or the record has aged out, NoSuchUpload.
        The upload row's lock, which the first Complete held until it committed, orders concurrent ones."""
        found = self._bucket(conn, bucket)
        done = self.meta.completed_upload(conn, upload_id)
        if done is None or done.bucket_id != found.id or done.key != key:
            raise missing
        version = self.meta.get_version_row(conn, done.object_id)
        # The row, not a later one given the same id (SQLite reuses the highest row id once it is deleted).
        if version is None or version.bucket_id != found.id or version.key != key \
                or version.last_modified != done.completed:
            raise missing
        if caller is None or caller != done.owner:  # as for the upload (_upload): its initiator may, but for a Deny
            self._require(caller, "s3:PutObject", found, key, context=context)
        elif self.denied(caller, "s3:PutObject", found, key, context=context):
            raise S3Error("AccessDenied")
        if list(parts) != done.parts:
            number, etag = ([p for p, q in zip(parts, done.parts) if p != q] or list(parts[len(done.parts):])
                            or [parts[-1]])[0]
            raise S3Error("InvalidPart", upload_id=upload_id, part_number=number, etag=etag)
        return version

    def abort_multipart_upload(self, caller: Optional[str], bucket: str, key: str, upload_id: str,
                               context: Mapping[str, Any] | None = None) -> None:
        def abort(conn: Any) -> list[str]:
            _, upload = self._upload(conn, caller, bucket, key, upload_id, "s3:AbortMultipartUpload", context,
                                     lock=True)
            return self.meta.delete_upload(conn, upload)
        self._free(self._txn(abort))

