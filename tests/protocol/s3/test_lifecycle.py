"""Bucket lifecycle through real clients on the real server: Put/Get/DeleteBucketLifecycleConfiguration by
boto3 and awscli's s3api, S3's errors for bad rules and a missing or wrong Content-MD5, x-amz-expiration on
PUT, HEAD, GET, CopyObject and CompleteMultipartUpload, and the server's own sweeper applying the rules (one
sweep run through the process's Sweeper, its clock moved forward) as the clients then see it; and a sweeper
process killed with SIGKILL mid-sweep on SQLite, PostgreSQL and MariaDB (each object whole or gone)."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.conftest import database_urls, engine_url
from tests.protocol.conftest import ClientFailure
from tests.protocol.s3.conftest import boto3_client
from tests.protocol.s3.s3api_cli import s3api

DAY = 86400
RULES = [
    {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 3}},
    {"ID": "dated", "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "kind", "Value": "scratch"}],
                                       "ObjectSizeGreaterThan": 1}},
     "Status": "Disabled", "Expiration": {"Date": datetime(2031, 1, 1, tzinfo=timezone.utc)}},
    {"ID": "history", "Filter": {}, "Status": "Enabled",
     "NoncurrentVersionExpiration": {"NoncurrentDays": 5, "NewerNoncurrentVersions": 2},
     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
    {"ID": "markers", "Prefix": "", "Status": "Enabled", "Expiration": {"ExpiredObjectDeleteMarker": True}},
]


def _bucket(client) -> str:
    name = "lc-" + uuid.uuid4().hex[:12]
    client.create_bucket(Bucket=name)
    return name


def _error(call) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_put_get_delete_with_boto3(boto3_s3) -> None:
    name = _bucket(boto3_s3)
    boto3_s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": RULES})
    got = boto3_s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert got == RULES  # every form given back as it was put (Filter, And, legacy Prefix)
    boto3_s3.delete_bucket_lifecycle(Bucket=name)
    assert _error(lambda: boto3_s3.get_bucket_lifecycle_configuration(Bucket=name))[:2] == \
        ("NoSuchLifecycleConfiguration", 404)
    boto3_s3.delete_bucket_lifecycle(Bucket=name)  # none to delete: still 204, as in S3


def test_only_the_owner_configures_it(gateway_server, new_user, boto3_s3) -> None:
    name = _bucket(boto3_s3)
    other = boto3_client(gateway_server, new_user())
    config = {"Rules": RULES[:1]}
    assert _error(lambda: other.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=config)
                  )[:2] == ("AccessDenied", 403)
    boto3_s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=config)
    assert _error(lambda: other.get_bucket_lifecycle_configuration(Bucket=name))[:2] == ("AccessDenied", 403)
    assert _error(lambda: other.delete_bucket_lifecycle(Bucket=name))[:2] == ("AccessDenied", 403)
    assert boto3_s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"] == RULES[:1]


def _days(days) -> dict:
    return {"Days": days}


@pytest.mark.parametrize("rules,code,words", [
    ([{"ID": "x" * 256, "Filter": {}, "Status": "Enabled", "Expiration": _days(1)}], "InvalidArgument", "ID length"),
    ([{"ID": "a", "Filter": {}, "Status": "Enabled", "Expiration": _days(1)}] * 2, "InvalidArgument", "unique"),
    ([{"ID": "a", "Filter": {}, "Status": "Enabled", "Expiration": _days(0)}], "InvalidArgument", "'Days'"),
    ([{"ID": "a", "Filter": {}, "Status": "Enabled",
       "Expiration": {"Date": datetime(2031, 1, 1, 12, tzinfo=timezone.utc)}}], "InvalidArgument", "midnight"),
    ([{"ID": "a", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": True}}],
     "MalformedXML", ""),
    ([{"ID": "a", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
       "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}], "InvalidRequest", "Tags"),
    ([{"ID": "a", "Filter": {}, "Status": "Enabled"}], "InvalidRequest", "At least one action"),
    ([{"ID": "a", "Filter": {}, "Status": "Enabled", "Transitions": [{"Days": 30, "StorageClass": "GLACIER"}]}],
     "NotImplemented", "transitions"),
])
def test_bad_rules_get_s3s_errors_and_change_nothing(boto3_s3, rules, code, words) -> None:
    name = _bucket(boto3_s3)
    boto3_s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": RULES[:1]})
    found, status, message = _error(lambda: boto3_s3.put_bucket_lifecycle_configuration(
        Bucket=name, LifecycleConfiguration={"Rules": rules}))
    assert (found, status) == (code, 501 if code == "NotImplemented" else 400) and words in message
    assert boto3_s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"] == RULES[:1]


def _raw_put(server, keys, bucket: str, body: bytes, headers: dict) -> requests.Response:
    url = f"{server.url}/{bucket}?lifecycle"
    request = AWSRequest(method="PUT", url=url, data=body,
                         headers={"X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(), **headers})
    SigV4Auth(Credentials(keys.access_key, keys.secret_key), "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    return requests.put(url, data=body, headers=dict(prepared.headers))


def test_content_md5_is_required_and_checked(gateway_server, new_user) -> None:
    keys = new_user()
    client = boto3_client(gateway_server, keys)
    name = _bucket(client)
    body = (b'<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>r</ID>'
            b'<Filter><Prefix>a/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration>'
            b'</Rule></LifecycleConfiguration>')
    good = base64.b64encode(hashlib.md5(body).digest()).decode()
    wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    for headers, code in (({}, "InvalidRequest"), ({"Content-MD5": "not-base64!"}, "InvalidDigest"),
                          ({"Content-MD5": wrong}, "BadDigest")):
        answer = _raw_put(gateway_server, keys, name, body, headers)
        assert answer.status_code == 400 and f"<Code>{code}</Code>" in answer.text, (headers, answer.text)
    assert _error(lambda: client.get_bucket_lifecycle_configuration(Bucket=name))[0] == \
        "NoSuchLifecycleConfiguration"
    assert _raw_put(gateway_server, keys, name, body, {"Content-MD5": good}).status_code == 200
    assert client.get_bucket_lifecycle_configuration(Bucket=name)["Rules"][0]["Filter"] == {"Prefix": "a/"}


def test_awscli_s3api(gateway_server, new_user, tmp_path) -> None:
    keys = new_user()
    name = "lc-cli-" + uuid.uuid4().hex[:10]
    s3api(gateway_server, keys, "create-bucket", "--bucket", name)
    config = tmp_path / "lifecycle.json"
    config.write_text(json.dumps({"Rules": [
        {"ID": "cli", "Filter": {"ObjectSizeLessThan": 1024}, "Status": "Enabled",
         "Expiration": {"Days": 10}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]}))
    s3api(gateway_server, keys, "put-bucket-lifecycle-configuration", "--bucket", name,
          "--lifecycle-configuration", f"file://{config}")
    got = s3api(gateway_server, keys, "get-bucket-lifecycle-configuration", "--bucket", name)
    assert got["Rules"] == [{"ID": "cli", "Filter": {"ObjectSizeLessThan": 1024}, "Status": "Enabled",
                             "Expiration": {"Days": 10}, "NoncurrentVersionExpiration": {"NoncurrentDays": 1}}]
    s3api(gateway_server, keys, "delete-bucket-lifecycle", "--bucket", name)
    with pytest.raises(ClientFailure) as caught:
        s3api(gateway_server, keys, "get-bucket-lifecycle-configuration", "--bucket", name)
    assert caught.value.code == "NoSuchLifecycleConfiguration"


def _expiry(header: str) -> tuple[float, str]:
    found = re.fullmatch(r'expiry-date="([^"]+)", rule-id="([^"]+)"', header)
    assert found, header
    return parsedate_to_datetime(found.group(1)).timestamp(), found.group(2)


def _next_midnight(moment: float, days: int) -> float:
    return (int(moment // DAY) + days + 1) * DAY


def test_x_amz_expiration_on_put_head_get_copy_and_complete(boto3_s3) -> None:
    name = _bucket(boto3_s3)
    boto3_s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
        {"ID": "short", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 3}},
        {"ID": "long", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 30}},
        {"ID": "off", "Filter": {}, "Status": "Disabled", "Expiration": {"Days": 1}}]})
    put = boto3_s3.put_object(Bucket=name, Key="logs/a", Body=b"log line")
    head = boto3_s3.head_object(Bucket=name, Key="logs/a")
    got = boto3_s3.get_object(Bucket=name, Key="logs/a")
    modified = head["LastModified"].timestamp()
    for answer in (put, head, got):
        assert _expiry(answer["Expiration"]) == (_next_midnight(modified, 3), "short")  # the earliest enabled
    copied = boto3_s3.copy_object(Bucket=name, Key="other", CopySource={"Bucket": name, "Key": "logs/a"})
    assert _expiry(copied["Expiration"])[1] == "long"
    upload = boto3_s3.create_multipart_upload(Bucket=name, Key="logs/big")
    part = boto3_s3.upload_part(Bucket=name, Key="logs/big", UploadId=upload["UploadId"], PartNumber=1, Body=b"p")
    done = boto3_s3.complete_multipart_upload(Bucket=name, Key="logs/big", UploadId=upload["UploadId"],
                                              MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert _expiry(done["Expiration"])[1] == "short"
    boto3_s3.delete_bucket_lifecycle(Bucket=name)
    assert "Expiration" not in boto3_s3.head_object(Bucket=name, Key="logs/a")



def test_a_rule_id_no_header_can_carry_is_encoded(boto3_s3) -> None:
    name = _bucket(boto3_s3)
    rule_id = 'line\nbreak "quoted" é%'
    boto3_s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
        {"ID": rule_id, "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}]})
    assert boto3_s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"][0]["ID"] == rule_id
    put = boto3_s3.put_object(Bucket=name, Key="k", Body=b"x")
    shown = "line%0Abreak %22quoted%22 %C3%A9%25"  # no CR/LF, quote or non-ASCII byte in the header
    assert _expiry(put["Expiration"])[1] == shown
    assert _expiry(boto3_s3.get_object(Bucket=name, Key="k")["Expiration"])[1] == shown

def _sweep(gateway_server, days: float):
    ops = gateway_server.running.sweeper.ops
    return ops.sweep_lifecycle(now=time.time() + days * DAY)


def test_the_servers_sweeper_applies_the_rules(gateway_server, boto3_s3) -> None:
    name = _bucket(boto3_s3)
    versioned = _bucket(boto3_s3)
    boto3_s3.put_bucket_versioning(Bucket=versioned, VersioningConfiguration={"Status": "Enabled"})
    for bucket in (name, versioned):
        boto3_s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
            {"ID": "expire", "Filter": {"Prefix": "old/"}, "Status": "Enabled", "Expiration": {"Days": 1}},
            {"ID": "clean", "Filter": {}, "Status": "Enabled",
             "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
        boto3_s3.put_object(Bucket=bucket, Key="old/a", Body=b"expires")
        boto3_s3.put_object(Bucket=bucket, Key="new/b", Body=b"stays")
        boto3_s3.create_multipart_upload(Bucket=bucket, Key="old/unfinished")
    _sweep(gateway_server, 3)
    for bucket in (name, versioned):
        assert [o["Key"] for o in boto3_s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["new/b"]
        assert boto3_s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    listed = boto3_s3.list_object_versions(Bucket=versioned)
    assert [m["Key"] for m in listed["DeleteMarkers"]] == ["old/a"]  # versioned: a delete marker
    assert sorted(v["Key"] for v in listed["Versions"]) == ["new/b", "old/a"]
    _sweep(gateway_server, 5)  # the delete-marked version is noncurrent now; then gone
    listed = boto3_s3.list_object_versions(Bucket=versioned)
    assert [v["Key"] for v in listed["Versions"]] == ["new/b"]
    assert boto3_s3.get_object(Bucket=versioned, Key="new/b")["Body"].read() == b"stays"




def test_tag_and_size_filters_pick_what_the_sweep_expires(gateway_server, boto3_s3) -> None:
    name = _bucket(boto3_s3)
    boto3_s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
        {"ID": "scratch", "Filter": {"And": {"Prefix": "t/", "Tags": [{"Key": "kind", "Value": "scratch"}]}},
         "Status": "Enabled", "Expiration": {"Days": 1}},
        {"ID": "big", "Filter": {"ObjectSizeGreaterThan": 100}, "Status": "Enabled", "Expiration": {"Days": 1}}]})
    boto3_s3.put_object(Bucket=name, Key="t/tagged", Body=b"x", Tagging="kind=scratch")
    boto3_s3.put_object(Bucket=name, Key="t/other-tag", Body=b"x", Tagging="kind=keep")
    boto3_s3.put_object(Bucket=name, Key="t/untagged", Body=b"x")
    boto3_s3.put_object(Bucket=name, Key="u/tagged", Body=b"x", Tagging="kind=scratch")
    boto3_s3.put_object(Bucket=name, Key="u/large", Body=b"L" * 101)
    boto3_s3.put_object(Bucket=name, Key="u/exactly", Body=b"L" * 100)
    assert _expiry(boto3_s3.head_object(Bucket=name, Key="t/tagged")["Expiration"])[1] == "scratch"
    assert "Expiration" not in boto3_s3.head_object(Bucket=name, Key="t/untagged")
    boto3_s3.put_object_tagging(Bucket=name, Key="t/untagged", Tagging={"TagSet": [
        {"Key": "kind", "Value": "scratch"}]})  # tagged later: covered now
    _sweep(gateway_server, 3)
    assert [o["Key"] for o in boto3_s3.list_objects_v2(Bucket=name)["Contents"]] == \
        ["t/other-tag", "u/exactly", "u/tagged"]

def test_a_sweeper_sweeps_on_its_own_interval_and_stops(gateway_server, boto3_s3, reactor, in_reactor) -> None:
    """A Sweeper every 0.2 s over the server's own operations and thread pool (as server.start makes one with
    s3_lifecycle_interval): a rule whose Date has passed expires the object with no call and the real clock;
    once stopped, nothing is scheduled or running."""
    from ec2soap.s3.sweeper import Sweeper

    running = gateway_server.running
    assert running.sweeper is not None and running.sweeper.interval == 3600.0  # the server's, by default
    name = _bucket(boto3_s3)
    boto3_s3.put_object(Bucket=name, Key="past/a", Body=b"due")
    boto3_s3.put_object(Bucket=name, Key="kept", Body=b"not covered")
    boto3_s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
        {"ID": "past", "Filter": {"Prefix": "past/"}, "Status": "Enabled",
         "Expiration": {"Date": datetime(2020, 1, 1, tzinfo=timezone.utc)}}]})
    assert _expiry(boto3_s3.head_object(Bucket=name, Key="past/a")["Expiration"])[0] == \
        datetime(2020, 1, 1, tzinfo=timezone.utc).timestamp()
    sweeper = Sweeper(running.sweeper.ops, running.store.defer, 0.2, reactor)
    in_reactor(sweeper.start)
    try:
        deadline = time.monotonic() + 20
        while [o["Key"] for o in boto3_s3.list_objects_v2(Bucket=name).get("Contents", [])] != ["kept"]:
            assert time.monotonic() < deadline, "the sweeper never expired past/a"
            time.sleep(0.1)
    finally:
        in_reactor(sweeper.stop)
    assert sweeper._call is None and sweeper._sweep is None


# -- kill -9 in the middle of a sweep, on every engine ------------------------------------------------------------

_SWEEPER = """
import sys, time
from ec2soap.s3.object_store import ObjectStore
from ec2soap.s3.operations import S3Operations
from ec2soap.store import Store
ops = S3Operations(Store(sys.argv[1], threads=2), ObjectStore(sys.argv[2]))
later = time.time() + 10 * 86400
while True:
    print(ops.sweep_lifecycle(now=later, budget=20).expired, flush=True)
