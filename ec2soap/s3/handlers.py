"""S3 handlers: one coroutine per S3 operation, called by S3Resource with an authenticated Call.

RES is the service (`res.ops`, S3Operations, and `res.run`, the store's thread pool); each handler runs its
operation there and returns an S3Answer (a document, or an opened reader for a download) that the resource
writes. Failures are raised as S3Error and rendered by the resource. Which handler serves a request is
s3.routes' table. Nothing from ec2soap.core, and nothing from the resource.
"""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import quote

from ec2soap.origin import base_url
from ec2soap.s3 import checksums, xml, xml_checksums
from ec2soap.s3.answers import S3Answer
from ec2soap.s3.bodies import Prepared, decoder_for
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import NULL_VERSION
from ec2soap.s3.rules import etag_header, parse_copy_source

__all__ = ["list_buckets", "head_bucket", "create_bucket", "delete_bucket", "get_bucket_acl", "put_bucket_acl",
           "get_bucket_versioning", "put_bucket_versioning", "get_bucket_location", "get_bucket_policy",
           "put_bucket_policy", "delete_bucket_policy", "get_bucket_cors", "put_bucket_cors", "delete_bucket_cors",
           "list_objects", "list_object_versions", "list_multipart_uploads", "get_object", "put_object",
           "copy_object", "delete_object", "delete_objects", "get_object_acl", "put_object_acl",
           "create_multipart_upload", "upload_part_copy", "list_parts", "complete_multipart_upload",
           "abort_multipart_upload", "preflight"]

_CHECKSUM_PREFIX = "x-amz-checksum-"


def _version_header(version_id: Optional[str]) -> dict:
    return {"x-amz-version-id": version_id} if version_id and version_id != NULL_VERSION else {}


# -- service and buckets ---------------------------------------------------------------------------------------

async def list_buckets(res: Any, call: Any) -> S3Answer:
    if call.caller is None:
        raise S3Error("AccessDenied")
    q = call.query
    buckets, token = await res.run(res.ops.list_bucket_page, call.caller, q.get("max-buckets"),
                                   q.get("continuation-token"), q.get("prefix"), q.get("bucket-region"))
    return S3Answer(200, xml.list_all_my_buckets(call.caller, buckets, token, q.get("prefix")))


async def head_bucket(res: Any, call: Any) -> S3Answer:
    bucket = await res.run(res.ops.head_bucket, call.caller, call.bucket, call.context)
    return S3Answer.empty(200, {"x-amz-bucket-region": bucket.location or "us-east-1"})


async def get_bucket_acl(res: Any, call: Any) -> S3Answer:
    return S3Answer(200, xml.access_control_policy(
        await res.run(res.ops.get_bucket_acl, call.caller, call.bucket, call.context)))


async def get_bucket_versioning(res: Any, call: Any) -> S3Answer:
    return S3Answer(200, xml.versioning_configuration(
        await res.run(res.ops.get_bucket_versioning, call.caller, call.bucket, call.context)))


async def get_bucket_location(res: Any, call: Any) -> S3Answer:
    return S3Answer(200, xml.location_constraint(
        await res.run(res.ops.get_bucket_location, call.caller, call.bucket, call.context)))


async def get_bucket_policy(res: Any, call: Any) -> S3Answer:
    text = await res.run(res.ops.get_bucket_policy, call.caller, call.bucket, call.context)
    return S3Answer(200, text.encode("utf-8"), content_type="application/json")


async def get_bucket_cors(res: Any, call: Any) -> S3Answer:
    return S3Answer(200, xml.cors_configuration(
        await res.run(res.ops.get_bucket_cors, call.caller, call.bucket, call.context)))


async def list_multipart_uploads(res: Any, call: Any) -> S3Answer:
    q = call.query
    result = await res.run(res.ops.list_multipart_uploads, call.caller, call.bucket, q.get("prefix", ""),
                           q.get("delimiter"), q.get("key-marker"), q.get("upload-id-marker"),
                           q.get("max-uploads"), q.get("encoding-type"), call.context)
    return S3Answer(200, xml.list_multipart_uploads_result(result))


async def list_object_versions(res: Any, call: Any) -> S3Answer:
    q = call.query
    result = await res.run(res.ops.list_object_versions, call.caller, call.bucket, q.get("prefix", ""),
                           q.get("delimiter"), q.get("key-marker"), q.get("version-id-marker"), q.get("max-keys"),
                           q.get("encoding-type"), call.context)
    return S3Answer(200, xml.list_versions_result(result))


