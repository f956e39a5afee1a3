"""Query bindings for images and image attributes."""
from __future__ import annotations

from typing import Any

from ec2soap.core.images import LaunchPermission
from ec2soap.errors import ERRORS
from ec2soap.query.bindings.volumes import tag_specifications, tags_by_type
from ec2soap.query.params import QueryParams

__all__ = ["BINDINGS"]


def _describe_images(p: QueryParams) -> dict[str, Any]:
    return {"image_ids": p.list("ImageId"), "owners": p.list("Owner"), "executable_by": p.list("ExecutableBy"),
            "filters": p.filters(), "max_results": p.int("MaxResults"), "next_token": p.str("NextToken")}


def _create_image(p: QueryParams) -> dict[str, Any]:
    return {"instance_id": p.str("InstanceId", required=True), "name": p.str("Name", required=True),
            "description": p.str("Description"), "no_reboot": p.bool("NoReboot", default=False),
            "tag_specifications": tags_by_type(p)}


def _register_image(p: QueryParams) -> dict[str, Any]:
    return {"name": p.str("Name", required=True), "image_location": p.str("ImageLocation"),
            "description": p.str("Description"), "architecture": p.str("Architecture"),
            "tags": tag_specifications(p, "image")}


def _permissions(entries: list[QueryParams]) -> list[LaunchPermission]:
    return [LaunchPermission(user_id=e.str("UserId"), group=e.str("Group")) for e in entries]


def _modify_image_attribute(p: QueryParams) -> dict[str, Any]:
    """Two Query forms: the 2010-11-15 one (LaunchPermission.Add.N.UserId|Group, Description.Value, ProductCode.N)
    and the older one boto 2 and boto3 also send (Attribute, OperationType, UserId.N, UserGroup.N, Value)."""
    add = _permissions(p.structs("LaunchPermission.Add"))
    remove = _permissions(p.structs("LaunchPermission.Remove"))
    description = p.str("Description.Value")
    product_codes = p.list("ProductCode")
    attribute = p.str("Attribute")
    if attribute == "launchPermission" or (attribute is None and (p.list("UserId") or p.list("UserGroup"))):
        operation = (p.str("OperationType") or "").lower()
        if operation not in ("add", "remove"):
            raise ERRORS["InvalidParameterValue"](
                detail=f"Value ({p.str('OperationType')}) for parameter operationType is invalid. "
                       f"Expected add or remove.")
        entries = [LaunchPermission(user_id=u) for u in p.list("UserId")] + \
                  [LaunchPermission(group=g) for g in p.list("UserGroup")]
        (add if operation == "add" else remove).extend(entries)
    elif attribute == "description":
        description = p.str("Value", default=description)
    elif attribute == "productCodes":
        product_codes += p.list("ProductCode") or [p.str("Value", default="")]
    elif attribute is not None:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value ({attribute}) for parameter attribute is invalid. Unknown attribute.")
    return {"image_id": p.str("ImageId", required=True), "description": description,
            "launch_permission_add": add, "launch_permission_remove": remove, "product_codes": product_codes}


BINDINGS = {
    "DescribeImages": _describe_images,
    "CreateImage": _create_image,
    "RegisterImage": _register_image,
    "DeregisterImage": lambda p: {"image_id": p.str("ImageId", required=True)},
    "DescribeImageAttribute": lambda p: {"image_id": p.str("ImageId", required=True),
                                         "attribute": p.str("Attribute", required=True)},
    "ModifyImageAttribute": _modify_image_attribute,
    "ResetImageAttribute": lambda p: {"image_id": p.str("ImageId", required=True),
                                      "attribute": p.str("Attribute", required=True)},
}
