"""Query bindings for volumes."""
from __future__ import annotations

from ec2soap.core.launch_devices import BlockDeviceRequest
from ec2soap.errors import ERRORS
from ec2soap.query.params import QueryParams


def tags_by_type(p: QueryParams, allowed: tuple[str, ...] | None = None) -> dict[str, list[tuple[str, str | None]]]:
    """TagSpecification.N.ResourceType / .Tag.M.Key / .Tag.M.Value → {resource type: [(key, value)]}.

    ALLOWED: the types the action takes (None: the core checks them, for actions that make several kinds)."""
    out: dict[str, list[tuple[str, str | None]]] = {}
    for spec in p.structs("TagSpecification"):
        given = spec.str("ResourceType")
        if not given:
            raise ERRORS["MissingParameter"](name="TagSpecification.N.ResourceType")
        if allowed is not None and given not in allowed:
            raise ERRORS["InvalidParameterValue"](
                detail=f"'{given}' is not a valid taggable resource type for this operation.")
        if given in out:
            raise ERRORS["InvalidParameterValue"](
                detail=f"The same resource type ({given}) may not be specified more than once in tag "
                       f"specifications.")
        out[given] = spec.tags("Tag")
    return out


def tag_specifications(p: QueryParams, resource_type: str) -> list[tuple[str, str | None]]:
    """The TagSpecification tags of an action that makes one RESOURCE_TYPE (any other type is refused)."""
    return tags_by_type(p, (resource_type,)).get(resource_type, [])


def block_device_mappings(p: QueryParams) -> list[BlockDeviceRequest]:
    """BlockDeviceMapping.N.DeviceName / .VirtualName / .NoDevice / .Ebs.* (RunInstances)."""
    out = []
    for entry in p.structs("BlockDeviceMapping"):
        ebs = {key for key in entry.raw if key.startswith("Ebs.")}
        out.append(BlockDeviceRequest(
            device_name=entry.str("DeviceName"), virtual_name=entry.str("VirtualName") or None,
            no_device="NoDevice" in entry, ebs=bool(ebs), volume_size=entry.int("Ebs.VolumeSize"),
            snapshot_id=entry.str("Ebs.SnapshotId") or None,
            delete_on_termination=entry.bool("Ebs.DeleteOnTermination"), volume_type=entry.str("Ebs.VolumeType"),
            iops=entry.int("Ebs.Iops"), throughput=entry.int("Ebs.Throughput"),
            encrypted=entry.bool("Ebs.Encrypted"), kms_key_id=entry.str("Ebs.KmsKeyId") or None))
    return out


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

__all__ = ["BINDINGS", "QueryParams", "tag_specifications", "tags_by_type", "block_device_mappings"]
