"""S3 handlers of the lifecycle sub-resource: Put/Get/DeleteBucketLifecycleConfiguration (same signature as
s3.handlers: `async def x(res, call) -> S3Answer`; s3.routes names them)."""
from __future__ import annotations

from typing import Any

from ec2soap.s3.answers import S3Answer
from ec2soap.s3.errors import S3Error
from ec2soap.s3.xml_lifecycle import lifecycle_configuration, parse_lifecycle

__all__ = ["get_bucket_lifecycle", "put_bucket_lifecycle", "delete_bucket_lifecycle"]


async def get_bucket_lifecycle(res: Any, call: Any) -> S3Answer:
    rules = await res.run(res.ops.get_bucket_lifecycle, call.caller, call.bucket, call.context)
    return S3Answer(200, lifecycle_configuration(rules))


async def put_bucket_lifecycle(res: Any, call: Any) -> S3Answer:
    if "content-md5" not in call.headers and not any(h.startswith("x-amz-checksum-") for h in call.headers):
        # S3 requires an integrity header here (Content-MD5 or a flexible checksum); the resource has
        # already checked the one given against the body (s3.bodies.check_small_body).
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")
    rules = parse_lifecycle(call.body)
    await res.run(res.ops.put_bucket_lifecycle, call.caller, call.bucket, rules, call.context)
    return S3Answer.empty(200)


async def delete_bucket_lifecycle(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.delete_bucket_lifecycle, call.caller, call.bucket, call.context)
    return S3Answer.empty(204)