async def list_objects(res: Any, call: Any) -> S3Answer:
    """ListObjects, or ListObjectsV2 with list-type=2 (a parameter of the listing, not a sub-resource)."""
    q = call.query
    if q.get("list-type") == "2":
        result = await res.run(res.ops.list_objects_v2, call.caller, call.bucket, q.get("prefix", ""),
                               q.get("delimiter"), q.get("continuation-token"), q.get("start-after"),
                               q.get("max-keys"), q.get("encoding-type"), q.get("fetch-owner") == "true",
                               call.context)
        return S3Answer(200, xml.list_bucket_result(result, v2=True))
    result = await res.run(res.ops.list_objects, call.caller, call.bucket, q.get("prefix", ""), q.get("delimiter"),
                           q.get("marker"), q.get("max-keys"), q.get("encoding-type"), call.context)
    return S3Answer(200, xml.list_bucket_result(result))


async def put_bucket_acl(res: Any, call: Any) -> S3Answer:
    acl = xml.parse_access_control_policy(call.body) if call.body.strip() else None
    await res.run(res.ops.put_bucket_acl, call.caller, call.bucket, acl, call.headers, call.context)
    return S3Answer.empty(200)


async def put_bucket_versioning(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.put_bucket_versioning, call.caller, call.bucket, xml.parse_versioning(call.body),
                  call.context)
    return S3Answer.empty(200)


async def put_bucket_policy(res: Any, call: Any) -> S3Answer:
    if not call.body.strip():
        raise S3Error("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'")
    await res.run(res.ops.put_bucket_policy, call.caller, call.bucket, call.body, call.context)
    return S3Answer.empty(204)


async def put_bucket_cors(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.put_bucket_cors, call.caller, call.bucket, xml.parse_cors(call.body), call.context)
    return S3Answer.empty(200)


async def create_bucket(res: Any, call: Any) -> S3Answer:
    location = xml.parse_create_bucket(call.body)
    await res.run(res.ops.create_bucket, call.caller, call.bucket, location, call.headers)
    return S3Answer.empty(200, {"Location": "/" + call.bucket})


async def delete_bucket_policy(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.delete_bucket_policy, call.caller, call.bucket, call.context)
    return S3Answer.empty(204)


async def delete_bucket_cors(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.delete_bucket_cors, call.caller, call.bucket, call.context)
    return S3Answer.empty(204)


async def delete_bucket(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.delete_bucket, call.caller, call.bucket, call.context)
    return S3Answer.empty(204)


# -- objects ---------------------------------------------------------------------------------------------------

async def get_object(res: Any, call: Any) -> S3Answer:
    """GetObject and HeadObject (the same lookup and headers; HEAD opens no body)."""
    head = call.method == "HEAD"
    q = call.query
    result = await res.run(res.ops.get_object, call.caller, call.bucket, call.key, q.get("versionId"),
                           call.headers, call.context, head, q.get("partNumber"))
    headers = dict(result.headers)
    if call.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED" and (
            result.range is None or result.part_number is not None):  # whole object, or whole part
        headers.update(res.ops.checksum_headers(result.version, result.part_number))
    for name, header in _OVERRIDES.items():
        if q.get(name):
            headers[header] = q[name]
    if result.range is not None:
        start, end = result.range
        headers["Content-Range"] = f"bytes {start}-{end}/{result.version.size}"
    return S3Answer(result.status, headers=headers, content_type=None, length=result.length,
                    stream=None if head else result.body)


_OVERRIDES = {"response-content-type": "Content-Type", "response-content-language": "Content-Language",
              "response-expires": "Expires", "response-cache-control": "Cache-Control",
              "response-content-disposition": "Content-Disposition",
              "response-content-encoding": "Content-Encoding"}


