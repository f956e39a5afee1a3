"""Issue 12's end-to-end scenario, through boto3 and awscli, against the real server with the simulator behind it
over HTTP: a VPC with two subnets, an internet gateway, a custom route table, a network ACL with entries, an
instance launched into a subnet at a fixed private address and given an Elastic IP by allocation id; every field
read back; everything torn down in EC2's order, with EC2's DependencyViolation wherever a resource is still in use
and NotFound once it is gone. Then a launch without a subnet into the default VPC, and a second user who sees and
can touch none of the first user's resources. The VPC and subnets are read back over SOAP too (zeep, our WSDL).

One scenario function runs on either client: boto3 calls the method, awscli runs `aws ec2 <op> --cli-input-json`
with the same parameters (awscli's own serializer and parser; its output has the same shape as boto3's).
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import EC2Client, GatewayServer, Keys, serve_gateway
from tests.protocol.ec2.test_instances import template_id
from tests.protocol.soap.conftest import make_certificate, SoapClient
from tests.protocol.soap.test_families import items


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "vpc-scenario")


class Ops:
    """One user's EC2 calls through one client: `ops("create_vpc", CidrBlock=...)` → the parsed answer."""

    def __init__(self, ec2: EC2Client):
        self.ec2, self.kind = ec2, ec2.kind

    def __call__(self, op: str, **params: Any) -> dict:
        if self.kind == "boto3":
            answer = getattr(self.ec2.client, op)(**params)
            answer.pop("ResponseMetadata", None)
            return answer
        return self.ec2.cli(op.replace("_", "-"), "--cli-input-json", json.dumps(params))

    def fails(self, op: str, **params: Any) -> str:
        """The EC2 error code of a call that must fail."""
        with self.ec2.failure() as failure:
            self(op, **params)
        return failure.value.code

    def until(self, what: Callable[[], Any], seconds: float = 30) -> Any:
        deadline = time.monotonic() + seconds
        while True:
            got = what()
            if got:
                return got
            assert time.monotonic() < deadline, "gave up waiting"
            time.sleep(0.2)

    def wait(self, waiter: str, **params: Any) -> None:
        """boto3's own waiter (fast polling); awscli's waiters poll every 15 s, so it polls the describe."""
        if self.kind == "boto3":
            self.ec2.client.get_waiter(waiter).wait(WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}, **params)
            return
        kind, state = {"vpc_available": ("vpc", "available"), "subnet_available": ("subnet", "available"),
                       "instance_running": ("instance", "running"),
                       "instance_terminated": ("instance", "terminated")}[waiter]
        if kind == "instance":
            self.until(lambda: self.instance(params["InstanceIds"][0])["State"]["Name"] == state, 60)
        else:
            key = {"vpc": ("describe_vpcs", "VpcIds", "Vpcs"), "subnet": ("describe_subnets", "SubnetIds",
                                                                           "Subnets")}[kind]
            ids = params[key[1]]
            self.until(lambda: all(x["State"] == state for x in self(key[0], **{key[1]: ids})[key[2]]))

    def instance(self, instance_id: str) -> dict:
        [inst] = self("describe_instances", InstanceIds=[instance_id])["Reservations"][0]["Instances"]
        return inst


