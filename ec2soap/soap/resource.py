"""SoapResource: EC2 over SOAP 1.1 at /awsapi/services/AmazonEC2 (and /awsapi without an Action). Never imports
query/ or s3/.

GET ?wsdl: our WSDL with this server's address in the service port. POST: the hardened parse and the
WS-Security check (auth.wsse) run first, on the blocking-work pool; only a verified request is read (Spyne
decodes the operation element, soap.reader makes the core's kwargs: soap.service), and the verified caller goes
to the gateway with it, never in a global.
Every failure is a SOAP fault with HTTP 500 (soap.faults); nothing reaches Twisted's HTML error page. The request
id, the service switch, the catch-all, the log line and the metrics are the front door's (ec2soap.door).
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from ec2soap import compat  # noqa: F401  (before anything Spyne-on-Twisted)
from twisted.internet.defer import Deferred

from ec2soap import __version__
from ec2soap.door import Answer, Exchange, FrontDoor
from ec2soap.errors import ERRORS, EC2Error, unsupported
from ec2soap.gateway import Caller
from ec2soap.origin import base_url, request_origin
from ec2soap.soap.faults import fault_document
from ec2soap.soap.models import NAMESPACE
from ec2soap.soap.service import SoapCall, SoapService
from ec2soap.soap.wsdl import wsdl_document, with_address
from ec2soap.wire.catalogue import entry
from ec2soap.wire.shapes import BASE_VERSION, render_response

__all__ = ["SoapResource"]

log = logging.getLogger(__name__)
_XML = "text/xml; charset=UTF-8"
_SOAP_ENVS = ("http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")
PATH = "/awsapi/services/AmazonEC2"



class SoapResource(FrontDoor):
    """EC2 SOAP. `run(fn, *args)` runs blocking work on the server's pool (→ Deferred); `lookup_cert(der)` →
    (access key, secret) or None, called on that pool; `gateway` runs actions."""
    service = "soap"
    log_name = "ec2-soap"
    caller_field = "key"
    errors = (EC2Error,)
    log = log

    def __init__(self, *, gateway: Any, run: Callable[..., Deferred], lookup_cert: Callable[[bytes], Any],
                 clock_skew: float = 900.0, public_host: str = "", enabled: Callable[[], bool] | None = None,
                 clock: Callable[[], datetime] | None = None, metrics: Any = None):
        super().__init__(enabled=enabled, metrics=metrics)
        self.gateway = gateway
        self.run = run
        self.lookup_cert = lookup_cert
        self.clock_skew = timedelta(seconds=clock_skew)
        self.public_host = public_host
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.service = SoapService()
        self.actions = self.service.actions
        self.wsdl = wsdl_document(self.service.app)

    # -- GET: the WSDL ----------------------------------------------------------------------------------------
    def render_GET(self, request: Any) -> bytes:
        query = request.uri.split(b"?", 1)[1] if b"?" in request.uri else b""
        # `?wsdl` has no value, and twisted.web drops blank values from request.args.
        if not any(part.split(b"=", 1)[0].lower() == b"wsdl" for part in query.split(b"&")):
            return self._fault(request, ERRORS["InvalidRequest"](
                detail="EC2 SOAP requests are POSTed; GET ?wsdl returns the WSDL"), self.new_request_id())
        request.setHeader("Content-Type", _XML)
        request.setHeader("Server", f"ec2soap/{__version__}")
        return with_address(self.wsdl, self._address(request))

    def _address(self, request: Any) -> str:
        return base_url(request, self.public_host) + PATH

    # -- POST: an operation -----------------------------------------------------------------------------------
    def render_POST(self, request: Any) -> Any:
        return self.serve(request)

    def disabled_error(self) -> EC2Error:
        return ERRORS["Unavailable"]("EC2 API is disabled")

    def internal_error(self) -> EC2Error:
        return ERRORS["InternalError"]()

    def error_answer(self, exchange: Exchange, error: EC2Error) -> Answer:
        return Answer(500, _XML, fault_document(error, exchange.request_id))  # SOAP 1.1: every fault is a 500

    async def answer(self, exchange: Exchange) -> Answer:
        request = exchange.request
        request.content.seek(0)
        body = request.content.read()
        root, verified = await self.run(self._verify, body)
        exchange.caller = verified.access_key
        action, element = self._operation(root)
        exchange.action = action
        call = SoapCall(gateway=self.gateway, caller=Caller(verified.access_key, verified.secret_key),
                        request_id=exchange.request_id, extras={"host": request_origin(request).host})
        # The answer is not serialized by Spyne: its models are built from the same response shapes, and
        # writing the shape directly as text (wire.shapes.render_response, elements of 2010-11-15 only) costs a
        # third of building and serializing model objects — DescribeInstances over 50 instances went from about
        # 130 ms of server time to the Query door's cost.
        result = await self.service.call(call, action, element)
        return Answer(200, _XML, envelope(render_response(action, result, exchange.request_id, BASE_VERSION)))

    def caller_text(self, exchange: Exchange) -> str:
        key = exchange.caller
        return key[:12] + ("…" if len(key) > 12 else "")

    def metric_action(self, exchange: Exchange) -> str:
        return exchange.action if exchange.action in self.actions else "other"

    def _verify(self, body: bytes) -> tuple[Any, Any]:
        """On the pool: the hardened parse, then the WS-Security check. EC2Error when either refuses."""
        from ec2soap.auth import wsse

        try:
            root = wsse.parse_hardened(body)
        except wsse.XmlRejected as exc:
            raise ERRORS[exc.code](detail=exc.message) from None
        try:
            verified = wsse.verify_envelope(root, now=self.clock(), max_skew=self.clock_skew,
                                            lookup_cert=self.lookup_cert)
        except wsse.WsseError as exc:
            raise ERRORS["AuthFailure"](exc.message) from None
        return root, verified

    def _operation(self, root: Any) -> tuple[str, Any]:
        """The body's one child names the action (document/literal): ours, EC2's unimplemented (in the
        catalogue), or unknown."""
        body = [child for child in root if isinstance(child.tag, str) and child.tag.endswith("}Body")
                and child.tag[1:].split("}")[0] in _SOAP_ENVS]
        entries = [child for child in body[0] if isinstance(child.tag, str)] if body else []
        if len(entries) != 1:
            raise ERRORS["InvalidRequest"](detail="the SOAP Body must hold exactly one operation element")
        namespace, _, name = entries[0].tag[1:].partition("}")
        if namespace != NAMESPACE:
            if name in self.actions or _offered(name):
                raise ERRORS["InvalidRequest"](detail=f"{name} must be in the namespace {NAMESPACE}")
            raise ERRORS["InvalidAction"](action=name)
        if name in self.actions:
            return name, entries[0]
        if _offered(name) or _offered(name.removesuffix("Response")):
            raise unsupported(name)
        raise ERRORS["InvalidAction"](action=name)

    def _fault(self, request: Any, error: EC2Error, request_id: str) -> bytes:
        request.setResponseCode(500)
        request.setHeader("Content-Type", _XML)
        return fault_document(error, request_id)


def _offered(name: str) -> bool:
    """Whether the 2010-11-15 API has NAME (the catalogue, wire/catalogue.py): UnsupportedOperation when we do
    not implement it."""
    known = entry(name)
    return known is not None and known.soap


def envelope(body: str) -> bytes:
    """A SOAP 1.1 envelope around one Body element."""
    return (f'<?xml version=\'1.0\' encoding=\'UTF-8\'?>\n<soapenv:Envelope xmlns:soapenv="{_SOAP_ENVS[0]}">'
            f"<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>").encode("utf-8")