"""


@pytest.mark.parametrize("engine", database_urls())
def test_kill_9_mid_sweep_leaves_each_object_whole_or_gone(engine: str, tmp_path, request) -> None:
    from ec2soap.s3.object_store import ObjectStore
    from ec2soap.s3.operations import S3Operations
    from ec2soap.s3.xml_lifecycle import parse_lifecycle
    from ec2soap.store import Store
    from tests.unit.s3.conftest import ALICE, get, put

    url, root = engine_url(engine, tmp_path, request.addfinalizer), tmp_path / "objects"
    store = Store(url, threads=2)
    store.migrate()
    request.addfinalizer(store.close)  # before the database's drop: finalizers run last first
    ops = S3Operations(store, ObjectStore(root))
    rules = parse_lifecycle(b'<LifecycleConfiguration><Rule><ID>all</ID><Filter/><Status>Enabled</Status>'
                            b'<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>')
    count = 100
    for bucket, versioning in (("plain", None), ("versioned", "Enabled")):
        ops.create_bucket(ALICE, bucket)
        if versioning:
            ops.put_bucket_versioning(ALICE, bucket, versioning)
        for i in range(count):
            put(ops, ALICE, bucket, "k%03d" % i, b"%s-%03d" % (bucket.encode(), i) * 20)
        ops.put_bucket_lifecycle(ALICE, bucket, rules)
    child = subprocess.Popen([sys.executable, "-c", _SWEEPER, url, str(root)], stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()  # one bounded sweep done: the next is under way
        assert line.strip().isdigit(), line
        time.sleep(0.02)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
        child.stdout.close()
    latest = {b: {v.key: v for v in ops.list_object_versions(ALICE, b).versions if v.is_latest}
              for b in ("plain", "versioned")}
    done = count - len(latest["plain"]) + sum(v.delete_marker for v in latest["versioned"].values())
    assert 0 < done < 2 * count, "the kill should land mid-sweep"
    every_version = ops.list_object_versions(ALICE, "versioned").versions
    for i in range(count):
        key = "k%03d" % i
        if key in latest["plain"]:
            assert get(ops, ALICE, "plain", key) == b"plain-%03d" % i * 20  # intact, or gone: nothing between
        versions = [v for v in every_version if v.key == key]
        data = [v for v in versions if not v.delete_marker]
        assert len(data) == 1 and len(versions) - len(data) <= 1
        assert get(ops, ALICE, "versioned", key, version_id=data[0].version_id) == b"versioned-%03d" % i * 20
    referenced = store.run_sync(ops.meta.referenced_blobs)
    assert referenced <= set(ops.objects.blob_ids())  # no row points at a missing blob
    ops.cleanup(min_age=0.0)  # what start-up does: a blob freed but not yet deleted goes now
    assert set(ops.objects.blob_ids()) == referenced
    ops.sweep_lifecycle(now=time.time() + 10 * DAY)  # the next sweep finishes the job
    assert ops.list_objects(ALICE, "plain").contents == [] and ops.list_objects(ALICE, "versioned").contents == []
    assert len(store.run_sync(ops.meta.referenced_blobs)) == count  # the versioned bucket's, delete-marked
