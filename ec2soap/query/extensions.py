"""The original awsapi's own Query actions: CloudEC2Version and SetUserKeys (unauthenticated).

SetUserKeys checks the key pair against CloudStack before storing it (the original's S3 variant stored
anything) and replaces an earlier registration instead of failing on the unique index (cloudbridge.md §3.4).
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable

from ec2soap import __version__
from ec2soap.cloudstack.errors import CloudStackAuthError, CloudStackError
from ec2soap.errors import ERRORS

__all__ = ["extensions"]

Handler = Callable[[Any, dict, str], Awaitable[tuple[int, str, bytes]]]
_TEXT = "text/plain; charset=UTF-8"


def extensions(*, credentials: Any, cloud_for: Callable[[str, str], Any]) -> dict[str, Handler]:
    async def cloud_ec2_version(request: Any, params: dict, request_id: str) -> tuple[int, str, bytes]:
        body = f'<?xml version="1.0" encoding="utf-8"?><CloudEC2Version>{__version__}</CloudEC2Version>'
        return 200, "text/xml; charset=UTF-8", body.encode("utf-8")

    async def set_user_keys(request: Any, params: dict, request_id: str) -> tuple[int, str, bytes]:
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

    return {"CloudEC2Version": cloud_ec2_version, "SetUserKeys": set_user_keys}
