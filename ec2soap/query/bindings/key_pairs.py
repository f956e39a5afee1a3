"""Query bindings for key pairs."""
from ec2soap.query.bindings.volumes import tag_specifications
from ec2soap.query.params import QueryParams

BINDINGS = {
    "DescribeKeyPairs": lambda p: {"key_names": p.list("KeyName"), "filters": p.filters()},
    "CreateKeyPair": lambda p: {"key_name": p.str("KeyName", required=True),
                                "tags": tag_specifications(p, "key-pair")},
    "ImportKeyPair": lambda p: {"key_name": p.str("KeyName", required=True),
                                "public_key_material": p.str("PublicKeyMaterial", required=True),
                                "tags": tag_specifications(p, "key-pair")},
    "DeleteKeyPair": lambda p: {"key_name": p.str("KeyName", required=True)},
}

__all__ = ["BINDINGS", "QueryParams"]
