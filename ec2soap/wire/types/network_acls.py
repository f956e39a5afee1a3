"""Network ACL shapes (EC2 API 2011-01-01, Query only: the 2010-11-15 WSDL has none): Create/Delete/DescribeNetworkAcls,
Create/Replace/DeleteNetworkAclEntry, ReplaceNetworkAclAssociation. ownerId, MaxResults/NextToken and
TagSpecification came later (named here under 2016-11-15)."""
from ec2soap.wire.inputs import In, request
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, PAGES, RESOURCE_TAG_SET, tag_specifications

SINCE = "2011-01-01"
LATER = "2016-11-15"

ICMP = Struct("IcmpTypeCodeType", (field_("code", "int"), field_("type", "int")))
PORT_RANGE = Struct("PortRangeType", (field_("from", "int", attr="from_port"), field_("to", "int", attr="to_port")))
ENTRY = Struct("NetworkAclEntryType", (
    field_("ruleNumber", "int"), field_("protocol"), field_("ruleAction"), field_("egress", "boolean"),
    field_("cidrBlock"), field_("icmpTypeCode", ICMP, optional=True), field_("portRange", PORT_RANGE, optional=True)))
ASSOCIATION = Struct("NetworkAclAssociationType", (
    field_("networkAclAssociationId"), field_("networkAclId"), field_("subnetId")))
NETWORK_ACL = Struct("NetworkAclType", (
    field_("networkAclId"), field_("vpcId"), field_("default", "boolean", attr="is_default"),
    field_("entrySet", ListOf("NetworkAclEntrySetType", ENTRY), attr="entries"),
    field_("associationSet", ListOf("NetworkAclAssociationSetType", ASSOCIATION), attr="associations"),
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True),
    field_("ownerId", optional=True, since=LATER)))

register("CreateNetworkAcl", Struct("CreateNetworkAclResponseType", (
    REQUEST_ID, field_("networkAcl", NETWORK_ACL), field_("clientToken", optional=True, since=LATER))))
register("DeleteNetworkAcl", Struct("DeleteNetworkAclResponseType", (REQUEST_ID, RETURN)))
register("DescribeNetworkAcls", Struct("DescribeNetworkAclsResponseType", (
    REQUEST_ID, field_("networkAclSet", ListOf("NetworkAclSetType", NETWORK_ACL), attr="network_acls"),
    field_("nextToken", optional=True, since=LATER))))
register("CreateNetworkAclEntry", Struct("CreateNetworkAclEntryResponseType", (REQUEST_ID, RETURN)))
register("ReplaceNetworkAclEntry", Struct("ReplaceNetworkAclEntryResponseType", (REQUEST_ID, RETURN)))
register("DeleteNetworkAclEntry", Struct("DeleteNetworkAclEntryResponseType", (REQUEST_ID, RETURN)))
register("ReplaceNetworkAclAssociation", Struct("ReplaceNetworkAclAssociationResponseType", (
    REQUEST_ID, field_("newAssociationId"))))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
_ACL = In("network_acl_id", query="NetworkAclId", required=True)
_ENTRY = (_ACL, In("rule_number", "int", query="RuleNumber", required=True),
          In("protocol", query="Protocol", required=True), In("rule_action", query="RuleAction", required=True),
          In("egress", "bool", query="Egress", required=True, default=False), In("cidr_block", query="CidrBlock"),
          In("ipv6_cidr_block", query="Ipv6CidrBlock"), In("icmp_code", "int", query="Icmp.Code"),
          In("icmp_type", "int", query="Icmp.Type"), In("port_from", "int", query="PortRange.From"),
          In("port_to", "int", query="PortRange.To"))

request("CreateNetworkAcl", In("vpc_id", query="VpcId", required=True), In("client_token", query="ClientToken"),
        tag_specifications("tags", "network-acl"), since=SINCE)
request("DeleteNetworkAcl", _ACL, since=SINCE)
request("DescribeNetworkAcls", In("network_acl_ids", "list", query="NetworkAclId"), FILTERS, *PAGES, since=SINCE)
request("CreateNetworkAclEntry", *_ENTRY, since=SINCE)
request("ReplaceNetworkAclEntry", *_ENTRY, since=SINCE)
request("DeleteNetworkAclEntry", _ACL, In("rule_number", "int", query="RuleNumber", required=True),
        In("egress", "bool", query="Egress", required=True, default=False), since=SINCE)
request("ReplaceNetworkAclAssociation", In("association_id", query="AssociationId", required=True),
        In("network_acl_id", query="NetworkAclId", required=True), since=SINCE)
