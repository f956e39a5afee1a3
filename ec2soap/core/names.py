"""The character sets EC2 documents for the names a caller chooses, checked before CloudStack is asked.

EC2 (the 2010-11-15 API and EC2-Classic today): key-pair names are "up to 255 ASCII characters"; security
group names and descriptions are "up to 255 characters, ASCII". EC2 refuses anything else with
InvalidParameterValue ("Character sets beyond ASCII are not supported"), and so do we: control characters
(NUL included) and non-ASCII never reach CloudStack, which would refuse some of them itself (431) and store
others. Printable ASCII means U+0020 to U+007E. Core: no Twisted, Spyne, lxml, SQL.
"""
from __future__ import annotations

import re

from ec2soap.errors import ERRORS

__all__ = ["check_ascii_name", "MAX_NAME_LENGTH"]

MAX_NAME_LENGTH = 255
_PRINTABLE_ASCII = re.compile("[\x20-\x7e]*")


def check_ascii_name(value: str | None, parameter: str, *, allow_empty: bool = False,
                     max_length: int = MAX_NAME_LENGTH) -> None:
    """InvalidParameterValue unless VALUE is 1 (0 with ALLOW_EMPTY) to MAX_LENGTH printable ASCII characters.
    PARAMETER is EC2's name of the parameter (KeyName, GroupName, GroupDescription), for the message."""
    text = value if value is not None else ""
    if (not text and not allow_empty) or len(text) > max_length:
        low = 0 if allow_empty else 1
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value for parameter {parameter} is invalid: it must be {low} to {max_length} characters long")
    if _PRINTABLE_ASCII.fullmatch(text) is None:
        # The message does not echo the value: it is exactly the part a terminal or a log would mangle.
        raise ERRORS["InvalidParameterValue"](
            detail=f"Value for parameter {parameter} is invalid. Character sets beyond ASCII are not supported.")
