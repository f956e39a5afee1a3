"""What the gateway keeps of instances, shared by gateway processes on one database: a RunInstances ClientToken
raced through two `ec2soap serve` processes launches once, termination protection set through one is enforced
by the other, and an instance terminated through one shows terminated through the other."""
from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest

from tests.system.gateways import Process, admin_keys, boto3_client

WAIT = {"Delay": 1, "MaxAttempts": 60}


@pytest.fixture(scope="module")
def cloud(tmp_path_factory: Any) -> Iterator[Process]:
    home = tmp_path_factory.mktemp("cloudstack")
    simulator = Process(["simulator", "--data-dir", str(home), "--host", "127.0.0.1", "--simulator-port", "0",
                         "--integration-port", "0"], home / "simulator.log",
                        {"EC2SOAP_SIMULATOR_JOB_SECONDS": "0.3"})
    yield simulator
    simulator.stop()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def gateways(request: Any, cloud: Process, tmp_path_factory: Any) -> Iterator[tuple[Process, Process]]:
    root = tmp_path_factory.mktemp(f"gateways-{request.param}")
    drop = None
    if request.param == "sqlite":
        url = f"sqlite:///{root}/shared.db"
    else:
        base = os.environ.get("EC2SOAP_TEST_POSTGRESQL_URL")
        if not base:
            if os.environ.get("CI"):
                pytest.fail("EC2SOAP_TEST_POSTGRESQL_URL must be set in CI")
            pytest.skip("EC2SOAP_TEST_POSTGRESQL_URL not set")
        from tests.dbs import fresh_database

        url, drop = fresh_database(base)
    from cryptography.fernet import Fernet

    api_key, secret_key = admin_keys(cloud.integration)
    env = {"EC2SOAP_CLOUDSTACK_ADMIN_API_KEY": api_key, "EC2SOAP_CLOUDSTACK_ADMIN_SECRET_KEY": secret_key,
           "EC2SOAP_ENCRYPTION_KEY": Fernet.generate_key().decode(), "EC2SOAP_DATABASE_URL": url,
           "EC2SOAP_JOB_POLL_INTERVAL": "0.1"}
    sim_url = f"http://127.0.0.1:{cloud.ports['simulator']}/client/api"
    started: list[Process] = []
    try:
        for name in ("a", "b"):
            data = root / name
            started.append(Process(["serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", "0",
                                    "--cloudstack-url", sim_url], root / f"{name}.log", env))
        yield started[0], started[1]
        for gateway in started:
            assert gateway.stop() == 0, gateway.output()
    finally:
        for gateway in started:
            gateway.kill()
        if drop is not None:
            drop()


def _ec2(gateway: Process, cloud: Process) -> Any:
    return boto3_client("ec2", gateway.gateway, cloud.access_key, cloud.secret_key, max_pool_connections=16)


def _image(ec2: Any) -> str:
    return next(i["ImageId"] for i in ec2.describe_images()["Images"] if i["State"] == "available")


def test_a_client_token_raced_through_two_gateways_launches_once(gateways: tuple[Process, Process],
                                                                 cloud: Process) -> None:
    a, b = _ec2(gateways[0], cloud), _ec2(gateways[1], cloud)
    image = _image(a)
    token = f"two-hosts-{uuid.uuid4()}"

    def launch(ec2: Any) -> tuple[str, list[str]]:
        reply = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m1.small", ClientToken=token)
        return reply["ReservationId"], [i["InstanceId"] for i in reply["Instances"]]
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(launch, [a, b] * 3))
    assert len(set(r for r, _ in answers)) == 1, answers
    assert len({tuple(ids) for _, ids in answers}) == 1, answers
    reservation, (iid,) = answers[0]
    for ec2 in (a, b):
        mine = [i["InstanceId"] for r in ec2.describe_instances(
            Filters=[{"Name": "reservation-id", "Values": [reservation]}])["Reservations"] for i in r["Instances"]]
        assert mine == [iid]
    with pytest.raises(Exception) as failure:
        b.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m1.medium", ClientToken=token)
    assert failure.value.response["Error"]["Code"] == "IdempotentParameterMismatch"

    # Protection set through one gateway holds through the other; a termination through one shows in both.
    a.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
    with pytest.raises(Exception) as failure:
        b.terminate_instances(InstanceIds=[iid])
    assert failure.value.response["Error"]["Code"] == "OperationNotPermitted"
    b.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    a.terminate_instances(InstanceIds=[iid])
    b.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=WAIT)
    state = b.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]
    assert state == "terminated"


def test_log_files_hold_no_traceback(gateways: tuple[Process, Process]) -> None:
    for gateway in gateways:
        assert "Traceback" not in gateway.output(), gateway.output()

