"""Typed CloudStack failures, shared by the client and the simulator. No Twisted here."""
from __future__ import annotations

__all__ = [
    "CloudStackError", "CloudStackApiError", "CloudStackAuthError", "CloudStackJobFailed",
    "CloudStackJobTimeout", "CloudStackUnavailable", "CloudStackBadResponse",
]


class CloudStackError(Exception):
    """Any failure talking to CloudStack. `command` is the command that failed."""

    def __init__(self, message: str, *, command: str = ""):
        super().__init__(message)
        self.command = command


class CloudStackApiError(CloudStackError):
    """CloudStack answered with an error body: errorcode (the HTTP status), cserrorcode, errortext."""

    def __init__(self, errorcode: int, errortext: str, *, cserrorcode: int | None = None, command: str = "",
                 uuids: list | None = None):
        super().__init__(f"{command or 'CloudStack'} failed ({errorcode}"
                         f"{'/' + str(cserrorcode) if cserrorcode else ''}): {errortext}", command=command)
        self.errorcode = errorcode
        self.cserrorcode = cserrorcode
        self.errortext = errortext
        self.uuids = uuids or []


class CloudStackAuthError(CloudStackApiError):
    """401: unknown key, bad signature, expired request, disabled user or a command not allowed."""


class CloudStackJobFailed(CloudStackApiError):
    """An async job ended with jobstatus 2; errorcode/errortext come from its jobresult."""

    def __init__(self, errorcode: int, errortext: str, *, jobid: str, command: str = ""):
        super().__init__(errorcode, errortext, command=command)
        self.jobid = jobid


class CloudStackJobTimeout(CloudStackError):
    """An async job was still running when our wait bound ran out (the job itself goes on)."""

    def __init__(self, jobid: str, waited: float, *, command: str = ""):
        super().__init__(f"{command or 'job'} {jobid} still running after {waited:.0f} s", command=command)
        self.jobid = jobid
        self.waited = waited


class CloudStackUnavailable(CloudStackError):
    """CloudStack could not be reached or did not answer in time (refused, DNS, timeout, reset)."""


class CloudStackBadResponse(CloudStackError):
    """CloudStack answered with something that is not its JSON API (HTML error page, garbage, wrong shape)."""

    def __init__(self, message: str, *, status: int | None = None, command: str = ""):
        super().__init__(message, command=command)
        self.status = status
