"""A gateway's life as an operator sees it: SIGTERM drains (a slow call finishes, an upload still arriving is
cut without leaving anything behind, a stuck download is cut after the grace period), a restart keeps every
user, mapping, id and object, and a database at the previous schema is refused until `ec2soap db upgrade`."""
from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import urlsplit

import pytest

from tests.system.gateways import (EC2SOAP, Process, boto3_client, referenced_blobs, stored_blobs, temp_files,
                                   wait_until)


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[Callable[..., Process]]:
    started: list[Process] = []

    def start(*extra: str, env: dict[str, str] | None = None, data: Path | None = None) -> Process:
        data = data or tmp_path / "data"
        process = Process(["serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", "0",
                           "--simulator-port", "0", "--integration-port", "0", *extra],
                          tmp_path / f"serve-{len(started)}.log", env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def clients(gateway: Process) -> tuple[Any, Any]:
    return (boto3_client("ec2", gateway.gateway, gateway.access_key, gateway.secret_key),
            boto3_client("s3", gateway.gateway, gateway.access_key, gateway.secret_key))


def _state(ec2: Any, instance_id: str) -> str:
    found = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return found["State"]["Name"]


def test_sigterm_lets_a_call_waiting_on_a_cloudstack_job_finish(gateways: Any) -> None:
    gateway = gateways(env={"EC2SOAP_SIMULATOR_JOB_SECONDS": "4", "EC2SOAP_JOB_POLL_INTERVAL": "0.5"})
    ec2, _ = clients(gateway)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_until(lambda: _state(ec2, instance) == "running", timeout=90, interval=0.5, what="the instance to run")

    outcome: dict[str, Any] = {}

    def stop() -> None:
        try:
            outcome["answer"] = ec2.stop_instances(InstanceIds=[instance])
        except Exception as exc:  # reported below
            outcome["error"] = exc
        outcome["at"] = time.monotonic()

    caller = threading.Thread(target=stop)
    caller.start()
    time.sleep(1.0)  # StopInstances now waits for the simulator's 4 s stop job
    signalled = time.monotonic()
    gateway.terminate()
    caller.join(120)
    assert "error" not in outcome, outcome.get("error")
    change = outcome["answer"]["StoppingInstances"][0]
    assert change["InstanceId"] == instance
    assert change["PreviousState"]["Name"] == "running"
    assert change["CurrentState"]["Name"] in ("stopping", "stopped")
    assert outcome["at"] > signalled  # it really was in flight when the signal came
    assert gateway.wait(120) == 0, gateway.output()
    assert "Traceback" not in gateway.output()


def _raw_request(url: str, method: str, length: int | None = None) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=60)
    head = f"{method} {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    sock.sendall((head + "\r\n").encode())
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    data = b""
    try:
        while True:
            piece = sock.recv(65536)
            if not piece:
                return data
            data += piece
    except (ConnectionResetError, BrokenPipeError):
        return data
    finally:
        sock.close()


def test_sigterm_cuts_an_upload_still_arriving_and_leaves_nothing(gateways: Any, tmp_path: Path) -> None:
    gateway = gateways()
    _, s3 = clients(gateway)
    s3.create_bucket(Bucket="drain")
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "drain", "Key": "half"}, ExpiresIn=600)
    objects = tmp_path / "data" / "objects"
    sock = _raw_request(url, "PUT", length=8 * 1024 * 1024)
    sock.sendall(b"x" * (1024 * 1024))  # an eighth of the body, then nothing more
    wait_until(lambda: any((objects / "tmp" / name).stat().st_size > 0 for name in temp_files(objects)),
               timeout=60, what="the upload's temp file")

    gateway.terminate()
    assert gateway.wait(120) == 0, gateway.output()
    answer = _read_until_closed(sock)
    assert b" 200 " not in answer.split(b"\r\n", 1)[0]
    assert temp_files(objects) == []
    assert stored_blobs(objects) == set()

    again = gateways()
    _, s3 = clients(again)
    assert s3.list_objects_v2(Bucket="drain").get("KeyCount", 0) == 0


