"""Query bindings for volumes."""
from __future__ import annotations

from ec2soap.errors import ERRORS
from ec2soap.query.params import QueryParams


def tag_specifications(p: QueryParams, resource_type: str) -> list[tuple[str, str | None]]:
    """TagSpecification.N.ResourceType / .Tag.M.Key / .Tag.M.Value for an action that makes RESOURCE_TYPE."""
    pairs: list[tuple[str, str | None]] = []
    for spec in p.structs("TagSpecification"):
        given = spec.str("ResourceType")
        if given != resource_type:
            raise ERRORS["InvalidParameterValue"](
                detail=f"'{given}' is not a valid taggable resource type for this operation.")
        pairs += spec.tags("Tag")
    return pairs


BINDINGS = {
    "DescribeVolumes": lambda p: {"volume_ids": p.list("VolumeId"), "filters": p.filters(),
                                  "max_results": p.int("MaxResults"), "next_token": p.str("NextToken")},
    "CreateVolume": lambda p: {"availability_zone": p.str("AvailabilityZone", required=True),
                               "size": p.int("Size"), "snapshot_id": p.str("SnapshotId"),
                               "volume_type": p.str("VolumeType"), "tags": tag_specifications(p, "volume")},
    "DeleteVolume": lambda p: {"volume_id": p.str("VolumeId", required=True)},
    "AttachVolume": lambda p: {"volume_id": p.str("VolumeId", required=True),
                               "instance_id": p.str("InstanceId", required=True),
                               "device": p.str("Device", required=True)},
    "DetachVolume": lambda p: {"volume_id": p.str("VolumeId", required=True), "instance_id": p.str("InstanceId"),
                               "device": p.str("Device"), "force": p.bool("Force", default=False)},
}

__all__ = ["BINDINGS", "QueryParams", "tag_specifications"]
