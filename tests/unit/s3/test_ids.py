"""The ids S3 hands out (version ids, upload ids, lifecycle rule ids) are URL-safe and never begin with "-",
which awscli's argument parser would take for an option (`--upload-id -x…`: "expected one argument"). One
draw in 64 of a plain token_urlsafe does begin with it, so 5,000 draws would find it."""
from __future__ import annotations

import re

from ec2soap.s3.metadata import new_version_id
from ec2soap.s3.rules import opaque_token
from ec2soap.s3.xml_lifecycle import parse_lifecycle


def test_no_id_begins_with_a_dash() -> None:
    for draw in (new_version_id, lambda: opaque_token(32)):
        ids = [draw() for _ in range(5000)]
        assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", i) for i in ids)
        assert len(set(ids)) == len(ids)


def test_a_lifecycle_rule_without_an_id_gets_one_that_does_not_begin_with_a_dash() -> None:
    body = (b'<LifecycleConfiguration><Rule><Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status>'
            b'<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>')
    ids = [parse_lifecycle(body)[0]["id"] for _ in range(2000)]
    assert not any(i.startswith("-") for i in ids) and all(len(i) == 48 for i in ids)
