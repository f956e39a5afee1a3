"""The real server (gateway + simulator over loopback HTTP, simulator_over_http) on 127.0.0.1, and real EC2 clients against it.

One server per test module; each test gets a fresh CloudStack account (its own keys), so tests never see each
other's resources. Clients: boto3 (SigV4), boto 2.49 (SigV2) and awscli (run in-process through its own
driver, so its argument parsing and output are the real ones). Assert on what the client parsed.
"""
from __future__ import annotations

import contextlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest

from ec2soap.config import Settings

REGION = "cloudstack"


@dataclass
class GatewayServer:
    running: Any
    url: str
    simulator_url: str

    @property
    def simulator(self) -> Any:
        return self.running.simulator

    def cloudstack(self, user: dict | str, command: str, **params: Any) -> tuple[int, dict]:
        """Ask the simulator directly (in-process), as USER."""
        from tests.conftest import cs

        sim = self.simulator
        if not hasattr(sim, "users"):
            sim.users = {"admin": self.running.admin_user, "demo": self.running.demo_user}
        return cs(sim, user, command, **params)


def serve_gateway(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any], name: str = "gateway",
                  **overrides: Any) -> Iterator[GatewayServer]:
    """A real server (Query, SOAP, S3) with its built-in simulator on 127.0.0.1, fast jobs; OVERRIDES are Settings
    (e.g. simulator_advanced_zone=True). A module-scoped `gateway_server` fixture yields from it."""
    from ec2soap import server

    # Over loopback HTTP (simulator_over_http), so every protocol test also crosses the CloudStack wire; the
    # modules that build their own Settings run the default, in-process.
    values: dict[str, Any] = dict(host="127.0.0.1", port=0, simulator_port=0, integration_port=-1,
                                  simulator_over_http=True,
                                  data_dir=str(tmp_path_factory.mktemp(name)), simulator_job_seconds=0.2,
                                  simulator_expunge_seconds=2.0, job_poll_interval=0.05, job_wait=20.0, db_threads=4)
    values.update(overrides)
    running = in_reactor(server.start, Settings(**values), reactor)
    yield GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}",
                        f"http://127.0.0.1:{running.ports['simulator']}/client/api")
    in_reactor(running.stop)
    running.store.close()


def fast_waiter(client: Any, name: str) -> Any:
    """botocore's waiter NAME of a boto3 CLIENT, polling every 0.2 s (100 times) instead of every 15 s."""
    waiter = client.get_waiter(name)
    waiter.config.delay, waiter.config.max_attempts = 0.2, 100
    return waiter


def available_vpc(client: Any, cidr: str) -> str:
    """A boto3 CreateVpc of CIDR, waited for with botocore's vpc_available waiter."""
    vpc_id = client.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    fast_waiter(client, "vpc_available").wait(VpcIds=[vpc_id])
    return vpc_id


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor)


@dataclass
class Keys:
    access_key: str
    secret_key: str
    account: str


@pytest.fixture
def new_user(gateway_server: GatewayServer) -> Callable[[], Keys]:
    """new_user() → keys of a fresh CloudStack account (a plain user), registered nowhere: the gateway
    looks its secret up with its admin keys, as on the embedded default."""
    return lambda: make_user(gateway_server)


def make_user(server: Any, prefix: str = "u") -> Keys:
    """Keys of a fresh CloudStack account on SERVER's simulator (anything with `cloudstack(...)` as
    GatewayServer has it), its name PREFIX and ten hex digits, its e-mail <name>@example.com."""
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    status, made = server.cloudstack("admin", "createAccount", username=name, password="pw",
                                     email=f"{name}@example.com", firstname=name, lastname="test")
    assert status == 200, made
    status, keys = server.cloudstack("admin", "registerUserKeys", id=made["account"]["user"][0]["id"])
    assert status == 200, keys
    return Keys(keys["userkeys"]["apikey"], keys["userkeys"]["secretkey"], name)


class ClientFailure(Exception):
    """What a client reported for a failed call: the EC2 error code (and HTTP status when known)."""

    def __init__(self, code: str, message: str = "", status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


class EC2Client:
    """One real client with one user's keys. `kind` is boto3, boto2 or awscli; families write small facades
    in their test modules that call `client` (boto3), `conn` (boto 2) or `cli(...)` (awscli → parsed JSON)."""

    def __init__(self, kind: str, server: GatewayServer, keys: Keys):
        self.kind, self.server, self.keys = kind, server, keys
        self.client = self.conn = None
        if kind == "boto3":
            import boto3
            from botocore.config import Config

            self.client = boto3.client("ec2", endpoint_url=server.url, region_name=REGION,
                                       aws_access_key_id=keys.access_key, aws_secret_access_key=keys.secret_key,
                                       config=Config(retries={"max_attempts": 1}))
        elif kind == "boto2":
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import boto.ec2
                from boto.ec2.regioninfo import RegionInfo
            port = int(server.url.rsplit(":", 1)[1])
            self.conn = boto.ec2.connection.EC2Connection(
                keys.access_key, keys.secret_key, region=RegionInfo(name=REGION, endpoint="127.0.0.1"),
                port=port, is_secure=False, path="/awsapi/rest/AmazonEC2")
            self.conn.num_retries = 0

    def cli(self, *args: str) -> Any:
        """Run `aws ec2 ARGS --output json` with awscli's own driver; parsed JSON, or ClientFailure."""
        from tests.awscli_run import run_aws

        rc, stdout, stderr = run_aws(self.keys.access_key, self.keys.secret_key,
                                     ["ec2", *args, "--endpoint-url", self.server.url, "--output", "json"], REGION)
        if rc != 0:
            code = stderr.split("(", 1)[1].split(")", 1)[0] if "(" in stderr else "Unknown"
            raise ClientFailure(code, stderr.strip())
        return json.loads(stdout) if stdout.strip() else {}

    @contextlib.contextmanager
    def failure(self) -> Iterator[Any]:
        """`with ec2.failure() as f:` expects the call inside to fail; f.value is the ClientFailure."""
        holder = _Holder()
        try:
            yield holder
        except ClientFailure as exc:
            holder.value = exc
        except Exception as exc:
            holder.value = _translate(exc)
        else:
            raise AssertionError("the call did not fail")


class _Holder:
    value: ClientFailure


def _translate(exc: Exception) -> ClientFailure:
    """botocore ClientError or boto 2 EC2ResponseError → ClientFailure."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        return ClientFailure(response["Error"].get("Code", ""), response["Error"].get("Message", ""),
                             response.get("ResponseMetadata", {}).get("HTTPStatusCode"))
    if hasattr(exc, "error_code") and hasattr(exc, "status"):
        return ClientFailure(exc.error_code or "", getattr(exc, "error_message", "") or "", exc.status)
    raise exc


CLIENTS = ["boto3", "boto2", "awscli"]


@pytest.fixture(params=CLIENTS)
def ec2(request: Any, gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> EC2Client:
    """An EC2 client of each kind, each with a fresh user."""
    if request.param == "boto2":
        pytest.importorskip("boto", reason="boto 2 is not installed")
    return EC2Client(request.param, gateway_server, new_user())


@pytest.fixture
def ec2_of(gateway_server: GatewayServer) -> Callable[[str, Keys], EC2Client]:
    return lambda kind, keys: EC2Client(kind, gateway_server, keys)


def cli_filters(filters: dict[str, list[str]]) -> list[str]:
    """awscli arguments for several filters: one --filters followed by every filter (a repeated --filters
    keeps only the last)."""
    if not filters:
        return []
    return ["--filters", *[f"Name={k},Values={','.join(v)}" for k, v in filters.items()]]
