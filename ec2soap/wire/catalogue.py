"""One catalogue of the EC2 actions we know: implemented (a request shape in REQUESTS and a response shape in
RESPONSES; the core's OPERATIONS runs it), or known but not implemented, each with the API version it appeared
in; and the original awsapi's own actions (core/extensions.py, answered by query/extensions.py).

Both doors and the WSDL read it: an action we know but do not implement is UnsupportedOperation, any other
name InvalidAction (as EC2 answers for names it does not know); SOAP offers the 2010-11-15 actions only, and
publishes the implemented ones in its WSDL. tests/unit/wire/test_catalogue.py holds the 2010-11-15 entries to
the reference WSDL and the later ones to botocore's model.
"""
from __future__ import annotations

from dataclasses import dataclass

from ec2soap.wire import types as _types  # noqa: F401  (registers every request and response shape)
from ec2soap.wire.inputs import REQUESTS
from ec2soap.wire.shapes import BASE_VERSION, RESPONSES

__all__ = ["Entry", "CATALOGUE", "UNSUPPORTED", "EXTENSIONS", "entry", "implemented", "soap_actions"]

# Known actions by the API version each first appeared in (2010-11-15: the operations of the WSDL we serve;
# later ones from EC2's release notes, roughly: the month's API version). An action listed here that has a
# request shape is implemented (its shape's `since` must agree); the rest are UnsupportedOperation. So a family
# that implements an action adds its shapes and never edits this table.
_KNOWN_BY_VERSION = {
    BASE_VERSION: """
        ActivateLicense AssociateDhcpOptions AttachVpnGateway BundleInstance CancelBundleTask CancelConversionTask
        CancelSpotInstanceRequests ConfirmProductInstance CreateCustomerGateway CreateDhcpOptions
        CreatePlacementGroup CreateSpotDatafeedSubscription CreateVpnConnection
        CreateVpnGateway DeactivateLicense DeleteCustomerGateway DeleteDhcpOptions DeletePlacementGroup
        DeleteSpotDatafeedSubscription DeleteVpnConnection DeleteVpnGateway
        DescribeBundleTasks DescribeConversionTasks DescribeCustomerGateways DescribeDhcpOptions DescribeLicenses
        DescribePlacementGroups DescribeReservedInstances DescribeReservedInstancesOfferings
        DescribeSnapshotAttribute DescribeSpotDatafeedSubscription DescribeSpotInstanceRequests
        DescribeSpotPriceHistory DescribeVpnConnections DescribeVpnGateways
        DetachVpnGateway ImportInstance ImportVolume ModifySnapshotAttribute MonitorInstances
        PurchaseReservedInstancesOffering RequestSpotInstances ResetSnapshotAttribute UnmonitorInstances""",
    "2011-01-01": """
        CreateInternetGateway DeleteInternetGateway AttachInternetGateway DetachInternetGateway
        DescribeInternetGateways CreateRouteTable DeleteRouteTable DescribeRouteTables CreateRoute ReplaceRoute
        DeleteRoute AssociateRouteTable DisassociateRouteTable ReplaceRouteTableAssociation CreateNetworkAcl
        DeleteNetworkAcl DescribeNetworkAcls CreateNetworkAclEntry ReplaceNetworkAclEntry DeleteNetworkAclEntry
        ReplaceNetworkAclAssociation""",
    "2011-12-15": """
        CreateNetworkInterface DeleteNetworkInterface DescribeNetworkInterfaces AttachNetworkInterface
        DetachNetworkInterface DescribeNetworkInterfaceAttribute ModifyNetworkInterfaceAttribute
        DescribeVolumeStatus DescribeVolumeAttribute ModifyVolumeAttribute EnableVolumeIO""",
    "2012-07-20": "AssignPrivateIpAddresses UnassignPrivateIpAddresses",
    "2012-05-01": "CreateInstanceExportTask DescribeExportTasks",
    "2012-08-15": "DescribeReservedInstancesListings",
    "2012-12-01": "CopySnapshot DescribeVpcAttribute ModifyVpcAttribute",
    "2013-02-01": "CopyImage",
    "2016-11-15": "DescribeSecurityGroupRules DescribeInstanceTypes DescribeLaunchTemplates CreateLaunchTemplate",
}
_KNOWN: dict[str, str] = {action: version for version, names in _KNOWN_BY_VERSION.items() for action in names.split()}
# Known, not implemented.
UNSUPPORTED: dict[str, str] = {action: version for action, version in _KNOWN.items() if action not in REQUESTS}

# The original awsapi's own actions (core/extensions.py; Query only, none of them an EC2 action).
EXTENSIONS = frozenset({"CloudEC2Version", "SetUserKeys", "SetCertificate", "DeleteCertificate", "SetOfferMapping",
                        "DeleteOfferMapping"})


@dataclass(frozen=True)
class Entry:
    """STATUS: "implemented", "unsupported" or "extension". SINCE: the API version it appeared in (None for an
    extension). SOAP: whether the SOAP door (2010-11-15) offers it."""
    action: str
    status: str
    since: str | None

    @property
    def soap(self) -> bool:
        return self.since == BASE_VERSION and (self.status != "implemented" or REQUESTS[self.action].soap is not None)


def _build() -> dict[str, Entry]:
    table: dict[str, Entry] = {}
    for action, shape in REQUESTS.items():
        if action not in RESPONSES:
            raise ValueError(f"{action} has a request shape and no response shape")
        table[action] = Entry(action, "implemented", shape.since)
    for action, since in _KNOWN.items():
        if action in table:
            if table[action].since != since:
                raise ValueError(f"{action}: its request shape says {table[action].since}, the catalogue {since}")
            continue
        table[action] = Entry(action, "unsupported", since)
    for action in EXTENSIONS:
        if action in table:
            raise ValueError(f"{action} is both an EC2 action and an extension")
        table[action] = Entry(action, "extension", None)
    return table


CATALOGUE: dict[str, Entry] = _build()


def entry(action: str) -> Entry | None:
    return CATALOGUE.get(action)


def implemented(action: str) -> bool:
    found = CATALOGUE.get(action)
    return found is not None and found.status == "implemented"


def soap_actions() -> list[str]:
    """The implemented actions SOAP exposes (and its WSDL publishes): those of 2010-11-15."""
    return sorted(a for a, e in CATALOGUE.items() if e.status == "implemented" and e.soap)
