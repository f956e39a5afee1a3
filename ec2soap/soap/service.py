"""The EC2 SOAP service: one Spyne @rpc per implemented 2010-11-15 action, generated from the shape tables.

Document/literal, bare: the body's child is the action's element (`<DescribeKeyPairs>`), the answer is
`<DescribeKeyPairsResponse>`. Each method turns the request object into the core's kwargs (soap.bindings),
calls Gateway.call with the caller the resource verified (carried in Spyne's method context, `ctx.udc`), and
returns a Deferred of the core result, which the resource writes through the response shape (the same
declaration the response model and our WSDL come from). Never imports query/ or s3/.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ec2soap import compat  # noqa: F401  (before anything Spyne-on-Twisted)
from spyne import Application, ServiceBase, rpc
from spyne.protocol.soap import Soap11
from twisted.internet.defer import Deferred, fail

from ec2soap.gateway import Caller
from ec2soap.soap.bindings import BINDINGS
from ec2soap.soap.models import NAMESPACE, Models, soap_actions

__all__ = ["SoapCall", "build_application", "SERVICE_NAME"]

SERVICE_NAME = "AmazonEC2"


@dataclass
class SoapCall:
    """What the resource knows about one request, handed to the method through Spyne's `ctx.udc`: the
    gateway, the caller whose WS-Security signature it verified, the request id and facts of the request."""
    gateway: Any
    caller: Caller
    request_id: str
    extras: dict[str, Any] = field(default_factory=dict)
    document: Any = None


def _method(action: str, models: Models) -> Any:
    def handler(ctx: Any, request: Any) -> Deferred:
        call: SoapCall = ctx.udc
        try:
            kwargs = BINDINGS[action](models.request_value(action, request))
            d = call.gateway.call(action, call.caller, kwargs, call.request_id, extras=call.extras)
        except Exception as exc:  # an EC2Error from a binding; the resource writes the fault
            return fail(exc)
        # The core result itself: the resource writes the answer from the response shape (soap.resource).
        return d

    def no_arguments(ctx: Any) -> Deferred:
        return handler(ctx, None)

    request = models.requests[action]
    # Spyne refuses an empty model as a bare argument (AllocateAddressType); a method without arguments
    # gets the same empty element on the wire, and wsdl.py gives its type EC2's name.
    params, function = ((request,), handler) if request._type_info else ((), no_arguments)
    function.__name__ = action
    return rpc(*params, _body_style="bare", _in_message_name=f"{{{NAMESPACE}}}{action}",
               _out_message_name=f"{action}Response", _returns=models.responses[action])(function)


class _PreParsedSoap11(Soap11):
    """Soap11 that takes the document the resource already parsed with the hardened parser (ctx.udc.document)
    instead of parsing the bytes again with Spyne's own parser."""

    def create_in_document(self, ctx: Any, charset: Any = None) -> None:
        # (root, xml ids): no ids, so Spyne resolves no SOAP-encoding hrefs either.
        ctx.in_document = (ctx.udc.document, None)


def build_application(actions: list[str] | None = None) -> tuple[Application, Models]:
    """The Spyne application for ACTIONS (default: every action with a request and a response shape that the
    core implements) and the models it was built from."""
    from ec2soap.core.operations import OPERATIONS

    actions = sorted(a for a in (actions or soap_actions()) if a in OPERATIONS and a in BINDINGS)
    models = Models(actions)
    service = type(SERVICE_NAME, (ServiceBase,), {a: _method(a, models) for a in actions})
    app = Application([service], tns=NAMESPACE, name=SERVICE_NAME, in_protocol=_PreParsedSoap11(),
                      out_protocol=Soap11())
    return app, models
