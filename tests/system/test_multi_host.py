"""Two gateways as two hosts: separate `ec2soap serve` processes on one PostgreSQL (or MariaDB) database and one
storage root, both in front of one CloudStack (an `ec2soap simulator` process). What one writes, the other
sees at once; racing writers end with one winner and no orphan file; racing id minting ends with one id."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import engine_url
from tests.racing import race
from tests.system.gateways import (Process, admin_keys, boto3_client, referenced_blobs, stored_blobs,
                                   temp_files)

DATABASES = [pytest.param("postgresql", marks=pytest.mark.postgresql, id="postgresql"),
             pytest.param("mysql", marks=pytest.mark.mysql, id="mysql")]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: Any) -> Iterator[Process]:
    """One CloudStack for every gateway: the simulator alone, with its own SQLite database."""
    home = tmp_path_factory.mktemp("cloudstack")
    simulator = Process(["simulator", "--data-dir", str(home), "--host", "127.0.0.1", "--simulator-port", "0",
                         "--integration-port", "0"], home / "simulator.log")
    yield simulator
    simulator.stop()


class Pair:
    def __init__(self, a: Process, b: Process, cloud: Process, url: str, root: Path, tag: str):
        self.a, self.b, self.cloud, self.url, self.objects = a, b, cloud, url, root / "objects"
        self.tag = tag  # CloudStack is shared by every pair: names made in it carry the pair's tag

    def client(self, service: str, gateway: Process) -> Any:
        return boto3_client(service, gateway.gateway, self.cloud.access_key, self.cloud.secret_key,
                            max_pool_connections=16)


@pytest.fixture(scope="module", params=DATABASES)
def pair(request: Any, cloud: Process, tmp_path_factory: Any) -> Iterator[Pair]:
    from cryptography.fernet import Fernet

    root = tmp_path_factory.mktemp(f"shared-{request.param}")
    drops: list[Callable[[], None]] = []
    url = engine_url(request.param, root, drops.append)  # PostgreSQL or MariaDB: a fresh database
    api_key, secret_key = admin_keys(cloud.integration)
    env = {"EC2SOAP_CLOUDSTACK_ADMIN_API_KEY": api_key, "EC2SOAP_CLOUDSTACK_ADMIN_SECRET_KEY": secret_key,
           "EC2SOAP_ENCRYPTION_KEY": Fernet.generate_key().decode(), "EC2SOAP_DATABASE_URL": url}
    sim_url = f"http://127.0.0.1:{cloud.ports['simulator']}/client/api"
    started: list[Process] = []
    try:
        for name in ("a", "b"):
            started.append(Process(["serve", "--data-dir", str(root), "--host", "127.0.0.1", "--port", "0",
                                    "--cloudstack-url", sim_url], root.parent / f"{root.name}-{name}.log", env))
        yield Pair(started[0], started[1], cloud, url, root, request.param)
        for gateway in started:
            assert gateway.stop() == 0, gateway.output()
    finally:
        for gateway in started:
            gateway.kill()
        for drop in drops:
            drop()


def test_an_ec2_id_minted_on_one_gateway_is_described_on_the_other(pair: Pair) -> None:
    ec2_a, ec2_b = pair.client("ec2", pair.a), pair.client("ec2", pair.b)
    zone = ec2_a.describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
    volume = ec2_a.create_volume(Size=1, AvailabilityZone=zone)["VolumeId"]
    assert ec2_b.describe_volumes(VolumeIds=[volume])["Volumes"][0]["VolumeId"] == volume

    image = ec2_b.describe_images()["Images"][0]["ImageId"]
    instance = ec2_a.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    found = ec2_b.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    assert (found["InstanceId"], found["ImageId"]) == (instance, image)

    name = f"both-{pair.tag}"
    group = ec2_b.create_security_group(GroupName=name, Description="seen by both")["GroupId"]
    assert ec2_a.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["GroupName"] == name


def test_an_object_written_on_one_gateway_is_read_on_the_other(pair: Pair) -> None:
    s3_a, s3_b = pair.client("s3", pair.a), pair.client("s3", pair.b)
    s3_a.create_bucket(Bucket="shared")
    assert "shared" in [b["Name"] for b in s3_b.list_buckets()["Buckets"]]
    s3_a.put_object(Bucket="shared", Key="k", Body=b"one")
    assert s3_b.get_object(Bucket="shared", Key="k")["Body"].read() == b"one"
    s3_b.put_object(Bucket="shared", Key="k", Body=b"two")
    assert s3_a.get_object(Bucket="shared", Key="k")["Body"].read() == b"two"
    s3_a.delete_object(Bucket="shared", Key="k")
    with pytest.raises(Exception) as gone:
        s3_b.get_object(Bucket="shared", Key="k")
    assert gone.value.response["Error"]["Code"] == "NoSuchKey"  # type: ignore[attr-defined]


def test_concurrent_puts_of_one_key_on_both_gateways_leave_one_winner_and_no_orphan(pair: Pair) -> None:
    s3_a, s3_b = pair.client("s3", pair.a), pair.client("s3", pair.b)
    s3_a.create_bucket(Bucket="race")
    for round_ in range(6):
        bodies = [os.urandom(256 * 1024 + 4096 * round_), os.urandom(640 * 1024 - 4096 * round_)]
        race([lambda: s3_a.put_object(Bucket="race", Key="same", Body=bodies[0]),
              lambda: s3_b.put_object(Bucket="race", Key="same", Body=bodies[1])], raise_first=True)
        seen = [s3.get_object(Bucket="race", Key="same")["Body"].read() for s3 in (s3_a, s3_b)]
        assert seen[0] == seen[1], f"round {round_}: the gateways disagree"
        assert seen[0] in bodies, f"round {round_}: a mixed or partial object"
    assert temp_files(pair.objects) == []
    assert stored_blobs(pair.objects) == referenced_blobs(pair.url)


def test_concurrent_minting_for_one_new_resource_yields_one_id(pair: Pair) -> None:
    from sqlalchemy import func, select

    from ec2soap.admin import BlockingCloudStack
    from ec2soap.store import Store
    from ec2soap.store.tables import ec2_id

    cloudstack = BlockingCloudStack(pair.cloud.access_key, pair.cloud.secret_key,
                                    url=f"http://127.0.0.1:{pair.cloud.ports['simulator']}/client/api", timeout=30)
    clients = [pair.client("ec2", gateway) for gateway in (pair.a, pair.b, pair.a, pair.b)]
    store = Store(pair.url, 1)
    try:
        for round_ in range(5):
            # Made in CloudStack directly: no gateway has seen it, so the describes below race to mint its id.
            name = f"fresh-{pair.tag}-{round_}"
            cs_group = cloudstack.call("createSecurityGroup", name=name)["securitygroup"]
            answers = race([lambda c=c: c.describe_security_groups(GroupNames=[name]) for c in clients],
                           raise_first=True)
            ids = {answer["SecurityGroups"][0]["GroupId"] for answer in answers}
            assert len(ids) == 1, f"round {round_}: {ids}"
            rows = store.run_sync(lambda conn: conn.execute(select(func.count()).select_from(ec2_id).where(
                ec2_id.c.kind == "security-group", ec2_id.c.cs_id == cs_group["id"])).scalar())
            assert rows == 1
    finally:
        store.close()
