"""Checks every S3 request passes before its route runs, which need more than the operation's own rows:
server-side encryption, which this gateway does not offer, refused on every call (NotImplemented on a write
and for SSE-C anywhere, S3's InvalidArgument for an SSE-S3/SSE-KMS header on a read: an
x-amz-server-side-encryption* or x-amz-copy-source-server-side-encryption* header would otherwise be dropped
and the object kept unencrypted as if it had been honoured);
x-amz-expected-bucket-owner (and x-amz-source-expected-bucket-owner on copies) on every call, and that the
grantees an ACL names exist (S3: InvalidArgument "Invalid id", UnresolvableGrantByEmailAddress), which only
CloudStack can tell. An email grantee is resolved here to the one account a user with that email belongs to
(s3.principal.remember_email), so the route stores the grant as that CanonicalUser, as S3 does. (The
bucket-policy condition keys of the request's headers and query, s3.policy.request_keys, are in call.context
from the moment the resource parses the request, for the early and the final access checks alike.) Nothing from
Twisted here; RES is the S3 resource (run, ops, credentials).

An account id, as this gateway reports it (EC2's ownerId, the Principal of bucket policies), is the CloudStack
account's uuid; a bucket stores its owner's canonical id, which is that uuid's hash (auth/identity.py), so the
header is compared through the hash and never needs CloudStack.

Grantees are resolved with the gateway's CloudStack admin keys (every account's id and every user's email).
Without them no one but the caller can be told apart from a stranger, so grants are kept as given (as before):
the permission check then matches them only if such a caller ever appears; the caller's own email is still
resolved, to the caller's account.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from ec2soap.auth.credentials import CredentialsUnavailable
from ec2soap.auth.identity import canonical_id, is_canonical_id
from ec2soap.cloudstack.errors import CloudStackBadResponse, CloudStackUnavailable
from ec2soap.s3 import acl as acls
from ec2soap.s3 import xml
from ec2soap.s3.errors import S3Error
from ec2soap.s3.principal import display_name_of, grantee_id, remember_email, remember_name
from ec2soap.s3.rules import parse_copy_source

__all__ = ["before_route"]

log = logging.getLogger(__name__)

_EXPECTED = "x-amz-expected-bucket-owner"
_SOURCE_EXPECTED = "x-amz-source-expected-bucket-owner"


async def before_route(res: Any, call: Any, caller: Optional[str] = None) -> None:
    """Raise the S3Error S3 answers when CALL (made by CALLER, else call.caller) fails a check; before a
    streamed upload's body is read, and before any other request's route.

    A CORS preflight (OPTIONS) passes none of them: it names no operation, only the one a browser means to
    send, and S3 answers it from the CORS rules alone (never authenticated: auth.s3_signatures.parse_s3)."""
    if call.method == "OPTIONS":
        return
    _no_encryption(call)
    await _expected_owners(res, call)
    await _grantees(res, call, caller if caller is not None else call.caller)


# -- server-side encryption -----------------------------------------------------------------------------------

_ENCRYPTION = ("x-amz-server-side-encryption", "x-amz-copy-source-server-side-encryption")
_CUSTOMER = ("x-amz-server-side-encryption-customer-", "x-amz-copy-source-server-side-encryption-customer-")


def _no_encryption(call: Any) -> None:
    for name in call.headers:
        lower = name.lower()
        if not lower.startswith(_ENCRYPTION):
            continue
        if call.method not in ("PUT", "POST") and not lower.startswith(_CUSTOMER):
            # S3 itself refuses SSE-S3/SSE-KMS headers on a read (they belong to writes): 400, not 501.
            raise S3Error("InvalidArgument", "%s header is not supported for this operation." % lower,
                          argument_name=lower, argument_value=call.headers[name])
        raise S3Error("NotImplemented", "Server-side encryption is not implemented by this gateway.",
                      header=name)


# -- x-amz-expected-bucket-owner -------------------------------------------------------------------------------

async def _expected_owners(res: Any, call: Any) -> None:
    wanted: list[tuple[str, str]] = []
    if call.bucket and _EXPECTED in call.headers:
        wanted.append((call.bucket, call.headers[_EXPECTED]))
    source = call.headers.get("x-amz-copy-source")
    if source and _SOURCE_EXPECTED in call.headers and call.key:
        wanted.append((parse_copy_source(source)[0], call.headers[_SOURCE_EXPECTED]))
    if not wanted:
        return

    def owners(conn: Any) -> list[Optional[str]]:
        found = [res.ops.meta.get_bucket(conn, name) for name, _ in wanted]
        return [bucket.owner if bucket is not None else None for bucket in found]
    for (_, expected), owner in zip(wanted, await res.run(res.ops.store.run_sync, owners)):
        # A missing bucket is left to the operation (NoSuchBucket); a wrong owner is S3's 403.
        if owner is not None and not _is_account_of(expected.strip(), owner):
            raise S3Error("AccessDenied")


def _is_account_of(account: str, owner: str) -> bool:
    return bool(account) and canonical_id(account) == owner


# -- grantees --------------------------------------------------------------------------------------------------

def _requested_grants(call: Any) -> list[dict]:
    # Malformed: the same InvalidArgument the route gives. Emails as sent: each is resolved again below.
    grants = acls.grants_from_headers(call.headers, resolve=False)
    if call.method == "PUT" and "acl" in call.query and call.body and call.body.strip():
        grants += xml.parse_access_control_policy(call.body).get("grants", [])
    return grants


async def _grantees(res: Any, call: Any, caller: Optional[str]) -> None:
    if caller is None:
        return  # anonymous: the route refuses an ACL write anyway, and strangers learn no account
    if not any(name.startswith("x-amz-grant-") for name in call.headers) and "acl" not in call.query:
        return
    grants = _requested_grants(call)
    ids = {grantee_id(g["grantee"]) for g in grants if g.get("type") == "CanonicalUser" and g.get("grantee")}
    ids -= {str(caller)}
    ids = {i for i in ids if not (is_canonical_id(i) and display_name_of(i))}  # an account seen already
    emails = {g["grantee"].strip().lower() for g in grants
              if g.get("type") == "AmazonCustomerByEmail" and g.get("grantee")}
    own = (getattr(caller, "email", "") or "").strip().lower()
    if own in emails:
        remember_email(own, str(caller))  # the caller's own email names the caller's account
        emails.discard(own)
    admin = getattr(res.credentials, "admin_cloud", None)
    if not (ids or emails) or admin is None:
        return
    try:
        if ids:
            await _check_ids(res, admin, ids)
        if emails:
            await _resolve_emails(admin, emails)
    except (CloudStackUnavailable, CloudStackBadResponse, CredentialsUnavailable) as exc:
        log.warning("S3 grantees: CloudStack could not be asked now (%s)", exc.__class__.__name__)
        raise S3Error("ServiceUnavailable", "CloudStack cannot be reached; please try again shortly.") from None


async def _check_ids(res: Any, admin: Any, ids: set[str]) -> None:
    canonical = {i for i in ids if is_canonical_id(i)}
    if canonical:
        accounts = {canonical_id(str(a.get("id"))) for a in await admin.list_accounts(listall=True) or ()
                    if a.get("id")}
        for value in sorted(canonical - accounts):
            raise _invalid_id(value)
    for key in sorted(ids - canonical):  # an access key, as the original gateway's grants named users
        if await res.credentials.identity_for(key) is None:
            raise _invalid_id(key)


async def _resolve_emails(admin: Any, emails: set[str]) -> None:
    """Each of EMAILS (lower-case) → the canonical id of the account whose user has it, remembered for the route;
    no such user is S3's UnresolvableGrantByEmailAddress, users of several accounts an ambiguous grant."""
    accounts: dict[str, set[str]] = {email: set() for email in emails}
    for user in await admin.list_users(listall=True) or ():
        email = str(user.get("email") or "").strip().lower()
        if email in accounts and user.get("accountid"):
            found = canonical_id(str(user["accountid"]))
            accounts[email].add(found)
            remember_name(found, str(user.get("account") or ""))
    for email in sorted(emails):
        if not accounts[email]:
            raise S3Error("UnresolvableGrantByEmailAddress", email_address=email)
        if len(accounts[email]) > 1:
            raise S3Error("AmbiguousGrantByEmailAddress", email_address=email)
    for email, found in accounts.items():
        remember_email(email, found.pop())


def _invalid_id(value: str) -> S3Error:
    return S3Error("InvalidArgument", "Invalid id", argument_name="CanonicalUser/ID", argument_value=value)
