"""S3 access control lists: canned ACLs, x-amz-grant-* headers, and the permission check.

Pure data and functions: no Twisted, no SQL, nothing from ec2soap.core. An ACL is a dict
{"owner": canonical id, "grants": [{"type": "CanonicalUser"|"Group"|"AmazonCustomerByEmail",
"grantee": id | group URI | email, "permission": "READ"|...}]}; the canonical id of a user is their CloudStack
account's (64 hex, s3/principal.py). Grants stored before that name an access key: still honoured for that
key's caller (scripts written for the original gateway grant by access key) until s3/owners.py upgrades them.
A grant by email (`emailAddress="…"`, an AmazonCustomerByEmail grantee) is stored as the CanonicalUser of the
account that email belongs to, as S3 does (so a later change of email changes no permission), once
s3/request_checks.py has resolved it for the request; an AmazonCustomerByEmail grant is stored only when it could
not be (a gateway without CloudStack admin keys), or was before, and is matched by the caller's email.
"""
from __future__ import annotations

import re
from typing import Callable, Mapping, Optional

from ec2soap.s3.errors import S3Error
from ec2soap.s3.principal import email_grantee, grantee_id

__all__ = ["ALL_USERS", "AUTHENTICATED_USERS", "LOG_DELIVERY", "PERMISSIONS", "CANNED_ACLS", "canned_acl",
           "resolved", "grants_from_headers", "acl_from_headers", "permits", "validate_acl"]

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)
PERMISSIONS = ("FULL_CONTROL", "READ", "WRITE", "READ_ACP", "WRITE_ACP")
GRANTEE_TYPES = ("CanonicalUser", "Group", "AmazonCustomerByEmail")
CANNED_ACLS = ("private", "public-read", "public-read-write", "authenticated-read", "bucket-owner-read",
               "bucket-owner-full-control", "log-delivery-write")

_GRANT_HEADERS = {"x-amz-grant-read": "READ", "x-amz-grant-write": "WRITE", "x-amz-grant-read-acp": "READ_ACP",
                  "x-amz-grant-write-acp": "WRITE_ACP", "x-amz-grant-full-control": "FULL_CONTROL"}
_GRANTEE_KINDS = {"id": "CanonicalUser", "uri": "Group", "emailaddress": "AmazonCustomerByEmail"}
# `kind="value"` as S3's documentation writes a grantee, or `kind=value` as awscli's examples pass it (S3 takes
# both); a list is comma-separated.
_GRANTEE_ITEM = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^",\s]+))\s*(?:,|$)')


def _grant(kind: str, grantee: str, permission: str) -> dict:
    return {"type": kind, "grantee": grantee, "permission": permission}


def canned_acl(name: str, owner: str, bucket_owner: str | None = None) -> dict:
    """The ACL S3 builds for x-amz-acl NAME on a resource owned by OWNER (BUCKET_OWNER for objects)."""
    if name not in CANNED_ACLS:
        raise S3Error("InvalidArgument", argument_name="x-amz-acl", argument_value=name)
    grants = [_grant("CanonicalUser", owner, "FULL_CONTROL")]
    if name == "public-read":
        grants.append(_grant("Group", ALL_USERS, "READ"))
    elif name == "public-read-write":
        grants += [_grant("Group", ALL_USERS, "READ"), _grant("Group", ALL_USERS, "WRITE")]
    elif name == "authenticated-read":
        grants.append(_grant("Group", AUTHENTICATED_USERS, "READ"))
    elif name in ("bucket-owner-read", "bucket-owner-full-control") and bucket_owner and bucket_owner != owner:
        # S3 quirk: on buckets (or when the writer owns the bucket) these are the same as private.
        grants.append(_grant("CanonicalUser", bucket_owner,
                             "READ" if name == "bucket-owner-read" else "FULL_CONTROL"))
    elif name == "log-delivery-write":
        grants += [_grant("Group", LOG_DELIVERY, "WRITE"), _grant("Group", LOG_DELIVERY, "READ_ACP")]
    return {"owner": owner, "grants": grants}