def _tags(name: str, kind: str) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def _build(ops: Ops, image: str) -> dict:
    """The VPC of the scenario, each step's answer checked; → the ids made."""
    ids: dict[str, Any] = {}
    vpc = ops("create_vpc", CidrBlock="10.50.0.0/16", TagSpecifications=_tags("scenario", "vpc"))["Vpc"]
    ids["vpc"] = vpc["VpcId"]
    assert vpc["VpcId"].startswith("vpc-") and vpc["CidrBlock"] == "10.50.0.0/16"
    ops.wait("vpc_available", VpcIds=[ids["vpc"]])
    ids["subnets"] = []
    for n, cidr in ((1, "10.50.1.0/24"), (2, "10.50.2.0/24")):
        subnet = ops("create_subnet", VpcId=ids["vpc"], CidrBlock=cidr,
                     TagSpecifications=_tags(f"tier{n}", "subnet"))["Subnet"]
        assert (subnet["VpcId"], subnet["CidrBlock"], subnet["AvailableIpAddressCount"]) == (ids["vpc"], cidr, 251)
        ids["subnets"].append(subnet["SubnetId"])
    ops.wait("subnet_available", SubnetIds=ids["subnets"])
    one, two = ids["subnets"]

    igw = ops("create_internet_gateway", TagSpecifications=_tags("door", "internet-gateway"))["InternetGateway"]
    ids["igw"] = igw["InternetGatewayId"]
    assert ids["igw"].startswith("igw-") and igw["Attachments"] == []
    ops("attach_internet_gateway", InternetGatewayId=ids["igw"], VpcId=ids["vpc"])
    assert ops.fails("attach_internet_gateway", InternetGatewayId=ids["igw"],
                     VpcId=ids["vpc"]) == "Resource.AlreadyAssociated"

    table = ops("create_route_table", VpcId=ids["vpc"], TagSpecifications=_tags("public", "route-table"))
    ids["rtb"] = table["RouteTable"]["RouteTableId"]
    assert ops("create_route", RouteTableId=ids["rtb"], DestinationCidrBlock="0.0.0.0/0",
               GatewayId=ids["igw"])["Return"] is True
    ids["rtbassoc"] = ops("associate_route_table", RouteTableId=ids["rtb"], SubnetId=one)["AssociationId"]
    assert ids["rtbassoc"].startswith("rtbassoc-")

    acl = ops("create_network_acl", VpcId=ids["vpc"], TagSpecifications=_tags("guarded", "network-acl"))
    ids["acl"] = acl["NetworkAcl"]["NetworkAclId"]
    assert ids["acl"].startswith("acl-") and acl["NetworkAcl"]["IsDefault"] is False
    for number, egress, protocol, ports, cidr, action in ((100, False, "6", (22, 22), "0.0.0.0/0", "allow"),
                                                         (110, False, "6", (443, 443), "10.0.0.0/8", "allow"),
                                                         (100, True, "-1", None, "0.0.0.0/0", "allow")):
        entry = dict(NetworkAclId=ids["acl"], RuleNumber=number, Protocol=protocol, RuleAction=action,
                     Egress=egress, CidrBlock=cidr)
        if ports:
            entry["PortRange"] = {"From": ports[0], "To": ports[1]}
        ops("create_network_acl_entry", **entry)
    [default_acl] = ops("describe_network_acls", Filters=[{"Name": "vpc-id", "Values": [ids["vpc"]]},
                                                          {"Name": "default", "Values": ["true"]}])["NetworkAcls"]
    ids["default_acl"] = default_acl["NetworkAclId"]
    [old] = [a for a in default_acl["Associations"] if a["SubnetId"] == two]
    ids["aclassoc"] = ops("replace_network_acl_association", AssociationId=old["NetworkAclAssociationId"],
                          NetworkAclId=ids["acl"])["NewAssociationId"]

    run = ops("run_instances", ImageId=image, MinCount=1, MaxCount=1, SubnetId=one, PrivateIpAddress="10.50.1.10",
              TagSpecifications=_tags("web", "instance"))
    [made] = run["Instances"]
    ids["instance"] = made["InstanceId"]
    assert (made["VpcId"], made["SubnetId"], made["PrivateIpAddress"]) == (ids["vpc"], one, "10.50.1.10")
    ops.wait("instance_running", InstanceIds=[ids["instance"]])

    address = ops("allocate_address", Domain="vpc")
    ids["eipalloc"], ids["public_ip"] = address["AllocationId"], address["PublicIp"]
    assert address["Domain"] == "vpc" and ids["eipalloc"].startswith("eipalloc-")
    ids["eipassoc"] = ops("associate_address", AllocationId=ids["eipalloc"],
                          InstanceId=ids["instance"])["AssociationId"]
    assert ids["eipassoc"].startswith("eipassoc-")
    return ids


