"""VPCs and subnets over SOAP through both zeep clients (the reference 2010-11-15 WSDL and our ?wsdl), on a
server whose simulator has the advanced zone."""
from __future__ import annotations

import time
from typing import Any, Callable, Iterator

import pytest

from tests.protocol.conftest import GatewayServer, serve_gateway
from tests.protocol.soap.conftest import SoapClient
from tests.protocol.soap.test_families import items


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
    assert items(soap.call("DescribeVpcs", vpcSet={"item": []}), "vpcSet") == []
    failure = soap.failure("DeleteSubnet", subnetId=subnet.subnetId)
    assert failure.code.endswith("InvalidSubnetID.NotFound")
