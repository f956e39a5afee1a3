"""Query bindings for instances: RunInstances, DescribeInstances, DescribeInstanceStatus, the life cycle,
instance attributes, GetConsoleOutput and GetPasswordData."""
from typing import Any

from ec2soap.errors import ERRORS
from ec2soap.query.bindings.volumes import block_device_mappings, tags_by_type
from ec2soap.query.params import QueryParams

# ModifyInstanceAttribute's per-attribute parameters (`InstanceType.Value=…`), besides Attribute/Value.
_MODIFIABLE = {"InstanceType": "instanceType", "UserData": "userData", "Kernel": "kernel", "Ramdisk": "ramdisk",
               "DisableApiTermination": "disableApiTermination",
               "InstanceInitiatedShutdownBehavior": "instanceInitiatedShutdownBehavior",
               "SourceDestCheck": "sourceDestCheck", "EbsOptimized": "ebsOptimized",
               "SriovNetSupport": "sriovNetSupport", "EnaSupport": "enaSupport",
               "DisableApiStop": "disableApiStop"}


def _ids(p: QueryParams) -> list[str]:
    return p.list("InstanceId")


def _one_id(p: QueryParams) -> str:
    # boto 2 (like the 2008 API) sends GetConsoleOutput's id as InstanceId.1.
    listed = p.list("InstanceId")
    return p.str("InstanceId", required=not listed) or listed[0]


def _run(p: QueryParams) -> dict[str, Any]:
    return {"image_id": p.str("ImageId", required=True), "client_token": p.str("ClientToken") or None,
            "disable_api_termination": p.bool("DisableApiTermination", default=False),
            "min_count": p.int("MinCount", required=True),
            "max_count": p.int("MaxCount", required=True),
            "instance_type": p.str("InstanceType"),
            "key_name": p.str("KeyName"),
            "security_groups": p.list("SecurityGroup"),
            "security_group_ids": p.list("SecurityGroupId"),
            "user_data": p.str("UserData"),
            "availability_zone": p.str("Placement.AvailabilityZone"),
            "private_ip_address": p.str("PrivateIpAddress"),
            "tag_specifications": tags_by_type(p), "block_devices": block_device_mappings(p)}


def _describe(p: QueryParams) -> dict[str, Any]:
    return {"instance_ids": _ids(p), "filters": p.filters(), "max_results": p.int("MaxResults"),
            "next_token": p.str("NextToken")}


def _modify(p: QueryParams) -> dict[str, Any]:
    changes = []
    if "Attribute" in p:
        if "Value" not in p:
            raise ERRORS["MissingParameter"](name="Value")
        changes.append((p.str("Attribute"), p.str("Value")))
    for name, attribute in _MODIFIABLE.items():
        if f"{name}.Value" in p:
            changes.append((attribute, p.str(f"{name}.Value")))
    if any(key.startswith("BlockDeviceMapping.") for key in p.raw):
        changes.append(("blockDeviceMapping", None))
    return {"instance_id": _one_id(p), "changes": changes, "group_ids": p.list("GroupId")}


BINDINGS = {
    "RunInstances": _run,
    "DescribeInstances": _describe,
    "DescribeInstanceStatus": lambda p: {**_describe(p),
                                         "include_all_instances": p.bool("IncludeAllInstances", default=False)},
    "StartInstances": lambda p: {"instance_ids": _ids(p)},
    "StopInstances": lambda p: {"instance_ids": _ids(p), "force": p.bool("Force", default=False)},
    "RebootInstances": lambda p: {"instance_ids": _ids(p)},
    "TerminateInstances": lambda p: {"instance_ids": _ids(p)},
    "DescribeInstanceAttribute": lambda p: {"instance_id": _one_id(p),
                                            "attribute": p.str("Attribute", required=True)},
    "ModifyInstanceAttribute": _modify,
    "ResetInstanceAttribute": lambda p: {"instance_id": _one_id(p), "attribute": p.str("Attribute", required=True)},
    "GetConsoleOutput": lambda p: {"instance_id": _one_id(p)},
    "GetPasswordData": lambda p: {"instance_id": _one_id(p)},
}

__all__ = ["BINDINGS", "QueryParams"]
