"""Placement groups over SOAP through both zeep clients (the reference 2010-11-15 WSDL and our ?wsdl)."""
from __future__ import annotations

from tests.protocol.soap.conftest import SoapClient
from tests.protocol.soap.test_families import items


def test_placement_groups_over_soap(soap: SoapClient) -> None:
    assert soap.call("CreatePlacementGroup", groupName="soap-spread", strategy="spread")["return"] is True
    assert soap.call("CreatePlacementGroup", groupName="soap-cluster", strategy="cluster")["return"] is True
    found = items(soap.call("DescribePlacementGroups", placementGroupSet={"item": [{"groupName": "soap-spread"}]}),
                  "placementGroupSet")
    assert [(g.groupName, g.strategy, g.state) for g in found] == [("soap-spread", "spread", "available")]
    found = items(soap.call("DescribePlacementGroups", placementGroupSet={"item": []}, filterSet={"item": [
        {"name": "strategy", "valueSet": {"item": [{"value": "cluster"}]}}]}), "placementGroupSet")
    assert [g.groupName for g in found] == ["soap-cluster"]
    failure = soap.failure("CreatePlacementGroup", groupName="soap-spread", strategy="spread")
    assert failure.code.endswith("InvalidPlacementGroup.Duplicate")
    failure = soap.failure("CreatePlacementGroup", groupName="soap-partition", strategy="partition")
    assert failure.code.endswith("InvalidParameterValue")
    for name in ("soap-spread", "soap-cluster"):
        assert soap.call("DeletePlacementGroup", groupName=name)["return"] is True
    assert items(soap.call("DescribePlacementGroups", placementGroupSet={"item": []}), "placementGroupSet") == []
    failure = soap.failure("DeletePlacementGroup", groupName="soap-spread")
    assert failure.code.endswith("InvalidPlacementGroup.Unknown")
