"""EC2 SOAP request shapes as data (2010-11-15 WSDL request types), one per implemented action, in REQUESTS.

The same Struct/ListOf/Field form as the response shapes in wire/shapes.py and wire/types/; the SOAP service
builds its Spyne request models from these. No Twisted, Spyne, core or adapter imports here.

Two conventions the response shapes do not need:
- a field whose name starts with "@" is an XML attribute of its type (EC2's UserDataType has two);
- members of an EC2 xs:choice (ModifyInstanceAttribute's attributes, a block device's virtualName/ebs/noDevice)
  are declared optional; the SOAP binding checks that exactly one was given where EC2 requires it.
"""
from __future__ import annotations

from ec2soap.wire.shapes import Field, ListOf, Struct, field_

__all__ = ["REQUESTS", "request_shape"]

REQUESTS: dict[str, Struct] = {}


def _request(action: str, *fields: Field) -> Struct:
    if action in REQUESTS:
        raise ValueError(f"request shape for {action} declared twice")
    REQUESTS[action] = Struct(f"{action}Type", tuple(fields))
    return REQUESTS[action]


def request_shape(action: str) -> Struct:
    return REQUESTS[action]


def _set(set_name: str, item_name: str, *fields: Field) -> ListOf:
    """An EC2 "set" of items: `<fooSet><item>…</item>…</fooSet>`."""
    return ListOf(set_name, Struct(item_name, tuple(fields)))


def _opt(xml: str, shape: object = "string") -> Field:
    return field_(xml, shape, optional=True)  # type: ignore[arg-type]


EMPTY = Struct("EmptyElementType", ())
VALUE_SET = _set("ValueSetType", "ValueType", field_("value"))
FILTER_SET = _set("FilterSetType", "FilterType", field_("name"), field_("valueSet", VALUE_SET))
FILTERS = _opt("filterSet", FILTER_SET)
ATTRIBUTE_VALUE = Struct("AttributeValueType", (field_("value"),))
ATTRIBUTE_BOOLEAN_VALUE = Struct("AttributeBooleanValueType", (field_("value", "boolean"),))
INSTANCE_ID_SET = _set("InstanceIdSetType", "InstanceIdType", field_("instanceId"))

# Key pairs.
_request("CreateKeyPair", field_("keyName"))
_request("ImportKeyPair", field_("keyName"), field_("publicKeyMaterial"))
_request("DeleteKeyPair", field_("keyName"))
_request("DescribeKeyPairs", field_("keySet", _set("DescribeKeyPairsInfoType", "DescribeKeyPairsItemType",
                                                  field_("keyName"))), FILTERS)

# Zones and regions.
_request("DescribeAvailabilityZones",
         field_("availabilityZoneSet", _set("DescribeAvailabilityZonesSetType", "DescribeAvailabilityZonesSetItemType",
                                            field_("zoneName"))), FILTERS)
_request("DescribeRegions", field_("regionSet", _set("DescribeRegionsSetType", "DescribeRegionsSetItemType",
                                                     field_("regionName"))), FILTERS)

# Elastic IPs (EC2-Classic: addressed by public IP only in 2010-11-15).
_request("AllocateAddress")
_request("AssociateAddress", field_("publicIp"), field_("instanceId"))
_request("DescribeAddresses", field_("publicIpsSet", _set("DescribeAddressesInfoType", "DescribeAddressesItemType",
                                                          field_("publicIp"))), FILTERS)
_request("DisassociateAddress", field_("publicIp"))
_request("ReleaseAddress", field_("publicIp"))

# Tags.
RESOURCE_ID_SET = _set("ResourceIdSetType", "ResourceIdSetItemType", field_("resourceId"))
_request("CreateTags", field_("resourcesSet", RESOURCE_ID_SET),
         field_("tagSet", _set("ResourceTagSetType", "ResourceTagSetItemType", field_("key"), field_("value"))))
_request("DeleteTags", field_("resourcesSet", RESOURCE_ID_SET),
         field_("tagSet", _set("DeleteTagsSetType", "DeleteTagsSetItemType", _opt("key"), _opt("value"))))
_request("DescribeTags", FILTERS)

