"""Instance life cycles as SDK waiters and automation expect them, with the simulator configured as a real
CloudStack is by default (expunge.delay one day, allow.user.view.destroyed.vm and allow.user.expunge.recover.vm
false) and with the friendlier settings: terminated instances visible for an hour then gone, DeleteSecurityGroup
right after the terminated waiter (with and without the gateway's admin keys), volumes at termination,
DisableApiTermination, ResetInstanceAttribute and ClientToken, through boto3, awscli, boto 2 and zeep."""
from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pytest

from ec2soap.config import Settings
from tests.protocol.conftest import EC2Client, GatewayServer, Keys
from tests.protocol.ec2.test_instances import template_id

FAST = {"Delay": 1, "MaxAttempts": 40}


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    """The embedded gateway (it holds the simulator's admin keys) in front of a simulator with CloudStack's
    default expunge.delay (86400 s): destroyed VMs would stay for a day."""
    from ec2soap import server

    data = tmp_path_factory.mktemp("lifecycle")
    settings = Settings(host="127.0.0.1", port=0, simulator_port=0, integration_port=-1, data_dir=str(data),
                        simulator_job_seconds=0.2, job_poll_interval=0.05, job_wait=20.0, db_threads=4)
    assert settings.simulator_expunge_seconds == 86400.0  # CloudStack's default expunge.delay
    running = in_reactor(server.start, settings, reactor)
    yield GatewayServer(running, f"http://127.0.0.1:{running.ports['gateway']}",
                        f"http://127.0.0.1:{running.ports['simulator']}/client/api")
    in_reactor(running.stop)
    running.store.close()


@dataclasses.dataclass
class BareGateway:
    """A second gateway in front of the same CloudStack, without admin keys: callers are registered."""
    running: Any
    url: str

    def client(self, kind: str, keys: Keys, in_reactor: Callable[..., Any], server: GatewayServer) -> EC2Client:
        in_reactor(self.running.credentials.register, keys.access_key, keys.secret_key)
        return EC2Client(kind, dataclasses.replace(server, url=self.url), keys)


def _second_gateway(gateway_server: GatewayServer, tmp_path_factory: Any, reactor: Any,
                    in_reactor: Callable[..., Any], **admin: str) -> Iterator[BareGateway]:
    from ec2soap import server

    data = tmp_path_factory.mktemp("second")
    settings = Settings(host="127.0.0.1", port=0, data_dir=str(data), cloudstack_url=gateway_server.simulator_url,
                        job_poll_interval=0.05, job_wait=20.0, db_threads=4, enable_ec2=True, enable_s3=True,
                        **admin)
    running = in_reactor(server.start, settings, reactor)
    yield BareGateway(running, f"http://127.0.0.1:{running.ports['gateway']}")
    in_reactor(running.stop)
    running.store.close()


@pytest.fixture(scope="module")
def bare_gateway(gateway_server: GatewayServer, tmp_path_factory: Any, reactor: Any,
                 in_reactor: Callable[..., Any]) -> Iterator[BareGateway]:
    for gateway in _second_gateway(gateway_server, tmp_path_factory, reactor, in_reactor):
        assert gateway.running.gateway.admin is None
        yield gateway


@pytest.fixture(scope="module")
def revoked_admin_gateway(gateway_server: GatewayServer, tmp_path_factory: Any, reactor: Any,
                          in_reactor: Callable[..., Any]) -> Iterator[BareGateway]:
    """A gateway whose configured admin keys CloudStack does not accept."""
    yield from _second_gateway(gateway_server, tmp_path_factory, reactor, in_reactor,
                               cloudstack_admin_api_key="revoked", cloudstack_admin_secret_key="revoked")


@pytest.fixture
def user_setting(gateway_server: GatewayServer) -> Iterator[Callable[[str, str], None]]:
    """set(name, value): a CloudStack global setting for this test, put back to false afterwards."""
    changed: list[str] = []

    def change(name: str, value: str) -> None:
        status, body = gateway_server.cloudstack("admin", "updateConfiguration", name=name, value=value)
        assert status == 200, body
        changed.append(name)
    yield change
    for name in changed:
        gateway_server.cloudstack("admin", "updateConfiguration", name=name, value="false")


