"""S3 buckets: list, create, head, delete. One family of S3Operations over the shared OpsContext."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from ec2soap.s3 import acl as acls
from ec2soap.s3 import public
from ec2soap.s3.access import with_ownership
from ec2soap.s3 import object_lock
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket
from ec2soap.s3.rules import validate_bucket_name
from ec2soap.s3.context import OpsContext, owner_or_denied

__all__ = ["Buckets"]


class Buckets(OpsContext):
    """ListAllMyBuckets, CreateBucket, HeadBucket, DeleteBucket."""

    def list_buckets(self, caller: Optional[str]) -> list[Bucket]:
        """ListAllMyBuckets: the caller's own buckets."""
        owner = owner_or_denied(caller)
        return self.store.run_sync(self.meta.list_buckets, owner)

    def create_bucket(self, caller: Optional[str], name: str, location: Optional[str] = None,
                      headers: Mapping[str, str] | None = None) -> Bucket:
        """CreateBucket with an optional LocationConstraint and canned/grant ACL headers."""
        owner = owner_or_denied(caller)
        validate_bucket_name(name)
        if location in ("", "us-east-1"):
            location = None  # S3 quirk: us-east-1 is the empty location
        if location is not None and (len(location) > 64 or not all(c.isalnum() or c == "-" for c in location)):
            raise S3Error("InvalidLocationConstraint", location_constraint=location)
        acl = acls.acl_from_headers(headers or {}, owner)
        ownership = public.requested_ownership(headers or {}, acl)  # x-amz-object-ownership
        lock = object_lock.enabled_at_creation(headers or {})

        def create(conn: Any) -> Bucket:
            existing = self.meta.get_bucket(conn, name)
            if existing is not None:
                raise S3Error("BucketAlreadyOwnedByYou" if existing.owner == owner else "BucketAlreadyExists",
                              bucket_name=name)
            made = self.meta.insert_bucket(conn, name, owner, self.clock(), location, acl)  # type: ignore[arg-type]
            if lock is not None:  # Object Lock needs versioning, which then stays Enabled for good
                self.meta.update_bucket(conn, made.id, versioning="Enabled", object_lock=lock)
                made.versioning, made.object_lock = "Enabled", lock
            return made
        return self._txn(with_ownership(create, self.meta, ownership))

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
