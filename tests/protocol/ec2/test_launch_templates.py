"""RunInstances keeps the template it launches from for a few seconds (images.launch_templates): a write of that
template through this gateway (launch permission removed or given again, image deregistered) is seen by the very
next launch, through boto3 and awscli. TerminateInstances of several instances, and of one, answers each."""
from __future__ import annotations

from typing import Any

from tests.protocol.ec2.test_images import deregister, launch_permission, register, wait_state


def _launch(client: Any, image_id: str) -> str:
    made = client.client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)
    instance, = made["Instances"]
    assert instance["ImageId"] == image_id and instance["State"]["Name"] == "pending"
    return instance["InstanceId"]


def _refused(other: Any, other_cli: Any, image_id: str) -> None:
    with other.failure() as failure:
        other.client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)
    assert failure.value.code == "InvalidAMIID.NotFound"
    with other_cli.failure() as failure:
        other_cli.cli("run-instances", "--image-id", image_id, "--count", "1")
    assert failure.value.code == "InvalidAMIID.NotFound"


def test_the_next_launch_sees_this_gateways_writes_of_its_template(new_user: Any, ec2_of: Any) -> None:
    owner = ec2_of("boto3", new_user())
    other_keys = new_user()
    other, other_cli = ec2_of("boto3", other_keys), ec2_of("awscli", other_keys)
    image_id = register(owner, "launched-image")
    wait_state(owner, image_id, "available")
    launch_permission(owner, image_id, "add", users=[other_keys.account])
    first = _launch(other, image_id)
    # Kept for the other user now; taken away, the next launch is refused at once.
    launch_permission(owner, image_id, "remove", users=[other_keys.account])
    _refused(other, other_cli, image_id)
    launch_permission(owner, image_id, "add", users=[other_keys.account])
    second = _launch(other, image_id)
    cli_launched = other_cli.cli("run-instances", "--image-id", image_id, "--count", "1")["Instances"]
    assert [i["ImageId"] for i in cli_launched] == [image_id]
    # Several instances at once, then one: each answers shutting-down with the state it had.
    changes = other.client.terminate_instances(InstanceIds=[first, second])["TerminatingInstances"]
    assert [(c["InstanceId"], c["CurrentState"]["Name"]) for c in changes] == \
           [(first, "shutting-down"), (second, "shutting-down")]
    third = cli_launched[0]["InstanceId"]
    changes = other_cli.cli("terminate-instances", "--instance-ids", third)["TerminatingInstances"]
    assert [(c["InstanceId"], c["CurrentState"]["Name"]) for c in changes] == [(third, "shutting-down")]
    # The owner's own launch keeps it too; deregistered, neither user launches from it.
    mine = _launch(owner, image_id)
    deregister(owner, image_id)
    with owner.failure() as failure:
        owner.client.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)
    assert failure.value.code == "InvalidAMIID.NotFound"
    _refused(other, other_cli, image_id)
    owner.client.terminate_instances(InstanceIds=[mine])
