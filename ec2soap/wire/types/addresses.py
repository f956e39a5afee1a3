"""Elastic IP shapes (EC2 2010-11-15: AllocateAddress, AssociateAddress, DisassociateAddress, ReleaseAddress,
DescribeAddresses). Domains, allocation and association ids came with EC2 API 2011-01-01 (VPC addresses)."""
from ec2soap.wire.inputs import In, request, soap_set
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, RESOURCE_TAG_SET, SOAP_FILTERS, tag_specifications

VPC_ADDRESSES = "2011-01-01"
PRIVATE_IP = "2011-12-15"
ADDRESS_TAGS = "2016-11-15"

ADDRESS_ITEM = Struct("DescribeAddressesResponseItemType", (
    field_("publicIp"), field_("instanceId", optional=True),
    field_("allocationId", optional=True, since=VPC_ADDRESSES), field_("domain", optional=True, since=VPC_ADDRESSES),
    field_("associationId", optional=True, since=VPC_ADDRESSES),
    field_("networkInterfaceId", optional=True, since=PRIVATE_IP),
    field_("networkInterfaceOwnerId", optional=True, since=PRIVATE_IP),
    field_("privateIpAddress", optional=True, since=PRIVATE_IP),
    field_("tagSet", RESOURCE_TAG_SET, attr="tags", optional=True, since=ADDRESS_TAGS)))

register("DescribeAddresses", Struct("DescribeAddressesResponseType", (
    REQUEST_ID, field_("addressesSet", ListOf("DescribeAddressesResponseInfoType", ADDRESS_ITEM), attr="."))))
register("AllocateAddress", Struct("AllocateAddressResponseType", (
    REQUEST_ID, field_("publicIp"), field_("domain", optional=True, since=VPC_ADDRESSES),
    field_("allocationId", optional=True, since=VPC_ADDRESSES))))
register("AssociateAddress", Struct("AssociateAddressResponseType", (
    REQUEST_ID, field_("return", "boolean", attr="ok"), field_("associationId", optional=True, since=VPC_ADDRESSES))))
register("DisassociateAddress", Struct("DisassociateAddressResponseType", (REQUEST_ID, RETURN)))
register("ReleaseAddress", Struct("ReleaseAddressResponseType", (REQUEST_ID, RETURN)))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
# EC2-Classic in 2010-11-15: addressed by public IP only (SOAP requires it); Query also takes the VPC ids.
request("DescribeAddresses", In("public_ips", "list", soap="publicIpsSet.publicIp"),
        In("allocation_ids", "list", query="AllocationId", default=[]), FILTERS, soap=(
            field_("publicIpsSet", soap_set("DescribeAddressesInfoType", "DescribeAddressesItemType",
                                            field_("publicIp"))), SOAP_FILTERS))
request("AllocateAddress", In("domain", query="Domain"), tag_specifications("tags", "elastic-ip"), soap=())
# AssociateAddress: Query takes a network interface (and one of its private addresses) instead of an instance.
request("AssociateAddress", In("instance_id", soap="instanceId", required="soap"),
        In("public_ip", soap="publicIp", required="soap"), In("allocation_id", query="AllocationId"),
        In("allow_reassociation", "bool", query="AllowReassociation"),
        In("network_interface_id", query="NetworkInterfaceId"), In("private_ip_address", query="PrivateIpAddress"),
        soap=(field_("publicIp"), field_("instanceId")))
request("DisassociateAddress", In("public_ip", soap="publicIp", required="soap"),
        In("association_id", query="AssociationId"), soap=(field_("publicIp"),))
request("ReleaseAddress", In("public_ip", soap="publicIp", required="soap"), In("allocation_id", query="AllocationId"),
        soap=(field_("publicIp"),))
