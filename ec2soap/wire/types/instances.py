"""Instance shapes, responses and requests: RunInstances, DescribeInstances, Start/Stop/Reboot/TerminateInstances,
instance attributes, GetConsoleOutput, GetPasswordData (EC2 2010-11-15) and DescribeInstanceStatus (EC2
2011-07-15 and later)."""
from ec2soap.wire.inputs import In, request, soap_opt, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, Field, ListOf, Struct, field_, register
from ec2soap.wire.types.common import BLOCK_DEVICES as BLOCK_DEVICE_PARAMS
from ec2soap.wire.types.common import (ATTRIBUTE_BOOLEAN_VALUE, ATTRIBUTE_VALUE, BLOCK_DEVICE_MAPPING, EMPTY,
                                       FILTERS, INSTANCE_ID_SET, INSTANCE_STATE, PAGES, RESOURCE_TAG_SET,
                                       SOAP_FILTERS, STATE_REASON, tag_specifications)

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

# A VPC instance's interfaces (EC2 2011-12-15), core/instance_nics.py.
NIC_ASSOCIATION = Struct("InstanceNetworkInterfaceAssociationType", (
    field_("publicIp"), field_("publicDnsName", optional=True), field_("ipOwnerId", optional=True)))
NIC_ITEM = Struct("InstanceNetworkInterfaceSetItemType", (
    field_("networkInterfaceId"), field_("subnetId", optional=True), field_("vpcId", optional=True),
    field_("description", optional=True), field_("ownerId"), field_("status"),
    field_("macAddress", optional=True), field_("privateIpAddress", optional=True),
    field_("privateDnsName", optional=True), field_("sourceDestCheck", "boolean", optional=True),
    field_("groupSet", GROUP_SET, attr="groups", optional=True),
    field_("attachment", Struct("InstanceNetworkInterfaceAttachmentType", (
        field_("attachmentId"), field_("deviceIndex", "int"), field_("status"), field_("attachTime", "dateTime"),
        field_("deleteOnTermination", "boolean"))), optional=True),
    field_("association", NIC_ASSOCIATION, optional=True),
    field_("privateIpAddressesSet", ListOf("InstancePrivateIpAddressesSetType", Struct(
        "InstancePrivateIpAddressesSetItemType", (
            field_("privateIpAddress"), field_("privateDnsName", optional=True), field_("primary", "boolean"),
            field_("association", NIC_ASSOCIATION, optional=True)))), attr="private_ip_addresses", optional=True)))

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
    field_("sourceDestCheck", "boolean", optional=True, since="2011-01-01"),
    field_("networkInterfaceSet", ListOf("InstanceNetworkInterfaceSetType", NIC_ITEM), attr="network_interfaces",
           optional=True, since="2011-12-15"),
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

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
# RunInstances' NetworkInterface.N (2011-12-15, Query only): every member botocore sends is read, so the core
# applies it or refuses it by name (core/vpc_instances.py).
NETWORK_INTERFACES = In(
    "network_interfaces", "structs", query="NetworkInterface", default=[],
    make="ec2soap.core.vpc_instances:NetworkInterfaceRequest", fields=(
        In("device_index", "int", query="DeviceIndex"), In("subnet_id", query="SubnetId", blank_none=True),
        In("private_ip_address", query="PrivateIpAddress", blank_none=True),
        In("groups", "list", query="SecurityGroupId"),
        In("associate_public_ip_address", "bool", query="AssociatePublicIpAddress"),
        In("delete_on_termination", "bool", query="DeleteOnTermination"),
        In("description", query="Description"),
        In("network_interface_id", query="NetworkInterfaceId", blank_none=True),
        In("private_ip_addresses", "structs", query="PrivateIpAddresses",
           make="ec2soap.core.vpc_instances:PrivateIpRequest", fields=(
               In("private_ip_address", query="PrivateIpAddress", blank_none=True),
               In("primary", "bool", query="Primary"))),
        In("secondary_private_ip_address_count", "int", query="SecondaryPrivateIpAddressCount"),
        In("ipv6_address_count", "int", query="Ipv6AddressCount"),
        In("ipv6_addresses", "present", query="Ipv6Addresses"),
        In("associate_carrier_ip_address", "bool", query="AssociateCarrierIpAddress"),
        In("interface_type", query="InterfaceType"),
        In("network_card_index", "int", query="NetworkCardIndex"),
        In("ipv4_prefixes", "present", query="Ipv4Prefix"), In("ipv4_prefix_count", "int", query="Ipv4PrefixCount"),
        In("ipv6_prefixes", "present", query="Ipv6Prefix"), In("ipv6_prefix_count", "int", query="Ipv6PrefixCount"),
        In("primary_ipv6", "bool", query="PrimaryIpv6"),
        In("ena_srd_specification", "present", query="EnaSrdSpecification"),
        In("connection_tracking_specification", "present", query="ConnectionTrackingSpecification"),
        In("ena_queue_count", "int", query="EnaQueueCount")))
