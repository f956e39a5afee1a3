"""The lifecycle sweep: applying every bucket's lifecycle rules (s3.lifecycle_rules.decide) to its keys and
multipart uploads. One family of S3Operations; `sweep_lifecycle` blocks (run it on the store's pool), and
s3.sweeper runs it periodically in every gateway process.

Bounded: a sweep judges about BUDGET versions and uploads, reading at most 100 keys and 5000 versions a step
(a key with more versions is read alone), resuming each bucket at the key its last sweep reached
(s3_lifecycle.cursor, so a restart loses no progress). Safe with every process sweeping at once: the
scan only reads; each key with something due is then changed in one metadata transaction that locks all its
versions and decides again on what it sees there, so two sweepers never delete twice (the second finds nothing
left to do) and a client write in between is never lost (the decision is on the state it left). Blobs the
transaction unreferenced are deleted after it commits, as for every other write (a crash leaves only orphans,
which start-up cleanup removes).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ec2soap.s3 import lifecycle_store as store
from ec2soap.s3 import object_lock
from ec2soap.s3.context import OpsContext
from ec2soap.s3.lifecycle_rules import DAY, EXPIRE_CURRENT, decide, upload_due
from ec2soap.s3.rules import key_successor

__all__ = ["LifecycleSweep", "SweepReport"]

log = logging.getLogger(__name__)
_PAGE = 100  # keys read per scan step
_MAX_VERSIONS = 5000  # versions read per scan step (fewer keys when they have many versions)


@dataclass
class SweepReport:
    """What one sweep did: versions and uploads judged, current versions expired (deleted or delete-marked),
    versions removed (noncurrent ones and expired delete markers), uploads aborted, passes finished."""
    judged: int = 0
    expired: int = 0
    removed: int = 0
    aborted: int = 0
    passes: int = 0


class LifecycleSweep(OpsContext):
    """sweep_lifecycle: one bounded run over every bucket with lifecycle rules."""

    def sweep_lifecycle(self, now: Optional[float] = None, budget: int = 10000,
                        stop: Callable[[], bool] = lambda: False) -> SweepReport:
        """Apply the rules as of NOW (default: the clock), judging at most about BUDGET versions and uploads;
        STOP() is asked between keys (a shutdown ends the sweep at the next one)."""
        now = self.clock() if now is None else now
        report = SweepReport()
        for bucket_id, name, cursor in self.store.run_sync(store.swept_buckets, readonly=True):
            if report.judged >= budget or stop():
                break
            self._abort_uploads(bucket_id, name, now, budget, report)
            self._sweep_bucket(bucket_id, name, cursor, now, budget, report, stop)
        if report.expired or report.removed or report.aborted:
            log.info("S3 lifecycle sweep: %(expired)d expired, %(removed)d versions removed, %(aborted)d uploads "
                     "aborted (%(judged)d judged)", vars(report))
        return report

    def _sweep_bucket(self, bucket_id: int, name: str, cursor: Optional[bytes], now: float, budget: int,
                      report: SweepReport, stop: Callable[[], bool]) -> None:
        while report.judged < budget and not stop():
            def scan(conn: Any) -> tuple[Optional[list], list[bytes], list, bool]:
                rules = store.get_rules(conn, bucket_id)
                keys = store.keys_after(conn, bucket_id, cursor, _PAGE)
                if not keys:
                    return rules, keys, [], True
                versions = store.versions_between(conn, bucket_id, keys[0], keys[-1], _MAX_VERSIONS + 1)
                if len(versions) <= _MAX_VERSIONS:
                    return rules, keys, versions, len(keys) < _PAGE
                # Keys with many versions: judge only those read whole (at least the first, read alone).
                partial = versions[-1].key.encode("utf-8")
                whole = [key for key in keys if key < partial]
                if not whole:
                    return rules, keys[:1], store.versions_between(conn, bucket_id, keys[0], keys[0]), False
                return rules, whole, [v for v in versions if v.key.encode("utf-8") < partial], False
            rules, keys, versions, complete = self.store.run_sync(scan, readonly=True)
            if not rules:
                return  # the configuration was deleted meanwhile
            by_key: dict[str, list] = {}
            for version in versions:
                by_key.setdefault(version.key, []).append(version)
            for key in keys:
                if stop():
                    return  # the cursor stays where the last whole page left it
                found = by_key.get(key.decode("utf-8"), [])
                report.judged += len(found)
                if decide(rules, found, now):
                    self._apply(bucket_id, name, key, now, report)
            done = complete
            moved = self._txn(store.move_cursor, bucket_id, cursor, None if done else keys[-1], now)
            if done:
                report.passes += 1 if moved else 0
                return
            if not moved:
                return  # another sweeper is on this bucket: leave it the rest of the pass
            cursor = keys[-1]

    def _apply(self, bucket_id: int, name: str, key: bytes, now: float, report: SweepReport) -> None:
        """One key's due actions in one transaction, decided again on its locked versions."""
        def change(conn: Any) -> tuple[int, int, list[str]]:
            bucket = self.meta.get_bucket(conn, name)
            rules = store.get_rules(conn, bucket_id) if bucket is not None and bucket.id == bucket_id else None
            if not rules:
                return 0, 0, []
            store.versions_of(conn, bucket_id, key)  # wait for the key's writers, then read what they left
            versions = store.versions_of(conn, bucket_id, key)
            expired = removed = 0
            freed: list[str] = []
            text = key.decode("utf-8")
            for action, version in decide(rules, versions, now):
                if action == EXPIRE_CURRENT:
                    # As a DELETE without a version id: gone (unversioned) or a delete marker (versioned).
                    _, _, blobs = self.meta.delete_object(conn, bucket, text, None, bucket.owner, now)
                    expired += 1
                else:
                    if object_lock.is_locked(version, now):
                        continue  # S3 never expires a version under a retention or a legal hold
                    _, _, blobs = self.meta.delete_object(conn, bucket, text, version.version_id, bucket.owner,
                                                          now)
                    removed += 1
                freed.extend(blobs)
            return expired, removed, freed
        expired, removed, freed = self._txn(change)
        self._free(freed)
        report.expired += expired
        report.removed += removed

    def _abort_uploads(self, bucket_id: int, name: str, now: float, budget: int, report: SweepReport) -> None:
        rules = self.store.run_sync(store.get_rules, bucket_id, readonly=True) or []
        for rule in rules:
            if rule.get("abort_days") is None or rule.get("status") != "Enabled":
                continue
            prefix = (rule.get("prefix") if rule.get("filter") is None else rule["filter"].get("prefix")) or ""
            low = prefix.encode("utf-8")
            high = key_successor(low) if low else None
            # Due once the first midnight after initiation + days has passed: initiated before that bound.
            before = (int(now // DAY) - rule["abort_days"]) * DAY
            uploads = self.store.run_sync(store.old_uploads, bucket_id, low, high, before,
                                          max(budget - report.judged, 0), readonly=True)
            for upload in uploads:
                report.judged += 1
                self._abort(bucket_id, upload.upload_id, now, report)

    def _abort(self, bucket_id: int, upload_id: str, now: float, report: SweepReport) -> None:
        def change(conn: Any) -> Optional[list[str]]:
            upload = self.meta.get_upload(conn, upload_id, lock=True)
            rules = store.get_rules(conn, bucket_id)
            if upload is None or upload.bucket_id != bucket_id or not rules \
                    or not upload_due(rules, upload.key, upload.initiated, now):
                return None  # completed, aborted or no longer due meanwhile
            return self.meta.delete_upload(conn, upload)
        freed = self._txn(change)
        if freed is not None:
            report.aborted += 1
            self._free(freed)
