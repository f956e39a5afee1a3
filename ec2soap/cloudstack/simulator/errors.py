"""CloudStack's errors as the simulator raises them (protocol.md §7): the HTTP status is the errorcode."""
from __future__ import annotations

__all__ = ["SimError", "param_error", "invalid_value", "permission_denied"]


class SimError(Exception):
    """A CloudStack error: HTTP status = errorcode (§7)."""

    def __init__(self, errorcode: int, errortext: str, cserrorcode: int | None = 4350):
        super().__init__(errortext)
        self.errorcode = errorcode
        self.errortext = errortext
        self.cserrorcode = cserrorcode


def param_error(text: str) -> SimError:
    """InvalidParameterValueException → 431 / 4350."""
    return SimError(431, text, 4350)


def invalid_value(command: str, name: str, value: str) -> SimError:
    """The dispatcher's message for a uuid that names nothing (§1), a ServerApiException → 9999."""
    return SimError(431, f"Unable to execute API command {command.lower()} due to invalid value. Invalid parameter "
                         f"{name} value={value} due to incorrect long value format, or entity does not exist or "
                         f"due to incorrect parameter annotation for the field in api cmd class.", 9999)


def permission_denied(text: str) -> SimError:
    return SimError(531, text, 4365)
