"""The EC2 error hierarchy, protocol-neutral: each adapter picks the wire format (Query document, SOAP fault).

One class per EC2 error code; the class name is the code without its dots. Messages reuse EC2's wording,
because scripts grep for it. No Twisted, Spyne or lxml here.
"""
from __future__ import annotations

from typing import Any

__all__ = ["EC2Error", "ClientError", "ServerError", "ERRORS", "error_for_code", "unsupported", "WHY_UNSUPPORTED"]


class EC2Error(Exception):
    """An error EC2 clients understand. `code` goes on the wire; `status` is the Query HTTP status."""

    code = "InternalError"
    sender = "Server"
    status = 500
    template = "An internal error has occurred."

    def __init__(self, message: str | None = None, **fields: Any):
        self.fields = fields
        if message is None:
            try:
                message = self.template.format(**{k: _text(v) for k, v in fields.items()})
            except (KeyError, IndexError):
                message = self.template
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self)


def _text(value: Any) -> Any:
    """A message field as EC2 writes it: several values joined by commas, never a Python repr ([...], (...))."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return ", ".join(str(v) for v in (sorted(value, key=str) if isinstance(value, (set, frozenset)) else value))
    return value


class ClientError(EC2Error):
    sender, status = "Client", 400


class ServerError(EC2Error):
    sender, status = "Server", 500


# EC2 answers these with another status than 400.
_STATUS = {"AuthFailure": 401, "Blocked": 403, "SignatureDoesNotMatch": 403, "UnsupportedOperation": 400,
           "NoSuchEntity": 404, "DryRunOperation": 412}


def _client(code: str, template: str, status: int = 400) -> type[ClientError]:
    status = _STATUS.get(code, status)
    return type(code.replace(".", ""), (ClientError,), {"code": code, "template": template, "status": status,
                                                         "__module__": __name__})


def _server(code: str, template: str, status: int = 500) -> type[ServerError]:
    return type(code.replace(".", ""), (ServerError,), {"code": code, "template": template, "status": status,
                                                         "__module__": __name__})


# The catalogue: code, message template. Templates name their fields; a caller passes them as keywords.
_CLIENT = [
    ("AuthFailure", "AWS was not able to validate the provided access credentials"),
    ("Blocked", "The account is blocked: {reason}"),
    ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. "
                              "Check your AWS Secret Access Key and signing method."),
    ("RequestExpired", "Request has expired."),
    ("IncompleteSignature", "The request signature does not conform to AWS standards: {detail}"),
    ("MissingParameter", "The request must contain the parameter {name}"),
    ("MissingAction", "The request must contain the parameter Action"),
    ("InvalidAction", "The action {action} is not valid for this web service."),
    ("UnsupportedOperation", "The operation {action} is not supported by this gateway."),
    ("UnknownParameter", "The parameter {name} is not recognized"),
    ("DryRunOperation", "Request would have succeeded, but DryRun flag is set."),
    ("InvalidParameter", "{detail}"),
    ("InvalidParameterValue", "{detail}"),
    ("InvalidParameterCombination", "{detail}"),
    ("InvalidFilter", "The filter '{name}' is invalid"),
    ("FilterLimitExceeded", "The request uses too many filters or filter values."),
    ("InvalidPaginationToken", "The token '{token}' is invalid."),
    ("InvalidInstanceID.Malformed", "Invalid id: \"{instance_id}\""),
    ("InvalidInstanceID.NotFound", "The instance ID '{instance_id}' does not exist"),
    ("IncorrectInstanceState", "The instance '{instance_id}' is not in a state from which it can be {action}."),
    ("IncorrectState", "{detail}"),
    ("InstanceLimitExceeded", "Your quota allows for {allowed} more running instance(s). You requested at least "
                              "{requested}"),
    ("InvalidAMIID.Malformed", "Invalid id: \"{image_id}\""),
    ("InvalidAMIID.NotFound", "The image id '[{image_id}]' does not exist"),
    ("InvalidAMIID.Unavailable", "The image '{image_id}' is not available yet"),
    ("InvalidAMIAttributeItemValue", "{detail}"),
    ("InvalidAMIName.Duplicate", "AMI name {name} is already in use by AMI {image_id}"),
    ("InvalidManifest", "{detail}"),
    ("InvalidKeyPair.NotFound", "The key pair '{key_name}' does not exist"),
    ("InvalidKeyPair.Duplicate", "The keypair '{key_name}' already exists."),
    ("InvalidKeyPair.Format", "Key is not in valid OpenSSH public key format"),
    ("InvalidGroup.NotFound", "The security group '{group}' does not exist"),
    ("InvalidGroup.Duplicate", "The security group '{group}' already exists"),
    ("InvalidGroup.InUse", "There are active instances using security group '{group}'"),
    ("InvalidGroup.Reserved", "The security group '{group}' is reserved"),
    ("InvalidGroupId.Malformed", "Invalid id: \"{group}\""),
    ("InvalidPermission.Duplicate", "the specified rule \"{rule}\" already exists"),
    ("InvalidPermission.NotFound", "The specified rule does not exist in this security group."),
    ("InvalidPermission.Malformed", "{detail}"),
    ("CannotDelete", "the specified group: \"{group}\" name cannot be deleted"),
    ("InvalidVolumeID.Malformed", "Invalid id: \"{volume_id}\""),
    ("InvalidVolume.NotFound", "The volume '{volume_id}' does not exist."),
    ("InvalidVolume.ZoneMismatch", "The volume '{volume_id}' is not in the same availability zone as instance "
                                   "'{instance_id}'"),
    ("VolumeInUse", "Volume {volume_id} is currently attached to {instance_id}"),
    ("InvalidAttachment.NotFound", "The volume '{volume_id}' is not attached{detail}"),
    ("InvalidDevice.InUse", "The device '{device}' is in use."),
    ("AttachmentLimitExceeded", "The instance '{instance_id}' has no free slot for another volume."),
    ("InvalidSnapshotID.Malformed", "Invalid id: \"{snapshot_id}\""),
    ("InvalidSnapshot.NotFound", "The snapshot '{snapshot_id}' does not exist."),
    ("InvalidSnapshot.InUse", "The snapshot {snapshot_id} is currently in use by {user}"),
    ("InvalidZone.NotFound", "The zone '{zone}' does not exist."),
    ("InvalidAddress.NotFound", "Address '{address}' not found."),
    ("InvalidAllocationID.NotFound", "The allocation ID '{allocation_id}' does not exist"),
    ("InvalidAssociationID.NotFound", "The association ID '{association_id}' does not exist"),
    ("InvalidIPAddress.InUse", "Address {address} is in use."),
    ("Resource.AlreadyAssociated", "resource {address} is already associated with associate-id "
                                   "{association_id}"),
    ("AuthFailure.ServiceLinkedRoleCreationNotPermitted", "{detail}"),
    ("InvalidRegion", "The region '{region}' does not exist."),
    ("InvalidID", "The ID '{resource_id}' is not valid"),
    ("InvalidInstanceType", "The instance type '{instance_type}' does not exist."),
    ("AddressLimitExceeded", "The maximum number of addresses has been reached."),
    ("VolumeLimitExceeded", "You have exceeded your maximum volume limit."),
    ("SnapshotLimitExceeded", "The maximum number of snapshots has been reached."),
    ("ResourceLimitExceeded", "{detail}"),
    ("TagLimitExceeded", "{detail}"),
    ("DependencyViolation", "{detail}"),
    ("InvalidVpcID.NotFound", "The vpc ID '{vpc_id}' does not exist"),
    ("InvalidSubnetID.NotFound", "The subnet ID '{subnet_id}' does not exist"),
    ("InvalidVpc.Range", "The CIDR '{cidr}' is invalid."),
    ("InvalidSubnet.Range", "The CIDR '{cidr}' is invalid."),
    ("InvalidSubnet.Conflict", "The CIDR '{cidr}' conflicts with another subnet"),
    ("OperationNotPermitted", "{detail}"),
    # EC2-VPC (issue 12): internet gateways, route tables, network ACLs, interfaces, placement groups.
    ("VPCIdNotSpecified", "No default VPC for this user"),
    ("InvalidInternetGatewayID.NotFound", "The internetGateway ID '{igw_id}' does not exist"),
    ("Gateway.NotAttached", "{detail}"),
    ("InvalidRouteTableID.NotFound", "The routeTable ID '{route_table_id}' does not exist"),
    ("InvalidRoute.NotFound", "{detail}"),
    ("RouteAlreadyExists", "The route identified by {cidr} already exists."),
    ("InvalidGatewayID.NotFound", "The gateway ID '{gateway_id}' does not exist"),
    ("InvalidNetworkAclID.NotFound", "The networkAcl ID '{acl_id}' does not exist"),
    ("InvalidNetworkAclEntry.NotFound", "The network acl entry identified by {rule_number} could not be found."),
    ("NetworkAclEntryAlreadyExists", "The network acl entry identified by {rule_number} already exists."),
    ("NetworkAclEntryLimitExceeded", "{detail}"),
    ("SubnetLimitExceeded", "{detail}"),
    ("VpcLimitExceeded", "The maximum number of VPCs has been reached."),
    ("InvalidNetworkInterfaceID.NotFound", "The networkInterface ID '{eni_id}' does not exist"),
    ("PrivateIpAddressLimitExceeded", "{detail}"),
    ("InsufficientFreeAddressesInSubnet", "{detail}"),
    ("InvalidInstanceID", "{detail}"),
    ("InvalidPlacementGroup.Unknown", "The Placement Group '{name}' is unknown."),
    ("InvalidPlacementGroup.Duplicate", "The Placement Group '{name}' already exists."),
    ("InvalidPlacementGroup.InUse", "The Placement Group '{name}' is in use and cannot be deleted."),
    ("IdempotentParameterMismatch", "{detail}"),
    ("InvalidUserID.Malformed", "Invalid user id: \"{user_id}\""),
    ("InvalidRequest", "{detail}"),
    ("InvalidSecurity.RequestHasExpired", "Request has expired."),
    ("NoSuchEntity", "{detail}"),  # IAM's code (HTTP 404) for a missing signing certificate: DeleteCertificate
]
_SERVER = [
    ("InternalError", "An internal error has occurred.", 500),
    ("InsufficientInstanceCapacity", "There is not enough capacity to fulfill your request.", 500),
    ("InsufficientAddressCapacity", "There are no addresses left to allocate.", 500),
    ("Unavailable", "The service is unavailable. Please try again shortly.", 503),
    ("RequestLimitExceeded", "Request limit exceeded.", 503),
    ("RequestTimeout", "The CloudStack job {job} is still running after {seconds} s; it goes on in the "
                       "background.", 504),
]

ERRORS: dict[str, type[EC2Error]] = {}
for _code, _template in _CLIENT:
    ERRORS[_code] = _client(_code, _template)
for _code, _template, _status in _SERVER:
    ERRORS[_code] = _server(_code, _template, _status)
globals().update({cls.__name__: cls for cls in ERRORS.values()})
__all__ += sorted(cls.__name__ for cls in ERRORS.values())


def error_for_code(code: str) -> type[EC2Error]:
    return ERRORS[code]


_NO_LONE_NIC = ("CloudStack has no network interface apart from an instance: a NIC is made with its instance "
                "and goes with it; RunInstances NetworkInterface.N at device index 0 and Assign/"
                "UnassignPrivateIpAddresses are what it can do")
# Why an EC2 action we know is refused, where the cloud decides it (the rest are simply not built).
WHY_UNSUPPORTED: dict[str, str] = {
    "CreateNetworkInterface": _NO_LONE_NIC, "DeleteNetworkInterface": _NO_LONE_NIC,
    "AttachNetworkInterface": _NO_LONE_NIC, "DetachNetworkInterface": _NO_LONE_NIC,
}


def unsupported(action: str) -> EC2Error:
    """UnsupportedOperation for ACTION, with the reason when the cloud is why (WHY_UNSUPPORTED)."""
    reason = WHY_UNSUPPORTED.get(action)
    return ERRORS["UnsupportedOperation"](action=f"{action} ({reason})" if reason else action)


# Names for static analysis and readable imports (`from ec2soap.errors import InvalidInstanceIDNotFound`).
AuthFailure: type[ClientError] = ERRORS["AuthFailure"]  # type: ignore[assignment]
InternalError: type[ServerError] = ERRORS["InternalError"]  # type: ignore[assignment]
