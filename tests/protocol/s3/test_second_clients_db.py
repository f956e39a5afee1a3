"""Where issue 13 says concurrency matters, on every engine (SQLite, PostgreSQL, MariaDB) through the real server:
racing conditional PutObject and CompleteMultipartUpload from boto3 and awscli's s3api at once (one winner),
two sweepers (the server's own and a second gateway's, on the same database and storage root) expiring a
versioned bucket at once (one delete marker per key, as boto3 and awscli then list it), and a sweeper process
killed with SIGKILL in the middle of a sweep (each object whole or gone, no row without its bytes)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import database_urls, engine_url
from tests.protocol.conftest import ClientFailure, GatewayServer, Keys, serve_gateway
from tests.protocol.s3.conftest import boto3_client, translate
from tests.protocol.s3.s3api_cli import s3api

DAY = 86400
LOST = {"PreconditionFailed", "ConditionalRequestConflict"}


@pytest.fixture(scope="module", params=database_urls())
def db_server(request: Any, tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]
              ) -> Iterator[GatewayServer]:
    """The real server on a fresh database of each engine."""
    drops: list = []
    url = engine_url(request.param, tmp_path_factory.mktemp(f"db-{request.param}"), drops.append)
    try:
        yield from serve_gateway(tmp_path_factory, reactor, in_reactor, name=f"gw-{request.param}", database_url=url)
    finally:
        for drop in drops:
            drop()


@pytest.fixture
def keys(db_server: GatewayServer) -> Keys:
    name = f"u{uuid.uuid4().hex[:10]}"
    status, made = db_server.cloudstack("admin", "createAccount", username=name, password="pw",
                                        email=f"{name}@example.com", firstname=name, lastname="test")
    assert status == 200, made
    status, found = db_server.cloudstack("admin", "registerUserKeys", id=made["account"]["user"][0]["id"])
    assert status == 200, found
    return Keys(found["userkeys"]["apikey"], found["userkeys"]["secretkey"], name)


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """CALLS at once (released by one barrier) → each one's answer or the ClientFailure it ended with."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait(timeout=60)
        try:
            results[i] = calls[i]()
        except ClientFailure as exc:
            results[i] = exc
        except Exception as exc:  # a boto3 ClientError: translated, asserted on by the caller
            results[i] = translate(exc)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def _one_winner(results: list[Any]) -> int:
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
        winner = _one_winner(_race(calls))
        got = clients[0].get_object(Bucket=bucket, Key=key)["Body"].read()
        assert got == (b"boto3 %d" % winner if winner < len(clients) else b"from awscli")
        listed = s3api(db_server, keys, "list-object-versions", "--bucket", bucket, "--prefix", key)
        assert len(listed["Versions"]) == 1 and "DeleteMarkers" not in listed

    base = clients[0].put_object(Bucket=bucket, Key="swap", Body=b"base")["ETag"]
    calls = [lambda c=c, i=i: c.put_object(Bucket=bucket, Key="swap", Body=b"swap %d" % i, IfMatch=base)
             for i, c in enumerate(clients)]
    calls.append(lambda: s3api(db_server, keys, "put-object", "--bucket", bucket, "--key", "swap",
                               "--body", str(body), "--if-match", base))
    winner = _one_winner(_race(calls))
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
    winner = _one_winner(_race(calls))
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
        barrier = threading.Barrier(2)
        reports: list[Any] = [None, None]

        def sweep(i: int, ops: Any) -> None:
            barrier.wait(timeout=60)
            try:
                reports[i] = ops.sweep_lifecycle(now=later)
            except Exception as exc:  # asserted on below
                reports[i] = exc
        threads = [threading.Thread(target=sweep, args=(i, ops)) for i, ops in enumerate((ours, theirs))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
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


# -- kill -9 in the middle of a sweep, on every engine ------------------------------------------------------------

_SWEEPER = """
import sys, time
from ec2soap.s3.object_store import ObjectStore
from ec2soap.s3.operations import S3Operations
from ec2soap.store import Store
ops = S3Operations(Store(sys.argv[1], threads=2), ObjectStore(sys.argv[2]))
later = time.time() + 10 * 86400
while True:
    print(ops.sweep_lifecycle(now=later, budget=10).expired, flush=True)
"""


@pytest.mark.parametrize("engine", database_urls())
def test_kill_9_mid_sweep_on_every_engine(engine: str, tmp_path: Path, request: Any) -> None:
    from ec2soap.s3.object_store import ObjectStore
    from ec2soap.s3.operations import S3Operations
    from ec2soap.s3.xml_lifecycle import parse_lifecycle
    from ec2soap.store import Store
    from tests.unit.s3.conftest import ALICE, get, put

    url, root = engine_url(engine, tmp_path, request.addfinalizer), tmp_path / "objects"
    store = Store(url, threads=2)
    store.migrate()
    request.addfinalizer(store.close)
    ops = S3Operations(store, ObjectStore(root))
    count = 60
    for bucket, versioning in (("plain", None), ("versioned", "Enabled")):
        ops.create_bucket(ALICE, bucket)
        if versioning:
            ops.put_bucket_versioning(ALICE, bucket, versioning)
        for i in range(count):
            put(ops, ALICE, bucket, "k%03d" % i, b"%s-%03d" % (bucket.encode(), i) * 20)
        ops.put_bucket_lifecycle(ALICE, bucket, parse_lifecycle(
            b"<LifecycleConfiguration><Rule><ID>all</ID><Filter/><Status>Enabled</Status>"
            b"<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>"))
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
    every = ops.list_object_versions(ALICE, "versioned").versions
    for i in range(count):
        key = "k%03d" % i
        if key in latest["plain"]:
            assert get(ops, ALICE, "plain", key) == b"plain-%03d" % i * 20  # whole, or gone
        versions = [v for v in every if v.key == key]
        data = [v for v in versions if not v.delete_marker]
        assert len(data) == 1 and len(versions) - len(data) <= 1
        assert get(ops, ALICE, "versioned", key, version_id=data[0].version_id) == b"versioned-%03d" % i * 20
    referenced = store.run_sync(ops.meta.referenced_blobs)
    assert referenced <= set(ops.objects.blob_ids())  # no row points at missing bytes
    ops.cleanup(min_age=0.0)
    assert set(ops.objects.blob_ids()) == referenced
    ops.sweep_lifecycle(now=time.time() + 10 * DAY)  # the next sweep finishes the job
    assert ops.list_objects(ALICE, "plain").contents == [] and ops.list_objects(ALICE, "versioned").contents == []
    assert len(store.run_sync(ops.meta.referenced_blobs)) == count
