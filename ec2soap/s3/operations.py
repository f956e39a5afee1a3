"""S3 semantics over ObjectStore (bytes) and MetadataStore (SQL): buckets, objects, listings, multipart.

No Twisted resources, HTTP parsing or XML here, and nothing from ec2soap.core. Every S3Operations method
blocks (SQL and file I/O): the resource runs it on the store's pool with `store.defer(ops.method, ...)`, and
reads a GET body the same way, chunk by chunk (`store.defer(body.read)`).

Writes follow one order: bytes to a temp file, fsync, rename (ObjectStore), then one metadata transaction
that makes the new version current; files the transaction unreferenced are deleted after it commits. A crash
between the steps leaves a temp file or an unreferenced blob, which `cleanup()` removes at start-up.
"""
from __future__ import annotations

import base64
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

from ec2soap.s3 import acl as acls
from ec2soap.s3 import policy as policies
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import (Bucket, MetadataStore, NewVersion, ObjectVersion, Part, Upload,
                                 is_retryable)
from ec2soap.s3.object_store import SUPPORTED_CHECKSUMS, BlobReader, BlobWriter, CommittedBlob, ObjectStore
from ec2soap.s3.principal import writer_id
from ec2soap.s3.rules import (Limits, ObjectMeta, check_conditions, check_copy_conditions, check_part_number,
                              decode_content_md5, etag_header, http_date, key_successor, meta_from_headers,
                              multipart_etag, parse_copy_range, parse_max, parse_range, validate_bucket_name,
                              validate_key)

__all__ = ["S3Operations", "IncomingBody", "GetResult", "ListResult", "VersionsResult", "PartsResult",
           "UploadsResult", "DeleteOutcome", "Limits", "ObjectMeta"]

log = logging.getLogger(__name__)

# Which ACL permission an action needs, and on what (S3's "mapping of ACL permissions and access policy
# permissions"). Actions missing here are the bucket owner's alone (versioning, policy, CORS, delete, ...).
_BUCKET_PERMISSION = {
    "s3:ListBucket": "READ", "s3:ListBucketVersions": "READ", "s3:ListBucketMultipartUploads": "READ",
    "s3:PutObject": "WRITE", "s3:DeleteObject": "WRITE", "s3:DeleteObjectVersion": "WRITE",
    "s3:AbortMultipartUpload": "WRITE", "s3:ListMultipartUploadParts": "WRITE",
    "s3:GetBucketAcl": "READ_ACP", "s3:PutBucketAcl": "WRITE_ACP",
}
_OBJECT_PERMISSION = {
    "s3:GetObject": "READ", "s3:GetObjectVersion": "READ",
    "s3:GetObjectAcl": "READ_ACP", "s3:GetObjectVersionAcl": "READ_ACP",
    "s3:PutObjectAcl": "WRITE_ACP", "s3:PutObjectVersionAcl": "WRITE_ACP",
}
_CHECKSUM_HEADERS = {f"x-amz-checksum-{name}": name for name in ("crc32", "crc32c", "sha1", "sha256")}


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

    @property
    def status(self) -> int:
        return 206 if self.range is not None else 200

    @property
    def length(self) -> int:
        return self.range[1] - self.range[0] + 1 if self.range else self.version.size


@dataclass
class ListResult:
    """ListObjects v1/v2. Keys and prefixes are raw; the XML layer applies encoding_type."""
    bucket: str
    prefix: str
    delimiter: Optional[str]
    max_keys: int
    encoding_type: Optional[str]
    contents: list[ObjectVersion]
    common_prefixes: list[str]
    is_truncated: bool
    marker: Optional[str] = None             # v1
    next_marker: Optional[str] = None        # v1 (S3 sends it only with a delimiter; boto uses the last key)
    continuation_token: Optional[str] = None  # v2
    next_continuation_token: Optional[str] = None
    start_after: Optional[str] = None
    fetch_owner: bool = False

    @property
    def key_count(self) -> int:
        return len(self.contents) + len(self.common_prefixes)


@dataclass
class VersionsResult:
    bucket: str
    prefix: str
    delimiter: Optional[str]
    max_keys: int
    encoding_type: Optional[str]
    key_marker: str
    version_id_marker: str
    versions: list[ObjectVersion]  # in order; delete markers have .delete_marker set
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: Optional[str] = None
    next_version_id_marker: Optional[str] = None


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


@dataclass
class DeleteOutcome:
    key: str
    version_id: Optional[str] = None       # the version removed, or the delete marker's version
    delete_marker: bool = False
    delete_marker_version_id: Optional[str] = None
    error: Optional[S3Error] = None


