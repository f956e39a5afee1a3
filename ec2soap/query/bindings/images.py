"""Query odd cases for images: ModifyImageAttribute's two forms."""
from __future__ import annotations

from typing import Any

from ec2soap.core.images import LaunchPermission
from ec2soap.errors import ERRORS
from ec2soap.query.params import QueryParams

__all__ = ["CONVERTERS"]


def _permissions(entries: list[QueryParams]) -> list[LaunchPermission]:
    return [LaunchPermission(user_id=e.str("UserId"), group=e.str("Group")) for e in entries]


def modify_image_attribute(p: QueryParams) -> dict[str, Any]:
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
    return {"description": description,
            "launch_permission_add": add, "launch_permission_remove": remove, "product_codes": product_codes}


CONVERTERS = {"modify_image_attribute": modify_image_attribute}
