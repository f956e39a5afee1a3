"""S3 lifecycle without a server: the LifecycleConfiguration parser's validation (each with S3's error), the
document it gives back, what the rules decide for a key, and sweeps over a real store (SQLite here; the race of
two sweepers on every engine)."""
from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from ec2soap.s3.errors import S3Error
from ec2soap.s3.lifecycle_rules import DAY, EXPIRE_CURRENT, REMOVE_VERSION, decide, due_after
from ec2soap.s3.operations import S3Operations
from ec2soap.s3.xml_lifecycle import lifecycle_configuration, parse_lifecycle
from tests.unit.s3.conftest import ALICE, BOB, get, put, upload_part
from tests.unit.s3.test_concurrency import race, referenced

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def doc(*rules: str) -> bytes:
    return f"<LifecycleConfiguration {NS}>{''.join(rules)}</LifecycleConfiguration>".encode()


def rule(body: str, rule_id: str = "r", status: str = "Enabled", filt: str = "<Filter><Prefix></Prefix></Filter>"
         ) -> str:
    ident = f"<ID>{rule_id}</ID>" if rule_id is not None else ""
    return f"<Rule>{ident}{filt}<Status>{status}</Status>{body}</Rule>"


DAYS1 = "<Expiration><Days>1</Days></Expiration>"


def refused(body: bytes) -> S3Error:
    with pytest.raises(S3Error) as caught:
        parse_lifecycle(body)
    return caught.value


@pytest.mark.parametrize("body,code,words", [
    (doc(rule(DAYS1, "x" * 256)), "InvalidArgument", "ID length"),
    (doc(rule(DAYS1, "same"), rule(DAYS1, "same")), "InvalidArgument", "unique"),
    (doc(rule(DAYS1, status="On")), "MalformedXML", ""),
    (doc(rule("<Expiration><Days>0</Days></Expiration>")), "InvalidArgument", "'Days'"),
    (doc(rule("<Expiration><Days>-3</Days></Expiration>")), "InvalidArgument", "'Days'"),
    (doc(rule("<Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>")), "InvalidArgument", "midnight"),
    (doc(rule("<Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration>")), "MalformedXML", ""),
    (doc(rule("<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
              "</Expiration>")), "MalformedXML", ""),
    (doc(rule("<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays></NoncurrentVersionExpiration>")),
     "InvalidArgument", "NoncurrentDays"),
    (doc(rule("<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>0"
              "</NewerNoncurrentVersions></NoncurrentVersionExpiration>")), "InvalidArgument", "NewerNoncurrent"),
    (doc(rule("<AbortIncompleteMultipartUpload><DaysAfterInitiation>0</DaysAfterInitiation>"
              "</AbortIncompleteMultipartUpload>")), "InvalidArgument", "DaysAfterInitiation"),
    (doc(rule("<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
              "</AbortIncompleteMultipartUpload>", filt="<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>")),
     "InvalidRequest", "Tags"),
    (doc(rule("<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>",
              filt="<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>")), "InvalidRequest", "Tags"),
    (doc(rule("")), "InvalidRequest", "At least one action"),
    (doc(rule(DAYS1, filt="")), "MalformedXML", ""),
    (doc(rule(DAYS1, filt="<Prefix>a</Prefix><Filter><Prefix>a</Prefix></Filter>")), "MalformedXML", ""),
    (doc(rule(DAYS1, filt="<Filter><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></Filter>")),
     "MalformedXML", ""),
    (doc(rule(DAYS1, filt="<Filter><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
                          "</Filter>").replace("<Filter>", "<Filter><And><Prefix>a</Prefix>", 0)), None, ""),
    (doc(rule(DAYS1, filt="<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan><ObjectSizeLessThan>5"
                          "</ObjectSizeLessThan></And></Filter>")), "InvalidArgument", "ObjectSizeGreaterThan"),
    (doc(rule("<Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition>")),
     "NotImplemented", "transitions"),
    (doc(*[rule(DAYS1, f"r{i}") for i in range(1001)]), "MalformedXML", ""),
    (doc(), "MalformedXML", ""),
    (b"<LifecycleConfiguration><Rule>", "MalformedXML", ""),
])
def test_invalid_configurations_get_s3s_errors(body: bytes, code: str, words: str) -> None:
    if code is None:
        assert parse_lifecycle(body)  # the control: a valid one parses
        return
    error = refused(body)
    assert error.code == code and words in error.message, (error.code, error.message)


