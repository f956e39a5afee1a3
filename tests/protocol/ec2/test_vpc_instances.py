"""Instances in VPCs over the simulator's advanced zone (zone2, next to the basic zone1): RunInstances with
SubnetId / PrivateIpAddress / NetworkInterface.N, DescribeInstances' VPC fields and filters, the default VPC,
Describe/ModifyVpcAttribute and DeleteSubnet/DeleteVpc dependencies. boto3 and awscli for the main scenario,
one client per parameter check."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import EC2Client, fast_waiter, GatewayServer, Keys, serve_gateway
from tests.protocol.ec2.test_instances import template_id


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "vpc-instances", simulator_advanced_zone=True)


@pytest.fixture
def boto3_ec2(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> EC2Client:
    return EC2Client("boto3", gateway_server, new_user())


def _cli_wait(cli: EC2Client, instance_id: str, state: str) -> dict:
    """awscli's own instance waiters poll every 15 s: poll describe-instances instead."""
    for _ in range(100):
        [inst] = cli.cli("describe-instances", "--instance-ids", instance_id)["Reservations"][0]["Instances"]
        if inst["State"]["Name"] == state:
            return inst
        time.sleep(0.2)
    raise AssertionError(f"{instance_id} never became {state}")


def _vpc_and_subnet(client: Any, cidr: str = "10.60.0.0/16", subnet: str = "10.60.1.0/24") -> tuple[str, str]:
    vpc_id = client.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    fast_waiter(client, "vpc_available").wait(VpcIds=[vpc_id])
    subnet_id = client.create_subnet(VpcId=vpc_id, CidrBlock=subnet)["Subnet"]["SubnetId"]
    return vpc_id, subnet_id


def test_instance_in_a_subnet_boto3(boto3_ec2: EC2Client, gateway_server: GatewayServer,
                                    new_user: Callable[[], Keys]) -> None:
    client = boto3_ec2.client
    vpc_id, subnet_id = _vpc_and_subnet(client)
    made = client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1, SubnetId=subnet_id,
                                PrivateIpAddress="10.60.1.10")["Instances"][0]
    instance_id = made["InstanceId"]
    assert (made["VpcId"], made["SubnetId"], made["PrivateIpAddress"]) == (vpc_id, subnet_id, "10.60.1.10")
    assert made["Placement"]["AvailabilityZone"] == "zone2" and "PublicIpAddress" not in made
    fast_waiter(client, "instance_running").wait(InstanceIds=[instance_id])
    [inst] = client.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"]
    assert (inst["VpcId"], inst["SubnetId"], inst["PrivateIpAddress"]) == (vpc_id, subnet_id, "10.60.1.10")
    # Launched without groups: the VPC's default group, on the instance and its interface.
    [group] = client.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    assert group["GroupName"] == "default"
    assert inst["SourceDestCheck"] is True
    assert inst["SecurityGroups"] == [{"GroupName": "default", "GroupId": group["GroupId"]}]
    [nic] = inst["NetworkInterfaces"]
    assert nic["Groups"] == inst["SecurityGroups"]
    assert nic["NetworkInterfaceId"].startswith("eni-") and nic["Status"] == "in-use"
    assert (nic["SubnetId"], nic["VpcId"], nic["PrivateIpAddress"]) == (subnet_id, vpc_id, "10.60.1.10")
    assert nic["Attachment"]["DeviceIndex"] == 0 and nic["Attachment"]["Status"] == "attached"
    assert nic["Attachment"]["AttachmentId"].startswith("eni-attach-")
    assert nic["Attachment"]["DeleteOnTermination"] is True and nic["MacAddress"]
    assert nic["PrivateIpAddresses"] == [{"PrivateIpAddress": "10.60.1.10", "Primary": True,
                                          "PrivateDnsName": inst["PrivateDnsName"]}]
    assert nic["OwnerId"] == inst["NetworkInterfaces"][0]["OwnerId"] != ""
    for name, value in (("vpc-id", vpc_id), ("subnet-id", subnet_id),
                        ("network-interface.network-interface-id", nic["NetworkInterfaceId"]),
                        ("network-interface.subnet-id", subnet_id), ("network-interface.vpc-id", vpc_id),
                        ("network-interface.addresses.private-ip-address", "10.60.1.10"),
                        ("private-ip-address", "10.60.1.10"), ("network-interface.group-id", group["GroupId"])):
        found = client.describe_instances(Filters=[{"Name": name, "Values": [value]}])["Reservations"]
        assert [i["InstanceId"] for r in found for i in r["Instances"]] == [instance_id], name
    assert client.describe_instances(Filters=[{"Name": "vpc-id", "Values": ["vpc-00000000"]}])["Reservations"] == []
    # The address is taken now.
    with boto3_ec2.failure() as failure:
        client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1, SubnetId=subnet_id,
                             PrivateIpAddress="10.60.1.10")
    assert failure.value.code == "InvalidIPAddress.InUse" and "10.60.1.10" in failure.value.message
    other = EC2Client("boto3", gateway_server, new_user())
    assert other.client.describe_instances(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Reservations"] == []
    with other.failure() as failure:
        other.client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1, SubnetId=subnet_id)
    assert failure.value.code == "InvalidSubnetID.NotFound"
    for call, kw in ((client.delete_subnet, {"SubnetId": subnet_id}), (client.delete_vpc, {"VpcId": vpc_id})):
        with boto3_ec2.failure() as failure:
            call(**kw)
        assert failure.value.code == "DependencyViolation"
    client.terminate_instances(InstanceIds=[instance_id])
    fast_waiter(client, "instance_terminated").wait(InstanceIds=[instance_id])
    client.delete_subnet(SubnetId=subnet_id)
    client.delete_vpc(VpcId=vpc_id)


