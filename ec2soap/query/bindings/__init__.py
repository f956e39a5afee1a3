"""The Query door's odd cases: converters a request shape names (`In(type="convert", convert=NAME)`) for
what the generic reader (query/reader.py) cannot say as data. One module per family that has any (ODD_FAMILIES,
imported explicitly), each exporting CONVERTERS: NAME → function(QueryParams) → the core keyword arguments it
fills.
"""
from __future__ import annotations

from typing import Any, Callable

from ec2soap.query.params import QueryParams
from ec2soap.registry import collect

__all__ = ["CONVERTERS", "Converter", "ODD_FAMILIES"]

ODD_FAMILIES = ("instances", "images", "security_groups")

Converter = Callable[[QueryParams], dict[str, Any]]
CONVERTERS: dict[str, Converter] = collect("ec2soap.query.bindings", "CONVERTERS", ODD_FAMILIES)
