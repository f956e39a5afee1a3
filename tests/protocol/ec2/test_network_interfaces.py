"""EC2-VPC network interfaces over the simulator's advanced zone: DescribeNetworkInterfaces and
Assign/UnassignPrivateIpAddresses through boto3 and awscli (Query only: none is in the 2010-11-15 WSDL), on
instances RunInstances launched into a subnet."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import EC2Client, fast_waiter, GatewayServer, Keys, serve_gateway
from tests.protocol.ec2.test_instances import template_id


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "enis", simulator_advanced_zone=True)


def vpc_with_subnet(ec2: EC2Client, vpc_cidr: str, subnet_cidr: str) -> tuple[str, str]:
    """(vpc id, subnet id), the VPC available."""
    c = ec2.client
    vpc = c.create_vpc(CidrBlock=vpc_cidr)["Vpc"]["VpcId"]
    fast_waiter(c, "vpc_available").wait(VpcIds=[vpc])
    return vpc, c.create_subnet(VpcId=vpc, CidrBlock=subnet_cidr)["Subnet"]["SubnetId"]


def launch_in(server: GatewayServer, keys: Keys, subnet_id: str | None, count: int = 1, **kw: Any) -> list[str]:
    """COUNT running instances (their ids) launched by RunInstances into SUBNET_ID (through boto3)."""
    c = EC2Client("boto3", server, keys).client
    if subnet_id:
        kw["SubnetId"] = subnet_id
    made = c.run_instances(ImageId=template_id(server), MinCount=count, MaxCount=count, **kw)
    ids = [i["InstanceId"] for i in made["Instances"]]
    fast_waiter(c, "instance_running").wait(InstanceIds=ids)
    return ids


def test_interfaces_and_secondary_addresses_boto3(gateway_server: GatewayServer,
                                                  new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    c = ec2.client
    vpc, subnet = vpc_with_subnet(ec2, "10.60.0.0/16", "10.60.1.0/24")
    assert c.describe_network_interfaces()["NetworkInterfaces"] == []
    [instance] = launch_in(gateway_server, ec2.keys, subnet)
    [eni] = c.describe_network_interfaces()["NetworkInterfaces"]
    eni_id, primary = eni["NetworkInterfaceId"], eni["PrivateIpAddress"]
    assert eni_id.startswith("eni-") and eni["SubnetId"] == subnet and eni["VpcId"] == vpc
    assert eni["AvailabilityZone"] == "zone2" and eni["Status"] == "in-use" and eni["InterfaceType"] == "interface"
    assert primary.startswith("10.60.1.") and eni["MacAddress"].count(":") == 5
    assert eni["PrivateIpAddresses"] == [{"PrivateIpAddress": primary, "Primary": True}]
    attachment = eni["Attachment"]
    assert attachment["InstanceId"] == instance and attachment["DeviceIndex"] == 0
    assert attachment["Status"] == "attached" and attachment["DeleteOnTermination"] is True
    assert attachment["AttachmentId"] == "eni-attach-" + eni_id.split("-", 1)[1] and "AttachTime" in attachment
    # The interface as DescribeInstances shows it: same id, the VPC's default group it was launched with.
    [shown] = c.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]["NetworkInterfaces"]
    assert shown["NetworkInterfaceId"] == eni_id and shown["Groups"] == eni["Groups"]
    assert [g["GroupName"] for g in eni["Groups"]] == ["default"]

    assigned = c.assign_private_ip_addresses(NetworkInterfaceId=eni_id, PrivateIpAddresses=["10.60.1.50"])
    assert [a["PrivateIpAddress"] for a in assigned["AssignedPrivateIpAddresses"]] == ["10.60.1.50"]
    counted = c.assign_private_ip_addresses(NetworkInterfaceId=eni_id, SecondaryPrivateIpAddressCount=2)
    extra = [a["PrivateIpAddress"] for a in counted["AssignedPrivateIpAddresses"]]
    # Never an address EC2 reserves (.0-.3), nor one in use (the primary, .50).
    assert extra == [a for a in (f"10.60.1.{i}" for i in range(4, 8)) if a != primary][:2]
    [eni] = c.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]
    assert [(p["PrivateIpAddress"], p["Primary"]) for p in eni["PrivateIpAddresses"]] == \
        [(primary, True), ("10.60.1.50", False)] + [(a, False) for a in extra]
    for name, values in (("subnet-id", [subnet]), ("vpc-id", [vpc]), ("private-ip-address", ["10.60.1.50"]),
                         ("addresses.private-ip-address", [extra[0]]), ("status", ["in-use"]),
                         ("attachment.instance-id", [attachment["InstanceId"]]),
                         ("attachment.device-index", ["0"]), ("network-interface-id", [eni_id]),
                         ("availability-zone", ["zone2"]), ("mac-address", [eni["MacAddress"]])):
        found = c.describe_network_interfaces(Filters=[{"Name": name, "Values": values}])["NetworkInterfaces"]
        assert [i["NetworkInterfaceId"] for i in found] == [eni_id], name
    assert c.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": ["subnet-0"]}])[
        "NetworkInterfaces"] == []

    c.unassign_private_ip_addresses(NetworkInterfaceId=eni_id, PrivateIpAddresses=["10.60.1.50", extra[0]])
    [eni] = c.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]
    assert [p["PrivateIpAddress"] for p in eni["PrivateIpAddresses"]] == [primary, extra[1]]

    other = EC2Client("boto3", gateway_server, new_user())
    assert other.client.describe_network_interfaces()["NetworkInterfaces"] == []
    with other.failure() as failure:
        other.client.describe_network_interfaces(NetworkInterfaceIds=[eni_id])
    assert failure.value.code == "InvalidNetworkInterfaceID.NotFound"
    with other.failure() as failure:
        other.client.assign_private_ip_addresses(NetworkInterfaceId=eni_id, SecondaryPrivateIpAddressCount=1)
    assert failure.value.code == "InvalidNetworkInterfaceID.NotFound"


def test_interfaces_through_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc = cli.cli("create-vpc", "--cidr-block", "10.61.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc)
    subnet = cli.cli("create-subnet", "--vpc-id", vpc, "--cidr-block", "10.61.2.0/24")["Subnet"]["SubnetId"]
    launch_in(gateway_server, cli.keys, subnet)
    [eni] = cli.cli("describe-network-interfaces", "--filters", f"Name=subnet-id,Values={subnet}")[
        "NetworkInterfaces"]
    cli.cli("assign-private-ip-addresses", "--network-interface-id", eni["NetworkInterfaceId"],
            "--private-ip-addresses", "10.61.2.77")
    [eni] = cli.cli("describe-network-interfaces", "--network-interface-ids", eni["NetworkInterfaceId"])[
        "NetworkInterfaces"]
    assert [p["PrivateIpAddress"] for p in eni["PrivateIpAddresses"] if not p["Primary"]] == ["10.61.2.77"]
    cli.cli("unassign-private-ip-addresses", "--network-interface-id", eni["NetworkInterfaceId"],
            "--private-ip-addresses", "10.61.2.77")
    [eni] = cli.cli("describe-network-interfaces")["NetworkInterfaces"]
    assert [p["Primary"] for p in eni["PrivateIpAddresses"]] == [True]
    with cli.failure() as failure:
        cli.cli("describe-network-interfaces", "--network-interface-ids", "eni-12345678")
    assert failure.value.code == "InvalidNetworkInterfaceID.NotFound"


def test_private_address_errors_and_pages(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    c = ec2.client
    _, subnet = vpc_with_subnet(ec2, "10.62.0.0/16", "10.62.3.0/24")
    launch_in(gateway_server, ec2.keys, subnet, count=6)
    first = c.describe_network_interfaces(MaxResults=5)
    assert len(first["NetworkInterfaces"]) == 5 and first["NextToken"]
    rest = c.describe_network_interfaces(MaxResults=5, NextToken=first["NextToken"])
    assert len(rest["NetworkInterfaces"]) == 1 and "NextToken" not in rest
    # Two interfaces whose primary address EC2 would not reserve (CloudStack hands out .2 and .3 too).
    one, two = [i for i in first["NetworkInterfaces"] + rest["NetworkInterfaces"]
                if int(i["PrivateIpAddress"].rsplit(".", 1)[1]) >= 4][:2]
    eni = one["NetworkInterfaceId"]
    for kw, code in (({"PrivateIpAddresses": ["10.62.4.9"]}, "InvalidParameterValue"),
                     ({"PrivateIpAddresses": ["10.62.3.2"]}, "InvalidParameterValue"),
                     ({"PrivateIpAddresses": ["10.62.3.255"]}, "InvalidParameterValue"),
                     ({"PrivateIpAddresses": [two["PrivateIpAddress"]]}, "InvalidIPAddress.InUse"),
                     ({"PrivateIpAddresses": [two["PrivateIpAddress"]], "AllowReassignment": True},
                      "InvalidIPAddress.InUse"),
                     ({}, "MissingParameter"),
                     ({"PrivateIpAddresses": ["10.62.3.90"], "SecondaryPrivateIpAddressCount": 1},
                      "InvalidParameterCombination"),
                     ({"SecondaryPrivateIpAddressCount": 11}, "PrivateIpAddressLimitExceeded")):
        with ec2.failure() as failure:
            c.assign_private_ip_addresses(NetworkInterfaceId=eni, **kw)
        assert failure.value.code == code, kw
    # The limit refusal took back what it had added: the interface has its primary address only.
    [same] = c.describe_network_interfaces(NetworkInterfaceIds=[eni])["NetworkInterfaces"]
    assert len(same["PrivateIpAddresses"]) == 1
    # AllowReassignment moves a secondary address from another interface of the subnet.
    c.assign_private_ip_addresses(NetworkInterfaceId=two["NetworkInterfaceId"], PrivateIpAddresses=["10.62.3.90"])
    with ec2.failure() as failure:
        c.assign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=["10.62.3.90"])
    assert failure.value.code == "InvalidIPAddress.InUse"
    c.assign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=["10.62.3.90"], AllowReassignment=True)
    found = c.describe_network_interfaces(NetworkInterfaceIds=[eni, two["NetworkInterfaceId"]])["NetworkInterfaces"]
    secondary = {i["NetworkInterfaceId"]: [p["PrivateIpAddress"] for p in i["PrivateIpAddresses"]
                                           if not p["Primary"]] for i in found}
    assert secondary == {eni: ["10.62.3.90"], two["NetworkInterfaceId"]: []}
    for addresses in ([one["PrivateIpAddress"]], ["10.62.3.91"]):
        with ec2.failure() as failure:
            c.unassign_private_ip_addresses(NetworkInterfaceId=eni, PrivateIpAddresses=addresses)
        assert failure.value.code == "InvalidParameterValue"


def test_interfaces_cloudstack_cannot_make_are_unsupported(gateway_server: GatewayServer,
                                                           new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    for call, kw in ((ec2.client.create_network_interface, {"SubnetId": "subnet-12345678"}),
                     (ec2.client.delete_network_interface, {"NetworkInterfaceId": "eni-12345678"}),
                     (ec2.client.attach_network_interface, {"NetworkInterfaceId": "eni-12345678",
                                                            "InstanceId": "i-12345678", "DeviceIndex": 1}),
                     (ec2.client.detach_network_interface, {"AttachmentId": "eni-attach-12345678"})):
        with ec2.failure() as failure:
            call(**kw)
        assert failure.value.code == "UnsupportedOperation"
        assert call.__name__.title().replace("_", "") in failure.value.message.replace(" ", "")
