"""Security groups of EC2 VPCs over the simulator's advanced zone: each VPC's default group, CreateSecurityGroup with
VpcId, DescribeSecurityGroups' VpcId, DeleteSecurityGroup by GroupId, and rules refused (CloudStack VPC tiers have
no security groups; network ACLs are the way)."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import available_vpc, EC2Client, GatewayServer, Keys, serve_gateway


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "vpc_groups", simulator_advanced_zone=True)


def test_vpc_security_groups_boto3(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    client = ec2.client
    vpc_id = available_vpc(client, "10.70.0.0/16")
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    [default] = client.describe_security_groups(Filters=in_vpc)["SecurityGroups"]
    assert default["GroupName"] == "default" and default["VpcId"] == vpc_id and default["GroupId"].startswith("sg-")
    assert default["IpPermissions"] == [] and default["IpPermissionsEgress"] == []
    made = client.create_security_group(GroupName="web", Description="web tier", VpcId=vpc_id, TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "Name", "Value": "w"}]}])["GroupId"]
    [web] = client.describe_security_groups(GroupIds=[made])["SecurityGroups"]
    assert (web["GroupName"], web["Description"], web["VpcId"]) == ("web", "web tier", vpc_id)
    assert web["Tags"] == [{"Key": "Name", "Value": "w"}]
    assert sorted(g["GroupName"] for g in client.describe_security_groups(Filters=in_vpc)["SecurityGroups"]) == [
        "default", "web"]
    # EC2-Classic groups (the basic zone) stay as they are, without a VpcId.
    classic = [g for g in client.describe_security_groups()["SecurityGroups"] if "VpcId" not in g]
    assert [g["GroupName"] for g in classic] == ["default"]

    with ec2.failure() as failure:
        client.create_security_group(GroupName="web", Description="again", VpcId=vpc_id)
    assert failure.value.code == "InvalidGroup.Duplicate"
    for call in (client.authorize_security_group_ingress, client.authorize_security_group_egress,
                 client.revoke_security_group_ingress):
        with ec2.failure() as failure:
            call(GroupId=made, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                                               "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        assert failure.value.code == "OperationNotPermitted" and "network ACL" in failure.value.message
    [still] = client.describe_security_groups(GroupIds=[made])["SecurityGroups"]
    assert still["IpPermissions"] == [] and still["IpPermissionsEgress"] == []
    with ec2.failure() as failure:
        client.delete_security_group(GroupId=default["GroupId"])
    assert failure.value.code == "CannotDelete"

    other = EC2Client("boto3", gateway_server, new_user())
    assert [g for g in other.client.describe_security_groups()["SecurityGroups"] if "VpcId" in g] == []
    with other.failure() as failure:
        other.client.delete_security_group(GroupId=made)
    assert failure.value.code == "InvalidGroup.NotFound"

    client.delete_security_group(GroupId=made)
    with ec2.failure() as failure:
        client.describe_security_groups(GroupIds=[made])
    assert failure.value.code == "InvalidGroup.NotFound"
    with ec2.failure() as failure:
        client.create_security_group(GroupName="x", Description="x", VpcId="vpc-12345678")
    assert failure.value.code == "InvalidVpcID.NotFound"


def test_vpc_security_groups_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc_id = cli.cli("create-vpc", "--cidr-block", "172.21.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc_id)
    group_id = cli.cli("create-security-group", "--group-name", "db", "--description", "db tier",
                       "--vpc-id", vpc_id)["GroupId"]
    found = cli.cli("describe-security-groups", "--filters", f"Name=vpc-id,Values={vpc_id}")["SecurityGroups"]
    assert sorted((g["GroupName"], g["VpcId"]) for g in found) == [("db", vpc_id), ("default", vpc_id)]
    with cli.failure() as failure:
        cli.cli("authorize-security-group-ingress", "--group-id", group_id, "--protocol", "tcp", "--port", "22",
                "--cidr", "10.0.0.0/8")
    assert failure.value.code == "OperationNotPermitted"
    cli.cli("delete-security-group", "--group-id", group_id)
    found = cli.cli("describe-security-groups", "--filters", f"Name=vpc-id,Values={vpc_id}")["SecurityGroups"]
    assert [g["GroupName"] for g in found] == ["default"]
