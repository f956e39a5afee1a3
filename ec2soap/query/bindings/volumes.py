"""Query bindings for volumes."""
from ec2soap.query.params import QueryParams

BINDINGS = {
    "DescribeVolumes": lambda p: {"volume_ids": p.list("VolumeId"), "filters": p.filters(),
                                  "max_results": p.int("MaxResults"), "next_token": p.str("NextToken")},
    "CreateVolume": lambda p: {"availability_zone": p.str("AvailabilityZone", required=True),
                               "size": p.int("Size"), "snapshot_id": p.str("SnapshotId"),
                               "volume_type": p.str("VolumeType")},
    "DeleteVolume": lambda p: {"volume_id": p.str("VolumeId", required=True)},
    "AttachVolume": lambda p: {"volume_id": p.str("VolumeId", required=True),
                               "instance_id": p.str("InstanceId", required=True),
                               "device": p.str("Device", required=True)},
    "DetachVolume": lambda p: {"volume_id": p.str("VolumeId", required=True), "instance_id": p.str("InstanceId"),
                               "device": p.str("Device"), "force": p.bool("Force", default=False)},
}

__all__ = ["BINDINGS", "QueryParams"]
