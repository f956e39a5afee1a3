"""S3 Control, the account-level API (`/v20180820/...` with an x-amz-account-id header): of it this gateway
serves the account's public access block, PUT/GET/DELETE /v20180820/configuration/publicAccessBlock, and
answers NotImplemented to every other S3 Control path. Same shape as s3.handlers: each runs its operation
(s3.access) on the store's pool and returns an S3Answer. The XML is S3 Control's (its own namespace), read
with the shared hardened parser. Nothing from Twisted here.

botocore sends S3 Control to `<account-id>.<endpoint host>` whatever inject_host_prefix says (its endpoint
rules add the account), so a request is known by its path and header, never by its Host.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

from ec2soap.limits import parse_xml
from ec2soap.s3 import xml
from ec2soap.s3.answers import S3Answer
from ec2soap.s3.errors import S3Error
from ec2soap.s3.xml_access import BLOCK_FLAGS

__all__ = ["PREFIX", "ACCOUNT_HEADER", "is_control", "get_public_access_block", "put_public_access_block",
           "delete_public_access_block", "not_implemented", "CONTROL_NS"]

PREFIX = "/v20180820/"
ACCOUNT_HEADER = "x-amz-account-id"
CONTROL_NS = "http://awss3control.amazonaws.com/doc/2018-08-20/"


def is_control(raw_path: str, headers: Any) -> bool:
    """Whether a request is S3 Control's: its path under /v20180820/ and an x-amz-account-id header (which
    every S3 Control call sends; without it the path is a bucket's, as S3 itself would take it)."""
    return raw_path.startswith(PREFIX) and ACCOUNT_HEADER in headers


def _account(call: Any) -> str:
    return call.headers.get(ACCOUNT_HEADER, "").strip()


async def get_public_access_block(res: Any, call: Any) -> S3Answer:
    flags = await res.run(res.ops.get_account_public_access_block, call.caller, _account(call))
    return S3Answer(200, render_block(flags))


async def put_public_access_block(res: Any, call: Any) -> S3Answer:
    flags = parse_block(call.body)
    await res.run(res.ops.put_account_public_access_block, call.caller, _account(call), flags)
    return S3Answer.empty(200)


async def delete_public_access_block(res: Any, call: Any) -> S3Answer:
    await res.run(res.ops.delete_account_public_access_block, call.caller, _account(call))
    return S3Answer.empty(204)


async def not_implemented(res: Any, call: Any) -> S3Answer:
    raise S3Error("NotImplemented", "S3 Control's %s is not implemented by this gateway; of S3 Control it serves "
                  "the account's public access block (/v20180820/configuration/publicAccessBlock) alone."
                  % call.raw_path.partition("?")[0])


async def method_not_allowed(res: Any, call: Any) -> S3Answer:
    raise S3Error("MethodNotAllowed", method=call.method, resource_type="ACCOUNT")


# -- the XML -----------------------------------------------------------------------------------------------------

def render_block(flags: dict) -> bytes:
    root = etree.Element(f"{{{CONTROL_NS}}}PublicAccessBlockConfiguration", nsmap={None: CONTROL_NS})
    for name in BLOCK_FLAGS:
        etree.SubElement(root, f"{{{CONTROL_NS}}}{name}").text = "true" if flags.get(name) else "false"
    return xml.document(root)


def parse_block(body: bytes) -> dict:
    """PublicAccessBlockConfiguration (S3 Control's namespace, S3's, or none) → {flag: bool}; a flag left out is
    false, as S3 takes it; anything else is MalformedXML."""
    if not body:
        raise S3Error("MalformedXML")
    try:
        tree = parse_xml(body, max_bytes=xml.MAX_BODY_BYTES, max_depth=xml.MAX_DEPTH).getroottree()
    except (etree.XMLSyntaxError, ValueError):
        raise S3Error("MalformedXML") from None
    root = tree.getroot()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise S3Error("MalformedXML")
    name = etree.QName(root)
    if name.localname != "PublicAccessBlockConfiguration" or name.namespace not in (None, CONTROL_NS, xml.NS):
        raise S3Error("MalformedXML")
    flags = {flag: False for flag in BLOCK_FLAGS}
    seen = set()
    for child in root:
        if not isinstance(child.tag, str):
            continue
        local = etree.QName(child).localname
        value = (child.text or "").strip().lower()
        if local not in BLOCK_FLAGS or local in seen or value not in ("true", "false"):
            raise S3Error("MalformedXML")
        seen.add(local)
        flags[local] = value == "true"
    return flags