# Snapshots.
_request("CreateSnapshot", field_("volumeId"), _opt("description"))
_request("DeleteSnapshot", field_("snapshotId"))
_request("DescribeSnapshots",
         field_("snapshotSet", _set("DescribeSnapshotsSetType", "DescribeSnapshotsSetItemType", field_("snapshotId"))),
         _opt("ownersSet", _set("DescribeSnapshotsOwnersType", "DescribeSnapshotsOwnerType", field_("owner"))),
         _opt("restorableBySet", _set("DescribeSnapshotsRestorableBySetType", "DescribeSnapshotsRestorableByType",
                                      field_("user"))),
         FILTERS)

# Volumes. EC2 quirk: CreateVolume's size is an xs:string in 2010-11-15.
_request("CreateVolume", _opt("size"), _opt("snapshotId"), field_("availabilityZone"))
_request("DeleteVolume", field_("volumeId"))
_request("AttachVolume", field_("volumeId"), field_("instanceId"), field_("device"))
_request("DetachVolume", field_("volumeId"), _opt("instanceId"), _opt("device"), _opt("force", "boolean"))
_request("DescribeVolumes", field_("volumeSet", _set("DescribeVolumesSetType", "DescribeVolumesSetItemType",
                                                     field_("volumeId"))), FILTERS)

# Instances.
EBS_BLOCK_DEVICE = Struct("EbsBlockDeviceType", (
    _opt("snapshotId"), _opt("volumeSize", "int"), _opt("deleteOnTermination", "boolean")))
BLOCK_DEVICE_MAPPING = _set("BlockDeviceMappingType", "BlockDeviceMappingItemType",
                            field_("deviceName"), _opt("virtualName"), _opt("ebs", EBS_BLOCK_DEVICE),
                            _opt("noDevice", EMPTY))
_request("RunInstances",
         field_("imageId"), field_("minCount", "int"), field_("maxCount", "int"), _opt("keyName"),
         field_("groupSet", _set("GroupSetType", "GroupItemType", field_("groupId"))),
         _opt("additionalInfo"),
         _opt("userData", Struct("UserDataType", (_opt("data"), field_("@version"), field_("@encoding")))),
         _opt("addressingType"), field_("instanceType"),
         _opt("placement", Struct("PlacementRequestType", (_opt("availabilityZone"), _opt("groupName")))),
         _opt("kernelId"), _opt("ramdiskId"), _opt("blockDeviceMapping", BLOCK_DEVICE_MAPPING),
         _opt("monitoring", Struct("MonitoringInstanceType", (_opt("enabled", "boolean"),))),
         _opt("subnetId"), _opt("disableApiTermination", "boolean"), _opt("instanceInitiatedShutdownBehavior"),
         _opt("license", Struct("InstanceLicenseRequestType", (field_("pool"),))),
         _opt("privateIpAddress"), _opt("clientToken"))
_request("DescribeInstances", field_("instancesSet", _set("DescribeInstancesInfoType", "DescribeInstancesItemType",
                                                          field_("instanceId"))), FILTERS)
_request("TerminateInstances", field_("instancesSet", INSTANCE_ID_SET))
_request("StartInstances", field_("instancesSet", INSTANCE_ID_SET))
_request("StopInstances", field_("instancesSet", INSTANCE_ID_SET), _opt("force", "boolean"))
# EC2 quirk: RebootInstances' set needs at least one item, unlike every other set.
_request("RebootInstances", field_("instancesSet", Struct("RebootInstancesInfoType", (
    Field("item", Struct("RebootInstancesItemType", (field_("instanceId"),)), "item", 1, None),))))
_request("GetConsoleOutput", field_("instanceId"))
_request("GetPasswordData", field_("instanceId"))

# Instance attributes: the attribute is the name of an empty element (an xs:choice in EC2's group).
INSTANCE_ATTRIBUTES = ("instanceType", "kernel", "ramdisk", "userData", "disableApiTermination",
                       "instanceInitiatedShutdownBehavior", "rootDeviceName", "blockDeviceMapping")