def test_sigterm_cuts_a_stuck_download_after_the_grace_period(gateways: Any) -> None:
    gateway = gateways(env={"EC2SOAP_SHUTDOWN_GRACE": "2"})
    _, s3 = clients(gateway)
    s3.create_bucket(Bucket="slow")
    s3.put_object(Bucket="slow", Key="big", Body=b"y" * (48 * 1024 * 1024))
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "slow", "Key": "big"}, ExpiresIn=600)
    sock = _raw_request(url, "GET")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    first = sock.recv(65536)
    assert first.startswith(b"HTTP/1.1 200")
    # The client reads no more: the download stays in flight with full socket buffers.
    signalled = time.monotonic()
    gateway.terminate()
    assert gateway.wait(120) == 0, gateway.output()
    # The 2 s grace, not the download, decided when the process ended (the bound is deliberately loose).
    assert time.monotonic() - signalled < 60
    assert "still in flight after 2 s were cut" in gateway.output()
    received = len(first) + len(_read_until_closed(sock))
    assert received < 48 * 1024 * 1024


def _cli(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(EC2SOAP + list(args), capture_output=True, text=True, timeout=120,
                          env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_restart_keeps_users_mappings_ids_and_objects(gateways: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = gateways()
    ec2, s3 = clients(first)
    # --name=value: CloudStack keys are base64url and may begin with "-", which argparse takes for an option.
    _cli("user", "register", "--data-dir", str(data), f"--access-key={first.access_key}",
         f"--secret-key={first.secret_key}")
    _cli("offering", "map", "m1.tiny", "t1.micro", "--data-dir", str(data))
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                 InstanceType="m1.tiny")["Instances"][0]["InstanceId"]
    zone = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    volume = ec2.create_volume(Size=1, AvailabilityZone=zone)["VolumeId"]
    group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    s3.create_bucket(Bucket="keep")
    body = bytes(range(256)) * 4096
    s3.put_object(Bucket="keep", Key="a/b.bin", Body=body, Metadata={"colour": "blue"})
    assert first.stop() == 0

    second = gateways()
    assert (second.access_key, second.secret_key) == (first.access_key, first.secret_key)
    ec2, s3 = clients(second)
    assert first.access_key in _cli("user", "list", "--data-dir", str(data))
    assert "m1.tiny" in _cli("offering", "list", "--data-dir", str(data))
    described = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert described["ImageId"] == image and described["InstanceType"] == "m1.tiny"
    assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["VolumeId"] == volume
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["GroupName"] == "web"
    got = s3.get_object(Bucket="keep", Key="a/b.bin")
    assert got["Body"].read() == body and got["Metadata"] == {"colour": "blue"}
    assert second.stop() == 0
    assert stored_blobs(data / "objects") == referenced_blobs(f"sqlite:///{data}/ec2soap.db")


# -- upgrade from the previous schema -------------------------------------------------------------------------


def _previous_revision() -> str:
    from alembic.script import ScriptDirectory

    from ec2soap.store.db import _alembic_config, head_revision

    scripts = ScriptDirectory.from_config(_alembic_config(None))  # type: ignore[arg-type]
    previous = scripts.get_revision(head_revision()).down_revision
    assert isinstance(previous, str), "the upgrade test needs a single previous revision"
    return previous


class _Inline:
    """Store.run as a coroutine, inline (the library's async stores run without a reactor here)."""

    def __init__(self, store: Any):
        self.store = store

    async def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return self.store.run_sync(fn, *args, **kwargs)


def _fill_previous_schema(url: str, data: Path) -> dict[str, Any]:
    """What a gateway at the previous schema revision held: the simulator's users and a VM, a registered
    user, an offering mapping, minted EC2 ids and (when that schema has S3 tables) an S3 object. Written
    with the library's own store functions, since this version's `serve` refuses such a database."""
    import asyncio

    from sqlalchemy import inspect

    from ec2soap.auth.credentials import Credentials, load_secret_box
    from ec2soap.cloudstack.simulator import Simulator, SimulatorConfig
    from ec2soap.store import Store
    from ec2soap.store.db import migrate
    from ec2soap.store.ids import IdMap
    from ec2soap.store.offerings import OfferingMap

    store = Store(url, 2)
    try:
        migrate(store.engine, _previous_revision())
        simulator = Simulator(store, SimulatorConfig(job_seconds=0.1))
        users = simulator.seed()
        demo = users["demo"]
        templates = simulator_call(simulator, demo, "listTemplates", templatefilter="executable")["template"]
        inline = _Inline(store)
        ids = IdMap(inline)
        image = asyncio.run(ids.to_ec2("image", templates[0]["id"]))
        group = simulator_call(simulator, demo, "createSecurityGroup", name="old-web")["securitygroup"]
        group_id = asyncio.run(ids.to_ec2("security-group", group["id"]))
        asyncio.run(Credentials(inline, load_secret_box("", str(data))).register(demo["apikey"], demo["secretkey"]))
        asyncio.run(OfferingMap(inline).set("m1.tiny", "t1.micro"))
        has_s3 = "s3_object" in inspect(store.engine).get_table_names()
        body = _put_old_object(store, data, demo["apikey"]) if has_s3 else None
    finally:
        store.close()
    return {"demo": demo, "image": image, "group": group_id, "object": body}


def simulator_call(simulator: Any, user: dict, command: str, **params: Any) -> dict:
    from ec2soap.cloudstack.client import parse_response, sign_request

    status, body = simulator.handle(sign_request(command, params, user["apikey"], user["secretkey"]))
    return parse_response(command, status, body)


def _put_old_object(store: Any, data: Path, owner: str) -> bytes:
    """An S3 object in a previous schema that already has S3 tables, through the S3 operations."""
    from sqlalchemy import inspect

    from ec2soap.s3 import ObjectStore, S3Operations
    from ec2soap.store.tables import metadata

    # This version's S3 code reads the S3 tables the newer revisions added (s3_account at 0013): they are made
    # empty for the writes and dropped again, so what is left is the previous schema with its rows.
    present = set(inspect(store.engine).get_table_names())
    added = [t for t in metadata.sorted_tables if t.name.startswith("s3_") and t.name not in present]
    metadata.create_all(store.engine, tables=added)
    try:
        ops = S3Operations(store, ObjectStore(data / "objects"))
        body = b"kept across the upgrade\n" * 1000
        ops.create_bucket(owner, "before-upgrade")
        incoming = ops.receive({"content-length": str(len(body))})
        incoming.write(body)
        ops.put_object(owner, "before-upgrade", "old.txt", incoming, {"content-length": str(len(body))})
    finally:
        metadata.drop_all(store.engine, tables=list(reversed(added)))
    return body


def test_upgrade_from_the_previous_schema_keeps_everything(gateways: Any, tmp_path: Path,
                                                           any_store_url: str) -> None:
    data = tmp_path / "data"
    old = _fill_previous_schema(any_store_url, data)
    demo = old["demo"]
    env = {"EC2SOAP_DATABASE_URL": any_store_url}
    refused = subprocess.run(EC2SOAP + ["serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", "0",
                                        "--simulator-port", "0", "--integration-port", "0"],
                             capture_output=True, text=True, timeout=120,
                             env={**os.environ, **env})
    assert refused.returncode == 1
    assert "run 'ec2soap db upgrade'" in refused.stderr and "Traceback" not in refused.stderr

    upgraded = _cli("db", "upgrade", "--data-dir", str(data), env=env)
    assert "schema revision" in upgraded

    gateway = gateways(env=env, data=data)
    assert (gateway.access_key, gateway.secret_key) == (demo["apikey"], demo["secretkey"])
    ec2, s3 = clients(gateway)
    assert old["image"] in [i["ImageId"] for i in ec2.describe_images()["Images"]]
    assert ec2.describe_security_groups(GroupIds=[old["group"]])["SecurityGroups"][0]["GroupName"] == "old-web"
    assert demo["apikey"] in _cli("user", "list", "--data-dir", str(data), env=env)
    assert "m1.tiny" in _cli("offering", "list", "--data-dir", str(data), env=env)
    instance = ec2.run_instances(ImageId=old["image"], MinCount=1, MaxCount=1,
                                 InstanceType="m1.tiny")["Instances"][0]
    assert instance["InstanceType"] == "m1.tiny"
    if old["object"] is not None:
        assert s3.get_object(Bucket="before-upgrade", Key="old.txt")["Body"].read() == old["object"]
    # The upgraded database serves S3 (at head 0003, which added S3, the previous revision held no objects).
    s3.create_bucket(Bucket="after-upgrade")
    s3.put_object(Bucket="after-upgrade", Key="k", Body=b"new")
    assert s3.get_object(Bucket="after-upgrade", Key="k")["Body"].read() == b"new"
    assert gateway.stop() == 0