# EC2 quirk: in 2010-11-15 groupSet/item/groupId carries the group's *name* (ids came with VPC groups), so
# SOAP's groupSet fills security_groups, as Query's SecurityGroup.N does.
request("RunInstances",
        In("image_id", soap="imageId", required=True), In("client_token", soap="clientToken", blank_none=True),
        In("disable_api_termination", "bool", soap="disableApiTermination", default=False),
        In("min_count", "int", soap="minCount", required=True), In("max_count", "int", soap="maxCount", required=True),
        In("instance_type", soap="instanceType", blank_none=True), In("key_name", soap="keyName"),
        In("security_groups", "list", query="SecurityGroup", soap="groupSet.groupId"),
        In("security_group_ids", "list", query="SecurityGroupId", default=[]),
        In("user_data", query="UserData", soap="userData.data"),
        In("availability_zone", query="Placement.AvailabilityZone", soap="placement.availabilityZone"),
        In("placement_group", query="Placement.GroupName", soap="placement.groupName", blank_none=True),
        *(In(kw, kind, query=f"Placement.{name}", blank_none=kind == "string") for kw, kind, name in (
            ("placement_group_id", "string", "GroupId"), ("placement_tenancy", "string", "Tenancy"),
            ("placement_affinity", "string", "Affinity"), ("placement_partition_number", "int", "PartitionNumber"),
            ("placement_host_id", "string", "HostId"), ("placement_spread_domain", "string", "SpreadDomain"),
            ("placement_host_resource_group_arn", "string", "HostResourceGroupArn"),
            ("placement_availability_zone_id", "string", "AvailabilityZoneId"))),
        In("private_ip_address", soap="privateIpAddress"), tag_specifications("tag_specifications"),
        BLOCK_DEVICE_PARAMS, In("subnet_id", query="SubnetId", soap="subnetId", blank_none=True),
        NETWORK_INTERFACES,
        soap=(field_("imageId"), field_("minCount", "int"), field_("maxCount", "int"), soap_opt("keyName"),
              field_("groupSet", soap_set("GroupSetType", "GroupItemType", field_("groupId"))),
              soap_opt("additionalInfo"),
              soap_opt("userData", Struct("UserDataType", (soap_opt("data"), field_("@version"),
                                                           field_("@encoding")))),
              soap_opt("addressingType"), field_("instanceType"),
              soap_opt("placement", Struct("PlacementRequestType", (soap_opt("availabilityZone"),
                                                                     soap_opt("groupName")))),
              soap_opt("kernelId"), soap_opt("ramdiskId"), soap_opt("blockDeviceMapping", BLOCK_DEVICE_MAPPING),
              soap_opt("monitoring", Struct("MonitoringInstanceType", (soap_opt("enabled", "boolean"),))),
              soap_opt("subnetId"), soap_opt("disableApiTermination", "boolean"),
              soap_opt("instanceInitiatedShutdownBehavior"),
              soap_opt("license", Struct("InstanceLicenseRequestType", (field_("pool"),))),
              soap_opt("privateIpAddress"), soap_opt("clientToken")))
_IDS = In("instance_ids", "list", soap="instancesSet.instanceId")
request("DescribeInstances", _IDS, FILTERS, *PAGES, soap=(
    field_("instancesSet", soap_set("DescribeInstancesInfoType", "DescribeInstancesItemType", field_("instanceId"))),
    SOAP_FILTERS))
