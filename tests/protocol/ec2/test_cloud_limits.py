"""Limits the cloud sets, answered with EC2's codes: CloudStack's vpc.max.networks (3 tiers per VPC on a fresh
4.18, the simulator's too) is CreateSubnet's SubnetLimitExceeded, naming the setting (boto3, awscli)."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import EC2Client, GatewayServer, Keys, available_vpc, serve_gateway


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "cloud-limits")


def test_subnets_per_vpc_boto3(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    vpc_id = available_vpc(ec2.client, "10.90.0.0/16")
    made = [ec2.client.create_subnet(VpcId=vpc_id, CidrBlock=f"10.90.{n}.0/24")["Subnet"]["SubnetId"]
            for n in (1, 2, 3)]
    with ec2.failure() as failure:
        ec2.client.create_subnet(VpcId=vpc_id, CidrBlock="10.90.4.0/24")
    assert failure.value.code == "SubnetLimitExceeded" and "vpc.max.networks" in failure.value.message
    found = ec2.client.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert sorted(s["SubnetId"] for s in found) == sorted(made)
    # A subnet deleted frees its place.
    ec2.client.delete_subnet(SubnetId=made[0])
    assert ec2.client.create_subnet(VpcId=vpc_id, CidrBlock="10.90.4.0/24")["Subnet"]["CidrBlock"] == "10.90.4.0/24"


def test_subnets_per_vpc_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc_id = cli.cli("create-vpc", "--cidr-block", "10.91.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc_id)
    for n in (1, 2, 3):
        cli.cli("create-subnet", "--vpc-id", vpc_id, "--cidr-block", f"10.91.{n}.0/24")
    with cli.failure() as failure:
        cli.cli("create-subnet", "--vpc-id", vpc_id, "--cidr-block", "10.91.4.0/24")
    assert failure.value.code == "SubnetLimitExceeded" and "vpc.max.networks" in failure.value.message
