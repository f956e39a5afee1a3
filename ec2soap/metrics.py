"""Prometheus metrics of one running gateway: requests, latencies, CloudStack calls, S3 bytes, jobs in flight.

Each Running owns one Metrics with its own CollectorRegistry (never prometheus_client's global one), so tests
that start several servers in one process do not collide. Callers pass bounded label values only (known action
names, CloudStack command names): a label taken from a client's free text would grow without end.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ec2soap.cloudstack import errors

__all__ = ["Metrics", "CONTENT_TYPE", "cloudstack_outcome"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Gateway requests run from a few ms to the job_wait bound (minutes); CloudStack calls from ms to the timeout.
_REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
_CLOUDSTACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def cloudstack_outcome(error: BaseException | None) -> str:
    """The `outcome` label of one CloudStack call: ok, or the kind of failure (a bounded set)."""
    if error is None:
        return "ok"
    for kind, label in ((errors.CloudStackAuthError, "auth_error"), (errors.CloudStackApiError, "api_error"),
                        (errors.CloudStackUnavailable, "unavailable"),
                        (errors.CloudStackBadResponse, "bad_response")):
        if isinstance(error, kind):
            return label
    return "error"


class Metrics:
    """The gateway's metrics. Front doors call `request(...)`; the CloudStack client calls `cloudstack_call(...)`
    and `job()`; S3 calls `s3_bytes(...)`. `render()` is the /metrics body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("ec2soap_requests", "Requests answered, by front door, action and HTTP status",
                                ["service", "action", "status"], registry=r)
        self.request_seconds = Histogram("ec2soap_request_seconds", "Time to answer a request",
                                         ["service", "action"], buckets=_REQUEST_BUCKETS, registry=r)
        self.cloudstack_calls = Counter("ec2soap_cloudstack_calls", "CloudStack API requests, by command and outcome",
                                        ["command", "outcome"], registry=r)
        self.cloudstack_seconds = Histogram("ec2soap_cloudstack_seconds", "CloudStack API request latency",
                                            ["command"], buckets=_CLOUDSTACK_BUCKETS, registry=r)
        self.s3_bytes_total = Counter("ec2soap_s3_bytes", "S3 object bytes received (in) and sent (out)",
                                      ["direction"], registry=r)
        self.jobs_in_flight = Gauge("ec2soap_jobs_in_flight", "CloudStack async jobs being waited for", registry=r)
        for direction in ("in", "out"):
            self.s3_bytes_total.labels(direction=direction)
        # Label values → the labelled children. prometheus_client's labels() checks and orders its keywords on
        # every call (a few per request, a profile's visible share of a small one); the children never change
        # once made, and the keys are bounded like the labels themselves.
        self._children: dict[tuple, tuple] = {}

    def _child(self, key: tuple, make) -> tuple:
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = make()
        return found

    def request(self, service: str, action: str, status: int | str, seconds: float) -> None:
        """One answered request. SERVICE is ec2, soap or s3; ACTION a bounded name (use 'other' for unknown)."""
        action = action or "-"
        status = str(status)
        count, latency = self._child(("request", service, action, status), lambda: (
            self.requests.labels(service=service, action=action, status=status),
            self.request_seconds.labels(service=service, action=action)))
        count.inc()
        latency.observe(max(seconds, 0.0))

    def cloudstack_call(self, command: str, error: BaseException | None, seconds: float) -> None:
        """One CloudStack request that succeeded (ERROR None) or failed with ERROR."""
        outcome = cloudstack_outcome(error)
        count, latency = self._child(("cloudstack", command, outcome), lambda: (
            self.cloudstack_calls.labels(command=command, outcome=outcome),
            self.cloudstack_seconds.labels(command=command)))
        count.inc()
        latency.observe(max(seconds, 0.0))

    def s3_bytes(self, direction: str, count: int) -> None:
        """DIRECTION is 'in' (uploaded to us) or 'out' (sent to a client)."""
        if count > 0:
            self.s3_bytes_total.labels(direction=direction).inc(count)

    @contextlib.contextmanager
    def job(self) -> Iterator[None]:
        """Counts one async-job wait in ec2soap_jobs_in_flight while the block runs."""
        self.jobs_in_flight.inc()
        try:
            yield
        finally:
            self.jobs_in_flight.dec()

    def render(self) -> bytes:
        return generate_latest(self.registry)
