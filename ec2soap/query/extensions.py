"""The Query side of the original awsapi's own actions (core/extensions.py): how each reads its parameters,
whether it is signed, and its answer, plain text as the original's (CloudEC2Version: a small XML document).

CloudEC2Version and SetUserKeys are unsigned: SetUserKeys acts as the keys it names, and CloudStack proves
them (core/user_keys.py). SetCertificate, DeleteCertificate, SetOfferMapping and DeleteOfferMapping are signed
by the caller, checked by the Query door before the parameters are read. The gateway runs all of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

from ec2soap.errors import ERRORS
from ec2soap.gateway import Caller
from ec2soap.wire.catalogue import EXTENSIONS
from ec2soap.xmltext import escape

__all__ = ["QUERY_EXTENSIONS", "QueryExtension"]

_TEXT = "text/plain; charset=UTF-8"
_XML = "text/xml; charset=UTF-8"
_ANONYMOUS = Caller(access_key="", secret_key="")


@dataclass(frozen=True)
class QueryExtension:
    """SIGNED: the door checks the signature first and BIND gets the caller; else BIND gets None and says
    who calls. BIND(params, caller) → (the caller, the core keyword arguments); WRITE(result) → (content
    type, body)."""
    signed: bool
    bind: Callable[[Mapping[str, str], Optional[Caller]], tuple[Caller, dict[str, Any]]]
    write: Callable[[Any], tuple[str, bytes]]


def _text(message: str) -> Callable[[Any], tuple[str, bytes]]:
    return lambda result: (_TEXT, message.encode("utf-8"))


def _version(result: Any) -> tuple[str, bytes]:
    body = f'<?xml version="1.0" encoding="utf-8"?><CloudEC2Version>{escape(result.version)}</CloudEC2Version>'
    return _XML, body.encode("utf-8")


def _user_keys(params: Mapping[str, str], caller: Optional[Caller]) -> tuple[Caller, dict[str, Any]]:
    access_key, secret_key = params.get("accesskey"), params.get("secretkey")
    if not access_key:
        raise ERRORS["MissingParameter"](name="accesskey")
    if not secret_key:
        raise ERRORS["MissingParameter"](name="secretkey")
    return Caller(access_key, secret_key), {"access_key": access_key, "secret_key": secret_key}


def _signed(kwargs: Callable[[Mapping[str, str], Caller], dict[str, Any]]) -> Callable[..., Any]:
    def bind(params: Mapping[str, str], caller: Optional[Caller]) -> tuple[Caller, dict[str, Any]]:
        assert caller is not None  # the door checked the signature
        return caller, kwargs(params, caller)
    return bind


QUERY_EXTENSIONS: dict[str, QueryExtension] = {
    "CloudEC2Version": QueryExtension(False, lambda params, caller: (_ANONYMOUS, {}), _version),
    "SetUserKeys": QueryExtension(False, _user_keys, _text("User keys set successfully")),
    "SetCertificate": QueryExtension(
        True, _signed(lambda params, caller: {"pem": params.get("cert", ""), "secret_key": caller.secret_key}),
        _text("User certificate set successfully")),
    "DeleteCertificate": QueryExtension(True, _signed(lambda params, caller: {}),
                                        _text("User certificate deleted successfully")),
    "SetOfferMapping": QueryExtension(
        True, _signed(lambda params, caller: {"instance_type": params.get("amazonoffer"),
                                              "offering": params.get("cloudoffer")}),
        _text("offering mapping set successfully")),
    "DeleteOfferMapping": QueryExtension(
        True, _signed(lambda params, caller: {"instance_type": params.get("amazonoffer")}),
        _text("offering mapping deleted successfully")),
}
if set(QUERY_EXTENSIONS) != EXTENSIONS:  # the catalogue (wire/catalogue.py) names every action the doors know
    raise ValueError(f"query extensions {sorted(set(QUERY_EXTENSIONS) ^ EXTENSIONS)} disagree with the catalogue")
