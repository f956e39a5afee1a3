"""The simulator over HTTP: the signed API at /client/api and the unauthenticated integration port (§5).

Requests are answered from the store's thread pool; the reactor only parses and writes.
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import orjson
from twisted.web import resource, server

__all__ = ["ApiResource", "api_site", "integration_site", "to_xml"]

log = logging.getLogger(__name__)
_SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("X-XSS-Protection", "1;mode=block"),
                     ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"))


def _params(request: Any, *, read_body: bool) -> dict[str, str]:
    """Query-string and form parameters; a repeated name keeps its last value (§1)."""
    query = request.uri.split(b"?", 1)[1].decode("utf-8", "replace") if b"?" in request.uri else ""
    params = dict(parse_qsl(query, keep_blank_values=True))
    if read_body and request.method == b"POST":
        ctype = (request.getHeader("content-type") or "").split(";")[0].strip().lower()
        if ctype == "application/x-www-form-urlencoded":
            request.content.seek(0)
            body = request.content.read().decode("utf-8", "replace")
            for key, value in parse_qsl(body, keep_blank_values=True):
                params.setdefault(key, value)
    return params


def to_xml(body: dict) -> bytes:
    """CloudStack's XML rendering of the same response (the default when `response` is not json)."""
    def node(name: str, value: Any) -> str:
        if isinstance(value, dict):
            return f"<{name}>" + "".join(node(k, v) for k, v in value.items()) + f"</{name}>"
        if isinstance(value, list):
            return "".join(node(name, v) for v in value)
        if isinstance(value, bool):
            value = "true" if value else "false"
        return f"<{name}>{escape(str(value))}</{name}>"

    (key, inner), = body.items()
    text = node(key, inner).replace(f"<{key}>", f'<{key} cloud-stack-version="4.18.0.0">', 1)
    return ('<?xml version="1.0" encoding="UTF-8"?>' + text).encode("utf-8")


class ApiResource(resource.Resource):
    """Answers every path below it (the integration port serves any path, §5)."""
    isLeaf = True

    def __init__(self, simulator: Any, *, integration: bool = False):
        super().__init__()
        self.simulator = simulator
        self.integration = integration

    def render_GET(self, request: Any) -> Any:
        return self._render(request)

    def render_POST(self, request: Any) -> Any:
        return self._render(request)

    def _render(self, request: Any) -> Any:
        params = _params(request, read_body=not self.integration)
        want_json = params.get("response", "").lower() == "json"
        if params.get("command") == "login":
            return self._finish_now(request, want_json, 432, {"errorresponse": {
                "uuidList": [], "errorcode": 432, "cserrorcode": 9999,
                "errortext": "The simulator supports API-key authentication only"}})
        deferred = self.simulator.handle_deferred(params, integration=self.integration, as_json=want_json)
        deferred.addCallbacks(lambda result: self._write(request, want_json, *result),
                              lambda failure: self._fail(request, want_json, failure))
        request.notifyFinish().addErrback(lambda _: None)
        return server.NOT_DONE_YET

    def _finish_now(self, request: Any, want_json: bool, status: int, body: dict | bytes) -> bytes:
        """BODY as the caller asked for it: JSON (the simulator gives it as bytes for response=json) or XML."""
        if isinstance(body, bytes):
            self._headers(request, want_json, status, orjson.loads(body) if status != 200 else {})
            return body
        self._headers(request, want_json, status, body)
        return orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS) if want_json else to_xml(body)

    def _headers(self, request: Any, want_json: bool, status: int, body: dict) -> None:
        request.setResponseCode(status)
        request.setHeader("Content-Type", "application/json; charset=UTF-8" if want_json
                          else "text/xml; charset=UTF-8")
        for name, value in _SECURITY_HEADERS:
            request.setHeader(name, value)
        if status != 200:
            inner = next(iter(body.values()))
            request.setHeader("X-Description", str(inner.get("errortext", "")).encode("utf-8")[:1000])

    def _write(self, request: Any, want_json: bool, status: int, body: dict | bytes) -> None:
        if request._disconnected:
            return
        request.write(self._finish_now(request, want_json, status, body))
        request.finish()

    def _fail(self, request: Any, want_json: bool, failure: Any) -> None:
        log.error("simulator request failed", exc_info=(failure.type, failure.value, failure.tb))
        self._write(request, want_json, 530, {"errorresponse": {
            "uuidList": [], "errorcode": 530, "cserrorcode": 4250,
            "errortext": "Internal error executing command, please contact your system administrator"}})


class _Root(resource.Resource):
    def __init__(self, api: ApiResource):
        super().__init__()
        client = resource.Resource()
        client.putChild(b"api", api)
        self.putChild(b"client", client)


def api_site(simulator: Any) -> server.Site:
    """The management server's port: /client/api, signed."""
    site = server.Site(_Root(ApiResource(simulator)))
    site.displayTracebacks = False
    return site


def integration_site(simulator: Any) -> server.Site:
    """The integration port: any path, no signature, SYSTEM caller, query string only."""
    site = server.Site(ApiResource(simulator, integration=True))
    site.displayTracebacks = False
    return site
