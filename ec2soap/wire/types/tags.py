"""Tag shapes (EC2 2010-11-15: CreateTags, DeleteTags, DescribeTags; MaxResults/NextToken came later)."""
from ec2soap.wire.inputs import In, request, soap_opt, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, PAGES, RESOURCE_TAG_SET, SOAP_FILTERS

TAG_PAGES = "2013-10-15"

TAG_ITEM = Struct("TagSetItemType", (
    field_("resourceId", optional=True), field_("resourceType", optional=True), field_("key", optional=True),
    field_("value", optional=True)))

register("DescribeTags", Struct("DescribeTagsResponseType", (
    REQUEST_ID, field_("tagSet", ListOf("TagSetType", TAG_ITEM), attr="items"),
    field_("nextToken", optional=True, since=TAG_PAGES))))
register("CreateTags", Struct("CreateTagsResponseType", (REQUEST_ID, RETURN)))
register("DeleteTags", Struct("DeleteTagsResponseType", (REQUEST_ID, RETURN)))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
RESOURCE_ID_SET = soap_set("ResourceIdSetType", "ResourceIdSetItemType", field_("resourceId"))
_RESOURCE_IDS = In("resource_ids", "list", soap="resourcesSet.resourceId")
request("CreateTags", _RESOURCE_IDS, In("tags", "tags", query="Tag", soap="tagSet"),
        soap=(field_("resourcesSet", RESOURCE_ID_SET), field_("tagSet", RESOURCE_TAG_SET)))
request("DeleteTags", _RESOURCE_IDS, In("tags", "tags", query="Tag", soap="tagSet"), soap=(
    field_("resourcesSet", RESOURCE_ID_SET),
    field_("tagSet", soap_set("DeleteTagsSetType", "DeleteTagsSetItemType", soap_opt("key"), soap_opt("value")))))
request("DescribeTags", FILTERS, *PAGES, soap=(SOAP_FILTERS,))
