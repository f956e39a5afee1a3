"""Parity: for the same user and state, SOAP (zeep, our WSDL) and Query (boto3) return the same data."""
from __future__ import annotations

from typing import Any

import pytest

from tests.protocol.conftest import EC2Client
from tests.protocol.soap.conftest import SoapClient


@pytest.fixture
def both(gateway_server: Any, register_soap_user: Any) -> tuple[SoapClient, EC2Client]:
    keys, key_file, cert_file = register_soap_user()
    return SoapClient("ours", gateway_server, keys, key_file, cert_file), EC2Client("boto3", gateway_server, keys)


def soap_items(answer: Any, name: str) -> list[Any]:
    holder = getattr(answer, name)
    return list(holder.item) if holder is not None and holder.item else []


def test_same_data_over_soap_and_query(both: tuple[SoapClient, EC2Client]) -> None:
    soap, query = both
    query.client.create_key_pair(KeyName="from-query")
    soap.call("CreateKeyPair", keyName="from-soap")
    soap.call("CreateSecurityGroup", groupName="shared", groupDescription="both doors")
    query.client.authorize_security_group_ingress(GroupName="shared", IpProtocol="tcp", FromPort=22, ToPort=22,
                                                  CidrIp="10.0.0.0/8")

    over_soap = {k.keyName: k.keyFingerprint for k in soap_items(soap.call("DescribeKeyPairs", keySet={"item": []}),
                                                                 "keySet")}
    over_query = {k["KeyName"]: k["KeyFingerprint"] for k in query.client.describe_key_pairs()["KeyPairs"]}
    assert over_soap == over_query and set(over_soap) == {"from-query", "from-soap"}

    zones_soap = [(z.zoneName, z.zoneState, z.regionName) for z in soap_items(
        soap.call("DescribeAvailabilityZones", availabilityZoneSet={"item": []}), "availabilityZoneInfo")]
    zones_query = [(z["ZoneName"], z["State"], z["RegionName"])
                   for z in query.client.describe_availability_zones()["AvailabilityZones"]]
    assert zones_soap == zones_query

    groups_soap = {g.groupName: (g.ownerId, g.groupDescription,
                                 [(p.ipProtocol, p.fromPort, p.toPort, [r.cidrIp for r in soap_items(p, "ipRanges")])
                                  for p in soap_items(g, "ipPermissions")])
                   for g in soap_items(soap.call("DescribeSecurityGroups", securityGroupSet={"item": []}),
                                       "securityGroupInfo")}
    groups_query = {g["GroupName"]: (g["OwnerId"], g["Description"],
                                     [(p["IpProtocol"], p.get("FromPort"), p.get("ToPort"),
                                       [r["CidrIp"] for r in p["IpRanges"]]) for p in g["IpPermissions"]])
                    for g in query.client.describe_security_groups()["SecurityGroups"]}
    assert groups_soap == groups_query and "shared" in groups_soap

    images_soap = {i.imageId: (i.imageState, i.imageOwnerId, i.isPublic, i.name)
                   for i in soap_items(soap.call("DescribeImages", imagesSet={"item": []}), "imagesSet")}
    images_query = {i["ImageId"]: (i["State"], i["OwnerId"], i["Public"], i.get("Name"))
                    for i in query.client.describe_images()["Images"]}
    assert images_soap == images_query and images_soap
