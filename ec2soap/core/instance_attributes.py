"""Instance attributes, console output and passwords: DescribeInstanceAttribute, ModifyInstanceAttribute,
ResetInstanceAttribute, GetConsoleOutput, GetPasswordData. Core: no Twisted, Spyne, lxml or SQL here.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.core.instance_model import BlockDevice, GroupRef, find_vms, offering_for_type, to_instances
from ec2soap.core.terminations import caller_account_id
from ec2soap.errors import ERRORS

__all__ = ["AttributeValue", "InstanceAttribute", "ConsoleOutput", "PasswordData", "OPERATIONS",
           "DESCRIBABLE_ATTRIBUTES"]


@dataclass(frozen=True)
class AttributeValue:
    """EC2's NullableAttributeValueType: `<x><value>…</value></x>`, or `<x/>` when value is None."""
    value: Any = None


@dataclass
class InstanceAttribute:
    """One attribute of one instance; exactly one of the attribute fields is set."""
    instance_id: str
    instance_type: AttributeValue | None = None
    kernel: AttributeValue | None = None
    ramdisk: AttributeValue | None = None
    user_data: AttributeValue | None = None
    disable_api_termination: AttributeValue | None = None
    instance_initiated_shutdown_behavior: AttributeValue | None = None
    root_device_name: AttributeValue | None = None
    block_device_mapping: list[BlockDevice] | None = None
    product_codes: list[Any] | None = None
    ebs_optimized: AttributeValue | None = None
    groups: list[GroupRef] | None = None


@dataclass(frozen=True)
class ConsoleOutput:
    instance_id: str
    timestamp: datetime
    output: str


@dataclass(frozen=True)
class PasswordData:
    instance_id: str
    timestamp: datetime
    password_data: str


DESCRIBABLE_ATTRIBUTES = ("instanceType", "kernel", "ramdisk", "userData", "disableApiTermination",
                          "instanceInitiatedShutdownBehavior", "rootDeviceName", "blockDeviceMapping",
                          "productCodes", "ebsOptimized", "groupSet")


def _unknown_attribute(attribute: str) -> Exception:
    return ERRORS["InvalidParameterValue"](
        detail=f"Value ({attribute}) for parameter attribute is invalid. Unknown attribute.")


def _now(ctx: RequestContext) -> datetime:
    return datetime.fromtimestamp(ctx.clock(), timezone.utc)


async def describe_instance_attribute(ctx: RequestContext, instance_id: str, attribute: str) -> InstanceAttribute:
    """DescribeInstanceAttribute → listVirtualMachines (userdata=true for userData, listVolumes for block
    devices). CloudStack has no kernels, ramdisks or termination protection: those answer EC2's empty or
    default values."""
    if attribute not in DESCRIBABLE_ATTRIBUTES:
        raise _unknown_attribute(attribute)
    vm, = await find_vms(ctx, [instance_id], userdata=True if attribute == "userData" else None)
    volumes = await ctx.cloud.list_volumes(virtualmachineid=vm["id"]) if attribute == "blockDeviceMapping" else []
    inst, = await to_instances(ctx, [vm], volumes=volumes)
    out = InstanceAttribute(inst.instance_id)
    if attribute == "instanceType":
        out.instance_type = AttributeValue(inst.instance_type)
    elif attribute == "kernel":
        out.kernel = AttributeValue()
    elif attribute == "ramdisk":
        out.ramdisk = AttributeValue()
    elif attribute == "userData":
        out.user_data = AttributeValue(vm.get("userdata") or None)
    elif attribute == "disableApiTermination":
        protected = await ctx.records.protected([vm["id"]]) if ctx.records is not None else set()
        out.disable_api_termination = AttributeValue(vm["id"] in protected)
    elif attribute == "instanceInitiatedShutdownBehavior":
        out.instance_initiated_shutdown_behavior = AttributeValue("stop")
    elif attribute == "rootDeviceName":
        out.root_device_name = AttributeValue(inst.root_device_name)
    elif attribute == "blockDeviceMapping":
        out.block_device_mapping = inst.block_device_mapping
    elif attribute == "productCodes":
        out.product_codes = []
    elif attribute == "ebsOptimized":
        out.ebs_optimized = AttributeValue(False)
    else:
        out.groups = inst.groups
    return out


def _user_data(value: str) -> str:
    text = "".join(value.split())
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ERRORS["InvalidParameterValue"](detail="Invalid BASE64 encoding of user data.") from None
    if not raw:
        # CloudStack quirk: it refuses empty user data ("User data is too short"), so it cannot be cleared.
        raise ERRORS["InvalidParameterValue"](detail="User data cannot be empty")
    return base64.b64encode(raw).decode("ascii")


def _flag(value: str, name: str) -> bool:
    lowered = str(value).strip().lower()
    if lowered not in ("true", "false"):
        raise ERRORS["InvalidParameterValue"](detail=f"Value ({value}) for parameter {name} is invalid.")
    return lowered == "true"


