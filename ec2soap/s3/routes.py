"""The S3 route table: (method, target, sub-resource) → handler. It alone decides which sub-resources exist.

A request's target is the service (no bucket), a bucket, or an object (a key). Its rows are tried in order;
the first whose sub-resources are all in the query (and whose header, if any, was sent) serves it. A row
marked `upload` takes its body streamed to disk as it arrives (s3.streaming) instead of buffered. Known S3
sub-resources this gateway does not serve (NOT_IMPLEMENTED) get rows answering NotImplemented, so none of
them is ever taken for a plain GET or PUT; a method no row serves is MethodNotAllowed.

S3 Control's account-level paths (/v20180820/..., s3.handlers_control) have their own small table,
CONTROL_ROUTES, which the resource consults instead when a request is S3 Control's.

A new sub-resource is a row here (taking its name out of NOT_IMPLEMENTED), a handler in s3.handlers and an
operation in the family module of s3.operations. Nothing from the resource or Twisted here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional

from ec2soap.s3 import handlers as h
from ec2soap.s3 import handlers_access as acc
from ec2soap.s3 import handlers_post as post
from ec2soap.s3 import handlers_lifecycle as lc
from ec2soap.s3 import handlers_tagging as tg
from ec2soap.s3 import handlers_object_lock as ol
from ec2soap.s3 import handlers_checksums as ck
from ec2soap.s3 import handlers_control as ctl
from ec2soap.s3.answers import S3Answer
from ec2soap.s3.errors import S3Error

__all__ = ["Route", "ROUTES", "NOT_IMPLEMENTED", "METHODS", "resolve", "target_of", "is_upload",
           "subresources", "CONTROL_ROUTES", "resolve_control"]

Handler = Callable[[Any, Any], Awaitable[S3Answer]]

# S3 sub-resources we know and do not serve: NotImplemented.
NOT_IMPLEMENTED = tuple(sorted("""accelerate analytics encryption intelligent-tiering inventory
logging metrics notification
replication requestPayment restore select torrent website""".split()))
_COPY = "x-amz-copy-source"
_ACCESS = ("publicAccessBlock", "policyStatus", "ownershipControls")  # s3.handlers_access


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


_REFUSALS = {name: _not_implemented(name) for name in NOT_IMPLEMENTED}

# Object lock's sub-resources (s3.handlers_object_lock): where S3 serves them, and MethodNotAllowed on every
# other method and target, so none is ever taken for a plain request (DELETE ?retention is no DeleteObject).
_OBJECT_LOCK = {
    ("bucket", "object-lock"): {"GET": ol.get_object_lock_configuration, "PUT": ol.put_object_lock_configuration},
    ("object", "retention"): {"GET": ol.get_object_retention, "PUT": ol.put_object_retention},
    ("object", "legal-hold"): {"GET": ol.get_object_legal_hold, "PUT": ol.put_object_legal_hold},
}


def _object_lock(method: str, target: str) -> list[Route]:
    return [Route(method, target, served.get(method, ol.not_served) if where == target else ol.not_served, (name,))
            for (where, name), served in _OBJECT_LOCK.items()]


def _unserved(method: str, target: str, **special: Handler) -> list[Route]:
    """A row per NOT_IMPLEMENTED sub-resource (in name order: the first one sent is named), SPECIAL
    replacing the handler of some (by name)."""
    return [Route(method, target, special.get(name.replace("-", "_"), _REFUSALS[name]), (name,))
            for name in NOT_IMPLEMENTED]


# -- the table -------------------------------------------------------------------------------------------------

ROUTES: tuple[Route, ...] = (
    # GET
    Route("GET", "service", h.list_buckets),
    *_unserved("GET", "bucket"),
    *_object_lock("GET", "bucket"),
    Route("GET", "bucket", lc.get_bucket_lifecycle, ("lifecycle",)),
    Route("GET", "bucket", acc.get_public_access_block, ("publicAccessBlock",)),
    Route("GET", "bucket", acc.get_bucket_policy_status, ("policyStatus",)),
    Route("GET", "bucket", acc.get_bucket_ownership_controls, ("ownershipControls",)),
    Route("GET", "bucket", h.get_bucket_acl, ("acl",)),
    Route("GET", "bucket", tg.get_bucket_tagging, ("tagging",)),
    Route("GET", "bucket", h.get_bucket_versioning, ("versioning",)),
    Route("GET", "bucket", h.get_bucket_location, ("location",)),
    Route("GET", "bucket", h.get_bucket_policy, ("policy",)),
    Route("GET", "bucket", h.get_bucket_cors, ("cors",)),
    Route("GET", "bucket", h.list_multipart_uploads, ("uploads",)),
    Route("GET", "bucket", h.list_object_versions, ("versions",)),
    Route("GET", "bucket", h.list_objects),
    *_unserved("GET", "object"),
    *_object_lock("GET", "object"),
    Route("GET", "object", method_not_allowed, ("lifecycle",)),  # a bucket's sub-resource only
    Route("GET", "object", h.get_object_acl, ("acl",)),
    Route("GET", "object", ck.get_object_attributes, ("attributes",)),
    Route("GET", "object", tg.get_object_tagging, ("tagging",)),
    Route("GET", "object", h.list_parts, ("uploadId",)),
    Route("GET", "object", h.get_object),
    # HEAD (no sub-resources: S3 answers HEAD ?anything as the plain HEAD)
    Route("HEAD", "bucket", h.head_bucket),
    Route("HEAD", "object", h.get_object),
    # PUT
    *_unserved("PUT", "bucket"),
    *_object_lock("PUT", "bucket"),
    Route("PUT", "bucket", acc.put_public_access_block, ("publicAccessBlock",)),
    Route("PUT", "bucket", acc.put_bucket_ownership_controls, ("ownershipControls",)),
    Route("PUT", "bucket", method_not_allowed, ("policyStatus",)),
    Route("PUT", "bucket", h.put_bucket_acl, ("acl",)),
    Route("PUT", "bucket", tg.put_bucket_tagging, ("tagging",)),
    Route("PUT", "bucket", h.put_bucket_versioning, ("versioning",)),
    Route("PUT", "bucket", h.put_bucket_policy, ("policy",)),
    Route("PUT", "bucket", h.put_bucket_cors, ("cors",)),
    Route("PUT", "bucket", lc.put_bucket_lifecycle, ("lifecycle",)),
    Route("PUT", "bucket", h.create_bucket),
    *_unserved("PUT", "object"),
    *_object_lock("PUT", "object"),
    Route("PUT", "object", method_not_allowed, ("lifecycle",)),
    Route("PUT", "object", h.put_object_acl, ("acl",)),
    Route("PUT", "object", tg.put_object_tagging, ("tagging",)),
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
    *_object_lock("POST", "bucket"),
    *(Route("POST", "bucket", method_not_allowed, (name,)) for name in _ACCESS),
    Route("POST", "bucket", method_not_allowed, ("lifecycle",)),
    Route("POST", "bucket", post.browser_post, upload=True),  # the form is streamed (s3.post_form)
    Route("POST", "object", h.create_multipart_upload, ("uploads",)),
    Route("POST", "object", h.complete_multipart_upload, ("uploadId",)),
    *_unserved("POST", "object"),
    *_object_lock("POST", "object"),
    Route("POST", "object", method_not_allowed),
    *_unserved("POST", "service"),
    # DELETE
    *_unserved("DELETE", "bucket"),
    *_object_lock("DELETE", "bucket"),
    Route("DELETE", "bucket", acc.delete_public_access_block, ("publicAccessBlock",)),
    Route("DELETE", "bucket", acc.delete_bucket_ownership_controls, ("ownershipControls",)),
    Route("DELETE", "bucket", method_not_allowed, ("policyStatus",)),
    Route("DELETE", "bucket", h.delete_bucket_policy, ("policy",)),
    Route("DELETE", "bucket", tg.delete_bucket_tagging, ("tagging",)),
    Route("DELETE", "bucket", h.delete_bucket_cors, ("cors",)),
    Route("DELETE", "bucket", lc.delete_bucket_lifecycle, ("lifecycle",)),
    Route("DELETE", "bucket", h.delete_bucket),
    *_unserved("DELETE", "object"),
    *_object_lock("DELETE", "object"),
    Route("DELETE", "object", method_not_allowed, ("lifecycle",)),
    Route("DELETE", "object", tg.delete_object_tagging, ("tagging",)),
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
# Per (method, target): every sub-resource name its rows test, and its rows that test none, in table order. A
# query naming none of those (a plain GET or PUT of an object) can only be served by one of these rows, so
# resolve tries them alone instead of testing every sub-resource row (two dozen for GET object) each time.
_NAMES: dict[tuple[str, str], frozenset[str]] = {
    target: frozenset(name for route in rows for name in route.subresources) for target, rows in _BY_TARGET.items()}
_PLAIN: dict[tuple[str, str], list[Route]] = {
    target: [route for route in rows if not route.subresources] for target, rows in _BY_TARGET.items()}


def target_of(bucket: Optional[str], key: Optional[str]) -> str:
    return "service" if bucket is None else "object" if key else "bucket"


def resolve(method: str, bucket: Optional[str], key: Optional[str], query: Any, headers: Any) -> Route:
    """The row serving METHOD on BUCKET/KEY with QUERY's names and HEADERS; MethodNotAllowed's otherwise."""
    target = (method, target_of(bucket, key))
    names = _NAMES.get(target)
    if names is None:
        return _REFUSED
    rows = _PLAIN[target] if not any(name in names for name in query) else _BY_TARGET[target]
    for route in rows:
        if route.matches(query, headers):
            return route
    return _REFUSED


def is_upload(method: str, bucket: Optional[str], key: Optional[str], query: Any, headers: Any) -> bool:
    """Whether this request's body is streamed to disk as it arrives (its row says so)."""
    return resolve(method, bucket, key, query, headers).upload


# S3 Control (s3.handlers_control): path → method → handler. Any other /v20180820/ path is NotImplemented.
CONTROL_ROUTES: dict[str, dict[str, Handler]] = {
    "/v20180820/configuration/publicAccessBlock": {"GET": ctl.get_public_access_block,
                                                   "PUT": ctl.put_public_access_block,
                                                   "DELETE": ctl.delete_public_access_block},
}


def resolve_control(method: str, raw_path: str) -> Route:
    """The row serving an S3 Control request (s3.handlers_control.is_control): METHOD on RAW_PATH."""
    served = CONTROL_ROUTES.get(raw_path.rstrip("/"))
    if served is None:
        return Route(method, "account", ctl.not_implemented)
    return Route(method, "account", served.get(method, ctl.method_not_allowed))


def subresources() -> dict[str, frozenset[str]]:
    """Every sub-resource the table names → the methods that serve it (empty: NotImplemented everywhere)."""
    names: dict[str, set[str]] = {}
    for route in ROUTES:
        for name in route.subresources:
            served = names.setdefault(name, set())
            if route.handler is not _REFUSALS.get(name):
                served.add(route.method)
    return {name: frozenset(methods) for name, methods in names.items()}
