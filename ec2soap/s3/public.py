"""What S3 calls public, and how a bucket's PublicAccessBlock and ObjectOwnership change access decisions.

S3's "meaning of public": an ACL is public when it grants anything to AllUsers or AuthenticatedUsers; a bucket
policy is public when an Allow statement has a wildcard principal and no condition pins it to fixed values of
a key that limits who can call (aws:SourceIp with a specific range, aws:SourceArn, aws:SourceVpc[e],
aws:SourceAccount, aws:SourceOwner, aws:PrincipalOrgID, aws:PrincipalAccount, aws:userid, ...).

Enforcement, as S3 does it, of the bucket's block and its owner's account block (S3 Control) together: each
flag is in force when either sets it (the account's rides on the bucket: s3.metadata loads it with the bucket's
row). BlockPublicAcls refuses writes of public ACLs (AccessDenied), CreateBucket's included; IgnorePublicAcls
drops public grants from access decisions; BlockPublicPolicy refuses a public policy (AccessDenied);
RestrictPublicBuckets, while the policy is public, lets its Allows count only for the bucket owner's account. ObjectOwnership BucketOwnerEnforced turns
ACLs off (the bucket owner owns every object and alone is granted by ACL; ACL writes other than the owner's full
control are AccessControlListNotSupported); BucketOwnerPreferred makes the bucket owner own objects written with
`bucket-owner-full-control`; ObjectWriter (or none) is S3's classic behaviour.

Pure functions over s3.metadata.Bucket and ACL/policy dicts; no Twisted, no SQL.
"""
from __future__ import annotations

import ipaddress
from typing import Any, Mapping, Optional

from ec2soap.s3 import acl as acls
from ec2soap.s3.errors import S3Error

__all__ = ["is_public_acl", "is_public_policy", "effective_acl", "shown_acl", "effective_owner", "policy_counts",
           "check_acl_write", "check_canned_acl", "check_policy_write", "object_owner", "requested_ownership", "upload_owner",
           "ENFORCED", "PREFERRED"]

ENFORCED = "BucketOwnerEnforced"
PREFERRED = "BucketOwnerPreferred"
_PUBLIC_GROUPS = (acls.ALL_USERS, acls.AUTHENTICATED_USERS)
# Condition keys whose fixed values restrict a wildcard principal to known callers (lower case).
_RESTRICTING = frozenset({"aws:sourceip", "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceaccount",
                          "aws:sourceowner", "aws:principalorgid", "aws:principalaccount", "aws:userid",
                          "aws:principalarn", "aws:principalorgpaths", "s3:dataaccesspointarn",
                          "s3:dataaccesspointaccount", "s3:x-amz-server-side-encryption-aws-kms-key-id"})
_FIXING_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike",
                               "IpAddress"})


def _flag(bucket: Any, name: str) -> bool:
    """Whether NAME is in force on BUCKET: set by its own block or by its owner's account block."""
    return bool((bucket.public_access_block or {}).get(name)
                or (bucket.account_public_access_block or {}).get(name))


def is_public_acl(acl: Optional[dict]) -> bool:
    return any(g.get("type") == "Group" and g.get("grantee") in _PUBLIC_GROUPS for g in (acl or {}).get("grants", []))


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _wildcard_principal(principal: Any) -> bool:
    if principal == "*":
        return True
    if isinstance(principal, dict):
        # Only the kinds that name callers: a Service or Federated principal matches nobody here (s3.policy).
        return any("*" in str(ident) for kind in ("AWS", "CanonicalUser") for ident in _as_list(principal.get(kind)))
    return False


def _fixed(operator: str, values: Any) -> bool:
    for value in _as_list(values):
        text = str(value)
        if operator == "IpAddress":
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError:
                return False
            if network.prefixlen < (8 if network.version == 4 else 32):
                return False  # 0.0.0.0/1 and the like admit the whole internet
        elif "*" in text or "?" in text:
            return False
    return True


def _restricted(conditions: Optional[Mapping[str, Any]]) -> bool:
    for operator, block in (conditions or {}).items():
        if operator not in _FIXING_OPERATORS or not isinstance(block, dict):
            continue
        for key, values in block.items():
            if key.lower() in _RESTRICTING and _fixed(operator, values):
                return True
    return False


def is_public_policy(policy: Optional[dict]) -> bool:
    """Whether a parsed bucket policy is public in S3's sense (see the module docstring)."""
    for statement in _as_list((policy or {}).get("Statement", [])):
        if statement.get("Effect") != "Allow" or not _wildcard_principal(statement.get("Principal")):
            continue
        if not _restricted(statement.get("Condition")):
            return True
    return False