def test_every_form_is_given_back_as_it_was_put() -> None:
    body = doc(
        rule(DAYS1, "legacy", filt="<Prefix>logs/</Prefix>"),
        rule("<Expiration><Date>2030-01-01T00:00:00.000Z</Date></Expiration>", "dated", status="Disabled"),
        rule("<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>"
             "<NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays><NewerNoncurrentVersions>2"
             "</NewerNoncurrentVersions></NoncurrentVersionExpiration>"
             "<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>"
             "</AbortIncompleteMultipartUpload>", "markers", filt="<Filter><Prefix>tmp/</Prefix></Filter>"),
        rule(DAYS1, "both", filt="<Filter><And><Prefix>p/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
                                 "<ObjectSizeGreaterThan>5</ObjectSizeGreaterThan></And></Filter>"),
        rule(DAYS1, None, filt="<Filter></Filter>"))
    rules = parse_lifecycle(body)
    again = parse_lifecycle(lifecycle_configuration(rules))
    assert again == rules
    assert rules[0]["filter"] is None and rules[0]["prefix"] == "logs/"
    assert rules[1]["expiration"]["at"] == 1893456000.0 and rules[1]["status"] == "Disabled"
    assert rules[3]["filter"] == {"prefix": "p/", "tags": [["k", "v"]], "gt": 5, "lt": None, "and": True}
    assert rules[4]["id"] and rules[4]["filter"]["prefix"] is None  # S3 names a rule given no ID


def _v(key: str, version: str, modified: float, latest: bool = False, marker: bool = False, size: int = 10,
       tags: dict | None = None) -> SimpleNamespace:
    return SimpleNamespace(key=key, version_id=version, last_modified=modified, is_latest=latest,
                           delete_marker=marker, size=size, tags=tags or {})


def _rules(body: str, filt: str = "<Filter><Prefix></Prefix></Filter>") -> list[dict]:
    return parse_lifecycle(doc(rule(body, filt=filt)))


def test_days_round_to_the_next_midnight_utc() -> None:
    created = 10 * DAY + 37800  # 10:30 on day 10
    assert due_after(created, 3) == 14 * DAY
    rules = _rules(DAYS1)
    current = _v("k", "v1", created, latest=True)
    assert decide(rules, [current], 12 * DAY - 1) == []
    assert decide(rules, [current], 12 * DAY) == [(EXPIRE_CURRENT, current)]


def test_filters_by_prefix_tags_and_size() -> None:
    rules = _rules(DAYS1, "<Filter><And><Prefix>a/</Prefix><Tag><Key>t</Key><Value>1</Value></Tag>"
                          "<ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>")
    later = 100 * DAY
    for version, due in ((_v("a/x", "1", 0, True, tags={"t": "1"}), True),
                         (_v("b/x", "1", 0, True, tags={"t": "1"}), False),
                         (_v("a/x", "1", 0, True, tags={"t": "2"}), False),
                         (_v("a/x", "1", 0, True), False),
                         (_v("a/x", "1", 0, True, size=100, tags={"t": "1"}), False)):
        assert bool(decide(rules, [version], later)) is due, version


def test_noncurrent_versions_count_from_their_successor_and_keep_the_newer_ones() -> None:
    rules = _rules("<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays><NewerNoncurrentVersions>1"
                   "</NewerNoncurrentVersions></NoncurrentVersionExpiration>")
    versions = [_v("k", "v4", 50 * DAY, latest=True), _v("k", "v3", 40 * DAY), _v("k", "v2", 30 * DAY),
                _v("k", "v1", 0)]
    # v3 is the newest noncurrent one (kept whatever its age); v2 is noncurrent since day 40 (v3 written),
    # v1 since day 30: each due at the first midnight 2 days later.
    assert decide(rules, versions, 33 * DAY - 1) == []
    assert decide(rules, versions, 33 * DAY) == [(REMOVE_VERSION, versions[3])]
    assert decide(rules, versions, 43 * DAY) == [(REMOVE_VERSION, versions[2]), (REMOVE_VERSION, versions[3])]
    assert decide(rules, versions, 1000 * DAY)[0][1] is versions[2]  # never v3


def test_an_expired_delete_marker_is_removed_only_when_alone() -> None:
    rules = _rules("<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>")
    marker = _v("k", "m", 0, latest=True, marker=True)
    assert decide(rules, [marker], 1) == [(REMOVE_VERSION, marker)]
    assert decide(rules, [marker, _v("k", "v1", 0)], 1) == []
    assert decide(rules, [_v("k", "m", 0, marker=True)], 1) == []  # no current version in view: nothing
    by_days = _rules("<Expiration><Days>2</Days></Expiration>")
    marker = _v("k", "m", 10 * DAY + 5, latest=True, marker=True)
    assert decide(by_days, [marker], 13 * DAY - 1) == []  # a Days rule: once the marker itself is that old
    assert decide(by_days, [marker], 13 * DAY) == [(REMOVE_VERSION, marker)]
    assert decide(by_days, [marker, _v("k", "v1", 0)], 13 * DAY) == []


