"""Where issue 13 says concurrency matters, on every engine (SQLite, PostgreSQL, MariaDB) through the real server:
racing conditional PutObject and CompleteMultipartUpload from boto3 and awscli's s3api at once (one winner),
and two sweepers (the server's own and a second gateway's, on the same database and storage root) expiring a
versioned bucket at once (one delete marker per key, as boto3 and awscli then list it). A sweeper killed with
SIGKILL mid-sweep, on every engine, is test_lifecycle.py's test_kill_9_mid_sweep_leaves_each_object_whole_or_gone."""
from __future__ import annotations

import json
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.protocol.conftest import ClientFailure, GatewayServer, Keys
from tests.protocol.s3.conftest import boto3_client, translate
from tests.protocol.s3.s3api_cli import s3api
from tests.protocol.conftest import make_user
from tests.racing import race

DAY = 86400
LOST = {"PreconditionFailed", "ConditionalRequestConflict"}


@pytest.fixture
def keys(db_server: GatewayServer) -> Keys:
    """A fresh CloudStack account's keys on this engine's server."""
    return make_user(db_server)


def _one_winner(calls: list[Callable[[], Any]]) -> int:
    """Race CALLS → the index of the one that succeeded; every other lost with a precondition error."""
    results = [translate(r) if isinstance(r, Exception) and not isinstance(r, ClientFailure) else r
               for r in race(calls, timeout=120)]  # translate re-raises what no client reported
    winners = [i for i, r in enumerate(results) if not isinstance(r, ClientFailure)]
    assert len(winners) == 1, results
    assert {r.code for r in results if isinstance(r, ClientFailure)} <= LOST, results
    return winners[0]


def _versioned_bucket(s3: Any) -> str:
    bucket = "dbc" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    return bucket


def test_racing_conditional_puts_from_boto3_and_awscli_have_one_winner(db_server: GatewayServer, keys: Keys,
                                                                       tmp_path: Path) -> None:
    clients = [boto3_client(db_server, keys) for _ in range(4)]
    bucket = _versioned_bucket(clients[0])
    body = tmp_path / "cli-body"
    body.write_bytes(b"from awscli")
    for key in ("k1", "k2", "k3"):  # several rounds: a check apart from the locked write loses only now and then
        calls = [lambda c=c, i=i: c.put_object(Bucket=bucket, Key=key, Body=b"boto3 %d" % i, IfNoneMatch="*")
                 for i, c in enumerate(clients)]
        calls.append(lambda: s3api(db_server, keys, "put-object", "--bucket", bucket, "--key", key,
                                   "--body", str(body), "--if-none-match", "*"))
        winner = _one_winner(calls)
        got = clients[0].get_object(Bucket=bucket, Key=key)["Body"].read()
        assert got == (b"boto3 %d" % winner if winner < len(clients) else b"from awscli")
        listed = s3api(db_server, keys, "list-object-versions", "--bucket", bucket, "--prefix", key)
        assert len(listed["Versions"]) == 1 and "DeleteMarkers" not in listed

    base = clients[0].put_object(Bucket=bucket, Key="swap", Body=b"base")["ETag"]
    calls = [lambda c=c, i=i: c.put_object(Bucket=bucket, Key="swap", Body=b"swap %d" % i, IfMatch=base)
             for i, c in enumerate(clients)]
    calls.append(lambda: s3api(db_server, keys, "put-object", "--bucket", bucket, "--key", "swap",
                               "--body", str(body), "--if-match", base))
    winner = _one_winner(calls)
    got = s3api(db_server, keys, "get-object", "--bucket", bucket, "--key", "swap", str(tmp_path / "out"))
    assert got["ETag"] != base
    assert (tmp_path / "out").read_bytes() == (b"swap %d" % winner if winner < len(clients) else b"from awscli")
    assert len(clients[0].list_object_versions(Bucket=bucket, Prefix="swap")["Versions"]) == 2


def test_racing_conditional_completions_have_one_winner(db_server: GatewayServer, keys: Keys) -> None:
    clients = [boto3_client(db_server, keys) for _ in range(3)]
    bucket = _versioned_bucket(clients[0])
    uploads = []
    for i in range(4):
        uid = clients[0].create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
        part = clients[0].upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=bytes([97 + i]) * 1500)
        uploads.append((uid, {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}))
    calls: list[Callable[[], Any]] = [
        lambda c=c, i=i: c.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uploads[i][0],
                                                     MultipartUpload=uploads[i][1], IfNoneMatch="*")
        for i, c in enumerate(clients)]
    calls.append(lambda: s3api(db_server, keys, "complete-multipart-upload", "--bucket", bucket, "--key", "mp",
                               "--upload-id", uploads[3][0], "--multipart-upload", json.dumps(uploads[3][1]),
                               "--if-none-match", "*"))
    winner = _one_winner(calls)
    assert clients[0].get_object(Bucket=bucket, Key="mp")["Body"].read() == bytes([97 + winner]) * 1500
    assert len(clients[0].list_object_versions(Bucket=bucket)["Versions"]) == 1
    left = s3api(db_server, keys, "list-multipart-uploads", "--bucket", bucket)["Uploads"]
    assert sorted(u["UploadId"] for u in left) == sorted(u for i, (u, _) in enumerate(uploads) if i != winner)


def test_two_gateways_sweeping_at_once_expire_each_key_once(db_server: GatewayServer, keys: Keys) -> None:
    from ec2soap.s3.object_store import ObjectStore
    from ec2soap.s3.operations import S3Operations
    from ec2soap.store import Store

    s3 = boto3_client(db_server, keys)
    bucket = _versioned_bucket(s3)
    count = 40
    for i in range(count):
        s3.put_object(Bucket=bucket, Key="k%02d" % i, Body=b"v%02d" % i)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "all", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}]})
    ours = db_server.running.sweeper.ops
    second_store = Store(db_server.running.store.url, threads=2)  # another gateway: its own pool and connections
    try:
        theirs = S3Operations(second_store, ObjectStore(ours.objects.root))
        later = time.time() + 3 * DAY
        reports = race([partial(ops.sweep_lifecycle, now=later) for ops in (ours, theirs)], timeout=120)
        assert not [r for r in reports if isinstance(r, Exception)], reports
        assert sum(r.expired for r in reports) == count, reports  # every key once
    finally:
        second_store.close()
    listed = s3.list_object_versions(Bucket=bucket)
    assert sorted(m["Key"] for m in listed["DeleteMarkers"]) == ["k%02d" % i for i in range(count)]
    assert len(listed["Versions"]) == count and s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    cli = s3api(db_server, keys, "list-object-versions", "--bucket", bucket)
    assert len(cli["DeleteMarkers"]) == count and all(m["IsLatest"] for m in cli["DeleteMarkers"])
    version = next(v for v in cli["Versions"] if v["Key"] == "k07")["VersionId"]
    assert s3.get_object(Bucket=bucket, Key="k07", VersionId=version)["Body"].read() == b"v07"

