"""QueryResource: EC2 Query over HTTP (GET or POST form) at /, /awsapi and /awsapi/rest/AmazonEC2.

Flow: parameters → signature check (ec2soap.auth) → the caller's secret (Credentials) → binding → Gateway →
the response document in the namespace of the request's Version. Errors are EC2's error document with the
code's HTTP status; nothing reaches Twisted's HTML error page. Never imports soap/.
"""
from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from twisted.internet.defer import ensureDeferred
from twisted.web import resource, server

from ec2soap import __version__
from ec2soap.auth.errors import AuthError
from ec2soap.auth.ec2_query import Ec2Query
from ec2soap.auth.request import HttpRequestInfo
from ec2soap.errors import ERRORS, EC2Error
from ec2soap.gateway import Caller, new_request_id
from ec2soap.origin import request_origin
from ec2soap.query.bindings import BINDINGS
from ec2soap.query.params import QueryParams
from ec2soap.wire import types as _types  # noqa: F401  (registers every response shape)
from ec2soap.wire.shapes import RESPONSES, render_document
from ec2soap.xmltext import escape

__all__ = ["QueryResource", "request_info", "request_params", "error_document", "KNOWN_ACTIONS"]

log = logging.getLogger(__name__)
_XML = "text/xml; charset=UTF-8"

# EC2 actions of the 2010-11-15 API and later that we recognise but do not implement: UnsupportedOperation.
# Anything else is InvalidAction, as EC2 answers for names it does not know.
KNOWN_ACTIONS = frozenset("""
ActivateLicense AssociateDhcpOptions AttachVpnGateway BundleInstance CancelBundleTask CancelConversionTask
CancelSpotInstanceRequests ConfirmProductInstance CreateCustomerGateway CreateDhcpOptions CreatePlacementGroup
CreateSpotDatafeedSubscription CreateSubnet CreateVpc CreateVpnConnection CreateVpnGateway DeactivateLicense
DeleteCustomerGateway DeleteDhcpOptions DeletePlacementGroup DeleteSpotDatafeedSubscription DeleteSubnet DeleteVpc
DeleteVpnConnection DeleteVpnGateway DescribeBundleTasks DescribeConversionTasks DescribeCustomerGateways
DescribeDhcpOptions DescribeLicenses DescribePlacementGroups DescribeReservedInstances
DescribeReservedInstancesOfferings DescribeSnapshotAttribute DescribeSpotDatafeedSubscription
DescribeSpotInstanceRequests DescribeSpotPriceHistory DescribeSubnets DescribeVpcs DescribeVpnConnections
DescribeVpnGateways DetachVpnGateway ImportInstance ImportVolume ModifySnapshotAttribute MonitorInstances
PurchaseReservedInstancesOffering RequestSpotInstances ResetSnapshotAttribute
UnmonitorInstances CreateNetworkInterface DescribeNetworkInterfaces CreateInternetGateway DescribeInternetGateways
CreateRouteTable DescribeRouteTables CreateNetworkAcl DescribeNetworkAcls DescribeVpcAttribute
DescribeVolumeStatus DescribeVolumeAttribute ModifyVolumeAttribute EnableVolumeIO CopyImage CopySnapshot
DescribeExportTasks CreateInstanceExportTask DescribeReservedInstancesListings DescribeSecurityGroupRules
DescribeInstanceTypes DescribeLaunchTemplates CreateLaunchTemplate DescribeKeyPairsV2
""".split())


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


class QueryResource(resource.Resource):
    """EC2 Query. `auth` verifies signatures, `credentials` finds secrets, `gateway` runs actions, and
    `extensions` answers the original's own actions (SetUserKeys, CloudEC2Version, ...)."""
    isLeaf = True

    def __init__(self, *, gateway: Any, credentials: Any, clock_skew: float = 900.0,
                 extensions: dict[str, Any] | None = None, enabled: Any = None, metrics: Any = None):
        super().__init__()
        self.gateway = gateway
        self.credentials = credentials
        self.clock_skew = clock_skew
        self.extensions = extensions or {}
        self.enabled = enabled or (lambda: True)
        self.metrics = metrics  # ec2soap.metrics.Metrics or None

    def render(self, request: Any) -> Any:
        # Every method gets an EC2 answer (Twisted's own would be a 501 HTML page); `handle` refuses all but
        # GET, HEAD and POST, the only ones that carry EC2 Query parameters.
        return self._render(request)

    def _render(self, request: Any) -> Any:
        d = ensureDeferred(self.handle(request))
        d.addErrback(lambda failure: log.error("Query request failed outside the handler: %s",
                                               failure.getTraceback()))
        return server.NOT_DONE_YET

    async def handle(self, request: Any) -> None:
        request_id = new_request_id()
        started = time.monotonic()
        action, access_key, status = "-", "-", 500
        try:
            if request.method not in _METHODS:
                request.setHeader("Allow", "GET, HEAD, POST")
                refusal = ERRORS["UnsupportedOperation"](
                    f"The HTTP method {request.method.decode('latin-1')[:16]} is not supported: EC2 Query "
                    f"requests are GET or POST.")
                refusal.status = 405
                raise refusal
            params = request_params(request)
            action = params.get("Action", "")
            if not self.enabled():
                raise ERRORS["Unavailable"]("EC2 API is disabled")
            if not action:
                raise ERRORS["MissingAction"]()
            if action in self.extensions:
                status, ctype, body = await self.extensions[action](request, params, request_id)
                return self._finish(request, status, ctype, body)
            caller = await self.authenticate(request, params)
            access_key = caller.access_key
            if action not in BINDINGS or not self.gateway.supports(action) or action not in RESPONSES:
                if action in KNOWN_ACTIONS or action in RESPONSES or action in BINDINGS:
                    raise ERRORS["UnsupportedOperation"](action=action)
                raise ERRORS["InvalidAction"](action=action)
            kwargs = BINDINGS[action](QueryParams(params))
            result = await self.gateway.call(action, caller, kwargs, request_id,
                                             extras={"host": request_origin(request).host})
            body = render_document(action, result, request_id, params.get("Version"))
            self._finish(request, 200, _XML, body)
            status = 200
        except EC2Error as err:
            status = err.status
            self._finish(request, err.status, _XML, error_document(err.code, err.message, request_id))
        except Exception:
            status = 500
            log.exception("request %s %s failed", request_id, action)
            err = ERRORS["InternalError"]()
            self._finish(request, 500, _XML, error_document(err.code, err.message, request_id))
        finally:
            # One line per request, extensions included. The access key is not a secret; the signature and
            # the secret never appear here.
            seconds = time.monotonic() - started
            known = action in BINDINGS or action in self.extensions or action in KNOWN_ACTIONS or action in RESPONSES
            log.info("service=ec2-query request=%s access_key=%s action=%s status=%s seconds=%.3f client=%s",
                     request_id, access_key, action if known or action == "-" else ascii(action[:64]), status,
                     seconds, request_origin(request).client)
            if self.metrics is not None:
                self.metrics.request("ec2", action if known else "other", status, seconds)

    async def authenticate(self, request: Any, params: Ec2Query) -> Caller:
        """The caller of a signed request, or the EC2Error to answer (extensions call it too). PARAMS is the
        request's Ec2Query: the signature is checked over exactly what the action will receive."""
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

    def _finish(self, request: Any, status: int, content_type: str, body: bytes) -> None:
        if request._disconnected or request.finished:
            return
        request.setResponseCode(status)
        request.setHeader("Content-Type", content_type)
        request.setHeader("Server", f"ec2soap/{__version__}")
        request.write(body)
        request.finish()
