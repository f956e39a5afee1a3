"""The EC2 SOAP service: one Spyne @rpc per implemented 2010-11-15 action, generated from the shape tables, for
the WSDL; and `call`, which runs one action for the resource.

Document/literal, bare: the body's child is the action's element (`<DescribeKeyPairs>`), the answer is
`<DescribeKeyPairsResponse>`. Spyne reads that element into the action's request model through its protocol's
public `from_element` (the same decoding its pipeline would do), soap.reader turns the request into the core's
kwargs from the request shape, and Gateway.call runs it for the caller the resource verified; the resource writes
the core result through the response shape (the same declaration the response model and our WSDL come from).
Spyne's request pipeline (method contexts, its dispatch) is not used. Never imports query/ or s3/.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ec2soap import compat  # noqa: F401  (before anything Spyne-on-Twisted)
from spyne import Application, ServiceBase, rpc
from spyne.error import Fault
from spyne.protocol.soap import Soap11

from ec2soap.errors import ERRORS, EC2Error
from ec2soap.gateway import Caller
from ec2soap.soap import reader
from ec2soap.soap.models import NAMESPACE, Models
from ec2soap.wire.catalogue import soap_actions

__all__ = ["SoapCall", "SoapService", "build_application", "SERVICE_NAME"]

SERVICE_NAME = "AmazonEC2"


@dataclass
class SoapCall:
    """What the resource knows about one request: the gateway, the caller whose WS-Security signature it
    verified, the request id and facts of the request."""
    gateway: Any
    caller: Caller
    request_id: str
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Decoding:
    """The context Spyne's `from_element` reads: only `app` (to resolve an xsi:type to one of our classes)."""
    app: Application


class SoapService:
    """The application (for the WSDL), its models, and the reading and running of one action."""

    def __init__(self, actions: list[str] | None = None):
        self.app, self.models = build_application(actions)
        self.actions = frozenset(self.models.requests)
        self._decoding = _Decoding(self.app)

    def request_value(self, action: str, element: Any) -> dict[str, Any]:
        """The operation ELEMENT (lxml, already parsed hardened and verified) as plain values; EC2Error when it
        does not decode as the action's 2010-11-15 request type."""
        shape = self.models.requests[action]
        if not self.models.takes_arguments(action):
            return {}
        try:
            obj = self.app.in_protocol.from_element(self._decoding, shape, element)
        except Fault as fault:
            raise client_error(fault) from None
        return self.models.request_value(action, obj)

    def call(self, call: SoapCall, action: str, element: Any) -> Any:
        """Run ACTION for CALL's caller → the awaitable core result (EC2Error for a bad request)."""
        kwargs = reader.read(action, self.request_value(action, element))
        return call.gateway.call(action, call.caller, kwargs, call.request_id, extras=call.extras)


def client_error(fault: Any) -> EC2Error:
    """A request Spyne could not read (wrong types, unknown elements): EC2's InvalidParameterValue, with Spyne's
    reason when it is a client-side one (it names the value, never our internals)."""
    code = getattr(fault, "faultcode", "") or ""
    if code.startswith("Client"):
        return ERRORS["InvalidParameterValue"](detail=str(getattr(fault, "faultstring", "") or "invalid request"))
    return ERRORS["InvalidParameterValue"](detail="the request does not match the EC2 2010-11-15 WSDL")


def _method(action: str, models: Models) -> Any:
    """The @rpc Spyne publishes in the WSDL. Requests never reach it: SoapService.call runs them."""
    def handler(ctx: Any, request: Any) -> None:
        raise ERRORS["InternalError"]()

    def no_arguments(ctx: Any) -> None:
        raise ERRORS["InternalError"]()

    request = models.requests[action]
    # Spyne refuses an empty model as a bare argument (AllocateAddressType); a method without arguments
    # gets the same empty element on the wire, and wsdl.py gives its type EC2's name.
    params, function = ((request,), handler) if models.takes_arguments(action) else ((), no_arguments)
    function.__name__ = action
    return rpc(*params, _body_style="bare", _in_message_name=f"{{{NAMESPACE}}}{action}",
               _out_message_name=f"{action}Response", _returns=models.responses[action])(function)


def build_application(actions: list[str] | None = None) -> tuple[Application, Models]:
    """The Spyne application for ACTIONS (default: every 2010-11-15 action the catalogue has implemented that the
    core runs) and the models it was built from."""
    from ec2soap.core.operations import OPERATIONS

    actions = sorted(a for a in (actions or soap_actions()) if a in OPERATIONS and reader.readable(a))
    models = Models(actions)
    service = type(SERVICE_NAME, (ServiceBase,), {a: _method(a, models) for a in actions})
    app = Application([service], tns=NAMESPACE, name=SERVICE_NAME, in_protocol=Soap11(), out_protocol=Soap11())
    return app, models
