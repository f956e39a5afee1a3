"""Query bindings for Elastic IPs."""
from ec2soap.query.bindings.volumes import tag_specifications
from ec2soap.query.params import QueryParams

BINDINGS = {
    "DescribeAddresses": lambda p: {"public_ips": p.list("PublicIp"), "allocation_ids": p.list("AllocationId"),
                                    "filters": p.filters()},
    "AllocateAddress": lambda p: {"domain": p.str("Domain"), "tags": tag_specifications(p, "elastic-ip")},
    "AssociateAddress": lambda p: {"instance_id": p.str("InstanceId", required=True), "public_ip": p.str("PublicIp"),
                                   "allocation_id": p.str("AllocationId"),
                                   "allow_reassociation": p.bool("AllowReassociation")},
    "DisassociateAddress": lambda p: {"public_ip": p.str("PublicIp"), "association_id": p.str("AssociationId")},
    "ReleaseAddress": lambda p: {"public_ip": p.str("PublicIp"), "allocation_id": p.str("AllocationId")},
}

__all__ = ["BINDINGS", "QueryParams"]