def _read_back(ops: Ops, ids: dict) -> None:
    """Every resource of the scenario as the Describe calls show it."""
    one, two = ids["subnets"]
    [vpc] = ops("describe_vpcs", VpcIds=[ids["vpc"]])["Vpcs"]
    assert (vpc["State"], vpc["CidrBlock"], vpc["IsDefault"]) == ("available", "10.50.0.0/16", False)
    assert vpc["Tags"] == [{"Key": "Name", "Value": "scenario"}]

    subnets = {s["SubnetId"]: s for s in ops("describe_subnets", Filters=[
        {"Name": "vpc-id", "Values": [ids["vpc"]]}])["Subnets"]}
    assert sorted(subnets) == sorted(ids["subnets"])
    assert subnets[one]["CidrBlock"] == "10.50.1.0/24" and subnets[two]["CidrBlock"] == "10.50.2.0/24"
    assert subnets[one]["AvailableIpAddressCount"] == 250 and subnets[two]["AvailableIpAddressCount"] == 251
    # The simulator's advanced zone: the VPC's, its tiers' and the instance's (a CloudStack VPC is in one zone).
    assert subnets[one]["AvailabilityZone"] == subnets[two]["AvailabilityZone"] == "zone2"
    assert {s["Tags"][0]["Value"] for s in subnets.values()} == {"tier1", "tier2"}

    [igw] = ops("describe_internet_gateways", InternetGatewayIds=[ids["igw"]])["InternetGateways"]
    assert igw["Attachments"] == [{"State": "available", "VpcId": ids["vpc"]}]
    assert igw["Tags"] == [{"Key": "Name", "Value": "door"}]

    tables = {t["RouteTableId"]: t for t in ops("describe_route_tables", Filters=[
        {"Name": "vpc-id", "Values": [ids["vpc"]]}])["RouteTables"]}
    assert len(tables) == 2 and ids["rtb"] in tables
    custom = tables[ids["rtb"]]
    assert sorted((r["DestinationCidrBlock"], r["GatewayId"], r["State"]) for r in custom["Routes"]) == [
        ("0.0.0.0/0", ids["igw"], "active"), ("10.50.0.0/16", "local", "active")]
    assert [(a["RouteTableAssociationId"], a["SubnetId"], a["Main"]) for a in custom["Associations"]] == [
        (ids["rtbassoc"], one, False)]
    [main] = [t for t in tables.values() if t["RouteTableId"] != ids["rtb"]]
    assert [a["Main"] for a in main["Associations"]] == [True]
    # The subnet's own table wins over the main one in a filter on the association.
    found = ops("describe_route_tables", Filters=[{"Name": "association.subnet-id", "Values": [one]}])
    assert [t["RouteTableId"] for t in found["RouteTables"]] == [ids["rtb"]]

    [acl] = ops("describe_network_acls", NetworkAclIds=[ids["acl"]])["NetworkAcls"]
    assert acl["VpcId"] == ids["vpc"] and acl["IsDefault"] is False
    assert [(a["NetworkAclAssociationId"], a["SubnetId"]) for a in acl["Associations"]] == [(ids["aclassoc"], two)]
    rules = sorted((e["Egress"], e["RuleNumber"], e["Protocol"], e["RuleAction"], e["CidrBlock"],
                    (e.get("PortRange") or {}).get("From")) for e in acl["Entries"])
    assert rules == [(False, 100, "6", "allow", "0.0.0.0/0", 22), (False, 110, "6", "allow", "10.0.0.0/8", 443),
                     (False, 32767, "-1", "deny", "0.0.0.0/0", None),
                     (True, 100, "-1", "allow", "0.0.0.0/0", None), (True, 32767, "-1", "deny", "0.0.0.0/0", None)]
    [default_acl] = ops("describe_network_acls", NetworkAclIds=[ids["default_acl"]])["NetworkAcls"]
    assert [a["SubnetId"] for a in default_acl["Associations"]] == [one]

    inst = ops.instance(ids["instance"])
    assert (inst["VpcId"], inst["SubnetId"], inst["PrivateIpAddress"]) == (ids["vpc"], one, "10.50.1.10")
    assert inst["State"]["Name"] == "running" and inst["PublicIpAddress"] == ids["public_ip"]
    assert inst["Placement"]["AvailabilityZone"] == "zone2"
    assert inst["Tags"] == [{"Key": "Name", "Value": "web"}]
    [nic] = inst["NetworkInterfaces"]
    assert (nic["SubnetId"], nic["VpcId"], nic["PrivateIpAddress"]) == (one, ids["vpc"], "10.50.1.10")
    assert nic["Attachment"]["DeviceIndex"] == 0 and nic["Association"]["PublicIp"] == ids["public_ip"]
    ids["eni"] = nic["NetworkInterfaceId"]
    assert ids["eni"].startswith("eni-")
    [group] = inst["SecurityGroups"]
    assert group["GroupName"] == "default"

    [eni] = ops("describe_network_interfaces", Filters=[{"Name": "subnet-id", "Values": [one]}])["NetworkInterfaces"]
    assert (eni["NetworkInterfaceId"], eni["Attachment"]["InstanceId"]) == (ids["eni"], ids["instance"])
    assert eni["PrivateIpAddresses"][0]["PrivateIpAddress"] == "10.50.1.10"
    assert eni["PrivateIpAddresses"][0]["Association"]["PublicIp"] == ids["public_ip"]

    [address] = ops("describe_addresses", AllocationIds=[ids["eipalloc"]])["Addresses"]
    assert (address["PublicIp"], address["Domain"], address["AssociationId"]) == (
        ids["public_ip"], "vpc", ids["eipassoc"])
    assert (address["InstanceId"], address["NetworkInterfaceId"], address["PrivateIpAddress"]) == (
        ids["instance"], ids["eni"], "10.50.1.10")