def _launch(ec2: EC2Client, **extra: Any) -> tuple[str, dict]:
    """boto3 RunInstances of one instance, waited for with the instance_running waiter → (reservation, instance)."""
    reply = ec2.client.run_instances(ImageId=template_id(ec2.server), MinCount=1, MaxCount=1,
                                     InstanceType="m1.small", **extra)
    instance = reply["Instances"][0]
    ec2.client.get_waiter("instance_running").wait(InstanceIds=[instance["InstanceId"]], WaiterConfig=FAST)
    return reply["ReservationId"], instance


def _cs_vm(server: GatewayServer, instance_id: str, gateway: Any = None) -> list[dict]:
    """The VM as CloudStack's root admin sees it (destroyed ones too; [] once expunged). GATEWAY: the one whose
    store minted the instance id (the embedded one by default)."""
    cs_id = _cs_id(gateway or server.running, instance_id)
    status, body = server.cloudstack("admin", "listVirtualMachines", id=cs_id, listall="true")
    assert status == 200, body
    return body.get("virtualmachine", [])


def _cs_id(running: Any, instance_id: str) -> str:
    from sqlalchemy import select

    from ec2soap.store.tables import ec2_id

    return running.store.run_sync(lambda c: c.execute(select(ec2_id.c.cs_id).where(
        ec2_id.c.ec2_id == instance_id)).scalar(), readonly=True)