def resolved(grant: dict) -> dict:
    """GRANT as it is stored: an email grantee as its account's CanonicalUser when that is known
    (s3.principal.email_grantee), an access key as its account's canonical id (grantee_id)."""
    if grant["type"] == "AmazonCustomerByEmail":
        found = email_grantee(grant["grantee"])
        return _grant("CanonicalUser", found, grant["permission"]) if found else grant
    if grant["type"] == "CanonicalUser":
        return {**grant, "grantee": grantee_id(grant["grantee"])}
    return grant


def grants_from_headers(headers: Mapping[str, str], resolve: bool = True) -> list[dict]:
    """Grants from x-amz-grant-* headers (`id="…", uri="…", emailAddress="…"`); [] when none is sent.
    RESOLVE=False: email grantees as given (what s3.request_checks resolves)."""
    grants = []
    for header, permission in _GRANT_HEADERS.items():
        value = headers.get(header)
        if value is None:
            continue
        position = 0
        value = value.strip()
        while position < len(value):
            match = _GRANTEE_ITEM.match(value, position)
            if not match or match.group(1).lower() not in _GRANTEE_KINDS:
                raise S3Error("InvalidArgument", argument_name=header, argument_value=value)
            kind = _GRANTEE_KINDS[match.group(1).lower()]
            grantee = match.group(2) if match.group(2) is not None else match.group(3)
            if kind == "Group" and grantee not in GROUPS:
                raise S3Error("InvalidArgument", "Invalid group uri", argument_name="uri", argument_value=grantee)
            grant = _grant(kind, grantee, permission)
            grants.append(resolved(grant) if resolve or kind == "CanonicalUser" else grant)
            position = match.end()
    return grants


def acl_from_headers(headers: Mapping[str, str], owner: str, bucket_owner: str | None = None,
                     default: str | None = "private") -> dict | None:
    """The ACL a request's x-amz-acl or x-amz-grant-* headers ask for (keys lower-case); DEFAULT's canned ACL
    when neither is present (None: no ACL requested). Both at once is S3's InvalidRequest."""
    canned = headers.get("x-amz-acl")
    grants = grants_from_headers(headers)
    if canned is not None and grants:
        raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants is not allowed")
    if canned is not None:
        return canned_acl(canned.strip(), owner, bucket_owner)
    if grants:
        return {"owner": owner, "grants": grants}
    return canned_acl(default, owner, bucket_owner) if default else None


def validate_acl(acl: dict, owner: str) -> dict:
    """Check an ACL parsed from an AccessControlPolicy body. S3 refuses to change the owner this way."""
    if acl.get("owner") not in (None, "", owner) and grantee_id(acl["owner"]) != owner:
        raise S3Error("AccessDenied")
    for grant in acl.get("grants", []):
        if grant.get("type") not in GRANTEE_TYPES or grant.get("permission") not in PERMISSIONS \
                or not grant.get("grantee"):
            raise S3Error("MalformedACLError")
        if grant["type"] == "Group" and grant["grantee"] not in GROUPS:
            raise S3Error("InvalidArgument", "Invalid group uri", argument_name="uri",
                          argument_value=grant["grantee"])
    return {"owner": owner, "grants": [resolved(g) for g in acl.get("grants", [])]}


def permits(acl: dict | None, caller: Optional[str], permission: str,
            email_of: Callable[[str], Optional[str]] | None = None) -> bool:
    """Whether ACL grants PERMISSION to CALLER (a canonical id, usually a s3.principal.Principal; None =
    anonymous). FULL_CONTROL grants all.

    Email grants match the caller's CloudStack email (the Principal's, else what EMAIL_OF tells)."""
    if not acl:
        return False
    aliases = {caller, getattr(caller, "access_key", None)} - {None, ""}
    for grant in acl.get("grants", []):
        if grant["permission"] not in (permission, "FULL_CONTROL"):
            continue
        kind, grantee = grant["type"], grant["grantee"]
        if kind == "Group":
            if grantee == ALL_USERS or (grantee == AUTHENTICATED_USERS and caller is not None):
                return True
        elif caller is None:
            continue
        elif kind == "CanonicalUser" and grantee in aliases:
            return True
        elif kind == "AmazonCustomerByEmail":
            email = getattr(caller, "email", None) or (email_of(caller) if email_of is not None else None)
            if email and email.lower() == grantee.lower():
                return True
    return False
