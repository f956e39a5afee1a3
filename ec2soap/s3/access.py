"""S3 access controls: Put/Get/DeletePublicAccessBlock of a bucket and of an account (S3 Control),
GetBucketPolicyStatus and Put/Get/DeleteBucketOwnershipControls. One family of S3Operations over the shared
OpsContext; the bucket's settings are columns of its row (public_access_block, ownership), the account's block
a row of s3_account (s3.account_store), and s3.public says what they change.

The account's block applies to every bucket the account owns, with the bucket's own (each flag the OR of
both, as S3 has it): s3.metadata loads it with every bucket (`Bucket.account_public_access_block`), whoever
asks for the bucket, and s3.public reads it beside the bucket's.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from ec2soap.s3 import acl as acls
from ec2soap.s3 import account_store
from ec2soap.s3 import public
from ec2soap.s3.context import OpsContext, _parsed_policy
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket

__all__ = ["AccessControls", "with_ownership", "own_account"]


class AccessControls(OpsContext):
    """The public access block and ownership controls of a bucket (the bucket owner's alone, as S3 has it)."""

    # -- public access block ----------------------------------------------------------------------------------

    def get_public_access_block(self, caller: Optional[str], name: str,
                                context: Mapping[str, Any] | None = None) -> dict:
        bucket = self._read_bucket(caller, name, "s3:GetBucketPublicAccessBlock", context)
        if bucket.public_access_block is None:
            raise S3Error("NoSuchPublicAccessBlockConfiguration", bucket_name=name)
        return bucket.public_access_block

    def put_public_access_block(self, caller: Optional[str], name: str, flags: dict,
                                context: Mapping[str, Any] | None = None) -> None:
        self._set_bucket(caller, name, "s3:PutBucketPublicAccessBlock", context, public_access_block=dict(flags))

    def delete_public_access_block(self, caller: Optional[str], name: str,
                                   context: Mapping[str, Any] | None = None) -> None:
        self._set_bucket(caller, name, "s3:PutBucketPublicAccessBlock", context, public_access_block=None)

    def get_bucket_policy_status(self, caller: Optional[str], name: str,
                                 context: Mapping[str, Any] | None = None) -> bool:
        """GetBucketPolicyStatus: whether the bucket's policy is public (S3 judges the policy alone)."""
        bucket = self._read_bucket(caller, name, "s3:GetBucketPolicyStatus", context)
        if bucket.policy is None:
            raise S3Error("NoSuchBucketPolicy", bucket_name=name)
        return public.is_public_policy(_parsed_policy(bucket))

    # -- the account's public access block (S3 Control) -------------------------------------------------------

    def get_account_public_access_block(self, caller: Optional[str], account_id: str) -> dict:
        owner = own_account(caller, account_id)
        flags = self.store.run_sync(account_store.get_block, owner)
        if flags is None:
            raise S3Error("NoSuchPublicAccessBlockConfiguration", account_id=account_id)
        return flags

    def put_account_public_access_block(self, caller: Optional[str], account_id: str, flags: dict) -> None:
        owner = own_account(caller, account_id)
        self._txn(account_store.set_block, owner, dict(flags))

    def delete_account_public_access_block(self, caller: Optional[str], account_id: str) -> None:
        self._txn(account_store.delete_block, own_account(caller, account_id))

    # -- ownership controls -----------------------------------------------------------------------------------

    def get_bucket_ownership_controls(self, caller: Optional[str], name: str,
                                      context: Mapping[str, Any] | None = None) -> str:
        bucket = self._read_bucket(caller, name, "s3:GetBucketOwnershipControls", context)
        if bucket.ownership is None:
            raise S3Error("OwnershipControlsNotFoundError", bucket_name=name)
        return bucket.ownership

    def put_bucket_ownership_controls(self, caller: Optional[str], name: str, ownership: str,
                                      context: Mapping[str, Any] | None = None) -> None:
        def check(bucket: Bucket) -> None:
            # S3 will not turn ACLs off while the bucket's own ACL still grants to others.
            if ownership == public.ENFORCED and _grants_others(bucket.acl, bucket.owner):
                raise S3Error("InvalidBucketAclWithObjectOwnership")
        self._set_bucket(caller, name, "s3:PutBucketOwnershipControls", context, check, ownership=ownership)

    def delete_bucket_ownership_controls(self, caller: Optional[str], name: str,
                                         context: Mapping[str, Any] | None = None) -> None:
        self._set_bucket(caller, name, "s3:PutBucketOwnershipControls", context, ownership=None)


def own_account(caller: Optional[str], account_id: str) -> str:
    """The canonical id of CALLER's account when ACCOUNT_ID (S3 Control's x-amz-account-id) names it, as this
    gateway reports an account (EC2's ownerId: the CloudStack account's uuid); AccessDenied otherwise, and
    for an anonymous caller. S3 Control has no cross-account calls."""
    mine = getattr(caller, "account_id", None)
    if caller is None or not mine or account_id.strip().lower() != str(mine).lower():
        raise S3Error("AccessDenied")
    return str(caller)


def _grants_others(acl: Optional[dict], owner: str) -> bool:
    return any(not (g.get("type") == "CanonicalUser" and g.get("grantee") == owner)
               for g in (acl or acls.canned_acl("private", owner)).get("grants", []))


def with_ownership(create: Callable[[Any], Bucket], meta: Any, ownership: Optional[str]) -> Callable[[Any], Bucket]:
    """CreateBucket's transaction CREATE, also recording x-amz-object-ownership in it (one transaction)."""
    def run(conn: Any) -> Bucket:
        bucket = create(conn)
        if ownership is not None:
            meta.update_bucket(conn, bucket.id, ownership=ownership)
            bucket.ownership = ownership
        return bucket
    return run
