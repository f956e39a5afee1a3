"""The S3 route table: every row reachable, every known-but-unserved sub-resource refused on every method and
target (never taken for a plain GET or PUT), uploads only where a body is an object's or a part's."""
from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace

import pytest

from ec2soap.s3 import handlers, routes
from ec2soap.s3.errors import S3Error

_TARGETS = {"service": (None, None), "bucket": ("b", None), "object": ("b", "k")}


def _refusal(method: str, target: str, query: dict, headers: dict | None = None) -> S3Error:
    bucket, key = _TARGETS[target]
    route = routes.resolve(method, bucket, key, query, headers or {})
    call = SimpleNamespace(method=method, bucket=bucket, key=key, query=query, headers=headers or {})
    with pytest.raises(S3Error) as caught:
        asyncio.run(route.handler(None, call))
    return caught.value


def test_no_row_is_shadowed_by_an_earlier_one() -> None:
    seen: dict[tuple[str, str], list[routes.Route]] = {}
    for route in routes.ROUTES:
        for earlier in seen.setdefault((route.method, route.target), []):
            covers = set(earlier.subresources) <= set(route.subresources) and \
                earlier.header in (None, route.header)
            assert not covers, f"{route} can never match: {earlier} comes first"
        seen[(route.method, route.target)].append(route)


def test_every_handler_is_a_coroutine_function() -> None:
    for route in routes.ROUTES:
        assert inspect.iscoroutinefunction(route.handler), route
    assert {name for name in handlers.__all__} <= {r.handler.__name__ for r in routes.ROUTES}


@pytest.mark.parametrize("name", routes.NOT_IMPLEMENTED)
def test_unserved_subresources_are_not_implemented_everywhere(name: str) -> None:
    for method in ("GET", "PUT", "POST", "DELETE"):
        for target in ("bucket", "object") if method != "POST" else ("service", "bucket", "object"):
            # Beside a served sub-resource (or a copy source) the unserved one still refuses the request.
            for extra in ({}, {"acl": ""}, {"uploadId": "u", "partNumber": "1"}):
                if (method, target) == ("POST", "object") and "uploadId" in extra:
                    continue  # a served POST form (CompleteMultipartUpload) is answered whatever else is sent
                error = _refusal(method, target, {name: "", **extra}, {"x-amz-copy-source": "/a/b"})
                assert (error.code, name in error.message) == ("NotImplemented", True), (method, target, extra)
            assert not routes.is_upload(method, *_TARGETS[target], {name: ""}, {})


def test_first_unserved_name_is_the_one_named() -> None:
    error = _refusal("PUT", "object", {"website": "", "torrent": "", "acl": ""})
    assert "torrent" in error.message


def test_uploads_are_object_and_part_puts_only() -> None:
    assert routes.is_upload("PUT", "b", "k", {}, {})
    assert routes.is_upload("PUT", "b", "k", {"uploadId": "u", "partNumber": "2"}, {})
    assert not routes.is_upload("PUT", "b", "k", {"uploadId": "u"}, {})  # half a part: buffered, refused
    assert not routes.is_upload("PUT", "b", "k", {"acl": ""}, {})
    assert not routes.is_upload("PUT", "b", "k", {}, {"x-amz-copy-source": "/a/b"})
    assert not routes.is_upload("PUT", "b", None, {}, {})
    assert not routes.is_upload("POST", "b", "k", {"uploads": ""}, {})
    assert routes.is_upload("POST", "b", None, {}, {})  # a browser POST form: its file is streamed
    assert not routes.is_upload("POST", "b", None, {"delete": ""}, {})
    assert all((r.method, r.target) in (("PUT", "object"), ("POST", "bucket")) for r in routes.ROUTES if r.upload)


@pytest.mark.parametrize("method,target,kind", [
    ("HEAD", "service", "SERVICE"), ("PUT", "service", "SERVICE"), ("DELETE", "service", "SERVICE"),
    ("POST", "service", "SERVICE"), ("POST", "object", "OBJECT"), ("PATCH", "bucket", "BUCKET"),
    ("PATCH", "object", "OBJECT")])
def test_methods_no_row_serves_are_method_not_allowed(method: str, target: str, kind: str) -> None:
    error = _refusal(method, target, {})
    assert error.code == "MethodNotAllowed" and error.status == 405
    assert (error.fields["method"], error.fields["resource_type"]) == (method, kind)


def test_the_table_serves_what_the_gateway_documents() -> None:
    served = routes.subresources()
    assert served["acl"] == {"GET", "PUT"}
    assert served["cors"] == served["policy"] == {"GET", "PUT", "DELETE"}
    assert served["uploadId"] == {"GET", "PUT", "POST", "DELETE"}
    assert served["tagging"] == {"GET", "PUT", "DELETE"}
