"""Switches (CloudStack's enable.ec2.api / enable.s3.api with our overrides), the metrics registry and the
admin-account check: plain objects, no server."""
from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ec2soap.cloudstack.admin import is_root_admin, own_account
from ec2soap.cloudstack.errors import CloudStackAuthError, CloudStackUnavailable
from ec2soap.metrics import Metrics, cloudstack_outcome
from ec2soap.switches import Switches, cloudstack_reader, parse_switch


class Reader:
    """Answers what `values` holds, or raises `error`."""

    def __init__(self, **values: Any):
        self.values: dict[str, Any] = {"enable.ec2.api": values.get("ec2"), "enable.s3.api": values.get("s3")}
        self.error: Exception | None = None
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return dict(self.values)


def refresh(switches: Switches) -> None:
    asyncio.run(switches.refresh())


def test_before_any_read_and_without_a_reader_both_services_are_on() -> None:
    assert Switches().ec2_enabled() and Switches().s3_enabled()
    switches = Switches(reader=Reader(ec2="false"))
    assert switches.ec2_enabled() and switches.source("ec2") == "default"


def test_cloudstack_values_are_followed_and_change_without_restart() -> None:
    reader = Reader(ec2="false", s3="true")
    switches = Switches(reader=reader)
    refresh(switches)
    assert (switches.ec2_enabled(), switches.s3_enabled()) == (False, True)
    assert switches.state() == {"ec2": {"enabled": False, "source": "cloudstack"},
                                "s3": {"enabled": True, "source": "cloudstack"}}
    reader.values["enable.ec2.api"] = "TRUE"
    reader.values["enable.s3.api"] = "false"
    refresh(switches)
    assert (switches.ec2_enabled(), switches.s3_enabled()) == (True, False)


def test_overrides_beat_cloudstack_both_ways() -> None:
    switches = Switches(ec2_override=True, s3_override=False, reader=Reader(ec2="false", s3="true"))
    refresh(switches)
    assert (switches.ec2_enabled(), switches.s3_enabled()) == (True, False)
    assert switches.source("ec2") == "config"


def test_a_failed_read_keeps_the_last_known_values_and_warns(caplog: Any) -> None:
    reader = Reader(ec2="false", s3="false")
    switches = Switches(reader=reader)
    refresh(switches)
    reader.error = CloudStackUnavailable("listConfigurations: connection refused")
    refresh(switches)
    assert (switches.ec2_enabled(), switches.s3_enabled()) == (False, False)
    assert "keeping the last known values" in caplog.text and switches.last_error
    reader.error = None
    reader.values["enable.s3.api"] = "true"
    refresh(switches)
    assert switches.s3_enabled() and switches.last_error is None


def test_a_missing_setting_means_on_and_garbage_is_ignored(caplog: Any) -> None:
    reader = Reader(ec2="false")
    switches = Switches(reader=reader)
    refresh(switches)
    reader.values["enable.ec2.api"] = "maybe"
    refresh(switches)
    assert not switches.ec2_enabled() and "not true or false" in caplog.text
    assert switches.s3_enabled() and switches.source("s3") == "default"  # CloudStack has no enable.s3.api


@pytest.mark.parametrize("value, expected", [("true", True), (" False ", False), ("", None), ("1", None),
                                             (None, None)])
def test_parse_switch(value: Any, expected: Any) -> None:
    assert parse_switch(value) is expected


def test_the_cloudstack_reader_keeps_exact_names_only() -> None:
    class Admin:
        async def list_configurations(self, name: str) -> list:
            # CloudStack quirk: name is a LIKE match, so a longer name comes back too.
            return [{"name": name + ".extra", "value": "false"}, {"name": name, "value": "true"}] \
                if name == "enable.ec2.api" else []

    assert asyncio.run(cloudstack_reader(Admin())()) == {"enable.ec2.api": "true", "enable.s3.api": None}


def test_the_refresh_loop_runs_on_the_given_clock() -> None:
    from twisted.internet.task import Clock

    clock, reader = Clock(), Reader(ec2="false")
    switches = Switches(reader=reader, interval=60.0)
    switches.start(clock)
    assert reader.calls == 1 and not switches.ec2_enabled()
    reader.values["enable.ec2.api"] = "true"
    clock.advance(59)
    assert reader.calls == 1
    clock.advance(1)
    assert reader.calls == 2 and switches.ec2_enabled()
    switches.stop()
    clock.advance(120)
    assert reader.calls == 2


def test_metrics_live_in_their_own_registry() -> None:
    one, two = Metrics(), Metrics()
    one.request("ec2", "DescribeInstances", 200, 0.01)
    one.cloudstack_call("listVirtualMachines", None, 0.002)
    one.cloudstack_call("listVirtualMachines", CloudStackAuthError(401, "no"), 0.002)
    one.s3_bytes("in", 10)
    with one.job():
        assert one.registry.get_sample_value("ec2soap_jobs_in_flight") == 1
    assert one.registry.get_sample_value("ec2soap_jobs_in_flight") == 0
    value = one.registry.get_sample_value
    assert value("ec2soap_requests_total", {"service": "ec2", "action": "DescribeInstances", "status": "200"}) == 1
    assert value("ec2soap_request_seconds_count", {"service": "ec2", "action": "DescribeInstances"}) == 1
    assert value("ec2soap_cloudstack_calls_total", {"command": "listVirtualMachines", "outcome": "auth_error"}) == 1
    assert value("ec2soap_cloudstack_seconds_count", {"command": "listVirtualMachines"}) == 2
    assert value("ec2soap_s3_bytes_total", {"direction": "in"}) == 10
    assert two.registry.get_sample_value("ec2soap_requests_total",
                                         {"service": "ec2", "action": "DescribeInstances", "status": "200"}) is None
    assert b"ec2soap_s3_bytes_total" in one.render()


def test_cloudstack_outcome_labels() -> None:
    assert cloudstack_outcome(None) == "ok"
    assert cloudstack_outcome(CloudStackUnavailable("x")) == "unavailable"
    assert cloudstack_outcome(ValueError()) == "error"


def test_root_admin_is_the_callers_own_account_of_type_1() -> None:
    admin = {"name": "admin", "accounttype": 1, "user": [{"apikey": "A"}]}
    user = {"name": "bob", "accounttype": 0, "user": [{"apikey": "B"}]}
    domain_admin = {"name": "dom", "accounttype": 2, "user": [{"apikey": "D"}]}
    assert is_root_admin([admin, user], "A")
    assert not is_root_admin([user], "B")
    assert not is_root_admin([domain_admin], "D")
    assert own_account([{"name": "x", "accounttype": "1"}], "K")["name"] == "x"  # keys not listed: the only one
    assert not is_root_admin([admin, {"name": "y", "accounttype": 1}], "K")  # ambiguous: not admin
