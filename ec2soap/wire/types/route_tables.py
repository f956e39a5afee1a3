"""EC2-VPC route table shapes (EC2 2011-01-01, Query only: CreateRouteTable, DeleteRouteTable, DescribeRouteTables,
CreateRoute, ReplaceRoute, DeleteRoute, AssociateRouteTable, DisassociateRouteTable, ReplaceRouteTableAssociation).
Later elements are named under the version that brought them: route origin (2013-10-15), ownerId, the
association state and DescribeRouteTables' MaxResults/NextToken (2016-11-15, as the VPC shapes do)."""
from ec2soap.wire.inputs import In, request
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, PAGES, RESOURCE_TAG_SET, tag_specifications

_SINCE = "2011-01-01"
_LATER = "2016-11-15"

ROUTE = Struct("RouteType", (
    field_("destinationCidrBlock"), field_("gatewayId", optional=True), field_("state", optional=True),
    field_("origin", optional=True, since="2013-10-15")))
ASSOCIATION_STATE = Struct("RouteTableAssociationStateType", (field_("state"),))
ASSOCIATION = Struct("RouteTableAssociationType", (
    field_("routeTableAssociationId"), field_("routeTableId", optional=True), field_("subnetId", optional=True),
    field_("main", "boolean", optional=True),
    field_("associationState", ASSOCIATION_STATE, optional=True, since=_LATER)))
ROUTE_TABLE = Struct("RouteTableType", (
    field_("routeTableId"), field_("vpcId"),
    field_("routeSet", ListOf("RouteSetType", ROUTE), attr="routes"),
    field_("associationSet", ListOf("RouteTableAssociationSetType", ASSOCIATION), attr="associations"),
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True),
    field_("ownerId", optional=True, since=_LATER)))

register("CreateRouteTable", Struct("CreateRouteTableResponseType", (
    REQUEST_ID, field_("routeTable", ROUTE_TABLE), field_("clientToken", optional=True, since=_LATER))))
register("DeleteRouteTable", Struct("DeleteRouteTableResponseType", (REQUEST_ID, RETURN)))
register("DescribeRouteTables", Struct("DescribeRouteTablesResponseType", (
    REQUEST_ID, field_("routeTableSet", ListOf("RouteTableSetType", ROUTE_TABLE), attr="route_tables"),
    field_("nextToken", optional=True, since=_LATER))))
register("AssociateRouteTable", Struct("AssociateRouteTableResponseType", (
    REQUEST_ID, field_("associationId"), field_("associationState", ASSOCIATION_STATE, since=_LATER))))
register("DisassociateRouteTable", Struct("DisassociateRouteTableResponseType", (REQUEST_ID, RETURN)))
register("ReplaceRouteTableAssociation", Struct("ReplaceRouteTableAssociationResponseType", (
    REQUEST_ID, field_("newAssociationId"), field_("associationState", ASSOCIATION_STATE, since=_LATER))))
for _action in ("CreateRoute", "ReplaceRoute", "DeleteRoute"):
    register(_action, Struct(f"{_action}ResponseType", (REQUEST_ID, RETURN)))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
_RTB = In("route_table_id", query="RouteTableId", required=True)
_DESTINATIONS = (In("destination_cidr_block", query="DestinationCidrBlock"),
                 In("destination_ipv6_cidr_block", query="DestinationIpv6CidrBlock"),
                 In("destination_prefix_list_id", query="DestinationPrefixListId"))
_TARGETS = tuple(In(kw, query=name) for kw, name in (
    ("gateway_id", "GatewayId"), ("nat_gateway_id", "NatGatewayId"), ("instance_id", "InstanceId"),
    ("network_interface_id", "NetworkInterfaceId"), ("vpc_peering_connection_id", "VpcPeeringConnectionId"),
    ("transit_gateway_id", "TransitGatewayId"), ("local_gateway_id", "LocalGatewayId"),
    ("carrier_gateway_id", "CarrierGatewayId"), ("egress_only_internet_gateway_id", "EgressOnlyInternetGatewayId"),
    ("vpc_endpoint_id", "VpcEndpointId"), ("core_network_arn", "CoreNetworkArn"),
    ("odb_network_arn", "OdbNetworkArn")))

request("CreateRouteTable", In("vpc_id", query="VpcId", required=True), tag_specifications("tags", "route-table"),
        In("client_token", query="ClientToken", blank_none=True), since=_SINCE)
request("DeleteRouteTable", _RTB, since=_SINCE)
request("DescribeRouteTables", In("route_table_ids", "list", query="RouteTableId"), FILTERS, *PAGES, since=_SINCE)
request("CreateRoute", _RTB, *_DESTINATIONS, *_TARGETS, since=_SINCE)
request("ReplaceRoute", _RTB, *_DESTINATIONS, In("local_target", "bool", query="LocalTarget"), *_TARGETS,
        since=_SINCE)
request("DeleteRoute", _RTB, *_DESTINATIONS, since=_SINCE)
request("AssociateRouteTable", _RTB, In("subnet_id", query="SubnetId"), In("gateway_id", query="GatewayId"),
        In("public_ipv4_pool", query="PublicIpv4Pool"), since=_SINCE)
request("DisassociateRouteTable", In("association_id", query="AssociationId", required=True), since=_SINCE)
request("ReplaceRouteTableAssociation", In("association_id", query="AssociationId", required=True), _RTB,
        since=_SINCE)
