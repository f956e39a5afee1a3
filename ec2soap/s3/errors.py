"""S3 errors: one table code → (HTTP status, default message) and S3's own error document.

No Twisted, no SQL and nothing from ec2soap.core here; the resource layer renders what this module builds.
"""
from __future__ import annotations

from typing import Any, Mapping

from ec2soap.xmltext import escape

__all__ = ["S3Error", "ERRORS", "render_error"]

# Codes, statuses and wording as S3 documents them ("Error responses", 2006-03-01 API), so clients that
# branch on the code or scripts that grep the message behave as they do against Amazon.
ERRORS: dict[str, tuple[int, str]] = {
    "AccessControlListNotSupported": (400, "The bucket does not allow ACLs"),
    "AccessDenied": (403, "Access Denied"),
    "AccountProblem": (403, "There is a problem with your AWS account that prevents the operation from "
                            "completing successfully."),
    "AmbiguousGrantByEmailAddress": (400, "The email address you provided is associated with more than one "
                                          "account."),
    "AllAccessDisabled": (403, "All access to this Amazon S3 resource has been disabled."),
    "AuthorizationHeaderMalformed": (400, "The authorization header you provided is invalid."),
    "AuthorizationQueryParametersError": (400, "Error parsing the X-Amz-Credential parameter."),
    "BadDigest": (400, "The Content-MD5 you specified did not match what we received."),
    "BadRequest": (400, "Bad Request"),
    "BucketAlreadyExists": (409, "The requested bucket name is not available. The bucket namespace is shared by "
                                 "all users of the system. Please select a different name and try again."),
    "BucketAlreadyOwnedByYou": (409, "Your previous request to create the named bucket succeeded and you "
                                     "already own it."),
    "BucketNotEmpty": (409, "The bucket you tried to delete is not empty"),
    "ConditionalRequestConflict": (409, "The conditional request cannot succeed due to a conflicting operation "
                                        "against this resource."),
    "CrossLocationLoggingProhibited": (403, "Cross-location logging not allowed."),
    "EntityTooLarge": (400, "Your proposed upload exceeds the maximum allowed object size."),
    "EntityTooSmall": (400, "Your proposed upload is smaller than the minimum allowed object size."),
    "ExpiredToken": (400, "The provided token has expired."),
    "IllegalLocationConstraintException": (400, "The unspecified location constraint is incompatible for the "
                                                "region specific endpoint this request was sent to."),
    "IllegalVersioningConfigurationException": (400, "The versioning configuration specified in the request "
                                                     "is invalid."),
    "IncompleteBody": (400, "You did not provide the number of bytes specified by the Content-Length HTTP "
                            "header."),
    "IncorrectNumberOfFilesInPostRequest": (400, "POST requires exactly one file upload per request."),
    "InlineDataTooLarge": (400, "Inline data exceeds the maximum allowed size."),
    "InternalError": (500, "We encountered an internal error. Please try again."),
    "InvalidAccessKeyId": (403, "The AWS Access Key Id you provided does not exist in our records."),
    "InvalidArgument": (400, "Invalid Argument"),
    "InvalidBucketAclWithObjectOwnership": (400, "Bucket cannot have ACLs set with ObjectOwnership's "
                                                 "BucketOwnerEnforced setting"),
    "InvalidBucketName": (400, "The specified bucket is not valid."),
    "InvalidBucketState": (409, "The request is not valid with the current state of the bucket."),
    "InvalidDigest": (400, "The Content-MD5 you specified is not valid."),
    "InvalidEncryptionAlgorithmError": (400, "The encryption request you specified is not valid."),
    "InvalidLocationConstraint": (400, "The specified location constraint is not valid."),
    "InvalidObjectState": (403, "The operation is not valid for the current state of the object."),
    "InvalidPart": (400, "One or more of the specified parts could not be found. The part might not have been "
                         "uploaded, or the specified entity tag might not have matched the part's entity tag."),
    "InvalidPartNumber": (416, "The requested partnumber is not satisfiable"),
    "InvalidPartOrder": (400, "The list of parts was not in ascending order. Parts list must be specified in "
                              "order by part number."),
    "InvalidPolicyDocument": (400, "The content of the form does not meet the conditions specified in the "
                                   "policy document."),
    "InvalidRange": (416, "The requested range is not satisfiable"),
    "InvalidRequest": (400, "Invalid Request"),
    "InvalidRetentionPeriod": (400, "Default retention period must be a positive integer value."),
    "InvalidSecurity": (403, "The provided security credentials are not valid."),
    "InvalidStorageClass": (400, "The storage class you specified is not valid"),
    "InvalidTag": (400, "The tag provided was not a valid tag. This error can occur if the tag did not pass "
                        "input validation."),
    "InvalidTargetBucketForLogging": (400, "The target bucket for logging does not exist, is not owned by you, "
                                           "or does not have the appropriate grants for the log-delivery "
                                           "group."),
    "InvalidToken": (400, "The provided token is malformed or otherwise invalid."),
    "InvalidURI": (400, "Couldn't parse the specified URI."),
    "KeyTooLongError": (400, "Your key is too long"),
    "MalformedACLError": (400, "The XML you provided was not well-formed or did not validate against our "
                               "published schema"),
    "MalformedPOSTRequest": (400, "The body of your POST request is not well-formed multipart/form-data."),
    "MalformedPolicy": (400, "Policy has invalid resource"),
    "MalformedXML": (400, "The XML you provided was not well-formed or did not validate against our published "
                          "schema"),
    "MaxMessageLengthExceeded": (400, "Your request was too big."),
    "MaxPostPreDataLengthExceededError": (400, "Your POST request fields preceding the upload file were too "
                                               "large."),
    "MetadataTooLarge": (400, "Your metadata headers exceed the maximum allowed metadata size."),
    "MethodNotAllowed": (405, "The specified method is not allowed against this resource."),
    "MissingContentLength": (411, "You must provide the Content-Length HTTP header."),
    "MissingRequestBodyError": (400, "Request Body is empty"),
    "MissingSecurityHeader": (400, "Your request is missing a required header."),
    "NoSuchBucket": (404, "The specified bucket does not exist"),
    "NoSuchBucketPolicy": (404, "The bucket policy does not exist"),
    "NoSuchCORSConfiguration": (404, "The CORS configuration does not exist"),
    "NoSuchKey": (404, "The specified key does not exist."),
    "NoSuchTagSet": (404, "The TagSet does not exist"),
    "NoSuchPublicAccessBlockConfiguration": (404, "The public access block configuration was not found"),
    "NoSuchLifecycleConfiguration": (404, "The lifecycle configuration does not exist."),
    "NoSuchObjectLockConfiguration": (404, "The specified object does not have a ObjectLock configuration"),
    "NoSuchUpload": (404, "The specified upload does not exist. The upload ID may be invalid, or the upload "
                          "may have been aborted or completed."),
    "NoSuchVersion": (404, "The specified version does not exist."),
    "NotImplemented": (501, "A header you provided implies functionality that is not implemented."),
    "NotModified": (304, "Not Modified"),
    "NotSignedUp": (403, "Your account is not signed up for the Amazon S3 service."),
    "ObjectLockConfigurationNotFoundError": (404, "Object Lock configuration does not exist for this bucket"),
    "OperationAborted": (409, "A conflicting conditional operation is currently in progress against this "
                              "resource. Please try again."),
    "OwnershipControlsNotFoundError": (404, "The bucket ownership controls were not found"),
    "PermanentRedirect": (301, "The bucket you are attempting to access must be addressed using the specified "
                               "endpoint."),
    "PreconditionFailed": (412, "At least one of the pre-conditions you specified did not hold"),
    "Redirect": (307, "Temporary redirect."),
    "RequestHeaderSectionTooLarge": (400, "Your request header section exceeds the maximum allowed size."),
    "RequestIsNotMultiPartContent": (400, "Bucket POST must be of the enclosure-type multipart/form-data."),
    "RequestTimeout": (400, "Your socket connection to the server was not read from or written to within the "
                            "timeout period."),
    "RequestTimeTooSkewed": (403, "The difference between the request time and the server's time is too "
                                  "large."),
    "RequestTorrentOfBucketError": (400, "Requesting the torrent file of a bucket is not permitted."),
    "ServiceUnavailable": (503, "Please reduce your request rate."),
    "SignatureDoesNotMatch": (403, "The request signature we calculated does not match the signature you "
                                   "provided. Check your key and signing method."),
    "SlowDown": (503, "Please reduce your request rate."),
    "TemporaryRedirect": (307, "You are being redirected to the bucket while DNS updates."),
    "TooManyBuckets": (400, "You have attempted to create more buckets than allowed."),
    "UnexpectedContent": (400, "This request does not support content."),
    "UnresolvableGrantByEmailAddress": (400, "The email address you provided does not match any account on "
                                             "record."),
    "UserKeyMustBeSpecified": (400, "The bucket POST must contain the specified field name."),
    "XAmzContentSHA256Mismatch": (400, "The provided 'x-amz-content-sha256' header does not match what was "
                                       "computed."),
}

