"""Snapshot shapes (EC2 2010-11-15: CreateSnapshot, DeleteSnapshot, DescribeSnapshots).

Later API versions added encrypted (2014-05-01) and DescribeSnapshots' nextToken (2014-09-01, with MaxResults);
they go at the end of their sequences and render only for those versions.
"""
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import RESOURCE_TAG_SET

SNAPSHOT_ITEM = Struct("DescribeSnapshotsSetItemResponseType", (
    field_("snapshotId"), field_("volumeId"), field_("status"), field_("startTime", "dateTime"), field_("progress"),
    field_("ownerId"), field_("volumeSize"), field_("description", optional=True),
    field_("ownerAlias", optional=True), field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True),
    field_("encrypted", "boolean", optional=True, since="2014-05-01")))

register("DescribeSnapshots", Struct("DescribeSnapshotsResponseType", (
    REQUEST_ID, field_("snapshotSet", ListOf("DescribeSnapshotsSetResponseType", SNAPSHOT_ITEM), attr="snapshots"),
    field_("nextToken", optional=True, since="2014-09-01"))))
register("CreateSnapshot", Struct("CreateSnapshotResponseType", (
    REQUEST_ID, field_("snapshotId"), field_("volumeId"), field_("status"), field_("startTime", "dateTime"),
    field_("progress"), field_("ownerId"), field_("volumeSize"), field_("description", optional=True),
    field_("encrypted", "boolean", optional=True, since="2014-05-01"),
    # TagSpecification came in 2018, still under API version 2016-11-15.
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True, since="2016-11-15"))))
register("DeleteSnapshot", Struct("DeleteSnapshotResponseType", (REQUEST_ID, RETURN)))
