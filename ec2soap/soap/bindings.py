"""SOAP bindings: action → function(request as plain dicts and lists) → the core function's keyword arguments.

The input is what Models.request_value makes of a 2010-11-15 request (element names as keys, sets as lists of
item dicts). The kwargs are the same ones the Query bindings produce for the same request, so both protocols
reach the core identically. Never imports query/ or s3/.
"""
from __future__ import annotations

from typing import Any, Callable

from ec2soap.core.filters import Filter
from ec2soap.core.images import LaunchPermission
from ec2soap.core.launch_devices import BlockDeviceRequest
from ec2soap.core.security_groups import IpPermission, IpRange, UserIdGroupPair
from ec2soap.errors import ERRORS

__all__ = ["BINDINGS", "bind"]

Request = dict[str, Any]


def _req(v: Request, name: str) -> Any:
    value = v.get(name)
    if value is None or value == "":
        raise ERRORS["MissingParameter"](name=name)
    return value


def _items(v: Request, set_name: str, key: str) -> list[Any]:
    return [item.get(key) for item in v.get(set_name) or () if item.get(key) is not None]


def _filters(v: Request) -> list[Filter]:
    out = []
    for entry in v.get("filterSet") or ():
        name = _req(entry, "name")
        out.append(Filter(name, tuple(x["value"] for x in entry.get("valueSet") or () if x.get("value") is not None)))
    return out


def _pages() -> dict[str, Any]:
    # MaxResults/NextToken came after 2010-11-15: a SOAP Describe returns everything.
    return {"max_results": None, "next_token": None}


def _int(v: Request, name: str, *, required: bool = False) -> int | None:
    value = _req(v, name) if required else v.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({value}) for parameter {name} is invalid. Expected an integer.") from None


def _one_of(v: Request, names: tuple[str, ...], parameter: str) -> str:
    """The one attribute element given (EC2's xs:choice of empty elements)."""
    given = [name for name in names if v.get(name) is not None]
    if not given:
        raise ERRORS["MissingParameter"](name=parameter)
    if len(given) > 1:
        raise ERRORS["InvalidParameterCombination"](detail=f"Only one {parameter} may be given: {', '.join(given)}")
    return given[0]


def _tags(v: Request) -> list[tuple[str, str | None]]:
    out = []
    for entry in v.get("tagSet") or ():
        if entry.get("key") is None:
            raise ERRORS["MissingParameter"](name="tagSet.item.key")
        out.append((entry["key"], entry.get("value")))
    return out


def _block_devices(v: Request) -> list[BlockDeviceRequest]:
    out = []
    for item in v.get("blockDeviceMapping") or ():
        ebs = item.get("ebs")
        ebs_values = ebs or {}
        out.append(BlockDeviceRequest(
            device_name=item.get("deviceName"), virtual_name=item.get("virtualName") or None,
            no_device=item.get("noDevice") is not None, ebs=ebs is not None,
            volume_size=_int(ebs_values, "volumeSize"), snapshot_id=ebs_values.get("snapshotId") or None,
            delete_on_termination=ebs_values.get("deleteOnTermination")))
    return out


def _run_instances(v: Request) -> dict[str, Any]:
    placement = v.get("placement") or {}
    user_data = v.get("userData") or {}
    # EC2 quirk: in 2010-11-15 groupSet/item/groupId carries the group's *name* (ids came with VPC groups).
    return {"image_id": _req(v, "imageId"), "min_count": _int(v, "minCount", required=True),
            "client_token": v.get("clientToken") or None,
            "disable_api_termination": bool(v.get("disableApiTermination")),
            "max_count": _int(v, "maxCount", required=True),
            "instance_type": v.get("instanceType") or None, "key_name": v.get("keyName"),
            "security_groups": _items(v, "groupSet", "groupId"), "security_group_ids": [],
            "user_data": user_data.get("data"), "availability_zone": placement.get("availabilityZone"),
            "private_ip_address": v.get("privateIpAddress"), "block_devices": _block_devices(v)}


_INSTANCE_ATTRIBUTES = ("instanceType", "kernel", "ramdisk", "userData", "disableApiTermination",
                        "instanceInitiatedShutdownBehavior", "rootDeviceName", "blockDeviceMapping")
_MODIFIABLE = ("instanceType", "kernel", "ramdisk", "userData", "disableApiTermination",
               "instanceInitiatedShutdownBehavior")


