"""Elastic IPs in VPCs over the simulator's advanced zone: AllocateAddress Domain=vpc, AssociateAddress by
AllocationId onto an instance or a network interface (and one of its private addresses), DescribeAddresses'
VPC fields and filters, DisassociateAddress by AssociationId, ReleaseAddress by AllocationId; boto3 and awscli
(boto 2 and SOAP speak the 2010-11-15 shapes, EC2-Classic only: tests/protocol/ec2/test_addresses.py)."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import EC2Client, GatewayServer, Keys, serve_gateway
from tests.protocol.ec2.test_network_interfaces import launch_in, vpc_with_subnet


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "vpc-eips", simulator_advanced_zone=True)


def _only(client: Any, **kw: Any) -> dict:
    [address] = client.describe_addresses(**kw)["Addresses"]
    return address


def test_vpc_address_round_trip_boto3(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    c = ec2.client
    with ec2.failure() as failure:
        c.allocate_address(Domain="vpc")
    assert failure.value.code == "VPCIdNotSpecified"
    vpc, subnet = vpc_with_subnet(ec2, "10.70.0.0/16", "10.70.1.0/24")
    launch_in(gateway_server, ec2.keys, subnet)
    [eni] = c.describe_network_interfaces()["NetworkInterfaces"]
    eni_id, instance = eni["NetworkInterfaceId"], eni["Attachment"]["InstanceId"]
    made = c.allocate_address(Domain="vpc")
    allocation = made["AllocationId"]
    assert made["Domain"] == "vpc" and allocation.startswith("eipalloc-")
    assert _only(c, AllocationIds=[allocation])["Domain"] == "vpc"

    with ec2.failure() as failure:
        c.associate_address(AllocationId=allocation, InstanceId=instance)
    assert failure.value.code == "Gateway.NotAttached" and vpc in failure.value.message, failure.value.message
    igw = c.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    c.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)

    association = c.associate_address(AllocationId=allocation, InstanceId=instance)["AssociationId"]
    assert association.startswith("eipassoc-")
    address = _only(c, AllocationIds=[allocation])
    assert (address["InstanceId"], address["NetworkInterfaceId"], address["PrivateIpAddress"],
            address["AssociationId"]) == (instance, eni_id, eni["PrivateIpAddress"], association)
    assert address["NetworkInterfaceOwnerId"] == eni["OwnerId"]
    for name, value in (("domain", "vpc"), ("allocation-id", allocation), ("association-id", association),
                        ("instance-id", instance), ("network-interface-id", eni_id),
                        ("private-ip-address", eni["PrivateIpAddress"]), ("public-ip", made["PublicIp"])):
        assert _only(c, Filters=[{"Name": name, "Values": [value]}])["AllocationId"] == allocation, name
    assert c.describe_addresses(Filters=[{"Name": "domain", "Values": ["standard"]}])["Addresses"] == []
    [seen] = c.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]
    assert (seen["Association"]["PublicIp"], seen["Association"]["AllocationId"]) == (made["PublicIp"], allocation)

    # Onto a secondary address of the interface: an associated address moves only with AllowReassociation.
    c.assign_private_ip_addresses(NetworkInterfaceId=eni_id, PrivateIpAddresses=["10.70.1.60"])
    with ec2.failure() as failure:
        c.associate_address(AllocationId=allocation, NetworkInterfaceId=eni_id, PrivateIpAddress="10.70.1.60")
    assert failure.value.code == "Resource.AlreadyAssociated"
    c.associate_address(AllocationId=allocation, NetworkInterfaceId=eni_id, PrivateIpAddress="10.70.1.60",
                        AllowReassociation=True)
    assert _only(c, AllocationIds=[allocation])["PrivateIpAddress"] == "10.70.1.60"
    [seen] = c.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]
    assert "Association" not in seen
    assert [p.get("Association", {}).get("PublicIp") for p in seen["PrivateIpAddresses"]] == [None, made["PublicIp"]]

    with ec2.failure() as failure:
        c.release_address(AllocationId=allocation)
    assert failure.value.code == "InvalidIPAddress.InUse"
    c.disassociate_address(AssociationId=association)
    assert "AssociationId" not in _only(c, AllocationIds=[allocation])
    c.release_address(AllocationId=allocation)
    assert c.describe_addresses()["Addresses"] == []

    other = EC2Client("boto3", gateway_server, new_user())
    with other.failure() as failure:
        other.client.describe_addresses(AllocationIds=[allocation])
    assert failure.value.code == "InvalidAllocationID.NotFound"


def test_vpc_address_through_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc = cli.cli("create-vpc", "--cidr-block", "10.71.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc)
    subnet = cli.cli("create-subnet", "--vpc-id", vpc, "--cidr-block", "10.71.1.0/24")["Subnet"]["SubnetId"]
    igw = cli.cli("create-internet-gateway")["InternetGateway"]["InternetGatewayId"]
    cli.cli("attach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc)
    launch_in(gateway_server, cli.keys, subnet)
    [eni] = cli.cli("describe-network-interfaces")["NetworkInterfaces"]
    made = cli.cli("allocate-address", "--domain", "vpc")
    association = cli.cli("associate-address", "--allocation-id", made["AllocationId"],
                          "--network-interface-id", eni["NetworkInterfaceId"])["AssociationId"]
    [address] = cli.cli("describe-addresses", "--filters", f"Name=association-id,Values={association}")["Addresses"]
    assert (address["PublicIp"], address["Domain"], address["NetworkInterfaceId"], address["InstanceId"]) == \
        (made["PublicIp"], "vpc", eni["NetworkInterfaceId"], eni["Attachment"]["InstanceId"])
    cli.cli("disassociate-address", "--association-id", association)
    cli.cli("release-address", "--allocation-id", made["AllocationId"])
    assert cli.cli("describe-addresses")["Addresses"] == []


def test_vpc_address_refusals(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    c = ec2.client
    vpc, first = vpc_with_subnet(ec2, "10.72.0.0/16", "10.72.1.0/24")
    igw = c.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    c.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    launch_in(gateway_server, ec2.keys, first)
    [eni] = c.describe_network_interfaces()["NetworkInterfaces"]
    allocation = c.allocate_address(Domain="vpc")["AllocationId"]
    for kw, code in (({"InstanceId": eni["Attachment"]["InstanceId"], "NetworkInterfaceId": eni["NetworkInterfaceId"]},
                      "InvalidParameterCombination"),
                     ({"NetworkInterfaceId": eni["NetworkInterfaceId"], "PrivateIpAddress": "10.72.1.99"},
                      "InvalidParameterValue"),
                     ({"NetworkInterfaceId": "eni-12345678"}, "InvalidNetworkInterfaceID.NotFound"),
                     ({}, "MissingParameter")):
        with ec2.failure() as failure:
            c.associate_address(AllocationId=allocation, **kw)
        assert failure.value.code == code, kw
    # A second VPC: the address stays in the one it was allocated for (the newest with a gateway).
    _, subnet = vpc_with_subnet(ec2, "10.73.0.0/16", "10.73.1.0/24")
    launch_in(gateway_server, ec2.keys, subnet)
    [elsewhere] = c.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])[
        "NetworkInterfaces"]
    with ec2.failure() as failure:
        c.associate_address(AllocationId=allocation, NetworkInterfaceId=elsewhere["NetworkInterfaceId"])
    assert failure.value.code == "InvalidParameterValue" and vpc in failure.value.message
    assert c.associate_address(AllocationId=c.allocate_address(Domain="vpc")["AllocationId"],
                               NetworkInterfaceId=eni["NetworkInterfaceId"])["AssociationId"]


def test_a_launch_public_address_is_no_elastic_ip(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    c = ec2.client
    vpc, subnet = vpc_with_subnet(ec2, "10.74.0.0/16", "10.74.1.0/24")
    igw = c.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    c.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    [instance] = launch_in(gateway_server, ec2.keys, None, NetworkInterfaces=[
        {"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": True}])
    [eni] = c.describe_network_interfaces()["NetworkInterfaces"]
    launched = eni["Association"]
    assert launched["IpOwnerId"] == "amazon" and "AllocationId" not in launched
    assert c.describe_addresses()["Addresses"] == []
    made = c.allocate_address(Domain="vpc")
    c.associate_address(AllocationId=made["AllocationId"], InstanceId=instance)
    [eni] = c.describe_network_interfaces()["NetworkInterfaces"]
    assert (eni["Association"]["PublicIp"], eni["Association"]["AllocationId"]) == \
        (made["PublicIp"], made["AllocationId"])
    # The launch address went back to the cloud (EC2 releases it when an Elastic IP replaces it).
    _, listed = gateway_server.cloudstack({"apikey": ec2.keys.access_key, "secretkey": ec2.keys.secret_key},
                                          "listPublicIpAddresses", ipaddress=launched["PublicIp"])
    assert listed.get("publicipaddress", []) == []