def _owner_or_denied(caller: Optional[str]) -> str:
    if caller is None:
        raise S3Error("AccessDenied")
    return str(caller)  # the canonical id alone (a Principal carries more)


class S3Operations:
    """S3 over OBJECTS (bytes) and the store's metadata. CLOCK gives epoch seconds. A caller is a canonical id
    (an s3.principal.Principal carries its email too); EMAIL_OF(caller) → email for callers that carry none."""

    def __init__(self, store: Any, objects: ObjectStore, meta: MetadataStore | None = None,
                 limits: Limits = Limits(), clock: Callable[[], float] = time.time,
                 email_of: Callable[[str], Optional[str]] | None = None, retries: int = 12):
        self.store = store
        self.objects = objects
        self.meta = meta or MetadataStore()
        self.limits = limits
        self.clock = clock
        self.email_of = email_of
        self.retries = retries

    # -- plumbing -------------------------------------------------------------------------------------------

    def _txn(self, fn: Callable[..., Any], *args: Any) -> Any:
        """fn(conn, *args) in a transaction, run again when it lost a race (see metadata.is_retryable)."""
        for attempt in range(self.retries):
            try:
                return self.store.run_sync(fn, *args)
            except S3Error:
                raise
            except Exception as exc:
                if attempt + 1 == self.retries or not is_retryable(exc):
                    raise
                log.debug("S3 metadata transaction lost a race (%s); retrying", type(exc).__name__)
                time.sleep(random.uniform(0, 0.005 * 2 ** min(attempt, 6)))
        raise AssertionError("unreachable")

    def _bucket(self, conn: Any, name: str, lock: bool = False) -> Bucket:
        bucket = self.meta.get_bucket(conn, name, lock=lock)
        if bucket is None:
            raise S3Error("NoSuchBucket", bucket_name=name)
        return bucket

    def _free(self, blob_ids: Sequence[str]) -> None:
        """Delete blobs no committed row references any more; a failure here only leaves an orphan."""
        for blob_id in blob_ids:
            try:
                self.objects.delete(blob_id)
            except OSError:
                log.warning("could not delete blob %s; start-up cleanup will", blob_id, exc_info=True)

    # -- access control -------------------------------------------------------------------------------------

    def decide(self, caller: Optional[str], action: str, bucket: Bucket, key: Optional[str] = None,
               obj: Optional[ObjectVersion] = None, context: Mapping[str, Any] | None = None) -> bool:
        """Whether CALLER may do ACTION: an explicit Deny in the bucket policy wins, then an Allow, then
        the ACLs (the bucket's for bucket actions and writes, the object's for reads of it)."""
        resource = f"arn:aws:s3:::{bucket.name}" + (f"/{key}" if key is not None else "")
        verdict = policies.evaluate(_parsed_policy(bucket), caller, action, resource, context)
        if verdict is not None:
            return verdict == "Allow"
        if action in _OBJECT_PERMISSION:
            if obj is None:
                return False
            permission = _OBJECT_PERMISSION[action]
            # The object owner can always read and change its ACL.
            if caller is not None and caller == obj.owner and permission in ("READ_ACP", "WRITE_ACP"):
                return True
            return acls.permits(obj.acl or acls.canned_acl("private", obj.owner), caller, permission,
                                self.email_of)
        if caller is not None and caller == bucket.owner:
            if action not in _BUCKET_PERMISSION or _BUCKET_PERMISSION[action] in ("READ_ACP", "WRITE_ACP"):
                return True
        if action in _BUCKET_PERMISSION:
            return acls.permits(bucket.acl, caller, _BUCKET_PERMISSION[action], self.email_of)
        return False

    def _require(self, caller: Optional[str], action: str, bucket: Bucket, key: Optional[str] = None,
                 obj: Optional[ObjectVersion] = None, context: Mapping[str, Any] | None = None) -> None:
        if not self.decide(caller, action, bucket, key, obj, context):
            raise S3Error("AccessDenied")

    def allowed(self, caller: Optional[str], action: str, bucket: str, key: Optional[str] = None,
                version_id: Optional[str] = None, context: Mapping[str, Any] | None = None) -> bool:
        """decide() by name, loading the bucket and object; an unknown bucket is never allowed."""
        def check(conn: Any) -> bool:
            found = self.meta.get_bucket(conn, bucket)
            if found is None:
                return False
            obj = self.meta.get_object(conn, found.id, key, version_id) if key is not None else None
            return self.decide(caller, action, found, key, obj, context)
        return self.store.run_sync(check)

    def _missing_key(self, caller: Optional[str], bucket: Bucket, key: str, context: Any,
                     version_id: Optional[str] = None) -> S3Error:
        # S3 quirk: without s3:ListBucket a caller cannot learn that a key is absent: 403, not 404.
        if not self.decide(caller, "s3:ListBucket", bucket, None, None, context):
            return S3Error("AccessDenied")
        if version_id is not None:
            return S3Error("NoSuchVersion", key=key, version_id=version_id)
        return S3Error("NoSuchKey", key=key)

    # -- buckets --------------------------------------------------------------------------------------------

    def list_buckets(self, caller: Optional[str]) -> list[Bucket]:
        """ListAllMyBuckets: the caller's own buckets."""
        owner = _owner_or_denied(caller)
        return self.store.run_sync(self.meta.list_buckets, owner)

    def create_bucket(self, caller: Optional[str], name: str, location: Optional[str] = None,
                      headers: Mapping[str, str] | None = None) -> Bucket:
        """CreateBucket with an optional LocationConstraint and canned/grant ACL headers."""
        owner = _owner_or_denied(caller)
        validate_bucket_name(name)
        if location in ("", "us-east-1"):
            location = None  # S3 quirk: us-east-1 is the empty location
        if location is not None and (len(location) > 64 or not all(c.isalnum() or c == "-" for c in location)):
            raise S3Error("InvalidLocationConstraint", location_constraint=location)
        acl = acls.acl_from_headers(headers or {}, owner)

        def create(conn: Any) -> Bucket:
            existing = self.meta.get_bucket(conn, name)
            if existing is not None:
                raise S3Error("BucketAlreadyOwnedByYou" if existing.owner == owner else "BucketAlreadyExists",
                              bucket_name=name)
            return self.meta.insert_bucket(conn, name, owner, self.clock(), location, acl)  # type: ignore[arg-type]
        return self._txn(create)

    def head_bucket(self, caller: Optional[str], name: str, context: Mapping[str, Any] | None = None) -> Bucket:
        def head(conn: Any) -> Bucket:
            bucket = self._bucket(conn, name)
            self._require(caller, "s3:ListBucket", bucket, context=context)
            return bucket
        return self.store.run_sync(head)

    def delete_bucket(self, caller: Optional[str], name: str, context: Mapping[str, Any] | None = None) -> None:
        """DeleteBucket: refused with BucketNotEmpty while any version or delete marker remains (the original
        deleted non-empty buckets recursively). Unfinished multipart uploads go with the bucket."""
        def drop(conn: Any) -> list[str]:
            bucket = self._bucket(conn, name, lock=True)
            self._require(caller, "s3:DeleteBucket", bucket, context=context)
            if self.meta.bucket_has_objects(conn, bucket.id):
                raise S3Error("BucketNotEmpty", bucket_name=name)
            return self.meta.delete_bucket(conn, bucket.id)
        self._free(self._txn(drop))

    def _bucket_config(self, caller: Optional[str], name: str, action: str,
                       context: Mapping[str, Any] | None) -> Bucket:
        def read(conn: Any) -> Bucket:
            bucket = self._bucket(conn, name)
            self._require(caller, action, bucket, context=context)
            return bucket
        return self.store.run_sync(read)

    def _update_bucket(self, caller: Optional[str], name: str, action: str, context: Mapping[str, Any] | None,
                       **values: Any) -> None:
        def write(conn: Any) -> None:
            bucket = self._bucket(conn, name, lock=True)
            self._require(caller, action, bucket, context=context)
            self.meta.update_bucket(conn, bucket.id, **values)
        self._txn(write)

    def get_bucket_location(self, caller: Optional[str], name: str,
                            context: Mapping[str, Any] | None = None) -> Optional[str]:
        """GetBucketLocation: the constraint given at creation (None = us-east-1, an empty element)."""
        return self._bucket_config(caller, name, "s3:GetBucketLocation", context).location

    def get_bucket_acl(self, caller: Optional[str], name: str, context: Mapping[str, Any] | None = None) -> dict:
        return self._bucket_config(caller, name, "s3:GetBucketAcl", context).acl

    def put_bucket_acl(self, caller: Optional[str], name: str, acl: dict | None = None,
                       headers: Mapping[str, str] | None = None, context: Mapping[str, Any] | None = None) -> None:
        """PutBucketAcl from an AccessControlPolicy body (ACL) or x-amz-acl / x-amz-grant-* headers."""
        bucket = self._bucket_config(caller, name, "s3:PutBucketAcl", context)
        new = self._acl_for_put(bucket.owner, None, acl, headers)
        self._update_bucket(caller, name, "s3:PutBucketAcl", context, acl=new)

    def _acl_for_put(self, owner: str, bucket_owner: Optional[str], acl: dict | None,
                     headers: Mapping[str, str] | None) -> dict:
        from_headers = acls.acl_from_headers(headers or {}, owner, bucket_owner, default=None)
        if acl is not None and from_headers is not None:
            raise S3Error("UnexpectedContent", "This request does not support content")
        if acl is not None:
            return acls.validate_acl(acl, owner)
        if from_headers is None:
            raise S3Error("MissingSecurityHeader", "Your request was missing a required header",
                          missing_header_name="x-amz-acl")
        return from_headers

    def get_bucket_versioning(self, caller: Optional[str], name: str,
                              context: Mapping[str, Any] | None = None) -> Optional[str]:
        """GetBucketVersioning: "Enabled", "Suspended", or None (never enabled: an empty configuration)."""
        return self._bucket_config(caller, name, "s3:GetBucketVersioning", context).versioning

    def put_bucket_versioning(self, caller: Optional[str], name: str, status: str,
                              context: Mapping[str, Any] | None = None) -> None:
        if status not in ("Enabled", "Suspended"):
            raise S3Error("MalformedXML")
        self._update_bucket(caller, name, "s3:PutBucketVersioning", context, versioning=status)

    def get_bucket_policy(self, caller: Optional[str], name: str, context: Mapping[str, Any] | None = None) -> str:
        bucket = self._bucket_config(caller, name, "s3:GetBucketPolicy", context)
        if bucket.policy is None:
            raise S3Error("NoSuchBucketPolicy", bucket_name=name)
        return bucket.policy

    def put_bucket_policy(self, caller: Optional[str], name: str, text: str | bytes,
                          context: Mapping[str, Any] | None = None) -> None:
        policies.parse_policy(text, name)
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        self._update_bucket(caller, name, "s3:PutBucketPolicy", context, policy=text)

    def delete_bucket_policy(self, caller: Optional[str], name: str,
                             context: Mapping[str, Any] | None = None) -> None:
        self._update_bucket(caller, name, "s3:DeleteBucketPolicy", context, policy=None)

    def get_bucket_cors(self, caller: Optional[str], name: str, context: Mapping[str, Any] | None = None) -> list:
        bucket = self._bucket_config(caller, name, "s3:GetBucketCORS", context)
        if not bucket.cors:
            raise S3Error("NoSuchCORSConfiguration", bucket_name=name)
        return bucket.cors

    def put_bucket_cors(self, caller: Optional[str], name: str, rules: list[dict],
                        context: Mapping[str, Any] | None = None) -> None:
        """PutBucketCORS with rules as xml.parse_cors returns them."""
        if not rules or len(rules) > self.limits.max_cors_rules:
            raise S3Error("MalformedXML")
        for rule in rules:
            if not rule.get("allowed_origins") or not rule.get("allowed_methods"):
                raise S3Error("MalformedXML")
            for method in rule["allowed_methods"]:
                if method not in ("GET", "PUT", "POST", "DELETE", "HEAD"):
                    raise S3Error("InvalidRequest", "Found unsupported HTTP method in CORS config. "
                                  "Unsupported method is %s" % method)
            for origin in rule["allowed_origins"]:
                if origin.count("*") > 1:
                    raise S3Error("InvalidRequest", 'AllowedOrigin "%s" can not have more than one wildcard.'
                                  % origin)
        self._update_bucket(caller, name, "s3:PutBucketCORS", context, cors=rules)

    def delete_bucket_cors(self, caller: Optional[str], name: str,
                           context: Mapping[str, Any] | None = None) -> None:
        self._update_bucket(caller, name, "s3:PutBucketCORS", context, cors=None)

    def cors_rule(self, name: str, origin: str, method: str, request_headers: Sequence[str] = ()) -> dict | None:
        """The first CORS rule of bucket NAME matching ORIGIN, METHOD and the requested headers (preflight
        and actual requests alike; no caller: browsers send preflights without credentials)."""
        bucket = self.store.run_sync(self.meta.get_bucket, name)
        if bucket is None:
            raise S3Error("NoSuchBucket", bucket_name=name)
        for rule in bucket.cors or ():
            if method not in rule["allowed_methods"]:
                continue
            if not any(policies._wildcard(pattern, True).fullmatch(origin) for pattern in rule["allowed_origins"]):
                continue
            allowed = rule.get("allowed_headers") or []
            if all(any(policies._wildcard(p, True).fullmatch(h) for p in allowed) for h in request_headers):
                return rule
        return None

    # -- writing objects ------------------------------------------------------------------------------------

    def receive(self, headers: Mapping[str, str], part: bool = False) -> IncomingBody:
        """A sink for a PUT (or UploadPart) body, computing what HEADERS will be checked against."""
        limit = self.limits.max_part_size if part else self.limits.max_object_size
        length = headers.get("x-amz-decoded-content-length") or headers.get("content-length")
        if length is not None and length.isascii() and length.isdigit() and int(length) > limit:
            raise S3Error("EntityTooLarge", proposed_size=length, max_size_allowed=limit)
        client_sums = {name: headers[h] for h, name in _CHECKSUM_HEADERS.items() if h in headers}
        algorithm = (headers.get("x-amz-checksum-algorithm") or headers.get("x-amz-sdk-checksum-algorithm") or "")
        stored = set(client_sums)
        if algorithm:
            stored.add(algorithm.lower())
        for name in stored:
            if name not in SUPPORTED_CHECKSUMS:
                raise S3Error("InvalidRequest", "Checksum algorithm %s is not supported" % name.upper())
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
        if "content-length" not in headers and "x-amz-decoded-content-length" not in headers \
                and "chunked" not in headers.get("transfer-encoding", "").lower():
            raise S3Error("MissingContentLength")

        def check(conn: Any) -> None:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:PutObject", found, key, context=context)
        self.store.run_sync(check)

    def put_object(self, caller: Optional[str], bucket: str, key: str, body: IncomingBody,
                   headers: Mapping[str, str], context: Mapping[str, Any] | None = None) -> ObjectVersion:
        """PutObject: verify, commit the blob, then make it the key's current version in one transaction."""
        try:
            validate_key(key, self.limits)
            meta = meta_from_headers(headers, self.limits)
            owner = writer_id(caller)
        except BaseException:
            body.abort()
            raise
        blob = self._finish_body(body, headers)
        new = NewVersion(owner=owner, size=blob.size, etag=blob.md5, last_modified=self.clock(),
                         content_type=meta.content_type, headers=meta.headers, user_meta=meta.user_meta,
                         checksums=blob.checksums, blob_id=blob.blob_id)
        return self._record(caller, bucket, key, new, headers, context, [blob.blob_id])

    def _record(self, caller: Optional[str], bucket: str, key: str, new: NewVersion, headers: Mapping[str, str],
                context: Mapping[str, Any] | None, new_blobs: list[str]) -> ObjectVersion:
        """The metadata half of every write. If it fails, the new blobs are deleted: no orphan."""
        def write(conn: Any) -> tuple[ObjectVersion, list[str]]:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:PutObject", found, key, context=context)
            new.acl = acls.acl_from_headers(headers, new.owner, found.owner) if new.acl is None else new.acl
            return self.meta.put_version(conn, found, key, new)
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

        def prepare(conn: Any) -> ObjectVersion:
            dest = self._bucket(conn, bucket)
            self._require(caller, "s3:PutObject", dest, key, context=context)
            return self._readable_source(conn, caller, source_bucket, source_key, source_version_id, headers,
                                         context)
        source, reader = self._open_source(prepare, None)
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
        blob = self._copy_bytes(reader, tuple(source.checksums))
        if replaced is None:
            replaced = ObjectMeta(source.content_type, dict(source.headers), dict(source.user_meta))
            if "x-amz-storage-class" in headers:
                replaced.headers["x-amz-storage-class"] = headers["x-amz-storage-class"]
        new = NewVersion(owner=writer_id(caller), size=blob.size, etag=blob.md5, last_modified=self.clock(),
                         content_type=replaced.content_type, headers=replaced.headers,
                         user_meta=replaced.user_meta, checksums=blob.checksums, blob_id=blob.blob_id)
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
                     byte_range: Callable[[ObjectVersion], Optional[tuple[int, int]]] | None
                     ) -> tuple[ObjectVersion, BlobReader]:
        """Look a version up and open its blobs. Another node may replace the object and delete its blobs
        between the two steps; then the lookup is simply done again."""
        for attempt in range(5):
            source = self.store.run_sync(prepare)
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
                   head: bool = False) -> GetResult:
        """GetObject/HeadObject: conditions, then Range; the body is opened (close it) unless HEAD."""
        headers = headers or {}
        found: dict = {}

        def lookup(conn: Any) -> ObjectVersion:
            the_bucket = self._bucket(conn, bucket)
            found["bucket"] = the_bucket
            version = self.meta.get_object(conn, the_bucket.id, key, version_id)
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
            return version

        if head:
            version = self.store.run_sync(lookup)
            span = parse_range(headers.get("range"), version.size)
            return GetResult(version, None, span, self.object_headers(version, found["bucket"].versioning
                                                                      is not None))
        spans: dict = {}

        def span_of(version: ObjectVersion) -> Optional[tuple[int, int]]:
            spans["range"] = parse_range(headers.get("range"), version.size)  # type: ignore[union-attr]
            return spans["range"]
        version, reader = self._open_source(lookup, span_of)
        return GetResult(version, reader, spans["range"],
                         self.object_headers(version, found["bucket"].versioning is not None))

    def object_headers(self, version: ObjectVersion, versioned: bool, basic: bool = False) -> dict:
        """The headers S3 answers GET/HEAD with (Content-Length and Content-Range are the resource's)."""
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
        return out

    def checksum_headers(self, version: ObjectVersion) -> dict:
        """x-amz-checksum-* for a GET/HEAD with x-amz-checksum-mode: ENABLED."""
        return {f"x-amz-checksum-{name}": value for name, value in version.checksums.items()}

    # -- deleting objects -----------------------------------------------------------------------------------

    def delete_object(self, caller: Optional[str], bucket: str, key: str, version_id: Optional[str] = None,
                      context: Mapping[str, Any] | None = None) -> DeleteOutcome:
        """DeleteObject: removes the null version, adds a delete marker (versioning on), or removes one
        version. Deleting what does not exist succeeds, as in S3."""
        def remove(conn: Any) -> tuple[DeleteOutcome, list[str]]:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:DeleteObjectVersion" if version_id else "s3:DeleteObject", found, key,
                          context=context)
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
                       context: Mapping[str, Any] | None = None) -> list[DeleteOutcome]:
        """DeleteObjects: each key on its own; failures are reported per key (outcome.error), as S3 does.
        Quiet mode is the XML layer's business (it drops the successes)."""
        if not items or len(items) > self.limits.max_delete_objects:
            raise S3Error("MalformedXML")
        self.head_bucket_exists(bucket)
        outcomes = []
        for key, version_id in items:
            try:
                validate_key(key, self.limits)
                outcomes.append(self.delete_object(caller, bucket, key, version_id, context))
            except S3Error as error:
                outcomes.append(DeleteOutcome(key, version_id=version_id, error=error))
        return outcomes

    def head_bucket_exists(self, name: str) -> Bucket:
        bucket = self.store.run_sync(self.meta.get_bucket, name)
        if bucket is None:
            raise S3Error("NoSuchBucket", bucket_name=name)
        return bucket

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
            return version.acl or acls.canned_acl("private", version.owner)
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
            self.meta.set_object_acl(conn, version.id, self._acl_for_put(version.owner, found.owner, acl, headers))
        self._txn(write)

    # -- listing --------------------------------------------------------------------------------------------

    def list_objects(self, caller: Optional[str], bucket: str, prefix: str = "", delimiter: Optional[str] = None,
                     marker: Optional[str] = None, max_keys: Optional[str] = None,
                     encoding_type: Optional[str] = None, context: Mapping[str, Any] | None = None) -> ListResult:
        """ListObjects (v1)."""
        limit = parse_max(max_keys, "max-keys", self.limits)
        _check_encoding(encoding_type)
        context = _listing_context(context, prefix, delimiter, limit)
        found, items, prefixes, truncated = self._list(caller, bucket, prefix or "", delimiter or None,
                                                       marker or None, limit, context)
        result = ListResult(bucket, prefix or "", delimiter or None, limit, encoding_type, items, prefixes,
                            truncated, marker=marker or "")
        if truncated:
            result.next_marker = _last_name(items, prefixes)
        return result

    def list_objects_v2(self, caller: Optional[str], bucket: str, prefix: str = "",
                        delimiter: Optional[str] = None, continuation_token: Optional[str] = None,
                        start_after: Optional[str] = None, max_keys: Optional[str] = None,
                        encoding_type: Optional[str] = None, fetch_owner: bool = False,
                        context: Mapping[str, Any] | None = None) -> ListResult:
        """ListObjectsV2. The continuation token is opaque to clients: base64url of the last name returned."""
        limit = parse_max(max_keys, "max-keys", self.limits)
        _check_encoding(encoding_type)
        start = start_after or None
        if continuation_token is not None:
            try:
                start = base64.b64decode(continuation_token.encode("ascii"), altchars=b"-_",
                                         validate=True).decode("utf-8")
                if not start:
                    raise ValueError("empty token")
            except (ValueError, UnicodeError):
                raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                              argument_name="continuation-token", argument_value=continuation_token) from None
        context = _listing_context(context, prefix, delimiter, limit)
        found, items, prefixes, truncated = self._list(caller, bucket, prefix or "", delimiter or None, start,
                                                       limit, context)
        result = ListResult(bucket, prefix or "", delimiter or None, limit, encoding_type, items, prefixes,
                            truncated, continuation_token=continuation_token, start_after=start_after,
                            fetch_owner=fetch_owner)
        if truncated:
            last = _last_name(items, prefixes)
            result.next_continuation_token = base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii")
        return result

    def _list(self, caller: Optional[str], bucket: str, prefix: str, delimiter: Optional[str],
              start: Optional[str], limit: int, context: Mapping[str, Any]
              ) -> tuple[Bucket, list[ObjectVersion], list[str], bool]:
        def run(conn: Any) -> tuple[Bucket, list[ObjectVersion], list[str], bool]:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:ListBucket", found, context=context)
            items, prefixes, truncated = _walk(
                lambda after, inclusive, n: self.meta.list_latest(conn, found.id, after, _upper(prefix), n,
                                                                  inclusive),
                lambda v: (v.key.encode(), None), prefix, delimiter, start, None, limit)
            return found, items, prefixes, truncated
        return self.store.run_sync(run)

    def list_object_versions(self, caller: Optional[str], bucket: str, prefix: str = "",
                             delimiter: Optional[str] = None, key_marker: Optional[str] = None,
                             version_id_marker: Optional[str] = None, max_keys: Optional[str] = None,
                             encoding_type: Optional[str] = None,
                             context: Mapping[str, Any] | None = None) -> VersionsResult:
        """ListObjectVersions: versions and delete markers, by key then newest first."""
        limit = parse_max(max_keys, "max-keys", self.limits)
        _check_encoding(encoding_type)
        if version_id_marker and not key_marker:
            raise S3Error("InvalidArgument", "A version-id marker cannot be specified without a key marker.",
                          argument_name="version-id-marker", argument_value=version_id_marker)
        context = _listing_context(context, prefix, delimiter, limit)
        prefix = prefix or ""

        def run(conn: Any) -> VersionsResult:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:ListBucketVersions", found, context=context)
            after_id = None
            if version_id_marker:
                marked = self.meta.get_object(conn, found.id, key_marker, version_id_marker)  # type: ignore[arg-type]
                if marked is None:
                    raise S3Error("InvalidArgument", "Invalid version id specified",
                                  argument_name="version-id-marker", argument_value=version_id_marker)
                after_id = marked.id
            items, prefixes, truncated = _walk(
                lambda after, inclusive, n, after_id=None: self.meta.list_versions(
                    conn, found.id, after, after_id, _upper(prefix), n, inclusive),
                lambda v: (v.key.encode(), v.id), prefix, delimiter or None, key_marker or None, after_id, limit)
            result = VersionsResult(bucket, prefix, delimiter or None, limit, encoding_type, key_marker or "",
                                    version_id_marker or "", items, prefixes, truncated)
            if truncated:
                last = _last_entry(items, prefixes)
                if isinstance(last, str):
                    result.next_key_marker = last
                else:
                    result.next_key_marker, result.next_version_id_marker = last.key, last.version_id
            return result
        return self.store.run_sync(run)

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
        _check_encoding(encoding_type)
        prefix = prefix or ""

        def run(conn: Any) -> UploadsResult:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:ListBucketMultipartUploads", found, context=context)
            after_id = None
            if key_marker and upload_id_marker:
                marked = self.meta.get_upload(conn, upload_id_marker)
                after_id = marked.id if marked is not None else None
            items, prefixes, truncated = _walk(
                lambda after, inclusive, n, after_id=None: self.meta.list_uploads(
                    conn, found.id, after, after_id, _upper(prefix), n, inclusive),
                lambda u: (u.key.encode(), u.id), prefix, delimiter or None, key_marker or None, after_id, limit)
            result = UploadsResult(bucket, prefix, delimiter or None, limit, encoding_type, key_marker or "",
                                   upload_id_marker or "", items, prefixes, truncated)
            if truncated:
                last = _last_entry(items, prefixes)
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

    # -- housekeeping ---------------------------------------------------------------------------------------

    def cleanup(self, min_age: float = 3600.0) -> dict[str, int]:
        """At start-up: remove temp files and blobs no metadata references (older than MIN_AGE, so other
        gateway processes sharing the storage root can finish what they are writing)."""
        referenced = self.store.run_sync(self.meta.referenced_blobs)
        removed = self.objects.cleanup(referenced, min_age=min_age)
        if removed["tmp"] or removed["orphans"]:
            log.info("S3 storage cleanup removed %(tmp)d temp files and %(orphans)d orphan blobs", removed)
        return removed


