"""Core images, zones and registration choices against the in-process simulator and an IdMap on SQLite."""
from __future__ import annotations

from typing import Any, Callable

import pytest

from ec2soap.cloudstack.client import CloudStackClient, InProcessTransport
from ec2soap.core import image_sources, images, zones
from ec2soap.core.context import RequestContext
from ec2soap.core.filters import Filter
from ec2soap.errors import EC2Error
from ec2soap.store.ids import IdMap


@pytest.mark.parametrize("url, expected", [
    ("http://x/a/ubuntu.qcow2", "QCOW2"), ("https://x/disk.vhd.bz2", "VHD"), ("http://x/appliance.ova?sig=1", "OVA"),
    ("http://x/raw.img.gz", "RAW"), ("http://x/disk.vmdk", "VMDK"), ("http://x/image", None),
    ("http://x/archive.zip", None),
])
def test_format_of_url(url: str, expected: str | None) -> None:
    assert image_sources.format_of_url(url) == expected


OSTYPES = [{"id": str(i), "description": d} for i, d in enumerate(
    ["CentOS 5.6 (64-bit)", "CentOS 7", "Ubuntu 22.04 LTS", "Ubuntu 20.04 LTS", "Windows Server 2019 (64-bit)",
     "Other Linux (64-bit)", "Other (64-bit)"])]


@pytest.mark.parametrize("text, expected", [
    ("ubuntu-20.04-minimal", "Ubuntu 20.04 LTS"), ("My Ubuntu 22.04 build", "Ubuntu 22.04 LTS"),
    ("centos 7 web", "CentOS 7"), ("windows 2019 sql", "Windows Server 2019 (64-bit)"), ("debian 12", None),
])
def test_best_os_type(text: str, expected: str | None) -> None:
    found = image_sources.best_os_type(OSTYPES, text)
    assert (found or {}).get("description") == expected


@pytest.fixture
def run(sim: Any, store: Any, in_reactor: Callable[..., Any], reactor: Any) -> Callable[..., Any]:
    """run(fn, **kwargs) → fn(ctx, **kwargs) as the demo user, driven in the reactor."""
    demo = sim.users["demo"]
    ids = IdMap(store)

    def call(fn: Callable[..., Any], **kwargs: Any) -> Any:
        cloud = CloudStackClient(InProcessTransport(sim, reactor=reactor), demo["apikey"], demo["secretkey"],
                                 poll_interval=0.05, job_wait=10, clock=reactor)
        ctx = RequestContext(request_id="test", access_key=demo["apikey"], cloud=cloud, ids=ids, offerings=None)
        return in_reactor(fn, ctx, **kwargs)
    return call


def test_describe_images_pages_and_dedups(run: Callable[..., Any]) -> None:
    everything = list(run(images.describe_images))
    assert len(everything) == len({i.image_id for i in everything}) == 4
    run(images.register_image, name="ubuntu-20.04-a", image_location="http://x/a.qcow2")
    run(images.register_image, name="ubuntu-20.04-b", image_location="http://x/b.qcow2")
    first = run(images.describe_images, max_results=5)
    assert len(first.images) == 5 and first.next_token
    rest = run(images.describe_images, max_results=5, next_token=first.next_token)
    assert len(rest.images) == 1 and rest.next_token is None
    with pytest.raises(EC2Error) as failure:
        run(images.describe_images, max_results=2)
    assert failure.value.code == "InvalidParameterValue"


def test_register_picks_format_zone_os_type_and_hypervisor(run: Callable[..., Any], sim: Any) -> None:
    image_id = run(images.register_image, name="ubuntu-20.04-tools", image_location="http://x/u.vhd.bz2",
                   architecture="i386")
    image = run(images.describe_images, image_ids=[image_id]).images[0]
    assert (image.architecture, image.hypervisor, image.image_state) == ("i386", "simulator", "pending")
    from tests.conftest import cs
    status, found = cs(sim, "demo", "listTemplates", templatefilter="self", id=image.cs_id)
    assert status == 200
    template = found["template"][0]
    assert (template["format"], template["zonename"], template["ostypename"]) == \
           ("VHD", "zone1", "Ubuntu 20.04 LTS")


def test_register_unknown_os_type_or_hypervisor(run: Callable[..., Any]) -> None:
    for architecture, code in (("QCOW2:zone1:BeOS 5:", "InvalidParameterValue"),
                               ("QCOW2:zone1::VMware", "InvalidParameterValue"),
                               ("ISO:::", "InvalidParameterValue"), ("sparc", "InvalidParameterValue")):
        with pytest.raises(EC2Error) as failure:
            run(images.register_image, name="x-image", image_location="http://x/a.qcow2", architecture=architecture)
        assert failure.value.code == code, architecture


def test_zone_filters_and_regions(run: Callable[..., Any]) -> None:
    found = run(zones.describe_availability_zones, filters=[Filter("zone-name", ("ZONE1",))])
    assert found == []  # filters are exact (with wildcards); only ZoneName.N ignores case
    assert [z.zone_name for z in run(zones.describe_availability_zones, zone_names=["Zone1", "zone1"])] == \
           ["zone1"]
    regions = run(zones.describe_regions)
    assert [(r.region_name, r.region_endpoint) for r in regions] == [("cloudstack", "")]
