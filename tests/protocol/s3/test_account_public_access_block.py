"""The account-level public access block (S3 Control: PUT/GET/DELETE /v20180820/configuration/publicAccessBlock
with x-amz-account-id), through boto3's s3control and awscli's `aws s3control`, against the real server: stored
per account, answered as S3 Control answers it (NoSuchPublicAccessBlockConfiguration when none, AccessDenied
for another account's id), and enforced with each bucket's own block (each flag the OR of both) on ACLs and
policies: a bucket with no block of its own refuses a public ACL or policy once its account blocks them, an
anonymous browser POST is judged with the account's block before any of its file is kept, and CreateBucket (a
new bucket, or re-creating your own) refuses a public ACL under the account's BlockPublicAcls.

botocore puts the account id in the host (`<account>.localhost:port`) whatever inject_host_prefix says; the
session fixture resolves *.localhost, and the gateway knows S3 Control by its path and header. One server per
module; each test has its own users and buckets."""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest
import requests
from botocore.config import Config

from tests.awscli_run import run_aws
from tests.protocol.conftest import ClientFailure, GatewayServer, Keys
from tests.protocol.s3.conftest import boto3_client, failure_of
from tests.protocol.s3.s3api_cli import s3api
from tests.protocol.s3.test_durability import MiB
from tests.protocol.s3.test_post_uploads import StreamedForm

FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")


def _bucket() -> str:
    return "acct" + uuid.uuid4().hex[:12]


def account_id(server: GatewayServer, keys: Keys) -> str:
    """The account id as the gateway reports it (EC2's ownerId): the CloudStack account's uuid."""
    status, body = server.cloudstack("admin", "listAccounts", name=keys.account, listall="true")
    assert status == 200
    return body["account"][0]["id"]


def _endpoint(server: GatewayServer) -> str:
    return f"http://localhost:{int(server.url.rsplit(':', 1)[1])}"


def s3control(server: GatewayServer, keys: Keys) -> Any:
    return boto3.client("s3control", endpoint_url=_endpoint(server), region_name="us-east-1",
                        aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))


def _config(**on: bool) -> dict:
    return {name: bool(on.get(name)) for name in FLAGS}


def _public_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def aws_s3control(server: GatewayServer, keys: Keys, *args: str) -> Any:
    rc, stdout, stderr = run_aws(keys.access_key, keys.secret_key,
                                 ["s3control", *args, "--endpoint-url", _endpoint(server), "--output", "json"])
    if rc != 0:
        text = stderr.strip()
        code = text.split("(", 1)[1].split(")", 1)[0] if "(" in text else "Unknown"
        raise ClientFailure(code, text)
    return json.loads(stdout) if stdout.strip() else {}


@pytest.fixture
def alice(new_user: Callable[[], Keys]) -> Keys:
    return new_user()


# -- boto3 -----------------------------------------------------------------------------------------------------