request("DescribeInstanceStatus", In("instance_ids", "list", query="InstanceId"), FILTERS, *PAGES,
        In("include_all_instances", "bool", query="IncludeAllInstances", default=False), since="2011-07-15")
request("TerminateInstances", _IDS, soap=(field_("instancesSet", INSTANCE_ID_SET),))
request("StartInstances", _IDS, soap=(field_("instancesSet", INSTANCE_ID_SET),))
request("StopInstances", _IDS, In("force", "bool", soap="force", default=False),
        soap=(field_("instancesSet", INSTANCE_ID_SET), soap_opt("force", "boolean")))
# EC2 quirk: RebootInstances' set needs at least one item, unlike every other set.
request("RebootInstances", In("instance_ids", "list", query="InstanceId", soap="instancesSet.item.instanceId"),
        soap=(field_("instancesSet", Struct("RebootInstancesInfoType", (
            Field("item", Struct("RebootInstancesItemType", (field_("instanceId"),)), "item", 1, None),))),))

# One instance id: boto 2 (like the 2008 API) sends it as InstanceId.1 (query/bindings/instances.py).
_ONE_ID = In("instance_id", "convert", query="InstanceId", soap="instanceId", convert="one_instance_id",
             aliases=("InstanceId", "InstanceId.N"))
request("GetConsoleOutput", _ONE_ID, soap=(field_("instanceId"),))
request("GetPasswordData", _ONE_ID, soap=(field_("instanceId"),))

# Instance attributes: in SOAP the attribute is the name of an empty element (an xs:choice in EC2's group).
INSTANCE_ATTRIBUTES = ("instanceType", "kernel", "ramdisk", "userData", "disableApiTermination",
                       "instanceInitiatedShutdownBehavior", "rootDeviceName", "blockDeviceMapping")
request("DescribeInstanceAttribute", _ONE_ID,
        In("attribute", "choice", query="Attribute", soap="attribute", required=True, choices=INSTANCE_ATTRIBUTES),
        soap=(field_("instanceId"), *(soap_opt(name, EMPTY) for name in INSTANCE_ATTRIBUTES)))
request("ResetInstanceAttribute", _ONE_ID,
        In("attribute", "choice", query="Attribute", soap="attribute", required=True, choices=("kernel", "ramdisk")),
        soap=(field_("instanceId"), soap_opt("kernel", EMPTY), soap_opt("ramdisk", EMPTY)))
INSTANCE_BLOCK_DEVICE_MAPPING = soap_set(
    "InstanceBlockDeviceMappingType", "InstanceBlockDeviceMappingItemType",
    field_("deviceName"), soap_opt("virtualName"),
    soap_opt("ebs", Struct("InstanceEbsBlockDeviceType", (field_("volumeId"),
                                                          soap_opt("deleteOnTermination", "boolean")))),
    soap_opt("noDevice", EMPTY))
# Which attributes change: Attribute/Value or `<Attribute>.Value` (Query), the elements given (SOAP).
request("ModifyInstanceAttribute",
        In("changes", "convert", query=None, convert="modify_instance_attribute", aliases=(
            "Attribute", "Value", "BlockDeviceMapping", *(f"{name}.Value" for name in (
                "InstanceType", "UserData", "Kernel", "Ramdisk", "DisableApiTermination",
                "InstanceInitiatedShutdownBehavior", "SourceDestCheck", "EbsOptimized", "SriovNetSupport",
                "EnaSupport", "DisableApiStop")))),
        _ONE_ID, In("group_ids", "list", query="GroupId", default=[]),
        soap=(field_("instanceId"),
              soap_opt("instanceType", ATTRIBUTE_VALUE), soap_opt("kernel", ATTRIBUTE_VALUE),
              soap_opt("ramdisk", ATTRIBUTE_VALUE), soap_opt("userData", ATTRIBUTE_VALUE),
              soap_opt("disableApiTermination", ATTRIBUTE_BOOLEAN_VALUE),
              soap_opt("instanceInitiatedShutdownBehavior", ATTRIBUTE_VALUE),
              soap_opt("blockDeviceMapping", INSTANCE_BLOCK_DEVICE_MAPPING)))
