"""The RequestContext every core operation receives. Core: no Twisted, Spyne, lxml or SQL here."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from ec2soap.cloudstack.api import CloudStackApi

__all__ = ["RequestContext", "CoreSettings", "IdTranslator", "OfferingLookup", "CredentialStore"]


class IdTranslator(Protocol):
    async def to_ec2_many(self, kind: str, cs_ids: Any) -> dict[str, str]: ...
    async def to_ec2(self, kind: str, cs_id: str) -> str: ...
    async def to_cloudstack_many(self, kind: str, values: Any) -> dict[str, str | None]: ...
    async def to_cloudstack(self, kind: str, value: str) -> str | None: ...


class OfferingLookup(Protocol):
    async def offering_for(self, instance_type: str) -> str | None: ...
    async def type_for(self, offering_id: str, offering_name: str) -> str: ...
    async def set(self, ec2_type: str, cs_offering: str) -> None: ...
    async def remove(self, ec2_type: str) -> bool: ...


class CredentialStore(Protocol):
    """The gateway's registered keys and SOAP certificates (ec2soap.auth.credentials.Credentials)."""
    async def register(self, access_key: str, secret_key: str) -> None: ...
    async def set_certificate(self, access_key: str, pem: str) -> bool: ...
    async def delete_certificate(self, access_key: str) -> bool: ...


@dataclass(frozen=True)
class CoreSettings:
    """What the core needs to know of the settings."""
    default_instance_type: str = "m1.small"
    region: str = "cloudstack"
    max_results: int = 1000
    # How long a terminated instance stays visible in DescribeInstances (EC2: about an hour).
    terminated_retention: float = 3600.0
    # How long a RunInstances retried with a ClientToken waits for the first request's launch to finish.
    client_token_wait: float = 60.0


@dataclass
class RequestContext:
    """One EC2 request: who calls (their CloudStack client), id translation, settings, the request id.

    `cloud` is a CloudStack client bound to the caller's keys, typed by the generated CloudStackApi
    (cloudstack/api.py): one keyword-only method per command, answering CloudStack's JSON unwrapped (lists fully
    paged, async jobs awaited; `begin_<command>` only starts the job, `wait_job` awaits it)."""
    request_id: str
    access_key: str
    cloud: CloudStackApi
    ids: IdTranslator
    offerings: OfferingLookup
    settings: CoreSettings = field(default_factory=CoreSettings)
    clock: Callable[[], float] = time.time
    # Start an async job without waiting for it (RunInstances answers pending at once).
    extras: dict[str, Any] = field(default_factory=dict)
    # ec2soap.store.instance_records.InstanceRecords: what we keep of instances that CloudStack cannot
    # (termination protection, terminated instances, ClientTokens). None: nothing is kept.
    records: Any = None
    # ec2soap.store.snapshot_records.SnapshotRecords: the snapshots of never-attached volumes, which CloudStack
    # cannot take (core/zero_snapshots.py). None: such snapshots are refused as CloudStack refuses them.
    snapshots: Any = None
    # ec2soap.store.tag_records.TagRecords: tags a caller put on resources CloudStack does not let them tag
    # (another account's public image). None: such tagging is refused as CloudStack refuses it.
    tags: Any = None
    # ec2soap.store.ec2_objects.ObjectRecords: EC2 objects CloudStack has no counterpart for (internet gateways,
    # route tables, VPC security groups). None: those actions answer UnsupportedOperation.
    objects: Any = None
    # A CloudStack client with the gateway's admin keys (None when it has none): expunges terminated VMs.
    admin: CloudStackApi | None = None
    # CredentialStore: the keys and certificates SetUserKeys / SetCertificate register. None: not kept.
    credentials: Any = None
