"""Per-family shape declarations; importing this package registers every response shape in RESPONSES."""
from ec2soap.registry import FAMILIES, collect

collect("ec2soap.wire.types", None, ("common", *FAMILIES))
