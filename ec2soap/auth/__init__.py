"""Request authentication for the EC2 Query and S3 front doors. No Twisted, Spyne or SQL here.

Two steps so adapters can look secrets up asynchronously: `parse_ec2`/`parse_s3` check what
needs no secret, `verify_ec2`/`verify_s3` check the signature with it.
"""
from .chunked import AwsChunkedDecoder, Checksum, ChunkSigning, new_checksum
from .errors import AuthError
from .request import HttpRequestInfo, parse_query
from .s3_signatures import (ContentSha256Check, ParsedS3Auth, S3AuthResult, authenticate_s3,
                            parse_s3, verify_s3)
from .signatures import ParsedEc2Auth, authenticate_ec2, parse_ec2, verify_ec2

__all__ = [
    "AuthError", "HttpRequestInfo", "parse_query",
    "ParsedEc2Auth", "parse_ec2", "verify_ec2", "authenticate_ec2",
    "ParsedS3Auth", "S3AuthResult", "parse_s3", "verify_s3", "authenticate_s3",
    "ContentSha256Check", "AwsChunkedDecoder", "ChunkSigning", "Checksum", "new_checksum",
]
