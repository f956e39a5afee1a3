"""Owners stored as access keys (before canonical ids) are found and rewritten in place, on every engine."""
from __future__ import annotations

from typing import Any

from ec2soap.auth.identity import Identity, canonical_id
from ec2soap.s3 import acl as acls
from ec2soap.s3.owners import rewrite_emails_sync, rewrite_sync, scan_emails_sync, scan_sync
from ec2soap.s3.principal import Principal
from tests.unit.s3.conftest import get, put

# Base64url keys hold '_' and '-': LIKE wildcards that the rewrite must escape.
OLD_ALICE, OLD_BOB, OLD_CAROL = "AK_alice-0%1", "AK_bob-0_2", "AK_carol-3"


def principal(key: str, account: str, email: str = "") -> Principal:
    return Principal(Identity(access_key=key, canonical_id=canonical_id(account), display_name=account,
                              email=email, account_id=account))


def test_stored_access_keys_become_canonical_ids_everywhere(any_ops: Any) -> None:
    ops, store = any_ops, any_ops.store
    # What the previous version wrote: callers were access keys.
    ops.create_bucket(OLD_ALICE, "legacy")
    put(ops, OLD_ALICE, "legacy", "doc", b"kept")
    put(ops, OLD_ALICE, "legacy", "plain", b"private")
    upload = ops.create_multipart_upload(OLD_ALICE, "legacy", "parts", {})
    ops.put_bucket_acl(OLD_ALICE, "legacy", headers={"x-amz-grant-read": f'id="{OLD_BOB}"',
                                                     "x-amz-grant-full-control": f'id="{OLD_ALICE}"'})
    ops.put_object_acl(OLD_ALICE, "legacy", "doc", headers={"x-amz-grant-read": f'id="{OLD_CAROL}"',
                                                            "x-amz-grant-full-control": f'id="{OLD_ALICE}"'})
    assert store.run_sync(scan_sync) == {OLD_ALICE, OLD_BOB, OLD_CAROL}

    # Before the rewrite, a grant by the old key still works for that key's holder (compatibility).
    bob = principal(OLD_BOB, "bob-account")
    assert [o.key for o in ops.list_objects(bob, "legacy").contents] == ["doc", "plain"]

    alice = principal(OLD_ALICE, "alice-account")
    carol = principal(OLD_CAROL, "carol-account")
    for old, new in ((OLD_ALICE, alice), (OLD_BOB, bob), (OLD_CAROL, carol)):
        assert store.run_sync(rewrite_sync, old, str(new)) > 0
    assert store.run_sync(scan_sync) == set()

    assert [b.name for b in ops.list_buckets(alice)] == ["legacy"]
    bucket_acl = ops.get_bucket_acl(alice, "legacy")
    assert bucket_acl["owner"] == str(alice)
    assert {(g["grantee"], g["permission"]) for g in bucket_acl["grants"]} == {(str(alice), "FULL_CONTROL"),
                                                                               (str(bob), "READ")}
    assert get(ops, carol, "legacy", "doc") == b"kept"
    assert get(ops, alice, "legacy", "plain") == b"private"
    assert ops.list_parts(alice, "legacy", "parts", upload.upload_id).upload.owner == str(alice)
    # Nothing stored names an old key any more.
    def everything(conn: Any) -> str:
        from sqlalchemy import select

        from ec2soap.store.tables import s3_bucket, s3_object, s3_upload
        rows = [r for t in (s3_bucket, s3_object, s3_upload) for r in conn.execute(select(t.c.owner, t.c.acl))]
        return repr(rows)
    dump = store.run_sync(everything)
    assert all(old not in dump for old in (OLD_ALICE, OLD_BOB, OLD_CAROL))


def test_email_grants_match_the_callers_cloudstack_email() -> None:
    owner = canonical_id("owner-account")
    acl = {"owner": owner, "grants": [{"type": "AmazonCustomerByEmail", "grantee": "Bob@Example.com",
                                       "permission": "READ"}]}
    assert acls.permits(acl, principal("AKB", "bob-account", "bob@example.com"), "READ")
    assert not acls.permits(acl, principal("AKC", "carol-account", "carol@example.com"), "READ")
    assert not acls.permits(acl, principal("AKB", "bob-account", "bob@example.com"), "WRITE")
    assert not acls.permits(acl, None, "READ")


def test_stored_email_grants_become_the_canonical_users_they_resolve_to(any_ops: Any, monkeypatch: Any) -> None:
    from ec2soap.s3 import principal as principals

    monkeypatch.setattr(principals, "_EMAILS", {})  # nothing resolved here: the grants are stored as emails
    ops, store = any_ops, any_ops.store
    alice, bob = canonical_id("alice-account"), canonical_id("bob-account")
    ops.create_bucket(alice, "mails")
    put(ops, alice, "mails", "doc", b"d", {"x-amz-grant-read": 'emailAddress="Bob_1%@Example.com"',
                                           "x-amz-grant-full-control": f'id="{alice}"'})
    ops.put_bucket_acl(alice, "mails", headers={"x-amz-grant-write": 'emailAddress="ghost@nowhere.invalid"',
                                                "x-amz-grant-full-control": f'id="{alice}"'})
    assert store.run_sync(scan_emails_sync) == {"bob_1%@example.com", "ghost@nowhere.invalid"}
    assert store.run_sync(rewrite_emails_sync, {"bob_1%@example.com": bob}) == 1
    assert {(g["type"], g["grantee"]) for g in ops.get_object_acl(alice, "mails", "doc")["grants"]} == {
        ("CanonicalUser", alice), ("CanonicalUser", bob)}
    assert get(ops, principal("AKB", "bob-account", "other@example.com"), "mails", "doc") == b"d"
    assert store.run_sync(scan_emails_sync) == {"ghost@nowhere.invalid"}  # the bucket's grant is left as it was