def test_boto3_put_get_delete(gateway_server: GatewayServer, alice: Keys) -> None:
    control, me = s3control(gateway_server, alice), account_id(gateway_server, alice)
    missing = failure_of(lambda: control.get_public_access_block(AccountId=me))
    assert (missing.code, missing.status) == ("NoSuchPublicAccessBlockConfiguration", 404)

    control.put_public_access_block(AccountId=me, PublicAccessBlockConfiguration=_config(
        BlockPublicAcls=True, BlockPublicPolicy=True))
    got = control.get_public_access_block(AccountId=me)["PublicAccessBlockConfiguration"]
    assert got == _config(BlockPublicAcls=True, BlockPublicPolicy=True)
    control.put_public_access_block(AccountId=me, PublicAccessBlockConfiguration=_config(IgnorePublicAcls=True))
    got = control.get_public_access_block(AccountId=me)["PublicAccessBlockConfiguration"]
    assert got == _config(IgnorePublicAcls=True)  # replaced, not merged

    assert control.delete_public_access_block(AccountId=me)["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert failure_of(lambda: control.get_public_access_block(AccountId=me)).code == \
        "NoSuchPublicAccessBlockConfiguration"
    control.delete_public_access_block(AccountId=me)  # deleting none is no error, as in S3


def test_another_accounts_id_is_denied(gateway_server: GatewayServer, alice: Keys,
                                       new_user: Callable[[], Keys]) -> None:
    bob = new_user()
    control, bobs = s3control(gateway_server, alice), account_id(gateway_server, bob)
    for call in (lambda: control.get_public_access_block(AccountId=bobs),
                 lambda: control.put_public_access_block(AccountId=bobs,
                                                         PublicAccessBlockConfiguration=_config(BlockPublicAcls=True)),
                 lambda: control.delete_public_access_block(AccountId=bobs),
                 lambda: control.get_public_access_block(AccountId=str(uuid.uuid4()))):
        denied = failure_of(call)
        assert (denied.code, denied.status) == ("AccessDenied", 403)
    # Bob's account has no block: Alice's attempt stored none.
    assert failure_of(lambda: s3control(gateway_server, bob).get_public_access_block(AccountId=bobs)).code == \
        "NoSuchPublicAccessBlockConfiguration"


def test_account_block_refuses_public_acls_and_policies(gateway_server: GatewayServer, alice: Keys,
                                                        new_user: Callable[[], Keys]) -> None:
    s3, control, me = boto3_client(gateway_server, alice), s3control(gateway_server, alice), \
        account_id(gateway_server, alice)
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    assert failure_of(lambda: s3.get_public_access_block(Bucket=bucket)).code == \
        "NoSuchPublicAccessBlockConfiguration"  # the bucket has no block of its own
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")  # allowed before the account blocks it
    s3.put_bucket_acl(Bucket=bucket, ACL="private")

    control.put_public_access_block(AccountId=me, PublicAccessBlockConfiguration=_config(
        BlockPublicAcls=True, BlockPublicPolicy=True))
    for call in (lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read"),
                 lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read"),
                 lambda: s3.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))):
        refused = failure_of(call)
        assert (refused.code, refused.status) == ("AccessDenied", 403)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="private")  # a private ACL still goes through
    assert failure_of(lambda: s3.get_public_access_block(Bucket=bucket)).code == \
        "NoSuchPublicAccessBlockConfiguration"  # the bucket's own block is still none: the account's is apart

    # Another account's bucket is not blocked by Alice's account.
    bob = boto3_client(gateway_server, new_user())
    other = _bucket()
    bob.create_bucket(Bucket=other)
    bob.put_bucket_acl(Bucket=other, ACL="public-read")

    control.delete_public_access_block(AccountId=me)
    s3.put_bucket_policy(Bucket=bucket, Policy=_public_policy(bucket))
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")


def test_account_ignore_and_restrict_apply_to_reads(gateway_server: GatewayServer, alice: Keys) -> None:
    s3, control, me = boto3_client(gateway_server, alice), s3control(gateway_server, alice), \
        account_id(gateway_server, alice)
    by_acl, by_policy = _bucket(), _bucket()
    for name in (by_acl, by_policy):
        s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=by_acl, Key="open", Body=b"acl", ACL="public-read")
    s3.put_object(Bucket=by_policy, Key="open", Body=b"policy")
    s3.put_bucket_policy(Bucket=by_policy, Policy=_public_policy(by_policy))
    for name, body in ((by_acl, b"acl"), (by_policy, b"policy")):
        answer = requests.get(f"{gateway_server.url}/{name}/open", timeout=30)
        assert (answer.status_code, answer.content) == (200, body)

    control.put_public_access_block(AccountId=me, PublicAccessBlockConfiguration=_config(
        IgnorePublicAcls=True, RestrictPublicBuckets=True))
    for name in (by_acl, by_policy):
        assert requests.get(f"{gateway_server.url}/{name}/open", timeout=30).status_code == 403
    assert s3.get_object(Bucket=by_policy, Key="open")["Body"].read() == b"policy"  # the owner still reads

    control.delete_public_access_block(AccountId=me)
    assert requests.get(f"{gateway_server.url}/{by_acl}/open", timeout=30).status_code == 200


# -- anonymous browser POSTs (POST Object) ---------------------------------------------------------------------

