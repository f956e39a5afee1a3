"""Helpers: turn requests signed by real clients (botocore, boto 2) into HttpRequestInfo."""
from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest

from ec2soap.auth import HttpRequestInfo

ACCESS_KEY = "AKIDEXAMPLE0123"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def secrets(access_key):
    return SECRET_KEY if access_key == ACCESS_KEY else None


def from_prepared(prepared, **overrides) -> HttpRequestInfo:
    """A botocore AWSPreparedRequest as our server would see it (urllib3 adds Host from the URL)."""
    parts = urlsplit(prepared.url)
    headers = [(k, v.decode() if isinstance(v, bytes) else v) for k, v in prepared.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(("Host", parts.netloc))
    body = prepared.body
    if isinstance(body, str):
        body = body.encode()
    elif body is not None and not isinstance(body, bytes):
        body = body.read()
    fields = dict(method=prepared.method, path=parts.path or "/", query=parts.query,
                  headers=headers, body=body or b"")
    fields.update(overrides)
    return HttpRequestInfo(**fields)


def from_url(method: str, url: str, headers=(), body=None) -> HttpRequestInfo:
    parts = urlsplit(url)
    return HttpRequestInfo(method, parts.path or "/", parts.query,
                           [("Host", parts.netloc), *headers], body=body)


def from_boto2(http_request, body: bytes | None = None) -> HttpRequestInfo:
    """A boto 2 HTTPRequest after authorize(): its path may already carry the query."""
    path, _, query = http_request.path.partition("?")
    headers = [(k, str(v)) for k, v in http_request.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        # httplib sends the port in Host unless it is the scheme's default
        port = http_request.port
        headers.append(("Host", http_request.host if port in (80, 443) else f"{http_request.host}:{port}"))
    data = http_request.body
    if isinstance(data, str):
        data = data.encode()
    return HttpRequestInfo(http_request.method, path, query, headers,
                           body=body if body is not None else (data or b""))


@pytest.fixture
def now():
    return datetime.now(timezone.utc)


def pytest_configure(config):
    config.addinivalue_line("markers", "boto2: needs boto 2.49 (skipped when it cannot be imported)")
