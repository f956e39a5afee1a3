"""EC2-VPC over the simulator's advanced zone: VPCs and subnets through boto3 and awscli (boto 2's VPC calls
speak the 2010-11-15 shapes, which we do not publish yet)."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import EC2Client, fast_waiter, GatewayServer, Keys, serve_gateway


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    """The module's server, its simulator with the advanced zone (zone2) next to the basic one."""
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "vpcs", simulator_advanced_zone=True)


@pytest.fixture
def boto3_ec2(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> EC2Client:
    return EC2Client("boto3", gateway_server, new_user())


def test_vpc_round_trip_boto3(boto3_ec2: EC2Client) -> None:
    client = boto3_ec2.client
    made = client.create_vpc(CidrBlock="10.20.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "blue"}]}])["Vpc"]
    vpc_id = made["VpcId"]
    assert vpc_id.startswith("vpc-") and made["State"] == "pending" and made["CidrBlock"] == "10.20.0.0/16"
    assert made["Tags"] == [{"Key": "Name", "Value": "blue"}]
    fast_waiter(client, "vpc_available").wait(VpcIds=[vpc_id])
    [vpc] = client.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["State"] == "available" and vpc["IsDefault"] is False and vpc["InstanceTenancy"] == "default"
    assert vpc["Tags"] == [{"Key": "Name", "Value": "blue"}]
    assert [a["CidrBlock"] for a in vpc["CidrBlockAssociationSet"]] == ["10.20.0.0/16"]
    assert vpc["CidrBlockAssociationSet"][0]["CidrBlockState"]["State"] == "associated"
    for name, values in (("cidr", ["10.20.0.0/16"]), ("cidr-block-association.cidr-block", ["10.20.0.0/16"]),
                         ("state", ["available"]), ("is-default", ["false"]), ("tag:Name", ["blue"]),
                         ("tag-key", ["Name"]), ("vpc-id", [vpc_id])):
        found = client.describe_vpcs(Filters=[{"Name": name, "Values": values}])["Vpcs"]
        assert [v["VpcId"] for v in found if not v["IsDefault"]] == [vpc_id], name
    assert client.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["red"]}])["Vpcs"] == []
    assert client.delete_vpc(VpcId=vpc_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with boto3_ec2.failure() as failure:
        client.describe_vpcs(VpcIds=[vpc_id])
    assert failure.value.code == "InvalidVpcID.NotFound"


def test_vpc_pages_and_second_user(boto3_ec2: EC2Client, gateway_server: GatewayServer,
                                   new_user: Callable[[], Keys]) -> None:
    client = boto3_ec2.client
    made = [client.create_vpc(CidrBlock=f"10.{30 + i}.0.0/16")["Vpc"]["VpcId"] for i in range(6)]
    first = client.describe_vpcs(MaxResults=5)
    assert len(first["Vpcs"]) == 5 and first["NextToken"]
    rest = client.describe_vpcs(MaxResults=5, NextToken=first["NextToken"])
    assert "NextToken" not in rest
    # The account's default VPC (made on the first DescribeVpcs) is the seventh.
    listed = first["Vpcs"] + rest["Vpcs"]
    assert sorted(v["VpcId"] for v in listed if not v["IsDefault"]) == sorted(made)
    assert [v["CidrBlock"] for v in listed if v["IsDefault"]] == ["172.31.0.0/16"]
    other = EC2Client("boto3", gateway_server, new_user())
    assert [v["IsDefault"] for v in other.client.describe_vpcs()["Vpcs"]] == [True]
    with other.failure() as failure:
        other.client.describe_vpcs(VpcIds=[made[0]])
    assert failure.value.code == "InvalidVpcID.NotFound"
    with other.failure() as failure:
        other.client.delete_vpc(VpcId=made[0])
    assert failure.value.code == "InvalidVpcID.NotFound"
    fast_waiter(client, "vpc_available").wait(VpcIds=made)
    for vpc_id in made:
        client.delete_vpc(VpcId=vpc_id)


@pytest.mark.parametrize(("kw", "code"), [
    ({"CidrBlock": "10.0.0.0/8"}, "InvalidVpc.Range"),
    ({"CidrBlock": "10.0.0.0/29"}, "InvalidVpc.Range"),
    ({"CidrBlock": "10.0.0.1/16"}, "InvalidParameterValue"),
    ({"CidrBlock": "not-a-cidr"}, "InvalidParameterValue"),
    ({"CidrBlock": "10.1.0.0/16", "InstanceTenancy": "dedicated"}, "InvalidParameterValue"),
])
def test_create_vpc_errors(boto3_ec2: EC2Client, kw: dict, code: str) -> None:
    with boto3_ec2.failure() as failure:
        boto3_ec2.client.create_vpc(**kw)
    assert failure.value.code == code
    assert [v["IsDefault"] for v in boto3_ec2.client.describe_vpcs()["Vpcs"]] == [True]


def test_vpc_through_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc = cli.cli("create-vpc", "--cidr-block", "172.16.0.0/16")["Vpc"]
    assert vpc["CidrBlock"] == "172.16.0.0/16"
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc["VpcId"])
    found = cli.cli("describe-vpcs", "--filters", "Name=cidr,Values=172.16.0.0/16")["Vpcs"]
    assert [(v["VpcId"], v["State"]) for v in found] == [(vpc["VpcId"], "available")]
    cli.cli("delete-vpc", "--vpc-id", vpc["VpcId"])
    assert [v["IsDefault"] for v in cli.cli("describe-vpcs")["Vpcs"]] == [True]
    with cli.failure() as failure:
        cli.cli("delete-vpc", "--vpc-id", vpc["VpcId"])
    assert failure.value.code == "InvalidVpcID.NotFound"


