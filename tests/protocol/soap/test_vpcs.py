"""VPCs and subnets over SOAP through both zeep clients (the reference 2010-11-15 WSDL and our ?wsdl), on a
server whose simulator has the advanced zone."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import GatewayServer, serve_gateway
from tests.protocol.soap.conftest import SoapClient
from tests.protocol.soap.test_families import items
from tests.protocol.soap.test_volume_lifecycle import _image, _instance, _until


@pytest.fixture(scope="module")
def gateway_server(tmp_path_factory: Any, reactor: Any, in_reactor: Callable[..., Any]) -> Iterator[GatewayServer]:
    """The module's server, its simulator with the advanced zone (zone2) next to the basic one."""
    yield from serve_gateway(tmp_path_factory, reactor, in_reactor, "soap-vpcs", simulator_advanced_zone=True)


def _vpc_state(soap: SoapClient, vpc_id: str) -> str:
    return items(soap.call("DescribeVpcs", vpcSet={"item": [{"vpcId": vpc_id}]}), "vpcSet")[0].state


def test_vpc_and_subnet_over_soap(soap: SoapClient) -> None:
    vpc = soap.call("CreateVpc", cidrBlock="10.60.0.0/16").vpc
    assert vpc.vpcId.startswith("vpc-") and vpc.state == "pending" and vpc.cidrBlock == "10.60.0.0/16"
    deadline = time.monotonic() + 20
    while _vpc_state(soap, vpc.vpcId) != "available":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    subnet = soap.call("CreateSubnet", vpcId=vpc.vpcId, cidrBlock="10.60.1.0/24", availabilityZone="zone2").subnet
    assert subnet.subnetId.startswith("subnet-") and subnet.vpcId == vpc.vpcId
    assert subnet.availableIpAddressCount == 251 and subnet.availabilityZone == "zone2"
    found = items(soap.call("DescribeSubnets", filterSet={"item": [
        {"name": "vpc-id", "valueSet": {"item": [{"value": vpc.vpcId}]}}]}), "subnetSet")
    assert [(s.subnetId, s.state) for s in found] == [(subnet.subnetId, "available")]
    failure = soap.failure("DeleteVpc", vpcId=vpc.vpcId)
    assert failure.code.endswith("DependencyViolation")
    assert soap.call("DeleteSubnet", subnetId=subnet.subnetId)["return"] is True
    assert soap.call("DeleteVpc", vpcId=vpc.vpcId)["return"] is True
    # What is left is the account's default VPC, made on the first DescribeVpcs.
    assert [v.cidrBlock for v in items(soap.call("DescribeVpcs", vpcSet={"item": []}), "vpcSet")] == [
        "172.31.0.0/16"]
    failure = soap.failure("DeleteSubnet", subnetId=subnet.subnetId)
    assert failure.code.endswith("InvalidSubnetID.NotFound")


def test_run_instances_in_a_subnet_over_soap(soap: SoapClient) -> None:
    vpc = soap.call("CreateVpc", cidrBlock="10.70.0.0/16").vpc
    _until(lambda: _vpc_state(soap, vpc.vpcId) == "available")
    subnet = soap.call("CreateSubnet", vpcId=vpc.vpcId, cidrBlock="10.70.3.0/24").subnet
    run = soap.call("RunInstances", imageId=_image(soap), minCount=1, maxCount=1, groupSet={"item": []},
                    instanceType="m1.small", subnetId=subnet.subnetId, privateIpAddress="10.70.3.30")
    made = run.instancesSet.item[0]
    assert (made.subnetId, made.vpcId, made.privateIpAddress) == (subnet.subnetId, vpc.vpcId, "10.70.3.30")
    found = _until(lambda: _instance(soap, made.instanceId))
    assert (found.subnetId, found.vpcId, found.placement.availabilityZone) == (subnet.subnetId, vpc.vpcId, "zone2")
    failure = soap.failure("RunInstances", imageId=_image(soap), minCount=1, maxCount=1, groupSet={"item": []},
                           instanceType="m1.small", subnetId=subnet.subnetId, privateIpAddress="10.71.0.9")
    assert failure.code.endswith("InvalidParameterValue")
    soap.call("TerminateInstances", instancesSet={"item": [{"instanceId": made.instanceId}]})
