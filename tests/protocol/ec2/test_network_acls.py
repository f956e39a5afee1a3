"""EC2-VPC network ACLs over the simulator's advanced zone: CloudStack ACL lists and items through boto3 and awscli."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import EC2Client, fast_waiter, GatewayServer, Keys, serve_gateway


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "network_acls", simulator_advanced_zone=True)


def _vpc_and_subnet(client: Any, cidr: str) -> tuple[str, str]:
    vpc_id = client.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    fast_waiter(client, "vpc_available").wait(VpcIds=[vpc_id])
    subnet_id = client.create_subnet(VpcId=vpc_id, CidrBlock=cidr.replace("0.0/16", "1.0/24"))["Subnet"]["SubnetId"]
    return vpc_id, subnet_id


def _brief(entries: list[dict]) -> list[tuple]:
    return [(e["RuleNumber"], e["Egress"], e["Protocol"], e["RuleAction"], e["CidrBlock"],
             e.get("PortRange"), e.get("IcmpTypeCode")) for e in entries]


EVERYTHING = [(100, False, "-1", "allow", "0.0.0.0/0", None, None), (32767, False, "-1", "deny", "0.0.0.0/0", None, None),
              (100, True, "-1", "allow", "0.0.0.0/0", None, None), (32767, True, "-1", "deny", "0.0.0.0/0", None, None)]


def test_network_acls_boto3(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = EC2Client("boto3", gateway_server, new_user())
    client = ec2.client
    vpc_id, subnet_id = _vpc_and_subnet(client, "10.60.0.0/16")
    # Each VPC has its default ACL: EC2's entries, editable, with the VPC's subnets.
    [default] = client.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NetworkAcls"]
    assert default["IsDefault"] is True and default["VpcId"] == vpc_id and _brief(default["Entries"]) == EVERYTHING
    [assoc] = default["Associations"]
    assert assoc["SubnetId"] == subnet_id and assoc["NetworkAclId"] == default["NetworkAclId"]
    assert assoc["NetworkAclAssociationId"].startswith("aclassoc-")

    acl = client.create_network_acl(VpcId=vpc_id, TagSpecifications=[
        {"ResourceType": "network-acl", "Tags": [{"Key": "Name", "Value": "web"}]}])["NetworkAcl"]
    acl_id = acl["NetworkAclId"]
    assert acl_id.startswith("acl-") and acl["IsDefault"] is False and acl["Associations"] == []
    assert _brief(acl["Entries"]) == [(32767, False, "-1", "deny", "0.0.0.0/0", None, None),
                                      (32767, True, "-1", "deny", "0.0.0.0/0", None, None)]
    client.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=100, Protocol="6", RuleAction="allow",
                                    Egress=False, CidrBlock="0.0.0.0/0", PortRange={"From": 80, "To": 80})
    client.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=100, Protocol="-1", RuleAction="allow",
                                    Egress=True, CidrBlock="10.0.0.0/8")
    client.create_network_acl_entry(NetworkAclId=acl_id, RuleNumber=90, Protocol="1", RuleAction="deny",
                                    Egress=False, CidrBlock="192.0.2.0/24", IcmpTypeCode={"Type": 8, "Code": -1})
    client.replace_network_acl_entry(NetworkAclId=acl_id, RuleNumber=100, Protocol="17", RuleAction="deny",
                                     Egress=False, CidrBlock="198.51.100.0/24", PortRange={"From": 53, "To": 54})
    [seen] = client.describe_network_acls(NetworkAclIds=[acl_id])["NetworkAcls"]
    assert _brief(seen["Entries"]) == [
        (90, False, "1", "deny", "192.0.2.0/24", None, {"Type": 8, "Code": -1}),
        (100, False, "17", "deny", "198.51.100.0/24", {"From": 53, "To": 54}, None),
        (32767, False, "-1", "deny", "0.0.0.0/0", None, None),
        (100, True, "-1", "allow", "10.0.0.0/8", None, None), (32767, True, "-1", "deny", "0.0.0.0/0", None, None)]
    assert seen["Tags"] == [{"Key": "Name", "Value": "web"}]
    for name, value in (("default", "false"), ("entry.rule-number", "90"), ("tag:Name", "web"),
                        ("entry.port-range.from", "53"), ("network-acl-id", acl_id)):
        found = client.describe_network_acls(Filters=[{"Name": name, "Values": [value]}])["NetworkAcls"]
        assert [a["NetworkAclId"] for a in found] == [acl_id], name

    new_assoc = client.replace_network_acl_association(AssociationId=assoc["NetworkAclAssociationId"],
                                                       NetworkAclId=acl_id)["NewAssociationId"]
    found = client.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])
    [moved] = found["NetworkAcls"]
    assert moved["NetworkAclId"] == acl_id
    assert moved["Associations"] == [{"NetworkAclAssociationId": new_assoc, "NetworkAclId": acl_id,
                                      "SubnetId": subnet_id}]
    with ec2.failure() as failure:
        client.delete_network_acl(NetworkAclId=acl_id)
    assert failure.value.code == "DependencyViolation"
    with ec2.failure() as failure:
        client.delete_network_acl(NetworkAclId=default["NetworkAclId"])
    assert failure.value.code == "InvalidParameterValue" and "cannot delete default network ACL" in failure.value.message
    client.replace_network_acl_association(AssociationId=new_assoc, NetworkAclId=default["NetworkAclId"])
    client.delete_network_acl_entry(NetworkAclId=acl_id, RuleNumber=90, Egress=False)
    client.delete_network_acl(NetworkAclId=acl_id)
    with ec2.failure() as failure:
        client.describe_network_acls(NetworkAclIds=[acl_id])
    assert failure.value.code == "InvalidNetworkAclID.NotFound"

    # The default ACL is editable, as EC2's is (CloudStack's global default_allow is not).
    client.replace_network_acl_entry(NetworkAclId=default["NetworkAclId"], RuleNumber=100, Protocol="6",
                                     RuleAction="allow", Egress=False, CidrBlock="0.0.0.0/0",
                                     PortRange={"From": 22, "To": 22})
    [edited] = client.describe_network_acls(NetworkAclIds=[default["NetworkAclId"]])["NetworkAcls"]
    assert _brief(edited["Entries"])[0] == (100, False, "6", "allow", "0.0.0.0/0", {"From": 22, "To": 22}, None)
    assert [a["SubnetId"] for a in edited["Associations"]] == [subnet_id]

    other = EC2Client("boto3", gateway_server, new_user())
    assert other.client.describe_network_acls()["NetworkAcls"] == []
    with other.failure() as failure:
        other.client.describe_network_acls(NetworkAclIds=[default["NetworkAclId"]])
    assert failure.value.code == "InvalidNetworkAclID.NotFound"
    with other.failure() as failure:
        other.client.create_network_acl_entry(NetworkAclId=default["NetworkAclId"], RuleNumber=5, Protocol="-1",
                                              RuleAction="deny", Egress=False, CidrBlock="0.0.0.0/0")
    assert failure.value.code == "InvalidNetworkAclID.NotFound"


@pytest.mark.parametrize(("kw", "code"), [
    ({"RuleNumber": 100}, "NetworkAclEntryAlreadyExists"),
    ({"RuleNumber": 32767}, "InvalidParameterValue"),
    ({"RuleNumber": 7, "Protocol": "tcp-ish"}, "InvalidParameterValue"),
    ({"RuleNumber": 7, "RuleAction": "maybe"}, "InvalidParameterValue"),
    ({"RuleNumber": 7, "CidrBlock": "10.0.0.300/8"}, "InvalidParameterValue"),
    ({"RuleNumber": 7, "Protocol": "6"}, "MissingParameter"),
    ({"RuleNumber": 7, "Protocol": "6", "PortRange": {"From": 90, "To": 80}}, "InvalidParameterValue"),
    ({"RuleNumber": 7, "Ipv6CidrBlock": "::/0"}, "InvalidParameterValue"),
    ({"RuleNumber": 7, "NetworkAclId": "acl-12345678"}, "InvalidNetworkAclID.NotFound"),
])
def test_entry_errors(gateway_server: GatewayServer, new_user: Callable[[], Keys], kw: dict, code: str) -> None:
    ec2 = _errors_client(gateway_server, new_user)
    args = {"NetworkAclId": ec2.acl_id, "Protocol": "-1", "RuleAction": "allow", "Egress": False,
            "CidrBlock": "0.0.0.0/0", **kw}
    with ec2.failure() as failure:
        ec2.client.create_network_acl_entry(**args)
    assert failure.value.code == code


_ERRORS: dict[str, Any] = {}


def _errors_client(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> Any:
    """One user and default ACL for every error case (made once)."""
    if "client" not in _ERRORS:
        ec2 = EC2Client("boto3", gateway_server, new_user())
        vpc_id, _ = _vpc_and_subnet(ec2.client, "10.61.0.0/16")
        [acl] = ec2.client.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["NetworkAcls"]
        ec2.acl_id = acl["NetworkAclId"]  # type: ignore[attr-defined]
        _ERRORS["client"] = ec2
    return _ERRORS["client"]


def test_entry_and_association_not_found(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    ec2 = _errors_client(gateway_server, new_user)
    with ec2.failure() as failure:
        ec2.client.delete_network_acl_entry(NetworkAclId=ec2.acl_id, RuleNumber=55, Egress=True)
    assert failure.value.code == "InvalidNetworkAclEntry.NotFound"
    with ec2.failure() as failure:
        ec2.client.replace_network_acl_association(AssociationId="aclassoc-12345678", NetworkAclId=ec2.acl_id)
    assert failure.value.code == "InvalidAssociationID.NotFound"


def test_editing_the_default_moves_its_subnets_onto_it(gateway_server: GatewayServer,
                                                       new_user: Callable[[], Keys]) -> None:
    """A subnet made on CloudStack's global default_allow is shown in its VPC's default ACL; once that ACL is
    edited the tier is on it in CloudStack too, so the edit is enforced."""
    ec2 = _errors_client(gateway_server, new_user)
    ec2.client.replace_network_acl_entry(NetworkAclId=ec2.acl_id, RuleNumber=100, Protocol="-1",
                                         RuleAction="allow", Egress=True, CidrBlock="10.0.0.0/8")
    _, found = gateway_server.cloudstack("admin", "listNetworks", listall=True, keyword="10.61.1.0/24")
    [tier] = [n for n in found["network"] if n.get("cidr") == "10.61.1.0/24"]
    _, lists = gateway_server.cloudstack("admin", "listNetworkACLLists", id=tier["aclid"], listall=True)
    assert [a["name"] for a in lists["networkacllist"]] == ["ec2_default"]
    _, items = gateway_server.cloudstack("admin", "listNetworkACLs", aclid=tier["aclid"], traffictype="Egress",
                                           listall=True)
    assert sorted((i["number"], i["action"], i["cidrlist"]) for i in items["networkacl"]) == [
        (201, "Allow", "10.0.0.0/8"), (65535, "Deny", "0.0.0.0/0")]


def test_network_acls_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc_id = cli.cli("create-vpc", "--cidr-block", "172.20.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc_id)
    acl_id = cli.cli("create-network-acl", "--vpc-id", vpc_id)["NetworkAcl"]["NetworkAclId"]
    cli.cli("create-network-acl-entry", "--network-acl-id", acl_id, "--rule-number", "120", "--protocol", "tcp",
            "--rule-action", "allow", "--ingress", "--cidr-block", "10.1.0.0/16", "--port-range", "From=443,To=443")
    cli.cli("create-network-acl-entry", "--network-acl-id", acl_id, "--rule-number", "120", "--protocol", "-1",
            "--rule-action", "deny", "--egress", "--cidr-block", "0.0.0.0/0")
    found = cli.cli("describe-network-acls", "--filters", f"Name=vpc-id,Values={vpc_id}")["NetworkAcls"]
    assert sorted((a["NetworkAclId"] == acl_id, a["IsDefault"]) for a in found) == [(False, True), (True, False)]
    [mine] = [a for a in found if a["NetworkAclId"] == acl_id]
    assert _brief(mine["Entries"]) == [
        (120, False, "6", "allow", "10.1.0.0/16", {"From": 443, "To": 443}, None),
        (32767, False, "-1", "deny", "0.0.0.0/0", None, None),
        (120, True, "-1", "deny", "0.0.0.0/0", None, None), (32767, True, "-1", "deny", "0.0.0.0/0", None, None)]
    cli.cli("delete-network-acl-entry", "--network-acl-id", acl_id, "--rule-number", "120", "--egress")
    cli.cli("delete-network-acl", "--network-acl-id", acl_id)
    left = cli.cli("describe-network-acls", "--filters", f"Name=vpc-id,Values={vpc_id}")["NetworkAcls"]
    assert [a["IsDefault"] for a in left] == [True]
