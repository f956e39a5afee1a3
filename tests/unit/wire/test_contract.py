"""The contract between the response shapes and the core: every attribute a shape reads exists on the dataclass
the action's core operation returns (by its type hints), or is listed in ABSENT with the reason it is empty.

A renamed dataclass field would otherwise drop its element silently: the renderer reads a missing attribute as
None and leaves the element out."""
from __future__ import annotations

import ast
import dataclasses
import pathlib
import types
import typing
from typing import Any

from ec2soap import registry
from ec2soap.wire import shapes

# (shape type name, element) → why the core has nothing for it. Keyed by the shape type, so an item type that
# several actions share (RunningInstancesItemType) is listed once.
ABSENT: dict[tuple[str, str], str] = {
    **{("RunningInstancesItemType", xml): "no CloudStack equivalent; EC2 leaves it out too for such instances"
       for xml in ("productCodes", "kernelId", "ramdiskId", "subnetId", "vpcId", "instanceLifecycle",
                   "spotInstanceRequestId", "license")},
    ("RunningInstancesItemType", "clientToken"):
        "not kept on Instance yet: EC2 shows the launch's ClientToken (the records hold it; a known gap)",
    ("PlacementResponseType", "groupName"): "no placement groups in CloudStack",
    **{("DescribeImagesResponseItemType", xml): "no CloudStack equivalent for a template"
       for xml in ("productCodes", "kernelId", "ramdiskId", "stateReason")},
    ("BlockDeviceMappingItemType", "virtualName"): "no instance store (ephemeral) devices in CloudStack",
    ("BlockDeviceMappingItemType", "noDevice"): "a template never suppresses a device",
    ("InstanceStatusDetailsSetItemType", "impairedSince"): "the simulator and CloudStack report no impairment",
}


def _operations() -> dict[str, Any]:
    registry.collect("ec2soap.wire.types", None)
    return registry.collect("ec2soap.core", "OPERATIONS")


def _hint(tp: Any, attr: str) -> Any:
    hints = typing.get_type_hints(tp)
    if attr in hints:
        return hints[attr]
    prop = getattr(tp, attr, None)
    if isinstance(prop, property):
        return typing.get_type_hints(prop.fget).get("return", Any)
    return None


def _one(tp: Any) -> list[Any]:
    """The types a value of TP may have (a Union's members without None)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [a for a in typing.get_args(tp) if a is not type(None)]
    return [tp]


def _items(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if isinstance(origin, type) and issubclass(origin, (list, tuple, set, frozenset)) and typing.get_args(tp):
        return typing.get_args(tp)[0]
    return None


def _check(shape: shapes.Shape, tp: Any, path: str, out: list[str], seen: set) -> None:
    if isinstance(shape, str) or tp is Any:
        return
    for member in _one(tp):
        if (shape.name, member) in seen:
            continue
        seen.add((shape.name, member))
        if isinstance(shape, shapes.ListOf):
            item = _items(member)
            if item is None:
                out.append(f"{path}: the set {shape.name} is over {member}, not a list")
            else:
                _check(shape.item, item, path + "[]", out, seen)
            continue
        for fld in shape.fields:
            if fld.attr == "request_id" and path.count("/") == 0:
                continue  # the adapter's requestId
            if fld.attr == ".":
                _check(fld.shape, member, f"{path}/{fld.xml}", out, seen)
                continue
            if (shape.name, fld.xml) in ABSENT:
                continue
            hint = _hint(member, fld.attr) if dataclasses.is_dataclass(member) else None
            if hint is None:
                name = getattr(member, "__name__", str(member))
                out.append(f"{path}/{fld.xml}: {shape.name} reads {fld.attr!r}, which {name} has not")
                continue
            if fld.max != 1 and _items(hint) is not None and not isinstance(fld.shape, shapes.ListOf):
                hint = _items(hint)
            _check(fld.shape, hint, f"{path}/{fld.xml}", out, seen)


def _declared() -> set[str]:
    """The actions ec2soap/wire/types registers (RESPONSES may also hold a test's own shapes)."""
    folder = pathlib.Path(shapes.__file__).parent / "types"
    out = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                out.add(node.args[0].value)
    return out


def _violations() -> list[str]:
    operations = _operations()
    out: list[str] = []
    declared = _declared()
    assert declared and declared <= set(shapes.RESPONSES)
    for action, shape in sorted((a, s) for a, s in shapes.RESPONSES.items() if a in declared):
        operation = operations.get(action)
        if operation is None:
            out.append(f"{action}: a response shape without a core operation")
            continue
        returned = typing.get_type_hints(operation).get("return")
        if returned is None:
            out.append(f"{action}: {operation.__qualname__} has no return annotation")
            continue
        _check(shape, returned, action, out, set())
    return out


def test_every_shape_attribute_exists_on_the_returned_dataclass_or_is_absent_on_purpose() -> None:
    assert _violations() == []


def test_every_absent_entry_names_a_shape_element_that_the_core_really_lacks() -> None:
    """ABSENT stays true: an entry whose element the core now fills (or whose shape is gone) is removed."""
    structs = {}
    for shape in shapes.RESPONSES.values():
        for one in shapes.walk(shape):
            if isinstance(one, shapes.Struct):
                structs[one.name] = one
    for (name, xml), reason in ABSENT.items():
        assert reason and name in structs, name
        assert xml in [f.xml for f in structs[name].fields], (name, xml)


def test_a_renamed_field_is_caught() -> None:
    """The check itself: a shape reading a name the dataclass does not have is reported."""
    @dataclasses.dataclass
    class Thing:
        thing_id: str
    shape = shapes.Struct("ThingType", (shapes.field_("thingId"), shapes.field_("thingName")))
    out: list[str] = []
    _check(shape, Thing, "Probe", out, set())
    assert out == ["Probe/thingName: ThingType reads 'thing_name', which Thing has not"]