async def put_object(res: Any, call: Any) -> S3Answer:
    """PutObject and UploadPart (with uploadId): the body is streamed (StreamingRequest) or, without the streaming request
    factory, read from Twisted's buffer in chunks on the pool."""
    # A streamed body was taken in (and its caller verified) before the resource called us: call.prepared.
    prepared = call.prepared if call.prepared is not None else await _buffered_upload(res, call)
    call.caller, call.auth = prepared.caller, prepared.auth
    body, headers = prepared.body, prepared.headers
    try:
        _take_trailers(prepared)
    except BaseException:
        await res.run(body.abort)
        raise
    if prepared.decoder is not None and "x-amz-decoded-content-length" not in headers:
        headers["x-amz-decoded-content-length"] = str(prepared.decoder.decoded_length)
    if "uploadId" in call.query:
        part = await res.run(res.ops.upload_part, call.caller, call.bucket, call.key, call.query["uploadId"],
                             call.query.get("partNumber"), body, headers, call.context)
        out = {"ETag": etag_header(part.etag)}
        out.update({_CHECKSUM_PREFIX + name: value for name, value in part.checksums.items()})
    else:
        # One pool hop and one transaction: the write and its x-amz-expiration (s3.lifecycle).
        version, expiry = await res.run(res.ops.put_object_expiring, call.caller, call.bucket, call.key, body,
                                        headers, call.context)
        out = {"ETag": etag_header(version.etag), **_version_header(version.version_id), **expiry}
        out.update(checksums.response_headers(version.checksums))
    return S3Answer.empty(200, out)


def _take_trailers(prepared: Any) -> None:
    """Checksums sent as aws-chunked trailers join the ones to verify before the commit."""
    if prepared.decoder is None:
        return
    for name, value in prepared.decoder.trailers.items():
        if not name.startswith(_CHECKSUM_PREFIX):
            continue
        algorithm = name[len(_CHECKSUM_PREFIX):]
        if algorithm not in prepared.body.algorithms:
            raise S3Error("InvalidRequest", "The trailer %s was not announced with an algorithm." % name)
        prepared.body.client_checksums[algorithm] = value


async def _buffered_upload(res: Any, call: Any) -> Any:
    part = "uploadId" in call.query
    headers = dict(call.headers)
    if not part:
        await res.run(res.ops.check_put, call.caller, call.bucket, call.key, headers, call.context)
    body = await res.run(res.ops.receive, headers, part)
    prepared = Prepared(call.caller, call.auth, body, decoder_for(call.auth, headers), headers)

    def copy() -> None:
        content = call.request.content
        content.seek(0)
        try:
            while True:
                data = content.read(256 * 1024)
                if not data:
                    break
                pieces = prepared.decoder.feed(data) if prepared.decoder is not None else (data,)
                for piece in pieces:
                    body.write(piece)
            if prepared.decoder is not None:
                prepared.decoder.finish()
        except BaseException:
            body.abort()
            raise
    await res.run(copy)
    return prepared


async def copy_object(res: Any, call: Any) -> S3Answer:
    source_bucket, source_key, source_version = parse_copy_source(call.headers["x-amz-copy-source"])
    version, source = await res.run(res.ops.copy_object, call.caller, call.bucket, call.key, source_bucket,
                                    source_key, source_version, call.headers, call.context)
    headers = _version_header(version.version_id)
    headers.update(await res.run(res.ops.expiration_headers, call.bucket, version))  # s3.lifecycle
    if source.version_id != NULL_VERSION:
        headers["x-amz-copy-source-version-id"] = source.version_id
    return S3Answer(200, xml.copy_object_result(version), headers)


async def delete_object(res: Any, call: Any) -> S3Answer:
    outcome = await res.run(res.ops.delete_object, call.caller, call.bucket, call.key,
                            call.query.get("versionId"), call.context, _bypass_governance(call))
    headers = {}
    if outcome.delete_marker:
        headers["x-amz-delete-marker"] = "true"
    if outcome.version_id is not None:
        headers["x-amz-version-id"] = outcome.version_id
    return S3Answer.empty(204, headers)


async def delete_objects(res: Any, call: Any) -> S3Answer:
    if "content-md5" not in call.headers and not any(h.startswith(_CHECKSUM_PREFIX) for h in call.headers):
        # S3 quirk: DeleteObjects must carry an integrity header (Content-MD5 or a flexible checksum).
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")
    items, quiet = xml.parse_delete(call.body)
    outcomes = await res.run(res.ops.delete_objects, call.caller, call.bucket, items, call.context,
                             _bypass_governance(call))
    return S3Answer(200, xml.delete_result(outcomes, quiet))


def _bypass_governance(call: Any) -> bool:
    """x-amz-bypass-governance-retention: true (s3.object_lock: deleting a GOVERNANCE-locked version)."""
    return call.headers.get("x-amz-bypass-governance-retention", "").strip().lower() == "true"


async def get_object_acl(res: Any, call: Any) -> S3Answer:
    acl = await res.run(res.ops.get_object_acl, call.caller, call.bucket, call.key, call.query.get("versionId"),
                        call.context)
    return S3Answer(200, xml.access_control_policy(acl))


