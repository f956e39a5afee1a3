"""AuthError: the one exception of the auth package. No Twisted, Spyne or SQL here.

Adapters turn the code into their wire format (EC2 Query XML, SOAP fault, S3 error document).
"""
from __future__ import annotations

__all__ = ["AuthError", "EC2_CODES", "S3_CODES", "HTTP_STATUS"]

EC2_CODES = frozenset({
    "AuthFailure", "SignatureDoesNotMatch", "RequestExpired", "MissingParameter",
    "InvalidParameterValue", "IncompleteSignature",
})
S3_CODES = frozenset({
    "AccessDenied", "SignatureDoesNotMatch", "InvalidAccessKeyId", "RequestTimeTooSkewed",
    "AuthorizationQueryParametersError", "XAmzContentSHA256Mismatch", "InvalidArgument",
    "MissingSecurityHeader",
})

# The HTTP status AWS uses for each code; a hint for adapters, which own the final answer.
HTTP_STATUS = {
    "AuthFailure": 401, "SignatureDoesNotMatch": 403, "RequestExpired": 400,
    "MissingParameter": 400, "InvalidParameterValue": 400, "IncompleteSignature": 400,
    "AccessDenied": 403, "InvalidAccessKeyId": 403, "RequestTimeTooSkewed": 403,
    "AuthorizationQueryParametersError": 400, "XAmzContentSHA256Mismatch": 400,
    "InvalidArgument": 400, "MissingSecurityHeader": 400,
}


class AuthError(Exception):
    """A failed authentication. `message` never contains a secret or a computed signature.

    `string_to_sign` is set on SignatureDoesNotMatch (AWS S3 returns it as StringToSign, and it
    holds nothing secret); adapters may show it to help a user debug a client.
    """

    def __init__(self, code: str, message: str, *, string_to_sign: str | None = None) -> None:
        if code not in EC2_CODES and code not in S3_CODES:
            raise ValueError(f"unknown auth error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.string_to_sign = string_to_sign

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.code]

    def __repr__(self) -> str:
        return f"AuthError({self.code!r}, {self.message!r})"
