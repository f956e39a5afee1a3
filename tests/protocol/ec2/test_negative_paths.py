"""EC2's error codes on negative paths, through boto3, boto 2 and awscli: a malformed PublicIp, image attributes
of an image the caller does not own; and no Python repr in any error message."""
from __future__ import annotations

from typing import Any

from tests.protocol.conftest import EC2Client


def _describe_addresses(ec2: EC2Client, ip: str) -> Any:
    if ec2.kind == "boto3":
        return ec2.client.describe_addresses(PublicIps=[ip])
    if ec2.kind == "boto2":
        return ec2.conn.get_all_addresses(addresses=[ip])
    return ec2.cli("describe-addresses", "--public-ips", ip)


def _release(ec2: EC2Client, ip: str) -> Any:
    if ec2.kind == "boto3":
        return ec2.client.release_address(PublicIp=ip)
    if ec2.kind == "boto2":
        return ec2.conn.release_address(public_ip=ip)
    return ec2.cli("release-address", "--public-ip", ip)


def _public_image(ec2: EC2Client) -> str:
    boto3 = EC2Client("boto3", ec2.server, ec2.keys).client
    return sorted(boto3.describe_images()["Images"], key=lambda i: i["Name"])[0]["ImageId"]


def test_malformed_public_ip(ec2: EC2Client) -> None:
    for call in (_describe_addresses, _release):
        with ec2.failure() as failure:
            call(ec2, "not-an-ip")
        assert failure.value.code == "InvalidParameterValue", failure.value
        assert "not-an-ip" in failure.value.message
    # A well-formed address nobody has is still NotFound.
    with ec2.failure() as failure:
        _describe_addresses(ec2, "203.0.113.9")
    assert failure.value.code == "InvalidAddress.NotFound"


def test_image_attributes_of_an_image_the_caller_does_not_own(ec2: EC2Client) -> None:
    image = _public_image(ec2)
    calls = {
        "boto3": [lambda: ec2.client.describe_image_attribute(ImageId=image, Attribute="launchPermission"),
                  lambda: ec2.client.modify_image_attribute(ImageId=image, Description={"Value": "mine now"}),
                  lambda: ec2.client.reset_image_attribute(ImageId=image, Attribute="launchPermission")],
        "boto2": [lambda: ec2.conn.get_image_attribute(image, "launchPermission"),
                  lambda: ec2.conn.modify_image_attribute(image, "launchPermission", "add", groups=["all"]),
                  lambda: ec2.conn.reset_image_attribute(image)],
        "awscli": [lambda: ec2.cli("describe-image-attribute", "--image-id", image, "--attribute",
                                   "launchPermission"),
                   lambda: ec2.cli("modify-image-attribute", "--image-id", image, "--description",
                                   "Value=mine now"),
                   lambda: ec2.cli("reset-image-attribute", "--image-id", image, "--attribute",
                                   "launchPermission")],
    }[ec2.kind]
    for call in calls:
        with ec2.failure() as failure:
            call()
        assert failure.value.code == "AuthFailure", failure.value
        assert image in failure.value.message and "['" not in failure.value.message


def _tags_of_image(ec2: EC2Client, image: str) -> dict[str, str]:
    if ec2.kind == "boto2":
        return dict(ec2.conn.get_all_images(image_ids=[image])[0].tags)
    if ec2.kind == "boto3":
        found = ec2.client.describe_images(ImageIds=[image])["Images"]
    else:
        found = ec2.cli("describe-images", "--image-ids", image)["Images"]
    return {t["Key"]: t["Value"] for t in found[0].get("Tags", [])}


def test_tags_on_a_public_image_of_another_account(ec2: EC2Client, new_user: Any, ec2_of: Any) -> None:
    """EC2 lets anyone tag an AMI they may launch, and the tags are theirs alone; CloudStack refuses, so the
    gateway keeps them."""
    image = _public_image(ec2)
    if ec2.kind == "boto3":
        ec2.client.create_tags(Resources=[image], Tags=[{"Key": "use", "Value": "base"}, {"Key": "x", "Value": "1"}])
    elif ec2.kind == "boto2":
        assert ec2.conn.create_tags([image], {"use": "base", "x": "1"}) is True
    else:
        ec2.cli("create-tags", "--resources", image, "--tags", "Key=use,Value=base", "Key=x,Value=1")
    assert _tags_of_image(ec2, image) == {"use": "base", "x": "1"}
    boto3 = EC2Client("boto3", ec2.server, ec2.keys).client
    seen = boto3.describe_tags(Filters=[{"Name": "resource-id", "Values": [image]}])["Tags"]
    assert {(t["ResourceType"], t["Key"], t["Value"]) for t in seen} == {("image", "use", "base"), ("image", "x", "1")}
    assert [i["ImageId"] for i in boto3.describe_images(Filters=[{"Name": "tag:use", "Values": ["base"]}])[
        "Images"]] == [image]
    # Another caller sees none of them.
    other = ec2_of("boto3", new_user()).client
    assert "Tags" not in other.describe_images(ImageIds=[image])["Images"][0]
    assert other.describe_tags(Filters=[{"Name": "resource-id", "Values": [image]}])["Tags"] == []
    if ec2.kind == "boto3":
        ec2.client.delete_tags(Resources=[image], Tags=[{"Key": "x"}])
    elif ec2.kind == "boto2":
        assert ec2.conn.delete_tags([image], ["x"]) is True
    else:
        ec2.cli("delete-tags", "--resources", image, "--tags", "Key=x")
    assert _tags_of_image(ec2, image) == {"use": "base"}


def _create_interface(ec2: EC2Client) -> Any:
    if ec2.kind == "boto3":
        return ec2.client.create_network_interface(SubnetId="subnet-0123456789abcdef0")
    if ec2.kind == "boto2":
        return ec2.conn.create_network_interface("subnet-0123456789abcdef0")
    return ec2.cli("create-network-interface", "--subnet-id", "subnet-0123456789abcdef0")


def test_a_refused_action_says_why(ec2: EC2Client) -> None:
    """UnsupportedOperation names the reason when the cloud is why (errors.WHY_UNSUPPORTED)."""
    with ec2.failure() as failure:
        _create_interface(ec2)
    assert failure.value.code == "UnsupportedOperation"
    assert "CreateNetworkInterface" in failure.value.message
    assert "no network interface apart from an instance" in failure.value.message
