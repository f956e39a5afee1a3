"""S3 Object Lock operations: Put/GetObjectLockConfiguration, Put/GetObjectRetention, Put/GetObjectLegalHold.
One family of S3Operations over the shared OpsContext; the rules are s3.object_lock's. Each change is one
metadata transaction holding the row it changes locked, so a retention and a legal hold set at once both
land, and a delete racing a new retention sees one or the other."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from ec2soap.s3 import object_lock as locks
from ec2soap.s3.context import OpsContext
from ec2soap.s3.errors import S3Error
from ec2soap.s3.metadata import Bucket, ObjectVersion

__all__ = ["ObjectLocking"]


class ObjectLocking(OpsContext):
    """The ?object-lock, ?retention and ?legal-hold sub-resources."""

    # -- the bucket's configuration -------------------------------------------------------------------------

    def get_object_lock_configuration(self, caller: Optional[str], bucket: str,
                                      context: Mapping[str, Any] | None = None) -> dict:
        def read(conn: Any) -> dict:
            found = self._bucket(conn, bucket)
            self._require(caller, "s3:GetBucketObjectLockConfiguration", found, context=context)
            if found.object_lock is None:
                raise S3Error("ObjectLockConfigurationNotFoundError", bucket_name=bucket)
            return found.object_lock
        return self.store.run_sync(read)

    def put_object_lock_configuration(self, caller: Optional[str], bucket: str, rule: Optional[dict],
                                      context: Mapping[str, Any] | None = None) -> None:
        """Set (or clear, RULE None) the default retention. On a bucket without Object Lock this enables it,
        which S3 allows only with versioning Enabled (and then versioning can never be suspended)."""
        config = {"rule": locks.validate_rule(rule)} if rule is not None else {}

        def write(conn: Any) -> None:
            found = self._bucket(conn, bucket, lock=True)
            self._require(caller, "s3:PutBucketObjectLockConfiguration", found, context=context)
            if found.object_lock is None and found.versioning != "Enabled":
                raise S3Error("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object "
                              "Lock configuration")
            self.meta.update_bucket(conn, found.id, object_lock=config)
        self._txn(write)

    # -- a version's retention and legal hold ---------------------------------------------------------------

    def _locked_version(self, conn: Any, caller: Optional[str], bucket: str, key: str, version_id: Optional[str],
                        action: str, context: Mapping[str, Any] | None, lock: bool = False
                        ) -> tuple[Bucket, ObjectVersion]:
        found = self._bucket(conn, bucket)
        locks.require_enabled(found)
        version = self.meta.get_object(conn, found.id, key, version_id, lock=lock)
        if version is None:
            raise self._missing_key(caller, found, key, context, version_id)
        if version.delete_marker:
            if version_id is not None:
                raise S3Error("MethodNotAllowed", method="PUT" if lock else "GET", resource_type="DeleteMarker")
            raise S3Error("NoSuchKey", key=key)
        self._require(caller, action, found, key, version, context)
        return found, version

    def get_object_retention(self, caller: Optional[str], bucket: str, key: str,
                             version_id: Optional[str] = None,
                             context: Mapping[str, Any] | None = None) -> tuple[str, float]:
        def read(conn: Any) -> tuple[str, float]:
            _, version = self._locked_version(conn, caller, bucket, key, version_id, "s3:GetObjectRetention",
                                              context)
            lock = version.object_lock or {}
            if not lock.get("mode"):
                raise S3Error("NoSuchObjectLockConfiguration")
            return lock["mode"], float(lock["until"])
        return self.store.run_sync(read)

    def put_object_retention(self, caller: Optional[str], bucket: str, key: str, mode: Optional[str],
                             until: Optional[str], version_id: Optional[str] = None, bypass: bool = False,
                             context: Mapping[str, Any] | None = None) -> None:
        """Set MODE and UNTIL (an ISO 8601 date) on the version, or remove its retention (both None)."""
        now = self.clock()
        until_ts = locks.parse_date(until, now, "RetainUntilDate") if until is not None else None

        def write(conn: Any) -> None:
            found, version = self._locked_version(conn, caller, bucket, key, version_id, "s3:PutObjectRetention",
                                                  context, lock=True)
            current = version.object_lock or {}
            locks.check_retention_change(current, mode, until_ts, self._bypass(caller, found, key, bypass, context),
                                         now)
            new = {name: value for name, value in current.items() if name not in ("mode", "until")}
            if mode is not None:
                new.update(mode=mode, until=until_ts)
            locks.set_version_lock(conn, version, new)
        self._txn(write)

    def get_object_legal_hold(self, caller: Optional[str], bucket: str, key: str,
                              version_id: Optional[str] = None, context: Mapping[str, Any] | None = None) -> str:
        def read(conn: Any) -> str:
            _, version = self._locked_version(conn, caller, bucket, key, version_id, "s3:GetObjectLegalHold",
                                              context)
            status = (version.object_lock or {}).get("legal_hold")
            if status is None:
                raise S3Error("NoSuchObjectLockConfiguration")
            return status
        return self.store.run_sync(read)

    def put_object_legal_hold(self, caller: Optional[str], bucket: str, key: str, status: str,
                              version_id: Optional[str] = None, context: Mapping[str, Any] | None = None) -> None:
        def write(conn: Any) -> None:
            _, version = self._locked_version(conn, caller, bucket, key, version_id, "s3:PutObjectLegalHold",
                                              context, lock=True)
            locks.set_version_lock(conn, version, {**(version.object_lock or {}), "legal_hold": status})
        self._txn(write)

    # -- the shared checks ----------------------------------------------------------------------------------

    def _bypass(self, caller: Optional[str], bucket: Bucket, key: str, asked: bool,
                context: Mapping[str, Any] | None) -> Callable[[], bool]:
        """Whether a GOVERNANCE retention may be bypassed: the caller sent x-amz-bypass-governance-retention:
        true and holds s3:BypassGovernanceRetention (asked only when it matters)."""
        return lambda: asked and self.decide(caller, "s3:BypassGovernanceRetention", bucket, key, None, context)