def _error(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(Exception) as failure:
        call()
    error = failure.value.response["Error"]
    return error["Code"], error["Message"]


# -- terminated instances --------------------------------------------------------------------------------------

def test_terminated_instance_stays_visible_for_the_retention_then_is_gone(
        gateway_server: GatewayServer, new_user: Callable[[], Keys], ec2_of: Any) -> None:
    keys = new_user()
    ec2 = ec2_of("boto3", keys)
    reservation, launched = _launch(ec2)
    iid = launched["InstanceId"]
    ec2.client.create_tags(Resources=[iid], Tags=[{"Key": "Name", "Value": "web"}])
    change, = ec2.client.terminate_instances(InstanceIds=[iid])["TerminatingInstances"]
    # Answered at once, before CloudStack's destroy job ends.
    assert (change["PreviousState"]["Name"], change["CurrentState"]) == (
        "running", {"Code": 32, "Name": "shutting-down"})
    ec2.client.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert ec2_of("awscli", keys).cli("wait", "instance-terminated", "--instance-ids", iid) == {}

    found, = ec2.client.describe_instances(InstanceIds=[iid])["Reservations"]
    gone, = found["Instances"]
    assert found["ReservationId"] == reservation
    assert gone["State"] == {"Code": 48, "Name": "terminated"}
    assert gone["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert gone["StateTransitionReason"].startswith("User initiated (")
    assert (gone["ImageId"], gone["InstanceType"], gone["LaunchTime"]) == (
        launched["ImageId"], "m1.small", launched["LaunchTime"])
    assert gone["Tags"] == [{"Key": "Name", "Value": "web"}]
    assert gone.get("BlockDeviceMappings", []) == [] and not gone.get("PublicIpAddress")
    # The gateway holds admin keys: CloudStack has expunged the VM, and still the instance shows terminated.
    assert _cs_vm(gateway_server, iid) == []

    def ids(**kw: Any) -> list[str]:
        return [i["InstanceId"] for r in ec2.client.describe_instances(**kw)["Reservations"] for i in r["Instances"]]
    assert ids(Filters=[{"Name": "instance-state-name", "Values": ["terminated"]}]) == [iid]
    assert ids(Filters=[{"Name": "instance-state-name", "Values": ["running"]}]) == []
    assert ids(Filters=[{"Name": "tag:Name", "Values": ["web"]}]) == [iid]
    status = ec2.client.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True)["InstanceStatuses"]
    assert [(s["InstanceId"], s["InstanceState"]["Name"]) for s in status] == [(iid, "terminated")]
    assert ec2.client.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"] == []
    boto2, = ec2_of("boto2", keys).conn.get_only_instances([iid])
    assert (boto2.state, boto2.state_code, boto2.instance_type) == ("terminated", 48, "m1.small")
    assert _error(lambda: ec2.client.start_instances(InstanceIds=[iid]))[0] == "IncorrectInstanceState"
    # Terminating it again answers terminated twice, as EC2 does.
    again, = ec2.client.terminate_instances(InstanceIds=[iid])["TerminatingInstances"]
    assert (again["PreviousState"]["Name"], again["CurrentState"]["Name"]) == ("terminated", "terminated")

    gateway = gateway_server.running.gateway
    kept = gateway.settings
    gateway.settings = dataclasses.replace(kept, terminated_retention=0.0)  # the hour has passed
    try:
        assert ids() == []
        assert _error(lambda: ec2.client.describe_instances(InstanceIds=[iid]))[0] == "InvalidInstanceID.NotFound"
    finally:
        gateway.settings = kept


def test_terminated_stays_visible_without_admin_keys_even_when_cloudstack_shows_destroyed_vms(
        gateway_server: GatewayServer, bare_gateway: BareGateway, new_user: Callable[[], Keys],
        in_reactor: Any, user_setting: Any) -> None:
    keys = new_user()
    ec2 = bare_gateway.client("boto3", keys, in_reactor, gateway_server)
    for view in ("false", "true"):
        user_setting("allow.user.view.destroyed.vm", view)
        _reservation, launched = _launch(ec2)
        iid = launched["InstanceId"]
        ec2.client.terminate_instances(InstanceIds=[iid])
        ec2.client.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
        # Nobody may expunge: CloudStack keeps the VM Destroyed for expunge.delay (a day).
        assert [v["state"] for v in _cs_vm(gateway_server, iid, bare_gateway.running)] == ["Destroyed"]
        gone, = ec2.client.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"]
        assert gone["State"]["Name"] == "terminated"
        assert gone["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
        gateway = bare_gateway.running.gateway
        kept = gateway.settings
        gateway.settings = dataclasses.replace(kept, terminated_retention=0.0)
        try:
            # After the hour the instance is gone, even where CloudStack would still show the destroyed VM.
            listed = [i["InstanceId"] for r in ec2.client.describe_instances()["Reservations"]
                      for i in r["Instances"]]
            assert iid not in listed
        finally:
            gateway.settings = kept


# -- DeleteSecurityGroup after the terminated waiter --------------------------------------------------------------

def test_delete_security_group_right_after_the_terminated_waiter_with_admin_keys(
        gateway_server: GatewayServer, new_user: Callable[[], Keys], ec2_of: Any) -> None:
    keys = new_user()
    ec2, cli = ec2_of("boto3", keys), ec2_of("awscli", keys)
    group = f"web-{uuid.uuid4().hex[:6]}"
    cli.cli("create-security-group", "--group-name", group, "--description", "web")
    _reservation, launched = _launch(ec2, SecurityGroups=[group])
    iid = launched["InstanceId"]
    ec2.client.terminate_instances(InstanceIds=[iid])
    ec2.client.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert cli.cli("delete-security-group", "--group-name", group).get("Return", True) is True
    assert group not in [g["GroupName"] for g in ec2.client.describe_security_groups()["SecurityGroups"]]


def test_without_admin_keys_in_use_says_why_and_the_user_setting_lets_it_expunge(
        gateway_server: GatewayServer, bare_gateway: BareGateway, new_user: Callable[[], Keys],
        in_reactor: Any, user_setting: Any) -> None:
    keys = new_user()
    ec2 = bare_gateway.client("boto3", keys, in_reactor, gateway_server)
    boto2 = bare_gateway.client("boto2", keys, in_reactor, gateway_server)
    held = f"held-{uuid.uuid4().hex[:6]}"
    ec2.client.create_security_group(GroupName=held, Description="held")
    _reservation, launched = _launch(ec2, SecurityGroups=[held])
    ec2.client.terminate_instances(InstanceIds=[launched["InstanceId"]])
    ec2.client.get_waiter("instance_terminated").wait(InstanceIds=[launched["InstanceId"]], WaiterConfig=FAST)
    code, message = _error(lambda: ec2.client.delete_security_group(GroupName=held))
    assert code == "InvalidGroup.InUse"
    for reason in ("expunge.delay", "allow.user.expunge.recover.vm", "admin keys"):
        assert reason in message, message
    with pytest.raises(Exception) as failure:
        boto2.conn.delete_security_group(held)
    assert failure.value.error_code == "InvalidGroup.InUse" and "expunge.delay" in failure.value.error_message

    # With allow.user.expunge.recover.vm the caller's own keys expunge at TerminateInstances.
    user_setting("allow.user.expunge.recover.vm", "true")
    freed = f"freed-{uuid.uuid4().hex[:6]}"
    ec2.client.create_security_group(GroupName=freed, Description="freed")
    _reservation, launched = _launch(ec2, SecurityGroups=[freed])
    ec2.client.terminate_instances(InstanceIds=[launched["InstanceId"]])
    ec2.client.get_waiter("instance_terminated").wait(InstanceIds=[launched["InstanceId"]], WaiterConfig=FAST)
    ec2.client.delete_security_group(GroupName=freed)
    assert _cs_vm(gateway_server, launched["InstanceId"], bare_gateway.running) == []


def test_admin_keys_that_cloudstack_refuses_still_terminate_as_the_caller(
        gateway_server: GatewayServer, revoked_admin_gateway: BareGateway, new_user: Callable[[], Keys],
        in_reactor: Any) -> None:
    keys = new_user()
    ec2 = revoked_admin_gateway.client("boto3", keys, in_reactor, gateway_server)
    _reservation, launched = _launch(ec2)
    iid = launched["InstanceId"]
    change, = ec2.client.terminate_instances(InstanceIds=[iid])["TerminatingInstances"]
    assert change["CurrentState"]["Name"] == "shutting-down"
    ec2.client.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    # Not expunged (nobody could), but terminated, and not the caller's AuthFailure.
    assert [v["state"] for v in _cs_vm(gateway_server, iid, revoked_admin_gateway.running)] == ["Destroyed"]


# -- volumes at termination -------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["bare", "admin"])
def test_root_volume_deleted_and_data_volume_detached_as_the_instance_terminates(
        where: str, gateway_server: GatewayServer, bare_gateway: BareGateway, new_user: Callable[[], Keys],
        in_reactor: Any, ec2_of: Any) -> None:
    keys = new_user()
    if where == "bare":
        ec2 = bare_gateway.client("boto3", keys, in_reactor, gateway_server)
        cli = bare_gateway.client("awscli", keys, in_reactor, gateway_server)
    else:
        ec2, cli = ec2_of("boto3", keys), ec2_of("awscli", keys)
    _reservation, launched = _launch(ec2)
    iid = launched["InstanceId"]
    zone = launched["Placement"]["AvailabilityZone"]
    root, = [m["Ebs"]["VolumeId"] for m in ec2.client.describe_instances(InstanceIds=[iid])["Reservations"][0]
             ["Instances"][0]["BlockDeviceMappings"]]
    data = ec2.client.create_volume(Size=1, AvailabilityZone=zone)["VolumeId"]
    ec2.client.get_waiter("volume_available").wait(VolumeIds=[data], WaiterConfig=FAST)
    ec2.client.attach_volume(VolumeId=data, InstanceId=iid, Device="/dev/sdb")
    ec2.client.get_waiter("volume_in_use").wait(VolumeIds=[data], WaiterConfig=FAST)

    ec2.client.terminate_instances(InstanceIds=[iid])
    ec2.client.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    volume, = ec2.client.describe_volumes(VolumeIds=[data])["Volumes"]
    assert (volume["State"], volume.get("Attachments", [])) == ("available", [])
    assert cli.cli("wait", "volume-available", "--volume-ids", data) == {}
    # The root volume (DeleteOnTermination) is deleted with the instance, even though CloudStack keeps a
    # destroyed VM's root disk until it expunges the VM.
    assert root not in [v["VolumeId"] for v in ec2.client.describe_volumes()["Volumes"]]
    assert _error(lambda: ec2.client.describe_volumes(VolumeIds=[root]))[0] == "InvalidVolume.NotFound"
    ec2.client.get_waiter("volume_deleted").wait(VolumeIds=[root], WaiterConfig=FAST)


# -- DisableApiTermination ----------------------------------------------------------------------------------------

def _protected(ec2: EC2Client, iid: str) -> bool:
    if ec2.kind == "boto2":
        return ec2.conn.get_instance_attribute(iid, "disableApiTermination")["disableApiTermination"]
    if ec2.kind == "awscli":
        return ec2.cli("describe-instance-attribute", "--instance-id", iid, "--attribute",
                       "disableApiTermination")["DisableApiTermination"]["Value"]
    return ec2.client.describe_instance_attribute(
        InstanceId=iid, Attribute="disableApiTermination")["DisableApiTermination"]["Value"]


def _protect(ec2: EC2Client, iid: str, flag: bool) -> None:
    if ec2.kind == "boto2":
        assert ec2.conn.modify_instance_attribute(iid, "disableApiTermination", flag)
    elif ec2.kind == "awscli":
        ec2.cli("modify-instance-attribute", "--instance-id", iid,
                "--disable-api-termination" if flag else "--no-disable-api-termination")
    else:
        ec2.client.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": flag})


def _terminate(ec2: EC2Client, iid: str) -> str:
    if ec2.kind == "boto2":
        return ec2.conn.terminate_instances([iid])[0].state
    if ec2.kind == "awscli":
        return ec2.cli("terminate-instances", "--instance-ids", iid)["TerminatingInstances"][0]["CurrentState"][
            "Name"]
    return ec2.client.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]["CurrentState"]["Name"]


def test_disable_api_termination_is_applied_enforced_and_modifiable(ec2: EC2Client) -> None:
    image = template_id(ec2.server)
    if ec2.kind == "boto2":
        iid = ec2.conn.run_instances(image, instance_type="m1.small", disable_api_termination=True).instances[0].id
    elif ec2.kind == "awscli":
        iid = ec2.cli("run-instances", "--image-id", image, "--count", "1", "--instance-type", "m1.small",
                      "--disable-api-termination")["Instances"][0]["InstanceId"]
    else:
        iid = ec2.client.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m1.small",
                                       DisableApiTermination=True)["Instances"][0]["InstanceId"]
    assert _protected(ec2, iid) is True
    with ec2.failure() as failure:
        _terminate(ec2, iid)
    assert failure.value.code == "OperationNotPermitted"
    assert "disableApiTermination" in failure.value.message
    _protect(ec2, iid, False)
    assert _protected(ec2, iid) is False
    _protect(ec2, iid, True)
    with ec2.failure() as failure:
        _terminate(ec2, iid)
    assert failure.value.code == "OperationNotPermitted"
    _protect(ec2, iid, False)
    assert _terminate(ec2, iid) in ("shutting-down", "terminated")


def test_an_unprotected_launch_reads_false_and_one_protected_instance_blocks_the_whole_call(
        gateway_server: GatewayServer, new_user: Callable[[], Keys], ec2_of: Any) -> None:
    ec2 = ec2_of("boto3", new_user())
    _r, plain = _launch(ec2)
    _r, guarded = _launch(ec2, DisableApiTermination=True)
    assert _protected(ec2, plain["InstanceId"]) is False
    code, _message = _error(lambda: ec2.client.terminate_instances(
        InstanceIds=[plain["InstanceId"], guarded["InstanceId"]]))
    assert code == "OperationNotPermitted"
    # Nothing was terminated: EC2 refuses the whole request.
    states = {i["InstanceId"]: i["State"]["Name"] for r in ec2.client.describe_instances()["Reservations"]
              for i in r["Instances"]}
    assert states == {plain["InstanceId"]: "running", guarded["InstanceId"]: "running"}


# -- ResetInstanceAttribute -----------------------------------------------------------------------------------------

def test_reset_instance_attribute_over_query(gateway_server: GatewayServer, new_user: Callable[[], Keys],
                                             ec2_of: Any) -> None:
    keys = new_user()
    ec2, cli = ec2_of("boto3", keys), ec2_of("awscli", keys)
    _r, launched = _launch(ec2)
    iid = launched["InstanceId"]
    # As in EC2: kernel and ramdisk are reset on a stopped instance only; other attributes are not resettable.
    assert _error(lambda: ec2.client.reset_instance_attribute(InstanceId=iid, Attribute="kernel"))[0] == \
        "IncorrectInstanceState"
    assert _error(lambda: ec2.client.reset_instance_attribute(InstanceId=iid, Attribute="instanceType"))[0] == \
        "InvalidParameterValue"
    ec2.client.reset_instance_attribute(InstanceId=iid, Attribute="sourceDestCheck")
    ec2.client.stop_instances(InstanceIds=[iid])
    ec2.client.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    ec2.client.reset_instance_attribute(InstanceId=iid, Attribute="kernel")
    assert cli.cli("reset-instance-attribute", "--instance-id", iid, "--attribute", "ramdisk") == {}
    assert ec2_of("boto2", keys).conn.reset_instance_attribute(iid, "kernel") is True
    with pytest.raises(Exception) as failure:
        ec2.client.reset_instance_attribute(InstanceId="i-0123456789abcdef0", Attribute="kernel")
    assert failure.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


def _soap(wsdl: str, server: GatewayServer, keys: Keys, in_reactor: Any, tmp_path: Any) -> Any:
    """A zeep client (reference or our WSDL) for KEYS, with a registered certificate."""
    from tests.protocol.soap.conftest import SoapClient, make_certificate

    key_file, cert_file, pem = make_certificate(tmp_path, keys.account)
    credentials = server.running.credentials
    in_reactor(credentials.register, keys.access_key, keys.secret_key)
    assert in_reactor(credentials.set_certificate, keys.access_key, pem)
    return SoapClient(wsdl, server, keys, key_file, cert_file)


def _empty(soap: Any) -> Any:
    """An empty element for zeep: the reference WSDL's xs:choice renders one only from SkipValue, our WSDL's
    optional element from an EmptyElementType value."""
    import zeep

    if soap.kind == "reference":
        return zeep.xsd.SkipValue
    return soap.client.get_type("{http://ec2.amazonaws.com/doc/2010-11-15/}EmptyElementType")()


@pytest.mark.parametrize("wsdl", ["reference", "ours"])
def test_reset_instance_attribute_over_soap(wsdl: str, gateway_server: GatewayServer, new_user: Callable[[], Keys],
                                            ec2_of: Any, in_reactor: Any, tmp_path: Any) -> None:
    from tests.protocol.soap.conftest import SoapFailure

    keys = new_user()
    soap = _soap(wsdl, gateway_server, keys, in_reactor, tmp_path)
    ec2 = ec2_of("boto3", keys)
    _r, launched = _launch(ec2)
    iid = launched["InstanceId"]
    with pytest.raises(SoapFailure) as failure:
        soap.call("ResetInstanceAttribute", instanceId=iid, kernel=_empty(soap))
    assert failure.value.faultcode == "Client.IncorrectInstanceState"
    ec2.client.stop_instances(InstanceIds=[iid])
    ec2.client.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert getattr(soap.call("ResetInstanceAttribute", instanceId=iid, ramdisk=_empty(soap)), "return") is True
    protected = soap.call("RunInstances", imageId=template_id(gateway_server), minCount=1, maxCount=1,
                          groupSet={"item": []}, instanceType="m1.small", disableApiTermination=True)
    new_id = protected.instancesSet.item[0].instanceId
    assert _protected(ec2, new_id) is True
    with pytest.raises(SoapFailure) as failure:
        soap.call("TerminateInstances", instancesSet={"item": [{"instanceId": new_id}]})
    assert failure.value.faultcode == "Client.OperationNotPermitted"


# -- ClientToken ----------------------------------------------------------------------------------------------------

def test_client_token_makes_run_instances_idempotent(gateway_server: GatewayServer, new_user: Callable[[], Keys],
                                                     ec2_of: Any) -> None:
    keys = new_user()
    ec2, cli, boto2 = ec2_of("boto3", keys), ec2_of("awscli", keys), ec2_of("boto2", keys)
    image = template_id(gateway_server)
    token = f"deploy-{uuid.uuid4()}"
    first = ec2.client.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="m1.small",
                                     ClientToken=token)
    ids = sorted(i["InstanceId"] for i in first["Instances"])
    again = ec2.client.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="m1.small",
                                     ClientToken=token)
    assert again["ReservationId"] == first["ReservationId"]
    assert sorted(i["InstanceId"] for i in again["Instances"]) == ids
    by_cli = cli.cli("run-instances", "--image-id", image, "--count", "2", "--instance-type", "m1.small",
                     "--client-token", token)
    assert (by_cli["ReservationId"], sorted(i["InstanceId"] for i in by_cli["Instances"])) == (
        first["ReservationId"], ids)
    listed = sorted(i["InstanceId"] for r in ec2.client.describe_instances()["Reservations"] for i in r["Instances"])
    assert listed == ids  # no second launch
    code, _message = _error(lambda: ec2.client.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                                            InstanceType="m1.small", ClientToken=token))
    assert code == "IdempotentParameterMismatch"
    with pytest.raises(Exception) as failure:
        boto2.conn.run_instances(image, min_count=2, max_count=2, instance_type="m1.medium", client_token=token)
    assert failure.value.error_code == "IdempotentParameterMismatch"
    # Another token, or none, launches again.
    other = ec2.client.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m1.small",
                                     ClientToken=token + "-2")
    assert other["ReservationId"] != first["ReservationId"]
    # The same token still names the same reservation after its instances were terminated.
    ec2.client.terminate_instances(InstanceIds=ids)
    ec2.client.get_waiter("instance_terminated").wait(InstanceIds=ids, WaiterConfig=FAST)
    late = ec2.client.run_instances(ImageId=image, MinCount=2, MaxCount=2, InstanceType="m1.small",
                                    ClientToken=token)
    assert late["ReservationId"] == first["ReservationId"]
    assert {i["State"]["Name"] for i in late["Instances"]} == {"terminated"}


