"""The shared context of every S3 operation family: the stores, the limits and clock, one metadata
transaction (retried when it lost a race), the bucket lookup, freeing unreferenced blobs, and the access
decision (bucket policy, then ACLs). The families (s3.buckets, s3.configuration, s3.objects, s3.listing,
s3.multipart) are mixins over OpsContext; s3.operations.S3Operations combines them.

No Twisted, HTTP or XML here, and nothing from ec2soap.core. Every method blocks (SQL and file I/O).
"""
from __future__ import annotations

import logging
import random
import time
from typing import Any, Callable, Mapping, Optional, Sequence

from ec2soap.s3 import acl as acls
from ec2soap.s3 import policy as policies
from ec2soap.s3 import public
from ec2soap.s3 import tag_rules
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket, MetadataStore, ObjectVersion, is_retryable
from ec2soap.s3.object_store import ObjectStore
from ec2soap.s3.rules import Limits

__all__ = ["OpsContext", "owner_or_denied"]

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
    "s3:GetObjectAttributes": "READ", "s3:GetObjectVersionAttributes": "READ",
    "s3:PutObjectAcl": "WRITE_ACP", "s3:PutObjectVersionAcl": "WRITE_ACP",
}


def owner_or_denied(caller: Optional[str]) -> str:
    if caller is None:
        raise S3Error("AccessDenied")
    return str(caller)  # the canonical id alone (a Principal carries more)


class OpsContext:
    """What every family shares: OBJECTS (bytes), the store's metadata, LIMITS, CLOCK gives epoch seconds. A caller is a canonical id
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
        context = tag_rules.with_existing_tags(context, obj)  # s3:ExistingObjectTag/<key>
        verdict = policies.evaluate(_parsed_policy(bucket), caller, action, resource, context)
        if verdict == "Allow" and not public.policy_counts(bucket, _parsed_policy(bucket), caller):
            verdict = None  # RestrictPublicBuckets: a public policy grants the owner's account alone
        if verdict is not None:
            return verdict == "Allow"
        if action in tag_rules.OWNER_ACTIONS and caller is not None and (obj is None or caller == obj.owner):
            return True  # the object's owner (obj None: the writer of a new version, who will own it)
        if action in _OBJECT_PERMISSION:
            if obj is None:
                return False
            permission = _OBJECT_PERMISSION[action]
            # The object owner can always read and change its ACL (the bucket owner's, ACLs disabled).
            owner = public.effective_owner(bucket, obj.owner)
            if caller is not None and caller == owner and permission in ("READ_ACP", "WRITE_ACP"):
                return True
            acl = public.effective_acl(bucket, obj.acl or acls.canned_acl("private", obj.owner))
            return acls.permits(acl, caller, permission, self.email_of)
        if caller is not None and caller == bucket.owner:
            if action not in _BUCKET_PERMISSION or _BUCKET_PERMISSION[action] in ("READ_ACP", "WRITE_ACP"):
                return True
        if action in _BUCKET_PERMISSION:
            return acls.permits(public.effective_acl(bucket, bucket.acl), caller, _BUCKET_PERMISSION[action],
                                self.email_of)
        return False

    def denied(self, caller: Optional[str], action: str, bucket: Bucket, key: Optional[str] = None,
               context: Mapping[str, Any] | None = None) -> bool:
        """Whether the bucket policy explicitly denies CALLER ACTION (what no implicit right overrides)."""
        resource = f"arn:aws:s3:::{bucket.name}" + (f"/{key}" if key is not None else "")
        return policies.evaluate(_parsed_policy(bucket), caller, action, resource, context) == "Deny"

    def _require(self, caller: Optional[str], action: str, bucket: Bucket, key: Optional[str] = None,
                 obj: Optional[ObjectVersion] = None, context: Mapping[str, Any] | None = None) -> None:
        if not self.decide(caller, action, bucket, key, obj, context):
            raise S3Error("AccessDenied")

    def _read_bucket(self, caller: Optional[str], name: str, action: str,
                     context: Mapping[str, Any] | None) -> Bucket:
        """Bucket NAME, once CALLER may do ACTION on it (a bucket sub-resource's get)."""
        def read(conn: Any) -> Bucket:
            bucket = self._bucket(conn, name)
            self._require(caller, action, bucket, context=context)
            return bucket
        return self.store.run_sync(read)

    def _set_bucket(self, caller: Optional[str], name: str, action: str, context: Mapping[str, Any] | None,
                    check: Callable[[Bucket], None] | None = None, **values: Any) -> None:
        """Set VALUES (bucket columns) on bucket NAME in one transaction, after CALLER's permission for ACTION and
        CHECK(bucket) (under the row lock) if given: a bucket sub-resource's put or delete."""
        def write(conn: Any) -> None:
            bucket = self._bucket(conn, name, lock=True)
            self._require(caller, action, bucket, context=context)
            if check is not None:
                check(bucket)
            self.meta.update_bucket(conn, bucket.id, **values)
        self._txn(write)

    def allowed(self, caller: Optional[str], action: str, bucket: str, key: Optional[str] = None,
                version_id: Optional[str] = None, context: Mapping[str, Any] | None = None) -> bool:
        """decide() by name, loading the bucket (with its owner's account block, as every bucket load has it)
        and object; an unknown bucket is never allowed."""
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


    def head_bucket_exists(self, name: str) -> Bucket:
        bucket = self.store.run_sync(self.meta.get_bucket, name)
        if bucket is None:
            raise S3Error("NoSuchBucket", bucket_name=name)
        return bucket

    # -- housekeeping ---------------------------------------------------------------------------------------

    def cleanup(self, min_age: float = 3600.0) -> dict[str, int]:
        """At start-up: remove temp files and blobs no metadata references (older than MIN_AGE, so other
        gateway processes sharing the storage root can finish what they are writing)."""
        referenced = self.store.run_sync(self.meta.referenced_blobs)
        removed = self.objects.cleanup(referenced, min_age=min_age)
        if removed["tmp"] or removed["orphans"]:
            log.info("S3 storage cleanup removed %(tmp)d temp files and %(orphans)d orphan blobs", removed)
        return removed



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