def test_instance_in_a_subnet_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc_id = cli.cli("create-vpc", "--cidr-block", "10.61.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc_id)
    subnet_id = cli.cli("create-subnet", "--vpc-id", vpc_id, "--cidr-block", "10.61.2.0/24")["Subnet"]["SubnetId"]
    group_id = cli.cli("create-security-group", "--vpc-id", vpc_id, "--group-name", "web",
                       "--description", "web tier")["GroupId"]
    made = cli.cli("run-instances", "--image-id", template_id(gateway_server), "--count", "1",
                   "--network-interfaces", f"DeviceIndex=0,SubnetId={subnet_id},PrivateIpAddress=10.61.2.20,"
                                           f"AssociatePublicIpAddress=true,Groups={group_id}")
    [inst] = made["Instances"]
    _cli_wait(cli, inst["InstanceId"], "running")
    [found] = cli.cli("describe-instances", "--filters", f"Name=subnet-id,Values={subnet_id}")[
        "Reservations"][0]["Instances"]
    assert (found["VpcId"], found["SubnetId"], found["PrivateIpAddress"]) == (vpc_id, subnet_id, "10.61.2.20")
    [nic] = found["NetworkInterfaces"]
    assert nic["Attachment"]["DeviceIndex"] == 0 and nic["PrivateIpAddress"] == "10.61.2.20"
    assert nic["Groups"] == found["SecurityGroups"] == [{"GroupName": "web", "GroupId": group_id}]
    # AssociatePublicIpAddress: a VPC address with static NAT to the instance.
    assert found["PublicIpAddress"] and nic["Association"]["PublicIp"] == found["PublicIpAddress"]
    for args in (("delete-subnet", "--subnet-id", subnet_id), ("delete-vpc", "--vpc-id", vpc_id)):
        with cli.failure() as failure:
            cli.cli(*args)
        assert failure.value.code == "DependencyViolation", args
    other = EC2Client("awscli", gateway_server, new_user())
    assert other.cli("describe-instances", "--filters", f"Name=vpc-id,Values={vpc_id}")["Reservations"] == []
    cli.cli("terminate-instances", "--instance-ids", inst["InstanceId"])
    _cli_wait(cli, inst["InstanceId"], "terminated")


@pytest.mark.parametrize(("kw", "code", "named"), [
    ({"PrivateIpAddress": "10.62.9.9"}, "InvalidParameterValue", "10.62.9.9"),     # outside the subnet
    ({"PrivateIpAddress": "10.62.1.2"}, "InvalidParameterValue", "reserved"),      # EC2 keeps .0-.3
    ({"Placement": {"AvailabilityZone": "zone1"}}, "InvalidParameterValue", "zone2"),
    ({"SecurityGroupIds": ["sg-0123456789abcdef0"]}, "InvalidGroup.NotFound", "sg-0123456789abcdef0"),
    ({"SecurityGroups": ["default"]}, "InvalidParameterCombination", "groupName"),
    ({"NetworkInterfaces": [{"DeviceIndex": 0}]}, "InvalidParameterCombination", "subnet"),
])
def test_run_in_subnet_errors(boto3_ec2: EC2Client, gateway_server: GatewayServer, kw: dict, code: str,
                              named: str) -> None:
    client = boto3_ec2.client
    _vpc, subnet_id = _vpc_and_subnet(client, "10.62.0.0/16", "10.62.1.0/24")
    with boto3_ec2.failure() as failure:
        client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1, SubnetId=subnet_id, **kw)
    assert failure.value.code == code and named in failure.value.message
    assert client.describe_instances()["Reservations"] == []


