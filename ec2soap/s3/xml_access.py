"""S3 XML of the access controls: PublicAccessBlockConfiguration, OwnershipControls, PolicyStatus, and the
PostResponse of a browser POST upload. Written and read with s3.xml's helpers (its hardened parser and
limits); no Twisted, no SQL.
"""
from __future__ import annotations

from typing import Any

from lxml import etree

from ec2soap.s3 import xml
from ec2soap.s3.errors import S3Error
from ec2soap.xmltext import clean

__all__ = ["BLOCK_FLAGS", "OWNERSHIPS", "public_access_block", "parse_public_access_block", "ownership_controls",
           "parse_ownership_controls", "policy_status", "post_response"]

BLOCK_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
OWNERSHIPS = ("BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced")


def public_access_block(flags: dict) -> bytes:
    root = xml._root("PublicAccessBlockConfiguration")
    for name in BLOCK_FLAGS:
        xml._el(root, name, xml._bool(bool(flags.get(name))))
    return xml.document(root)


def parse_public_access_block(body: bytes) -> dict:
    """PublicAccessBlockConfiguration → {flag: bool} (a flag left out is false, as S3 takes it)."""
    root = xml._parse(body, "PublicAccessBlockConfiguration")
    for child in root:
        if isinstance(child.tag, str) and etree.QName(child).localname not in BLOCK_FLAGS:
            raise S3Error("MalformedXML")
    flags = {}
    for name in BLOCK_FLAGS:
        value = xml._one(root, name, required=False)
        if value not in (None, "true", "false", "TRUE", "FALSE", "True", "False"):
            raise S3Error("MalformedXML")
        flags[name] = (value or "").lower() == "true"
    return flags


def ownership_controls(ownership: str) -> bytes:
    root = xml._root("OwnershipControls")
    xml._el(xml._el(root, "Rule"), "ObjectOwnership", ownership)
    return xml.document(root)


def parse_ownership_controls(body: bytes) -> str:
    """OwnershipControls with exactly one Rule → its ObjectOwnership."""
    root = xml._parse(body, "OwnershipControls")
    rules = xml._children(root, "Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    value = xml._one(rules[0], "ObjectOwnership")
    if value not in OWNERSHIPS:
        raise S3Error("MalformedXML")
    return value  # type: ignore[return-value]


def policy_status(is_public: bool) -> bytes:
    root = xml._root("PolicyStatus")
    xml._el(root, "IsPublic", xml._bool(is_public))
    return xml.document(root)


def post_response(location: str, bucket: str, key: str, etag: str) -> bytes:
    """What S3 answers a POST with success_action_status 201 (no namespace, as S3 writes it)."""
    root = etree.Element("PostResponse")
    for name, text in (("Location", location), ("Bucket", bucket), ("Key", key), ("ETag", etag)):
        child: Any = etree.SubElement(root, name)
        child.text = clean(text)
    return xml.document(root)
