"""EC2-VPC on a cloud with only a Basic zone (the simulator with simulator_advanced_zone off): CreateVpc is
refused, saying why, and the Describe actions answer nothing (boto3, awscli)."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import EC2Client, GatewayServer, serve_gateway


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "basic-only", simulator_advanced_zone=False)


@pytest.fixture(params=["boto3", "awscli"])
def client(request: pytest.FixtureRequest, gateway_server, new_user) -> EC2Client:
    return EC2Client(request.param, gateway_server, new_user())


def test_create_vpc_needs_an_advanced_zone(client: EC2Client) -> None:
    with client.failure() as failure:
        if client.kind == "boto3":
            client.client.create_vpc(CidrBlock="10.0.0.0/16")
        else:
            client.cli("create-vpc", "--cidr-block", "10.0.0.0/16")
    assert failure.value.code == "UnsupportedOperation"
    assert "Advanced zone" in failure.value.message
    if client.kind == "boto3":
        assert client.client.describe_vpcs()["Vpcs"] == []
        assert client.client.describe_subnets()["Subnets"] == []
    else:
        assert client.cli("describe-vpcs")["Vpcs"] == []


def test_account_attributes_of_a_basic_cloud(client: EC2Client) -> None:
    if client.kind == "boto3":
        found = client.client.describe_account_attributes(AttributeNames=["supported-platforms", "default-vpc"])
    else:
        found = client.cli("describe-account-attributes", "--attribute-names", "supported-platforms",
                           "default-vpc")
    values = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
              for a in found["AccountAttributes"]}
    assert values == {"supported-platforms": ["EC2"], "default-vpc": ["none"]}
