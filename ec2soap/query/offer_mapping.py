"""The original's admin actions over Query: SetOfferMapping and DeleteOfferMapping (cloudbridge.md §3.4).

Signed like any Query request; the caller must be a CloudStack root admin, which is asked of CloudStack with
the caller's own keys (listAccounts → accounttype 1). Others get AuthFailure with HTTP 403, where the original
answered 500. Plain-text answers, as the original's. Registered next to the other extensions.
"""
from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable

from ec2soap.cloudstack.admin import is_root_admin
from ec2soap.cloudstack.errors import CloudStackApiError, CloudStackAuthError, CloudStackError
from ec2soap.errors import ERRORS

__all__ = ["offer_mapping_actions", "PermissionDenied"]

log = logging.getLogger(__name__)
_TEXT = "text/plain; charset=UTF-8"
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# offering_map column widths (store/tables.py): an EC2 type name and a CloudStack offering name or uuid.
_MAX_TYPE = 64


class PermissionDenied(ERRORS["AuthFailure"]):  # type: ignore[misc, valid-type]
    """AuthFailure on the wire, but 403: the caller is known, just not allowed."""
    status = 403


Handler = Callable[[Any, dict, str], Awaitable[tuple[int, str, bytes]]]


def offer_mapping_actions(*, authenticate: Callable[[Any, dict], Awaitable[Any]],
                          cloud_for: Callable[[str, str], Any], offerings: Any) -> dict[str, Handler]:
    """{"SetOfferMapping": ..., "DeleteOfferMapping": ...} for QueryResource.extensions. AUTHENTICATE checks the
    Query signature (→ Caller); OFFERINGS is the gateway's OfferingMap, so RunInstances sees a change at once."""

    async def admin_caller(request: Any, params: dict, action: str) -> tuple[Any, Any]:
        caller = await authenticate(request, params)
        cloud = cloud_for(caller.access_key, caller.secret_key)
        try:
            accounts = await cloud.list_accounts()
        except CloudStackAuthError:
            raise ERRORS["AuthFailure"]() from None
        except CloudStackError:
            raise ERRORS["Unavailable"]("CloudStack could not be asked who the caller is") from None
        if not is_root_admin(accounts, caller.access_key):
            raise PermissionDenied(f"Permission denied for non-admin user to {action}!")
        return caller, cloud

    def required(params: dict, name: str) -> str:
        value = (params.get(name) or "").strip()
        if not value:
            raise ERRORS["MissingParameter"](name=name)
        return value

    async def set_offer_mapping(request: Any, params: dict, request_id: str) -> tuple[int, str, bytes]:
        """SetOfferMapping(amazonoffer, cloudoffer): EC2 type → a CloudStack compute offering (name or uuid),
        which must exist (the original stored anything)."""
        caller, cloud = await admin_caller(request, params, "setOfferMapping")
        ec2_type, target = required(params, "amazonoffer"), required(params, "cloudoffer")
        if len(ec2_type) > _MAX_TYPE:
            raise ERRORS["InvalidParameterValue"](detail=f"amazonoffer is longer than {_MAX_TYPE} characters")
        try:
            found = await cloud.list_service_offerings(**({"id": target} if _UUID.match(target)
                                                          else {"name": target}))
        except CloudStackApiError as exc:
            if exc.errorcode != 431:  # 431: a malformed id, i.e. no such offering
                raise ERRORS["Unavailable"]("CloudStack could not list its compute offerings") from None
            found = []
        except CloudStackError:
            raise ERRORS["Unavailable"]("CloudStack could not list its compute offerings") from None
        if not [o for o in found if target in (o.get("id"), o.get("name"))]:
            raise ERRORS["InvalidParameterValue"](
                detail=f"Invalid value '{target}' for cloudoffer: no such CloudStack compute offering")
        await offerings.set(ec2_type, target)
        log.info("request=%s offering mapping %s → %s set by %s", request_id, ec2_type, target, caller.access_key)
        return 200, _TEXT, b"offering mapping set successfully"

    async def delete_offer_mapping(request: Any, params: dict, request_id: str) -> tuple[int, str, bytes]:
        """DeleteOfferMapping(amazonoffer): the type goes back to the name match. Deleting an absent mapping
        succeeds, as in the original."""
        caller, _ = await admin_caller(request, params, "deleteOfferMapping")
        ec2_type = required(params, "amazonoffer")
        removed = await offerings.remove(ec2_type)
        log.info("request=%s offering mapping %s %s by %s", request_id, ec2_type,
                 "deleted" if removed else "was not set; nothing deleted", caller.access_key)
        return 200, _TEXT, b"offering mapping deleted successfully"

    return {"SetOfferMapping": set_offer_mapping, "DeleteOfferMapping": delete_offer_mapping}
