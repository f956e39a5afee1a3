"""The client's short cache of zones and compute offerings (CACHED_LISTS), which the gateway never changes: per
caller and parameters, non-empty answers only, dropped after its seconds; nothing else is cached."""
from __future__ import annotations

import json
from typing import Any

from twisted.internet import defer
from twisted.internet.task import Clock

from ec2soap.cloudstack.client import CloudStackClientFactory


class Counting:
    """A transport answering canned bodies, counting the commands it is sent."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.zones = [{"id": "z1", "name": "zone-1"}]

    def send(self, params: dict[str, str]) -> defer.Deferred:
        command = params["command"]
        self.sent.append(command)
        if command == "listZones":
            body = {"listzonesresponse": {"count": len(self.zones), "zone": self.zones} if self.zones else {}}
        elif command == "listServiceOfferings":
            body = {"listserviceofferingsresponse": {}}
        elif command == "listVolumes":
            body = {"listvolumesresponse": {"count": 1, "volume": [{"id": "v1"}]}}
        else:
            body = {command.lower() + "response": {"success": True}}
        return defer.succeed((200, json.dumps(body).encode()))


def _result(d: defer.Deferred) -> Any:
    out: list = []
    d.addBoth(out.append)
    value = out[0]
    if hasattr(value, "raiseException"):
        value.raiseException()
    return value


def _setup(seconds: float = 10.0) -> tuple[Counting, Clock, CloudStackClientFactory]:
    transport, clock = Counting(), Clock()
    return transport, clock, CloudStackClientFactory(transport, clock=clock, list_cache_seconds=seconds)


def test_zones_are_asked_for_once_per_caller_and_parameters_while_fresh() -> None:
    transport, clock, factory = _setup()
    alice, bob = factory.client("alice", "s"), factory.client("bob", "s")
    first = _result(alice.list_zones(available=True))
    first[0]["name"] = "changed by the caller"  # every caller gets its own copy
    assert _result(alice.list_zones(available=True)) == [{"id": "z1", "name": "zone-1"}]
    assert transport.sent == ["listZones"]
    _result(alice.list_zones())  # other parameters
    _result(bob.list_zones(available=True))  # another caller
    assert transport.sent == ["listZones"] * 3
    clock.advance(10.5)
    _result(alice.list_zones(available=True))
    assert transport.sent == ["listZones"] * 4


def test_empty_answers_and_other_lists_are_not_kept() -> None:
    transport, _clock, factory = _setup()
    client = factory.client("alice", "s")
    assert _result(client.list_service_offerings(name="m9.huge")) == []
    assert _result(client.list_service_offerings(name="m9.huge")) == []
    transport.zones = []
    assert _result(client.list_zones()) == []
    transport.zones = [{"id": "z2", "name": "zone-2"}]
    assert _result(client.list_zones()) == [{"id": "z2", "name": "zone-2"}]
    assert transport.sent == ["listServiceOfferings"] * 2 + ["listZones"] * 2
    _result(client.list_volumes())
    _result(client.list_volumes())
    assert transport.sent[4:] == ["listVolumes"] * 2


def test_zero_seconds_turns_the_cache_off() -> None:
    transport, _clock, factory = _setup(0)
    client = factory.client("alice", "s")
    _result(client.list_zones())
    _result(client.list_zones())
    assert transport.sent == ["listZones", "listZones"]
