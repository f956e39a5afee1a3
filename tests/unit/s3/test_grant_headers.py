"""x-amz-grant-* headers: every grantee list, each value quoted (`id="…"`, as S3's documentation writes it) or
not (`id=…`, as awscli's examples pass it), comma-separated with or without spaces, parses to the same grants;
what is not a grantee list is InvalidArgument."""
from __future__ import annotations

import random

import pytest

from ec2soap.s3.acl import grants_from_headers
from ec2soap.s3.errors import S3Error

_CANONICAL = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
_VALUES = {"id": [_CANONICAL, "a" * 64],
           "uri": ["http://acs.amazonaws.com/groups/global/AllUsers",
                   "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"],
           "emailAddress": ["bob@example.com", "Ann.Lee+s3@example.org"]}
_TYPES = {"id": "CanonicalUser", "uri": "Group", "emailAddress": "AmazonCustomerByEmail"}


def test_quoted_and_unquoted_grantee_lists_give_the_same_grants() -> None:
    rng = random.Random(1213)
    for _ in range(400):
        chosen = [(kind, rng.choice(_VALUES[kind])) for kind in rng.choices(list(_VALUES), k=rng.randint(1, 4))]
        items = [f'{rng.choice([kind, kind.lower()])}{rng.choice(["=", " = "])}'
                 f'{rng.choice([chr(34) + value + chr(34), value])}' for kind, value in chosen]
        header = rng.choice([",", ", ", " ,"]).join(items)
        got = grants_from_headers({"x-amz-grant-read": header}, resolve=False)  # emails as sent
        assert [(g["type"], g["grantee"], g["permission"]) for g in got] == [
            (_TYPES[kind], value, "READ") for kind, value in chosen], header


@pytest.mark.parametrize("header", ['id', 'id=', 'id=""x', 'name="bob"', 'id="a" id="b"', 'id=a b',
                                    'uri=http://bad/group', 'id="a",,id="b"'])
def test_what_is_no_grantee_list_is_invalid_argument(header: str) -> None:
    with pytest.raises(S3Error) as caught:
        grants_from_headers({"x-amz-grant-write": header})
    assert caught.value.code == "InvalidArgument"


def test_resolved_emails_are_stored_as_canonical_users_and_unknown_ones_as_given(monkeypatch) -> None:
    from ec2soap.s3 import principal
    from ec2soap.s3.acl import validate_acl

    monkeypatch.setattr(principal, "_EMAILS", {})
    principal.remember_email(" Bob@Example.com ", _CANONICAL)
    header = 'emailAddress="BOB@example.com", emailAddress="carol@example.com"'
    assert [(g["type"], g["grantee"]) for g in grants_from_headers({"x-amz-grant-read": header})] == [
        ("CanonicalUser", _CANONICAL), ("AmazonCustomerByEmail", "carol@example.com")]
    assert [g["type"] for g in grants_from_headers({"x-amz-grant-read": header}, resolve=False)] == [
        "AmazonCustomerByEmail", "AmazonCustomerByEmail"]
    owner = "a" * 64
    body = {"owner": owner, "grants": [{"type": "AmazonCustomerByEmail", "grantee": "bob@example.COM",
                                        "permission": "WRITE_ACP"}]}
    assert validate_acl(body, owner)["grants"] == [
        {"type": "CanonicalUser", "grantee": _CANONICAL, "permission": "WRITE_ACP"}]
