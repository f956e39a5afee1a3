"""S3 handlers of the bucket access controls: ?publicAccessBlock (PUT/GET/DELETE), ?policyStatus (GET) and
?ownershipControls (PUT/GET/DELETE). Same shape as s3.handlers: each runs its operation (s3.access) on the
store's pool and returns an S3Answer; the XML is s3.xml_access's.
"""
from __future__ import annotations

from typing import Any

from ec2soap.s3 import xml_access
from ec2soap.s3.answers import S3Answer

__all__ = ["get_public_access_block", "put_public_access_block", "delete_public_access_block",
           "get_bucket_policy_status", "get_bucket_ownership_controls", "put_bucket_ownership_controls",
           "delete_bucket_ownership_controls"]


async def get_public_access_block(res: Any, call: Any) -> S3Answer:
    flags = await res.run(res.ops.get_public_access_block, call.caller, call.bucket, call.context)
    return S3Answer(200, xml_access.public_access_block(flags))


async def put_public_access_block(res: Any, call: Any) -> S3Answer:
    flags = xml_access.parse_public_access_block(call.body)
    await res.run(res.ops.put_public_access_block, call.caller, call.bucket, flags, call.context)
    return S3Answer.empty(200)


async def delete_public_access_block(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.delete_public_access_block, call.caller, call.bucket, call.context)
    return S3Answer.empty(204)


async def get_bucket_policy_status(res: Any, call: Any) -> S3Answer:
    public = await res.run(res.ops.get_bucket_policy_status, call.caller, call.bucket, call.context)
    return S3Answer(200, xml_access.policy_status(public))


async def get_bucket_ownership_controls(res: Any, call: Any) -> S3Answer:
    ownership = await res.run(res.ops.get_bucket_ownership_controls, call.caller, call.bucket, call.context)
    return S3Answer(200, xml_access.ownership_controls(ownership))


async def put_bucket_ownership_controls(res: Any, call: Any) -> S3Answer:
    ownership = xml_access.parse_ownership_controls(call.body)
    await res.run(res.ops.put_bucket_ownership_controls, call.caller, call.bucket, ownership, call.context)
    return S3Answer.empty(200)


async def delete_bucket_ownership_controls(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.delete_bucket_ownership_controls, call.caller, call.bucket, call.context)
    return S3Answer.empty(204)