# -- helpers ------------------------------------------------------------------------------------------------

def _parsed_policy(bucket: Bucket) -> dict | None:
    if not bucket.policy:
        return None
    return _policy_cache(bucket.policy, bucket.name)


_POLICIES: dict[tuple[str, str], dict] = {}


def _policy_cache(text: str, bucket: str) -> dict:
    # Policies were validated when stored; parsing is cached because every request of a bucket needs it.
    key = (text, bucket)
    parsed = _POLICIES.get(key)
    if parsed is None:
        if len(_POLICIES) > 256:
            _POLICIES.clear()
        parsed = _POLICIES[key] = policies.parse_policy(text, bucket)
    return parsed


def _composite(algorithm: str, parts: Sequence[Part]) -> str:
    from ec2soap.s3.object_store import _new_checksum

    combined = _new_checksum(algorithm)
    for part in parts:
        if algorithm not in part.checksums:
            raise S3Error("InvalidRequest", "The upload was created using a %s checksum. The complete request "
                          "referenced an uploaded part which did not include a checksum." % algorithm.upper())
        combined.update(base64.b64decode(part.checksums[algorithm]))  # type: ignore[attr-defined]
    return "%s-%d" % (base64.b64encode(combined.digest()).decode(), len(parts))  # type: ignore[attr-defined]


