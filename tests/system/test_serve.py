"""`ec2soap serve` / `simulator` / `db upgrade` as an operator runs them: real processes, real ports, real clients."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

EC2SOAP = [sys.executable, "-m", "ec2soap"]


class Service:
    """A running `ec2soap` process and what its banner said."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None):
        self.process = subprocess.Popen(EC2SOAP + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True, env={**os.environ, **(env or {})})
        self.banner: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()  # type: ignore[union-attr]
            if not line:
                raise AssertionError("ec2soap exited early:\n" + "".join(self.banner))
            self.banner.append(line)
            if "export AWS_SHARED_CREDENTIALS_FILE" in line or ("integration (no auth)" in line
                                                                and args[0] == "simulator"):
                break
        else:
            raise AssertionError("no banner:\n" + "".join(self.banner))
        text = "".join(self.banner)
        self.ports = {name: int(port) for name, port in
                      re.findall(r"(simulator|integration \(no auth\)|EC2 Query)\s+http://[^:]+:(\d+)", text)}
        keys = dict(re.findall(r"(access key|secret key)\s+(\S+)", text))
        self.access_key, self.secret_key = keys.get("access key"), keys.get("secret key")

    def stop(self) -> str:
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=30)
        return out


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Any]:
    started: list[Service] = []

    def start(*extra: str) -> Service:
        service = Service(["serve", "--data-dir", str(tmp_path / "data"), "--host", "127.0.0.1", "--port", "0",
                           "--simulator-port", "0", "--integration-port", "0", *extra])
        started.append(service)
        return service

    yield start
    for service in started:
        if service.process.poll() is None:
            service.stop()


