"""Shapes shared by several families: tags on resources, instance states, state changes; the request types and
parameters several actions share (filters, pages, tag specifications, block device mappings)."""
from ec2soap.wire.inputs import In, soap_opt, soap_set
from ec2soap.wire.shapes import ListOf, Struct, field_

RESOURCE_TAG = Struct("ResourceTagSetItemType", (field_("key"), field_("value")))
RESOURCE_TAG_SET = ListOf("ResourceTagSetType", RESOURCE_TAG)
INSTANCE_STATE = Struct("InstanceStateType", (field_("code", "int"), field_("name")))
STATE_REASON = Struct("StateReasonType", (field_("code"), field_("message")))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
# 2010-11-15 SOAP request types several actions share.
EMPTY = Struct("EmptyElementType", ())
VALUE_SET = soap_set("ValueSetType", "ValueType", field_("value"))
FILTER_SET = soap_set("FilterSetType", "FilterType", field_("name"), field_("valueSet", VALUE_SET))
SOAP_FILTERS = soap_opt("filterSet", FILTER_SET)
ATTRIBUTE_VALUE = Struct("AttributeValueType", (field_("value"),))
ATTRIBUTE_BOOLEAN_VALUE = Struct("AttributeBooleanValueType", (field_("value", "boolean"),))
INSTANCE_ID_SET = soap_set("InstanceIdSetType", "InstanceIdType", field_("instanceId"))
EBS_BLOCK_DEVICE = Struct("EbsBlockDeviceType", (
    soap_opt("snapshotId"), soap_opt("volumeSize", "int"), soap_opt("deleteOnTermination", "boolean")))
BLOCK_DEVICE_MAPPING = soap_set("BlockDeviceMappingType", "BlockDeviceMappingItemType",
                                field_("deviceName"), soap_opt("virtualName"), soap_opt("ebs", EBS_BLOCK_DEVICE),
                                soap_opt("noDevice", EMPTY))

# Parameters several actions share.
FILTERS = In("filters", "filters", query="Filter", soap="filterSet")
# MaxResults/NextToken came after 2010-11-15: a SOAP Describe returns everything.
PAGES = (In("max_results", "int", query="MaxResults"), In("next_token", query="NextToken"))


def tag_specifications(kw: str = "tags", *resource: str) -> In:
    """TagSpecification.N (2017, Query only): RESOURCE the one type the action makes (its tags, a list), or
    none given (a dict by resource type; the core checks which it takes)."""
    return In(kw, "tag_specifications", query="TagSpecification", resource=resource,
              default=[] if len(resource) == 1 else {})


# RunInstances' and RegisterImage's BlockDeviceMapping.N (launch_devices.BlockDeviceRequest).
BLOCK_DEVICES = In("block_devices", "structs", query="BlockDeviceMapping", soap="blockDeviceMapping", default=[],
                   make="ec2soap.core.launch_devices:BlockDeviceRequest", fields=(
                       In("device_name", soap="deviceName"),
                       In("virtual_name", soap="virtualName", blank_none=True),
                       In("no_device", "present", soap="noDevice"),
                       In("ebs", "present", soap="ebs"),
                       In("volume_size", "int", query="Ebs.VolumeSize", soap="ebs.volumeSize"),
                       In("snapshot_id", query="Ebs.SnapshotId", soap="ebs.snapshotId", blank_none=True),
                       In("delete_on_termination", "bool", query="Ebs.DeleteOnTermination",
                          soap="ebs.deleteOnTermination"),
                       In("volume_type", query="Ebs.VolumeType"),
                       In("iops", "int", query="Ebs.Iops"),
                       In("throughput", "int", query="Ebs.Throughput"),
                       In("encrypted", "bool", query="Ebs.Encrypted"),
                       In("kms_key_id", query="Ebs.KmsKeyId", blank_none=True)))
