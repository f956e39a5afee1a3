"""Limits the cloud sets, answered with EC2's codes: CloudStack's vpc.max.networks (3 tiers per VPC on a fresh
4.18, the simulator's too) is CreateSubnet's SubnetLimitExceeded, naming the setting; the account's VPC and
network limits are VpcLimitExceeded and SubnetLimitExceeded (boto3, awscli)."""
from __future__ import annotations

import json
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


@pytest.mark.parametrize("kind", ["boto3", "awscli"])
def test_account_limits_on_vpcs_and_subnets(kind: str, gateway_server: GatewayServer,
                                            new_user: Callable[[], Keys]) -> None:
    """The account's CloudStack limits (max.account.vpcs, max.account.networks): VpcLimitExceeded and
    SubnetLimitExceeded, nothing made; raising the limit lets the same call through."""
    from tests.protocol.ec2.test_volumes import set_limit

    ec2 = EC2Client(kind, gateway_server, new_user())
    call = (lambda op, **kw: getattr(ec2.client, op)(**kw)) if kind == "boto3" else (
        lambda op, **kw: ec2.cli(op.replace("_", "-"), "--cli-input-json", json.dumps(kw)))
    vpc_id = call("create_vpc", CidrBlock="10.92.0.0/16")["Vpc"]["VpcId"]
    # The default VPC counts as well once made: the limit is set to what the account has now.
    have = len(call("describe_vpcs")["Vpcs"])
    set_limit(gateway_server, ec2.keys.account, "vpc", have)
    with ec2.failure() as failure:
        call("create_vpc", CidrBlock="10.93.0.0/16")
    assert failure.value.code == "VpcLimitExceeded"
    assert len(call("describe_vpcs")["Vpcs"]) == have
    set_limit(gateway_server, ec2.keys.account, "network", 0)
    with ec2.failure() as failure:
        call("create_subnet", VpcId=vpc_id, CidrBlock="10.92.1.0/24")
    assert failure.value.code == "SubnetLimitExceeded" and "network limit" in failure.value.message
    assert call("describe_subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"] == []
    set_limit(gateway_server, ec2.keys.account, "network", 5)
    assert call("create_subnet", VpcId=vpc_id, CidrBlock="10.92.1.0/24")["Subnet"]["VpcId"] == vpc_id
    set_limit(gateway_server, ec2.keys.account, "vpc", have + 1)
    assert call("create_vpc", CidrBlock="10.93.0.0/16")["Vpc"]["CidrBlock"] == "10.93.0.0/16"