def test_client_tokens_are_per_account_and_a_race_launches_once(
        gateway_server: GatewayServer, new_user: Callable[[], Keys], ec2_of: Any) -> None:
    one, two = ec2_of("boto3", new_user()), ec2_of("boto3", new_user())
    image = template_id(gateway_server)
    token = f"race-{uuid.uuid4()}"

    def launch(ec2: EC2Client) -> str:
        return ec2.client.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m1.small",
                                        ClientToken=token)["ReservationId"]
    with ThreadPoolExecutor(4) as pool:
        raced = list(pool.map(launch, [one] * 4))
    assert len(set(raced)) == 1
    assert len(one.client.describe_instances()["Reservations"][0]["Instances"]) == 1
    # Another account's same token is its own.
    assert launch(two) != raced[0]
    long_token = "x" * 65
    code, _message = _error(lambda: one.client.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                                            ClientToken=long_token))
    assert code == "InvalidParameterValue"



@pytest.mark.parametrize("wsdl", ["reference", "ours"])
def test_client_token_and_terminated_instances_over_soap(wsdl: str, gateway_server: GatewayServer,
                                                         new_user: Callable[[], Keys], ec2_of: Any,
                                                         in_reactor: Any, tmp_path: Any) -> None:
    keys = new_user()
    soap = _soap(wsdl, gateway_server, keys, in_reactor, tmp_path)
    ec2 = ec2_of("boto3", keys)
    token = f"soap-{uuid.uuid4()}"
    args = {"imageId": template_id(gateway_server), "minCount": 1, "maxCount": 1, "groupSet": {"item": []},
            "instanceType": "m1.small", "clientToken": token}
    first, again = soap.call("RunInstances", **args), soap.call("RunInstances", **args)
    assert again.reservationId == first.reservationId
    iid = first.instancesSet.item[0].instanceId
    assert again.instancesSet.item[0].instanceId == iid
    ec2.client.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    change, = soap.call("TerminateInstances", instancesSet={"item": [{"instanceId": iid}]}).instancesSet.item
    assert (change.previousState.name, change.currentState.name) == ("running", "shutting-down")
    ec2.client.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    reservation, = soap.call("DescribeInstances", instancesSet={"item": [{"instanceId": iid}]}).reservationSet.item
    gone, = reservation.instancesSet.item
    assert reservation.reservationId == first.reservationId
    assert (gone.instanceState.code, gone.instanceState.name) == (48, "terminated")
    assert gone.stateReason.code == "Client.UserInitiatedShutdown"
