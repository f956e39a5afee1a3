"""Canonical S3 ids from CloudStack accounts (auth/identity.py)."""
from __future__ import annotations

import hashlib
import uuid

from ec2soap.auth.identity import canonical_id, identity_from_user, is_canonical_id, opaque_id


def test_canonical_id_is_64_lowercase_hex_and_a_function_of_the_account_alone() -> None:
    account = str(uuid.uuid4())
    value = canonical_id(account)
    assert is_canonical_id(value) and len(value) == 64 and value == value.lower()
    # The same wherever it is computed (no process or host secret), whatever the uuid's case or spaces.
    assert canonical_id(account.upper()) == canonical_id(f" {account} ") == value
    # Labelled: not the bare SHA-256 of the uuid (nothing else hashing account uuids collides with it).
    assert value != hashlib.sha256(account.encode()).hexdigest()
    assert len({canonical_id(str(uuid.uuid4())) for _ in range(200)}) == 200


def test_identity_from_a_cloudstack_user() -> None:
    user = {"id": "u-1", "accountid": "0d8f0c7e-5b1e-4c39-9a55-3f5c1b8e2a10", "account": "acme",
            "email": "ops@acme.example", "apikey": "AKIAEXAMPLEKEY", "secretkey": "s3cr3t"}
    identity = identity_from_user("AKIAEXAMPLEKEY", user)
    assert identity is not None
    assert identity.canonical_id == canonical_id(user["accountid"])
    assert (identity.display_name, identity.email, identity.account_id) == ("acme", "ops@acme.example",
                                                                              user["accountid"])
    assert "AKIAEXAMPLEKEY" not in identity.canonical_id and "s3cr3t" not in repr(identity)
    assert identity_from_user("AK", {"account": "no-id"}) is None


def test_is_canonical_id_and_the_stand_in_for_stored_keys() -> None:
    assert not is_canonical_id("AKIAEXAMPLEKEY") and not is_canonical_id("") and not is_canonical_id(None)
    assert not is_canonical_id("A" * 64)  # upper case is not S3's form
    stand_in = opaque_id("AKIAEXAMPLEKEY")
    assert is_canonical_id(stand_in) and "AKIAEXAMPLEKEY" not in stand_in
    assert stand_in == opaque_id("AKIAEXAMPLEKEY") != opaque_id("AKIAOTHERKEY")
