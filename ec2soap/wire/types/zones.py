"""Zone, region and account attribute shapes (EC2 2010-11-15: DescribeAvailabilityZones, DescribeRegions;
DescribeAccountAttributes is a later action, named as in later EC2 WSDLs)."""
from ec2soap.wire.inputs import In, request, soap_set
from ec2soap.wire.shapes import REQUEST_ID, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, SOAP_FILTERS

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

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
request("DescribeAvailabilityZones", In("zone_names", "list", soap="availabilityZoneSet.zoneName"), FILTERS, soap=(
    field_("availabilityZoneSet", soap_set("DescribeAvailabilityZonesSetType", "DescribeAvailabilityZonesSetItemType",
                                           field_("zoneName"))), SOAP_FILTERS))
request("DescribeRegions", In("region_names", "list", soap="regionSet.regionName"), FILTERS, soap=(
    field_("regionSet", soap_set("DescribeRegionsSetType", "DescribeRegionsSetItemType", field_("regionName"))),
    SOAP_FILTERS))
request("DescribeAccountAttributes", In("attribute_names", "list", query="AttributeName"), since="2012-12-01")
