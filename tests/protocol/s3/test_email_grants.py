"""S3 grants by email (issue 13): S3 resolves an email grantee to its account's canonical user id when the grant
is written, and the stored ACL holds that CanonicalUser (ID and DisplayName), never the email. So with
x-amz-grant-* headers (`emailAddress="…"`) on PutObjectAcl, PutBucketAcl, PutObject, CreateBucket, CopyObject
and CreateMultipartUpload, and with an AccessControlPolicy whose grantee is xsi:type AmazonCustomerByEmail;
the grant is the account's, so it outlives the user whose email named it. An email no user has stays
UnresolvableGrantByEmailAddress; one that users of several accounts have is refused. Through boto3, awscli's
s3api and boto 2, asserting on what each parsed."""
from __future__ import annotations

import uuid
import warnings
from typing import Any, Callable

import pytest

from tests.protocol.conftest import GatewayServer, Keys, make_user
from tests.protocol.s3.conftest import boto2_connection, boto3_client, failure_of
from tests.protocol.s3.s3api_cli import s3api


def name(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}"


def _id(client: Any) -> str:
    return client.list_buckets()["Owner"]["ID"]


def _grants(acl: dict) -> set:
    """(type, id, display name, email, permission) per grant, as the client parsed them."""
    return {(g["Grantee"]["Type"], g["Grantee"].get("ID"), g["Grantee"].get("DisplayName"),
             g["Grantee"].get("EmailAddress"), g["Permission"]) for g in acl["Grants"]}


def _add_user(server: GatewayServer, account: str, email: str) -> str:
    """A second user of ACCOUNT with EMAIL; → the user's id."""
    login = f"u{uuid.uuid4().hex[:10]}"
    status, made = server.cloudstack("admin", "createUser", account=account, username=login, password="pw",
                                     email=email, firstname=login, lastname="test")
    assert status == 200, made
    return made["user"]["id"]


@pytest.fixture
def pair(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> tuple:
    """(Alice's boto3 client, her id, Bob's keys, Bob's client, Bob's id)."""
    alice, bob = new_user(), new_user()
    a, b = boto3_client(gateway_server, alice), boto3_client(gateway_server, bob)
    return a, _id(a), bob, b, _id(b)


def test_header_grants_by_email_are_stored_as_the_accounts_canonical_user(pair: tuple) -> None:
    a, a_id, bob, b, b_id = pair
    email = f"{bob.account}@example.com"
    bob_reads = ("CanonicalUser", b_id, bob.account, None, "READ")
    bucket = name("mail")
    a.create_bucket(Bucket=bucket, GrantFullControl=f'id="{a_id}"', GrantRead=f'emailAddress="{email}"')
    assert bob_reads in _grants(a.get_bucket_acl(Bucket=bucket))
    assert b.list_objects_v2(Bucket=bucket)["KeyCount"] == 0  # READ on the bucket: Bob may list

    a.put_object(Bucket=bucket, Key="put", Body=b"put", GrantRead=f'emailAddress="{email.upper()}"')
    a.put_object(Bucket=bucket, Key="acl", Body=b"acl")
    a.put_object_acl(Bucket=bucket, Key="acl", GrantRead=f"emailaddress={email}",
                     GrantFullControl=f'id="{a_id}"')
    a.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "acl"},
                  GrantRead=f'emailAddress="{email}"')
    upload = a.create_multipart_upload(Bucket=bucket, Key="parts", GrantRead=f'emailAddress="{email}"')
    part = a.upload_part(Bucket=bucket, Key="parts", UploadId=upload["UploadId"], PartNumber=1, Body=b"parts")
    a.complete_multipart_upload(Bucket=bucket, Key="parts", UploadId=upload["UploadId"],
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    for key in ("put", "acl", "copy", "parts"):
        grants = _grants(a.get_object_acl(Bucket=bucket, Key=key))
        assert bob_reads in grants and not {g for g in grants if g[0] == "AmazonCustomerByEmail"}, key
        assert b.get_object(Bucket=bucket, Key=key)["Body"].read() == (b"acl" if key == "copy" else key.encode())


def test_a_policy_document_naming_an_email_is_stored_as_the_canonical_user(pair: tuple) -> None:
    a, a_id, bob, b, b_id = pair
    bucket = name("maildoc")
    a.create_bucket(Bucket=bucket)
    a.put_object(Bucket=bucket, Key="k", Body=b"doc")
    policy = {"Owner": {"ID": a_id}, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": a_id}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": f"{bob.account}@example.com"},
         "Permission": "READ_ACP"}]}
    a.put_object_acl(Bucket=bucket, Key="k", AccessControlPolicy=policy)
    a.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy)
    for acl in (a.get_object_acl(Bucket=bucket, Key="k"), a.get_bucket_acl(Bucket=bucket)):
        assert _grants(acl) == {("CanonicalUser", a_id, a.list_buckets()["Owner"]["DisplayName"], None,
                                 "FULL_CONTROL"), ("CanonicalUser", b_id, bob.account, None, "READ_ACP")}
    assert b.get_object_acl(Bucket=bucket, Key="k")["Owner"]["ID"] == a_id  # READ_ACP is Bob's


