"""Nothing is left behind. What a VPC instance takes at launch goes back at TerminateInstances: the public address given by
AssociatePublicIpAddress is released in CloudStack (an Elastic IP stays allocated), and the instance's interface
no longer shows. Checked in CloudStack itself (the simulator, as its admin) and through boto3 and awscli."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import available_vpc, EC2Client, fast_waiter, GatewayServer, Keys, serve_gateway
from tests.protocol.ec2.test_instances import template_id


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "leftovers", simulator_advanced_zone=True)


def _public_ips(gateway_server: GatewayServer, keys: Keys) -> set[str]:
    """The addresses CloudStack holds for KEYS' account, as its admin lists them."""
    status, body = gateway_server.cloudstack("admin", "listPublicIpAddresses", listall="true")
    assert status == 200, body
    return {a["ipaddress"] for a in body.get("publicipaddress") or () if a.get("account") == keys.account
            and not a.get("issourcenat")}


def _until(predicate: Callable[[], Any], what: str) -> Any:
    for _ in range(150):
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(what)


def test_launch_address_released_at_terminate_boto3(gateway_server: GatewayServer,
                                                    new_user: Callable[[], Keys]) -> None:
    keys = new_user()
    client = EC2Client("boto3", gateway_server, keys).client
    vpc_id = available_vpc(client, "10.70.0.0/16")
    subnet_id = client.create_subnet(VpcId=vpc_id, CidrBlock="10.70.1.0/24")["Subnet"]["SubnetId"]
    igw_id = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    client.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    elastic = client.allocate_address(Domain="vpc")
    before = _public_ips(gateway_server, keys)
    assert elastic["PublicIp"] in before
    made = client.run_instances(ImageId=template_id(gateway_server), MinCount=2, MaxCount=2, NetworkInterfaces=[
        {"DeviceIndex": 0, "SubnetId": subnet_id, "AssociatePublicIpAddress": True}])["Instances"]
    ids = [i["InstanceId"] for i in made]
    fast_waiter(client, "instance_running").wait(InstanceIds=ids)
    found = [i for r in client.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]]
    launched = {i["PublicIpAddress"] for i in found}
    assert len(launched) == 2 and _public_ips(gateway_server, keys) == before | launched
    # Launch addresses are no Elastic IPs: DescribeAddresses shows only the allocated one.
    assert [a["PublicIp"] for a in client.describe_addresses()["Addresses"]] == [elastic["PublicIp"]]
    enis = {i["NetworkInterfaces"][0]["NetworkInterfaceId"] for i in found}
    listed = client.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    assert {n["NetworkInterfaceId"] for n in listed["NetworkInterfaces"]} == enis

    client.terminate_instances(InstanceIds=ids)
    # Released with the instances; the Elastic IP stays.
    _until(lambda: _public_ips(gateway_server, keys) == before, "the launch addresses were never released")
    assert [a["PublicIp"] for a in client.describe_addresses()["Addresses"]] == [elastic["PublicIp"]]
    fast_waiter(client, "instance_terminated").wait(InstanceIds=ids)
    listed = client.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    assert listed["NetworkInterfaces"] == []
    client.release_address(AllocationId=elastic["AllocationId"])
    assert _public_ips(gateway_server, keys) == set()
    client.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    client.delete_internet_gateway(InternetGatewayId=igw_id)
    client.delete_subnet(SubnetId=subnet_id)
    client.delete_vpc(VpcId=vpc_id)
    assert client.describe_vpcs(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Vpcs"] == []


def test_launch_address_released_at_terminate_awscli(gateway_server: GatewayServer,
                                                     new_user: Callable[[], Keys]) -> None:
    keys = new_user()
    cli = EC2Client("awscli", gateway_server, keys)
    vpc_id = cli.cli("create-vpc", "--cidr-block", "10.71.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc_id)
    subnet_id = cli.cli("create-subnet", "--vpc-id", vpc_id, "--cidr-block", "10.71.3.0/24")["Subnet"]["SubnetId"]
    [inst] = cli.cli("run-instances", "--image-id", template_id(gateway_server), "--count", "1",
                     "--network-interfaces", f"DeviceIndex=0,SubnetId={subnet_id},AssociatePublicIpAddress=true"
                     )["Instances"]

    def public_ip() -> str | None:
        [found] = cli.cli("describe-instances", "--instance-ids", inst["InstanceId"])["Reservations"][0]["Instances"]
        return found.get("PublicIpAddress") if found["State"]["Name"] == "running" else None
    address = _until(public_ip, "the instance never ran with its public address")
    assert _public_ips(gateway_server, keys) == {address}
    changed = cli.cli("terminate-instances", "--instance-ids", inst["InstanceId"])["TerminatingInstances"]
    assert [c["CurrentState"]["Name"] for c in changed] == ["shutting-down"]
    _until(lambda: not _public_ips(gateway_server, keys), "the launch address was never released")
    assert cli.cli("describe-addresses")["Addresses"] == []


def _records(gateway_server: GatewayServer, keys: Keys) -> list[tuple[str, ...]]:
    """The gateway's own rows of KEYS' account but those of its default VPC (made by the first Describe in an
    Advanced zone, as in EC2): EC2 objects (kind, data) and tags (type, key)."""
    from sqlalchemy import select

    from ec2soap.store.tables import ec2_object, ec2_tag

    status, body = gateway_server.cloudstack("admin", "listAccounts", name=keys.account, listall="true")
    assert status == 200, body
    [account] = [a["id"] for a in body["account"] if a["name"] == keys.account]
    status, body = gateway_server.cloudstack("admin", "listVPCs", listall="true", name="ec2-default-vpc")
    default = [v["id"] for v in body.get("vpc") or () if v.get("account") == keys.account]

    def read(conn: Any) -> list[tuple[str, ...]]:
        objects = conn.execute(select(ec2_object.c.kind, ec2_object.c.data).where(
            (ec2_object.c.account == account) & (ec2_object.c.vpc.is_(None) | ec2_object.c.vpc.notin_(default))))
        tags = conn.execute(select(ec2_tag.c.resource_type, ec2_tag.c.key).where(ec2_tag.c.account == account))
        return [tuple(r) for r in objects] + [tuple(r) for r in tags]
    return gateway_server.running.store.run_sync(read, readonly=True)


def test_teardown_leaves_no_records(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    """Every EC2 object the gateway keeps for a VPC (internet gateway, route tables and their associations,
    VPC security groups, interfaces, network ACL tags) goes with the CloudStack object it stands for: after a
    teardown in EC2's order (subnets deleted while still associated, as EC2 allows) the account has no rows."""
    keys = new_user()
    client = EC2Client("boto3", gateway_server, keys).client
    tag = [{"Key": "team", "Value": "web"}]
    vpc_id = available_vpc(client, "10.72.0.0/16")
    subnets = [client.create_subnet(VpcId=vpc_id, CidrBlock=f"10.72.{n}.0/24")["Subnet"]["SubnetId"] for n in (1, 2)]
    igw_id = client.create_internet_gateway(TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": tag}])[
        "InternetGateway"]["InternetGatewayId"]
    client.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    rtb_id = client.create_route_table(VpcId=vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": tag}])[
        "RouteTable"]["RouteTableId"]
    client.create_route(RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    client.associate_route_table(RouteTableId=rtb_id, SubnetId=subnets[0])
    acl_id = client.create_network_acl(VpcId=vpc_id, TagSpecifications=[{"ResourceType": "network-acl", "Tags": tag}])[
        "NetworkAcl"]["NetworkAclId"]
    client.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=100, Protocol="6", RuleAction="allow",
                                    Egress=False, CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
    [default_acl] = client.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                                          {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    client.create_tags(Resources=[default_acl["NetworkAclId"]], Tags=tag)
    [assoc] = [a for a in client.describe_network_acls(NetworkAclIds=[default_acl["NetworkAclId"]])[
        "NetworkAcls"][0]["Associations"] if a["SubnetId"] == subnets[1]]
    client.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"], NetworkAclId=acl_id)
    group_id = client.create_security_group(VpcId=vpc_id, GroupName="web", Description="web")["GroupId"]
    made = client.run_instances(ImageId=template_id(gateway_server), MinCount=1, MaxCount=1, NetworkInterfaces=[
        {"DeviceIndex": 0, "SubnetId": subnets[0], "AssociatePublicIpAddress": True, "Groups": [group_id],
         "Description": "front"}])["Instances"]
    assert _records(gateway_server, keys)  # the records this test expects to go
    client.terminate_instances(InstanceIds=[made[0]["InstanceId"]])
    fast_waiter(client, "instance_terminated").wait(InstanceIds=[made[0]["InstanceId"]])
    for subnet_id in subnets:
        client.delete_subnet(SubnetId=subnet_id)
    client.delete_network_acl(NetworkAclId=acl_id)
    client.delete_route_table(RouteTableId=rtb_id)
    client.delete_security_group(GroupId=group_id)
    client.detach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    client.delete_internet_gateway(InternetGatewayId=igw_id)
    client.delete_vpc(VpcId=vpc_id)
    assert _records(gateway_server, keys) == []
    _until(lambda: not _public_ips(gateway_server, keys), "an address is still held")
