"""Pure pieces of the instances family: device names, EC2 states of CloudStack VMs, user data checks."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from ec2soap.core import instances
from ec2soap.core.instance_model import ERROR_REASON, STATES, device_name, state_of
from ec2soap.errors import EC2Error


def test_device_names_follow_cloudstack_device_ids() -> None:
    assert device_name(0) == "/dev/sda1"
    assert [device_name(n) for n in (1, 2, 4)] == ["/dev/sdb", "/dev/sdc", "/dev/sde"]


class _Cloud:
    def __init__(self, cmd: str, status: int = 0):
        self.job = {"cmd": cmd, "jobstatus": status}

    async def query_async_job_result(self, jobid: str) -> dict:
        return self.job


def _state(vm: dict, cloud: _Cloud | None = None) -> tuple:
    ctx = SimpleNamespace(cloud=cloud or _Cloud(""))
    return asyncio.run(state_of(ctx, vm))


@pytest.mark.parametrize("cs_state, name", [("Starting", "pending"), ("Running", "running"),
                                            ("Stopping", "stopping"), ("Stopped", "stopped"),
                                            ("Destroyed", "terminated"), ("Expunging", "terminated")])
def test_state_mapping(cs_state: str, name: str) -> None:
    assert _state({"state": cs_state}) == (STATES[name], None)


def test_error_is_terminated_with_a_reason_and_a_destroy_in_flight_is_shutting_down() -> None:
    assert _state({"state": "Error"}) == (STATES["terminated"], ERROR_REASON)
    destroying = _Cloud("org.apache.cloudstack.api.command.user.vm.DestroyVMCmd")
    assert _state({"state": "Stopping", "jobid": "j"}, destroying)[0] == STATES["shutting-down"]
    stopping = _Cloud("org.apache.cloudstack.api.command.user.vm.StopVMCmd")
    assert _state({"state": "Stopping", "jobid": "j"}, stopping)[0] == STATES["stopping"]
    assert STATES["shutting-down"].code == 32


def test_user_data_must_be_base64() -> None:
    assert instances._user_data("aGVsbG8=") == "aGVsbG8="
    assert instances._user_data("aGVsbG8") == "aGVsbG8="  # padding restored
    assert instances._user_data(None) is None
    with pytest.raises(EC2Error) as failure:
        instances._user_data("not base64 !")
    assert failure.value.code == "InvalidParameterValue"
