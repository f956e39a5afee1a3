"""S3: a REST object service; bytes on the filesystem (object_store), metadata in SQL (metadata), S3 semantics
(operations: the families buckets, configuration, objects, listing, multipart over context), the route table
(routes) to the handlers, wire documents (xml) and errors (errors). Nothing here uses ec2soap.core."""
from ec2soap.s3.errors import S3Error, render_error
from ec2soap.s3.metadata import MetadataStore
from ec2soap.s3.object_store import ObjectStore
from ec2soap.s3.operations import S3Operations
from ec2soap.s3.rules import Limits

__all__ = ["S3Error", "render_error", "MetadataStore", "ObjectStore", "S3Operations", "Limits"]
