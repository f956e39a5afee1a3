"""Instance shapes: RunInstances, DescribeInstances, Start/Stop/Reboot/TerminateInstances, instance attributes,
GetConsoleOutput, GetPasswordData (EC2 2010-11-15) and DescribeInstanceStatus (EC2 2011-07-15 and later)."""
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import INSTANCE_STATE, RESOURCE_TAG_SET, STATE_REASON

# EC2 2011-01-01 gave security groups ids (sg-…); since then groupId is the id and groupName the name.
GROUP_ITEM = Struct("GroupItemType", (field_("groupId"), field_("groupName", optional=True, since="2011-01-01")))
GROUP_SET = ListOf("GroupSetType", GROUP_ITEM)
PLACEMENT = Struct("PlacementResponseType", (field_("availabilityZone"), field_("groupName", optional=True)))
MONITORING = Struct("InstanceMonitoringStateType", (field_("state"),))
PRODUCT_CODES = ListOf("ProductCodesSetType", Struct("ProductCodesSetItemType", (field_("productCode"),)))
EBS_DEVICE = Struct("EbsInstanceBlockDeviceMappingResponseType", (
    field_("volumeId"), field_("status"), field_("attachTime", "dateTime"),
    field_("deleteOnTermination", "boolean", optional=True)))
BLOCK_DEVICES = ListOf("InstanceBlockDeviceMappingResponseType", Struct(
    "InstanceBlockDeviceMappingResponseItemType", (field_("deviceName"), field_("ebs", EBS_DEVICE))))

INSTANCE_ITEM = Struct("RunningInstancesItemType", (
    field_("instanceId"),
    field_("imageId", optional=True),
    field_("instanceState", INSTANCE_STATE),
    field_("privateDnsName"),
    field_("dnsName", optional=True),
    field_("reason", optional=True),
    field_("keyName", optional=True),
    field_("amiLaunchIndex", optional=True),
    field_("productCodes", PRODUCT_CODES, optional=True),
    field_("instanceType"),
    field_("launchTime", "dateTime"),
    field_("placement", PLACEMENT, optional=True),
    field_("kernelId", optional=True),
    field_("ramdiskId", optional=True),
    field_("platform", optional=True),
    field_("monitoring", MONITORING, optional=True),
    field_("subnetId", optional=True),
    field_("vpcId", optional=True),
    field_("privateIpAddress", optional=True),
    field_("ipAddress", optional=True),
    field_("stateReason", STATE_REASON, optional=True),
    field_("architecture", optional=True),
    field_("rootDeviceType", optional=True),
    field_("rootDeviceName", optional=True),
    field_("blockDeviceMapping", BLOCK_DEVICES, optional=True),
    field_("instanceLifecycle", optional=True),
    field_("spotInstanceRequestId", optional=True),
    field_("license", Struct("InstanceLicenseResponseType", (field_("pool"),)), optional=True),
    field_("virtualizationType", optional=True),
    field_("clientToken", optional=True),
    field_("tagSet", RESOURCE_TAG_SET, attr="tags", optional=True),
    field_("hypervisor", optional=True),
    field_("groupSet", GROUP_SET, attr="groups", optional=True, since="2011-01-01"),
))
INSTANCES_SET = ListOf("RunningInstancesSetType", INSTANCE_ITEM, min=1)
RESERVATION = Struct("ReservationInfoType", (
    field_("reservationId"), field_("ownerId"), field_("groupSet", GROUP_SET, attr="groups"),
    field_("instancesSet", INSTANCES_SET, attr="instances"), field_("requesterId", optional=True)))

register("RunInstances", Struct("RunInstancesResponseType", (
    REQUEST_ID, field_("reservationId"), field_("ownerId"), field_("groupSet", GROUP_SET, attr="groups"),
    field_("instancesSet", INSTANCES_SET, attr="instances"), field_("requesterId", optional=True))))
register("DescribeInstances", Struct("DescribeInstancesResponseType", (
    REQUEST_ID, field_("reservationSet", ListOf("ReservationSetType", RESERVATION), attr="reservations"),
    field_("nextToken", optional=True, since="2014-10-01"))))

STATE_CHANGE = Struct("InstanceStateChangeType", (
    field_("instanceId"), field_("currentState", INSTANCE_STATE), field_("previousState", INSTANCE_STATE)))
STATE_CHANGES = ListOf("InstanceStateChangeSetType", STATE_CHANGE)
for _action in ("Terminate", "Start", "Stop"):
    register(f"{_action}Instances", Struct(f"{_action}InstancesResponseType", (
        REQUEST_ID, field_("instancesSet", STATE_CHANGES, attr="."))))
register("RebootInstances", Struct("RebootInstancesResponseType", (REQUEST_ID, RETURN)))

VALUE = Struct("NullableAttributeValueType", (field_("value", optional=True),))
BOOLEAN_VALUE = Struct("NullableAttributeBooleanValueType", (field_("value", "boolean", optional=True),))
# A choice in the WSDL: the core sets exactly one of these.
register("DescribeInstanceAttribute", Struct("DescribeInstanceAttributeResponseType", (
    REQUEST_ID, field_("instanceId"),
    field_("instanceType", VALUE, optional=True),
    field_("kernel", VALUE, optional=True),
    field_("ramdisk", VALUE, optional=True),
    field_("userData", VALUE, optional=True),
    field_("disableApiTermination", BOOLEAN_VALUE, optional=True),
    field_("instanceInitiatedShutdownBehavior", VALUE, optional=True),
    field_("rootDeviceName", VALUE, optional=True),
    field_("blockDeviceMapping", BLOCK_DEVICES, optional=True),
    field_("productCodes", PRODUCT_CODES, optional=True, since="2011-01-01"),
    field_("ebsOptimized", BOOLEAN_VALUE, optional=True, since="2012-07-20"),
    field_("groupSet", GROUP_SET, attr="groups", optional=True, since="2011-01-01"),
)))
register("ModifyInstanceAttribute", Struct("ModifyInstanceAttributeResponseType", (REQUEST_ID, RETURN)))
register("ResetInstanceAttribute", Struct("ResetInstanceAttributeResponseType", (REQUEST_ID, RETURN)))
register("GetConsoleOutput", Struct("GetConsoleOutputResponseType", (
    REQUEST_ID, field_("instanceId"), field_("timestamp", "dateTime"), field_("output"))))
register("GetPasswordData", Struct("GetPasswordDataResponseType", (
    REQUEST_ID, field_("instanceId"), field_("timestamp", "dateTime"), field_("passwordData"))))

# DescribeInstanceStatus came with EC2 2011-07-15; names follow the later EC2 WSDLs.
STATUS_DETAILS = ListOf("InstanceStatusDetailsSetType", Struct("InstanceStatusDetailsSetItemType", (
    field_("name"), field_("status"), field_("impairedSince", "dateTime", optional=True))))
STATUS = Struct("InstanceStatusType", (field_("status"), field_("details", STATUS_DETAILS, optional=True)))
STATUS_ITEM = Struct("InstanceStatusItemType", (
    field_("instanceId"), field_("availabilityZone"), field_("instanceState", INSTANCE_STATE),
    field_("systemStatus", STATUS), field_("instanceStatus", STATUS)))
register("DescribeInstanceStatus", Struct("DescribeInstanceStatusResponseType", (
    REQUEST_ID, field_("instanceStatusSet", ListOf("InstanceStatusSetType", STATUS_ITEM), attr="statuses"),
    field_("nextToken", optional=True))))
