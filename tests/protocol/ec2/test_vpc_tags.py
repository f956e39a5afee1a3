"""CreateTags/DeleteTags/DescribeTags on the EC2-VPC resources over the simulator's advanced zone: internet gateways,
route tables and VPC security groups (the gateway's records), network ACLs (lists CloudStack cannot tag, whose tags
the gateway keeps), and network interfaces and placement groups refused (CloudStack cannot tag NICs or affinity
groups). boto3 for every kind, awscli for one, a second user."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import available_vpc, EC2Client, GatewayServer, Keys, serve_gateway


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "vpc_tags", simulator_advanced_zone=True)


def _tags(client: Any, *filters: tuple[str, list[str]]) -> list[tuple[str, str, str, str]]:
    found = client.describe_tags(Filters=[{"Name": n, "Values": v} for n, v in filters])["Tags"]
    return [(t["ResourceId"], t["ResourceType"], t["Key"], t["Value"]) for t in found]


def test_vpc_resource_tags_boto3(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    client = ec2.client
    vpc_id = available_vpc(client, "10.80.0.0/16")
    igw = client.create_internet_gateway(TagSpecifications=[
        {"ResourceType": "internet-gateway", "Tags": [{"Key": "Name", "Value": "gw"}]}])["InternetGateway"]
    igw_id = igw["InternetGatewayId"]
    rtb_id = client.create_route_table(VpcId=vpc_id, TagSpecifications=[
        {"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "rt"}]}])["RouteTable"]["RouteTableId"]
    [main] = client.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                   {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    acl_id = client.create_network_acl(VpcId=vpc_id, TagSpecifications=[
        {"ResourceType": "network-acl", "Tags": [{"Key": "Name", "Value": "web"}]}])["NetworkAcl"]["NetworkAclId"]
    sg_id = client.create_security_group(GroupName="app", Description="app", VpcId=vpc_id, TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "Name", "Value": "sg"}]}])["GroupId"]
    ids = {igw_id: "internet-gateway", rtb_id: "route-table", main["RouteTableId"]: "route-table",
           acl_id: "network-acl", sg_id: "security-group"}
    # Each Create*'s TagSpecification is in DescribeTags.
    assert sorted(_tags(client, ("key", ["Name"]))) == sorted([
        (igw_id, "internet-gateway", "Name", "gw"), (rtb_id, "route-table", "Name", "rt"),
        (acl_id, "network-acl", "Name", "web"), (sg_id, "security-group", "Name", "sg")])

    client.create_tags(Resources=list(ids), Tags=[{"Key": "env", "Value": "prod"}, {"Key": "Name", "Value": "x"}])
    assert sorted(_tags(client, ("key", ["env"]))) == sorted((i, t, "env", "prod") for i, t in ids.items())
    assert _tags(client, ("resource-id", [igw_id])) == [(igw_id, "internet-gateway", "Name", "x"),
                                                        (igw_id, "internet-gateway", "env", "prod")]
    for resource_type in set(ids.values()):
        assert {i for i, t, _k, _v in _tags(client, ("resource-type", [resource_type]))} == {
            i for i, t in ids.items() if t == resource_type}, resource_type
    # The TagSpecification tags and CreateTags' show in each Describe* tag filter.
    env = [{"Name": "tag:env", "Values": ["prod"]}]
    assert [g["InternetGatewayId"] for g in client.describe_internet_gateways(Filters=env)["InternetGateways"]] == [
        igw_id]
    assert sorted(t["RouteTableId"] for t in client.describe_route_tables(Filters=env)["RouteTables"]) == sorted(
        [rtb_id, main["RouteTableId"]])
    assert [a["NetworkAclId"] for a in client.describe_network_acls(Filters=env)["NetworkAcls"]] == [acl_id]
    assert [g["GroupId"] for g in client.describe_security_groups(Filters=env)["SecurityGroups"]] == [sg_id]
    [seen] = client.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"]
    assert sorted((t["Key"], t["Value"]) for t in seen["Tags"]) == [("Name", "x"), ("env", "prod")]

    # Pages over the gateway's tags, in EC2's order.
    first = client.describe_tags(MaxResults=5)
    rest = client.describe_tags(MaxResults=5, NextToken=first["NextToken"])
    assert len(first["Tags"]) == 5 and len(rest["Tags"]) == 5 and "NextToken" not in rest
    assert first["Tags"] + rest["Tags"] == client.describe_tags()["Tags"]

    # DeleteTags: a key with another value stays; key and value, a key alone, and everything go.
    client.delete_tags(Resources=[rtb_id], Tags=[{"Key": "env", "Value": "test"}])
    client.delete_tags(Resources=[igw_id], Tags=[{"Key": "env"}])
    client.delete_tags(Resources=[rtb_id], Tags=[{"Key": "Name", "Value": "x"}])
    client.delete_tags(Resources=[acl_id, sg_id])
    assert sorted(_tags(client)) == sorted([(igw_id, "internet-gateway", "Name", "x"),
                                            (rtb_id, "route-table", "env", "prod"),
                                            (main["RouteTableId"], "route-table", "Name", "x"),
                                            (main["RouteTableId"], "route-table", "env", "prod")])
    assert client.describe_security_groups(GroupIds=[sg_id])["SecurityGroups"][0].get("Tags", []) == []

    # Another user can neither see nor tag them: each kind's NotFound.
    other = EC2Client("boto3", gateway_server, new_user())
    assert other.client.describe_tags()["Tags"] == []
    for resource_id, code in ((igw_id, "InvalidInternetGatewayID.NotFound"), (rtb_id, "InvalidRouteTableID.NotFound"),
                              (acl_id, "InvalidNetworkAclID.NotFound"), (sg_id, "InvalidGroup.NotFound")):
        with other.failure() as failure:
            other.client.create_tags(Resources=[resource_id], Tags=[{"Key": "k", "Value": "v"}])
        assert failure.value.code == code, resource_id
    with other.failure() as failure:
        other.client.delete_tags(Resources=[igw_id])
    assert failure.value.code == "InvalidInternetGatewayID.NotFound"
    assert len(_tags(client, ("resource-id", [igw_id]))) == 1

    # A deleted network ACL takes the tags the gateway kept for it.
    client.create_tags(Resources=[acl_id], Tags=[{"Key": "gone", "Value": "soon"}])
    client.delete_network_acl(NetworkAclId=acl_id)
    assert _tags(client, ("key", ["gone"])) == []


@pytest.mark.parametrize("resource_id, resource_type", [("eni-0123456789abcdef0", "network-interface"),
                                                        ("pg-0123456789abcdef0", "placement-group")])
def test_untaggable_kinds_are_refused(gateway_server: GatewayServer, new_user: Callable[[], Keys],
                                      resource_id: str, resource_type: str) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    with ec2.failure() as failure:
        ec2.client.create_tags(Resources=[resource_id], Tags=[{"Key": "k", "Value": "v"}])
    assert failure.value.code == "InvalidParameterValue"
    assert resource_type in failure.value.message and "cannot be tagged" in failure.value.message


def test_internet_gateway_tags_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    igw_id = cli.cli("create-internet-gateway")["InternetGateway"]["InternetGatewayId"]
    cli.cli("create-tags", "--resources", igw_id, "--tags", "Key=team,Value=net")
    found = cli.cli("describe-tags", "--filters", "Name=resource-type,Values=internet-gateway")["Tags"]
    assert [(t["ResourceId"], t["Key"], t["Value"]) for t in found] == [(igw_id, "team", "net")]
    [gateway] = cli.cli("describe-internet-gateways", "--internet-gateway-ids", igw_id)["InternetGateways"]
    assert gateway["Tags"] == [{"Key": "team", "Value": "net"}]
    cli.cli("delete-tags", "--resources", igw_id, "--tags", "Key=team")
    assert cli.cli("describe-tags", "--filters", f"Name=resource-id,Values={igw_id}")["Tags"] == []


def test_concurrent_tagging_keeps_every_tag(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    """Requests tagging one internet gateway at once each land (the record is compare-and-set, retried)."""
    keys = new_user()
    ec2 = EC2Client("boto3", gateway_server, keys)
    igw_id = ec2.client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    clients = [EC2Client("boto3", gateway_server, keys).client for _ in range(6)]

    def tag(i: int) -> None:
        clients[i].create_tags(Resources=[igw_id], Tags=[{"Key": f"k{i}", "Value": str(i)}])

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(tag, range(6)))
    [gateway] = ec2.client.describe_internet_gateways(InternetGatewayIds=[igw_id])["InternetGateways"]
    assert sorted((t["Key"], t["Value"]) for t in gateway["Tags"]) == [(f"k{i}", str(i)) for i in range(6)]