async def modify_instance_attribute(ctx: RequestContext, instance_id: str,
                                    changes: Sequence[tuple[str, Any]] = (),
                                    group_ids: Sequence[str] = ()) -> bool:
    """ModifyInstanceAttribute → changeServiceForVirtualMachine (instanceType) or updateVirtualMachine
    (userData, groupSet). One attribute per call, and the instance must be stopped, as in EC2 (CloudStack
    changes a running VM's offering only for dynamically scalable ones)."""
    wanted = list(changes) + ([("groupSet", list(group_ids))] if group_ids else [])
    if not wanted:
        raise ERRORS["MissingParameter"](name="Attribute")
    if len(wanted) > 1:
        raise ERRORS["InvalidParameterCombination"](detail="Fields for multiple attribute types specified: "
                                                    + ", ".join(name for name, _ in wanted))
    attribute, value = wanted[0]
    vm, = await find_vms(ctx, [instance_id])
    inst, = await to_instances(ctx, [vm])
    if attribute == "disableApiTermination":
        # CloudStack cannot protect a VM: we keep the flag and TerminateInstances enforces it.
        flag = _flag(value, attribute)
        if ctx.records is None:
            if flag:
                raise ERRORS["InvalidParameterValue"](detail="This gateway keeps no instance records: "
                                                             "termination protection cannot be kept")
            return True
        await ctx.records.set_protection(vm["id"], inst.instance_id, await caller_account_id(ctx), flag)
        return True
    if attribute == "instanceInitiatedShutdownBehavior":
        if str(value) != "stop":
            raise ERRORS["InvalidParameterValue"](
                detail=f"Value ({value}) for parameter instanceInitiatedShutdownBehavior is invalid. "
                       "Only 'stop' is supported.")
        return True
    if attribute not in ("instanceType", "userData", "groupSet"):
        raise _unknown_attribute(attribute)
    if str(vm.get("state", "")).lower() != "stopped" or inst.instance_state.name != "stopped":
        raise ERRORS["IncorrectInstanceState"](instance_id=inst.instance_id, action="modified")
    try:
        if attribute == "instanceType":
            offering = await offering_for_type(ctx, str(value))
            if offering["id"] != vm.get("serviceofferingid"):
                await ctx.cloud.change_service_for_virtual_machine(id=vm["id"], serviceofferingid=offering["id"])
        elif attribute == "userData":
            await ctx.cloud.update_virtual_machine(id=vm["id"], userdata=_user_data(str(value)))
        else:
            groups = await ctx.cloud.list_security_groups()
            mine = {g["id"] for g in groups}
            mapped = await ctx.ids.to_cloudstack_many("security-group", value)
            for group_id in value:
                if mapped.get(group_id) not in mine:
                    raise ERRORS["InvalidGroup.NotFound"](group=group_id)
            await ctx.cloud.update_virtual_machine(id=vm["id"],
                                                   securitygroupids=list(dict.fromkeys(mapped[g] for g in value)))
    except CloudStackApiError as exc:
        if exc.errorcode != 431:
            raise
        text = exc.errortext.lower()
        if "stopped" in text or "state" in text:
            raise ERRORS["IncorrectInstanceState"](instance_id=inst.instance_id, action="modified") from None
        raise ERRORS["InvalidParameterValue"](detail=exc.errortext) from None
    return True


# EC2 resets only these; CloudStack VMs boot their template's own kernel and ramdisk, which is the default,
# and have no source/destination check to turn back on.
RESETTABLE_ATTRIBUTES = ("kernel", "ramdisk", "sourceDestCheck")


async def reset_instance_attribute(ctx: RequestContext, instance_id: str, attribute: str) -> bool:
    """ResetInstanceAttribute → listVirtualMachines only: kernel and ramdisk are always their defaults on
    CloudStack (the instance must be stopped, as in EC2), sourceDestCheck is always on. Other attributes
    cannot be reset, as in EC2."""
    if attribute not in RESETTABLE_ATTRIBUTES:
        if attribute in DESCRIBABLE_ATTRIBUTES:
            raise ERRORS["InvalidParameterValue"](
                detail=f"Value ({attribute}) for parameter attribute is invalid. Only kernel, ramdisk and "
                       f"sourceDestCheck can be reset.")
        raise _unknown_attribute(attribute)
    vm, = await find_vms(ctx, [instance_id])
    inst, = await to_instances(ctx, [vm])
    if attribute in ("kernel", "ramdisk") and inst.instance_state.name != "stopped":
        raise ERRORS["IncorrectInstanceState"](instance_id=inst.instance_id, action="modified")
    return True


async def get_console_output(ctx: RequestContext, instance_id: str) -> ConsoleOutput:
    """GetConsoleOutput → listVirtualMachines only. CloudStack quirk: it has no API for a VM's console log, so
    the output is always empty (base64 of nothing), like EC2's answer before an instance has logged."""
    vm, = await find_vms(ctx, [instance_id])
    inst_id = await ctx.ids.to_ec2("instance", vm["id"])
    return ConsoleOutput(inst_id, _now(ctx), "")


async def get_password_data(ctx: RequestContext, instance_id: str) -> PasswordData:
    """GetPasswordData → getVMPassword: CloudStack's password encrypted with the VM's key pair (base64 RSA,
    what EC2 clients decrypt with the private key). No password yet (or a template without passwords) answers
    empty passwordData, like EC2 while the password is not ready."""
    vm, = await find_vms(ctx, [instance_id])
    inst_id = await ctx.ids.to_ec2("instance", vm["id"])
    try:
        found = await ctx.cloud.get_vm_password(id=vm["id"])
        data = str((found or {}).get("encryptedpassword") or "")
    except CloudStackApiError as exc:
        if exc.errorcode != 431:
            raise
        data = ""
    return PasswordData(inst_id, _now(ctx), data)


OPERATIONS: dict[str, Any] = {
    "DescribeInstanceAttribute": describe_instance_attribute,
    "ModifyInstanceAttribute": modify_instance_attribute,
    "ResetInstanceAttribute": reset_instance_attribute,
    "GetConsoleOutput": get_console_output,
    "GetPasswordData": get_password_data,
}
