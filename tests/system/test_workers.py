"""`ec2soap serve --workers N`: one port served by N processes under a supervisor that restarts a dead worker
and stops them all, draining, on SIGTERM."""
from __future__ import annotations

import os
import re
import signal
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.system.gateways import Process, boto3_client, referenced_blobs, stored_blobs, wait_until


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def database_url(request: Any, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/data/ec2soap.db"
        return
    base = os.environ.get("EC2SOAP_TEST_POSTGRESQL_URL")
    if not base:
        if os.environ.get("CI"):
            pytest.fail("EC2SOAP_TEST_POSTGRESQL_URL must be set in CI")
        pytest.skip("EC2SOAP_TEST_POSTGRESQL_URL not set")
    from tests.dbs import fresh_database

    url, drop = fresh_database(base)
    yield url
    drop()


def test_workers_share_the_port_survive_a_crash_and_stop_together(tmp_path: Path, database_url: str) -> None:
    data = tmp_path / "data"
    service = Process(["serve", "--workers", "2", "--data-dir", str(data), "--database-url", database_url,
                       "--host", "127.0.0.1", "--port", "0", "--simulator-port", "0", "--integration-port", "0"],
                      tmp_path / "serve.log")
    try:
        assert len(service.worker_pids) == 2 and service.process.pid not in service.worker_pids

        def fresh(kind: str) -> Any:  # a new connection each time: the kernel picks the worker
            return boto3_client(kind, service.gateway, service.access_key, service.secret_key)

        zone = fresh("ec2").describe_availability_zones()["AvailabilityZones"][0]["ZoneName"]
        volumes = [fresh("ec2").create_volume(Size=1, AvailabilityZone=zone)["VolumeId"] for _ in range(4)]
        for volume in volumes:
            assert fresh("ec2").describe_volumes(VolumeIds=[volume])["Volumes"][0]["VolumeId"] == volume
        fresh("s3").create_bucket(Bucket="workers")
        for i in range(6):
            fresh("s3").put_object(Bucket="workers", Key=f"k{i}", Body=f"body {i}".encode() * 1000)
        for i in range(6):
            assert fresh("s3").get_object(Bucket="workers", Key=f"k{i}")["Body"].read() == f"body {i}".encode() * 1000

        # A worker that dies is replaced; the port keeps answering meanwhile.
        victim = service.worker_pids[0]
        os.kill(victim, signal.SIGKILL)
        replaced = wait_until(lambda: re.findall(r"worker 1 started \(pid (\d+)\)", service.output())[1:],
                              timeout=60, what="the worker to be restarted")
        new_pid = int(replaced[0])
        assert new_pid != victim and _alive(new_pid)
        for _ in range(6):
            assert fresh("ec2").describe_volumes(VolumeIds=volumes)["Volumes"]
        assert "worker 1 (pid %d) died: signal 9" % victim in service.output()

        assert service.stop() == 0, service.output()
        for pid in (new_pid, service.worker_pids[1]):
            assert not _alive(pid)
        assert "Traceback" not in service.output()
        assert stored_blobs(data / "objects") == referenced_blobs(database_url)
    finally:
        service.kill()
