"""Tag shapes (EC2 2010-11-15: CreateTags, DeleteTags, DescribeTags; MaxResults/NextToken came later)."""
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register

TAG_PAGES = "2013-10-15"

TAG_ITEM = Struct("TagSetItemType", (
    field_("resourceId", optional=True), field_("resourceType", optional=True), field_("key", optional=True),
    field_("value", optional=True)))

register("DescribeTags", Struct("DescribeTagsResponseType", (
    REQUEST_ID, field_("tagSet", ListOf("TagSetType", TAG_ITEM), attr="items"),
    field_("nextToken", optional=True, since=TAG_PAGES))))
register("CreateTags", Struct("CreateTagsResponseType", (REQUEST_ID, RETURN)))
register("DeleteTags", Struct("DeleteTagsResponseType", (REQUEST_ID, RETURN)))
