"""Volume shapes (EC2 2010-11-15: CreateVolume, DeleteVolume, AttachVolume, DetachVolume, DescribeVolumes).

Later API versions added volumeType (2012-07-20), encrypted (2014-05-01) and DescribeVolumes' nextToken
(2014-09-01, with MaxResults); they go at the end of their sequences and render only for those versions.
"""
from ec2soap.wire.inputs import In, request, soap_opt, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, PAGES, RESOURCE_TAG_SET, SOAP_FILTERS, tag_specifications

ATTACHMENT_ITEM = Struct("AttachmentSetItemResponseType", (
    field_("volumeId"), field_("instanceId"), field_("device"), field_("status"),
    field_("attachTime", "dateTime"), field_("deleteOnTermination", "boolean")))

VOLUME_ITEM = Struct("DescribeVolumesSetItemResponseType", (
    field_("volumeId"), field_("size"), field_("snapshotId"), field_("availabilityZone"), field_("status"),
    field_("createTime", "dateTime"),
    field_("attachmentSet", ListOf("AttachmentSetResponseType", ATTACHMENT_ITEM), attr="attachments"),
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True),
    field_("volumeType", optional=True, since="2012-07-20"),
    field_("encrypted", "boolean", optional=True, since="2014-05-01")))

register("DescribeVolumes", Struct("DescribeVolumesResponseType", (
    REQUEST_ID, field_("volumeSet", ListOf("DescribeVolumesSetResponseType", VOLUME_ITEM), attr="volumes"),
    field_("nextToken", optional=True, since="2014-09-01"))))
register("CreateVolume", Struct("CreateVolumeResponseType", (
    REQUEST_ID, field_("volumeId"), field_("size"), field_("snapshotId"), field_("availabilityZone"),
    field_("status"), field_("createTime", "dateTime"),
    field_("volumeType", optional=True, since="2012-07-20"),
    field_("encrypted", "boolean", optional=True, since="2014-05-01"),
    # TagSpecification came in 2017, still under API version 2016-11-15.
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True, since="2016-11-15"))))
register("DeleteVolume", Struct("DeleteVolumeResponseType", (REQUEST_ID, RETURN)))

_ATTACHMENT_FIELDS = (REQUEST_ID, field_("volumeId"), field_("instanceId"), field_("device"), field_("status"),
                      field_("attachTime", "dateTime"))
register("AttachVolume", Struct("AttachVolumeResponseType", _ATTACHMENT_FIELDS))
register("DetachVolume", Struct("DetachVolumeResponseType", _ATTACHMENT_FIELDS))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
request("DescribeVolumes", In("volume_ids", "list", soap="volumeSet.volumeId"), FILTERS, *PAGES, soap=(
    field_("volumeSet", soap_set("DescribeVolumesSetType", "DescribeVolumesSetItemType", field_("volumeId"))),
    SOAP_FILTERS))
# EC2 quirk: CreateVolume's size is an xs:string in 2010-11-15 (the reader makes it an int on both doors).
request("CreateVolume", In("availability_zone", soap="availabilityZone", required=True),
        In("size", "int", soap="size"), In("snapshot_id", soap="snapshotId", blank_none=True),
        In("volume_type", query="VolumeType"), tag_specifications("tags", "volume"),
        soap=(soap_opt("size"), soap_opt("snapshotId"), field_("availabilityZone")))
request("DeleteVolume", In("volume_id", soap="volumeId", required=True), soap=(field_("volumeId"),))
request("AttachVolume", In("volume_id", soap="volumeId", required=True),
        In("instance_id", soap="instanceId", required=True), In("device", soap="device", required=True),
        soap=(field_("volumeId"), field_("instanceId"), field_("device")))
request("DetachVolume", In("volume_id", soap="volumeId", required=True), In("instance_id", soap="instanceId"),
        In("device", soap="device"), In("force", "bool", soap="force", default=False),
        soap=(field_("volumeId"), soap_opt("instanceId"), soap_opt("device"), soap_opt("force", "boolean")))