_request("DescribeInstanceAttribute", field_("instanceId"), *(_opt(name, EMPTY) for name in INSTANCE_ATTRIBUTES))
INSTANCE_BLOCK_DEVICE_MAPPING = _set(
    "InstanceBlockDeviceMappingType", "InstanceBlockDeviceMappingItemType",
    field_("deviceName"), _opt("virtualName"),
    _opt("ebs", Struct("InstanceEbsBlockDeviceType", (field_("volumeId"), _opt("deleteOnTermination", "boolean")))),
    _opt("noDevice", EMPTY))
_request("ResetInstanceAttribute", field_("instanceId"), _opt("kernel", EMPTY), _opt("ramdisk", EMPTY))
_request("ModifyInstanceAttribute", field_("instanceId"),
         _opt("instanceType", ATTRIBUTE_VALUE), _opt("kernel", ATTRIBUTE_VALUE), _opt("ramdisk", ATTRIBUTE_VALUE),
         _opt("userData", ATTRIBUTE_VALUE), _opt("disableApiTermination", ATTRIBUTE_BOOLEAN_VALUE),
         _opt("instanceInitiatedShutdownBehavior", ATTRIBUTE_VALUE),
         _opt("blockDeviceMapping", INSTANCE_BLOCK_DEVICE_MAPPING))

# Images.
_request("DescribeImages",
         _opt("executableBySet", _set("DescribeImagesExecutableBySetType", "DescribeImagesExecutableByType",
                                      field_("user"))),
         field_("imagesSet", _set("DescribeImagesInfoType", "DescribeImagesItemType", field_("imageId"))),
         _opt("ownersSet", _set("DescribeImagesOwnersType", "DescribeImagesOwnerType", field_("owner"))),
         FILTERS)
_request("CreateImage", field_("instanceId"), field_("name"), _opt("description"), _opt("noReboot", "boolean"))
_request("RegisterImage", _opt("imageLocation"), field_("name"), _opt("description"), _opt("architecture"),
         _opt("kernelId"), _opt("ramdiskId"), _opt("rootDeviceName"),
         _opt("blockDeviceMapping", BLOCK_DEVICE_MAPPING))
_request("DeregisterImage", field_("imageId"))
IMAGE_ATTRIBUTES = ("launchPermission", "productCodes", "kernel", "ramdisk", "blockDeviceMapping", "description")
_request("DescribeImageAttribute", field_("imageId"), *(_opt(name, EMPTY) for name in IMAGE_ATTRIBUTES))
LAUNCH_PERMISSION_LIST = _set("LaunchPermissionListType", "LaunchPermissionItemType", _opt("userId"), _opt("group"))
_request("ModifyImageAttribute", field_("imageId"),
         _opt("launchPermission", Struct("LaunchPermissionOperationType", (
             _opt("add", LAUNCH_PERMISSION_LIST), _opt("remove", LAUNCH_PERMISSION_LIST)))),
         _opt("productCodes", _set("ProductCodeListType", "ProductCodeItemType", field_("productCode"))),
         _opt("description", ATTRIBUTE_VALUE))
_request("ResetImageAttribute", field_("imageId"), field_("launchPermission", EMPTY))

# Security groups (by name: group ids came with 2011-01-01).
IP_PERMISSION_SET = _set("IpPermissionSetType", "IpPermissionType",
                         field_("ipProtocol"), field_("fromPort", "int"), field_("toPort", "int"),
                         field_("groups", _set("UserIdGroupPairSetType", "UserIdGroupPairType",
                                               field_("userId"), field_("groupName"))),
                         field_("ipRanges", _set("IpRangeSetType", "IpRangeItemType", field_("cidrIp"))))
_request("CreateSecurityGroup", field_("groupName"), field_("groupDescription"))
_request("DeleteSecurityGroup", field_("groupName"))
_request("DescribeSecurityGroups",
         field_("securityGroupSet", _set("DescribeSecurityGroupsSetType", "DescribeSecurityGroupsSetItemType",
                                         field_("groupName"))), FILTERS)
_request("AuthorizeSecurityGroupIngress", field_("userId"), field_("groupName"),
         field_("ipPermissions", IP_PERMISSION_SET))
_request("RevokeSecurityGroupIngress", field_("userId"), field_("groupName"),
         field_("ipPermissions", IP_PERMISSION_SET))
