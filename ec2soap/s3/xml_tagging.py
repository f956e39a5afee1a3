"""S3 Tagging documents: the hardened parse of a Put{Object,Bucket}Tagging body and the Get*Tagging answer.

<Tagging><TagSet><Tag><Key/><Value/></Tag>...</TagSet></Tagging>: S3's schema wants exactly one TagSet and,
in each Tag, exactly one Key and one Value (Value may be empty); anything else is MalformedXML. The limits
of a tag set are s3.tag_rules'. The bounded parser is s3.xml's.
"""
from __future__ import annotations

from typing import Any, Mapping

from lxml import etree

from ec2soap.s3.errors import S3Error
from ec2soap.s3.xml import _children, _el, _parse, _root, document

__all__ = ["parse_tagging", "tagging_document"]


def _local(element: Any) -> str:
    return etree.QName(element).localname


def _elements(parent: Any) -> list:
    return [child for child in parent if isinstance(child.tag, str)]


def _text(tag: Any, name: str) -> str:
    found = _children(tag, name)
    if len(found) != 1 or _elements(found[0]):
        raise S3Error("MalformedXML")
    return found[0].text or ""  # not stripped: S3 keeps a tag's spaces


def parse_tagging(body: bytes) -> list[tuple[str, str]]:
    """A Tagging body → its (key, value) pairs in document order (duplicates kept: the caller refuses them)."""
    root = _parse(body, "Tagging")
    if any(_local(child) != "TagSet" for child in _elements(root)) or len(_elements(root)) != 1:
        raise S3Error("MalformedXML")
    pairs = []
    for tag in _elements(_elements(root)[0]):
        if _local(tag) != "Tag" or any(_local(child) not in ("Key", "Value") for child in _elements(tag)):
            raise S3Error("MalformedXML")
        pairs.append((_text(tag, "Key"), _text(tag, "Value")))
    return pairs


def tagging_document(tags: Mapping[str, str]) -> bytes:
    root = _root("Tagging")
    tag_set = _el(root, "TagSet")
    for key, value in tags.items():
        tag = _el(tag_set, "Tag")
        _el(tag, "Key", key)
        _el(tag, "Value", value)
    return document(root)
