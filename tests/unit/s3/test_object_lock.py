"""S3 Object Lock on S3Operations: bucket configuration, retention and legal hold rules, default retention,
and what a lock refuses (deleting a version) and allows (a delete marker). The clock is the test's own."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from ec2soap.s3 import object_lock
from ec2soap.s3 import xml_object_lock as xml
from ec2soap.s3.errors import S3Error
from ec2soap.s3.object_store import ObjectStore
from ec2soap.s3.operations import S3Operations
from ec2soap.store import Store
from tests.unit.s3.conftest import ALICE, BOB, SMALL, get, put, upload_part

NOW = 1_800_000_000.0  # 2027-01-15
DAY = 86400.0
LOCKED = {"x-amz-bucket-object-lock-enabled": "true"}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def lops(store: Store, objects: ObjectStore, clock: Clock) -> S3Operations:
    return S3Operations(store, objects, limits=SMALL, clock=clock)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _code(fn: Any) -> str:
    with pytest.raises(S3Error) as caught:
        fn()
    return caught.value.code


def _lock_headers(mode: str, until: float, **extra: str) -> dict:
    return {"x-amz-object-lock-mode": mode, "x-amz-object-lock-retain-until-date": _iso(until),
            "x-amz-sdk-checksum-algorithm": "CRC32", **extra}


def test_bucket_created_with_object_lock_is_versioned_for_good(lops: S3Operations) -> None:
    lops.create_bucket(ALICE, "lockb", headers=LOCKED)
    assert lops.get_bucket_versioning(ALICE, "lockb") == "Enabled"
    assert lops.get_object_lock_configuration(ALICE, "lockb") == {}
    assert _code(lambda: lops.put_bucket_versioning(ALICE, "lockb", "Suspended")) == "InvalidBucketState"
    lops.put_object_lock_configuration(ALICE, "lockb", {"mode": "GOVERNANCE", "days": 2})
    assert lops.get_object_lock_configuration(ALICE, "lockb") == {"rule": {"mode": "GOVERNANCE", "days": 2}}
    lops.put_object_lock_configuration(ALICE, "lockb", None)
    assert lops.get_object_lock_configuration(ALICE, "lockb") == {}
    assert _code(lambda: lops.get_object_lock_configuration(BOB, "lockb")) == "AccessDenied"


def test_object_lock_configuration_on_a_plain_bucket(lops: S3Operations) -> None:
    lops.create_bucket(ALICE, "plainb")
    assert _code(lambda: lops.get_object_lock_configuration(ALICE, "plainb")) == \
        "ObjectLockConfigurationNotFoundError"
    assert _code(lambda: lops.put_object_lock_configuration(ALICE, "plainb", None)) == "InvalidBucketState"
    lops.put_bucket_versioning(ALICE, "plainb", "Enabled")
    lops.put_object_lock_configuration(ALICE, "plainb", {"mode": "COMPLIANCE", "years": 1})
    assert lops.get_object_lock_configuration(ALICE, "plainb")["rule"] == {"mode": "COMPLIANCE", "years": 1}
    assert _code(lambda: lops.put_bucket_versioning(ALICE, "plainb", "Suspended")) == "InvalidBucketState"


@pytest.mark.parametrize("rule,code", [
    ({"mode": "GOVERNANCE", "days": 0}, "InvalidRetentionPeriod"),
    ({"mode": "GOVERNANCE", "days": -3}, "InvalidRetentionPeriod"),
    ({"mode": "GOVERNANCE", "years": 101}, "InvalidRetentionPeriod"),
    ({"mode": "GOVERNANCE", "days": 1, "years": 1}, "MalformedXML"),
    ({"mode": "GOVERNANCE"}, "MalformedXML"),
    ({"mode": "FOREVER", "days": 1}, "MalformedXML"),
])
def test_default_rules_s3_refuses(rule: dict, code: str) -> None:
    assert _code(lambda: object_lock.validate_rule(rule)) == code


def test_configuration_xml_round_trip() -> None:
    body = xml.object_lock_configuration({"rule": {"mode": "GOVERNANCE", "years": 3}})
    assert xml.parse_object_lock_configuration(body) == {"mode": "GOVERNANCE", "years": 3}
    assert xml.parse_object_lock_configuration(xml.object_lock_configuration({})) is None
    for bad in (b"<ObjectLockConfiguration/>", b"<ObjectLockConfiguration><ObjectLockEnabled>Disabled"
                b"</ObjectLockEnabled></ObjectLockConfiguration>",
                b"<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule/>"
                b"</ObjectLockConfiguration>"):
        assert _code(lambda: xml.parse_object_lock_configuration(bad)) == "MalformedXML"
    assert xml.parse_retention(b"<Retention/>") == (None, None)
    assert _code(lambda: xml.parse_retention(b"<Retention><Mode>GOVERNANCE</Mode></Retention>")) == "MalformedXML"
    assert _code(lambda: xml.parse_legal_hold(b"<LegalHold><Status>on</Status></LegalHold>")) == "MalformedXML"


def test_default_retention_applies_to_new_versions(lops: S3Operations, clock: Clock) -> None:
    lops.create_bucket(ALICE, "defb", headers=LOCKED)
    lops.put_object_lock_configuration(ALICE, "defb", {"mode": "COMPLIANCE", "days": 3})
    version = put(lops, ALICE, "defb", "k", b"data")
    assert version.object_lock == {"mode": "COMPLIANCE", "until": NOW + 3 * DAY}
    assert lops.get_object_retention(ALICE, "defb", "k") == ("COMPLIANCE", NOW + 3 * DAY)
    headers = lops.get_object(ALICE, "defb", "k", head=True).headers
    assert headers["x-amz-object-lock-mode"] == "COMPLIANCE"
    assert headers["x-amz-object-lock-retain-until-date"] == object_lock.format_date(NOW + 3 * DAY)
    # Explicit headers win over the default.
    explicit = put(lops, ALICE, "defb", "k", b"data2", _lock_headers("GOVERNANCE", NOW + DAY))
    assert explicit.object_lock == {"mode": "GOVERNANCE", "until": float(int(NOW + DAY))}


def test_lock_headers_need_a_lock_bucket_and_integrity(lops: S3Operations) -> None:
    lops.create_bucket(ALICE, "nolock")
    assert _code(lambda: put(lops, ALICE, "nolock", "k", b"x", _lock_headers("GOVERNANCE", NOW + DAY))) == \
        "InvalidRequest"
    lops.create_bucket(ALICE, "withlock", headers=LOCKED)
    bare = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": _iso(NOW + DAY),
            "content-length": "1"}
    assert _code(lambda: lops.check_put(ALICE, "withlock", "k", bare)) == "InvalidRequest"
    assert _code(lambda: lops.check_put(ALICE, "withlock", "k", {
        "x-amz-object-lock-mode": "GOVERNANCE", "content-md5": "x", "content-length": "1"})) == "InvalidArgument"
    assert _code(lambda: put(lops, ALICE, "withlock", "k", b"x", _lock_headers("GOVERNANCE", NOW - DAY))) == \
        "InvalidArgument"
    assert _code(lambda: put(lops, ALICE, "withlock", "k", b"x", _lock_headers("FOREVER", NOW + DAY))) == \
        "InvalidArgument"


def test_locked_versions_cannot_be_deleted_but_get_delete_markers(lops: S3Operations, clock: Clock) -> None:
    lops.create_bucket(ALICE, "delb", headers=LOCKED)
    comp = put(lops, ALICE, "delb", "c", b"c", _lock_headers("COMPLIANCE", NOW + DAY))
    gov = put(lops, ALICE, "delb", "g", b"g", _lock_headers("GOVERNANCE", NOW + DAY))
    held = put(lops, ALICE, "delb", "h", b"h", {"x-amz-object-lock-legal-hold": "ON",
                                               "x-amz-sdk-checksum-algorithm": "CRC32"})
    for key, version in (("c", comp), ("g", gov), ("h", held)):
        assert _code(lambda: lops.delete_object(ALICE, "delb", key, version.version_id)) == "AccessDenied"
        marker = lops.delete_object(ALICE, "delb", key)  # a delete marker is always allowed
        assert marker.delete_marker
    # COMPLIANCE and a legal hold ignore the bypass; GOVERNANCE yields to it (for who may bypass).
    assert _code(lambda: lops.delete_object(ALICE, "delb", "c", comp.version_id, bypass=True)) == "AccessDenied"
    assert _code(lambda: lops.delete_object(ALICE, "delb", "h", held.version_id, bypass=True)) == "AccessDenied"
    outcomes = lops.delete_objects(ALICE, "delb", [("g", gov.version_id), ("c", comp.version_id)], bypass=True)
    assert [o.error.code if o.error else None for o in outcomes] == [None, "AccessDenied"]
    # Once the retention has run out the version goes; the legal hold stays until lifted.
    clock.now = NOW + 2 * DAY
    lops.delete_object(ALICE, "delb", "c", comp.version_id)
    assert _code(lambda: lops.delete_object(ALICE, "delb", "h", held.version_id)) == "AccessDenied"
    lops.put_object_legal_hold(ALICE, "delb", "h", "OFF", held.version_id)
    assert lops.get_object_legal_hold(ALICE, "delb", "h", held.version_id) == "OFF"
    lops.delete_object(ALICE, "delb", "h", held.version_id)
    assert _code(lambda: lops.delete_bucket(ALICE, "delb")) == "BucketNotEmpty"


def test_retention_rules(lops: S3Operations, clock: Clock) -> None:
    lops.create_bucket(ALICE, "retb", headers=LOCKED)
    v = put(lops, ALICE, "retb", "k", b"x")
    assert _code(lambda: lops.get_object_retention(ALICE, "retb", "k")) == "NoSuchObjectLockConfiguration"
    assert _code(lambda: lops.get_object_legal_hold(ALICE, "retb", "k")) == "NoSuchObjectLockConfiguration"
    lops.put_object_retention(ALICE, "retb", "k", "GOVERNANCE", _iso(NOW + 10 * DAY))
    # Shortening or removing GOVERNANCE needs the bypass; extending does not.
    assert _code(lambda: lops.put_object_retention(ALICE, "retb", "k", "GOVERNANCE", _iso(NOW + DAY))) == \
        "AccessDenied"
    assert _code(lambda: lops.put_object_retention(ALICE, "retb", "k", None, None)) == "AccessDenied"
    lops.put_object_retention(ALICE, "retb", "k", "GOVERNANCE", _iso(NOW + 20 * DAY))
    lops.put_object_retention(ALICE, "retb", "k", "GOVERNANCE", _iso(NOW + DAY), bypass=True)
    assert lops.get_object_retention(ALICE, "retb", "k") == ("GOVERNANCE", float(int(NOW + DAY)))
    # BOB, given PutObjectRetention by policy but not BypassGovernanceRetention, cannot bypass.
    lops.put_bucket_policy(ALICE, "retb", '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                           '"Principal": {"AWS": ["AKBOB"]}, "Action": ["s3:PutObjectRetention"], '
                           '"Resource": "arn:aws:s3:::retb/*"}]}')
    assert _code(lambda: lops.put_object_retention(BOB, "retb", "k", None, None, bypass=True)) == "AccessDenied"
    # GOVERNANCE turns into COMPLIANCE only with the bypass.
    assert _code(lambda: lops.put_object_retention(ALICE, "retb", "k", "COMPLIANCE", _iso(NOW + 5 * DAY))) == \
        "AccessDenied"
    # COMPLIANCE can be extended only, never shortened, removed or turned into GOVERNANCE.
    lops.put_object_retention(ALICE, "retb", "k", "COMPLIANCE", _iso(NOW + 5 * DAY), v.version_id, bypass=True)
    for mode, until in (("COMPLIANCE", _iso(NOW + 2 * DAY)), ("GOVERNANCE", _iso(NOW + 9 * DAY)), (None, None)):
        assert _code(lambda: lops.put_object_retention(ALICE, "retb", "k", mode, until, bypass=True)) == \
            "AccessDenied"
    lops.put_object_retention(ALICE, "retb", "k", "COMPLIANCE", _iso(NOW + 6 * DAY))
    assert _code(lambda: lops.put_object_retention(ALICE, "retb", "k", "COMPLIANCE", _iso(NOW - DAY))) == \
        "InvalidArgument"
    # The legal hold is its own setting beside the retention.
    lops.put_object_legal_hold(ALICE, "retb", "k", "ON")
    assert lops.get_object_retention(ALICE, "retb", "k")[0] == "COMPLIANCE"
    assert lops.get_object_legal_hold(ALICE, "retb", "k") == "ON"


def test_retention_calls_on_a_bucket_without_object_lock(lops: S3Operations) -> None:
    lops.create_bucket(ALICE, "noret")
    put(lops, ALICE, "noret", "k", b"x")
    assert _code(lambda: lops.get_object_retention(ALICE, "noret", "k")) == "InvalidRequest"
    assert _code(lambda: lops.put_object_legal_hold(ALICE, "noret", "k", "ON")) == "InvalidRequest"


def test_multipart_upload_carries_its_lock(lops: S3Operations) -> None:
    lops.create_bucket(ALICE, "mplock", headers=LOCKED)
    upload = lops.create_multipart_upload(ALICE, "mplock", "big", _lock_headers("GOVERNANCE", NOW + DAY,
                                          **{"x-amz-object-lock-legal-hold": "ON"}))
    part = upload_part(lops, ALICE, "mplock", "big", upload.upload_id, 1, b"z" * 2000)
    version = lops.complete_multipart_upload(ALICE, "mplock", "big", upload.upload_id, [(1, part.etag)])
    assert version.object_lock == {"mode": "GOVERNANCE", "until": float(int(NOW + DAY)), "legal_hold": "ON"}
    assert get(lops, ALICE, "mplock", "big") == b"z" * 2000
    assert _code(lambda: lops.create_multipart_upload(ALICE, "mplock", "x", {
        "x-amz-object-lock-mode": "GOVERNANCE"})) == "InvalidArgument"
    lops.create_bucket(ALICE, "mpnolock")
    assert _code(lambda: lops.create_multipart_upload(ALICE, "mpnolock", "x", _lock_headers(
        "GOVERNANCE", NOW + DAY))) == "InvalidRequest"


def test_is_locked_reads_objects_and_rows() -> None:
    class Row:
        object_lock = '{"mode": "GOVERNANCE", "until": 100.0}'
    assert object_lock.is_locked(Row(), 99.0) and not object_lock.is_locked(Row(), 100.0)
    Row.object_lock = '{"legal_hold": "ON"}'
    assert object_lock.is_locked(Row(), 1e12)
    Row.object_lock = None
    assert not object_lock.is_locked(Row(), 0.0)


@pytest.mark.parametrize("name,served_on", [("object-lock", "bucket"), ("retention", "object"),
                                            ("legal-hold", "object")])
def test_lock_subresources_are_served_on_their_target_only(name: str, served_on: str) -> None:
    import asyncio
    from types import SimpleNamespace

    from ec2soap.s3 import handlers_object_lock, routes

    for method in ("GET", "PUT", "POST", "DELETE"):
        for target, (bucket, key) in (("bucket", ("b", None)), ("object", ("b", "k"))):
            route = routes.resolve(method, bucket, key, {name: ""}, {})
            assert name in route.subresources and not route.upload, (method, target)
            if target == served_on and method in ("GET", "PUT"):
                assert route.handler is not handlers_object_lock.not_served
                continue
            # Never a plain DELETE, POST or PUT of the bucket or object: MethodNotAllowed.
            call = SimpleNamespace(method=method, bucket=bucket, key=key, query={name: ""}, headers={})
            with pytest.raises(S3Error) as caught:
                asyncio.run(route.handler(None, call))
            assert (caught.value.code, caught.value.status) == ("MethodNotAllowed", 405)


def test_lock_headers_need_their_own_permissions(lops: S3Operations) -> None:
    lops.create_bucket(ALICE, "permb", headers=LOCKED)
    lops.put_bucket_policy(ALICE, "permb", '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                           '"Principal": {"AWS": ["AKBOB"]}, "Action": ["s3:PutObject"], '
                           '"Resource": "arn:aws:s3:::permb/*"}]}')
    put(lops, BOB, "permb", "plain", b"x")  # PutObject alone writes without a lock
    assert _code(lambda: put(lops, BOB, "permb", "k", b"x", _lock_headers("GOVERNANCE", NOW + DAY))) == \
        "AccessDenied"
    assert _code(lambda: put(lops, BOB, "permb", "k", b"x", {"x-amz-object-lock-legal-hold": "ON",
                                                               "x-amz-sdk-checksum-algorithm": "CRC32"})) == \
        "AccessDenied"
    assert _code(lambda: lops.get_object(BOB, "permb", "k", head=True)) in ("NoSuchKey", "AccessDenied")


def test_lifecycle_never_removes_a_locked_version(lops: S3Operations, clock: Clock) -> None:
    from ec2soap.s3.xml_lifecycle import parse_lifecycle

    lops.create_bucket(ALICE, "lclock", headers=LOCKED)
    lops.put_bucket_lifecycle(ALICE, "lclock", parse_lifecycle(
        b"<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix></Prefix></Filter><Status>Enabled</Status>"
        b"<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration>"
        b"</Rule></LifecycleConfiguration>"))
    held = put(lops, ALICE, "lclock", "k", b"held", {"x-amz-object-lock-legal-hold": "ON",
                                                      "x-amz-sdk-checksum-algorithm": "CRC32"})
    kept = put(lops, ALICE, "lclock", "k", b"kept", _lock_headers("COMPLIANCE", NOW + 30 * DAY))
    put(lops, ALICE, "lclock", "k", b"free")
    put(lops, ALICE, "lclock", "k", b"current")
    lops.sweep_lifecycle(now=NOW + 10 * DAY)
    left = {v.version_id for v in lops.list_object_versions(ALICE, "lclock").versions}
    # The noncurrent "free" version went; the held and retained ones stay until their lock ends.
    assert held.version_id in left and kept.version_id in left and len(left) == 3
    lops.put_object_legal_hold(ALICE, "lclock", "k", "OFF", held.version_id)
    lops.sweep_lifecycle(now=NOW + 40 * DAY)
    assert len(lops.list_object_versions(ALICE, "lclock").versions) == 1