# -- sweeps over a store -----------------------------------------------------------------------------------

def configure(ops: S3Operations, bucket: str, *rules: str) -> None:
    ops.put_bucket_lifecycle(ALICE, bucket, parse_lifecycle(doc(*rules)))


def test_configuration_is_the_owners_and_goes_with_the_bucket(any_ops: S3Operations) -> None:
    ops = any_ops  # every engine: the rules row must go before the bucket row its foreign key names
    ops.create_bucket(ALICE, "conf")
    with pytest.raises(S3Error) as caught:
        ops.get_bucket_lifecycle(ALICE, "conf")
    assert caught.value.code == "NoSuchLifecycleConfiguration"
    configure(ops, "conf", rule(DAYS1))
    assert ops.get_bucket_lifecycle(ALICE, "conf")[0]["expiration"] == {"days": 1}
    for call in (lambda: ops.get_bucket_lifecycle(BOB, "conf"), lambda: ops.delete_bucket_lifecycle(BOB, "conf"),
                 lambda: ops.put_bucket_lifecycle(BOB, "conf", [])):
        with pytest.raises(S3Error) as caught:
            call()
        assert caught.value.code == "AccessDenied"
    ops.delete_bucket(ALICE, "conf")
    ops.create_bucket(ALICE, "conf")  # a new bucket of the same name starts without rules
    with pytest.raises(S3Error):
        ops.get_bucket_lifecycle(ALICE, "conf")


def test_a_sweep_expires_deletes_and_aborts_what_is_due(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "plain")
    configure(ops, "plain", rule(DAYS1, "old", filt="<Filter><Prefix>old/</Prefix></Filter>"),
              rule("<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation>"
                   "</AbortIncompleteMultipartUpload>", "mpu"))
    for i in range(5):
        put(ops, ALICE, "plain", f"old/{i}", b"x" * 50)
    put(ops, ALICE, "plain", "keep", b"kept")
    upload = ops.create_multipart_upload(ALICE, "plain", "big", {})
    upload_part(ops, ALICE, "plain", "big", upload.upload_id, 1, b"p" * 2000)
    assert ops.sweep_lifecycle().expired == 0  # nothing is due yet
    report = ops.sweep_lifecycle(now=time.time() + 3 * DAY)
    assert (report.expired, report.aborted) == (5, 1)
    assert [o.key for o in ops.list_objects(ALICE, "plain").contents] == ["keep"]
    assert ops.list_multipart_uploads(ALICE, "plain").uploads == []
    assert set(ops.objects.blob_ids()) == referenced(ops) and len(referenced(ops)) == 1
    again = ops.sweep_lifecycle(now=time.time() + 3 * DAY)
    assert (again.expired, again.removed, again.aborted) == (0, 0, 0)


