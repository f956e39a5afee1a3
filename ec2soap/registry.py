"""Join per-family tables (core OPERATIONS, wire shapes, the doors' converters) into one, refusing duplicates.

Plain Python with no imports of our own, so core/, query/, soap/ and wire/ can all use it.
"""
from __future__ import annotations

import importlib
from functools import lru_cache
from typing import Any, Iterable

__all__ = ["FAMILIES", "collect", "resolve"]

# The EC2 resource families, one module per family in core/ and wire/types/ (request and response shapes).
FAMILIES = ("key_pairs", "zones", "instances", "images", "volumes", "snapshots", "security_groups",
            "addresses", "tags", "vpcs", "placement_groups", "network_interfaces", "internet_gateways",
            "route_tables", "network_acls")


def collect(package: str, attribute: str | None, families: Iterable[str] = FAMILIES) -> dict[str, Any]:
    """Import PACKAGE.<family> for each family and merge its ATTRIBUTE dict (None: only import). A missing
    family module is an ImportError (never a silent skip), and a name declared by two families is an error, so
    two modules can never silently disagree."""
    table: dict[str, Any] = {}
    for name in families:
        module = importlib.import_module(f"{package}.{name}")
        for key, value in (getattr(module, attribute) if attribute else {}).items():
            if key in table:
                raise ValueError(f"{package}: {key} is declared by two families")
            table[key] = value
    return table


@lru_cache(maxsize=None)
def resolve(name: str) -> Any:
    """The object "package.module:attribute" names: how wire/'s request shapes name the core dataclass a struct
    builds without importing the core (the layers forbid it); the doors' readers resolve it."""
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)