def _anonymous_post(server: GatewayServer, bucket: str, key: str, size: int = 24 * MiB) -> tuple[Any, StreamedForm]:
    """An anonymous form posting a SIZE-byte file as a browser sends it, the gateway's temp directory looked at
    while it is sent (StreamedForm: a form judged before its file records nothing there)."""
    tmp_dir = Path(server.running.settings.data_dir) / "objects" / "tmp"
    assert list(tmp_dir.iterdir()) == []
    body = StreamedForm({"key": key}, size, tmp_dir)
    return body.post(f"{server.url}/{bucket}"), body


def _error_code(response: Any) -> str:
    from lxml import etree
    return etree.fromstring(response.content).findtext("Code")


def _sizes(s3: Any, bucket: str) -> dict[str, int]:
    # Listed, not read: an anonymous writer's object is its own (S3's classic ownership), the owner cannot GET it.
    return {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def _public_write_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def test_account_block_refuses_anonymous_posts_before_the_file(gateway_server: GatewayServer, alice: Keys) -> None:
    s3, control, me = boto3_client(gateway_server, alice), s3control(gateway_server, alice), \
        account_id(gateway_server, alice)
    by_acl, by_policy = _bucket(), _bucket()
    for name in (by_acl, by_policy):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_acl(Bucket=by_acl, ACL="public-read-write")
    s3.put_bucket_policy(Bucket=by_policy, Policy=_public_write_policy(by_policy))
    for name in (by_acl, by_policy):  # the control: both take anonymous forms, whose file reaches the disk
        response, body = _anonymous_post(gateway_server, name, "before")
        assert response.status_code == 204, response.text
        assert body.seen and max(body.seen.values()) >= 8 * MiB
        assert _sizes(s3, name) == {"before": 24 * MiB}

    def refused(name: str, key: str) -> None:
        response, body = _anonymous_post(gateway_server, name, key)
        assert (response.status_code, _error_code(response)) == (403, "AccessDenied"), response.text
        assert body.seen == {}, "the refused POST's file reached the disk"
        assert key not in _sizes(s3, name)

    # IgnorePublicAcls (boto3 s3control): the bucket's public-read-write grant no longer admits strangers.
    control.put_public_access_block(AccountId=me, PublicAccessBlockConfiguration=_config(IgnorePublicAcls=True))
    refused(by_acl, "ignored")
    assert _anonymous_post(gateway_server, by_policy, "policy-still")[0].status_code == 204

    # RestrictPublicBuckets (awscli s3control): the public policy counts for the owner's account alone.
    aws_s3control(gateway_server, alice, "put-public-access-block", "--account-id", me,
                  "--public-access-block-configuration",
                  "BlockPublicAcls=false,IgnorePublicAcls=false,BlockPublicPolicy=false,RestrictPublicBuckets=true")
    refused(by_policy, "restricted")
    assert _anonymous_post(gateway_server, by_acl, "acl-again")[0].status_code == 204
    s3.put_object(Bucket=by_policy, Key="owner", Body=b"mine")  # the owner still writes

    control.delete_public_access_block(AccountId=me)
    assert _anonymous_post(gateway_server, by_policy, "after")[0].status_code == 204


# -- CopyObject's leave to read the source's tags --------------------------------------------------------------

def test_account_restrict_applies_to_copying_tags(gateway_server: GatewayServer, alice: Keys,
                                                  new_user: Callable[[], Keys]) -> None:
    s3, control, me = boto3_client(gateway_server, alice), s3control(gateway_server, alice), \
        account_id(gateway_server, alice)
    bob_keys = new_user()
    bob = boto3_client(gateway_server, bob_keys)
    source, target = _bucket(), _bucket()
    s3.create_bucket(Bucket=source)
    bob.create_bucket(Bucket=target)
    # Bob may read the object by its ACL; only a public policy lets him read its tags.
    s3.put_object(Bucket=source, Key="tagged", Body=b"tags", Tagging="colour=blue",
                  GrantRead=f"id={bob.list_buckets()['Owner']['ID']}")
    s3.put_bucket_policy(Bucket=source, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObjectTagging",
         "Resource": f"arn:aws:s3:::{source}/*"}]}))
    copy = {"Bucket": target, "CopySource": {"Bucket": source, "Key": "tagged"}}
    bob.copy_object(Key="before", **copy)
    assert bob.get_object_tagging(Bucket=target, Key="before")["TagSet"] == [{"Key": "colour", "Value": "blue"}]

    control.put_public_access_block(AccountId=me, PublicAccessBlockConfiguration=_config(RestrictPublicBuckets=True))
    denied = failure_of(lambda: bob.copy_object(Key="restricted", **copy))
    assert (denied.code, denied.status) == ("AccessDenied", 403)
    cli = failure_of(lambda: s3api(gateway_server, bob_keys, "copy-object", "--bucket", target, "--key", "cli",
                                   "--copy-source", f"{source}/tagged"))
    assert cli.code == "AccessDenied"
    keys = [o["Key"] for o in bob.list_objects_v2(Bucket=target).get("Contents", [])]
    assert keys == ["before"]
    # Without the tags (a REPLACE tag set) Bob still copies: his leave to read the object is not public.
    bob.copy_object(Key="replaced", TaggingDirective="REPLACE", Tagging="mine=yes", **copy)
    assert bob.get_object(Bucket=target, Key="replaced")["Body"].read() == b"tags"

    control.delete_public_access_block(AccountId=me)
    s3api(gateway_server, bob_keys, "copy-object", "--bucket", target, "--key", "cli", "--copy-source",
          f"{source}/tagged")
    assert bob.get_object_tagging(Bucket=target, Key="cli")["TagSet"] == [{"Key": "colour", "Value": "blue"}]


