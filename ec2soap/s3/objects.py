"""S3 objects: receiving a body, PutObject, CopyObject, GetObject/HeadObject, DeleteObject(s), object ACLs.
One family of S3Operations over the shared OpsContext. Writes follow one order: bytes to a temp file, fsync,
rename (ObjectStore), then one metadata transaction; files it unreferenced are deleted after it commits."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from ec2soap.s3 import acl as acls
from ec2soap.s3 import public
from ec2soap.s3 import checksums, conditional, tag_rules
from ec2soap.s3 import object_lock
from ec2soap.s3.attributes import part_checksums, part_span
from ec2soap.s3.errors import S3Error
from ec2soap.s3.lifecycle import expiration_header
from ec2soap.s3.metadata import NewVersion, ObjectVersion
from ec2soap.s3.object_store import SUPPORTED_CHECKSUMS, BlobReader, BlobWriter, CommittedBlob
from ec2soap.s3.principal import writer_id
from ec2soap.s3.rules import (ObjectMeta, check_conditions, check_copy_conditions, decode_content_md5, etag_header,
                              http_date, meta_from_headers, parse_range, validate_key)
from ec2soap.s3.context import OpsContext

__all__ = ["Objects", "IncomingBody", "GetResult", "DeleteOutcome"]


@dataclass
class IncomingBody:
    """An object or part body being received: the resource calls write(chunk) as data arrives, then hands
    it to put_object/upload_part, or abort() if the client goes away."""
    writer: BlobWriter
    expected_sha256: Optional[str] = None
    client_checksums: dict = field(default_factory=dict)  # algorithm → base64 value the client sent
    algorithms: tuple = ()  # checksums to store with the object

    def write(self, chunk: bytes) -> None:
        try:
            self.writer.write(chunk)
        except OverflowError:
            raise S3Error("EntityTooLarge", max_size_allowed=self.writer._limit) from None

    @property
    def size(self) -> int:
        return self.writer.size

    def abort(self) -> None:
        self.writer.abort()


@dataclass
class GetResult:
    """GET/HEAD: the version, its body (None for HEAD; close it when done), the range served or None,
    and the response headers S3 sends (ETag, Last-Modified, Content-Type, x-amz-meta-*, ...)."""
    version: ObjectVersion
    body: Optional[BlobReader]
    range: Optional[tuple[int, int]]
    headers: dict
    part_number: Optional[int] = None  # partNumber read (s3.attributes), its bytes are RANGE

    @property
    def status(self) -> int:
        return 206 if self.range is not None else 200

    @property
    def length(self) -> int:
        return self.range[1] - self.range[0] + 1 if self.range else self.version.size


@dataclass
class DeleteOutcome:
    key: str
    version_id: Optional[str] = None       # the version removed, or the delete marker's version
    delete_marker: bool = False
    delete_marker_version_id: Optional[str] = None
    error: Optional[S3Error] = None


class Objects(OpsContext):
    """Writing (PutObject, CopyObject), reading (GetObject/HeadObject), deleting and object ACLs."""

    # -- writing objects ------------------------------------------------------------------------------------

    def receive(self, headers: Mapping[str, str], part: bool = False) -> IncomingBody:
        """A sink for a PUT (or UploadPart) body, computing what HEADERS will be checked against."""
        limit = self.limits.max_part_size if part else self.limits.max_object_size
        length = headers.get("x-amz-decoded-content-length") or headers.get("content-length")
        if length is not None and length.isascii() and length.isdigit() and int(length) > limit:
            raise S3Error("EntityTooLarge", proposed_size=length, max_size_allowed=limit)
        client_sums, stored = checksums.requested(headers, part=part)
        sha256 = headers.get("x-amz-content-sha256")
        expected_sha256 = sha256.lower() if sha256 and len(sha256) == 64 else None
        wanted = set(stored) | ({"sha256"} if expected_sha256 else set())
        writer = self.objects.open_writer(sorted(wanted), limit=limit)
        return IncomingBody(writer, expected_sha256, client_sums, tuple(sorted(stored)))

    def _finish_body(self, body: IncomingBody, headers: Mapping[str, str]) -> CommittedBlob:
        """Check length and digests, then fsync+rename. Any mismatch aborts: nothing is left behind."""
        try:
            length = headers.get("x-amz-decoded-content-length") or headers.get("content-length")
            if length is not None and (not (length.isascii() and length.isdigit()) or int(length) != body.size):
                raise S3Error("IncompleteBody")
            md5 = headers.get("content-md5")
            if md5 is not None and decode_content_md5(md5) != body.writer.md5_digest:
                raise S3Error("BadDigest", expected_digest=md5)
            if body.expected_sha256 is not None:
                computed = base64.b64decode(body.writer.checksum("sha256")).hex()
                if computed != body.expected_sha256:
                    raise S3Error("XAmzContentSHA256Mismatch", client_computed_content_sha256=body.expected_sha256,
                                  s3_computed_content_sha256=computed)
            for name, value in body.client_checksums.items():
                if body.writer.checksum(name) != value.strip():
                    raise S3Error("BadDigest", "The %s you specified did not match the calculated checksum."
                                  % name.upper())
            committed = body.writer.commit()
        except BaseException:
            body.abort()
            raise
        kept = {name: committed.checksums[name] for name in body.algorithms}
        return CommittedBlob(committed.blob_id, committed.size, committed.md5, kept)

    def check_put(self, caller: Optional[str], bucket: str, key: str, headers: Mapping[str, str],
                  context: Mapping[str, Any] | None = None) -> None:
        """Everything a PUT can be refused for before its body is read (call before 100-continue)."""
        validate_key(key, self.limits)
        meta_from_headers(headers, self.limits)
        acls.acl_from_headers(headers, caller or "anonymous")
        conditional.check_headers(headers)
        object_lock.requested_lock(headers, self.clock(), body=True)
        tags = tag_rules.parse_tagging_header(headers)
        context = tag_rules.with_request_tags(context, tags)  # s3:RequestObjectTag/<key>
        if "content-length" not in headers and "x-amz-decoded-content-length" not in headers \
                and "chunked" not in headers.get("transfer-encoding", "").lower():
            raise S3Error("MissingContentLength")

        def check(conn: Any) -> None:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:PutObject", found, key, context=context)
            writer = public.object_owner(found, writer_id(caller), headers)  # a public ACL: refused now
            public.check_acl_write(found, acls.acl_from_headers(headers, writer, found.owner))
        # Only reads (put_object checks again in its write): on SQLite no queueing for the write lock.
        self.store.run_sync(check, readonly=True)

    def put_object(self, caller: Optional[str], bucket: str, key: str, body: IncomingBody,
                   headers: Mapping[str, str], context: Mapping[str, Any] | None = None) -> ObjectVersion:
        """PutObject: verify, commit the blob, then make it the key's current version in one transaction."""
        return self.put_object_expiring(caller, bucket, key, body, headers, context)[0]

    def put_object_expiring(self, caller: Optional[str], bucket: str, key: str, body: IncomingBody,
                            headers: Mapping[str, str], context: Mapping[str, Any] | None = None
                            ) -> tuple[ObjectVersion, dict]:
        """put_object, and the version's x-amz-expiration (s3.lifecycle) read in its very transaction (the
        bucket's rules come with its row): no second transaction for the answer's headers."""
        try:
            validate_key(key, self.limits)
            meta = meta_from_headers(headers, self.limits)
            owner = writer_id(caller)
            tags = tag_rules.parse_tagging_header(headers)
        except BaseException:
            body.abort()
            raise
        context = tag_rules.with_request_tags(context, tags)
        blob = self._finish_body(body, headers)
        new = NewVersion(owner=owner, size=blob.size, etag=blob.md5, last_modified=self.clock(),
                         content_type=meta.content_type, headers=meta.headers, user_meta=meta.user_meta,
                         checksums=blob.checksums, blob_id=blob.blob_id, tags=tags or {})
        expiry: dict = {}
        return self._record(caller, bucket, key, new, headers, context, [blob.blob_id], expiry), expiry

    def _record(self, caller: Optional[str], bucket: str, key: str, new: NewVersion, headers: Mapping[str, str],
                context: Mapping[str, Any] | None, new_blobs: list[str],
                expiry: Optional[dict] = None) -> ObjectVersion:
        """The metadata half of every write. If it fails, the new blobs are deleted: no orphan. EXPIRY, when
        given, receives the new version's x-amz-expiration header (s3.lifecycle) as of this transaction."""
        def write(conn: Any) -> tuple[ObjectVersion, list[str]]:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:PutObject", found, key, context=context)
            if new.tags:  # S3: writing tags with the object needs s3:PutObjectTagging too
                self._require(caller, "s3:PutObjectTagging", found, key, context=context)
            now = self.clock()
            lock = object_lock.lock_for_new_version(found, object_lock.requested_lock(headers, now), now, lambda a:
                                                    self._require(caller, a, found, key, context=context))
            new.owner = public.object_owner(found, new.owner, headers)  # ObjectOwnership
            new.acl = acls.acl_from_headers(headers, new.owner, found.owner) if new.acl is None else new.acl
            public.check_acl_write(found, new.acl)  # BlockPublicAcls, ACLs disabled
            version, freed = self.meta.put_version(conn, found, key, new, conditional.checker(
                self.meta, conn, found, key, headers))
            object_lock.record_version_lock(conn, version, lock)
            if expiry is not None:
                expiry.clear()  # a retried transaction starts over
                expiry.update(expiration_header(conn, found, version))
            return version, freed
        try:
            version, freed = self._txn(write)
        except BaseException:
            self._free(new_blobs)
            raise
        self._free(freed)
        return version

    def copy_object(self, caller: Optional[str], bucket: str, key: str, source_bucket: str, source_key: str,
                    source_version_id: Optional[str], headers: Mapping[str, str],
                    context: Mapping[str, Any] | None = None) -> tuple[ObjectVersion, ObjectVersion]:
        """CopyObject with x-amz-metadata-directive COPY|REPLACE and x-amz-copy-source-if-*; → (new version,
        source version). The bytes are copied (in constant memory), never shared between objects."""
        validate_key(key, self.limits)
        directive = headers.get("x-amz-metadata-directive", "COPY").upper()
        if directive not in ("COPY", "REPLACE"):
            raise S3Error("InvalidArgument", "Unknown metadata directive.", argument_name="x-amz-metadata-directive",
                          argument_value=directive)
        replaced = meta_from_headers(headers, self.limits) if directive == "REPLACE" else None
        # The copy keeps the source's algorithms, or the one x-amz-checksum-algorithm names, computed afresh
        # over the bytes copied: a single object, so a composite source checksum becomes a full-object one.
        algorithm = headers.get("x-amz-checksum-algorithm")
        wanted = (checksums.algorithm_of(algorithm),) if algorithm else ()
        # x-amz-tagging-directive: COPY keeps the source's tags (x-amz-tagging is then ignored, as S3 does).
        new_tags = (tag_rules.parse_tagging_header(headers) or {}) \
            if tag_rules.tagging_directive(headers) == "REPLACE" else None
        context = tag_rules.with_request_tags(context, new_tags)

        def prepare(conn: Any) -> ObjectVersion:
            dest = self._bucket(conn, bucket)
            self._require(caller, "s3:PutObject", dest, key, context=context)
            return self._readable_source(conn, caller, source_bucket, source_key, source_version_id, headers,
                                         context)
        source, reader = self._open_source(prepare, None)
        if new_tags is None and source.tags and not self.allowed(  # S3: copying tags needs leave to read them
                caller, "s3:GetObjectVersionTagging" if source_version_id else "s3:GetObjectTagging",
                source_bucket, source_key, source.version_id, context):
            reader.close()
            raise S3Error("AccessDenied")
        if source.size > self.limits.max_object_size:
            reader.close()
            raise S3Error("InvalidRequest", "The specified copy source is larger than the maximum allowable size "
                          "for a copy source: %d" % self.limits.max_object_size)
        if (source_bucket, source_key) == (bucket, key) and directive == "COPY" and source_version_id is None \
                and "x-amz-storage-class" not in headers:
            reader.close()
            raise S3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object to "
                          "itself without changing the object's metadata, storage class, website redirect location "
                          "or encryption attributes.")
        blob = self._copy_bytes(reader, wanted or tuple(source.checksums) or checksums.default_algorithms())
        if replaced is None:
            replaced = ObjectMeta(source.content_type, dict(source.headers), dict(source.user_meta))
            if "x-amz-storage-class" in headers:
                replaced.headers["x-amz-storage-class"] = headers["x-amz-storage-class"]
        new = NewVersion(owner=writer_id(caller), size=blob.size, etag=blob.md5, last_modified=self.clock(),
                         content_type=replaced.content_type, headers=replaced.headers,
                         user_meta=replaced.user_meta, checksums=blob.checksums, blob_id=blob.blob_id,
                         tags=dict(source.tags) if new_tags is None else new_tags)
        return self._record(caller, bucket, key, new, headers, context, [blob.blob_id]), source

    def _readable_source(self, conn: Any, caller: Optional[str], bucket: str, key: str,
                         version_id: Optional[str], headers: Mapping[str, str],
                         context: Mapping[str, Any] | None) -> ObjectVersion:
        found = self._bucket(conn, bucket)
        source = self.meta.get_object(conn, found.id, key, version_id)
        if source is None:
            raise self._missing_key(caller, found, key, context, version_id)
        if source.delete_marker:
            # S3 quirk: a delete marker named by version id cannot be a copy source at all.
            if version_id is not None:
                raise S3Error("InvalidRequest", "The source of a copy request may not specifically refer to a "
                              "delete marker by version id.")
            raise S3Error("NoSuchKey", key=key)
        self._require(caller, "s3:GetObjectVersion" if version_id else "s3:GetObject", found, key, source,
                      context)
        check_copy_conditions(headers, source.etag, source.last_modified, self.clock())
        return source

    def _open_source(self, prepare: Callable[[Any], ObjectVersion],
                     byte_range: Callable[[ObjectVersion], Optional[tuple[int, int]]] | None,
                     readonly: bool = False) -> tuple[ObjectVersion, BlobReader]:
        """Look a version up and open its blobs. Another node may replace the object and delete its blobs
        between the two steps; then the lookup is simply done again."""
        for attempt in range(5):
            source = self.store.run_sync(prepare, readonly=readonly)
            span = byte_range(source) if byte_range else None
            start, end = span if span else (0, None)
            try:
                return source, self.objects.open_reader(source.layout, start, end)
            except FileNotFoundError:
                if attempt == 4:
                    raise
        raise AssertionError("unreachable")

    def _copy_bytes(self, reader: BlobReader, checksums: Sequence[str]) -> CommittedBlob:
        writer = self.objects.open_writer([c for c in checksums if c in SUPPORTED_CHECKSUMS])
        try:
            with reader:
                for chunk in reader:
                    writer.write(chunk)
            return writer.commit()
        except BaseException:
            writer.abort()
            raise

    # -- reading objects ------------------------------------------------------------------------------------

    def get_object(self, caller: Optional[str], bucket: str, key: str, version_id: Optional[str] = None,
                   headers: Mapping[str, str] | None = None, context: Mapping[str, Any] | None = None,
                   head: bool = False, part_number: Optional[str] = None) -> GetResult:
        """GetObject/HeadObject: conditions, then Range or PART_NUMBER's bytes; the body is opened (close it)
        unless HEAD."""
        headers = headers or {}
        found: dict = {}

        def span_of(version: ObjectVersion) -> Optional[tuple[int, int]]:
            if part_number is not None:
                return part_span(version, part_number, "range" in headers, self.limits)
            return parse_range(headers.get("range"), version.size)

        def lookup(conn: Any) -> ObjectVersion:
            the_bucket, version = self.meta.get_bucket_and_object(conn, bucket, key, version_id)  # one query
            if the_bucket is None:
                raise S3Error("NoSuchBucket", bucket_name=bucket)
            found["bucket"] = the_bucket
            if version is None:
                raise self._missing_key(caller, the_bucket, key, context, version_id)
            if version.delete_marker:
                marker_headers = {"x-amz-delete-marker": "true", "x-amz-version-id": version.version_id}
                if version_id is not None:
                    # S3 quirk: GET of a delete marker by version id is 405, not 404.
                    marker_headers["Last-Modified"] = http_date(version.last_modified)
                    raise S3Error("MethodNotAllowed", headers=marker_headers, method="GET",
                                  resource_type="DeleteMarker")
                raise S3Error("NoSuchKey", headers=marker_headers, key=key)
            self._require(caller, "s3:GetObjectVersion" if version_id else "s3:GetObject", the_bucket, key,
                          version, context)
            check_conditions(headers, version.etag, version.last_modified, self.clock(),
                             self.object_headers(version, the_bucket.versioning is not None, basic=True))
            found["expiration"] = expiration_header(conn, the_bucket, version)  # s3.lifecycle
            found["lock"] = object_lock.response_headers(version, lambda action: self.decide(
                caller, action, the_bucket, key, version, context))  # each group to whom may read it
            return version

        # The lookup only reads: on SQLite it then runs beside writers instead of queueing for the write lock.
        if head:
            version = self.store.run_sync(lookup, readonly=True)
            span = span_of(version)
            return GetResult(version, None, span, {**self.object_headers(version, found["bucket"].versioning
                                                                         is not None), **found["lock"],
                                                   **found["expiration"]}, _part(part_number))
        spans: dict = {}

        def remember(version: ObjectVersion) -> Optional[tuple[int, int]]:
            spans["range"] = span_of(version)
            return spans["range"]
        version, reader = self._open_source(lookup, remember, readonly=True)
        reader.prefetch()  # in this pool hop: an object of PREFETCH_SIZE or less needs no further hop
        return GetResult(version, reader, spans["range"],
                         {**self.object_headers(version, found["bucket"].versioning is not None),
                          **found["lock"], **found["expiration"]}, _part(part_number))

    def object_headers(self, version: ObjectVersion, versioned: bool, basic: bool = False) -> dict:
        """The headers S3 answers GET/HEAD with (Content-Length and Content-Range are the resource's; the
        x-amz-object-lock-* ones depend on the caller, get_object adds them)."""
        out = {"ETag": etag_header(version.etag), "Last-Modified": http_date(version.last_modified)}
        if versioned:
            out["x-amz-version-id"] = version.version_id
        if basic:
            return out
        out["Content-Type"] = version.content_type or "binary/octet-stream"
        out["Accept-Ranges"] = "bytes"
        names = {"cache-control": "Cache-Control", "content-disposition": "Content-Disposition",
                 "content-encoding": "Content-Encoding", "content-language": "Content-Language",
                 "expires": "Expires"}
        for name, value in version.headers.items():
            out[names.get(name, name)] = value
        for name, value in version.user_meta.items():
            out["x-amz-meta-" + name] = value
        if version.manifest:
            out["x-amz-mp-parts-count"] = str(len(version.manifest))
        if version.tags:
            out["x-amz-tagging-count"] = str(len(version.tags))
        return out

    def checksum_headers(self, version: ObjectVersion, part_number: Optional[int] = None) -> dict:
        """x-amz-checksum-* (and -type) for a GET/HEAD with x-amz-checksum-mode: ENABLED, of the object or of
        the part read."""
        if part_number is not None:
            out = {f"x-amz-checksum-{name}": value for name, value in part_checksums(version, part_number).items()}
            kind = checksums.checksum_type(version.checksums)  # a part is answered with its object's type
            if out and kind is not None:
                out["x-amz-checksum-type"] = kind
            return out
        return checksums.response_headers(version.checksums)

    # -- deleting objects -----------------------------------------------------------------------------------

    def delete_object(self, caller: Optional[str], bucket: str, key: str, version_id: Optional[str] = None,
                      context: Mapping[str, Any] | None = None, bypass: bool = False) -> DeleteOutcome:
        """DeleteObject: removes the null version, adds a delete marker (versioning on), or removes one
        version. Deleting what does not exist succeeds, as in S3. A version under Object Lock stays
        (s3.object_lock; BYPASS: x-amz-bypass-governance-retention was sent)."""
        def remove(conn: Any) -> tuple[DeleteOutcome, list[str]]:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:DeleteObjectVersion" if version_id else "s3:DeleteObject", found, key,
                          context=context)
            if version_id is not None and found.object_lock is not None:
                target = self.meta.get_object(conn, found.id, key, version_id, lock=True)
                if target is not None:
                    object_lock.check_version_delete(target, lambda: bypass and self.decide(
                        caller, "s3:BypassGovernanceRetention", found, key, None, context), self.clock())
            version, is_marker, freed = self.meta.delete_object(conn, found, key, version_id, writer_id(caller),
                                                                self.clock())
            outcome = DeleteOutcome(key, version_id=version_id)
            if version is not None and (version_id is not None or found.versioning is not None):
                outcome.delete_marker = is_marker
                if is_marker:
                    outcome.delete_marker_version_id = version.version_id
                if version_id is None:
                    outcome.version_id = version.version_id
            return outcome, freed
        outcome, freed = self._txn(remove)
        self._free(freed)
        return outcome

    def delete_objects(self, caller: Optional[str], bucket: str, items: Sequence[tuple[str, Optional[str]]],
                       context: Mapping[str, Any] | None = None, bypass: bool = False) -> list[DeleteOutcome]:
        """DeleteObjects: each key on its own; failures are reported per key (outcome.error), as S3 does.
        Quiet mode is the XML layer's business (it drops the successes)."""
        if not items or len(items) > self.limits.max_delete_objects:
            raise S3Error("MalformedXML")
        self.head_bucket_exists(bucket)
        outcomes = []
        for key, version_id in items:
            try:
                validate_key(key, self.limits)
                outcomes.append(self.delete_object(caller, bucket, key, version_id, context, bypass))
            except S3Error as error:
                outcomes.append(DeleteOutcome(key, version_id=version_id, error=error))
        return outcomes

    # -- object ACLs ----------------------------------------------------------------------------------------

    def get_object_acl(self, caller: Optional[str], bucket: str, key: str, version_id: Optional[str] = None,
                       context: Mapping[str, Any] | None = None) -> dict:
        def read(conn: Any) -> dict:
            found = self._bucket(conn, bucket)
            version = self.meta.get_object(conn, found.id, key, version_id)
            if version is None or version.delete_marker:
                raise self._missing_key(caller, found, key, context, version_id)
            self._require(caller, "s3:GetObjectVersionAcl" if version_id else "s3:GetObjectAcl", found, key,
                          version, context)
            return public.shown_acl(found, version.acl or acls.canned_acl("private", version.owner))
        return self.store.run_sync(read)

    def put_object_acl(self, caller: Optional[str], bucket: str, key: str, acl: dict | None = None,
                       headers: Mapping[str, str] | None = None, version_id: Optional[str] = None,
                       context: Mapping[str, Any] | None = None) -> None:
        def write(conn: Any) -> None:
            found = self._bucket(conn, bucket)
            version = self.meta.get_object(conn, found.id, key, version_id, lock=True)
            if version is None or version.delete_marker:
                raise self._missing_key(caller, found, key, context, version_id)
            self._require(caller, "s3:PutObjectVersionAcl" if version_id else "s3:PutObjectAcl", found, key,
                          version, context)
            public.check_canned_acl(found, headers or {})  # ACLs disabled: bucket-owner-full-control alone
            new_acl = self._acl_for_put(public.effective_owner(found, version.owner), found.owner, acl, headers)
            public.check_acl_write(found, new_acl)  # BlockPublicAcls, ACLs disabled
            self.meta.set_object_acl(conn, version.id, new_acl)
        self._txn(write)


def _part(value: Optional[str]) -> Optional[int]:
    return int(value) if value is not None else None  # part_span has checked it