def test_on_a_versioned_bucket_expiry_leaves_a_marker_then_noncurrent_and_marker_rules_clean_up(
        ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "vers")
    ops.put_bucket_versioning(ALICE, "vers", "Enabled")
    configure(ops, "vers", rule(DAYS1 + "<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                                        "</NoncurrentVersionExpiration>", "all"),
              rule("<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration>", "dm"))
    put(ops, ALICE, "vers", "k", b"one")
    put(ops, ALICE, "vers", "k", b"two")
    now = time.time()
    first = ops.sweep_lifecycle(now=now + 2 * DAY)
    assert (first.expired, first.removed) == (1, 1)  # "two" delete-marked, "one" (noncurrent) gone
    versions = ops.list_object_versions(ALICE, "vers")
    assert len(versions.versions) == 2 and versions.versions[0].delete_marker
    second = ops.sweep_lifecycle(now=now + 4 * DAY)  # "two" is noncurrent since the marker: gone
    third = ops.sweep_lifecycle(now=now + 4 * DAY)   # then the marker is alone: removed
    assert (second.removed, third.removed) == (1, 1)
    assert ops.list_object_versions(ALICE, "vers").versions == []
    assert referenced(ops) == set() and set(ops.objects.blob_ids()) == set()


def test_a_sweep_is_bounded_and_resumes_at_its_cursor(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "many")
    configure(ops, "many", rule(DAYS1))
    for i in range(250):
        put(ops, ALICE, "many", "k%03d" % i, b"z")
    later = time.time() + 3 * DAY
    report = ops.sweep_lifecycle(now=later, budget=120)
    assert report.expired == 200 and report.passes == 0  # two pages of 100 keys, then the budget is spent
    assert ops.list_objects(ALICE, "many").contents[0].key == "k200"
    report = ops.sweep_lifecycle(now=later, budget=120)
    assert (report.expired, report.passes) == (50, 1)
    assert ops.list_objects(ALICE, "many").contents == []


def test_two_sweepers_at_once_expire_each_version_once(any_ops: S3Operations) -> None:
    any_ops.create_bucket(ALICE, "both")
    any_ops.put_bucket_versioning(ALICE, "both", "Enabled")
    configure(any_ops, "both", rule(DAYS1))
    for i in range(40):
        put(any_ops, ALICE, "both", "k%02d" % i, b"v")
    later = time.time() + 3 * DAY
    results = race(2, lambda i: any_ops.sweep_lifecycle(now=later))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(r.expired for r in results) == 40  # every key once: one delete marker each, never two
    versions = any_ops.list_object_versions(ALICE, "both").versions
    assert len(versions) == 80 and sum(v.delete_marker for v in versions) == 40
    assert set(any_ops.objects.blob_ids()) == referenced(any_ops) and len(referenced(any_ops)) == 40
    for i in range(3):
        with pytest.raises(S3Error):
            get(any_ops, ALICE, "both", "k%02d" % i)


def test_on_a_suspended_bucket_expiry_replaces_the_null_version_with_a_null_marker(ops: S3Operations) -> None:
    ops.create_bucket(ALICE, "susp")
    ops.put_bucket_versioning(ALICE, "susp", "Enabled")
    kept = put(ops, ALICE, "susp", "k", b"versioned")
    ops.put_bucket_versioning(ALICE, "susp", "Suspended")
    put(ops, ALICE, "susp", "k", b"null version")
    configure(ops, "susp", rule(DAYS1))
    assert ops.sweep_lifecycle(now=time.time() + 3 * DAY).expired == 1
    versions = ops.list_object_versions(ALICE, "susp").versions
    assert [(v.version_id, v.delete_marker) for v in versions] == [("null", True), (kept.version_id, False)]
    assert get(ops, ALICE, "susp", "k", version_id=kept.version_id) == b"versioned"
    assert referenced(ops) == {kept.blob_id}  # the null version's bytes went with it


@pytest.mark.parametrize("method,key", [("GET", "k"), ("PUT", "k"), ("DELETE", "k"), ("POST", "k"),
                                        ("POST", None)])
def test_lifecycle_is_a_bucket_sub_resource_only(method: str, key) -> None:
    """?lifecycle on an object (or POSTed to a bucket) is MethodNotAllowed: never taken for a plain PUT, GET
    or DELETE of the object it names."""
    import asyncio

    from ec2soap.s3 import routes

    route = routes.resolve(method, "b", key, {"lifecycle": ""}, {})
    call = SimpleNamespace(method=method, bucket="b", key=key, query={"lifecycle": ""}, headers={})
    with pytest.raises(S3Error) as caught:
        asyncio.run(route.handler(None, call))
    assert caught.value.code == "MethodNotAllowed"
    assert not routes.is_upload(method, "b", key, {"lifecycle": ""}, {})
    assert {m for m in ("GET", "PUT", "DELETE")
            if routes.resolve(m, "b", None, {"lifecycle": ""}, {}).handler.__module__.endswith("lifecycle")} == \
        {"GET", "PUT", "DELETE"}


def test_a_scan_reads_fewer_keys_when_they_have_many_versions(ops: S3Operations, monkeypatch) -> None:
    """The versions a scan step reads are bounded too: keys read only in part wait for the next step, and a
    key with more versions than the bound is read alone; every key is still judged once per pass."""
    from ec2soap.s3 import lifecycle_sweep

    monkeypatch.setattr(lifecycle_sweep, "_MAX_VERSIONS", 5)
    ops.create_bucket(ALICE, "deep")
    ops.put_bucket_versioning(ALICE, "deep", "Enabled")
    # Keeping the 2 newest noncurrent versions: a key judged on part of its versions would keep the wrong ones.
    configure(ops, "deep", rule("<NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                                "<NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>"))
    for key, count in (("a", 2), ("b", 2), ("c", 7), ("d", 1), ("e", 4)):
        for i in range(count):
            put(ops, ALICE, "deep", key, b"%s%d" % (key.encode(), i))
    report = ops.sweep_lifecycle(now=time.time() + 3 * DAY)
    assert (report.removed, report.passes, report.judged) == (4 + 1, 1, 16)
    left = [(v.key, v.user_meta, v.is_latest) for v in ops.list_object_versions(ALICE, "deep").versions]
    assert [key for key, _, _ in left] == ["a", "a", "b", "b", "c", "c", "c", "d", "e", "e", "e"]
    assert [get(ops, ALICE, "deep", k) for k in "abcde"] == [b"a1", b"b1", b"c6", b"d0", b"e3"]
    c_versions = [v for v in ops.list_object_versions(ALICE, "deep").versions if v.key == "c"]
    assert [get(ops, ALICE, "deep", "c", version_id=v.version_id) for v in c_versions] == [b"c6", b"c5", b"c4"]
