"""The original awsapi's own Query actions: CloudEC2Version and SetUserKeys (unauthenticated), SetCertificate and
DeleteCertificate (signed by the key's owner: checked here with `authenticate`, since extensions run before the
resource's own signature check).

SetUserKeys checks the key pair against CloudStack before storing it (the original's S3 variant stored
anything) and replaces an earlier registration instead of failing on the unique index (cloudbridge.md §3.4).
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Mapping

from ec2soap import __version__
from ec2soap.auth.certificates import CertificateError
from ec2soap.cloudstack.errors import CloudStackAuthError, CloudStackError
from ec2soap.errors import ERRORS

__all__ = ["extensions"]

# PARAMS: the request's ec2soap.auth.ec2_query.Ec2Query (a read-only mapping), the one reading of its parameters;
# `authenticate(request, params)` checks the signature over exactly those.
Handler = Callable[[Any, Mapping[str, str], str], Awaitable[tuple[int, str, bytes]]]
_TEXT = "text/plain; charset=UTF-8"


def extensions(*, credentials: Any, cloud_for: Callable[[str, str], Any],
               authenticate: Callable[[Any, Mapping[str, str]], Awaitable[Any]] | None = None) -> dict[str, Handler]:
    async def cloud_ec2_version(request: Any, params: Mapping[str, str], request_id: str) -> tuple[int, str, bytes]:
        body = f'<?xml version="1.0" encoding="utf-8"?><CloudEC2Version>{__version__}</CloudEC2Version>'
        return 200, "text/xml; charset=UTF-8", body.encode("utf-8")

    async def set_user_keys(request: Any, params: Mapping[str, str], request_id: str) -> tuple[int, str, bytes]:
        access_key, secret_key = params.get("accesskey"), params.get("secretkey")
        if not access_key:
            raise ERRORS["MissingParameter"](name="accesskey")
        if not secret_key:
            raise ERRORS["MissingParameter"](name="secretkey")
        try:
            await cloud_for(access_key, secret_key).list_accounts()
        except CloudStackAuthError:
            raise ERRORS["AuthFailure"]("CloudStack did not accept these keys") from None
        except CloudStackError:
            raise ERRORS["Unavailable"]("CloudStack could not be asked to check these keys") from None
        await credentials.register(access_key, secret_key)
        return 200, _TEXT, b"User keys set successfully"

    async def set_certificate(request: Any, params: Mapping[str, str], request_id: str) -> tuple[int, str, bytes]:
        """SetCertificate: the PEM in `cert` becomes the key's certificate for SOAP. A key the gateway only
        knows through CloudStack's admin lookup is registered first (the signature just proved its secret)."""
        caller = await _signed(request, params)
        pem = params.get("cert", "")
        if not pem.strip():
            raise ERRORS["InvalidParameterValue"](detail="The parameter cert must hold a PEM certificate")
        try:
            if not await credentials.set_certificate(caller.access_key, pem):
                await credentials.register(caller.access_key, caller.secret_key)
                await credentials.set_certificate(caller.access_key, pem)
        except CertificateError as exc:
            raise ERRORS["InvalidParameterValue"](detail=f"Invalid certificate: {exc}") from None
        return 200, _TEXT, b"User certificate set successfully"

    async def delete_certificate(request: Any, params: Mapping[str, str], request_id: str) -> tuple[int, str, bytes]:
        caller = await _signed(request, params)
        if not await credentials.delete_certificate(caller.access_key):
            raise ERRORS["NoSuchEntity"](detail="No certificate is registered for this access key")
        return 200, _TEXT, b"User certificate deleted successfully"

    async def _signed(request: Any, params: Mapping[str, str]) -> Any:
        if authenticate is None:
            raise ERRORS["AuthFailure"]("this gateway cannot check signatures for this action")
        return await authenticate(request, params)

    return {"CloudEC2Version": cloud_ec2_version, "SetUserKeys": set_user_keys,
            "SetCertificate": set_certificate, "DeleteCertificate": delete_certificate}