def _modify_instance_attribute(v: Request) -> dict[str, Any]:
    changes: list[tuple[str, Any]] = []
    for name in _MODIFIABLE:
        entry = v.get(name)
        if entry is not None:
            value = entry.get("value")
            # Query carries every value as text; the core reads text.
            changes.append((name, ("true" if value else "false") if isinstance(value, bool) else value))
    if v.get("blockDeviceMapping") is not None:
        changes.append(("blockDeviceMapping", None))
    if not changes:
        raise ERRORS["MissingParameter"](name="attribute")
    return {"instance_id": _req(v, "instanceId"), "changes": changes, "group_ids": []}


def _permissions(entries: Any) -> list[LaunchPermission]:
    return [LaunchPermission(user_id=e.get("userId"), group=e.get("group")) for e in entries or ()]


def _modify_image_attribute(v: Request) -> dict[str, Any]:
    launch = v.get("launchPermission") or {}
    description = v.get("description")
    product_codes = v.get("productCodes")
    if not launch and description is None and product_codes is None:
        raise ERRORS["MissingParameter"](name="attribute")
    return {"image_id": _req(v, "imageId"),
            "description": description.get("value") if description is not None else None,
            "launch_permission_add": _permissions(launch.get("add")),
            "launch_permission_remove": _permissions(launch.get("remove")),
            "product_codes": [p["productCode"] for p in product_codes or ()]}


def _ip_permissions(v: Request) -> list[IpPermission]:
    return [IpPermission(ip_protocol=p.get("ipProtocol"), from_port=p.get("fromPort"), to_port=p.get("toPort"),
                         groups=[UserIdGroupPair(user_id=g.get("userId"), group_name=g.get("groupName"))
                                 for g in p.get("groups") or ()],
                         ip_ranges=[IpRange(r["cidrIp"]) for r in p.get("ipRanges") or () if r.get("cidrIp")])
            for p in v.get("ipPermissions") or ()]


def _rules(v: Request) -> dict[str, Any]:
    # The request's userId is the caller's own account in EC2; the caller's keys already say who that is.
    return {"group_name": _req(v, "groupName"), "group_id": None, "ip_permissions": _ip_permissions(v)}


