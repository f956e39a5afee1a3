"""Placement group shapes (EC2 2010-11-15: CreatePlacementGroup, DeletePlacementGroup, DescribePlacementGroups).
Later API versions added groupId, tagSet, partitionCount and spreadLevel (named here under 2016-11-15), and the
Query-only GroupId.N, PartitionCount, SpreadLevel and TagSpecification parameters."""
from ec2soap.wire.inputs import In, request, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, RESOURCE_TAG_SET, SOAP_FILTERS, tag_specifications

PLACEMENT_GROUP = Struct("PlacementGroupInfoType", (
    field_("groupName"), field_("strategy"), field_("state"),
    field_("groupId", optional=True, since="2016-11-15"),
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True, since="2016-11-15")))

register("CreatePlacementGroup", Struct("CreatePlacementGroupResponseType", (REQUEST_ID, RETURN)))
register("DeletePlacementGroup", Struct("DeletePlacementGroupResponseType", (REQUEST_ID, RETURN)))
register("DescribePlacementGroups", Struct("DescribePlacementGroupsResponseType", (
    REQUEST_ID, field_("placementGroupSet", ListOf("PlacementGroupSetType", PLACEMENT_GROUP), attr="."))))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
request("CreatePlacementGroup", In("group_name", soap="groupName", required=True), In("strategy", soap="strategy"),
        In("partition_count", "int", query="PartitionCount"), In("spread_level", query="SpreadLevel"),
        tag_specifications("tags", "placement-group"), soap=(field_("groupName"), field_("strategy")))
request("DeletePlacementGroup", In("group_name", soap="groupName", required=True), soap=(field_("groupName"),))
request("DescribePlacementGroups", In("group_names", "list", query="GroupName", soap="placementGroupSet.groupName"),
        In("group_ids", "list", query="GroupId", soap=None, default=[]), FILTERS, soap=(
            field_("placementGroupSet", soap_set("DescribePlacementGroupsInfoType", "DescribePlacementGroupItemType",
                                                 field_("groupName"))), SOAP_FILTERS))
