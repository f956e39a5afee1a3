"""The S3 route table: (method, target, sub-resource) → handler. It alone decides which sub-resources exist.

A request's target is the service (no bucket), a bucket, or an object (a key). Its rows are tried in order;
the first whose sub-resources are all in the query (and whose header, if any, was sent) serves it. A row
marked `upload` takes its body streamed to disk as it arrives (s3.streaming) instead of buffered. Known S3
sub-resources this gateway does not serve (NOT_IMPLEMENTED) get rows answering NotImplemented, so none of
them is ever taken for a plain GET or PUT; a method no row serves is MethodNotAllowed.

A new sub-resource is a row here (taking its name out of NOT_IMPLEMENTED), a handler in s3.handlers and an
operation in the family module of s3.operations. Nothing from the resource or Twisted here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional

from ec2soap.s3 import handlers as h
from ec2soap.s3 import handlers_post as post
from ec2soap.s3.answers import S3Answer
from ec2soap.s3.errors import S3Error

__all__ = ["Route", "ROUTES", "NOT_IMPLEMENTED", "METHODS", "resolve", "target_of", "is_upload",
           "subresources"]

Handler = Callable[[Any, Any], Awaitable[S3Answer]]

# S3 sub-resources we know and do not serve: NotImplemented (GET ?lifecycle of a bucket: none configured).
NOT_IMPLEMENTED = tuple(sorted("""accelerate analytics attributes encryption intelligent-tiering inventory
legal-hold lifecycle logging metrics notification object-lock ownershipControls policyStatus publicAccessBlock
replication requestPayment restore retention select tagging torrent website""".split()))
_COPY = "x-amz-copy-source"


@dataclass(frozen=True)
class Route:
    """METHOD on TARGET ("service", "bucket" or "object") with every name of SUBRESOURCES in the query
    (and HEADER among the request headers, if set) is HANDLER's; UPLOAD: its body is streamed."""
    method: str
    target: str
    handler: Handler
    subresources: tuple[str, ...] = ()
    header: Optional[str] = None
    upload: bool = False

    def matches(self, query: Any, headers: Any) -> bool:
        return all(name in query for name in self.subresources) and (self.header is None or self.header in headers)


# -- the refusals a row can answer -----------------------------------------------------------------------------

async def method_not_allowed(res: Any, call: Any) -> S3Answer:
    kind = "OBJECT" if call.key else "SERVICE" if call.bucket is None and call.method in METHODS else "BUCKET"
    raise S3Error("MethodNotAllowed", method=call.method, resource_type=kind)


def _not_implemented(name: str) -> Handler:
    async def refuse(res: Any, call: Any) -> S3Answer:
        raise S3Error("NotImplemented", "The %s sub-resource is not implemented by this gateway." % name)
    refuse.__name__ = refuse.__qualname__ = "not_implemented_" + name.replace("-", "_")
    return refuse


async def no_lifecycle_configuration(res: Any, call: Any) -> S3Answer:
    raise S3Error("NoSuchLifecycleConfiguration", bucket_name=call.bucket)


_REFUSALS = {name: _not_implemented(name) for name in NOT_IMPLEMENTED}


def _unserved(method: str, target: str, **special: Handler) -> list[Route]:
    """A row per NOT_IMPLEMENTED sub-resource (in name order: the first one sent is named), SPECIAL
    replacing the handler of some (by name)."""
    return [Route(method, target, special.get(name.replace("-", "_"), _REFUSALS[name]), (name,))
            for name in NOT_IMPLEMENTED]


# -- the table -------------------------------------------------------------------------------------------------

