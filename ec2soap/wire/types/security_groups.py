"""Security group shapes (EC2 2010-11-15: Create/Delete/DescribeSecurityGroups, Authorize/RevokeSecurityGroupIngress).

Group ids, egress permissions and the Egress actions came with EC2 API 2011-01-01 (VPC security groups); tags on
groups and MaxResults/NextToken came later.
"""
from ec2soap.wire.inputs import In, request, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, PAGES, RESOURCE_TAG_SET, SOAP_FILTERS, tag_specifications

VPC_GROUPS = "2011-01-01"
GROUP_TAGS = "2011-01-01"
GROUP_PAGES = "2016-11-15"

USER_ID_GROUP_PAIR = Struct("UserIdGroupPairType", (
    field_("userId"), field_("groupName"), field_("groupId", optional=True, since=VPC_GROUPS)))
IP_RANGE = Struct("IpRangeItemType", (field_("cidrIp"),))
IP_PERMISSION = Struct("IpPermissionType", (
    field_("ipProtocol"), field_("fromPort", "int"), field_("toPort", "int"),
    field_("groups", ListOf("UserIdGroupPairSetType", USER_ID_GROUP_PAIR)),
    field_("ipRanges", ListOf("IpRangeSetType", IP_RANGE))))
IP_PERMISSION_SET = ListOf("IpPermissionSetType", IP_PERMISSION)
SECURITY_GROUP_ITEM = Struct("SecurityGroupItemType", (
    field_("ownerId"), field_("groupName"), field_("groupDescription"), field_("ipPermissions", IP_PERMISSION_SET),
    field_("groupId", optional=True, since=VPC_GROUPS),
    field_("ipPermissionsEgress", IP_PERMISSION_SET, optional=True, since=VPC_GROUPS),
    field_("vpcId", optional=True, since=VPC_GROUPS),
    field_("tagSet", RESOURCE_TAG_SET, attr="tags", optional=True, since=GROUP_TAGS)))

register("DescribeSecurityGroups", Struct("DescribeSecurityGroupsResponseType", (
    REQUEST_ID, field_("securityGroupInfo", ListOf("SecurityGroupSetType", SECURITY_GROUP_ITEM), attr="items"),
    field_("nextToken", optional=True, since=GROUP_PAGES))))
register("CreateSecurityGroup", Struct("CreateSecurityGroupResponseType", (
    REQUEST_ID, field_("return", "boolean", attr="ok"), field_("groupId", optional=True, since=VPC_GROUPS))))
register("DeleteSecurityGroup", Struct("DeleteSecurityGroupResponseType", (REQUEST_ID, RETURN)))
register("AuthorizeSecurityGroupIngress", Struct("AuthorizeSecurityGroupIngressResponseType", (REQUEST_ID, RETURN)))
register("RevokeSecurityGroupIngress", Struct("RevokeSecurityGroupIngressResponseType", (REQUEST_ID, RETURN)))
register("AuthorizeSecurityGroupEgress", Struct("AuthorizeSecurityGroupEgressResponseType", (REQUEST_ID, RETURN)))
register("RevokeSecurityGroupEgress", Struct("RevokeSecurityGroupEgressResponseType", (REQUEST_ID, RETURN)))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
request("DescribeSecurityGroups", In("group_names", "list", soap="securityGroupSet.groupName"),
        In("group_ids", "list", query="GroupId", default=[]), FILTERS, *PAGES, soap=(
            field_("securityGroupSet", soap_set("DescribeSecurityGroupsSetType", "DescribeSecurityGroupsSetItemType",
                                                field_("groupName"))), SOAP_FILTERS))
request("CreateSecurityGroup", In("group_name", soap="groupName", required=True),
        In("group_description", soap="groupDescription", required=True), tag_specifications("tags", "security-group"),
        In("vpc_id", query="VpcId", blank_none=True),
        soap=(field_("groupName"), field_("groupDescription")))
request("DeleteSecurityGroup", In("group_name", soap="groupName", required="soap"), In("group_id", query="GroupId"),
        soap=(field_("groupName"),))

# By name in 2010-11-15 (group ids came with 2011-01-01). The request's userId is the caller's own account in
# EC2; the caller's keys already say who that is, so it is not read.
SOAP_IP_PERMISSION_SET = soap_set(
    "IpPermissionSetType", "IpPermissionType", field_("ipProtocol"), field_("fromPort", "int"), field_("toPort", "int"),
    field_("groups", soap_set("UserIdGroupPairSetType", "UserIdGroupPairType", field_("userId"), field_("groupName"))),
    field_("ipRanges", soap_set("IpRangeSetType", "IpRangeItemType", field_("cidrIp"))))
# IpPermissions.N… or the flat form boto 2's deprecated calls send (query/bindings/security_groups.py).
_PERMISSIONS = In("ip_permissions", "convert", query=None, convert="ip_permissions", aliases=(
    "IpPermissions.N.IpProtocol", "IpPermissions.N.FromPort", "IpPermissions.N.ToPort",
    "IpPermissions.N.Groups.N.UserId", "IpPermissions.N.Groups.N.GroupName", "IpPermissions.N.Groups.N.GroupId",
    "IpPermissions.N.IpRanges.N.CidrIp", "IpProtocol", "FromPort", "ToPort", "CidrIp", "SourceSecurityGroupName",
    "SourceSecurityGroupOwnerId"))
_RULES = (In("group_name", soap="groupName", required="soap"), In("group_id", query="GroupId"), _PERMISSIONS)
_RULES_SOAP = (field_("userId"), field_("groupName"), field_("ipPermissions", SOAP_IP_PERMISSION_SET))
request("AuthorizeSecurityGroupIngress", *_RULES, soap=_RULES_SOAP)
request("RevokeSecurityGroupIngress", *_RULES, soap=_RULES_SOAP)
# Egress rules came with VPC security groups (2011-01-01), by group id; we also read a GroupName, which
# botocore never sends (an older form, kept as the Query binding read it).
_EGRESS = (In("group_name", query="GroupName", aliases=("GroupName",)), In("group_id", query="GroupId"), _PERMISSIONS)
request("AuthorizeSecurityGroupEgress", *_EGRESS, since="2011-01-01")
request("RevokeSecurityGroupEgress", *_EGRESS, since="2011-01-01")