def test_the_grant_is_the_accounts_and_outlives_the_user_whose_email_named_it(
        gateway_server: GatewayServer, pair: tuple) -> None:
    a, a_id, bob, b, b_id = pair
    second = f"second-{uuid.uuid4().hex[:8]}@example.com"
    user_id = _add_user(gateway_server, bob.account, second)  # another user of Bob's account
    bucket = name("outlive")
    a.create_bucket(Bucket=bucket)
    a.put_object(Bucket=bucket, Key="k", Body=b"kept", GrantRead=f'emailAddress="{second}"')
    assert b.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"  # Bob's own email is another one
    status, answer = gateway_server.cloudstack("admin", "deleteUser", id=user_id)
    assert status == 200, answer
    assert ("CanonicalUser", b_id, bob.account, None, "READ") in _grants(a.get_object_acl(Bucket=bucket, Key="k"))
    assert b.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    refused = failure_of(lambda: a.put_object_acl(Bucket=bucket, Key="k", GrantRead=f'emailAddress="{second}"'))
    assert (refused.code, refused.status) == ("UnresolvableGrantByEmailAddress", 400)


def test_an_email_of_users_of_several_accounts_is_refused(gateway_server: GatewayServer, pair: tuple,
                                                          new_user: Callable[[], Keys]) -> None:
    a, a_id, bob, b, b_id = pair
    shared = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    _add_user(gateway_server, bob.account, shared)
    _add_user(gateway_server, new_user().account, shared)
    bucket = name("ambiguous")
    a.create_bucket(Bucket=bucket)
    refused = failure_of(lambda: a.put_bucket_acl(Bucket=bucket, GrantRead=f'emailAddress="{shared}"'))
    assert (refused.code, refused.status) == ("AmbiguousGrantByEmailAddress", 400)
    assert "more than one account" in refused.message
    assert {g[1] for g in _grants(a.get_bucket_acl(Bucket=bucket))} == {a_id}