def _tear_down(ops: Ops, ids: dict) -> None:
    """EC2's order, each step first tried too early where EC2 refuses it."""
    one, two = ids["subnets"]
    assert ops.fails("delete_vpc", VpcId=ids["vpc"]) == "DependencyViolation"
    assert ops.fails("delete_subnet", SubnetId=one) == "DependencyViolation"
    assert ops.fails("delete_internet_gateway", InternetGatewayId=ids["igw"]) == "DependencyViolation"
    assert ops.fails("detach_internet_gateway", InternetGatewayId=ids["igw"],
                     VpcId=ids["vpc"]) == "DependencyViolation"  # the Elastic IP is mapped
    assert ops.fails("delete_route_table", RouteTableId=ids["rtb"]) == "DependencyViolation"
    assert ops.fails("delete_network_acl", NetworkAclId=ids["acl"]) == "DependencyViolation"
    assert ops.fails("release_address", AllocationId=ids["eipalloc"]) == "InvalidIPAddress.InUse"

    ops("disassociate_address", AssociationId=ids["eipassoc"])
    assert "AssociationId" not in ops("describe_addresses", AllocationIds=[ids["eipalloc"]])["Addresses"][0]
    ops("release_address", AllocationId=ids["eipalloc"])
    assert ops.fails("describe_addresses", AllocationIds=[ids["eipalloc"]]) == "InvalidAllocationID.NotFound"

    ops("terminate_instances", InstanceIds=[ids["instance"]])
    ops.wait("instance_terminated", InstanceIds=[ids["instance"]])
    ops.until(lambda: not ops("describe_network_interfaces", Filters=[
        {"Name": "subnet-id", "Values": [one]}])["NetworkInterfaces"])

    ops("disassociate_route_table", AssociationId=ids["rtbassoc"])
    ops("delete_route_table", RouteTableId=ids["rtb"])
    assert ops.fails("describe_route_tables", RouteTableIds=[ids["rtb"]]) == "InvalidRouteTableID.NotFound"

    ops("replace_network_acl_association", AssociationId=ids["aclassoc"], NetworkAclId=ids["default_acl"])
    ops("delete_network_acl", NetworkAclId=ids["acl"])
    assert ops.fails("describe_network_acls", NetworkAclIds=[ids["acl"]]) == "InvalidNetworkAclID.NotFound"
    assert ops.fails("delete_network_acl", NetworkAclId=ids["default_acl"]) == "InvalidParameterValue"

    ops("detach_internet_gateway", InternetGatewayId=ids["igw"], VpcId=ids["vpc"])
    ops("delete_internet_gateway", InternetGatewayId=ids["igw"])
    assert ops.fails("describe_internet_gateways",
                     InternetGatewayIds=[ids["igw"]]) == "InvalidInternetGatewayID.NotFound"

    for subnet in (one, two):
        ops("delete_subnet", SubnetId=subnet)
        assert ops.fails("describe_subnets", SubnetIds=[subnet]) == "InvalidSubnetID.NotFound"
    ops("delete_vpc", VpcId=ids["vpc"])
    assert ops.fails("describe_vpcs", VpcIds=[ids["vpc"]]) == "InvalidVpcID.NotFound"
    assert [v["IsDefault"] for v in ops("describe_vpcs")["Vpcs"]] == [True]


