"""EC2-VPC family `internet_gateways` (issue 12): being built; no actions yet. Core: no Twisted, Spyne, lxml or SQL here."""
from __future__ import annotations

from typing import Any

OPERATIONS: dict[str, Any] = {}