ROUTES: tuple[Route, ...] = (
    # GET
    Route("GET", "service", h.list_buckets),
    *_unserved("GET", "bucket", lifecycle=no_lifecycle_configuration),
    Route("GET", "bucket", h.get_bucket_acl, ("acl",)),
    Route("GET", "bucket", h.get_bucket_versioning, ("versioning",)),
    Route("GET", "bucket", h.get_bucket_location, ("location",)),
    Route("GET", "bucket", h.get_bucket_policy, ("policy",)),
    Route("GET", "bucket", h.get_bucket_cors, ("cors",)),
    Route("GET", "bucket", h.list_multipart_uploads, ("uploads",)),
    Route("GET", "bucket", h.list_object_versions, ("versions",)),
    Route("GET", "bucket", h.list_objects),
    *_unserved("GET", "object"),
    Route("GET", "object", h.get_object_acl, ("acl",)),
    Route("GET", "object", h.list_parts, ("uploadId",)),
    Route("GET", "object", h.get_object),
    # HEAD (no sub-resources: S3 answers HEAD ?anything as the plain HEAD)
    Route("HEAD", "bucket", h.head_bucket),
    Route("HEAD", "object", h.get_object),
    # PUT
    *_unserved("PUT", "bucket"),
    Route("PUT", "bucket", h.put_bucket_acl, ("acl",)),
    Route("PUT", "bucket", h.put_bucket_versioning, ("versioning",)),
    Route("PUT", "bucket", h.put_bucket_policy, ("policy",)),
    Route("PUT", "bucket", h.put_bucket_cors, ("cors",)),
    Route("PUT", "bucket", h.create_bucket),
    *_unserved("PUT", "object"),
    Route("PUT", "object", h.put_object_acl, ("acl",)),
    Route("PUT", "object", h.upload_part_copy, ("uploadId",), header=_COPY),
    Route("PUT", "object", h.copy_object, header=_COPY),
    Route("PUT", "object", h.put_object, ("uploadId", "partNumber"), upload=True),  # UploadPart
    # Half an UploadPart, or ?uploads: buffered, refused or taken by put_object as it reads them.
    Route("PUT", "object", h.put_object, ("uploadId",)),
    Route("PUT", "object", h.put_object, ("partNumber",)),
    Route("PUT", "object", h.put_object, ("uploads",)),
    Route("PUT", "object", h.put_object, upload=True),
    # POST (the served forms first: a sub-resource beside them does not refuse them)
    Route("POST", "bucket", h.delete_objects, ("delete",)),
    *_unserved("POST", "bucket"),
    Route("POST", "bucket", post.browser_post, upload=True),  # the form is streamed (s3.post_form)
    Route("POST", "object", h.create_multipart_upload, ("uploads",)),
    Route("POST", "object", h.complete_multipart_upload, ("uploadId",)),
    *_unserved("POST", "object"),
    Route("POST", "object", method_not_allowed),
    *_unserved("POST", "service"),
    # DELETE
    *_unserved("DELETE", "bucket"),
    Route("DELETE", "bucket", h.delete_bucket_policy, ("policy",)),
    Route("DELETE", "bucket", h.delete_bucket_cors, ("cors",)),
    Route("DELETE", "bucket", h.delete_bucket),
    *_unserved("DELETE", "object"),
    Route("DELETE", "object", h.abort_multipart_upload, ("uploadId",)),
    Route("DELETE", "object", h.delete_object),
    # OPTIONS: a CORS preflight, whatever it names
    Route("OPTIONS", "service", h.preflight),
    Route("OPTIONS", "bucket", h.preflight),
    Route("OPTIONS", "object", h.preflight),
)

METHODS = frozenset(route.method for route in ROUTES)
_BY_TARGET: dict[tuple[str, str], list[Route]] = {}
for _route in ROUTES:
    _BY_TARGET.setdefault((_route.method, _route.target), []).append(_route)
_REFUSED = Route("*", "*", method_not_allowed)


def target_of(bucket: Optional[str], key: Optional[str]) -> str:
    return "service" if bucket is None else "object" if key else "bucket"


def resolve(method: str, bucket: Optional[str], key: Optional[str], query: Any, headers: Any) -> Route:
    """The row serving METHOD on BUCKET/KEY with QUERY's names and HEADERS; MethodNotAllowed's otherwise."""
    for route in _BY_TARGET.get((method, target_of(bucket, key)), ()):
        if route.matches(query, headers):
            return route
    return _REFUSED


def is_upload(method: str, bucket: Optional[str], key: Optional[str], query: Any, headers: Any) -> bool:
    """Whether this request's body is streamed to disk as it arrives (its row says so)."""
    return resolve(method, bucket, key, query, headers).upload


def subresources() -> dict[str, frozenset[str]]:
    """Every sub-resource the table names → the methods that serve it (empty: NotImplemented everywhere)."""
    names: dict[str, set[str]] = {}
    for route in ROUTES:
        for name in route.subresources:
            served = names.setdefault(name, set())
            if route.handler is not _REFUSALS.get(name):
                served.add(route.method)
    return {name: frozenset(methods) for name, methods in names.items()}