def _check_encoding(encoding_type: Optional[str]) -> None:
    if encoding_type not in (None, "", "url"):
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      argument_name="encoding-type", argument_value=encoding_type)


def _listing_context(context: Mapping[str, Any] | None, prefix: Optional[str], delimiter: Optional[str],
                     max_keys: int) -> dict:
    merged = dict(context or {})
    merged.setdefault("s3:prefix", prefix or "")
    if delimiter:
        merged.setdefault("s3:delimiter", delimiter)
    merged.setdefault("s3:max-keys", str(max_keys))
    return merged


def _upper(prefix: str) -> Optional[bytes]:
    return key_successor(prefix.encode()) if prefix else None


def _last_name(items: Sequence[Any], prefixes: Sequence[str]) -> str:
    last = _last_entry(items, prefixes)
    return last if isinstance(last, str) else last.key


def _last_entry(items: Sequence[Any], prefixes: Sequence[str]) -> Any:
    # Results are in key order with common prefixes merged in; the last one is the larger.
    candidates: list[tuple[bytes, int, Any]] = []
    if items:
        candidates.append((items[-1].key.encode(), 0, items[-1]))
    if prefixes:
        candidates.append((prefixes[-1].encode(), 1, prefixes[-1]))
    return max(candidates, key=lambda c: (c[0], c[1]))[2]


