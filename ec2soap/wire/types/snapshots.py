"""Snapshot shapes (EC2 2010-11-15: CreateSnapshot, DeleteSnapshot, DescribeSnapshots).

Later API versions added encrypted (2014-05-01) and DescribeSnapshots' nextToken (2014-09-01, with MaxResults);
they go at the end of their sequences and render only for those versions.
"""
from ec2soap.wire.inputs import In, request, soap_opt, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, PAGES, RESOURCE_TAG_SET, SOAP_FILTERS, tag_specifications

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

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
request("CreateSnapshot", In("volume_id", soap="volumeId", required=True), In("description", soap="description"),
        tag_specifications("tags", "snapshot"), soap=(field_("volumeId"), soap_opt("description")))
request("DeleteSnapshot", In("snapshot_id", soap="snapshotId", required=True), soap=(field_("snapshotId"),))
request("DescribeSnapshots", In("snapshot_ids", "list", soap="snapshotSet.snapshotId"),
        In("owners", "list", soap="ownersSet.owner"), In("restorable_by", "list", query="RestorableBy",
                                                        soap="restorableBySet.user"),
        FILTERS, *PAGES, soap=(
            field_("snapshotSet", soap_set("DescribeSnapshotsSetType", "DescribeSnapshotsSetItemType",
                                           field_("snapshotId"))),
            soap_opt("ownersSet", soap_set("DescribeSnapshotsOwnersType", "DescribeSnapshotsOwnerType",
                                           field_("owner"))),
            soap_opt("restorableBySet", soap_set("DescribeSnapshotsRestorableBySetType",
                                                 "DescribeSnapshotsRestorableByType", field_("user"))),
            SOAP_FILTERS))
