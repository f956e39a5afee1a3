"""The original's admin actions: SetOfferMapping and DeleteOfferMapping (cloudbridge.md §3.4).

The caller must be a CloudStack root admin, which is asked of CloudStack with the caller's own keys
(listAccounts → accounttype 1). Others get AuthFailure with HTTP 403, where the original answered 500. The map
is ctx.offerings (the one RunInstances reads, so a change is seen at once). The admin check comes before the
parameters are looked at: a caller who may not change the map learns nothing about them. Only the Query door
serves these actions, so the parameter names in errors are its names. Core: no Twisted, Spyne, lxml or SQL.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ec2soap.cloudstack.admin import is_root_admin
from ec2soap.cloudstack.errors import CloudStackApiError
from ec2soap.core.context import RequestContext
from ec2soap.errors import ERRORS

__all__ = ["OPERATIONS", "PermissionDenied", "OfferMappingChanged"]

log = logging.getLogger(__name__)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# offering_map column widths (store/tables.py): an EC2 type name and a CloudStack offering name or uuid.
_MAX_TYPE = 64
# CloudStack's PARAM_ERROR: listServiceOfferings refuses an id that is no offering's.
_PARAM_ERROR = 431


class PermissionDenied(ERRORS["AuthFailure"]):  # type: ignore[misc, valid-type]
    """AuthFailure on the wire, but 403: the caller is known, just not allowed."""
    status = 403


@dataclass(frozen=True)
class OfferMappingChanged:
    """INSTANCE_TYPE now maps to OFFERING (None: deleted; REMOVED says whether a mapping was there)."""
    instance_type: str
    offering: str | None
    removed: bool = False


async def _require_root_admin(ctx: RequestContext, action: str) -> None:
    if not is_root_admin(await ctx.cloud.list_accounts(), ctx.access_key):
        raise PermissionDenied(f"Permission denied for non-admin user to {action}!")


def _required(value: str | None, name: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ERRORS["MissingParameter"](name=name)
    return value


async def set_offer_mapping(ctx: RequestContext, instance_type: str | None = None,
                            offering: str | None = None) -> OfferMappingChanged:
    """SetOfferMapping(amazonoffer, cloudoffer): EC2 type → a CloudStack compute offering (name or uuid),
    which must exist (the original stored anything)."""
    await _require_root_admin(ctx, "setOfferMapping")
    ec2_type, target = _required(instance_type, "amazonoffer"), _required(offering, "cloudoffer")
    if len(ec2_type) > _MAX_TYPE:
        raise ERRORS["InvalidParameterValue"](detail=f"amazonoffer is longer than {_MAX_TYPE} characters")
    try:
        found = await ctx.cloud.list_service_offerings(**({"id": target} if _UUID.match(target)
                                                         else {"name": target}))
    except CloudStackApiError as exc:
        if exc.errorcode != _PARAM_ERROR:
            raise
        found = []  # a malformed id: no such offering
    if not [o for o in found if target in (o.get("id"), o.get("name"))]:
        raise ERRORS["InvalidParameterValue"](
            detail=f"Invalid value '{target}' for cloudoffer: no such CloudStack compute offering")
    await ctx.offerings.set(ec2_type, target)
    log.info("request=%s offering mapping %s → %s set by %s", ctx.request_id, ec2_type, target, ctx.access_key)
    return OfferMappingChanged(ec2_type, target)


async def delete_offer_mapping(ctx: RequestContext, instance_type: str | None = None) -> OfferMappingChanged:
    """DeleteOfferMapping(amazonoffer): the type goes back to the name match. Deleting an absent mapping
    succeeds, as in the original."""
    await _require_root_admin(ctx, "deleteOfferMapping")
    ec2_type = _required(instance_type, "amazonoffer")
    removed = await ctx.offerings.remove(ec2_type)
    log.info("request=%s offering mapping %s %s by %s", ctx.request_id, ec2_type,
             "deleted" if removed else "was not set; nothing deleted", ctx.access_key)
    return OfferMappingChanged(ec2_type, None, removed=removed)


OPERATIONS = {"SetOfferMapping": set_offer_mapping, "DeleteOfferMapping": delete_offer_mapping}
