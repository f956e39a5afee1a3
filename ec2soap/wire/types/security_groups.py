"""Security group shapes (EC2 2010-11-15: Create/Delete/DescribeSecurityGroups, Authorize/RevokeSecurityGroupIngress).

Group ids, egress permissions and the Egress actions came with EC2 API 2011-01-01 (VPC security groups); tags on
groups and MaxResults/NextToken came later.
"""
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import RESOURCE_TAG_SET

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
