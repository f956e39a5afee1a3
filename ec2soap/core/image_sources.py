"""What RegisterImage must tell registerTemplate that EC2 never asks: image format, zone, OS type, hypervisor.
Core: no Twisted, Spyne, lxml or SQL here.

The original redefined RegisterImage's Architecture as `format:zonename:ostypename:hypervisor` (cloudbridge.md
§4.3); we accept that and otherwise guess sensibly from the URL, the name and the zone.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from ec2soap.core.context import RequestContext
from ec2soap.errors import ERRORS

__all__ = ["Choice", "choose", "default_os_type", "format_of_url", "best_os_type"]

# URL extension → CloudStack image format (compression suffixes are looked through).
_FORMATS = {"qcow2": "QCOW2", "qcow": "QCOW2", "vhd": "VHD", "vhdx": "VHDX", "ova": "OVA", "raw": "RAW",
            "img": "RAW", "vmdk": "VMDK", "tar": "TAR", "iso": "ISO"}
_COMPRESSED = ("gz", "bz2", "zip", "xz")
# A hypervisor's native format, when the URL does not say.
_HYPERVISOR_FORMATS = {"kvm": "QCOW2", "xenserver": "VHD", "vmware": "OVA", "hyperv": "VHDX", "ovm": "RAW",
                       "lxc": "TAR"}
# Words that name no OS: left out when matching an OS type against a name.
_NOISE = {"bit", "64", "32", "lts", "server", "edition", "with", "the", "and", "for", "gui", "no", "x86", "amd64",
          "x86_64", "i386", "minimal", "image", "template", "other", "linux"}


@dataclass(frozen=True)
class Choice:
    zone_id: str
    format: str
    hypervisor: str
    ostype_id: str
    bits: int = 64


def format_of_url(url: str) -> str | None:
    """The image format an URL's file name says (None when it says nothing we know)."""
    path = url.split("?", 1)[0].split("#", 1)[0].rsplit("/", 1)[-1].lower()
    parts = path.split(".")
    while len(parts) > 1 and parts[-1] in _COMPRESSED:
        parts.pop()
    return _FORMATS.get(parts[-1]) if len(parts) > 1 else None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+|\d+(?:\.\d+)*", text.lower())


def best_os_type(ostypes: Sequence[dict], text: str) -> dict | None:
    """The OS type TEXT (an image name or description) names best: its first significant word (the OS, e.g.
    ubuntu) must appear, then the most other words (e.g. 22.04) win; None when nothing fits."""
    have = set(_words(text))
    best, best_score = None, 0
    for ostype in ostypes:
        words = [w for w in _words(ostype.get("description", "")) if w not in _NOISE]
        if not words or words[0] not in have:
            continue
        score = 1 + sum(1 for w in words[1:] if w in have)
        if score > best_score:
            best, best_score = ostype, score
    return best


async def default_os_type(ctx: RequestContext) -> str:
    """The "Other" OS type of this cloud (Other (64-bit) when it has one)."""
    ostypes = await ctx.cloud.list_os_types()
    for wanted in ("other (64-bit)", "other linux (64-bit)"):
        for ostype in ostypes:
            if ostype.get("description", "").lower() == wanted:
                return ostype["id"]
    others = [o for o in ostypes if o.get("description", "").lower().startswith("other")]
    if others or ostypes:
        return (others or ostypes)[0]["id"]
    raise ERRORS["InternalError"]()


async def _zone(ctx: RequestContext, name: str | None) -> dict:
    zones = await ctx.cloud.list_zones(available=True)
    if not name:
        if not zones:
            raise ERRORS["Unavailable"]("No availability zone is available")
        return zones[0]
    for zone in zones:
        if zone.get("name", "").lower() == name.lower():
            return zone
    raise ERRORS["InvalidZone.NotFound"](zone=name)


async def _os_type(ctx: RequestContext, named: str | None, text: str) -> str:
    ostypes = await ctx.cloud.list_os_types()
    if named:
        for ostype in ostypes:
            if ostype.get("description", "").lower() == named.lower():
                return ostype["id"]
        # The original took the first OS type whose description contains the given name.
        for ostype in ostypes:
            if named.lower() in ostype.get("description", "").lower():
                return ostype["id"]
        raise ERRORS["InvalidParameterValue"](detail=f"Unknown OS type: {named}")
    found = best_os_type(ostypes, text)
    return found["id"] if found else await default_os_type(ctx)


async def _hypervisor(ctx: RequestContext, named: str | None, zone: dict) -> str:
    available = [h["name"] for h in await ctx.cloud.list_hypervisors(zoneid=zone["id"])]
    if named:
        for name in available:
            if name.lower() == named.lower():
                return name
        raise ERRORS["InvalidParameterValue"](
            detail=f"Hypervisor {named} is not available in zone {zone.get('name')}; available: "
                   f"{', '.join(available)}")
    if not available:
        raise ERRORS["Unavailable"](f"Zone {zone.get('name')} has no hypervisor")
    return available[0]


async def choose(ctx: RequestContext, url: str, name: str, description: str | None,
                 architecture: str | None) -> Choice:
    """Format, zone, OS type, hypervisor and bits for registering URL."""
    fmt = zone_name = ostype_name = hypervisor_name = None
    bits = 64
    if architecture and ":" in architecture:
        parts = [p.strip() or None for p in architecture.split(":")] + [None] * 4
        fmt, zone_name, ostype_name, hypervisor_name = parts[:4]
    elif architecture:
        if architecture not in ("i386", "x86_64"):
            raise ERRORS["InvalidParameterValue"](
                detail=f"Value ({architecture}) for parameter architecture is invalid. Expected i386, x86_64 or "
                       f"format:zonename:ostypename:hypervisor")
        bits = 32 if architecture == "i386" else 64
    zone = await _zone(ctx, zone_name)
    hypervisor = await _hypervisor(ctx, hypervisor_name, zone)
    fmt = (fmt or "").upper() or format_of_url(url) or _HYPERVISOR_FORMATS.get(hypervisor.lower(), "RAW")
    if fmt == "ISO":
        raise ERRORS["InvalidParameterValue"](detail="An ISO is not a machine image")
    ostype_id = await _os_type(ctx, ostype_name, f"{name} {description or ''}")
    return Choice(zone_id=zone["id"], format=fmt, hypervisor=hypervisor, ostype_id=ostype_id, bits=bits)
