"""S3 browser-based uploads: POST Object, a multipart/form-data form whose file becomes an object.

The body was streamed into a FormReceiver (s3.post_form) before this handler runs, and a signed form was
judged when its file part began (s3.post_early: signature, expiration, the conditions on the fields), so a
refused one seldom gets this far (only when its secret took longer to look up than its file was held).
Here the whole form is checked as S3 checks it, in S3's order (again for a streamed form, first for one
Twisted buffered): the form complete with its file and a `key`, the signature over the policy
(auth.post_signature, the secret looked up as for any signed request), the policy's expiration when the file
began and every condition, its length too (s3.post_policy), then the object is written by PutObject's own
operation (so the bucket's ACL and policy decide whether the caller, or an anonymous form, may write) and the
answer is S3's: success_action_redirect (303), success_action_status 200, 201 (a PostResponse document) or 204.
The `tagging` field is the tagging family's (its x-amz-tagging header); x-amz-server-side-encryption fields
are refused (NotImplemented). On any failure the file's temp file is dropped; nothing is stored.

Nothing from the resource or ec2soap.core; the operations run on the store's pool.
"""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import quote, urlsplit

from ec2soap.auth.credentials import CredentialsUnavailable
from ec2soap.auth.post_signature import parse_post, verify_post
from ec2soap.origin import base_url
from ec2soap.s3 import xml_access
from ec2soap.s3.answers import S3Answer
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import NULL_VERSION
from ec2soap.s3.post_early import form_keys, missing_key, unavailable
from ec2soap.s3.post_form import FormReceiver, boundary_of
from ec2soap.s3.post_policy import check_form, parse_policy, with_filename
from ec2soap.s3.rules import etag_header

__all__ = ["browser_post", "object_headers"]

# Form fields that become the object's headers, as the same-named PUT headers would.
_HEADER_FIELDS = ("content-type", "cache-control", "content-disposition", "content-encoding", "expires",
                  "x-amz-storage-class", "x-amz-website-redirect-location")
_CHUNK = 1024 * 1024


def object_headers(fields: dict, tagging: Any = None) -> dict:
    """The PUT headers a form's fields stand for (`acl` is x-amz-acl); refusals for what we do not store."""
    headers = {name: fields[name] for name in _HEADER_FIELDS if name in fields}
    headers.update({name: value for name, value in fields.items() if name.startswith("x-amz-meta-")})
    if "acl" in fields:
        headers["x-amz-acl"] = fields["acl"]
    for name in fields:
        if name.startswith("x-amz-server-side-encryption"):
            raise S3Error("NotImplemented", "Server-side encryption is not implemented by this gateway.",
                          header=name)
    if "tagging" in fields:
        if tagging is None:
            raise S3Error("NotImplemented", "The tagging field of a POST upload is not implemented by this "
                                            "gateway.")
        headers.update(tagging(fields["tagging"]))
    return headers


async def _caller(res: Any, fields: dict) -> Optional[str]:
    credentials = parse_post(fields)
    if credentials is None:
        return None  # anonymous: the bucket's ACL and policy decide
    try:
        secret = await res.credentials.secret_for(credentials.access_key)
        verify_post(credentials, secret)
        caller = await res.owners.principal(credentials.access_key)
    except CredentialsUnavailable:
        raise unavailable() from None
    if caller is None:
        raise S3Error("InvalidAccessKeyId", aws_access_key_id=credentials.access_key)
    return caller


def _redirect(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


async def _buffered_form(res: Any, call: Any) -> FormReceiver:
    """Without the streaming request factory, the body Twisted buffered, fed in chunks on the pool."""
    form = FormReceiver(boundary_of(call.headers.get("content-type", "")), lambda: res.ops.receive({}))

    def feed() -> None:
        content = call.request.content
        content.seek(0)
        while True:
            chunk = content.read(_CHUNK)
            if not chunk:
                return
            form.write(chunk)
    try:
        await res.run(feed)
    except BaseException:
        await res.run(form.abort)
        raise
    return form


async def browser_post(res: Any, call: Any) -> S3Answer:
    form: FormReceiver = call.prepared.body if call.prepared is not None else await _buffered_form(res, call)
    try:
        await res.run(form.finish)
        if "key" not in form.fields:
            raise missing_key()
        fields = with_filename(form.fields, form.filename)  # the policy judges the key S3 will store
        call.caller = await _caller(res, fields)
        if "policy" in fields:  # parse_post has refused a signature without one
            check_form(parse_policy(fields["policy"]), fields, call.bucket, form.body.size, form.began)
        key = fields["key"]
        if not key:
            raise S3Error("InvalidArgument", "User key must have a length greater than 0.", argument_name="key",
                          argument_value="")
        headers = object_headers(fields, getattr(res.ops, "post_tagging_headers", None))
        context = {**call.context, **form_keys(fields)}  # s3:x-amz-acl, s3:authType, ...
        version = await res.run(res.ops.put_object, call.caller, call.bucket, key, form.body, headers, context)
    except BaseException:
        await res.run(form.abort)
        raise
    return _answer(call, fields, key, version)


def _answer(call: Any, fields: dict, key: str, version: Any) -> S3Answer:
    base = base_url(call.request)
    quoted = quote(key, safe="/~")
    location = f"{base}/{quoted}" if call.virtual_bucket else f"{base}/{call.bucket}/{quoted}"
    etag = etag_header(version.etag)
    headers = {"ETag": etag, "Location": location}
    if version.version_id and version.version_id != NULL_VERSION:
        headers["x-amz-version-id"] = version.version_id
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect and _redirect(redirect):
        query = "bucket=%s&key=%s&etag=%s" % (quote(call.bucket, safe=""), quote(key, safe=""), quote(etag, safe=""))
        headers["Location"] = redirect + ("&" if urlsplit(redirect).query else "?") + query
        return S3Answer.empty(303, headers)
    status = fields.get("success_action_status")
    if status == "201":
        return S3Answer(201, xml_access.post_response(location, call.bucket, key, etag), headers)
    return S3Answer.empty(200 if status == "200" else 204, headers)
