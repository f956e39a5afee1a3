"""EC2-VPC internet gateway shapes (EC2 2011-01-01, Query only: CreateInternetGateway, AttachInternetGateway,
DetachInternetGateway, DeleteInternetGateway, DescribeInternetGateways). ownerId and DescribeInternetGateways'
MaxResults/NextToken came later (named here under 2016-11-15, as the VPC shapes do)."""
from ec2soap.wire.inputs import In, request
from ec2soap.wire.shapes import REQUEST_ID, RETURN, ListOf, Struct, field_, register
from ec2soap.wire.types.common import FILTERS, PAGES, RESOURCE_TAG_SET, tag_specifications

_SINCE = "2011-01-01"

ATTACHMENT = Struct("InternetGatewayAttachmentType", (field_("vpcId"), field_("state")))
INTERNET_GATEWAY = Struct("InternetGatewayType", (
    field_("internetGatewayId"),
    field_("attachmentSet", ListOf("InternetGatewayAttachmentSetType", ATTACHMENT), attr="attachments"),
    field_("ownerId", optional=True, since="2016-11-15"),
    field_("tagSet", RESOURCE_TAG_SET, attr="tag_set", optional=True)))

register("CreateInternetGateway", Struct("CreateInternetGatewayResponseType", (
    REQUEST_ID, field_("internetGateway", INTERNET_GATEWAY, attr="."))))
register("AttachInternetGateway", Struct("AttachInternetGatewayResponseType", (REQUEST_ID, RETURN)))
register("DetachInternetGateway", Struct("DetachInternetGatewayResponseType", (REQUEST_ID, RETURN)))
register("DeleteInternetGateway", Struct("DeleteInternetGatewayResponseType", (REQUEST_ID, RETURN)))
register("DescribeInternetGateways", Struct("DescribeInternetGatewaysResponseType", (
    REQUEST_ID, field_("internetGatewaySet", ListOf("InternetGatewaySetType", INTERNET_GATEWAY),
                       attr="internet_gateways"),
    field_("nextToken", optional=True, since="2016-11-15"))))

# -- requests (wire/inputs.py) ------------------------------------------------------------------------------
_IGW = In("internet_gateway_id", query="InternetGatewayId", required=True)
_VPC = In("vpc_id", query="VpcId", required=True)
request("CreateInternetGateway", tag_specifications("tags", "internet-gateway"), since=_SINCE)
request("AttachInternetGateway", _IGW, _VPC, since=_SINCE)
request("DetachInternetGateway", _IGW, _VPC, since=_SINCE)
request("DeleteInternetGateway", _IGW, since=_SINCE)
request("DescribeInternetGateways", In("internet_gateway_ids", "list", query="InternetGatewayId"), FILTERS, *PAGES,
        since=_SINCE)
