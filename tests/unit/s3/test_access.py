"""What S3 calls public (s3.public) and the access-control documents (s3.xml_access): S3's rules, each refusal."""
from __future__ import annotations

import pytest

from ec2soap.s3 import public, xml_access
from ec2soap.s3.acl import canned_acl
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket

OWNER, OTHER = "a" * 64, "b" * 64


def bucket(block: dict | None = None, ownership: str | None = None) -> Bucket:
    made = Bucket(1, "b", OWNER, 0.0, None, canned_acl("private", OWNER), None, None, None)
    made.public_access_block, made.ownership = block, ownership
    return made


def statement(principal: object = "*", condition: dict | None = None, effect: str = "Allow") -> dict:
    st = {"Effect": effect, "Principal": principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    if condition is not None:
        st["Condition"] = condition
    return {"Statement": [st]}


@pytest.mark.parametrize("policy, public_", [
    (statement(), True),
    (statement({"AWS": "*"}), True),
    (statement({"CanonicalUser": OTHER}), False),
    (statement(effect="Deny"), False),
    (statement(condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}), False),
    (statement(condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}), True),
    (statement(condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}}), False),
    (statement(condition={"StringLike": {"aws:SourceArn": "arn:*"}}), True),
    (statement(condition={"StringEquals": {"s3:prefix": "home/"}}), True),
    (statement(condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}), True),
])
def test_public_policies(policy: dict, public_: bool) -> None:
    assert public.is_public_policy(policy) is public_


def test_acl_writes() -> None:
    blocked = bucket({"BlockPublicAcls": True})
    with pytest.raises(S3Error) as caught:
        public.check_acl_write(blocked, canned_acl("authenticated-read", OWNER))
    assert caught.value.code == "AccessDenied"
    public.check_acl_write(blocked, canned_acl("bucket-owner-full-control", OTHER, OWNER))
    enforced = bucket(ownership=public.ENFORCED)
    with pytest.raises(S3Error) as caught:
        public.check_acl_write(enforced, canned_acl("bucket-owner-read", OTHER, OWNER))
    assert caught.value.code == "AccessControlListNotSupported"
    public.check_acl_write(enforced, canned_acl("private", OWNER))


def test_effective_acl_and_owner() -> None:
    acl = canned_acl("public-read", OTHER)
    assert public.effective_acl(bucket({"IgnorePublicAcls": True}), acl)["grants"] == acl["grants"][:1]
    assert public.effective_acl(bucket(), acl) == acl
    assert public.effective_acl(bucket(ownership=public.ENFORCED), acl) == canned_acl("private", OWNER)
    assert public.effective_owner(bucket(ownership=public.ENFORCED), OTHER) == OWNER
    assert public.object_owner(bucket(ownership=public.PREFERRED), OTHER,
                               {"x-amz-acl": "bucket-owner-full-control"}) == OWNER
    assert public.object_owner(bucket(ownership=public.PREFERRED), OTHER, {}) == OTHER
    assert public.object_owner(bucket(ownership="ObjectWriter"), OTHER,
                               {"x-amz-acl": "bucket-owner-full-control"}) == OTHER


def test_restrict_public_buckets() -> None:
    restricted = bucket({"RestrictPublicBuckets": True})
    assert not public.policy_counts(restricted, statement(), OTHER)
    assert not public.policy_counts(restricted, statement(), None)
    assert public.policy_counts(restricted, statement(), OWNER)
    assert public.policy_counts(restricted, statement({"CanonicalUser": OTHER}), OTHER)
    assert public.policy_counts(bucket(), statement(), None)


def test_documents() -> None:
    flags = xml_access.parse_public_access_block(
        b"<PublicAccessBlockConfiguration><IgnorePublicAcls>true</IgnorePublicAcls></PublicAccessBlockConfiguration>")
    assert flags == {"BlockPublicAcls": False, "IgnorePublicAcls": True, "BlockPublicPolicy": False,
                     "RestrictPublicBuckets": False}
    assert xml_access.parse_public_access_block(xml_access.public_access_block(flags)) == flags
    assert xml_access.parse_ownership_controls(xml_access.ownership_controls(public.ENFORCED)) == public.ENFORCED
    for body, parse in [
            (b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls>"
             b"</PublicAccessBlockConfiguration>", xml_access.parse_public_access_block),
            (b"<PublicAccessBlockConfiguration><Other>true</Other></PublicAccessBlockConfiguration>",
             xml_access.parse_public_access_block),
            (b"<OwnershipControls/>", xml_access.parse_ownership_controls),
            (b"<OwnershipControls><Rule><ObjectOwnership>Mine</ObjectOwnership></Rule></OwnershipControls>",
             xml_access.parse_ownership_controls)]:
        with pytest.raises(S3Error) as caught:
            parse(body)
        assert caught.value.code == "MalformedXML"
    with pytest.raises(S3Error) as caught:
        public.requested_ownership({"x-amz-object-ownership": "BucketOwnerEnforced"}, canned_acl("public-read", OWNER))
    assert caught.value.code == "InvalidBucketAclWithObjectOwnership"
    with pytest.raises(S3Error) as caught:
        public.requested_ownership({"x-amz-object-ownership": "Nobody"}, None)
    assert caught.value.code == "InvalidArgument"