@pytest.fixture
def vpc(boto3_ec2: EC2Client) -> Iterator[str]:
    """An available VPC 10.50.0.0/16 of the test's boto3 user."""
    vpc_id = boto3_ec2.client.create_vpc(CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    fast_waiter(boto3_ec2.client, "vpc_available").wait(VpcIds=[vpc_id])
    yield vpc_id


def test_subnet_round_trip_boto3(boto3_ec2: EC2Client, vpc: str) -> None:
    client = boto3_ec2.client
    made = client.create_subnet(VpcId=vpc, CidrBlock="10.50.1.0/24", AvailabilityZone="zone2",
                                TagSpecifications=[{"ResourceType": "subnet",
                                                    "Tags": [{"Key": "tier", "Value": "web"}]}])["Subnet"]
    subnet_id = made["SubnetId"]
    assert subnet_id.startswith("subnet-") and made["VpcId"] == vpc and made["CidrBlock"] == "10.50.1.0/24"
    assert made["AvailabilityZone"] == "zone2" and made["AvailableIpAddressCount"] == 251
    assert made["Tags"] == [{"Key": "tier", "Value": "web"}]
    fast_waiter(client, "subnet_available").wait(SubnetIds=[subnet_id])
    [subnet] = client.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    assert subnet["State"] == "available" and subnet["MapPublicIpOnLaunch"] is False
    assert subnet["DefaultForAz"] is False and subnet["Tags"] == [{"Key": "tier", "Value": "web"}]
    # The tier has the VPC's default_allow ACL (EC2's default network ACL allows everything).
    [tier] = [n for n in boto3_ec2.server.cloudstack("admin", "listNetworks", listall=True)[1]["network"]
              if n["cidr"] == "10.50.1.0/24" and n.get("vpcid")]
    lists = boto3_ec2.server.cloudstack("admin", "listNetworkACLLists", id=tier["aclid"])[1]["networkacllist"]
    assert [acl["name"] for acl in lists] == ["default_allow"]
    second = client.create_subnet(VpcId=vpc, CidrBlock="10.50.2.0/28")["Subnet"]
    assert second["AvailabilityZone"] == "zone2" and second["AvailableIpAddressCount"] == 11
    for name, values, wanted in (("vpc-id", [vpc], {subnet_id, second["SubnetId"]}),
                                 ("cidr-block", ["10.50.2.0/28"], {second["SubnetId"]}),
                                 ("tag:tier", ["web"], {subnet_id}), ("availability-zone", ["zone2"],
                                                                      {subnet_id, second["SubnetId"]}),
                                 ("state", ["pending"], set()), ("default-for-az", ["false"],
                                                                 {subnet_id, second["SubnetId"]})):
        found = client.describe_subnets(Filters=[{"Name": name, "Values": values}])["Subnets"]
        assert {s["SubnetId"] for s in found if not s["DefaultForAz"]} == wanted, name
    with boto3_ec2.failure() as failure:
        client.delete_vpc(VpcId=vpc)
    assert failure.value.code == "DependencyViolation"
    client.delete_subnet(SubnetId=second["SubnetId"])
    client.delete_subnet(SubnetId=subnet_id)
    assert [s["DefaultForAz"] for s in client.describe_subnets()["Subnets"]] == [True]
    with boto3_ec2.failure() as failure:
        client.delete_subnet(SubnetId=subnet_id)
    assert failure.value.code == "InvalidSubnetID.NotFound"
    client.delete_vpc(VpcId=vpc)


@pytest.mark.parametrize(("kw", "code", "named"), [
    ({"CidrBlock": "10.51.0.0/24"}, "InvalidSubnet.Range", "10.51.0.0/24"),  # outside the VPC
    ({"CidrBlock": "10.50.0.0/29"}, "InvalidSubnet.Range", "10.50.0.0/29"),  # smaller than /28
    ({"CidrBlock": "10.50.0.0/24", "AvailabilityZone": "zone1"}, "InvalidParameterValue", "zone2"),
    ({"CidrBlock": "10.50.9.128/25"}, "InvalidSubnet.Conflict", "10.50.9.128/25"),  # overlaps 10.50.9.0/24
])
def test_create_subnet_errors(boto3_ec2: EC2Client, vpc: str, kw: dict, code: str, named: str) -> None:
    boto3_ec2.client.create_subnet(VpcId=vpc, CidrBlock="10.50.9.0/24")
    with boto3_ec2.failure() as failure:
        boto3_ec2.client.create_subnet(VpcId=vpc, **kw)
    assert failure.value.code == code and named in failure.value.message
    assert len([s for s in boto3_ec2.client.describe_subnets()["Subnets"] if not s["DefaultForAz"]]) == 1


def test_subnet_of_unknown_vpc(boto3_ec2: EC2Client) -> None:
    with boto3_ec2.failure() as failure:
        boto3_ec2.client.create_subnet(VpcId="vpc-0123456789abcdef0", CidrBlock="10.0.0.0/24")
    assert failure.value.code == "InvalidVpcID.NotFound"
    with boto3_ec2.failure() as failure:
        boto3_ec2.client.describe_subnets(SubnetIds=["subnet-0123456789abcdef0"])
    assert failure.value.code == "InvalidSubnetID.NotFound"


def test_subnets_through_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc_id = cli.cli("create-vpc", "--cidr-block", "192.168.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc_id)
    subnet = cli.cli("create-subnet", "--vpc-id", vpc_id, "--cidr-block", "192.168.10.0/24")["Subnet"]
    cli.cli("wait", "subnet-available", "--subnet-ids", subnet["SubnetId"])
    found = cli.cli("describe-subnets", "--filters", f"Name=vpc-id,Values={vpc_id}")["Subnets"]
    assert [(s["SubnetId"], s["CidrBlock"], s["State"]) for s in found if not s["DefaultForAz"]] == [
        (subnet["SubnetId"], "192.168.10.0/24", "available")]
    other = EC2Client("awscli", gateway_server, new_user())
    assert [s["DefaultForAz"] for s in other.cli("describe-subnets")["Subnets"]] == [True]
    with other.failure() as failure:
        other.cli("delete-subnet", "--subnet-id", subnet["SubnetId"])
    assert failure.value.code == "InvalidSubnetID.NotFound"
    cli.cli("delete-subnet", "--subnet-id", subnet["SubnetId"])
    cli.cli("delete-vpc", "--vpc-id", vpc_id)


def test_account_attributes_name_both_platforms(boto3_ec2: EC2Client) -> None:
    found = boto3_ec2.client.describe_account_attributes(AttributeNames=["supported-platforms", "default-vpc"])
    values = {a["AttributeName"]: [v["AttributeValue"] for v in a["AttributeValues"]]
              for a in found["AccountAttributes"]}
    # The default VPC, made on this first need, is the one DescribeVpcs shows as default.
    [default] = [v["VpcId"] for v in boto3_ec2.client.describe_vpcs()["Vpcs"] if v["IsDefault"]]
    assert values == {"supported-platforms": ["EC2", "VPC"], "default-vpc": [default]}


def test_tags_on_vpcs_and_subnets(boto3_ec2: EC2Client, vpc: str, gateway_server: GatewayServer,
                                  new_user: Callable[[], Keys]) -> None:
    client = boto3_ec2.client
    subnet_id = client.create_subnet(VpcId=vpc, CidrBlock="10.50.3.0/24")["Subnet"]["SubnetId"]
    client.create_tags(Resources=[vpc, subnet_id], Tags=[{"Key": "env", "Value": "prod"}])
    assert client.describe_vpcs(VpcIds=[vpc])["Vpcs"][0]["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert client.describe_subnets(Filters=[{"Name": "tag:env", "Values": ["prod"]}])["Subnets"][0][
        "SubnetId"] == subnet_id
    found = client.describe_tags(Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]
    assert sorted((t["ResourceId"], t["ResourceType"]) for t in found) == sorted(
        [(vpc, "vpc"), (subnet_id, "subnet")])
    other = EC2Client("boto3", gateway_server, new_user())
    with other.failure() as failure:
        other.client.create_tags(Resources=[vpc], Tags=[{"Key": "env", "Value": "x"}])
    assert failure.value.code == "InvalidVpcID.NotFound"
    client.delete_tags(Resources=[subnet_id], Tags=[{"Key": "env"}])
    assert client.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0].get("Tags", []) == []
    client.delete_subnet(SubnetId=subnet_id)
    client.delete_vpc(VpcId=vpc)