# -- CreateBucket ----------------------------------------------------------------------------------------------

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _public_grantees(s3: Any, bucket: str) -> list[str]:
    return [g["Grantee"].get("URI") for g in s3.get_bucket_acl(Bucket=bucket)["Grants"]
            if g["Grantee"].get("Type") == "Group"]


def test_account_block_refuses_creating_a_bucket_with_a_public_acl(gateway_server: GatewayServer, alice: Keys,
                                                                    new_user: Callable[[], Keys]) -> None:
    s3, control, me = boto3_client(gateway_server, alice), s3control(gateway_server, alice), \
        account_id(gateway_server, alice)
    control.put_public_access_block(AccountId=me, PublicAccessBlockConfiguration=_config(BlockPublicAcls=True))
    attempts: list[tuple[str, Callable[[str], Any]]] = [
        *((acl, lambda name, acl=acl: s3.create_bucket(Bucket=name, ACL=acl))
          for acl in ("public-read", "public-read-write", "authenticated-read")),
        ("boto3 grant", lambda name: s3.create_bucket(Bucket=name, GrantRead=f'uri="{ALL_USERS}"')),
        ("awscli acl", lambda name: s3api(gateway_server, alice, "create-bucket", "--bucket", name,
                                          "--acl", "public-read")),
        ("awscli grant", lambda name: s3api(gateway_server, alice, "create-bucket", "--bucket", name,
                                            "--grant-write", f"uri={ALL_USERS}")),
    ]
    for label, create in attempts:
        name = _bucket()
        denied = failure_of(lambda: create(name))
        # (awscli's message names the code, not the status)
        assert (denied.code, denied.status) == ("AccessDenied", None if "awscli" in label else 403), label
        assert failure_of(lambda: s3.head_bucket(Bucket=name)).status == 404, label  # nothing was created
    private = _bucket()
    s3.create_bucket(Bucket=private, ACL="private")  # a private ACL still goes through
    s3api(gateway_server, alice, "create-bucket", "--bucket", _bucket(), "--grant-read",
          f"id={s3.list_buckets()['Owner']['ID']}")  # so does a grant to the owner alone
    assert _public_grantees(s3, private) == []

    # Another account is not blocked by Alice's, and IgnorePublicAcls alone does not refuse public ACLs.
    bob = boto3_client(gateway_server, new_user())
    bobs = _bucket()
    bob.create_bucket(Bucket=bobs, ACL="public-read")
    assert _public_grantees(bob, bobs) == [ALL_USERS]
    control.put_public_access_block(AccountId=me, PublicAccessBlockConfiguration=_config(IgnorePublicAcls=True))
    ignored = _bucket()
    s3.create_bucket(Bucket=ignored, ACL="public-read")
    assert _public_grantees(s3, ignored) == [ALL_USERS]

    control.delete_public_access_block(AccountId=me)
    opened = _bucket()
    s3api(gateway_server, alice, "create-bucket", "--bucket", opened, "--acl", "public-read")
    assert _public_grantees(s3, opened) == [ALL_USERS]


