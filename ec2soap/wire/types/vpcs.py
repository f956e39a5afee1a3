"""VPC and subnet shapes (EC2 2010-11-15: CreateVpc, DeleteVpc, DescribeVpcs, CreateSubnet, DeleteSubnet,
DescribeSubnets). Later API versions added
instanceTenancy (2011-01-01), isDefault (2013-02-01), ownerId and cidrBlockAssociationSet (named here under
2016-11-15), TagSpecification and DescribeVpcs' MaxResults/NextToken (Query only)."""
from ec2soap.wire.inputs import In, request, soap_opt, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, PAGES, RESOURCE_TAG_SET, SOAP_FILTERS, tag_specifications

CIDR_ASSOCIATION = Struct("VpcCidrBlockAssociationType", (
    field_("associationId"), field_("cidrBlock"),
    field_("cidrBlockState", Struct("VpcCidrBlockStateType", (field_("state"),)), attr="cidr_block_state")))

VPC = Struct("VpcType", (
    field_("vpcId"), field_("state", optional=True), field_("cidrBlock", optional=True),
    field_("dhcpOptionsId", optional=True),
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True),
    field_("instanceTenancy", optional=True, since="2011-01-01"),
    field_("isDefault", "boolean", optional=True, since="2013-02-01"),
    field_("ownerId", optional=True, since="2016-11-15"),
    field_("cidrBlockAssociationSet", ListOf("VpcCidrBlockAssociationSetType", CIDR_ASSOCIATION),
           attr="cidr_block_associations", optional=True, since="2016-11-15")))

register("CreateVpc", Struct("CreateVpcResponseType", (REQUEST_ID, field_("vpc", VPC, attr="."))))
register("DeleteVpc", Struct("DeleteVpcResponseType", (REQUEST_ID, RETURN)))
register("DescribeVpcs", Struct("DescribeVpcsResponseType", (
    REQUEST_ID, field_("vpcSet", ListOf("VpcSetType", VPC), attr="vpcs"),
    field_("nextToken", optional=True, since="2016-11-15"))))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
request("CreateVpc", In("cidr_block", soap="cidrBlock"), In("instance_tenancy", query="InstanceTenancy"),
        In("amazon_provided_ipv6", "bool", query="AmazonProvidedIpv6CidrBlock", default=False),
        tag_specifications("tags", "vpc"), soap=(field_("cidrBlock"),))
request("DeleteVpc", In("vpc_id", soap="vpcId", required=True), soap=(field_("vpcId"),))
request("DescribeVpcs", In("vpc_ids", "list", query="VpcId", soap="vpcSet.vpcId"), FILTERS, *PAGES, soap=(
    soap_opt("vpcSet", soap_set("VpcIdSetType", "VpcIdSetItemType", field_("vpcId"))), SOAP_FILTERS))

# -- subnets ------------------------------------------------------------------------------------------------
SUBNET = Struct("SubnetType", (
    field_("subnetId"), field_("state", optional=True), field_("vpcId", optional=True),
    field_("cidrBlock", optional=True), field_("availableIpAddressCount", "int", optional=True),
    field_("availabilityZone", optional=True),
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True),
    field_("defaultForAz", "boolean", optional=True, since="2013-02-01"),
    field_("mapPublicIpOnLaunch", "boolean", optional=True, since="2014-06-15"),
    field_("ownerId", optional=True, since="2016-11-15")))

register("CreateSubnet", Struct("CreateSubnetResponseType", (REQUEST_ID, field_("subnet", SUBNET, attr="."))))
register("DeleteSubnet", Struct("DeleteSubnetResponseType", (REQUEST_ID, RETURN)))
register("DescribeSubnets", Struct("DescribeSubnetsResponseType", (
    REQUEST_ID, field_("subnetSet", ListOf("SubnetSetType", SUBNET), attr="subnets"),
    field_("nextToken", optional=True, since="2016-11-15"))))

request("CreateSubnet", In("vpc_id", soap="vpcId", required=True), In("cidr_block", soap="cidrBlock"),
        In("availability_zone", soap="availabilityZone", blank_none=True), tag_specifications("tags", "subnet"),
        soap=(field_("vpcId"), field_("cidrBlock"), soap_opt("availabilityZone")))
request("DeleteSubnet", In("subnet_id", soap="subnetId", required=True), soap=(field_("subnetId"),))
request("DescribeSubnets", In("subnet_ids", "list", query="SubnetId", soap="subnetSet.subnetId"), FILTERS, *PAGES,
        soap=(soap_opt("subnetSet", soap_set("SubnetIdSetType", "SubnetIdSetItemType", field_("subnetId"))),
              SOAP_FILTERS))

# -- VPC attributes (2012-12-01, Query only) ---------------------------------------------------------------------
BOOLEAN_VALUE = Struct("AttributeBooleanValueType", (field_("value", "boolean"),))
register("DescribeVpcAttribute", Struct("DescribeVpcAttributeResponseType", (
    REQUEST_ID, field_("vpcId"), field_("enableDnsSupport", BOOLEAN_VALUE, optional=True),
    field_("enableDnsHostnames", BOOLEAN_VALUE, optional=True),
    field_("enableNetworkAddressUsageMetrics", BOOLEAN_VALUE, optional=True))))
register("ModifyVpcAttribute", Struct("ModifyVpcAttributeResponseType", (REQUEST_ID, RETURN)))
request("DescribeVpcAttribute", In("vpc_id", query="VpcId", required=True),
        In("attribute", "choice", query="Attribute", required=True,
           choices=("enableDnsSupport", "enableDnsHostnames", "enableNetworkAddressUsageMetrics")),
        since="2012-12-01")
request("ModifyVpcAttribute", In("vpc_id", query="VpcId", required=True),
        In("enable_dns_support", "bool", query="EnableDnsSupport.Value"),
        In("enable_dns_hostnames", "bool", query="EnableDnsHostnames.Value"),
        In("enable_network_address_usage_metrics", "bool", query="EnableNetworkAddressUsageMetrics.Value"),
        since="2012-12-01")
