"""S3 handler of GetObjectAttributes (`GET ?attributes` on an object; same signature as s3.handlers:
`async def x(res, call) -> S3Answer`; s3.routes names it)."""
from __future__ import annotations

from typing import Any

from ec2soap.s3.answers import S3Answer
from ec2soap.s3.rules import http_date
from ec2soap.s3.xml_checksums import object_attributes

__all__ = ["get_object_attributes"]


async def get_object_attributes(res: Any, call: Any) -> S3Answer:
    result = await res.run(res.ops.get_object_attributes, call.caller, call.bucket, call.key,
                           call.query.get("versionId"), call.headers, call.context)
    headers = {"Last-Modified": http_date(result.version.last_modified)}
    if result.versioned:
        headers["x-amz-version-id"] = result.version.version_id
    return S3Answer(200, object_attributes(result), headers)
