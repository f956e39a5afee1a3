"""Query odd cases for instances: one instance id in either of its forms, and ModifyInstanceAttribute's two
forms (Attribute/Value, or one `<Attribute>.Value` per attribute)."""
from __future__ import annotations

from typing import Any

from ec2soap.errors import ERRORS
from ec2soap.query.params import QueryParams

__all__ = ["CONVERTERS", "MODIFIABLE"]

# ModifyInstanceAttribute's per-attribute parameters (`InstanceType.Value=…`), besides Attribute/Value.
MODIFIABLE = {"InstanceType": "instanceType", "UserData": "userData", "Kernel": "kernel", "Ramdisk": "ramdisk",
              "DisableApiTermination": "disableApiTermination",
              "InstanceInitiatedShutdownBehavior": "instanceInitiatedShutdownBehavior",
              "SourceDestCheck": "sourceDestCheck", "EbsOptimized": "ebsOptimized",
              "SriovNetSupport": "sriovNetSupport", "EnaSupport": "enaSupport",
              "DisableApiStop": "disableApiStop"}


def one_instance_id(p: QueryParams) -> dict[str, Any]:
    # boto 2 (like the 2008 API) sends GetConsoleOutput's id as InstanceId.1.
    listed = p.list("InstanceId")
    return {"instance_id": p.str("InstanceId", required=not listed) or listed[0]}


def modify_instance_attribute(p: QueryParams) -> dict[str, Any]:
    changes = []
    if "Attribute" in p:
        if "Value" not in p:
            raise ERRORS["MissingParameter"](name="Value")
        changes.append((p.str("Attribute"), p.str("Value")))
    for name, attribute in MODIFIABLE.items():
        if f"{name}.Value" in p:
            changes.append((attribute, p.str(f"{name}.Value")))
    if any(key.startswith("BlockDeviceMapping.") for key in p.raw):
        changes.append(("blockDeviceMapping", None))
    return {"changes": changes}


CONVERTERS = {"one_instance_id": one_instance_id, "modify_instance_attribute": modify_instance_attribute}