# Extra elements S3 adds to <Error> for some codes, in the order S3 writes them (e.g. <BucketName>,
# <Key>, <UploadId>, <ArgumentName>/<ArgumentValue>, <ExpectedDigest>...). Field names are snake_case here.
_FIELD_ELEMENTS = {
    "bucket_name": "BucketName",
    "key": "Key",
    "version_id": "VersionId",
    "upload_id": "UploadId",
    "part_number": "PartNumber",
    "etag": "ETag",
    "argument_name": "ArgumentName",
    "argument_value": "ArgumentValue",
    "condition": "Condition",
    "method": "Method",
    "resource_type": "ResourceType",
    "actual_object_size": "ActualObjectSize",
    "range_requested": "RangeRequested",
    "max_size_allowed": "MaxSizeAllowed",
    "proposed_size": "ProposedSize",
    "min_size_allowed": "MinSizeAllowed",
    "expected_digest": "ExpectedDigest",
    "calculated_digest": "CalculatedDigest",
    "client_computed_content_sha256": "ClientComputedContentSHA256",
    "s3_computed_content_sha256": "S3ComputedContentSHA256",
    "aws_access_key_id": "AWSAccessKeyId",
    "string_to_sign": "StringToSign",
    "canonical_request": "CanonicalRequest",
    "request_time": "RequestTime",
    "server_time": "ServerTime",
    "max_allowed_skew_milliseconds": "MaxAllowedSkewMilliseconds",
    "header_name": "HeaderName",
    "endpoint": "Endpoint",
}


