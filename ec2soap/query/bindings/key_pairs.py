"""Query bindings for key pairs."""
from ec2soap.query.params import QueryParams

BINDINGS = {
    "DescribeKeyPairs": lambda p: {"key_names": p.list("KeyName"), "filters": p.filters()},
    "CreateKeyPair": lambda p: {"key_name": p.str("KeyName", required=True)},
    "ImportKeyPair": lambda p: {"key_name": p.str("KeyName", required=True),
                                "public_key_material": p.str("PublicKeyMaterial", required=True)},
    "DeleteKeyPair": lambda p: {"key_name": p.str("KeyName", required=True)},
}

__all__ = ["BINDINGS", "QueryParams"]
