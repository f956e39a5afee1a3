"""Zone, region and account attribute shapes (EC2 2010-11-15: DescribeAvailabilityZones, DescribeRegions;
DescribeAccountAttributes is a later action, named as in later EC2 WSDLs)."""
from ec2soap.wire.shapes import REQUEST_ID, ListOf, Struct, field_, register

ZONE_ITEM = Struct("AvailabilityZoneItemType", (
    field_("zoneName"), field_("zoneState"), field_("regionName"),
    field_("messageSet", ListOf("AvailabilityZoneMessageSetType",
                                Struct("AvailabilityZoneMessageType", (field_("message", attr="."),))))))
register("DescribeAvailabilityZones", Struct("DescribeAvailabilityZonesResponseType", (
    REQUEST_ID, field_("availabilityZoneInfo", ListOf("AvailabilityZoneSetType", ZONE_ITEM), attr="."))))

REGION_ITEM = Struct("RegionItemType", (field_("regionName"), field_("regionEndpoint")))
register("DescribeRegions", Struct("DescribeRegionsResponseType", (
    REQUEST_ID, field_("regionInfo", ListOf("RegionSetType", REGION_ITEM), attr="."))))

ACCOUNT_ATTRIBUTE_ITEM = Struct("AccountAttributeSetItemType", (
    field_("attributeName"),
    field_("attributeValueSet", ListOf("AccountAttributeValueSetType",
                                       Struct("AccountAttributeValueSetItemType",
                                              (field_("attributeValue", attr="."),))))))
register("DescribeAccountAttributes", Struct("DescribeAccountAttributesResponseType", (
    REQUEST_ID, field_("accountAttributeSet", ListOf("AccountAttributeSetType", ACCOUNT_ATTRIBUTE_ITEM),
                       attr="."))))
