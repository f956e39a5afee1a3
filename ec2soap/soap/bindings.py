"""The SOAP door's odd cases: converters a request shape names (`In(type="convert", convert=NAME)`) for what the
generic reader (soap/reader.py) cannot say as data: xs:choice groups that fill several keywords, and
IpPermissions. Each takes the request as plain values (soap/models.py) and returns the keywords it fills; the
Query door's converters of the same names (query/bindings/) give the same keywords. Never imports query/.
"""
from __future__ import annotations

from typing import Any, Callable

from ec2soap.core.images import LaunchPermission
from ec2soap.core.security_groups import IpPermission, IpRange, UserIdGroupPair
from ec2soap.errors import ERRORS

__all__ = ["CONVERTERS"]

Request = dict[str, Any]

# ModifyInstanceAttribute's attributes in 2010-11-15 (each an element holding a value).
_MODIFIABLE = ("instanceType", "kernel", "ramdisk", "userData", "disableApiTermination",
               "instanceInitiatedShutdownBehavior")


def _one_instance_id(v: Request) -> dict[str, Any]:
    # Query also takes InstanceId.1 (boto 2); SOAP has one element.
    value = v.get("instanceId")
    if value is None or value == "":
        raise ERRORS["MissingParameter"](name="instanceId")
    return {"instance_id": value}


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
    return {"changes": changes}


def _permissions(entries: Any) -> list[LaunchPermission]:
    return [LaunchPermission(user_id=e.get("userId"), group=e.get("group")) for e in entries or ()]


def _modify_image_attribute(v: Request) -> dict[str, Any]:
    launch = v.get("launchPermission") or {}
    description = v.get("description")
    product_codes = v.get("productCodes")
    if not launch and description is None and product_codes is None:
        raise ERRORS["MissingParameter"](name="attribute")
    return {"description": description.get("value") if description is not None else None,
            "launch_permission_add": _permissions(launch.get("add")),
            "launch_permission_remove": _permissions(launch.get("remove")),
            "product_codes": [p["productCode"] for p in product_codes or ()]}


def _ip_permissions(v: Request) -> dict[str, Any]:
    return {"ip_permissions": [
        IpPermission(ip_protocol=p.get("ipProtocol"), from_port=p.get("fromPort"), to_port=p.get("toPort"),
                     groups=[UserIdGroupPair(user_id=g.get("userId"), group_name=g.get("groupName"))
                             for g in p.get("groups") or ()],
                     ip_ranges=[IpRange(r["cidrIp"]) for r in p.get("ipRanges") or () if r.get("cidrIp")])
        for p in v.get("ipPermissions") or ()]}


CONVERTERS: dict[str, Callable[[Request], dict[str, Any]]] = {
    "one_instance_id": _one_instance_id,
    "modify_instance_attribute": _modify_instance_attribute,
    "modify_image_attribute": _modify_image_attribute,
    "ip_permissions": _ip_permissions,
}