class S3Error(Exception):
    """An error S3 clients understand. `headers` are response headers S3 sends with it (x-amz-delete-marker,
    Last-Modified on 304...); `fields` become extra elements of the error document."""

    def __init__(self, code: str, message: str | None = None, *, headers: Mapping[str, str] | None = None,
                 **fields: Any):
        if code not in ERRORS:
            raise ValueError(f"unknown S3 error code {code!r}")
        self.code = code
        self.status, default = ERRORS[code]
        self.message = message or default
        self.headers = dict(headers or {})
        self.fields = {k: v for k, v in fields.items() if v is not None}
        super().__init__(f"{code}: {self.message}")

    @property
    def has_body(self) -> bool:
        # S3 quirk: 304 and HEAD answers carry no document; the resource still sends status and headers.
        return self.status != 304


def render_error(error: S3Error, resource: str = "", request_id: str = "", host_id: str = "") -> bytes:
    """S3's error document: <Error><Code/><Message/>...fields...<Resource/><RequestId/><HostId/></Error>.

    S3 writes it without a namespace, which is what botocore's RestXMLParser and boto 2 expect."""
    parts = ["<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>",
             f"<Code>{escape(error.code)}</Code>", f"<Message>{escape(error.message)}</Message>"]
    for name, value in error.fields.items():
        element = _FIELD_ELEMENTS.get(name) or "".join(p.capitalize() for p in name.split("_"))
        parts.append(f"<{element}>{escape(str(value))}</{element}>")
    if resource:
        parts.append(f"<Resource>{escape(resource)}</Resource>")
    parts.append(f"<RequestId>{escape(request_id)}</RequestId>")
    if host_id:
        parts.append(f"<HostId>{escape(host_id)}</HostId>")
    parts.append("</Error>")
    return "".join(parts).encode("utf-8")
