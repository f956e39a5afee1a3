"""EC2-VPC network interface shapes: DescribeNetworkInterfaces (API 2011-12-15), AssignPrivateIpAddresses and
UnassignPrivateIpAddresses (2012-07-20). Query only: none of them is in the 2010-11-15 WSDL. The Assign answer's
networkInterfaceId and assignedPrivateIpAddressesSet came later than `return` (named here under 2016-11-15)."""
from ec2soap.wire.inputs import In, request
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, PAGES, RESOURCE_TAG_SET

INTERFACES = "2011-12-15"
PRIVATE_IPS = "2012-07-20"
LATER = "2016-11-15"

ASSOCIATION = Struct("NetworkInterfaceAssociationType", (
    field_("publicIp"), field_("publicDnsName", optional=True), field_("ipOwnerId"),
    field_("allocationId", optional=True), field_("associationId", optional=True)))
ATTACHMENT = Struct("NetworkInterfaceAttachmentType", (
    field_("attachmentId"), field_("instanceId", optional=True), field_("instanceOwnerId", optional=True),
    field_("deviceIndex", "int"), field_("status"), field_("attachTime", "dateTime", optional=True),
    field_("deleteOnTermination", "boolean")))
GROUP = Struct("NetworkInterfaceGroupItemType", (field_("groupId"), field_("groupName")))
PRIVATE_IP = Struct("NetworkInterfacePrivateIpAddressesSetItemType", (
    field_("privateIpAddress"), field_("privateDnsName", optional=True), field_("primary", "boolean"),
    field_("association", ASSOCIATION, optional=True)))

INTERFACE = Struct("NetworkInterfaceType", (
    field_("networkInterfaceId"), field_("subnetId"), field_("vpcId"), field_("availabilityZone"),
    field_("description"), field_("ownerId"), field_("requesterManaged", "boolean"), field_("status"),
    field_("macAddress"), field_("privateIpAddress"), field_("sourceDestCheck", "boolean"),
    field_("groupSet", ListOf("NetworkInterfaceGroupSetType", GROUP), attr="groups"),
    field_("attachment", ATTACHMENT, optional=True), field_("association", ASSOCIATION, optional=True),
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True),
    field_("privateIpAddressesSet", ListOf("NetworkInterfacePrivateIpAddressesSetType", PRIVATE_IP),
           attr="private_ip_addresses", optional=True, since=PRIVATE_IPS),
    field_("interfaceType", optional=True, since=LATER)))

register("DescribeNetworkInterfaces", Struct("DescribeNetworkInterfacesResponseType", (
    REQUEST_ID, field_("networkInterfaceSet", ListOf("NetworkInterfaceSetType", INTERFACE),
                       attr="network_interfaces"),
    field_("nextToken", optional=True, since=LATER))))
register("AssignPrivateIpAddresses", Struct("AssignPrivateIpAddressesResponseType", (
    REQUEST_ID, field_("return", "boolean", attr="ok"),
    field_("networkInterfaceId", optional=True, since=LATER),
    field_("assignedPrivateIpAddressesSet", ListOf("AssignedPrivateIpAddressesSetType", Struct(
        "AssignedPrivateIpAddressesSetItemType", (field_("privateIpAddress"),))),
        attr="assigned_private_ip_addresses", optional=True, since=LATER))))
register("UnassignPrivateIpAddresses", Struct("UnassignPrivateIpAddressesResponseType", (REQUEST_ID, RETURN)))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
request("DescribeNetworkInterfaces", In("network_interface_ids", "list", query="NetworkInterfaceId", default=[]),
        FILTERS, *PAGES, since=INTERFACES)
request("AssignPrivateIpAddresses", In("network_interface_id", query="NetworkInterfaceId", required=True),
        In("private_ip_addresses", "list", query="PrivateIpAddress", default=[]),
        In("secondary_private_ip_address_count", "int", query="SecondaryPrivateIpAddressCount"),
        In("allow_reassignment", "bool", query="AllowReassignment"), since=PRIVATE_IPS)
request("UnassignPrivateIpAddresses", In("network_interface_id", query="NetworkInterfaceId", required=True),
        In("private_ip_addresses", "list", query="PrivateIpAddress", default=[]), since=PRIVATE_IPS)