def effective_acl(bucket: Any, acl: Optional[dict]) -> Optional[dict]:
    """The ACL an access decision reads: none but the bucket owner's under BucketOwnerEnforced, public grants
    dropped under IgnorePublicAcls."""
    if bucket.ownership == ENFORCED:
        return acls.canned_acl("private", bucket.owner)
    if acl and _flag(bucket, "IgnorePublicAcls") and is_public_acl(acl):
        return {**acl, "grants": [g for g in acl.get("grants", [])
                                  if not (g.get("type") == "Group" and g.get("grantee") in _PUBLIC_GROUPS)]}
    return acl


def shown_acl(bucket: Any, acl: dict) -> dict:
    """An object's ACL as GetObjectAcl shows it: the bucket owner's full control alone while ACLs are disabled
    (objects written before BucketOwnerEnforced included)."""
    return acls.canned_acl("private", bucket.owner) if bucket.ownership == ENFORCED else acl


def effective_owner(bucket: Any, owner: str) -> str:
    """Who owns an object for access decisions: the bucket owner, whoever wrote it, under BucketOwnerEnforced."""
    return bucket.owner if bucket.ownership == ENFORCED else owner


def policy_counts(bucket: Any, policy: Optional[dict], caller: Optional[str]) -> bool:
    """Whether the policy's Allow counts for CALLER: RestrictPublicBuckets limits a public policy to the
    bucket owner's account."""
    if not _flag(bucket, "RestrictPublicBuckets") or caller is not None and str(caller) == bucket.owner:
        return True
    return not is_public_policy(policy)


def check_acl_write(bucket: Any, acl: Optional[dict]) -> None:
    """Refuse an ACL write (on the bucket, or on an object in it) the bucket's settings forbid."""
    if acl is None:
        return
    if bucket.ownership == ENFORCED:
        owners = {acl.get("owner"), bucket.owner}
        if any(g.get("type") != "CanonicalUser" or g.get("grantee") not in owners
               or g.get("permission") != "FULL_CONTROL" for g in acl.get("grants", [])):
            raise S3Error("AccessControlListNotSupported")
    if _flag(bucket, "BlockPublicAcls") and is_public_acl(acl):
        raise S3Error("AccessDenied")


def check_policy_write(bucket: Any, policy: dict) -> None:
    if _flag(bucket, "BlockPublicPolicy") and is_public_policy(policy):
        raise S3Error("AccessDenied")


def check_canned_acl(bucket: Any, headers: Mapping[str, str]) -> None:
    """While ACLs are disabled (BucketOwnerEnforced) S3 accepts a write that sends no ACL or a bucket owner full
    control one: the only canned ACL is bucket-owner-full-control; any other x-amz-acl, `private` included,
    is AccessControlListNotSupported (grant headers and ACL documents are judged by check_acl_write). This
    holds for PutObject, CopyObject, CreateMultipartUpload, PutObjectAcl and PutBucketAcl; CreateBucket is
    requested_ownership's (there `private`, the new bucket's default, is allowed)."""
    canned = headers.get("x-amz-acl")
    if bucket.ownership == ENFORCED and canned is not None and canned.strip() != "bucket-owner-full-control":
        raise S3Error("AccessControlListNotSupported")


def object_owner(bucket: Any, writer: str, headers: Mapping[str, str]) -> str:
    """Who owns an object WRITER puts into BUCKET: the bucket owner under BucketOwnerEnforced, and under
    BucketOwnerPreferred when it is written with the bucket-owner-full-control canned ACL. A canned ACL the
    bucket refuses (check_canned_acl) is refused here, where every object write asks who will own it."""
    if bucket.ownership == ENFORCED:
        check_canned_acl(bucket, headers)
        return bucket.owner
    if bucket.ownership == PREFERRED and (headers.get("x-amz-acl") or "").strip() == "bucket-owner-full-control":
        return bucket.owner
    return writer


def requested_ownership(headers: Mapping[str, str], acl: Optional[dict]) -> Optional[str]:
    """CreateBucket's x-amz-object-ownership (None: not sent), refused when unknown or, for
    BucketOwnerEnforced, sent with an ACL granting others."""
    value = headers.get("x-amz-object-ownership")
    if value is None:
        return None
    if value not in (PREFERRED, "ObjectWriter", ENFORCED):
        raise S3Error("InvalidArgument", "Invalid x-amz-object-ownership header: " + value,
                      argument_name="x-amz-object-ownership", argument_value=value)
    owner = (acl or {}).get("owner")
    if value == ENFORCED and any(g.get("grantee") != owner for g in (acl or {}).get("grants", [])):
        raise S3Error("InvalidBucketAclWithObjectOwnership")
    return value


def upload_owner(bucket: Any, upload: Any) -> str:
    """Who owns the object a multipart upload completes into: its ACL's owner was chosen by object_owner when
    the upload was created; the bucket owner whenever ACLs are disabled."""
    if bucket.ownership == ENFORCED:
        return bucket.owner
    return (upload.acl or {}).get("owner") or upload.owner
