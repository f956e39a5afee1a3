"""S3 bucket configuration: location, ACL, versioning, policy, CORS (and the CORS rule a request matches).
One family of S3Operations over the shared OpsContext; each sub-resource is a column of the bucket row."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Sequence

from ec2soap.s3 import policy as policies
from ec2soap.s3 import public
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket
from ec2soap.s3.context import OpsContext

__all__ = ["BucketConfiguration"]


class BucketConfiguration(OpsContext):
    """Get/put/delete of a bucket's sub-resources."""

    def get_bucket_location(self, caller: Optional[str], name: str,
                            context: Mapping[str, Any] | None = None) -> Optional[str]:
        """GetBucketLocation: the constraint given at creation (None = us-east-1, an empty element)."""
        return self._read_bucket(caller, name, "s3:GetBucketLocation", context).location

    def get_bucket_acl(self, caller: Optional[str], name: str, context: Mapping[str, Any] | None = None) -> dict:
        return self._read_bucket(caller, name, "s3:GetBucketAcl", context).acl

    def put_bucket_acl(self, caller: Optional[str], name: str, acl: dict | None = None,
                       headers: Mapping[str, str] | None = None, context: Mapping[str, Any] | None = None) -> None:
        """PutBucketAcl from an AccessControlPolicy body (ACL) or x-amz-acl / x-amz-grant-* headers."""
        bucket = self._read_bucket(caller, name, "s3:PutBucketAcl", context)
        public.check_canned_acl(bucket, headers or {})  # ACLs disabled: bucket-owner-full-control alone
        new = self._acl_for_put(bucket.owner, None, acl, headers)
        public.check_acl_write(bucket, new)  # BlockPublicAcls, ACLs disabled
        self._set_bucket(caller, name, "s3:PutBucketAcl", context, acl=new)

    def get_bucket_versioning(self, caller: Optional[str], name: str,
                              context: Mapping[str, Any] | None = None) -> Optional[str]:
        """GetBucketVersioning: "Enabled", "Suspended", or None (never enabled: an empty configuration)."""
        return self._read_bucket(caller, name, "s3:GetBucketVersioning", context).versioning

    def put_bucket_versioning(self, caller: Optional[str], name: str, status: str,
                              context: Mapping[str, Any] | None = None) -> None:
        if status not in ("Enabled", "Suspended"):
            raise S3Error("MalformedXML")
        self._set_bucket(caller, name, "s3:PutBucketVersioning", context, check=_versioning_allowed(status),
                            versioning=status)

    def get_bucket_policy(self, caller: Optional[str], name: str, context: Mapping[str, Any] | None = None) -> str:
        bucket = self._read_bucket(caller, name, "s3:GetBucketPolicy", context)
        if bucket.policy is None:
            raise S3Error("NoSuchBucketPolicy", bucket_name=name)
        return bucket.policy

    def put_bucket_policy(self, caller: Optional[str], name: str, text: str | bytes,
                          context: Mapping[str, Any] | None = None) -> None:
        document = policies.parse_policy(text, name)
        public.check_policy_write(self._read_bucket(caller, name, "s3:PutBucketPolicy", context), document)
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        self._set_bucket(caller, name, "s3:PutBucketPolicy", context, policy=text)

    def delete_bucket_policy(self, caller: Optional[str], name: str,
                             context: Mapping[str, Any] | None = None) -> None:
        self._set_bucket(caller, name, "s3:DeleteBucketPolicy", context, policy=None)

    def get_bucket_cors(self, caller: Optional[str], name: str, context: Mapping[str, Any] | None = None) -> list:
        bucket = self._read_bucket(caller, name, "s3:GetBucketCORS", context)
        if not bucket.cors:
            raise S3Error("NoSuchCORSConfiguration", bucket_name=name)
        return bucket.cors

    def put_bucket_cors(self, caller: Optional[str], name: str, rules: list[dict],
                        context: Mapping[str, Any] | None = None) -> None:
        """PutBucketCORS with rules as xml.parse_cors returns them."""
        if not rules or len(rules) > self.limits.max_cors_rules:
            raise S3Error("MalformedXML")
        for rule in rules:
            if not rule.get("allowed_origins") or not rule.get("allowed_methods"):
                raise S3Error("MalformedXML")
            for method in rule["allowed_methods"]:
                if method not in ("GET", "PUT", "POST", "DELETE", "HEAD"):
                    raise S3Error("InvalidRequest", "Found unsupported HTTP method in CORS config. "
                                  "Unsupported method is %s" % method)
            for origin in rule["allowed_origins"]:
                if origin.count("*") > 1:
                    raise S3Error("InvalidRequest", 'AllowedOrigin "%s" can not have more than one wildcard.'
                                  % origin)
        self._set_bucket(caller, name, "s3:PutBucketCORS", context, cors=rules)

    def delete_bucket_cors(self, caller: Optional[str], name: str,
                           context: Mapping[str, Any] | None = None) -> None:
        self._set_bucket(caller, name, "s3:PutBucketCORS", context, cors=None)

    def cors_rule(self, name: str, origin: str, method: str, request_headers: Sequence[str] = ()) -> dict | None:
        """The first CORS rule of bucket NAME matching ORIGIN, METHOD and the requested headers (preflight
        and actual requests alike; no caller: browsers send preflights without credentials)."""
        bucket = self.store.run_sync(self.meta.get_bucket, name)
        if bucket is None:
            raise S3Error("NoSuchBucket", bucket_name=name)
        for rule in bucket.cors or ():
            if method not in rule["allowed_methods"]:
                continue
            if not any(policies._wildcard(pattern, True).fullmatch(origin) for pattern in rule["allowed_origins"]):
                continue
            allowed = rule.get("allowed_headers") or []
            if all(any(policies._wildcard(p, True).fullmatch(h) for p in allowed) for h in request_headers):
                return rule
        return None



def _versioning_allowed(status: str) -> Callable[[Bucket], None]:
    def check(bucket: Bucket) -> None:
        # s3.object_lock: a bucket with Object Lock keeps versioning Enabled for good.
        if bucket.object_lock is not None and status != "Enabled":
            raise S3Error("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the "
                          "versioning state cannot be changed.")
    return check
