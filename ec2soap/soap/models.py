"""Spyne models of the EC2 2010-11-15 SOAP types, built from the wire shapes (wire/shapes.py, wire/types/, the
SOAP request types of wire/inputs.py's REQUESTS), and the conversions between them and plain Python. Never
imports query/ or s3/.

One ComplexModel per EC2 type name, in EC2's namespace, with the shape's element order and occurrences.
Elements added by later EC2 versions (`since` > 2010-11-15) are left out: SOAP speaks 2010-11-15 only.
Two shapes that share a type name must agree at 2010-11-15, or building the models fails.
"""
from __future__ import annotations

from typing import Any

from spyne import Boolean, ByteArray, ComplexModel, DateTime, Double, Integer32, Integer64, Unicode, XmlAttribute

from ec2soap.wire import types as _types  # noqa: F401  (registers every response shape)
from ec2soap.wire.inputs import REQUESTS
from ec2soap.wire.shapes import BASE_VERSION, RESPONSES, Field, ListOf, Shape, Struct, namespace_for

__all__ = ["NAMESPACE", "Models", "base_fields"]

NAMESPACE = namespace_for(BASE_VERSION)
_SCALARS = {"string": Unicode, "int": Integer32, "long": Integer64, "boolean": Boolean, "dateTime": DateTime,
            "double": Double, "base64": ByteArray}


def base_fields(shape: Struct) -> tuple[Field, ...]:
    """The fields of SHAPE that exist in the 2010-11-15 API."""
    return tuple(f for f in shape.fields if f.since <= BASE_VERSION)


def _soap_type(action: str) -> Struct:
    shape = REQUESTS[action].soap
    if shape is None:
        raise KeyError(f"{action} has no 2010-11-15 SOAP request type")
    return shape


def _signature(shape: Shape) -> Any:
    if isinstance(shape, str):
        return shape
    if isinstance(shape, ListOf):
        return ("list", _signature(shape.item), shape.min)
    return tuple((f.xml, _signature(f.shape), f.min, f.max) for f in base_fields(shape))


class Models:
    """The Spyne classes for a set of actions, by EC2 type name, plus request/response conversions."""

    def __init__(self, actions: list[str]):
        self.classes: dict[str, type[ComplexModel]] = {}
        self._signatures: dict[str, Any] = {}
        self.requests = {a: self.model(_soap_type(a)) for a in actions}
        self.responses = {a: self.model(RESPONSES[a]) for a in actions}

    # -- building -------------------------------------------------------------------------------------------
    def model(self, shape: Struct | ListOf) -> type[ComplexModel]:
        signature = _signature(shape)
        known = self.classes.get(shape.name)
        if known is not None:
            if self._signatures[shape.name] != signature:
                raise ValueError(f"EC2 type {shape.name} is declared twice with different elements")
            return known
        if isinstance(shape, ListOf):
            type_info = [("item", self._element(shape.item, shape.min, None))]
        else:
            type_info = []
            for fld in base_fields(shape):
                if fld.xml.startswith("@"):
                    type_info.append((fld.xml[1:], XmlAttribute(_SCALARS[fld.shape], use="required")))
                else:
                    type_info.append((fld.xml, self._element(fld.shape, fld.min, fld.max)))
        cls = type(shape.name, (ComplexModel,), {"__namespace__": NAMESPACE, "__type_name__": shape.name,
                                                 "_type_info": type_info})
        self.classes[shape.name] = cls
        self._signatures[shape.name] = signature
        return cls

    def _element(self, shape: Shape, min_occurs: int, max_occurs: int | None) -> Any:
        base = _SCALARS[shape] if isinstance(shape, str) else self.model(shape)
        return base.customize(min_occurs=min_occurs, max_occurs="unbounded" if max_occurs is None else max_occurs,
                              nillable=False)

    def takes_arguments(self, action: str) -> bool:
        """Whether ACTION's request type has elements (AllocateAddressType has none)."""
        return bool(base_fields(_soap_type(action)))

    # -- request objects → plain Python -----------------------------------------------------------------------
    def request_value(self, action: str, obj: Any) -> dict[str, Any]:
        """The request object as dicts (structs), lists (sets) and scalars, keyed by element name."""
        return self._plain(_soap_type(action), obj) or {}

    def _plain(self, shape: Shape, obj: Any) -> Any:
        if obj is None or isinstance(shape, str):
            return obj
        if isinstance(shape, ListOf):
            return [self._plain(shape.item, one) for one in (getattr(obj, "item", None) or ())]
        out = {}
        for fld in base_fields(shape):
            name = fld.xml.lstrip("@")
            value = getattr(obj, name, None)
            if fld.max != 1:
                out[name] = [self._plain(fld.shape, one) for one in (value or ())]
            else:
                out[name] = self._plain(fld.shape, value)
        return out