def _default_vpc_launch(ops: Ops, image: str) -> None:
    """RunInstances without a subnet, placed in the Advanced zone: the account's default VPC and its default
    subnet (made on need). (This cloud has a Basic zone too, which takes a launch placed nowhere, as EC2 did for
    accounts with both platforms.)"""
    [default] = ops("describe_vpcs", Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    assert default["CidrBlock"] == "172.31.0.0/16"
    attributes = ops("describe_account_attributes", AttributeNames=["default-vpc"])["AccountAttributes"]
    assert attributes[0]["AttributeValues"] == [{"AttributeValue": default["VpcId"]}]
    [made] = ops("run_instances", ImageId=image, MinCount=1, MaxCount=1,
                 Placement={"AvailabilityZone": "zone2"})["Instances"]
    assert made["VpcId"] == default["VpcId"]
    [subnet] = ops("describe_subnets", SubnetIds=[made["SubnetId"]])["Subnets"]
    assert subnet["DefaultForAz"] is True and subnet["VpcId"] == default["VpcId"]
    ops.wait("instance_running", InstanceIds=[made["InstanceId"]])
    inst = ops.instance(made["InstanceId"])
    assert inst["SubnetId"] == subnet["SubnetId"] and inst["PrivateIpAddress"].startswith("172.31.")
    ops("terminate_instances", InstanceIds=[made["InstanceId"]])
    ops.wait("instance_terminated", InstanceIds=[made["InstanceId"]])


_NOT_FOUND = (("describe_vpcs", "VpcIds", "vpc", "InvalidVpcID.NotFound"),
              ("describe_subnets", "SubnetIds", "subnets", "InvalidSubnetID.NotFound"),
              ("describe_internet_gateways", "InternetGatewayIds", "igw", "InvalidInternetGatewayID.NotFound"),
              ("describe_route_tables", "RouteTableIds", "rtb", "InvalidRouteTableID.NotFound"),
              ("describe_network_acls", "NetworkAclIds", "acl", "InvalidNetworkAclID.NotFound"),
              ("describe_network_interfaces", "NetworkInterfaceIds", "eni", "InvalidNetworkInterfaceID.NotFound"),
              ("describe_addresses", "AllocationIds", "eipalloc", "InvalidAllocationID.NotFound"),
              ("describe_instances", "InstanceIds", "instance", "InvalidInstanceID.NotFound"))


def _stranger_sees_nothing(stranger: Ops, ids: dict) -> None:
    """A second user: no list shows the first user's resources, no id of them is found, none can be changed."""
    vpcs = stranger("describe_vpcs")["Vpcs"]
    assert [v["IsDefault"] for v in vpcs] == [True] and ids["vpc"] not in {v["VpcId"] for v in vpcs}
    theirs = {s["SubnetId"] for s in stranger("describe_subnets")["Subnets"]}
    assert not theirs & set(ids["subnets"])
    assert ids["igw"] not in {g["InternetGatewayId"] for g in stranger("describe_internet_gateways")[
        "InternetGateways"]}
    assert ids["rtb"] not in {t["RouteTableId"] for t in stranger("describe_route_tables")["RouteTables"]}
    assert ids["acl"] not in {a["NetworkAclId"] for a in stranger("describe_network_acls")["NetworkAcls"]}
    assert stranger("describe_network_interfaces")["NetworkInterfaces"] == []
    assert stranger("describe_addresses")["Addresses"] == []
    assert stranger("describe_instances")["Reservations"] == []
    for op, param, key, code in _NOT_FOUND:
        value = ids[key]
        assert stranger.fails(op, **{param: value if isinstance(value, list) else [value]}) == code, op
    assert stranger.fails("delete_vpc", VpcId=ids["vpc"]) == "InvalidVpcID.NotFound"
    assert stranger.fails("delete_subnet", SubnetId=ids["subnets"][0]) == "InvalidSubnetID.NotFound"
    assert stranger.fails("detach_internet_gateway", InternetGatewayId=ids["igw"],
                          VpcId=ids["vpc"]) == "InvalidInternetGatewayID.NotFound"
    assert stranger.fails("delete_route_table", RouteTableId=ids["rtb"]) == "InvalidRouteTableID.NotFound"
    assert stranger.fails("delete_network_acl", NetworkAclId=ids["acl"]) == "InvalidNetworkAclID.NotFound"
    assert stranger.fails("disassociate_address", AssociationId=ids["eipassoc"]) == "InvalidAssociationID.NotFound"
    assert stranger.fails("release_address", AllocationId=ids["eipalloc"]) == "InvalidAllocationID.NotFound"
    assert stranger.fails("terminate_instances", InstanceIds=[ids["instance"]]) == "InvalidInstanceID.NotFound"
    # The same CIDRs are free for the stranger: accounts do not share address space.
    vpc = stranger("create_vpc", CidrBlock="10.50.0.0/16")["Vpc"]["VpcId"]
    stranger.wait("vpc_available", VpcIds=[vpc])
    subnet = stranger("create_subnet", VpcId=vpc, CidrBlock="10.50.1.0/24")["Subnet"]["SubnetId"]
    stranger("delete_subnet", SubnetId=subnet)
    stranger("delete_vpc", VpcId=vpc)


def _over_soap(soap: SoapClient, ids: dict) -> None:
    """The VPC and its subnets as zeep reads them from our WSDL (the 2010-11-15 shapes)."""
    [vpc] = items(soap.call("DescribeVpcs", vpcSet={"item": [{"vpcId": ids["vpc"]}]}), "vpcSet")
    assert (vpc.vpcId, vpc.state, vpc.cidrBlock) == (ids["vpc"], "available", "10.50.0.0/16")
    subnets = items(soap.call("DescribeSubnets", filterSet={"item": [
        {"name": "vpc-id", "valueSet": {"item": [{"value": ids["vpc"]}]}}]}), "subnetSet")
    assert sorted((s.subnetId, s.cidrBlock, s.availableIpAddressCount) for s in subnets) == sorted(
        [(ids["subnets"][0], "10.50.1.0/24", 250), (ids["subnets"][1], "10.50.2.0/24", 251)])
    assert soap.failure("DeleteVpc", vpcId=ids["vpc"]).code == "DependencyViolation"
    assert soap.failure("DeleteSubnet", subnetId=ids["subnets"][0]).code == "DependencyViolation"


@pytest.mark.parametrize("kind", ["boto3", "awscli"])
def test_vpc_scenario(kind: str, gateway_server: GatewayServer, new_user: Callable[[], Keys],
                      in_reactor: Callable[..., Any], tmp_path: Any) -> None:
    keys = new_user()
    key_file, cert_file, pem = make_certificate(tmp_path, keys.account)  # the same user over SOAP
    in_reactor(gateway_server.running.credentials.register, keys.access_key, keys.secret_key)
    assert in_reactor(gateway_server.running.credentials.set_certificate, keys.access_key, pem)
    ops = Ops(EC2Client(kind, gateway_server, keys))
    image = template_id(gateway_server)
    ids = _build(ops, image)
    _read_back(ops, ids)
    _over_soap(SoapClient("ours", gateway_server, keys, key_file, cert_file), ids)
    _stranger_sees_nothing(Ops(EC2Client(kind, gateway_server, new_user())), ids)
    _tear_down(ops, ids)
    _default_vpc_launch(ops, image)
