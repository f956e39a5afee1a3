"""Image shapes (EC2 2010-11-15: DescribeImages, CreateImage, RegisterImage, DeregisterImage and the image
attributes). Later additions carry `since`."""
from ec2soap.wire.inputs import In, request, soap_opt, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import BLOCK_DEVICE_MAPPING as SOAP_BLOCK_DEVICE_MAPPING
from ec2soap.wire.types.common import (ATTRIBUTE_VALUE, EMPTY, FILTERS, PAGES, RESOURCE_TAG_SET, SOAP_FILTERS,
                                       STATE_REASON, tag_specifications)

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

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
request("DescribeImages", In("image_ids", "list", soap="imagesSet.imageId"),
        In("owners", "list", soap="ownersSet.owner"),
        In("executable_by", "list", query="ExecutableBy", soap="executableBySet.user"), FILTERS, *PAGES, soap=(
            soap_opt("executableBySet", soap_set("DescribeImagesExecutableBySetType", "DescribeImagesExecutableByType",
                                                 field_("user"))),
            field_("imagesSet", soap_set("DescribeImagesInfoType", "DescribeImagesItemType", field_("imageId"))),
            soap_opt("ownersSet", soap_set("DescribeImagesOwnersType", "DescribeImagesOwnerType", field_("owner"))),
            SOAP_FILTERS))
request("CreateImage", In("instance_id", soap="instanceId", required=True), In("name", soap="name", required=True),
        In("description", soap="description"), In("no_reboot", "bool", soap="noReboot", default=False),
        tag_specifications("tag_specifications"),
        soap=(field_("instanceId"), field_("name"), soap_opt("description"), soap_opt("noReboot", "boolean")))
request("RegisterImage", In("name", soap="name", required=True), In("image_location", soap="imageLocation"),
        In("description", soap="description"), In("architecture", soap="architecture"),
        tag_specifications("tags", "image"),
        soap=(soap_opt("imageLocation"), field_("name"), soap_opt("description"), soap_opt("architecture"),
              soap_opt("kernelId"), soap_opt("ramdiskId"), soap_opt("rootDeviceName"),
              soap_opt("blockDeviceMapping", SOAP_BLOCK_DEVICE_MAPPING)))
request("DeregisterImage", In("image_id", soap="imageId", required=True), soap=(field_("imageId"),))
IMAGE_ATTRIBUTES = ("launchPermission", "productCodes", "kernel", "ramdisk", "blockDeviceMapping", "description")
request("DescribeImageAttribute", In("image_id", soap="imageId", required=True),
        In("attribute", "choice", query="Attribute", soap="attribute", required=True, choices=IMAGE_ATTRIBUTES),
        soap=(field_("imageId"), *(soap_opt(name, EMPTY) for name in IMAGE_ATTRIBUTES)))
LAUNCH_PERMISSION_LIST = soap_set("LaunchPermissionListType", "LaunchPermissionItemType", soap_opt("userId"),
                                  soap_opt("group"))
# Two Query forms (query/bindings/images.py): the 2010-11-15 one and the older Attribute/OperationType one.
request("ModifyImageAttribute",
        In(("description", "launch_permission_add", "launch_permission_remove", "product_codes"), "convert",
           query=None, convert="modify_image_attribute", aliases=(
               "LaunchPermission.Add.N.UserId", "LaunchPermission.Add.N.Group", "LaunchPermission.Remove.N.UserId",
               "LaunchPermission.Remove.N.Group", "Description.Value", "ProductCode.N", "Attribute",
               "OperationType", "UserId.N", "UserGroup.N", "Value")),
        In("image_id", soap="imageId", required=True),
        soap=(field_("imageId"),
              soap_opt("launchPermission", Struct("LaunchPermissionOperationType", (
                  soap_opt("add", LAUNCH_PERMISSION_LIST), soap_opt("remove", LAUNCH_PERMISSION_LIST)))),
              soap_opt("productCodes", soap_set("ProductCodeListType", "ProductCodeItemType", field_("productCode"))),
              soap_opt("description", ATTRIBUTE_VALUE)))
request("ResetImageAttribute", In("image_id", soap="imageId", required=True),
        In("attribute", "choice", query="Attribute", soap="attribute", required=True, choices=("launchPermission",)),
        soap=(field_("imageId"), field_("launchPermission", EMPTY)))
