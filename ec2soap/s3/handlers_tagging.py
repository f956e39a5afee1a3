"""S3 handlers of the tagging sub-resource: Put/Get/DeleteObjectTagging (with versionId: that version) and
Put/Get/DeleteBucketTagging (same signature as s3.handlers: `async def x(res, call) -> S3Answer`; s3.routes
names them)."""
from __future__ import annotations

from typing import Any

from ec2soap.s3 import tag_rules
from ec2soap.s3.answers import S3Answer
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import NULL_VERSION
from ec2soap.s3.xml_tagging import parse_tagging, tagging_document

__all__ = ["get_object_tagging", "put_object_tagging", "delete_object_tagging", "get_bucket_tagging",
           "put_bucket_tagging", "delete_bucket_tagging"]


def _version(version: Any) -> dict:
    # S3 names the version acted on; the null version of an unversioned bucket goes unnamed, as elsewhere.
    return {"x-amz-version-id": version.version_id} if version.version_id != NULL_VERSION else {}


async def get_object_tagging(res: Any, call: Any) -> S3Answer:
    version = await res.run(res.ops.get_object_tagging, call.caller, call.bucket, call.key,
                            call.query.get("versionId"), call.context)
    return S3Answer(200, tagging_document(version.tags), _version(version))


async def put_object_tagging(res: Any, call: Any) -> S3Answer:
    tags = tag_rules.check_object_tags(parse_tagging(call.body))
    version = await res.run(res.ops.put_object_tagging, call.caller, call.bucket, call.key, tags,
                            call.query.get("versionId"), call.context)
    return S3Answer.empty(200, _version(version))


async def delete_object_tagging(res: Any, call: Any) -> S3Answer:
    version = await res.run(res.ops.delete_object_tagging, call.caller, call.bucket, call.key,
                            call.query.get("versionId"), call.context)
    return S3Answer.empty(204, _version(version))


async def get_bucket_tagging(res: Any, call: Any) -> S3Answer:
    tags = await res.run(res.ops.get_bucket_tagging, call.caller, call.bucket, call.context)
    return S3Answer(200, tagging_document(tags))


async def put_bucket_tagging(res: Any, call: Any) -> S3Answer:
    if "content-md5" not in call.headers and not any(h.startswith("x-amz-checksum-") for h in call.headers):
        # S3 requires an integrity header on PutBucketTagging; the resource has already checked the one
        # given against the body (s3.bodies.check_small_body).
        raise S3Error("InvalidRequest", "Missing required header for this request: Content-MD5")
    tags = tag_rules.check_bucket_tags(parse_tagging(call.body))
    await res.run(res.ops.put_bucket_tagging, call.caller, call.bucket, tags, call.context)
    return S3Answer.empty(204)


async def delete_bucket_tagging(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.delete_bucket_tagging, call.caller, call.bucket, call.context)
    return S3Answer.empty(204)
