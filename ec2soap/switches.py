"""Service switches: is the EC2 API on, is the S3 API on? CloudStack's enable.ec2.api / enable.s3.api, re-read
periodically with the admin keys, unless our own settings (enable_ec2 / enable_s3) force a value.

The front doors ask `ec2_enabled()` / `s3_enabled()` on every request: a plain attribute read, no I/O. The
original read the settings once at servlet start (cloudbridge.md §2), so a change needed a restart; here the
next refresh picks it up. Imports nothing from the front doors; the CloudStack read is an injected coroutine.
"""
from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Mapping

__all__ = ["Switches", "SETTING_NAMES", "cloudstack_reader", "parse_switch"]

log = logging.getLogger(__name__)

SETTING_NAMES = {"ec2": "enable.ec2.api", "s3": "enable.s3.api"}

Reader = Callable[[], Awaitable[Mapping[str, Any]]]


def parse_switch(value: Any) -> bool | None:
    """CloudStack's Boolean setting value → True/False; None for a value that is not a Boolean."""
    text = str(value).strip().lower() if value is not None else ""
    if text == "true":
        return True
    if text == "false":
        return False
    return None


def cloudstack_reader(admin_cloud: Any) -> Reader:
    """A reader of both settings through listConfigurations with ADMIN_CLOUD (a CloudStack client with admin
    keys) → {setting name: value, or None when CloudStack has no such setting}."""
    async def read() -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in SETTING_NAMES.values():
            # CloudStack quirk: `name` is matched with LIKE %name%, so keep the exact row only.
            rows = await admin_cloud.list_configurations(name=name)
            exact = [row for row in rows or () if row.get("name") == name]
            values[name] = exact[0].get("value") if exact else None
        return values
    return read


class Switches:
    """ec2_enabled() / s3_enabled(): the override from our settings when set, else CloudStack's value as last
    read, else on (before the first read, when there are no admin keys to read with, or when CloudStack has no
    such setting: a service is only switched off by someone saying so)."""

    def __init__(self, *, ec2_override: bool | None = None, s3_override: bool | None = None,
                 reader: Reader | None = None, interval: float = 60.0):
        self.overrides = {"ec2": ec2_override, "s3": s3_override}
        self.reader = reader
        self.interval = interval
        self.from_cloudstack: dict[str, bool | None] = {"ec2": None, "s3": None}
        self.last_error: str | None = None
        self._loop: Any = None

    def enabled(self, service: str) -> bool:
        forced = self.overrides[service]
        if forced is not None:
            return forced
        return self.from_cloudstack[service] is not False

    def ec2_enabled(self) -> bool:
        return self.enabled("ec2")

    def s3_enabled(self) -> bool:
        return self.enabled("s3")

    def source(self, service: str) -> str:
        """Where the current answer comes from: config, cloudstack or default."""
        if self.overrides[service] is not None:
            return "config"
        return "cloudstack" if self.from_cloudstack[service] is not None else "default"

    def state(self) -> dict[str, dict[str, Any]]:
        """For /health: each service's answer and where it comes from."""
        return {service: {"enabled": self.enabled(service), "source": self.source(service)}
                for service in SETTING_NAMES}

    async def refresh(self) -> None:
        """Read CloudStack's settings once. A failure keeps the last known values and logs a warning."""
        if self.reader is None:
            return
        try:
            values = await self.reader()
        except Exception as exc:  # any failure: the switches must keep answering
            self.last_error = f"{exc.__class__.__name__}: {exc}"
            log.warning("cannot read %s from CloudStack (keeping the last known values): %s",
                        " and ".join(SETTING_NAMES.values()), self.last_error)
            return
        self.last_error = None
        for service, name in SETTING_NAMES.items():
            raw = values.get(name)
            value = parse_switch(raw) if raw is not None else None
            if raw is not None and value is None:
                log.warning("CloudStack's %s is %r, not true or false: keeping the last known value", name, raw)
                continue
            if value != self.from_cloudstack[service]:
                before = self.enabled(service)
                self.from_cloudstack[service] = value
                shown = "unset" if value is None else str(value).lower()
                overridden = " (overridden by our config)" if self.overrides[service] is not None else ""
                if before != self.enabled(service) or overridden:
                    log.info("%s API is now %s: CloudStack's %s is %s%s", service.upper(),
                             "on" if self.enabled(service) else "off", name, shown, overridden)

    def start(self, reactor: Any) -> None:
        """Read now, then every `interval` seconds on REACTOR (nothing to do without a reader)."""
        if self.reader is None or self._loop is not None:
            return
        from twisted.internet.defer import Deferred
        from twisted.internet.task import LoopingCall

        self._loop = LoopingCall(lambda: Deferred.fromCoroutine(self.refresh()))
        self._loop.clock = reactor
        self._loop.start(self.interval, now=True).addErrback(
            lambda failure: log.error("the switch refresh loop stopped: %s", failure.getErrorMessage()))

    def stop(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None
