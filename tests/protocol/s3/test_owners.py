"""S3 owners are canonical ids (64 hex, from the CloudStack account) with the account name as DisplayName,
through boto3 and boto 2 with two users: ListBuckets, GetBucketAcl, ListObjects, grants by id, by email and by
the old access-key id; no answer ever holds another user's access key; owners stored as access keys by an
earlier version are upgraded when the gateway starts again."""
from __future__ import annotations

import json
import uuid
import warnings
from typing import Any, Callable

import pytest
import requests

from ec2soap.auth.identity import canonical_id, is_canonical_id
from tests.protocol.conftest import GatewayServer, Keys
from tests.protocol.s3.conftest import boto2_connection, boto3_client


def account_uuid(server: GatewayServer, keys: Keys) -> str:
    status, body = server.cloudstack("admin", "listAccounts", name=keys.account, listall="true")
    assert status == 200, body
    return body["account"][0]["id"]


class Recorder:
    """Every raw answer document a boto3 client received (object bodies are the caller's own bytes)."""

    def __init__(self, client: Any):
        self.bodies: list[bytes] = []
        client.meta.events.register("after-call", self._keep)

    def _keep(self, http_response: Any, model: Any, **_: Any) -> None:
        if not model.has_streaming_output:
            self.bodies.append(http_response.content or b"")