@pytest.mark.parametrize(("nic", "named"), [
    ({"DeviceIndex": 1}, "device index 0"),
    ({"DeviceIndex": 0, "NetworkInterfaceId": "eni-0123456789abcdef0"}, "NetworkInterfaceId"),
    ({"DeviceIndex": 0, "Ipv6AddressCount": 1}, "Ipv6AddressCount"),
    ({"DeviceIndex": 0, "SecondaryPrivateIpAddressCount": 2}, "SecondaryPrivateIpAddressCount"),
    ({"DeviceIndex": 0, "DeleteOnTermination": False}, "DeleteOnTermination"),
])
def test_network_interface_refusals(boto3_ec2: EC2Client, gateway_server: GatewayServer, nic: dict,
                                    named: str) -> None:
    client = boto3_ec2.client
    _vpc, subnet_id = _vpc_and_subnet(client, "10.63.0.0/16", "10.63.1.0/24")
    with boto3_ec2.failure() as failure:
        client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1,
                             NetworkInterfaces=[{**nic, "SubnetId": subnet_id}])
    assert failure.value.code == "InvalidParameterValue" and named in failure.value.message


def test_default_vpc(boto3_ec2: EC2Client, gateway_server: GatewayServer) -> None:
    client = boto3_ec2.client
    # A launch into the Advanced zone without a subnet lands in the default VPC, made on this first need.
    made = client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1,
                                Placement={"AvailabilityZone": "zone2"})["Instances"][0]
    [vpc] = client.describe_vpcs()["Vpcs"]
    assert (vpc["IsDefault"], vpc["CidrBlock"], made["VpcId"]) == (True, "172.31.0.0/16", vpc["VpcId"])
    [subnet] = client.describe_subnets()["Subnets"]
    assert (subnet["DefaultForAz"], subnet["MapPublicIpOnLaunch"], subnet["CidrBlock"]) == (
        True, True, "172.31.0.0/20")
    # As in EC2: an internet gateway attached, and the main route table's 0.0.0.0/0 route to it.
    [igw] = client.describe_internet_gateways()["InternetGateways"]
    assert igw["Attachments"] == [{"State": "available", "VpcId": vpc["VpcId"]}]
    [main] = client.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}])["RouteTables"]
    assert [(r["DestinationCidrBlock"], r["GatewayId"]) for r in main["Routes"]] == [
        ("172.31.0.0/16", "local"), ("0.0.0.0/0", igw["InternetGatewayId"])]
    assert [a["Main"] for a in main["Associations"]] == [True]
    assert made["SubnetId"] == subnet["SubnetId"] and made["PrivateIpAddress"].startswith("172.31.")
    fast_waiter(client, "instance_running").wait(InstanceIds=[made["InstanceId"]])
    [inst] = client.describe_instances(InstanceIds=[made["InstanceId"]])["Reservations"][0]["Instances"]
    assert inst["PublicIpAddress"]  # the default subnet maps a public address on launch
    found = client.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [v["AttributeValue"] for v in found[0]["AttributeValues"]] == [vpc["VpcId"]]
    # A launch without a zone still goes to the first zone, the Basic one: EC2-Classic as before.
    classic = client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1)["Instances"][0]
    assert classic["Placement"]["AvailabilityZone"] == "zone1" and "VpcId" not in classic
    client.terminate_instances(InstanceIds=[made["InstanceId"], classic["InstanceId"]])
    fast_waiter(client, "instance_terminated").wait(InstanceIds=[made["InstanceId"]])
    client.delete_subnet(SubnetId=subnet["SubnetId"])
    # Neither the default subnet nor the default VPC is made again by itself once deleted.
    assert client.describe_subnets()["Subnets"] == []
    with boto3_ec2.failure() as failure:
        client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1,
                             Placement={"AvailabilityZone": "zone2"})
    assert failure.value.code == "InvalidParameterValue" and vpc["VpcId"] in failure.value.message
    with boto3_ec2.failure() as failure:
        client.delete_vpc(VpcId=vpc["VpcId"])
    assert failure.value.code == "DependencyViolation"  # its internet gateway is attached
    client.delete_route(RouteTableId=main["RouteTableId"], DestinationCidrBlock="0.0.0.0/0")
    client.detach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc["VpcId"])
    client.delete_internet_gateway(InternetGatewayId=igw["InternetGatewayId"])
    client.delete_vpc(VpcId=vpc["VpcId"])
    assert client.describe_vpcs()["Vpcs"] == []
    found = client.describe_account_attributes(AttributeNames=["default-vpc"])["AccountAttributes"]
    assert [v["AttributeValue"] for v in found[0]["AttributeValues"]] == ["none"]


