"""S3 Object Lock handlers (same contract as s3.handlers): GET/PUT ?object-lock on a bucket, GET/PUT
?retention and ?legal-hold on an object; s3.routes answers the other methods and targets of these
sub-resources with not_served. Their PUT bodies must carry Content-MD5 or a checksum, as S3 requires."""
from __future__ import annotations

from typing import Any

from ec2soap.s3 import xml_object_lock as xml
from ec2soap.s3.answers import S3Answer
from ec2soap.s3.errors import S3Error

__all__ = ["get_object_lock_configuration", "put_object_lock_configuration", "get_object_retention",
           "put_object_retention", "get_object_legal_hold", "put_object_legal_hold", "not_served"]


def _require_integrity(call: Any) -> None:
    if "content-md5" not in call.headers and not any(h.startswith("x-amz-checksum-") for h in call.headers):
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")


def _bypass(call: Any) -> bool:
    return call.headers.get("x-amz-bypass-governance-retention", "").strip().lower() == "true"


async def not_served(res: Any, call: Any) -> S3Answer:
    kind = "OBJECT" if call.key else "BUCKET"
    raise S3Error("MethodNotAllowed", method=call.method, resource_type=kind)


async def get_object_lock_configuration(res: Any, call: Any) -> S3Answer:
    config = await res.run(res.ops.get_object_lock_configuration, call.caller, call.bucket, call.context)
    return S3Answer(200, xml.object_lock_configuration(config))


async def put_object_lock_configuration(res: Any, call: Any) -> S3Answer:
    _require_integrity(call)
    rule = xml.parse_object_lock_configuration(call.body)
    await res.run(res.ops.put_object_lock_configuration, call.caller, call.bucket, rule, call.context)
    return S3Answer.empty(200)


async def get_object_retention(res: Any, call: Any) -> S3Answer:
    mode, until = await res.run(res.ops.get_object_retention, call.caller, call.bucket, call.key,
                                call.query.get("versionId"), call.context)
    return S3Answer(200, xml.retention(mode, until))


async def put_object_retention(res: Any, call: Any) -> S3Answer:
    _require_integrity(call)
    mode, until = xml.parse_retention(call.body)
    await res.run(res.ops.put_object_retention, call.caller, call.bucket, call.key, mode, until,
                  call.query.get("versionId"), _bypass(call), call.context)
    return S3Answer.empty(200)


async def get_object_legal_hold(res: Any, call: Any) -> S3Answer:
    status = await res.run(res.ops.get_object_legal_hold, call.caller, call.bucket, call.key,
                           call.query.get("versionId"), call.context)
    return S3Answer(200, xml.legal_hold(status))


async def put_object_legal_hold(res: Any, call: Any) -> S3Answer:
    _require_integrity(call)
    status = xml.parse_legal_hold(call.body)
    await res.run(res.ops.put_object_legal_hold, call.caller, call.bucket, call.key, status,
                  call.query.get("versionId"), call.context)
    return S3Answer.empty(200)
