"""EC2-VPC route tables over the simulator's advanced zone: boto3 and awscli for the round trip, boto3 for the
errors and the refused targets, static routes to an operator's private gateway, a second user who sees nothing."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import available_vpc, EC2Client, GatewayServer, Keys, serve_gateway
from tests.unit.cloudstack.simulator.vpc_world import private_gateway


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "rtbs", simulator_advanced_zone=True)


@pytest.fixture
def boto3_ec2(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> EC2Client:
    return EC2Client("boto3", gateway_server, new_user())


def _igw(client: Any, vpc_id: str) -> str:
    igw = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    client.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    return igw


def _tables(client: Any, **filters: list[str]) -> list[str]:
    found = client.describe_route_tables(Filters=[{"Name": k.replace("_", "-").replace("--", "."), "Values": v}
                                                  for k, v in filters.items()])
    return sorted(t["RouteTableId"] for t in found["RouteTables"])


def _fails(ec2: EC2Client, call: Callable[..., Any], **kw: Any) -> Any:
    with ec2.failure() as failure:
        call(**kw)
    return failure.value


def test_route_table_round_trip_boto3(boto3_ec2: EC2Client, gateway_server: GatewayServer,
                                      new_user: Callable[[], Keys]) -> None:
    client = boto3_ec2.client
    vpc_id = available_vpc(client, "10.70.0.0/16")
    subnet = client.create_subnet(VpcId=vpc_id, CidrBlock="10.70.1.0/24")["Subnet"]["SubnetId"]
    igw = _igw(client, vpc_id)
    # The VPC's main table, made when first seen: the local route and the main association.
    [main] = client.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    assert main["VpcId"] == vpc_id and main["RouteTableId"].startswith("rtb-") and main["OwnerId"]
    assert main["Routes"] == [{"DestinationCidrBlock": "10.70.0.0/16", "GatewayId": "local", "State": "active",
                               "Origin": "CreateRouteTable"}]
    [main_assoc] = main["Associations"]
    assert main_assoc["Main"] is True and "SubnetId" not in main_assoc
    assert main_assoc["RouteTableAssociationId"].startswith("rtbassoc-")
    made = client.create_route_table(VpcId=vpc_id, ClientToken="tok-1", TagSpecifications=[
        {"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "public"}]}])
    custom = made["RouteTable"]["RouteTableId"]
    assert made["ClientToken"] == "tok-1" and made["RouteTable"]["Tags"] == [{"Key": "Name", "Value": "public"}]
    assert made["RouteTable"]["Associations"] == [] and len(made["RouteTable"]["Routes"]) == 1
    assert client.create_route_table(VpcId=vpc_id, ClientToken="tok-1", TagSpecifications=[
        {"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "public"}]}])[
        "RouteTable"]["RouteTableId"] == custom
    client.create_route(RouteTableId=custom, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    assoc = client.associate_route_table(RouteTableId=custom, SubnetId=subnet)
    assert assoc["AssociationId"].startswith("rtbassoc-") and assoc["AssociationState"]["State"] == "associated"
    [shown] = client.describe_route_tables(RouteTableIds=[custom])["RouteTables"]
    assert shown["Routes"][1] == {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": igw, "State": "active",
                                  "Origin": "CreateRoute"}
    assert [(a["SubnetId"], a["Main"], a["RouteTableAssociationId"]) for a in shown["Associations"]] == [
        (subnet, False, assoc["AssociationId"])]
    for name, values, wanted in (("association.subnet-id", [subnet], [custom]),
                                 ("association.main", ["true"], [main["RouteTableId"]]),
                                 ("route.gateway-id", [igw], [custom]), ("route.destination-cidr-block",
                                                                         ["0.0.0.0/0"], [custom]),
                                 ("tag:Name", ["public"], [custom]), ("route-table-id", [custom], [custom]),
                                 ("association.route-table-association-id", [assoc["AssociationId"]], [custom])):
        found = client.describe_route_tables(Filters=[{"Name": name, "Values": values},
                                                      {"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
        assert [t["RouteTableId"] for t in found] == wanted, name
    # What EC2 refuses, and what the cloud could not honour.
    assert _fails(boto3_ec2, client.create_route, RouteTableId=custom, DestinationCidrBlock="0.0.0.0/0",
                  GatewayId=igw).code == "RouteAlreadyExists"
    assert _fails(boto3_ec2, client.associate_route_table, RouteTableId=main["RouteTableId"],
                  SubnetId=subnet).code == "Resource.AlreadyAssociated"
    assert _fails(boto3_ec2, client.delete_route_table, RouteTableId=custom).code == "DependencyViolation"
    assert _fails(boto3_ec2, client.delete_route_table,
                  RouteTableId=main["RouteTableId"]).code == "DependencyViolation"
    assert _fails(boto3_ec2, client.delete_route, RouteTableId=custom,
                  DestinationCidrBlock="10.70.0.0/16").code == "InvalidParameterValue"
    assert _fails(boto3_ec2, client.detach_internet_gateway, InternetGatewayId=igw,
                  VpcId=vpc_id).code == "DependencyViolation"
    assert _fails(boto3_ec2, client.disassociate_route_table,
                  AssociationId=main_assoc["RouteTableAssociationId"]).code == "InvalidParameterValue"
    other = EC2Client("boto3", gateway_server, new_user())
    assert other.client.describe_route_tables()["RouteTables"] == []
    assert _fails(other, other.client.describe_route_tables,
                  RouteTableIds=[custom]).code == "InvalidRouteTableID.NotFound"
    assert _fails(other, other.client.disassociate_route_table,
                  AssociationId=assoc["AssociationId"]).code == "InvalidAssociationID.NotFound"
    # The custom table becomes the main one; the subnet moves back to the (old) main table.
    new_main = client.replace_route_table_association(AssociationId=main_assoc["RouteTableAssociationId"],
                                                      RouteTableId=custom)["NewAssociationId"]
    assert _tables(client, association__main=["true"], vpc_id=[vpc_id]) == [custom]
    moved = client.replace_route_table_association(AssociationId=assoc["AssociationId"],
                                                   RouteTableId=main["RouteTableId"])["NewAssociationId"]
    assert _tables(client, association__subnet_id=[subnet]) == [main["RouteTableId"]]
    client.replace_route_table_association(AssociationId=new_main, RouteTableId=main["RouteTableId"])
    client.disassociate_route_table(AssociationId=moved)
    client.replace_route(RouteTableId=custom, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    client.delete_route(RouteTableId=custom, DestinationCidrBlock="0.0.0.0/0")
    assert _fails(boto3_ec2, client.delete_route, RouteTableId=custom,
                  DestinationCidrBlock="0.0.0.0/0").code == "InvalidRoute.NotFound"
    client.delete_route_table(RouteTableId=custom)
    assert _tables(client, vpc_id=[vpc_id]) == [main["RouteTableId"]]
    client.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)


def test_route_tables_through_awscli(gateway_server: GatewayServer, new_user: Callable[[], Keys]) -> None:
    cli = EC2Client("awscli", gateway_server, new_user())
    vpc_id = cli.cli("create-vpc", "--cidr-block", "10.71.0.0/16")["Vpc"]["VpcId"]
    cli.cli("wait", "vpc-available", "--vpc-ids", vpc_id)
    subnet = cli.cli("create-subnet", "--vpc-id", vpc_id, "--cidr-block", "10.71.1.0/24")["Subnet"]["SubnetId"]
    igw = cli.cli("create-internet-gateway")["InternetGateway"]["InternetGatewayId"]
    cli.cli("attach-internet-gateway", "--internet-gateway-id", igw, "--vpc-id", vpc_id)
    rtb = cli.cli("create-route-table", "--vpc-id", vpc_id)["RouteTable"]["RouteTableId"]
    assert cli.cli("create-route", "--route-table-id", rtb, "--destination-cidr-block", "0.0.0.0/0",
                   "--gateway-id", igw)["Return"] is True
    assoc = cli.cli("associate-route-table", "--route-table-id", rtb, "--subnet-id", subnet)["AssociationId"]
    [table] = cli.cli("describe-route-tables", "--route-table-ids", rtb)["RouteTables"]
    assert [(r["DestinationCidrBlock"], r["GatewayId"]) for r in table["Routes"]] == [
        ("10.71.0.0/16", "local"), ("0.0.0.0/0", igw)]
    assert [a["SubnetId"] for a in table["Associations"]] == [subnet]
    cli.cli("disassociate-route-table", "--association-id", assoc)
    cli.cli("delete-route", "--route-table-id", rtb, "--destination-cidr-block", "0.0.0.0/0")
    cli.cli("delete-route-table", "--route-table-id", rtb)
    found = cli.cli("describe-route-tables", "--filters", f"Name=vpc-id,Values={vpc_id}")["RouteTables"]
    assert [t["Associations"][0]["Main"] for t in found] == [True]
    with cli.failure() as failure:
        cli.cli("delete-route-table", "--route-table-id", rtb)
    assert failure.value.code == "InvalidRouteTableID.NotFound"


_REFUSED = [
    ({"NatGatewayId": "nat-0123456789abcdef0"}, "InvalidParameterValue"),
    ({"InstanceId": "i-0123456789abcdef0"}, "InvalidParameterValue"),
    ({"NetworkInterfaceId": "eni-0123456789abcdef0"}, "InvalidParameterValue"),
    ({"VpcPeeringConnectionId": "pcx-0123456789abcdef0"}, "InvalidParameterValue"),
    ({"GatewayId": "vgw-0123456789abcdef0"}, "InvalidParameterValue"),
    ({"GatewayId": "igw-0123456789abcdef0"}, "InvalidGatewayID.NotFound"),
    ({"GatewayId": "5b6c1d1e-8f7a-4a2b-9c3d-0e1f2a3b4c5d"}, "InvalidGatewayID.NotFound"),  # no private gateway
    ({"GatewayId": "<igw>", "DestinationCidrBlock": "10.72.3.0/24"}, "InvalidParameterValue"),  # inside the VPC
    ({"GatewayId": "<igw>", "DestinationIpv6CidrBlock": "::/0", "DestinationCidrBlock": None},
     "InvalidParameterValue"),
    ({"GatewayId": "<other-igw>"}, "InvalidParameterValue"),  # not attached to this VPC
    ({"GatewayId": "<igw>", "NatGatewayId": "nat-0123456789abcdef0"}, "InvalidParameterCombination"),
    ({}, "InvalidParameterCombination"),
]


def test_routes_the_cloud_cannot_carry_are_refused(boto3_ec2: EC2Client) -> None:
    client = boto3_ec2.client
    vpc_id = available_vpc(client, "10.72.0.0/16")
    igw = _igw(client, vpc_id)
    other_igw = client.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    rtb = client.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    for kw, code in _REFUSED:
        args = {"RouteTableId": rtb, "DestinationCidrBlock": "0.0.0.0/0", **kw}
        args = {k: {"<igw>": igw, "<other-igw>": other_igw}.get(v, v) for k, v in args.items() if v is not None}
        failure = _fails(boto3_ec2, client.create_route, **args)
        assert failure.code == code, (kw, failure.message)
    assert len(client.describe_route_tables(RouteTableIds=[rtb])["RouteTables"][0]["Routes"]) == 1


def test_static_routes_to_a_private_gateway(boto3_ec2: EC2Client, gateway_server: GatewayServer) -> None:
    client = boto3_ec2.client
    vpc_id = available_vpc(client, "10.73.0.0/16")
    igw = _igw(client, vpc_id)
    [listed] = [v for v in gateway_server.cloudstack("admin", "listVPCs", listall=True)[1]["vpc"]
                if v["cidr"] == "10.73.0.0/16" and v["account"] == boto3_ec2.keys.account]
    pgw = private_gateway(gateway_server.simulator, listed)["id"]
    custom = client.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    client.create_route(RouteTableId=custom, DestinationCidrBlock="192.168.0.0/16", GatewayId=pgw)
    def cloud_routes() -> list[dict]:
        return gateway_server.cloudstack("admin", "listStaticRoutes", vpcid=listed["id"], listall=True)[1].get(
            "staticroute", [])

    routes = cloud_routes()
    assert [(r["cidr"], r["gatewayid"], r["state"]) for r in routes] == [("192.168.0.0/16", pgw, "Active")]
    # CloudStack's VR applies it for every tier: every table of the VPC shows it.
    for table in client.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]:
        assert {"DestinationCidrBlock": "192.168.0.0/16", "GatewayId": pgw, "State": "active",
                "Origin": "CreateRoute"} in table["Routes"], table["RouteTableId"]
    # A route to the internet gateway the static route would take instead is refused; a wider one is not.
    assert _fails(boto3_ec2, client.create_route, RouteTableId=custom, DestinationCidrBlock="192.168.1.0/24",
                  GatewayId=igw).code == "InvalidParameterValue"
    assert _fails(boto3_ec2, client.create_route, RouteTableId=custom, DestinationCidrBlock="192.168.0.0/16",
                  GatewayId=pgw).code == "RouteAlreadyExists"
    # Replaced by a route to the internet gateway: the static route leaves CloudStack (and every table).
    main = next(t["RouteTableId"] for t in client.describe_route_tables(Filters=[
        {"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}])["RouteTables"])
    client.replace_route(RouteTableId=custom, DestinationCidrBlock="192.168.0.0/16", GatewayId=igw)
    assert cloud_routes() == []
    assert _routes(client, custom) == [("10.73.0.0/16", "local"), ("192.168.0.0/16", igw)]
    assert _routes(client, main) == [("10.73.0.0/16", "local")]
    # Back to the private gateway: refused while another table sends that traffic to the internet gateway.
    client.create_route(RouteTableId=main, DestinationCidrBlock="192.168.0.0/16", GatewayId=igw)
    assert _fails(boto3_ec2, client.replace_route, RouteTableId=custom, DestinationCidrBlock="192.168.0.0/16",
                  GatewayId=pgw).code == "InvalidParameterValue"
    client.delete_route(RouteTableId=main, DestinationCidrBlock="192.168.0.0/16")
    client.replace_route(RouteTableId=custom, DestinationCidrBlock="192.168.0.0/16", GatewayId=pgw)
    assert [r["cidr"] for r in cloud_routes()] == ["192.168.0.0/16"]
    assert _routes(client, custom) == [("10.73.0.0/16", "local"), ("192.168.0.0/16", pgw)]
    client.delete_route(RouteTableId=custom, DestinationCidrBlock="192.168.0.0/16")
    assert cloud_routes() == []
    assert _routes(client, custom) == [("10.73.0.0/16", "local")]


def _routes(client: Any, rtb: str) -> list[tuple[str, str]]:
    [table] = client.describe_route_tables(RouteTableIds=[rtb])["RouteTables"]
    return [(r["DestinationCidrBlock"], r["GatewayId"]) for r in table["Routes"]]