def test_serve_embedded_default_answers_cs_curl_and_writes_demo_credentials(serve_process: Any,
                                                                            tmp_path: Path) -> None:
    service = serve_process()
    integration = service.ports["integration (no auth)"]
    # The integration port: no signature, like CloudStack's 8096.
    zones = requests.get(f"http://127.0.0.1:{integration}/client/api",
                         params={"command": "listZones", "response": "json"}, timeout=10).json()
    assert zones["listzonesresponse"]["count"] >= 1
    zone_name = zones["listzonesresponse"]["zone"][0]["name"]

    # The signed API with the demo keys, through the `cs` client from PyPI.
    env = {**os.environ, "CLOUDSTACK_ENDPOINT": f"http://127.0.0.1:{service.ports['simulator']}/client/api",
           "CLOUDSTACK_KEY": service.access_key, "CLOUDSTACK_SECRET": service.secret_key}
    listed = subprocess.run([str(Path(sys.executable).parent / "cs"), "listZones"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["zone"][0]["name"] == zone_name

    # A wrong secret is CloudStack's 401, through the same client.
    env["CLOUDSTACK_SECRET"] = "wrong"
    refused = subprocess.run([str(Path(sys.executable).parent / "cs"), "listZones"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "401" in refused.stdout + refused.stderr

    creds = (tmp_path / "data" / "demo-credentials").read_text()
    assert creds.startswith("[default]\n")
    assert f"aws_access_key_id = {service.access_key}" in creds
    assert f"aws_secret_access_key = {service.secret_key}" in creds
    assert oct((tmp_path / "data" / "demo-credentials").stat().st_mode & 0o777) == "0o600"

    gateway = service.ports["EC2 Query"]
    assert requests.get(f"http://127.0.0.1:{gateway}/", timeout=10).status_code in (200, 400, 403, 501)
    out = service.stop()
    assert service.process.returncode == 0, out
    assert service.secret_key not in out.replace(f"secret key  {service.secret_key}", "")


def test_restart_keeps_users_and_resources(serve_process: Any) -> None:
    first = serve_process()
    port = first.ports["integration (no auth)"]
    made = requests.get(f"http://127.0.0.1:{port}/client/api", timeout=10, params={
        "command": "createAccount", "username": "erin", "password": "pw", "email": "e@example.com",
        "firstname": "Erin", "lastname": "Doe", "response": "json"}).json()
    account_id = made["createaccountresponse"]["account"]["id"]
    first.stop()

    second = serve_process()
    assert (second.access_key, second.secret_key) == (first.access_key, first.secret_key)
    port = second.ports["integration (no auth)"]
    found = requests.get(f"http://127.0.0.1:{port}/client/api", timeout=10, params={
        "command": "listAccounts", "name": "erin", "response": "json"}).json()
    assert found["listaccountsresponse"]["account"][0]["id"] == account_id


def test_simulator_alone_and_xml_by_default(tmp_path: Path) -> None:
    service = Service(["simulator", "--data-dir", str(tmp_path), "--host", "127.0.0.1", "--simulator-port", "0",
                       "--integration-port", "0"])
    try:
        port = service.ports["integration (no auth)"]
        reply = requests.get(f"http://127.0.0.1:{port}/anything", params={"command": "listZones"}, timeout=10)
        assert reply.status_code == 200
        assert reply.headers["Content-Type"].startswith("text/xml")
        assert b"<listzonesresponse" in reply.content and b"<zone>" in reply.content
        unknown = requests.get(f"http://127.0.0.1:{port}/", params={"command": "noSuchThing",
                                                                     "response": "json"}, timeout=10)
        assert unknown.status_code == 432
        assert unknown.json()["errorresponse"]["errortext"] == "Unknown API command: noSuchThing"
        assert "EC2 Query" not in "".join(service.banner)
    finally:
        service.stop()


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/up.db"
    done = subprocess.run(EC2SOAP + ["db", "upgrade", "--database-url", url], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    head = subprocess.run(EC2SOAP + ["db", "revision"], capture_output=True, text=True, timeout=60).stdout.strip()
    assert f"schema revision {head}" in done.stdout


def test_outdated_database_is_refused_with_advice(tmp_path: Path) -> None:
    from ec2soap.store import Store
    from ec2soap.store.db import migrate

    url = f"sqlite:///{tmp_path}/old.db"
    migrate(Store(url).engine, "0001")
    refused = subprocess.run(EC2SOAP + ["serve", "--database-url", url, "--data-dir", str(tmp_path),
                                        "--port", "0"], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert "run 'ec2soap db upgrade'" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_bad_settings_exit_2_with_a_message(tmp_path: Path) -> None:
    bad = subprocess.run(EC2SOAP + ["serve", "--data-dir", str(tmp_path)], capture_output=True, text=True,
                         timeout=60, env={**os.environ, "EC2SOAP_PORT": "seventy"})
    assert bad.returncode == 2
    assert "EC2SOAP_PORT" in bad.stderr and "Traceback" not in bad.stderr


def test_aws_cli_with_the_demo_credentials(serve_process: Any, tmp_path: Path) -> None:
    """Issue 3's acceptance: after `ec2soap serve`, the aws command line works with the demo credentials."""
    service = serve_process()
    endpoint = f"http://127.0.0.1:{service.ports['EC2 Query']}"
    data = tmp_path / "data"
    env = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(data / "demo-credentials"),
           "AWS_CONFIG_FILE": str(data / "demo-config"), "AWS_MAX_ATTEMPTS": "1"}
    env.pop("AWS_ACCESS_KEY_ID", None)
    env.pop("AWS_SECRET_ACCESS_KEY", None)
    aws = str(Path(sys.executable).parent / "aws")

    def run(*args: str) -> Any:
        done = subprocess.run([aws, "ec2", *args, "--endpoint-url", endpoint, "--output", "json"], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    images = run("describe-images")["Images"]
    assert images and all(i["ImageId"].startswith("ami-") for i in images)
    launched = run("run-instances", "--image-id", images[0]["ImageId"], "--instance-type", "m1.small")
    instance_id = launched["Instances"][0]["InstanceId"]
    assert instance_id.startswith("i-")
    described = run("describe-instances", "--instance-ids", instance_id)
    instance = described["Reservations"][0]["Instances"][0]
    assert instance["InstanceId"] == instance_id and instance["InstanceType"] == "m1.small"
    assert instance["State"]["Name"] in ("pending", "running")
