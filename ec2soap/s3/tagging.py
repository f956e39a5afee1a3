"""S3 tagging: Put/Get/DeleteObjectTagging (per version) and Put/Get/DeleteBucketTagging. One family of
S3Operations over the shared OpsContext.

An object's tags live on its version's row (s3_object.tags), so they go with the version: a new version
starts with the tags its write sent (x-amz-tagging on PutObject, CreateMultipartUpload, CopyObject's
directive; see s3.objects and s3.multipart), deleting a version deletes them. A bucket's tags are its row's
(s3_bucket.tags). Each change is one metadata transaction that locks the row it rewrites.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional
from urllib.parse import quote, urlencode

from sqlalchemy import select, update

from ec2soap.s3 import tag_rules
from ec2soap.s3.context import OpsContext
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket, ObjectVersion
from ec2soap.s3.rules import http_date
from ec2soap.s3.xml_tagging import parse_tagging
from ec2soap.store.tables import s3_bucket, s3_object, s3_upload

__all__ = ["Tagging", "store_upload_tags", "upload_tags"]
_METHODS = {"s3:GetObjectTagging": "GET", "s3:PutObjectTagging": "PUT", "s3:DeleteObjectTagging": "DELETE"}


class Tagging(OpsContext):
    """Object and bucket tag sets."""

    # -- objects --------------------------------------------------------------------------------------------

    def _tagged_version(self, conn: Any, caller: Optional[str], bucket: str, key: str,
                        version_id: Optional[str], action: str, context: Mapping[str, Any] | None,
                        lock: bool = False) -> ObjectVersion:
        found = self._bucket(conn, bucket)
        version = self.meta.get_object(conn, found.id, key, version_id, lock=lock)
        if version is None:
            raise self._missing_key(caller, found, key, context, version_id)
        if version.delete_marker:
            # As GetObject: a delete marker has no tag set (405 when named by its version id).
            headers = {"x-amz-delete-marker": "true", "x-amz-version-id": version.version_id}
            if version_id is not None:
                headers["Last-Modified"] = http_date(version.last_modified)
                raise S3Error("MethodNotAllowed", headers=headers, method=_METHODS[action],
                              resource_type="DeleteMarker")
            raise S3Error("NoSuchKey", headers=headers, key=key)
        named = action.replace("Object", "ObjectVersion", 1) if version_id is not None else action
        self._require(caller, named, found, key, version, context)
        return version

    def get_object_tagging(self, caller: Optional[str], bucket: str, key: str, version_id: Optional[str] = None,
                           context: Mapping[str, Any] | None = None) -> ObjectVersion:
        """GetObjectTagging: the version (its `tags` the tag set, empty when untagged)."""
        def read(conn: Any) -> ObjectVersion:
            return self._tagged_version(conn, caller, bucket, key, version_id, "s3:GetObjectTagging", context)
        return self.store.run_sync(read)

    def put_object_tagging(self, caller: Optional[str], bucket: str, key: str, tags: Mapping[str, str],
                           version_id: Optional[str] = None,
                           context: Mapping[str, Any] | None = None) -> ObjectVersion:
        """PutObjectTagging: TAGS (checked by tag_rules.check_object_tags) replace the version's tag set."""
        checked = dict(tags)
        context = tag_rules.with_request_tags(context, checked)

        def write(conn: Any) -> ObjectVersion:
            version = self._tagged_version(conn, caller, bucket, key, version_id, "s3:PutObjectTagging",
                                           context, lock=True)
            self._store_tags(conn, version, checked)
            return version
        return self._txn(write)

    def delete_object_tagging(self, caller: Optional[str], bucket: str, key: str,
                              version_id: Optional[str] = None,
                              context: Mapping[str, Any] | None = None) -> ObjectVersion:
        def write(conn: Any) -> ObjectVersion:
            version = self._tagged_version(conn, caller, bucket, key, version_id, "s3:DeleteObjectTagging",
                                           context, lock=True)
            self._store_tags(conn, version, {})
            return version
        return self._txn(write)

    @staticmethod
    def post_tagging_headers(document: str) -> dict:
        """A browser POST form's `tagging` field (a Tagging document) as the x-amz-tagging header PutObject
        takes (s3.handlers_post): the same checks as PutObjectTagging's body."""
        tags = tag_rules.check_object_tags(parse_tagging(document.encode("utf-8")))
        return {tag_rules.HEADER: urlencode(list(tags.items()), quote_via=quote)}

    @staticmethod
    def _store_tags(conn: Any, version: ObjectVersion, tags: Mapping[str, str]) -> None:
        conn.execute(update(s3_object).where(s3_object.c.id == version.id).values(tags=tag_rules.dumps(tags)))
        version.tags = dict(tags)

    # -- buckets --------------------------------------------------------------------------------------------

    def _bucket_for(self, conn: Any, caller: Optional[str], name: str, action: str,
                    context: Mapping[str, Any] | None, lock: bool = False) -> Bucket:
        found = self._bucket(conn, name, lock=lock)
        self._require(caller, action, found, context=context)
        return found

    def get_bucket_tagging(self, caller: Optional[str], name: str,
                           context: Mapping[str, Any] | None = None) -> dict:
        """GetBucketTagging: the tag set; NoSuchTagSet when the bucket has none."""
        def read(conn: Any) -> dict:
            found = self._bucket_for(conn, caller, name, "s3:GetBucketTagging", context)
            stored = conn.execute(select(s3_bucket.c.tags).where(s3_bucket.c.id == found.id)).scalar()
            tags = tag_rules.loads(stored)
            if not tags:
                raise S3Error("NoSuchTagSet", bucket_name=name)
            return tags
        return self.store.run_sync(read)

    def put_bucket_tagging(self, caller: Optional[str], name: str, tags: Mapping[str, str],
                           context: Mapping[str, Any] | None = None) -> None:
        """PutBucketTagging: TAGS (checked by tag_rules.check_bucket_tags) replace the bucket's tag set."""
        self._set_bucket_tags(caller, name, "s3:PutBucketTagging", dict(tags), context)

    def delete_bucket_tagging(self, caller: Optional[str], name: str,
                              context: Mapping[str, Any] | None = None) -> None:
        # S3 names no action of its own for this: s3:PutBucketTagging governs it.
        self._set_bucket_tags(caller, name, "s3:PutBucketTagging", {}, context)

    def _set_bucket_tags(self, caller: Optional[str], name: str, action: str, tags: dict,
                         context: Mapping[str, Any] | None) -> None:
        def write(conn: Any) -> None:
            found = self._bucket_for(conn, caller, name, action, context, lock=True)
            conn.execute(update(s3_bucket).where(s3_bucket.c.id == found.id).values(tags=tag_rules.dumps(tags)))
        self._txn(write)


# -- multipart uploads: CreateMultipartUpload's x-amz-tagging waits on the upload's row ---------------------------

def store_upload_tags(conn: Any, upload_pk: int, tags: Optional[Mapping[str, str]]) -> None:
    """Keep TAGS on the upload (in its creating transaction) for the object CompleteMultipartUpload makes."""
    if tags:
        conn.execute(update(s3_upload).where(s3_upload.c.id == upload_pk).values(tags=tag_rules.dumps(tags)))


def upload_tags(conn: Any, upload_pk: int) -> dict:
    return tag_rules.loads(conn.execute(select(s3_upload.c.tags).where(s3_upload.c.id == upload_pk)).scalar())
