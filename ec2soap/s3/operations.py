"""S3 semantics over ObjectStore (bytes) and MetadataStore (SQL): S3Operations, the families combined.

Each family is a mixin over the shared s3.context.OpsContext (transaction, bucket lookup, access decision):
s3.buckets (list, create, head, delete), s3.configuration (location, ACL, versioning, policy, CORS),
s3.objects (bodies, put, copy, get/head, delete, object ACLs), s3.listing (ListObjects v1/v2, versions,
the page walk), s3.multipart (uploads and parts). A new bucket sub-resource is a method in the family it
belongs to (s3.configuration for a bucket setting), its column in s3.metadata and its XML in s3.xml.

No Twisted resources, HTTP parsing or XML here, and nothing from ec2soap.core. Every S3Operations method
blocks (SQL and file I/O): the resource runs it on the store's pool with `store.defer(ops.method, ...)`, and
reads a GET body the same way, chunk by chunk (`store.defer(body.read)`).

Writes follow one order: bytes to a temp file, fsync, rename (ObjectStore), then one metadata transaction
that makes the new version current; files the transaction unreferenced are deleted after it commits. A crash
between the steps leaves a temp file or an unreferenced blob, which `cleanup()` removes at start-up.
"""
from __future__ import annotations

from ec2soap.s3.attributes import ObjectAttributes
from ec2soap.s3.access import AccessControls
from ec2soap.s3.buckets import Buckets
from ec2soap.s3.configuration import BucketConfiguration
from ec2soap.s3.lifecycle import Lifecycle
from ec2soap.s3.lifecycle_sweep import LifecycleSweep
from ec2soap.s3.listing import Listing, ListResult, VersionsResult
from ec2soap.s3.locking import ObjectLocking
from ec2soap.s3.multipart import Multipart, PartsResult, UploadsResult
from ec2soap.s3.objects import DeleteOutcome, GetResult, IncomingBody, Objects
from ec2soap.s3.rules import Limits, ObjectMeta
from ec2soap.s3.tagging import Tagging

__all__ = ["S3Operations", "IncomingBody", "GetResult", "ListResult", "VersionsResult", "PartsResult",
           "UploadsResult", "DeleteOutcome", "Limits", "ObjectMeta"]


class S3Operations(Buckets, BucketConfiguration, Multipart, Objects, Listing, Lifecycle, LifecycleSweep, Tagging,
                   ObjectLocking, ObjectAttributes, AccessControls):
    """S3 over OBJECTS (bytes) and the store's metadata (see s3.context.OpsContext for the arguments)."""
