"""EC2-VPC internet gateways over the simulator's advanced zone: boto3 and awscli for the round trip, boto3 for
the errors, a second user who sees nothing."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import available_vpc, EC2Client, GatewayServer, Keys, serve_gateway
from tests.unit.cloudstack.simulator.compute_world import put, read


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "igws", simulator_advanced_zone=True)


@pytest.fixture
def boto3_ec2(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> EC2Client:
    return EC2Client("boto3", gateway_server, new_user())


def _names(found: dict) -> list[str]:
    return [g["InternetGatewayId"] for g in found["InternetGateways"]]


def _default_gateways(client: Any) -> list[str]:
    """The internet gateway of the caller's default VPC (EC2 gives every default VPC one, attached)."""
    default = [v["VpcId"] for v in client.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]]
    return _names(client.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": default}])) \
        if default else []


def test_internet_gateway_round_trip_boto3(boto3_ec2: EC2Client, gateway_server: GatewayServer,
                                           new_user: Callable[[], Keys]) -> None:
    client = boto3_ec2.client
    vpc_id = available_vpc(client, "10.60.0.0/16")
    made = client.create_internet_gateway(TagSpecifications=[
        {"ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": "edge"}]}])["InternetGateway"]
    igw = made["InternetGatewayId"]
    assert igw.startswith("igw-") and made["Attachments"] == [] and made["Tags"] == [{"Key": "Name", "Value": "edge"}]
    second = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    client.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    [shown] = client.describe_internet_gateways(InternetGatewayIds=[igw])["InternetGateways"]
    assert shown["Attachments"] == [{"VpcId": vpc_id, "State": "available"}] and shown["OwnerId"]
    # CreateVpc's waiter asked DescribeVpcs, which made the account's default VPC and its gateway.
    defaults = _default_gateways(client)
    assert len(defaults) == 1
    for name, values, wanted in (("attachment.vpc-id", [vpc_id], [igw]),
                                 ("attachment.state", ["available"], sorted([igw, *defaults])),
                                 ("internet-gateway-id", [second], [second]), ("tag:Name", ["edge"], [igw]),
                                 ("tag:Name", ["other"], [])):
        found = client.describe_internet_gateways(Filters=[{"Name": name, "Values": values}])
        assert sorted(_names(found)) == wanted, name
    assert sorted(_names(client.describe_internet_gateways())) == sorted([igw, second, *defaults])
    extra = [client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"] for _ in range(4)]
    first = client.describe_internet_gateways(MaxResults=5)
    rest = client.describe_internet_gateways(MaxResults=5, NextToken=first["NextToken"])
    assert len(first["InternetGateways"]) == 5 and "NextToken" not in rest
    assert sorted(_names(first) + _names(rest)) == sorted([igw, second, *extra, *defaults])
    for gone in extra:
        client.delete_internet_gateway(InternetGatewayId=gone)
    # One gateway per VPC, one VPC per gateway; an attached gateway is not deleted; the VPC waits for it.
    for other_igw in (igw, second):
        with boto3_ec2.failure() as failure:
            client.attach_internet_gateway(InternetGatewayId=other_igw, VpcId=vpc_id)
        assert failure.value.code == "Resource.AlreadyAssociated"
    with boto3_ec2.failure() as failure:
        client.delete_internet_gateway(InternetGatewayId=igw)
    assert failure.value.code == "DependencyViolation"
    with boto3_ec2.failure() as failure:
        client.detach_internet_gateway(InternetGatewayId=second, VpcId=vpc_id)
    assert failure.value.code == "Gateway.NotAttached"
    other = EC2Client("boto3", gateway_server, new_user())
    assert other.client.describe_internet_gateways()["InternetGateways"] == []
    with other.failure() as failure:
        other.client.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    assert failure.value.code == "InvalidInternetGatewayID.NotFound"
    theirs = other.client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    with other.failure() as failure:
        other.client.attach_internet_gateway(InternetGatewayId=theirs, VpcId=vpc_id)
    assert failure.value.code == "InvalidVpcID.NotFound"
    assert _names(client.describe_internet_gateways(Filters=[
        {"Name": "internet-gateway-id", "Values": [theirs]}])) == []
    client.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    assert client.describe_internet_gateways(InternetGatewayIds=[igw])["InternetGateways"][0]["Attachments"] == []
    client.delete_internet_gateway(InternetGatewayId=igw)
    client.delete_internet_gateway(InternetGatewayId=second)
    with boto3_ec2.failure() as failure:
        client.describe_internet_gateways(InternetGatewayIds=[igw])
    assert failure.value.code == "InvalidInternetGatewayID.NotFound"
    client.delete_vpc(VpcId=vpc_id)


def test_internet_gateway_through_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc_id = cli.cli("create-vpc", "--cidr-block", "10.61.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc_id)
    igw = cli.cli("create-internet-gateway")["InternetGateway"]["InternetGatewayId"]
    cli.cli("attach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc_id)
    found = cli.cli("describe-internet-gateways", "--filters", f"Name=attachment.vpc-id,Values={vpc_id}")
    assert [(g["InternetGatewayId"], g["Attachments"]) for g in found["InternetGateways"]] == [
        (igw, [{"State": "available", "VpcId": vpc_id}])]
    cli.cli("detach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc_id)
    cli.cli("delete-internet-gateway", "--internet-gateway-id", igw)
    left = cli.cli("describe-internet-gateways")["InternetGateways"]
    default = cli.cli("describe-vpcs", "--filters", "Name=is-default,Values=true")["Vpcs"]
    assert [g["Attachments"] for g in left] == [[{"State": "available", "VpcId": default[0]["VpcId"]}]]
    cli.cli("delete-vpc", "--vpc-id", vpc_id)


def test_detach_refused_while_the_vpc_has_mapped_addresses(boto3_ec2: EC2Client,
                                                           gateway_server: GatewayServer) -> None:
    client = boto3_ec2.client
    vpc_id = available_vpc(client, "10.62.0.0/16")
    igw = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    with boto3_ec2.failure() as failure:
        client.attach_internet_gateway(InternetGatewayId=igw, VpcId="vpc-0123456789abcdef0")
    assert failure.value.code == "InvalidVpcID.NotFound"
    client.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    # The VPC's Elastic IP mapped to an instance (static NAT), as CloudStack lists it.
    [listed] = [v for v in gateway_server.cloudstack("admin", "listVPCs", listall=True)[1]["vpc"]
                if v["cidr"] == "10.62.0.0/16" and v["account"] == boto3_ec2.keys.account]
    vpc = read(gateway_server.simulator, "vpc", listed["id"])
    put(gateway_server.simulator, "ipaddress", {
        "ipaddress": "203.0.113.62", "vpcid": vpc["id"], "zoneid": vpc["zoneid"], "isstaticnat": True,
        "issourcenat": False, "state": "Allocated", "accountid": vpc["accountid"], "account": vpc["account"],
        "domainid": vpc["domainid"], "domain": vpc["domain"]}, account_id=vpc["accountid"])
    with boto3_ec2.failure() as failure:
        client.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    assert failure.value.code == "DependencyViolation" and "mapped public address" in failure.value.message
    [shown] = client.describe_internet_gateways(InternetGatewayIds=[igw])["InternetGateways"]
    assert shown["Attachments"][0]["VpcId"] == vpc_id