def test_account_block_refuses_recreating_your_bucket_with_a_public_acl(gateway_server: GatewayServer,
                                                                         alice: Keys) -> None:
    s3, control, me = boto3_client(gateway_server, alice), s3control(gateway_server, alice), \
        account_id(gateway_server, alice)
    bucket = _bucket()
    s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=bucket, ACL="public-read")  # us-east-1: re-creating your own bucket resets its ACL
    assert _public_grantees(s3, bucket) == [ALL_USERS]
    s3.create_bucket(Bucket=bucket)
    assert _public_grantees(s3, bucket) == []

    control.put_public_access_block(AccountId=me, PublicAccessBlockConfiguration=_config(BlockPublicAcls=True))
    for create in (lambda: s3.create_bucket(Bucket=bucket, ACL="public-read-write"),
                   lambda: s3.create_bucket(Bucket=bucket, GrantRead=f'uri="{ALL_USERS}"')):
        denied = failure_of(create)
        assert (denied.code, denied.status) == ("AccessDenied", 403)
    assert failure_of(lambda: s3api(gateway_server, alice, "create-bucket", "--bucket", bucket, "--acl",
                                    "authenticated-read")).code == "AccessDenied"
    assert _public_grantees(s3, bucket) == []  # the ACL was left as it was
    s3api(gateway_server, alice, "create-bucket", "--bucket", bucket)  # private: still 200
    assert _public_grantees(s3, bucket) == []


def test_other_s3_control_calls_are_not_implemented(gateway_server: GatewayServer, alice: Keys) -> None:
    control, me = s3control(gateway_server, alice), account_id(gateway_server, alice)
    refused = failure_of(lambda: control.list_access_points(AccountId=me))
    assert (refused.code, refused.status) == ("NotImplemented", 501)
    assert "publicAccessBlock" in refused.message
    # Without the x-amz-account-id header the path is a bucket's, as before (here: none of that name).
    answer = requests.get(f"{gateway_server.url}/v20180820/configuration/publicAccessBlock", timeout=30)
    assert answer.status_code == 404 and b"<Code>NoSuchBucket</Code>" in answer.content


# -- awscli ----------------------------------------------------------------------------------------------------

def test_awscli_s3control(gateway_server: GatewayServer, alice: Keys) -> None:
    me = account_id(gateway_server, alice)
    missing = failure_of(lambda: aws_s3control(gateway_server, alice, "get-public-access-block", "--account-id", me))
    assert missing.code == "NoSuchPublicAccessBlockConfiguration"
    aws_s3control(gateway_server, alice, "put-public-access-block", "--account-id", me,
                  "--public-access-block-configuration",
                  "BlockPublicAcls=true,IgnorePublicAcls=false,BlockPublicPolicy=true,RestrictPublicBuckets=false")
    got = aws_s3control(gateway_server, alice, "get-public-access-block", "--account-id", me)
    assert got["PublicAccessBlockConfiguration"] == _config(BlockPublicAcls=True, BlockPublicPolicy=True)

    # The account's block refuses a public ACL and policy on a bucket with none of its own (awscli s3api).
    bucket = _bucket()
    s3api(gateway_server, alice, "create-bucket", "--bucket", bucket)
    acl = failure_of(lambda: s3api(gateway_server, alice, "put-bucket-acl", "--bucket", bucket, "--acl",
                                   "public-read"))
    assert acl.code == "AccessDenied"
    policy = failure_of(lambda: s3api(gateway_server, alice, "put-bucket-policy", "--bucket", bucket, "--policy",
                                      _public_policy(bucket)))
    assert policy.code == "AccessDenied"

    denied = failure_of(lambda: aws_s3control(gateway_server, alice, "get-public-access-block", "--account-id",
                                              str(uuid.uuid4())))
    assert denied.code == "AccessDenied"
    aws_s3control(gateway_server, alice, "delete-public-access-block", "--account-id", me)
    s3api(gateway_server, alice, "put-bucket-acl", "--bucket", bucket, "--acl", "public-read")
    assert failure_of(lambda: aws_s3control(gateway_server, alice, "get-public-access-block", "--account-id",
                                            me)).code == "NoSuchPublicAccessBlockConfiguration"