async def put_object_acl(res: Any, call: Any) -> S3Answer:
    acl = xml.parse_access_control_policy(call.body) if call.body.strip() else None
    await res.run(res.ops.put_object_acl, call.caller, call.bucket, call.key, acl, call.headers,
                  call.query.get("versionId"), call.context)
    return S3Answer.empty(200)


# -- multipart uploads -----------------------------------------------------------------------------------------

async def create_multipart_upload(res: Any, call: Any) -> S3Answer:
    upload = await res.run(res.ops.create_multipart_upload, call.caller, call.bucket, call.key, call.headers,
                           call.context)
    headers = {}
    if upload.checksum_algorithm:
        headers["x-amz-checksum-algorithm"] = upload.checksum_algorithm.upper()
        headers["x-amz-checksum-type"] = upload.checksum_type or checksums.COMPOSITE
    return S3Answer(200, xml.initiate_multipart_upload_result(call.bucket, call.key, upload.upload_id), headers)


async def upload_part_copy(res: Any, call: Any) -> S3Answer:
    source_bucket, source_key, source_version = parse_copy_source(call.headers["x-amz-copy-source"])
    part, source = await res.run(res.ops.upload_part_copy, call.caller, call.bucket, call.key,
                                 call.query["uploadId"], call.query.get("partNumber"), source_bucket, source_key,
                                 source_version, call.headers, call.context)
    headers = {}
    if source.version_id != NULL_VERSION:
        headers["x-amz-copy-source-version-id"] = source.version_id
    return S3Answer(200, xml.copy_part_result(part), headers)


async def list_parts(res: Any, call: Any) -> S3Answer:
    q = call.query
    result = await res.run(res.ops.list_parts, call.caller, call.bucket, call.key, q["uploadId"],
                           q.get("part-number-marker"), q.get("max-parts"), call.context)
    return S3Answer(200, xml.list_parts_result(result))


async def complete_multipart_upload(res: Any, call: Any) -> S3Answer:
    parts = xml.parse_complete_multipart_upload(call.body)
    version = await res.run(res.ops.complete_multipart_upload, call.caller, call.bucket, call.key,
                            call.query["uploadId"], parts, call.context, call.headers,
                            xml_checksums.parse_part_checksums(call.body))
    # The address the client used (scheme and host: ec2soap.origin), in the addressing style it used.
    base = base_url(call.request)
    key = quote(call.key, safe="/~")
    location = f"{base}/{key}" if call.virtual_bucket else f"{base}/{call.bucket}/{key}"
    headers = _version_header(version.version_id)
    headers.update(await res.run(res.ops.expiration_headers, call.bucket, version))  # s3.lifecycle
    return S3Answer(200, xml.complete_multipart_upload_result(location, call.bucket, call.key, version.etag,
                                                              version.checksums), headers)


async def abort_multipart_upload(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.abort_multipart_upload, call.caller, call.bucket, call.key, call.query["uploadId"],
                  call.context)
    return S3Answer.empty(204)


# -- CORS ------------------------------------------------------------------------------------------------------

async def preflight(res: Any, call: Any) -> S3Answer:
    """OPTIONS: a browser's CORS preflight, answered from the bucket's CORS rules (no credentials)."""
    origin = call.headers.get("origin")
    method = call.headers.get("access-control-request-method")
    if call.bucket is None or not origin or not method:
        raise S3Error("InvalidRequest", "Insufficient information. Origin request header needed.")
    wanted = [h.strip().lower() for h in call.headers.get("access-control-request-headers", "").split(",")
              if h.strip()]
    rule = await res.run(res.ops.cors_rule, call.bucket, origin, method, wanted)
    if rule is None:
        raise S3Error("AccessDenied", "CORSResponse: This CORS request is not allowed. This is usually because "
                      "the evalution of Origin, request method / Access-Control-Request-Method or "
                      "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
    headers = {"Access-Control-Allow-Origin": "*" if "*" in rule["allowed_origins"] else origin,
               "Access-Control-Allow-Methods": ", ".join(rule["allowed_methods"]), "Vary": "Origin"}
    if wanted:
        headers["Access-Control-Allow-Headers"] = ", ".join(wanted)
    if rule.get("max_age_seconds") is not None:
        headers["Access-Control-Max-Age"] = str(rule["max_age_seconds"])
    if rule.get("expose_headers"):
        headers["Access-Control-Expose-Headers"] = ", ".join(rule["expose_headers"])
    return S3Answer.empty(200, headers)

