"""Image shapes (EC2 2010-11-15: DescribeImages, CreateImage, RegisterImage, DeregisterImage and the image
attributes). Later additions carry `since`."""
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import RESOURCE_TAG_SET, STATE_REASON

# EC2 API versions that added elements we fill in.
CREATION_DATE_SINCE = "2016-09-15"
PAGINATION_SINCE = "2016-11-15"

PRODUCT_CODES_SET = ListOf("ProductCodesSetType", Struct("ProductCodesSetItemType", (field_("productCode"),)))
EBS_BLOCK_DEVICE = Struct("EbsBlockDeviceType", (
    field_("snapshotId", optional=True), field_("volumeSize", "int", optional=True),
    field_("deleteOnTermination", "boolean", optional=True)))
# xs:choice of virtualName / ebs / noDevice: each optional, one given.
BLOCK_DEVICE_MAPPING_ITEM = Struct("BlockDeviceMappingItemType", (
    field_("deviceName"), field_("virtualName", optional=True), field_("ebs", EBS_BLOCK_DEVICE, optional=True),
    field_("noDevice", Struct("EmptyElementType", ()), optional=True)))
BLOCK_DEVICE_MAPPING = ListOf("BlockDeviceMappingType", BLOCK_DEVICE_MAPPING_ITEM)

IMAGE_ITEM = Struct("DescribeImagesResponseItemType", (
    field_("imageId"),
    field_("imageLocation", optional=True),
    field_("imageState"),
    field_("imageOwnerId"),
    field_("isPublic", "boolean"),
    field_("productCodes", PRODUCT_CODES_SET, optional=True),
    field_("architecture", optional=True),
    field_("imageType", optional=True),
    field_("kernelId", optional=True),
    field_("ramdiskId", optional=True),
    field_("platform", optional=True),
    field_("stateReason", STATE_REASON, optional=True),
    field_("imageOwnerAlias", optional=True),
    field_("name", optional=True),
    field_("description", optional=True),
    field_("rootDeviceType", optional=True),
    field_("rootDeviceName", optional=True),
    field_("blockDeviceMapping", BLOCK_DEVICE_MAPPING, optional=True),
    field_("virtualizationType", optional=True),
    field_("tagSet", RESOURCE_TAG_SET, optional=True),
    field_("hypervisor", optional=True),
    field_("creationDate", "dateTime", optional=True, since=CREATION_DATE_SINCE),
))

register("DescribeImages", Struct("DescribeImagesResponseType", (
    REQUEST_ID, field_("imagesSet", ListOf("DescribeImagesResponseInfoType", IMAGE_ITEM), attr="images"),
    field_("nextToken", optional=True, since=PAGINATION_SINCE))))
register("CreateImage", Struct("CreateImageResponseType", (REQUEST_ID, field_("imageId", attr="."))))
register("RegisterImage", Struct("RegisterImageResponseType", (REQUEST_ID, field_("imageId", attr="."))))
register("DeregisterImage", Struct("DeregisterImageResponseType", (REQUEST_ID, RETURN)))

# xs:choice of userId / group.
LAUNCH_PERMISSION_ITEM = Struct("LaunchPermissionItemType", (
    field_("userId", optional=True), field_("group", optional=True)))
NULLABLE_VALUE = Struct("NullableAttributeValueType", (field_("value", optional=True),))
PRODUCT_CODE_LIST = ListOf("ProductCodeListType", Struct("ProductCodeItemType", (field_("productCode"),)))

# The attributes are an xs:choice: exactly one is set on the model object.
register("DescribeImageAttribute", Struct("DescribeImageAttributeResponseType", (
    REQUEST_ID, field_("imageId"),
    field_("launchPermission", ListOf("LaunchPermissionListType", LAUNCH_PERMISSION_ITEM), optional=True),
    field_("productCodes", PRODUCT_CODE_LIST, optional=True),
    field_("kernel", NULLABLE_VALUE, optional=True),
    field_("ramdisk", NULLABLE_VALUE, optional=True),
    field_("description", NULLABLE_VALUE, optional=True),
    field_("blockDeviceMapping", BLOCK_DEVICE_MAPPING, optional=True))))
register("ModifyImageAttribute", Struct("ModifyImageAttributeResponseType", (REQUEST_ID, RETURN)))
register("ResetImageAttribute", Struct("ResetImageAttributeResponseType", (REQUEST_ID, RETURN)))
