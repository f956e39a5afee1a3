"""Per-family shape declarations; importing this package registers every response shape in RESPONSES."""
from __future__ import annotations

import importlib

_FAMILIES = ["common", "key_pairs", "zones", "instances", "images", "volumes", "snapshots", "security_groups",
             "addresses", "tags", "passwords"]

for _name in _FAMILIES:
    try:
        importlib.import_module(f"ec2soap.wire.types.{_name}")
    except ModuleNotFoundError as _exc:
        if _exc.name != f"ec2soap.wire.types.{_name}":
            raise
