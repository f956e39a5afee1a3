"""The operators' commands as an operator runs them (real processes): `ec2soap user register|list|remove`,
`ec2soap offering map|unmap|list` and `ec2soap config check`, next to a running `ec2soap serve`."""
from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
import requests

from tests.system.test_serve import EC2SOAP, Service


def ec2soap(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(EC2SOAP + list(args), capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def served(tmp_path_factory: Any) -> Iterator[tuple[Service, Path]]:
    data = tmp_path_factory.mktemp("admin-cli") / "data"
    service = Service(["serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", "0",
                       "--simulator-port", "0", "--integration-port", "0"])
    yield service, data
    service.stop()


def integration(service: Service, command: str, **params: str) -> dict:
    """The simulator's unauthenticated integration port (CloudStack's 8096), as the SYSTEM admin."""
    port = service.ports["integration (no auth)"]
    body = requests.get(f"http://127.0.0.1:{port}/client/api",
                        params={"command": command, "response": "json", **params}, timeout=30).json()
    (_, inner), = body.items()
    return inner


def new_account_keys(service: Service, accounttype: int) -> tuple[str, str]:
    name = f"op{uuid.uuid4().hex[:8]}"
    made = integration(service, "createAccount", username=name, password="pw", email=f"{name}@example.com",
                       firstname=name, lastname="ops", accounttype=str(accounttype))
    keys = integration(service, "registerUserKeys", id=made["account"]["user"][0]["id"])["userkeys"]
    return keys["apikey"], keys["secretkey"]


def test_user_register_list_remove(served: tuple[Service, Path]) -> None:
    service, data = served
    d = ["--data-dir", str(data)]
    wrong = ec2soap("user", "register", f"--access-key={service.access_key}", "--secret-key", "nope", *d)
    assert wrong.returncode == 1 and "did not accept" in wrong.stderr
    assert service.access_key not in ec2soap("user", "list", *d).stdout

    done = ec2soap("user", "register", f"--access-key={service.access_key}",
                   f"--secret-key={service.secret_key}", *d)
    assert done.returncode == 0, done.stderr
    listed = ec2soap("user", "list", *d)
    assert listed.returncode == 0
    row = [line for line in listed.stdout.splitlines() if line.startswith(service.access_key)]
    assert row and row[0].split()[1] == "no"  # no certificate
    everything = done.stdout + done.stderr + listed.stdout + listed.stderr
    assert service.secret_key not in everything
    # Stored encrypted: the secret is nowhere in the database file.
    assert service.secret_key.encode() not in (data / "ec2soap.db").read_bytes()

    assert ec2soap("user", "remove", f"--access-key={service.access_key}", *d).returncode == 0
    again = ec2soap("user", "remove", f"--access-key={service.access_key}", *d)
    assert again.returncode == 1 and "not registered" in again.stderr


def test_offering_map_unmap_list(served: tuple[Service, Path]) -> None:
    _, data = served
    d = ["--data-dir", str(data)]
    assert "no mappings" in ec2soap("offering", "list", *d).stdout
    mapped = ec2soap("offering", "map", "m9.custom", "m1.large", *d)
    assert mapped.returncode == 0, mapped.stderr
    unknown = ec2soap("offering", "map", "m9.other", "no-such-offering", *d)
    assert unknown.returncode == 1 and "no compute offering" in unknown.stderr
    assert ec2soap("offering", "map", "m9.other", "no-such-offering", "--no-check", *d).returncode == 0
    listed = ec2soap("offering", "list", *d).stdout.splitlines()
    assert ["m9.custom", "m1.large"] in [line.split() for line in listed]
    assert ["m9.other", "no-such-offering"] in [line.split() for line in listed]
    assert ec2soap("offering", "unmap", "m9.other", *d).returncode == 0
    assert ec2soap("offering", "unmap", "m9.other", *d).returncode == 1
    assert "m9.other" not in ec2soap("offering", "list", *d).stdout


def test_config_check_embedded_is_ok(served: tuple[Service, Path]) -> None:
    _, data = served
    result = ec2soap("config", "check", "--data-dir", str(data))
    assert result.returncode == 0, result.stdout
    assert "embedded CloudStack simulator" in result.stdout and "configuration OK" in result.stdout


def test_config_check_prints_every_problem(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    (tmp_path / "not-a-dir").write_text("a file where the database's folder should be")
    config = tmp_path / "ec2soap.toml"
    config.write_text(f'cloudstack_url = "http://127.0.0.1:{dead}/client/api"\nprot = 7080\n'
                      f'database_url = "sqlite:///{tmp_path}/not-a-dir/ec2soap.db"\n')
    result = ec2soap("config", "check", "--config", str(config), "--data-dir", str(tmp_path))
    assert result.returncode == 1
    problems = [line for line in result.stdout.splitlines() if line.startswith("PROBLEM")]
    text = "\n".join(problems)
    assert "unknown key 'prot'" in text
    assert "database" in text and "cannot be used" in text
    assert "cloudstack_admin_api_key" in text
    assert "cannot be reached" in text
    assert len(problems) == 4, result.stdout


def test_config_check_against_a_cloudstack_checks_the_admin_keys(served: tuple[Service, Path],
                                                                 tmp_path: Path) -> None:
    service, data = served
    url = f"http://127.0.0.1:{service.ports['simulator']}/client/api"

    def check(key: str, secret: str) -> subprocess.CompletedProcess:
        env_config = tmp_path / f"{uuid.uuid4().hex}.toml"
        env_config.write_text(f'cloudstack_admin_api_key = "{key}"\ncloudstack_admin_secret_key = "{secret}"\n')
        return ec2soap("config", "check", "--config", str(env_config), "--data-dir", str(data),
                       "--cloudstack-url", url)

    admin_key, admin_secret = new_account_keys(service, 1)
    good = check(admin_key, admin_secret)
    assert good.returncode == 0, good.stdout
    assert "root admin" in good.stdout and "enable.ec2.api = true" in good.stdout
    assert admin_secret not in good.stdout + good.stderr

    wrong = check(admin_key, "wrong-secret")
    assert wrong.returncode == 1 and "refuses the admin keys" in wrong.stdout

    user_key, user_secret = new_account_keys(service, 0)
    plain = check(user_key, user_secret)
    assert plain.returncode == 1 and "not a root admin" in plain.stdout


def test_user_register_against_a_cloudstack_url(served: tuple[Service, Path], tmp_path: Path) -> None:
    service, _ = served
    url = f"http://127.0.0.1:{service.ports['simulator']}/client/api"
    key, secret = new_account_keys(service, 0)
    other = ["--data-dir", str(tmp_path / "other"), "--cloudstack-url", url]
    done = ec2soap("user", "register", f"--access-key={key}", f"--secret-key={secret}", *other)
    assert done.returncode == 0, done.stderr
    assert key in ec2soap("user", "list", "--data-dir", str(tmp_path / "other")).stdout
    assert sys.executable  # the same interpreter runs every command