def test_email_grants_through_awscli_and_boto2(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    alice, bob = new_user(), new_user()
    a_id, b_id = _id(boto3_client(gateway_server, alice)), _id(boto3_client(gateway_server, bob))
    bucket = name("mailcli")
    s3api(gateway_server, alice, "create-bucket", "--bucket", bucket)
    s3api(gateway_server, alice, "put-object", "--bucket", bucket, "--key", "k")
    s3api(gateway_server, alice, "put-object-acl", "--bucket", bucket, "--key", "k", "--grant-full-control",
          f"id={a_id}", "--grant-read", f'emailAddress="{bob.account}@example.com"')
    shown = s3api(gateway_server, alice, "get-object-acl", "--bucket", bucket, "--key", "k")
    assert _grants(shown) == {("CanonicalUser", a_id, alice.account, None, "FULL_CONTROL"),
                              ("CanonicalUser", b_id, bob.account, None, "READ")}
    s3api(gateway_server, bob, "head-object", "--bucket", bucket, "--key", "k")  # Bob may read it
    unknown = f"nobody-{uuid.uuid4().hex[:6]}@nowhere.invalid"
    with pytest.raises(Exception) as refused:
        s3api(gateway_server, alice, "put-bucket-acl", "--bucket", bucket, "--grant-read",
              f'emailAddress="{unknown}"')
    assert refused.value.code == "UnresolvableGrantByEmailAddress"

    pytest.importorskip("boto", reason="boto 2 is not installed")
    conn = boto2_connection(gateway_server, alice)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        key = conn.get_bucket(bucket, validate=False).new_key("boto2")
        key.set_contents_from_string(b"b2")
        key.add_email_grant("WRITE_ACP", f"{bob.account}@example.com")  # boto 2 sends the ACL document
        grants = key.get_acl().acl.grants
    assert ("CanonicalUser", b_id, bob.account, "WRITE_ACP") in [(g.type, g.id, g.display_name, g.permission)
                                                               for g in grants]
    assert all(g.type != "AmazonCustomerByEmail" and g.email_address is None for g in grants)


def test_email_grants_stored_before_are_resolved_when_the_gateway_starts(tmp_path_factory: Any, reactor: Any,
                                                                         in_reactor: Callable[..., Any]) -> None:
    """An AmazonCustomerByEmail grant a previous version stored becomes its account's CanonicalUser at start; one
    naming an email no user has is left as it was."""
    import json

    from sqlalchemy import update

    from ec2soap.store.tables import s3_object
    from tests.protocol.s3.test_owners import _start, _stop

    data_dir = str(tmp_path_factory.mktemp("legacy-email-grants"))
    gateway = _start(data_dir, reactor, in_reactor)
    try:
        alice, bob = (make_user(gateway) for _ in range(2))
        a = boto3_client(gateway, alice)
        a_id, b_id = _id(a), _id(boto3_client(gateway, bob))
        bucket = name("legacy-mail")
        a.create_bucket(Bucket=bucket)
        for key in ("known", "unknown"):
            a.put_object(Bucket=bucket, Key=key, Body=key.encode())

        def make_legacy(conn: Any) -> None:
            for key, email in (("known", f"{bob.account.upper()}@example.com"), ("unknown", "ghost@nowhere.invalid")):
                acl = {"owner": a_id, "grants": [
                    {"type": "CanonicalUser", "grantee": a_id, "permission": "FULL_CONTROL"},
                    {"type": "AmazonCustomerByEmail", "grantee": email, "permission": "READ"}]}
                conn.execute(update(s3_object).where(s3_object.c.key == key.encode())
                             .values(acl=json.dumps(acl, separators=(",", ":"), sort_keys=True)))
        gateway.running.store.run_sync(make_legacy)
    finally:
        _stop(gateway, in_reactor)

    gateway = _start(data_dir, reactor, in_reactor)
    try:
        a, b = boto3_client(gateway, alice), boto3_client(gateway, bob)
        assert _grants(a.get_object_acl(Bucket=bucket, Key="known")) == {
            ("CanonicalUser", a_id, alice.account, None, "FULL_CONTROL"),
            ("CanonicalUser", b_id, bob.account, None, "READ")}
        assert b.get_object(Bucket=bucket, Key="known")["Body"].read() == b"known"
        assert ("AmazonCustomerByEmail", None, None, "ghost@nowhere.invalid", "READ") in _grants(
            a.get_object_acl(Bucket=bucket, Key="unknown"))
    finally:
        _stop(gateway, in_reactor)

