"""Error messages never carry a Python repr: several values are joined as EC2 writes them."""
from __future__ import annotations

import string

from ec2soap.errors import ERRORS


def test_sequence_fields_are_joined_not_repr() -> None:
    for code, cls in ERRORS.items():
        names = [f for _, f, _, _ in string.Formatter().parse(cls.template) if f]
        if not names:
            continue
        message = cls(**{name: ["a-1", "b-2"] for name in names}).message
        assert "['" not in message and "('" not in message, (code, message)
        assert "a-1, b-2" in message, (code, message)
    assert ERRORS["InvalidGroup.NotFound"](group={"sg-2", "sg-1"}).message.count("sg-1, sg-2") == 1
