"""Unit tests of the volume/snapshot mappings that need no CloudStack: device names, states, sizes, shapes."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ec2soap.core.model import GIB, Tag
from ec2soap.core.snapshots import Snapshot, SnapshotPage, snapshot_status
from ec2soap.core.volumes import Attachment, Volume, VolumePage, device_id, device_name, gib, volume_status
from ec2soap.errors import EC2Error
from ec2soap.wire import types  # noqa: F401  (registers the shapes)
from ec2soap.wire.shapes import render_document


@pytest.mark.parametrize("name, number", [
    ("/dev/sdb", 1), ("/dev/xvdb", 1), ("sdb", 1), ("xvdc", 2), ("/dev/sdd", 3), ("/dev/xvdd", 3),
    ("/dev/sde", 4), ("/dev/sdj", 9), ("/dev/sdz", 25), ("/dev/sda1", 0), ("/dev/xvda", 0)])
def test_device_ids(name: str, number: int) -> None:
    assert device_id(name) == number


@pytest.mark.parametrize("name", ["", "/dev/floppy", "/dev/sdb1", "/dev/hdb", "/dev/sdaa", "sd"])
def test_bad_device_names(name: str) -> None:
    with pytest.raises(EC2Error) as failure:
        device_id(name)
    assert failure.value.code == "InvalidParameterValue"


def test_device_names_round_trip() -> None:
    assert device_name(0) == "/dev/sda1"
    assert device_name("3") == "/dev/sdd"
    assert [device_id(device_name(n)) for n in range(1, 26)] == list(range(1, 26))
    assert device_name(None) == ""


@pytest.mark.parametrize("cs, command, status", [
    ({"state": "Allocated"}, None, "available"),
    ({"state": "Allocated"}, "CreateVolume", "creating"),
    ({"state": "Allocated"}, "AttachVolume", "available"),
    ({"state": "Ready"}, None, "available"),
    ({"state": "Ready", "virtualmachineid": "x"}, None, "in-use"),
    ({"state": "Snapshotting", "virtualmachineid": "x"}, None, "in-use"),
    ({"state": "Creating"}, None, "creating"),
    ({"state": "Destroy"}, None, "deleting"),
    ({"state": "Expunging"}, None, "deleting"),
    ({"state": "UploadError"}, None, "error"),
    ({}, None, "error"),
])
def test_volume_status(cs: dict, command: str | None, status: str) -> None:
    assert volume_status(cs, command) == status


@pytest.mark.parametrize("state, expected", [
    ("BackedUp", ("completed", "100%")), ("Creating", ("pending", "33%")), ("BackingUp", ("pending", "66%")),
    ("Allocated", ("pending", "0%")), ("Error", ("error", "0%"))])
def test_snapshot_status(state: str, expected: tuple[str, str]) -> None:
    assert snapshot_status(state) == expected


def test_sizes_round_up_to_gib() -> None:
    assert gib(5 * GIB) == 5 and gib(GIB + 1) == 2 and gib(None) == 0 and gib("junk") == 0


def _volume() -> Volume:
    when = datetime(2024, 5, 6, 7, 8, 9, tzinfo=timezone.utc)
    return Volume(volume_id="vol-1", size=5, snapshot_id="", availability_zone="zone1", status="in-use",
                  create_time=when, attachments=[Attachment("vol-1", "i-1", "/dev/sdb", "attached", when)],
                  tags=[Tag("Name", "data")])


def test_describe_volumes_document_by_version() -> None:
    old = render_document("DescribeVolumes", VolumePage([_volume()], "tok"), "r1", "2010-11-15").decode()
    assert "<snapshotId></snapshotId>" in old or "<snapshotId/>" in old
    assert "<deleteOnTermination>false</deleteOnTermination>" in old and "<key>Name</key>" in old
    assert "volumeType" not in old and "nextToken" not in old and "encrypted" not in old
    new = render_document("DescribeVolumes", VolumePage([_volume()], "tok"), "r1", "2016-11-15").decode()
    assert "<volumeType>standard</volumeType>" in new and "<nextToken>tok</nextToken>" in new
    assert "<encrypted>false</encrypted>" in new
    # tagSet is left out when there are no tags, as EC2 does.
    bare = _volume()
    bare.tags = []
    assert "tagSet" not in render_document("DescribeVolumes", VolumePage([bare]), "r1", "2016-11-15").decode()


def test_snapshot_documents() -> None:
    snap = Snapshot(snapshot_id="snap-1", volume_id="vol-1", status="pending", start_time=None, progress="33%",
                    owner_id="acct", volume_size=5, description="d")
    text = render_document("DescribeSnapshots", SnapshotPage([snap]), "r1", "2010-11-15").decode()
    assert "<description>d</description>" in text and "<progress>33%</progress>" in text
    assert "ownerAlias" not in text and "tagSet" not in text
    made = render_document("CreateSnapshot", snap, "r1", "2014-10-01").decode()
    assert "<snapshotId>snap-1</snapshotId>" in made and "<encrypted>false</encrypted>" in made


def test_only_unallocated_data_volumes_hold_only_zeros() -> None:
    from ec2soap.core.zero_snapshots import holds_only_zeros

    assert holds_only_zeros({"type": "DATADISK", "state": "Allocated"})
    assert not holds_only_zeros({"type": "DATADISK", "state": "Ready"})
    # A root volume gets its template at first start; a volume from a snapshot gets the snapshot's data.
    assert not holds_only_zeros({"type": "ROOT", "state": "Allocated"})
    assert not holds_only_zeros({"type": "DATADISK", "state": "Allocated", "snapshotid": "a-snapshot"})
