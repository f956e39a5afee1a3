"""Model pieces shared by the core's resource families. Core: no Twisted, Spyne, lxml or SQL here.

Each family module keeps its own dataclasses (Instance in instances.py, Volume in volumes.py, ...); what
several families need lives here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Iterable

__all__ = ["Tag", "tags_of", "owner_id", "parse_cs_date", "EC2_TO_CS_RESOURCE", "CS_TO_EC2_RESOURCE",
           "ID_KIND_OF_RESOURCE", "GIB", "caller_account"]

GIB = 1024 ** 3


@dataclass(frozen=True)
class Tag:
    key: str
    value: str


def tags_of(cs: dict) -> list[Tag]:
    """The tags CloudStack returns on a resource (`tags: [{key, value, ...}]`)."""
    return [Tag(t.get("key", ""), t.get("value", "")) for t in cs.get("tags") or ()]


def owner_id(cs: dict) -> str:
    """EC2 ownerId for a CloudStack resource: its account's uuid (stable, unique, never reused)."""
    return str(cs.get("accountid") or cs.get("account") or "")


# CloudStack's own shape (optionally with a fraction): read by datetime.fromisoformat, ~40x faster than strptime.
_CS_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?[+-]\d{4}$")


def parse_cs_date(text: str | None) -> datetime | None:
    """CloudStack's 2021-10-04T09:24:38+0000 → an aware datetime (None when absent or unreadable)."""
    if not text:
        return None
    return _parse_cs_date(text)


# Profiled: strptime was the gateway's largest cost in DescribeInstances (two dates per instance and volume,
# every request); the same dates come back request after request, and datetimes are immutable.
@lru_cache(maxsize=8192)
def _parse_cs_date(text: str) -> datetime | None:
    if _CS_DATE.match(text):
        try:
            return datetime.fromisoformat(text).astimezone(timezone.utc)
        except ValueError:
            return None  # the shape, but no such date (month 13): strptime refuses it too
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(text, fmt).astimezone(timezone.utc)
        except ValueError:
            continue
    return None


# EC2 resource types (DescribeTags resource-type) ↔ CloudStack tag resource types (protocol.md §12): only the
# types whose tags CloudStack keeps. The VPC families' other types are tagged by the gateway (core/object_tags.py).
EC2_TO_CS_RESOURCE = {
    "instance": "UserVm",
    "image": "Template",
    "volume": "Volume",
    "snapshot": "Snapshot",
    "security-group": "SecurityGroup",
    "elastic-ip": "PublicIpAddress",
    "vpc": "Vpc",
    "subnet": "Network",  # a subnet is a VPC tier (core/vpcs.py)
}
CS_TO_EC2_RESOURCE = {v.lower(): k for k, v in EC2_TO_CS_RESOURCE.items()}
# The IdMap kind of each EC2 resource type.
ID_KIND_OF_RESOURCE = {"instance": "instance", "image": "image", "volume": "volume", "snapshot": "snapshot",
                       "security-group": "security-group", "elastic-ip": "allocation", "vpc": "vpc",
                       "subnet": "subnet", "internet-gateway": "internet-gateway", "route-table": "route-table",
                       "network-acl": "network-acl", "network-interface": "network-interface",
                       "placement-group": "placement-group"}


def first(items: Iterable[Any], default: Any = None) -> Any:
    return next(iter(items), default)


async def caller_account(ctx: Any) -> dict:
    """The caller's CloudStack account ({id, name, ...}; listAccounts shows a user their own account), asked
    once per request (the RequestContext's extras keep it)."""
    if "account" not in ctx.extras:
        accounts = await ctx.cloud.list_accounts()
        ctx.extras["account"] = accounts[0] if accounts else {"id": "", "name": ""}
    return ctx.extras["account"]