def _walk(fetch: Callable[..., list], position: Callable[[Any], tuple[bytes, Optional[int]]], prefix: str,
          delimiter: Optional[str], start: Optional[str], start_id: Optional[int],
          limit: int) -> tuple[list, list[str], bool]:
    """One page of a key-ordered listing with S3's prefix/delimiter rules, in as few queries as possible:
    each common prefix found makes the next query jump past every key under it.

    FETCH(after: bytes, inclusive: bool, n[, after_id]) returns the next N rows; START is the exclusive
    marker (START_ID a row id within START's key, for version/upload markers). → (rows, prefixes,
    truncated)."""
    if limit == 0:
        return [], [], False
    pfx = prefix.encode()
    after: Optional[bytes] = start.encode() if start is not None else None
    after_id = start_id
    inclusive = False
    if pfx and (after is None or after < pfx):
        after, after_id, inclusive = pfx, None, True
    elif delimiter and start is not None and start_id is None and start.startswith(prefix):
        # A marker that is itself a common prefix (our NextMarker after a page ending in one) skips it whole.
        cut = start.find(delimiter, len(prefix))
        if cut >= 0 and start == start[:cut + len(delimiter)]:
            nxt = key_successor(start.encode())
            if nxt is None:
                return [], [], False
            after, inclusive = nxt, True
    rows: list = []
    prefixes: list[str] = []
    count = 0
    while True:
        want = limit - count + 1
        batch = fetch(after, inclusive, want, after_id) if after_id is not None else fetch(after, inclusive, want)
        jumped = False
        for row in batch:
            if count == limit:
                return rows, prefixes, True
            key = row.key
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    common = key[:cut + len(delimiter)]
                    prefixes.append(common)
                    count += 1
                    nxt = key_successor(common.encode())
                    if nxt is None:
                        return rows, prefixes, False
                    after, after_id, inclusive, jumped = nxt, None, True, True
                    break
            rows.append(row)
            count += 1
        if not jumped:
            if len(batch) < want:
                return rows, prefixes, False
            last_key, last_id = position(batch[-1])
            after, after_id, inclusive = last_key, last_id, False
