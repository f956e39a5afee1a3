"""A parameter the gateway does not apply is refused, never dropped: UnknownParameter naming it, as EC2 answers a
parameter it does not know (EC2 parameters this cloud cannot apply, such as CreateSubnet's AvailabilityZoneId or
AllocateAddress's Address, included), and DryRun=true is EC2's DryRunOperation with nothing done. Through boto3
(an event hook adds a parameter botocore would not send) and awscli."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
from botocore import xform_name

from tests.protocol.conftest import EC2Client, GatewayServer, Keys, available_vpc, serve_gateway
from tests.protocol.ec2.test_instances import template_id


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "unknown-params")


def _with_extra(client: Any, name: str, value: str) -> None:
    def add(params: dict, **_: Any) -> None:
        params["body"][name] = value
    client.meta.events.register("before-call.ec2.*", add)


@pytest.mark.parametrize("action", ["DescribeInstances", "DescribeVpcs", "DescribeVolumes", "DescribeKeyPairs",
                                    "DescribeAddresses", "DescribeImages", "DescribeSecurityGroups"])
def test_a_made_up_parameter_is_unknown(gateway_server: GatewayServer, new_user: Callable[[], Keys],
                                        action: str) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    _with_extra(ec2.client, "NoSuchParameter", "1")
    with ec2.failure() as failure:
        getattr(ec2.client, xform_name(action))()
    assert failure.value.code == "UnknownParameter" and "NoSuchParameter" in failure.value.message


def test_ec2_parameters_this_cloud_cannot_apply_boto3(gateway_server: GatewayServer,
                                                      new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    c = ec2.client
    vpc_id = available_vpc(c, "10.80.0.0/16")
    calls = [
        ("AvailabilityZoneId", lambda: c.create_subnet(VpcId=vpc_id, CidrBlock="10.80.1.0/24",
                                                       AvailabilityZoneId="use1-az9")),
        ("Address", lambda: c.allocate_address(Domain="vpc", Address="203.0.113.77")),
        ("MetadataOptions.HttpTokens", lambda: c.run_instances(
            ImageId=template_id(gateway_server), MinCount=1, MaxCount=1, MetadataOptions={"HttpTokens": "required"})),
    ]
    for name, call in calls:
        with ec2.failure() as failure:
            call()
        assert failure.value.code == "UnknownParameter" and name in failure.value.message, name
    # Nothing was made by the refused calls.
    assert c.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"] == []
    assert c.describe_addresses()["Addresses"] == []
    assert c.describe_instances()["Reservations"] == []


def test_dry_run(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    with ec2.failure() as failure:
        ec2.client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1, DryRun=True)
    assert failure.value.code == "DryRunOperation" and failure.value.status == 412
    with ec2.failure() as failure:
        ec2.client.create_key_pair(KeyName="dry", DryRun=True)
    assert failure.value.code == "DryRunOperation"
    assert ec2.client.describe_instances()["Reservations"] == []
    assert ec2.client.describe_key_pairs()["KeyPairs"] == []
    # DryRun=false is the call itself.
    assert ec2.client.create_key_pair(KeyName="wet", DryRun=False)["KeyName"] == "wet"
    cli = EC2Client("awscli", gateway_server, ec2.keys)
    with cli.failure() as failure:
        cli.cli("create-key-pair", "--key-name", "dry2", "--dry-run")
    assert failure.value.code == "DryRunOperation"
    with cli.failure() as failure:
        cli.cli("create-subnet", "--vpc-id", "vpc-0123456789abcdef0", "--cidr-block", "10.81.1.0/24",
                "--availability-zone-id", "use1-az9")
    assert failure.value.code == "UnknownParameter" and "AvailabilityZoneId" in failure.value.message
    assert [k["KeyName"] for k in cli.cli("describe-key-pairs")["KeyPairs"]] == ["wet"]
