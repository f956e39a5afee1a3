"""CORS on actual requests: a GET, PUT, HEAD, POST or DELETE that names a bucket and carries an Origin header
gets the Access-Control-* headers of the bucket's first CORS rule matching the origin and the method, as S3
sends them (preflights, OPTIONS, are s3.handlers.preflight). Nothing from Twisted here.

S3 checks a rule's AllowedHeaders only on preflights (the browser asked then), so an actual request is matched
on its origin and method alone. A rule allowing every origin ("*") answers "*" to an anonymous request; a
signed one gets its own origin back with Access-Control-Allow-Credentials, which browsers need to read an
answer sent with credentials.
"""
from __future__ import annotations

import logging
from typing import Any

from ec2soap.s3.errors import S3Error

__all__ = ["actual_request_headers", "error_cors_headers"]

log = logging.getLogger(__name__)

_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


async def actual_request_headers(res: Any, call: Any, caller: Any) -> dict:
    """The CORS headers of CALL's answer ({} when it asks for none or no rule matches)."""
    origin = call.headers.get("origin")
    if not origin or call.bucket is None or call.method == "OPTIONS":
        return {}
    try:
        rule = await res.run(res.ops.cors_rule, call.bucket, origin, call.method)
    except S3Error:
        return {}  # the bucket is gone (this very request may have deleted it): no rules to apply
    if rule is None:
        return {}
    headers = {"Access-Control-Allow-Methods": ", ".join(rule["allowed_methods"]), "Vary": _VARY}
    if "*" in rule["allowed_origins"] and caller is None:
        headers["Access-Control-Allow-Origin"] = "*"
    else:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Allow-Credentials"] = "true"
    if rule.get("expose_headers"):
        headers["Access-Control-Expose-Headers"] = ", ".join(rule["expose_headers"])
    if rule.get("max_age_seconds") is not None:
        headers["Access-Control-Max-Age"] = str(rule["max_age_seconds"])
    return headers


async def error_cors_headers(res: Any, call: Any, caller: Any) -> dict:
    """The CORS headers of CALL's error answer, as `actual_request_headers`; never raises: an error is being
    answered already, and a store that cannot be read (perhaps the very error) answers it without them."""
    try:
        return await actual_request_headers(res, call, caller)
    except Exception:
        log.warning("S3 request %s: no CORS headers on its error answer (the rules could not be read)",
                    getattr(call, "request_id", "-"), exc_info=True)
        return {}
