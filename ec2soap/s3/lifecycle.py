"""S3 bucket lifecycle configuration: Put/Get/DeleteBucketLifecycleConfiguration and the x-amz-expiration
header of objects a current-version Expiration rule covers. One family of S3Operations over OpsContext; the
rules live in s3_lifecycle (s3.lifecycle_store), their XML in s3.xml_lifecycle, what they say about a key in
s3.lifecycle_rules, and the sweeper that applies them in s3.lifecycle_sweep."""
from __future__ import annotations

from typing import Any, Mapping, Optional
from urllib.parse import quote

from ec2soap.s3 import lifecycle_store as store
from ec2soap.s3.context import OpsContext
from ec2soap.s3.errors import S3Error
from ec2soap.s3.lifecycle_rules import current_expiry
from ec2soap.s3.metadata import Bucket, ObjectVersion
from ec2soap.s3.rules import http_date

__all__ = ["Lifecycle", "expiration_header"]


def expiration_header(conn: Any, bucket: Bucket, version: Optional[ObjectVersion]) -> dict:
    """{"x-amz-expiration": 'expiry-date="...", rule-id="..."'} when an enabled Expiration rule of BUCKET
    covers VERSION as the current version; {} otherwise (or for a noncurrent version)."""
    if version is None or not version.is_latest or version.delete_marker:
        return {}
    rules = bucket.lifecycle_rules if bucket.rules_loaded else store.get_rules(conn, bucket.id)
    found = current_expiry(rules, version) if rules else None
    if found is None:
        return {}
    at, rule_id = found
    # A rule ID may hold any character; a header value may not (no CR/LF, ASCII only): the rest is %-encoded.
    shown = "".join(c if " " <= c <= "~" and c not in '"\\%' else quote(c, safe="") for c in rule_id)
    return {"x-amz-expiration": f'expiry-date="{http_date(at)}", rule-id="{shown}"'}


class Lifecycle(OpsContext):
    """The lifecycle sub-resource of a bucket (s3:PutLifecycleConfiguration covers PUT and DELETE, as in S3)."""

    def get_bucket_lifecycle(self, caller: Optional[str], name: str,
                             context: Mapping[str, Any] | None = None) -> list[dict]:
        def read(conn: Any) -> Optional[list]:
            bucket = self._bucket(conn, name)
            self._require(caller, "s3:GetLifecycleConfiguration", bucket, context=context)
            return store.get_rules(conn, bucket.id)
        rules = self.store.run_sync(read, readonly=True)
        if not rules:
            raise S3Error("NoSuchLifecycleConfiguration", bucket_name=name)
        return rules

    def put_bucket_lifecycle(self, caller: Optional[str], name: str, rules: list[dict],
                             context: Mapping[str, Any] | None = None) -> None:
        """Replace the configuration with RULES (as xml_lifecycle.parse_lifecycle validated them)."""
        def write(conn: Any) -> None:
            bucket = self._bucket(conn, name, lock=True)
            self._require(caller, "s3:PutLifecycleConfiguration", bucket, context=context)
            store.set_rules(conn, bucket.id, rules)
        self._txn(write)

    def delete_bucket_lifecycle(self, caller: Optional[str], name: str,
                                context: Mapping[str, Any] | None = None) -> None:
        def write(conn: Any) -> None:
            bucket = self._bucket(conn, name, lock=True)
            self._require(caller, "s3:PutLifecycleConfiguration", bucket, context=context)
            store.delete_rules(conn, bucket.id)
        self._txn(write)

    def expiration_headers(self, name: str, version: ObjectVersion) -> dict:
        """x-amz-expiration for a version just written (PutObject, CopyObject, CompleteMultipartUpload)."""
        def read(conn: Any) -> dict:
            bucket = self.meta.get_bucket(conn, name)
            return expiration_header(conn, bucket, version) if bucket is not None else {}
        return self.store.run_sync(read, readonly=True)
