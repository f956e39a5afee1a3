"""The original awsapi's key and certificate actions: SetUserKeys, SetCertificate, DeleteCertificate.

Not EC2's actions (no WSDL operation, no response shape): the Query door answers them in plain text
(query/extensions.py). Their stores are reached through ctx.credentials. Core: no Twisted, Spyne, lxml or SQL.

SetUserKeys checks the key pair against CloudStack before storing it (the original's S3 variant stored
anything) and replaces an earlier registration instead of failing on the unique index (cloudbridge.md §3.4).
"""
from __future__ import annotations

from dataclasses import dataclass

from ec2soap.auth.certificates import CertificateError
from ec2soap.cloudstack.errors import CloudStackAuthError
from ec2soap.core.context import RequestContext
from ec2soap.errors import ERRORS

__all__ = ["OPERATIONS", "KeysRegistered", "CertificateChanged"]


@dataclass(frozen=True)
class KeysRegistered:
    access_key: str


@dataclass(frozen=True)
class CertificateChanged:
    """SetCertificate (REGISTERED True) or DeleteCertificate (False) for ACCESS_KEY."""
    access_key: str
    registered: bool


async def set_user_keys(ctx: RequestContext, access_key: str, secret_key: str) -> KeysRegistered:
    """SetUserKeys: the caller is who the keys say (ctx.cloud is bound to them); CloudStack proves it
    (listAccounts with them), then the pair is stored. Any other CloudStack failure is translated by the
    gateway like every action's."""
    try:
        await ctx.cloud.list_accounts()
    except CloudStackAuthError:
        raise ERRORS["AuthFailure"]("CloudStack did not accept these keys") from None
    await ctx.credentials.register(access_key, secret_key)
    return KeysRegistered(access_key)


async def set_certificate(ctx: RequestContext, pem: str, secret_key: str) -> CertificateChanged:
    """SetCertificate: PEM becomes the caller's certificate for SOAP. A key the gateway only knows through
    CloudStack's admin lookup is registered first, with SECRET_KEY (the signature just proved it)."""
    if not pem.strip():
        raise ERRORS["InvalidParameterValue"](detail="The parameter cert must hold a PEM certificate")
    try:
        if not await ctx.credentials.set_certificate(ctx.access_key, pem):
            await ctx.credentials.register(ctx.access_key, secret_key)
            await ctx.credentials.set_certificate(ctx.access_key, pem)
    except CertificateError as exc:
        raise ERRORS["InvalidParameterValue"](detail=f"Invalid certificate: {exc}") from None
    return CertificateChanged(ctx.access_key, registered=True)


async def delete_certificate(ctx: RequestContext) -> CertificateChanged:
    if not await ctx.credentials.delete_certificate(ctx.access_key):
        raise ERRORS["NoSuchEntity"](detail="No certificate is registered for this access key")
    return CertificateChanged(ctx.access_key, registered=False)


OPERATIONS = {"SetUserKeys": set_user_keys, "SetCertificate": set_certificate,
              "DeleteCertificate": delete_certificate}
