"""Query bindings for snapshots."""
from ec2soap.query.bindings.volumes import tag_specifications
from ec2soap.query.params import QueryParams

BINDINGS = {
    "DescribeSnapshots": lambda p: {"snapshot_ids": p.list("SnapshotId"), "owners": p.list("Owner"),
                                    "restorable_by": p.list("RestorableBy"), "filters": p.filters(),
                                    "max_results": p.int("MaxResults"), "next_token": p.str("NextToken")},
    "CreateSnapshot": lambda p: {"volume_id": p.str("VolumeId", required=True),
                                 "description": p.str("Description"),
                                 "tags": tag_specifications(p, "snapshot")},
    "DeleteSnapshot": lambda p: {"snapshot_id": p.str("SnapshotId", required=True)},
}

__all__ = ["BINDINGS", "QueryParams"]
