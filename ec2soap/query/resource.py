"""QueryResource: EC2 Query over HTTP (GET or POST form) at /, /awsapi and /awsapi/rest/AmazonEC2.

Flow: parameters → signature check (ec2soap.auth) → the caller's secret (Credentials) → the action's request
shape read by query/reader.py (unknown actions: the catalogue, wire/catalogue.py) → Gateway → the response
document in the namespace of the request's Version. Errors are EC2's error document with the
code's HTTP status; nothing reaches Twisted's HTML error page. Never imports soap/.

The request id, the service switch, the catch-all, the log line and the metrics are the front door's
(ec2soap.door.FrontDoor); this module says how EC2 Query reads a request and writes an answer and an error.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from ec2soap.auth.errors import AuthError
from ec2soap.auth.ec2_query import Ec2Query
from ec2soap.auth.request import HttpRequestInfo
from ec2soap.door import Answer, Exchange, FrontDoor
from ec2soap.errors import ERRORS, EC2Error, unsupported
from ec2soap.gateway import Caller
from ec2soap.origin import request_origin
from ec2soap.query import reader
from ec2soap.query.extensions import QUERY_EXTENSIONS
from ec2soap.query.params import QueryParams
from ec2soap.wire import types as _types  # noqa: F401  (registers every response shape)
from ec2soap.wire.catalogue import entry, implemented
from ec2soap.wire.shapes import render_document
from ec2soap.xmltext import escape

__all__ = ["QueryResource", "request_info", "request_params", "error_document"]

log = logging.getLogger(__name__)
_XML = "text/xml; charset=UTF-8"



def request_params(request: Any) -> Ec2Query:
    """The request's parameters, read once (ec2soap.auth.ec2_query decides which bytes hold them): the
    signature check and the action's binding both use this object. EC2Error for a body that is not a POST
    form, escapes that are not UTF-8, or a parameter given twice."""
    try:
        return Ec2Query.read(request_info(request))
    except AuthError as exc:
        raise ERRORS[exc.code if exc.code in _AUTH_CODES else "InvalidParameterValue"](exc.message) from None


def request_info(request: Any) -> HttpRequestInfo:
    """The framework-free view the signature checks need (the body of any method: Ec2Query refuses one
    that holds no parameters)."""
    try:
        uri = request.uri.decode("utf-8")
    except UnicodeDecodeError:
        raise AuthError("InvalidParameterValue", "The request URI is not UTF-8.") from None
    path, _, query = uri.partition("?")
    request.content.seek(0)
    body = request.content.read()
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, vs in request.requestHeaders.getAllRawHeaders()
               for v in vs]
    return HttpRequestInfo(method=request.method.decode("ascii"), path=path, query=query, headers=headers,
                           body=body)


def error_document(code: str, message: str, request_id: str) -> bytes:
    """EC2's Query error body; `RequestID` is the spelling botocore's EC2 parser reads."""
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{escape(code)}</Code>'
            f"<Message>{escape(message)}</Message></Error></Errors><RequestID>{escape(request_id)}</RequestID>"
            f"</Response>").encode("utf-8")


_METHODS = (b"GET", b"HEAD", b"POST")
_AUTH_CODES = {"AuthFailure", "SignatureDoesNotMatch", "RequestExpired", "MissingParameter",
               "InvalidParameterValue", "IncompleteSignature"}


class QueryResource(FrontDoor):
    """EC2 Query over the shared front door (ec2soap.door): it reads the parameters and the action, checks
    the signature, and writes EC2's documents. `credentials` finds the secrets signatures are checked with;
    `gateway` runs actions: EC2's and the original's own (QUERY_EXTENSIONS: SetUserKeys, CloudEC2Version, ...)."""
    service = "ec2"
    log_name = "service=ec2-query"
    caller_field = "access_key"  # not a secret; the signature and the secret never appear in the log
    errors = (EC2Error,)
    log = log

    def __init__(self, *, gateway: Any, credentials: Any, clock_skew: float = 900.0, enabled: Any = None,
                 metrics: Any = None):
        super().__init__(enabled=enabled, metrics=metrics)
        self.gateway = gateway
        self.credentials = credentials
        self.clock_skew = clock_skew

    def render(self, request: Any) -> Any:
        # Every method gets an EC2 answer (Twisted's own would be a 501 HTML page); `read` refuses all but
        # GET, HEAD and POST, the only ones that carry EC2 Query parameters.
        return self.serve(request)

    # -- the front door's hooks ---------------------------------------------------------------------------

    async def read(self, exchange: Exchange) -> Ec2Query:
        """The request's parameters and its action (before the service switch: a refusal names it)."""
        request = exchange.request
        if request.method not in _METHODS:
            request.setHeader("Allow", "GET, HEAD, POST")
            refusal = ERRORS["UnsupportedOperation"](
                f"The HTTP method {request.method.decode('latin-1')[:16]} is not supported: EC2 Query "
                f"requests are GET or POST.")
            refusal.status = 405
            raise refusal
        params = request_params(request)
        exchange.action = params.get("Action", "") or "-"
        return params

    def disabled_error(self) -> EC2Error:
        return ERRORS["Unavailable"]("EC2 API is disabled")

    def internal_error(self) -> EC2Error:
        return ERRORS["InternalError"]()

    def error_answer(self, exchange: Exchange, error: EC2Error) -> Answer:
        return Answer(error.status, _XML, error_document(error.code, error.message, exchange.request_id))

    async def answer(self, exchange: Exchange) -> Answer:
        params: Ec2Query = exchange.parsed
        action = params.get("Action", "")
        if not action:
            raise ERRORS["MissingAction"]()
        extras = {"host": request_origin(exchange.request).host}
        extension = QUERY_EXTENSIONS.get(action)
        if extension is not None:
            signed = await self.authenticate(exchange.request, params) if extension.signed else None
            caller, kwargs = extension.bind(params, signed)
            exchange.caller = caller.access_key or exchange.caller
            result = await self.gateway.call(action, caller, kwargs, exchange.request_id, extras=extras)
            return Answer(200, *extension.write(result))
        caller = await self.authenticate(exchange.request, params)
        exchange.caller = caller.access_key
        if not implemented(action) or not self.gateway.supports(action):
            # The catalogue (wire/catalogue.py) knows it: EC2 has it and we do not. Else it is no EC2 action.
            if entry(action) is not None:
                raise unsupported(action)
            raise ERRORS["InvalidAction"](action=action)
        kwargs = reader.read(action, QueryParams(params))
        result = await self.gateway.call(action, caller, kwargs, exchange.request_id, extras=extras)
        return Answer(200, _XML, render_document(action, result, exchange.request_id, params.get("Version")))

    def _known(self, action: str) -> bool:
        return entry(action) is not None

    def action_text(self, exchange: Exchange) -> str:
        # An action we do not know is the caller's free text: quoted, and cut short.
        action = exchange.action
        return action if action == "-" or self._known(action) else ascii(action[:64])

    def metric_action(self, exchange: Exchange) -> str:
        return exchange.action if self._known(exchange.action) else "other"

    async def authenticate(self, request: Any, params: Ec2Query) -> Caller:
        """The caller of a signed request, or the EC2Error to answer. PARAMS is the request's Ec2Query: the
        signature is checked over exactly what the action will receive."""
        from ec2soap.auth import signatures
        from ec2soap.auth.credentials import CredentialsUnavailable

        try:
            parsed = signatures.parse_ec2(params, max_skew=timedelta(seconds=self.clock_skew))
            secret = await self.credentials.secret_for(parsed.access_key)
            signatures.verify_ec2(parsed, secret)
        except AuthError as exc:
            code = exc.code if exc.code in _AUTH_CODES else "AuthFailure"
            raise ERRORS[code](exc.message) from None
        except CredentialsUnavailable:
            raise ERRORS["Unavailable"]() from None  # as for a cached caller whose action needs CloudStack
        return Caller(access_key=parsed.access_key, secret_key=secret)