BINDINGS: dict[str, Callable[[Request], dict[str, Any]]] = {
    # Key pairs.
    "DescribeKeyPairs": lambda v: {"key_names": _items(v, "keySet", "keyName"), "filters": _filters(v)},
    "CreateKeyPair": lambda v: {"key_name": _req(v, "keyName")},
    "ImportKeyPair": lambda v: {"key_name": _req(v, "keyName"),
                                "public_key_material": _req(v, "publicKeyMaterial")},
    "DeleteKeyPair": lambda v: {"key_name": _req(v, "keyName")},
    # Zones and regions.
    "DescribeAvailabilityZones": lambda v: {"zone_names": _items(v, "availabilityZoneSet", "zoneName"),
                                            "filters": _filters(v)},
    "DescribeRegions": lambda v: {"region_names": _items(v, "regionSet", "regionName"), "filters": _filters(v)},
    # Elastic IPs.
    "AllocateAddress": lambda v: {"domain": None},
    "AssociateAddress": lambda v: {"instance_id": _req(v, "instanceId"), "public_ip": _req(v, "publicIp"),
                                   "allocation_id": None, "allow_reassociation": None},
    "DescribeAddresses": lambda v: {"public_ips": _items(v, "publicIpsSet", "publicIp"), "allocation_ids": [],
                                    "filters": _filters(v)},
    "DisassociateAddress": lambda v: {"public_ip": _req(v, "publicIp"), "association_id": None},
    "ReleaseAddress": lambda v: {"public_ip": _req(v, "publicIp"), "allocation_id": None},
    # Tags.
    "CreateTags": lambda v: {"resource_ids": _items(v, "resourcesSet", "resourceId"), "tags": _tags(v)},
    "DeleteTags": lambda v: {"resource_ids": _items(v, "resourcesSet", "resourceId"), "tags": _tags(v)},
    "DescribeTags": lambda v: {"filters": _filters(v), **_pages()},
    # Snapshots.
    "CreateSnapshot": lambda v: {"volume_id": _req(v, "volumeId"), "description": v.get("description")},
    "DeleteSnapshot": lambda v: {"snapshot_id": _req(v, "snapshotId")},
    "DescribeSnapshots": lambda v: {"snapshot_ids": _items(v, "snapshotSet", "snapshotId"),
                                    "owners": _items(v, "ownersSet", "owner"),
                                    "restorable_by": _items(v, "restorableBySet", "user"),
                                    "filters": _filters(v), **_pages()},
    # Volumes.
    "CreateVolume": lambda v: {"availability_zone": _req(v, "availabilityZone"), "size": _int(v, "size"),
                               "snapshot_id": v.get("snapshotId") or None, "volume_type": None},
    "DeleteVolume": lambda v: {"volume_id": _req(v, "volumeId")},
    "AttachVolume": lambda v: {"volume_id": _req(v, "volumeId"), "instance_id": _req(v, "instanceId"),
                               "device": _req(v, "device")},
    "DetachVolume": lambda v: {"volume_id": _req(v, "volumeId"), "instance_id": v.get("instanceId"),
                               "device": v.get("device"), "force": bool(v.get("force"))},
    "DescribeVolumes": lambda v: {"volume_ids": _items(v, "volumeSet", "volumeId"), "filters": _filters(v),
                                  **_pages()},
    # Instances.
    "RunInstances": _run_instances,
    "DescribeInstances": lambda v: {"instance_ids": _items(v, "instancesSet", "instanceId"),
                                    "filters": _filters(v), **_pages()},
    "StartInstances": lambda v: {"instance_ids": _items(v, "instancesSet", "instanceId")},
    "StopInstances": lambda v: {"instance_ids": _items(v, "instancesSet", "instanceId"),
                                "force": bool(v.get("force"))},
    "RebootInstances": lambda v: {"instance_ids": [i["instanceId"] for i in (v.get("instancesSet") or {}).get(
        "item") or () if i.get("instanceId")]},
    "TerminateInstances": lambda v: {"instance_ids": _items(v, "instancesSet", "instanceId")},
    "DescribeInstanceAttribute": lambda v: {"instance_id": _req(v, "instanceId"),
                                            "attribute": _one_of(v, _INSTANCE_ATTRIBUTES, "attribute")},
    "ModifyInstanceAttribute": _modify_instance_attribute,
    "ResetInstanceAttribute": lambda v: {"instance_id": _req(v, "instanceId"),
                                         "attribute": _one_of(v, ("kernel", "ramdisk"), "attribute")},
    "GetConsoleOutput": lambda v: {"instance_id": _req(v, "instanceId")},
    "GetPasswordData": lambda v: {"instance_id": _req(v, "instanceId")},
    # Images.
    "DescribeImages": lambda v: {"image_ids": _items(v, "imagesSet", "imageId"),
                                 "owners": _items(v, "ownersSet", "owner"),
                                 "executable_by": _items(v, "executableBySet", "user"),
                                 "filters": _filters(v), **_pages()},
    "CreateImage": lambda v: {"instance_id": _req(v, "instanceId"), "name": _req(v, "name"),
                              "description": v.get("description"), "no_reboot": bool(v.get("noReboot"))},
    "RegisterImage": lambda v: {"name": _req(v, "name"), "image_location": v.get("imageLocation"),
                                "description": v.get("description"), "architecture": v.get("architecture")},
    "DeregisterImage": lambda v: {"image_id": _req(v, "imageId")},
    "DescribeImageAttribute": lambda v: {"image_id": _req(v, "imageId"), "attribute": _one_of(
        v, ("launchPermission", "productCodes", "kernel", "ramdisk", "blockDeviceMapping", "description"),
        "attribute")},
    "ModifyImageAttribute": _modify_image_attribute,
    "ResetImageAttribute": lambda v: {"image_id": _req(v, "imageId"),
                                      "attribute": _one_of(v, ("launchPermission",), "attribute")},
    # Security groups.
    "CreateSecurityGroup": lambda v: {"group_name": _req(v, "groupName"),
                                      "group_description": _req(v, "groupDescription")},
    "DeleteSecurityGroup": lambda v: {"group_name": _req(v, "groupName"), "group_id": None},
    "DescribeSecurityGroups": lambda v: {"group_names": _items(v, "securityGroupSet", "groupName"),
                                         "group_ids": [], "filters": _filters(v), **_pages()},
    "AuthorizeSecurityGroupIngress": _rules,
    "RevokeSecurityGroupIngress": _rules,
}


def bind(action: str, request: Request) -> dict[str, Any]:
    return BINDINGS[action](request)