def bucket_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def test_canonical_ids_names_and_grants_through_boto3(gateway_server: GatewayServer,
                                                      new_user: Callable[[], Keys]) -> None:
    alice, bob = new_user(), new_user()
    a_id, b_id = canonical_id(account_uuid(gateway_server, alice)), canonical_id(account_uuid(gateway_server, bob))
    assert a_id != b_id and is_canonical_id(a_id) and is_canonical_id(b_id)
    a, b = boto3_client(gateway_server, alice), boto3_client(gateway_server, bob)
    seen_a, seen_b = Recorder(a), Recorder(b)
    bucket = bucket_name("owners")
    a.create_bucket(Bucket=bucket)
    a.put_object(Bucket=bucket, Key="doc", Body=b"hello")

    listed = a.list_buckets()
    assert listed["Owner"] == {"ID": a_id, "DisplayName": alice.account}
    assert b.list_buckets()["Owner"] == {"ID": b_id, "DisplayName": bob.account}
    acl = a.get_bucket_acl(Bucket=bucket)
    assert acl["Owner"] == {"ID": a_id, "DisplayName": alice.account}
    assert acl["Grants"] == [{"Grantee": {"ID": a_id, "DisplayName": alice.account, "Type": "CanonicalUser"},
                              "Permission": "FULL_CONTROL"}]
    owner = a.list_objects(Bucket=bucket)["Contents"][0]["Owner"]
    assert owner == {"ID": a_id, "DisplayName": alice.account}
    v2 = a.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"][0]["Owner"]
    assert v2 == {"ID": a_id, "DisplayName": alice.account}

    # A grant by canonical id (PutBucketAcl with a policy document): Bob may list, and sees Alice as owner.
    with pytest.raises(Exception) as refused:
        b.list_objects(Bucket=bucket)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    a.put_bucket_acl(Bucket=bucket, AccessControlPolicy={
        "Owner": {"ID": a_id},
        "Grants": [{"Grantee": {"ID": a_id, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"},
                   {"Grantee": {"ID": b_id, "Type": "CanonicalUser"}, "Permission": "READ"}]})
    assert b.list_objects(Bucket=bucket)["Contents"][0]["Owner"] == {"ID": a_id, "DisplayName": alice.account}
    grants = a.get_bucket_acl(Bucket=bucket)["Grants"]
    assert {"Grantee": {"ID": b_id, "DisplayName": bob.account, "Type": "CanonicalUser"},
            "Permission": "READ"} in grants
    # Reading is not writing.
    with pytest.raises(Exception) as refused:
        b.put_object(Bucket=bucket, Key="intruder", Body=b"x")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    # A grant by email (the CloudStack user's email) on an object, and one by header with the id.
    a.put_object(Bucket=bucket, Key="by-email", Body=b"mail")
    a.put_object_acl(Bucket=bucket, Key="by-email", GrantRead=f'emailAddress="{bob.account}@example.com"')
    assert b.get_object(Bucket=bucket, Key="by-email")["Body"].read() == b"mail"
    a.put_object(Bucket=bucket, Key="by-id", Body=b"id", GrantRead=f'id="{b_id}"')
    assert b.get_object(Bucket=bucket, Key="by-id")["Body"].read() == b"id"
    with pytest.raises(Exception) as refused:
        b.get_object(Bucket=bucket, Key="doc")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"

    # Compatibility: a grant naming the old access-key id works for that key's holder, and is stored and shown
    # as the account's canonical id; an ACL document naming the owner by its old key id is accepted too.
    a.put_object(Bucket=bucket, Key="by-key", Body=b"key", GrantRead=f'id="{bob.access_key}"')
    assert b.get_object(Bucket=bucket, Key="by-key")["Body"].read() == b"key"
    shown = a.get_object_acl(Bucket=bucket, Key="by-key")["Grants"]
    assert {"Grantee": {"ID": b_id, "DisplayName": bob.account, "Type": "CanonicalUser"},
            "Permission": "READ"} in shown
    a.put_object_acl(Bucket=bucket, Key="by-key", AccessControlPolicy={
        "Owner": {"ID": alice.access_key},
        "Grants": [{"Grantee": {"ID": alice.access_key, "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"},
                   {"Grantee": {"ID": bob.access_key, "Type": "CanonicalUser"}, "Permission": "READ_ACP"}]})
    assert {(g["Grantee"]["ID"], g["Permission"]) for g in a.get_object_acl(Bucket=bucket, Key="by-key")["Grants"]} \
        == {(a_id, "FULL_CONTROL"), (b_id, "READ_ACP")}
    assert b.get_object_acl(Bucket=bucket, Key="by-key")["Owner"] == {"ID": a_id, "DisplayName": alice.account}

    # Versions and multipart uploads name their owners the same way.
    a.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    a.put_object(Bucket=bucket, Key="versioned", Body=b"v1")
    versions = a.list_object_versions(Bucket=bucket, Prefix="versioned")["Versions"]
    assert versions[0]["Owner"] == {"ID": a_id, "DisplayName": alice.account}
    upload = a.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    uploads = a.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert uploads[0]["Owner"]["ID"] == uploads[0]["Initiator"]["ID"] == a_id
    assert a.list_parts(Bucket=bucket, Key="parts", UploadId=upload)["Owner"]["ID"] == a_id
    a.abort_multipart_upload(Bucket=bucket, Key="parts", UploadId=upload)

    # Nowhere an access key: neither one's own in what the other received, nor anyone's in listings/ACLs.
    for body in seen_a.bodies:
        assert bob.access_key.encode() not in body and alice.access_key.encode() not in body
    for body in seen_b.bodies:
        assert alice.access_key.encode() not in body and bob.access_key.encode() not in body


def test_canonical_ids_through_boto2(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    pytest.importorskip("boto", reason="boto 2 is not installed")
    alice, bob = new_user(), new_user()
    a_id, b_id = canonical_id(account_uuid(gateway_server, alice)), canonical_id(account_uuid(gateway_server, bob))
    a, b = boto2_connection(gateway_server, alice), boto2_connection(gateway_server, bob)
    name = bucket_name("boto2-owners")
    bucket = a.create_bucket(name)
    key = bucket.new_key("doc")
    key.set_contents_from_string(b"hello")

    mine, theirs = a.get_all_buckets(), b.get_all_buckets()
    assert (mine.owner.id, mine.owner.display_name) == (a_id, alice.account)
    assert (theirs.owner.id, theirs.owner.display_name) == (b_id, bob.account)
    policy = bucket.get_acl()
    assert (policy.owner.id, policy.owner.display_name) == (a_id, alice.account)
    assert [(g.type, g.id, g.display_name, g.permission) for g in policy.acl.grants] == [
        ("CanonicalUser", a_id, alice.account, "FULL_CONTROL")]
    listed = list(bucket.list())
    assert (listed[0].owner.id, listed[0].owner.display_name) == (a_id, alice.account)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from boto.exception import S3ResponseError
    with pytest.raises(S3ResponseError) as refused:
        b.get_bucket(name).get_all_keys()
    assert refused.value.error_code == "AccessDenied"
    # PutBucketAcl by id, then by email, through boto 2's own grant helpers.
    bucket.add_user_grant("READ", b_id)
    assert [k.name for k in b.get_bucket(name, validate=False).list()] == ["doc"]
    ids = [(g.id, g.display_name, g.permission) for g in bucket.get_acl().acl.grants if g.type == "CanonicalUser"]
    assert (b_id, bob.account, "READ") in ids
    key.add_email_grant("READ", f"{bob.account}@example.com")
    assert b.get_bucket(name, validate=False).get_key("doc", validate=False).get_contents_as_string() == b"hello"
    grants = key.get_acl().acl.grants  # stored as Bob's account, as S3 resolves an email grant
    assert ("CanonicalUser", b_id, bob.account, "READ") in [(g.type, g.id, g.display_name, g.permission)
                                                          for g in grants]
    assert all(g.type != "AmazonCustomerByEmail" for g in grants)
    # PutBucketAcl by email: a second bucket Bob may list because of his CloudStack email alone.
    other = a.create_bucket(bucket_name("boto2-email"))
    other.new_key("mail").set_contents_from_string(b"m")
    other.add_email_grant("READ", f"{bob.account}@example.com")
    assert [k.name for k in b.get_bucket(other.name, validate=False).list()] == ["mail"]
    # The raw documents hold no access key.
    raw = b"".join(a.make_request("GET", target, query_args=query).read()
                   for target, query in ((name, "acl"), (name, ""), (other.name, "acl"), ("", "")))
    raw += b"".join(b.make_request("GET", target, query_args=query).read()
                    for target, query in ((name, ""), (other.name, ""), ("", "")))
    assert alice.access_key.encode() not in raw and bob.access_key.encode() not in raw


def _start(data_dir: str, reactor: Any, in_reactor: Callable[..., Any]) -> GatewayServer:
    from ec2soap import server
    from ec2soap.config import Settings

    settings = Settings(host="127.0.0.1", port=0, simulator_port=0, integration_port=-1, data_dir=data_dir,
                        simulator_job_seconds=0.2, job_poll_interval=0.05, job_wait=20.0, db_threads=4)
    running = in_reactor(server.start, settings, reactor)
    return GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}",
                         f"http://127.0.0.1:{running.ports['simulator']}/client/api")


def _stop(gateway: GatewayServer, in_reactor: Callable[..., Any]) -> None:
    in_reactor(gateway.running.stop)
    gateway.running.store.close()


def test_owners_stored_as_access_keys_are_upgraded_at_start(tmp_path_factory: Any, reactor: Any,
                                                            in_reactor: Callable[..., Any]) -> None:
    """Data written before canonical ids (owners and grantees were access keys) is upgraded when the gateway
    starts: nothing is lost, nothing shows a key."""
    from sqlalchemy import select, update

    from ec2soap.store.tables import s3_bucket, s3_object

    data_dir = str(tmp_path_factory.mktemp("legacy-owners"))
    gateway = _start(data_dir, reactor, in_reactor)
    try:
        keys = []
        for _ in range(2):
            name = f"u{uuid.uuid4().hex[:10]}"
            status, made = gateway.cloudstack("admin", "createAccount", username=name, password="pw",
                                              email=f"{name}@example.com", firstname=name, lastname="t")
            assert status == 200, made
            status, got = gateway.cloudstack("admin", "registerUserKeys", id=made["account"]["user"][0]["id"])
            keys.append(Keys(got["userkeys"]["apikey"], got["userkeys"]["secretkey"], name))
        alice, bob = keys
        a_id, b_id = (canonical_id(account_uuid(gateway, k)) for k in keys)
        a = boto3_client(gateway, alice)
        bucket = bucket_name("legacy")
        a.create_bucket(Bucket=bucket)
        a.put_object(Bucket=bucket, Key="doc", Body=b"old data")

        # What the previous version stored: access keys as owners and grantees.
        def make_legacy(conn: Any) -> None:
            legacy_acl = {"owner": alice.access_key, "grants": [
                {"type": "CanonicalUser", "grantee": alice.access_key, "permission": "FULL_CONTROL"},
                {"type": "CanonicalUser", "grantee": bob.access_key, "permission": "READ"}]}
            text = json.dumps(legacy_acl, separators=(",", ":"), sort_keys=True)
            conn.execute(update(s3_bucket).where(s3_bucket.c.name == bucket)
                         .values(owner=alice.access_key, acl=text))
            conn.execute(update(s3_object).values(owner=alice.access_key)
                         .where(s3_object.c.owner == a_id))
        gateway.running.store.run_sync(make_legacy)
    finally:
        _stop(gateway, in_reactor)

    gateway = _start(data_dir, reactor, in_reactor)
    try:
        a, b = boto3_client(gateway, alice), boto3_client(gateway, bob)
        seen = Recorder(a)
        assert [x["Name"] for x in a.list_buckets()["Buckets"]] == [bucket]
        acl = a.get_bucket_acl(Bucket=bucket)
        assert acl["Owner"]["ID"] == a_id
        assert {(g["Grantee"]["ID"], g["Permission"]) for g in acl["Grants"]} == {(a_id, "FULL_CONTROL"),
                                                                                   (b_id, "READ")}
        assert a.list_objects(Bucket=bucket)["Contents"][0]["Owner"]["ID"] == a_id
        assert [o["Key"] for o in b.list_objects(Bucket=bucket)["Contents"]] == ["doc"]
        assert a.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"old data"
        for body in seen.bodies:
            assert alice.access_key.encode() not in body and bob.access_key.encode() not in body

        def stored(conn: Any) -> list[str]:
            rows = conn.execute(select(s3_bucket.c.owner, s3_bucket.c.acl)).all()
            rows += conn.execute(select(s3_object.c.owner, s3_object.c.acl)).all()
            return [str(value) for row in rows for value in row]
        everything = " ".join(gateway.running.store.run_sync(stored))
        assert alice.access_key not in everything and bob.access_key not in everything
        assert requests.get(gateway.url + "/health", timeout=30).status_code in (200, 503)
    finally:
        _stop(gateway, in_reactor)


def test_users_of_one_account_share_its_id_and_buckets(gateway_server: GatewayServer,
                                                       new_user: Callable[[], Keys]) -> None:
    """S3 owners are accounts: a second user (other keys) of the same CloudStack account owns the same buckets."""
    first = new_user()
    status, accounts = gateway_server.cloudstack("admin", "listAccounts", name=first.account, listall="true")
    account = accounts["account"][0]
    name = f"{first.account}b"
    status, made = gateway_server.cloudstack("admin", "createUser", account=first.account,
                                             domainid=account["domainid"], username=name, password="pw",
                                             email=f"{name}@example.com", firstname=name, lastname="t")
    assert status == 200, made
    status, got = gateway_server.cloudstack("admin", "registerUserKeys", id=made["user"]["id"])
    assert status == 200, got
    second = Keys(got["userkeys"]["apikey"], got["userkeys"]["secretkey"], first.account)
    a, b = boto3_client(gateway_server, first), boto3_client(gateway_server, second)
    bucket = bucket_name("shared")
    a.create_bucket(Bucket=bucket)
    expected = {"ID": canonical_id(account["id"]), "DisplayName": first.account}
    assert a.list_buckets()["Owner"] == b.list_buckets()["Owner"] == expected
    assert [x["Name"] for x in b.list_buckets()["Buckets"]] == [bucket]
    b.put_object(Bucket=bucket, Key="from-second", Body=b"x")
    assert a.get_object_acl(Bucket=bucket, Key="from-second")["Owner"] == expected


def test_registered_keys_without_admin_keys(gateway_server: GatewayServer, new_user: Callable[[], Keys],
                                            tmp_path_factory: Any, reactor: Any,
                                            in_reactor: Callable[..., Any]) -> None:
    """A gateway without CloudStack admin keys asks CloudStack as the (registered) user whose account it is."""
    from ec2soap import server
    from ec2soap.config import Settings

    settings = Settings(host="127.0.0.1", port=0, data_dir=str(tmp_path_factory.mktemp("bare-owners")),
                        cloudstack_url=gateway_server.simulator_url, job_poll_interval=0.05, db_threads=4,
                        enable_ec2=True, enable_s3=True)
    assert not settings.cloudstack_admin_api_key
    running = in_reactor(server.start, settings, reactor)
    try:
        bare = GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}", gateway_server.simulator_url)
        keys = new_user()
        in_reactor(running.credentials.register, keys.access_key, keys.secret_key)
        client = boto3_client(bare, keys)
        seen = Recorder(client)
        client.create_bucket(Bucket=bucket_name("bare"))
        owner = client.list_buckets()["Owner"]
        assert owner == {"ID": canonical_id(account_uuid(gateway_server, keys)), "DisplayName": keys.account}
        assert all(keys.access_key.encode() not in body for body in seen.bodies)
    finally:
        in_reactor(running.stop)
        running.store.close()