def test_two_gateways_racing_leave_one_default_vpc(gateway_server: GatewayServer,
                                                   new_user: Callable[[], Keys]) -> None:
    import concurrent.futures

    keys = new_user()
    clients = [EC2Client("boto3", gateway_server, keys).client for _ in range(3)]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda c: c.describe_vpcs()["Vpcs"], clients))
    assert all(len(a) == 1 and a[0]["IsDefault"] for a in answers)
    assert len({a[0]["VpcId"] for a in answers}) == 1
    assert len(clients[0].describe_vpcs()["Vpcs"]) == 1 and len(clients[0].describe_subnets()["Subnets"]) == 1


def test_vpc_attributes(boto3_ec2: EC2Client) -> None:
    client = boto3_ec2.client
    vpc_id = client.create_vpc(CidrBlock="10.64.0.0/16")["Vpc"]["VpcId"]
    for attribute, key in (("enableDnsSupport", "EnableDnsSupport"), ("enableDnsHostnames", "EnableDnsHostnames")):
        found = client.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)
        assert found["VpcId"] == vpc_id and found[key] == {"Value": True}
        client.modify_vpc_attribute(VpcId=vpc_id, **{key: {"Value": True}})
        with boto3_ec2.failure() as failure:
            client.modify_vpc_attribute(VpcId=vpc_id, **{key: {"Value": False}})
        assert failure.value.code == "InvalidParameterValue" and attribute in failure.value.message
    with boto3_ec2.failure() as failure:
        client.describe_vpc_attribute(VpcId="vpc-0123456789abcdef0", Attribute="enableDnsSupport")
    assert failure.value.code == "InvalidVpcID.NotFound"


def test_delete_vpc_with_a_security_group(boto3_ec2: EC2Client) -> None:
    client = boto3_ec2.client
    vpc_id = client.create_vpc(CidrBlock="10.66.0.0/16")["Vpc"]["VpcId"]
    group_id = client.create_security_group(VpcId=vpc_id, GroupName="db", Description="db")["GroupId"]
    with boto3_ec2.failure() as failure:
        client.delete_vpc(VpcId=vpc_id)
    assert failure.value.code == "DependencyViolation"
    client.delete_security_group(GroupId=group_id)
    client.delete_vpc(VpcId=vpc_id)
    assert client.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"] == []


def test_vpc_attributes_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc_id = cli.cli("create-vpc", "--cidr-block", "10.65.0.0/16")["Vpc"]["VpcId"]
    found = cli.cli("describe-vpc-attribute", "--vpc-id", vpc_id, "--attribute", "enableDnsHostnames")
    assert found["EnableDnsHostnames"] == {"Value": True}
    with cli.failure() as failure:
        cli.cli("modify-vpc-attribute", "--vpc-id", vpc_id, "--no-enable-dns-support")
    assert failure.value.code == "InvalidParameterValue"


def test_placement_group_at_launch(boto3_ec2: EC2Client, gateway_server: GatewayServer) -> None:
    client = boto3_ec2.client
    client.create_placement_group(GroupName="spread-web", Strategy="spread")
    made = client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1,
                                Placement={"GroupName": "spread-web"})["Instances"][0]
    assert made["Placement"]["GroupName"] == "spread-web"
    [inst] = client.describe_instances(Filters=[{"Name": "placement-group-name", "Values": ["spread-web"]}])[
        "Reservations"][0]["Instances"]
    assert inst["InstanceId"] == made["InstanceId"] and inst["Placement"]["GroupName"] == "spread-web"
    [group_id] = [g["GroupId"] for g in client.describe_placement_groups()["PlacementGroups"]]
    by_id = client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1,
                                 Placement={"GroupId": group_id})["Instances"][0]
    assert by_id["Placement"]["GroupName"] == "spread-web"
    for placement, code, named in (({"GroupName": "nowhere"}, "InvalidPlacementGroup.Unknown", "nowhere"),
                                   ({"Tenancy": "dedicated"}, "InvalidParameterValue", "Placement.Tenancy"),
                                   ({"PartitionNumber": 2}, "InvalidParameterValue", "Placement.PartitionNumber")):
        with boto3_ec2.failure() as failure:
            client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1, Placement=placement)
        assert failure.value.code == code and named in failure.value.message, placement
    client.terminate_instances(InstanceIds=[made["InstanceId"], by_id["InstanceId"]])
