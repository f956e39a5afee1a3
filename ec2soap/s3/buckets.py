"""S3 buckets: list, create, head, delete. One family of S3Operations over the shared OpsContext."""
from __future__ import annotations

import base64
import binascii
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

    def list_bucket_page(self, caller: Optional[str], max_buckets: Optional[str] = None,
                         continuation_token: Optional[str] = None, prefix: Optional[str] = None,
                         bucket_region: Optional[str] = None) -> tuple[list[Bucket], Optional[str]]:
        """ListBuckets with the current API's max-buckets, continuation-token, prefix and bucket-region:
        → (one page of the caller's buckets by name, the token of the next page or None). The token is
        opaque to clients: base64url of the last name returned. S3 pages by 10,000 when max-buckets is not
        sent; an account here holds far fewer, so the filter runs over its one list."""
        limit = _max_buckets(max_buckets)
        after = _bucket_token(continuation_token)
        page = [b for b in self.list_buckets(caller)
                if (after is None or b.name > after) and (not prefix or b.name.startswith(prefix))
                and (not bucket_region or (b.location or "us-east-1") == bucket_region)]
        if len(page) <= limit:
            return page, None
        page = page[:limit]
        return page, base64.urlsafe_b64encode(page[-1].name.encode("utf-8")).decode("ascii")

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
            if existing is not None and existing.owner == owner and existing.location is None \
                    and location is None and ownership is None and lock is None:
                # S3 in us-east-1 (where a bucket with no LocationConstraint is, as HeadBucket reports):
                # re-creating your own bucket is 200 and resets its ACL, for legacy compatibility.
                public.check_acl_write(existing, acl)  # BlockPublicAcls (the account's too), ACLs disabled
                self.meta.update_bucket(conn, existing.id, acl=acl)
                existing.acl = acl
                return existing
            if existing is not None:
                raise S3Error("BucketAlreadyOwnedByYou" if existing.owner == owner else "BucketAlreadyExists",
                              bucket_name=name)
            made = self.meta.insert_bucket(conn, name, owner, self.clock(), location, acl)  # type: ignore[arg-type]
            # The new bucket carries its owner's account block: a public ACL under BlockPublicAcls is refused
            # (AccessDenied, as S3's "PUT Bucket calls fail if the request includes a public ACL"), and raising
            # here rolls the insert back.
            public.check_acl_write(made, acl)
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


def _max_buckets(value: Optional[str]) -> int:
    """max-buckets: S3's valid range is 1..10000 (its default page when the parameter is absent)."""
    if value is None:
        return 10000
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= 10000:
        raise S3Error("InvalidArgument", "Argument max-buckets must be an integer between 1 and 10000.",
                      argument_name="max-buckets", argument_value=value)
    return number


def _bucket_token(token: Optional[str]) -> Optional[str]:
    # S3 allows an empty token (length 0..1024): the listing starts from the first bucket.
    if not token:
        return None
    try:
        name = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True).decode("utf-8")
    except (ValueError, UnicodeError, binascii.Error):
        name = ""
    if not name:
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      argument_name="continuation-token", argument_value=token)
    return name
